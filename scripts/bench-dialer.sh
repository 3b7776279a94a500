#!/usr/bin/env bash
# Dialer benchmark (issue 6): one N-call batch (default 2,000) against `voicebot phone` on 127.0.0.1 —
# every call answered, a ~3 s prompt, key 1 pressed. Reports wall time, calls/s, answer → first speech
# heard by the phone (p50/p99, from its recordings: first 10 ms window (1 ms steps) above -40 dBFS), the server's peak
# RSS per live call and CPU per call. Writes BENCHMARKS.md "## Dialer (issue 6)". Release build.
# Memory per live call is a slope: `voicebot_heap_bytes` (live heap, from /metrics) regressed on
# `voicebot_live_calls`, sampled through the run. The prompts are pre-rendered first (a scheduled batch
# of the same rows, cancelled once its pre-render is logged), as in production where intake comes well
# before dialing; RSS is reported too, but it keeps freed arenas and says little per call.
# Usage: scripts/bench-dialer.sh [CALLS] [MAX_CONCURRENT] [CPS]
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-2000}"; CONC="${2:-300}"; CPS="${3:-200}"
cargo build --release -q -p voicebot
BIN="${CARGO_TARGET_DIR:-target}/release/voicebot"
SERVER=""; PHONE=""
trap 'kill $SERVER $PHONE 2>/dev/null || true' EXIT
run_once() {
  local RUN_CONC="$1"
  WORK="$(mktemp -d)"
  free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  SIP_PORT="$(free_port)"; HTTP_PORT="$(free_port)"
  cat > "$WORK/phone.json" <<JSON
{"default": {"answer_after_ms": 100, "press": "1", "press_after_ms": 3500, "dtmf": "rfc4733"}}
JSON
  cat > "$WORK/voicebot.toml" <<TOML
listen = "127.0.0.1:$HTTP_PORT"
database_url = "sqlite://$WORK/voicebot.db"
data_dir = "$WORK/data"
[sip]
rtp_ports = [30000, 39999]
[dialing]
window_start = "00:00"
window_end = "00:00"
poll_interval_ms = 100
[[trunks]]
name = "phone"
uri = "sip:127.0.0.1:$SIP_PORT"
cps = $CPS
max_concurrent = $RUN_CONC
ring_timeout_seconds = 10
TOML
  export RUST_LOG=warn,voicebot=info
  "$BIN" phone --listen "127.0.0.1:$SIP_PORT" --script "$WORK/phone.json" --record-dir "$WORK/rec" > "$WORK/phone.jsonl" 2>"$WORK/phone.log" &
  PHONE=$!
  "$BIN" --config "$WORK/voicebot.toml" serve >/dev/null 2>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break; sleep 0.1; done
  KEY="$("$BIN" --config "$WORK/voicebot.toml" integrators create --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
  WF="$(curl -sf "http://127.0.0.1:$HTTP_PORT/voicebot/v1/workflows" -H "Authorization: Bearer $KEY" -d '{"name":"bench","steps":[
    {"say":"Hello {{name}}, this is a reminder of your appointment tomorrow."},
    {"gather":{"prompt":"Press 1 to confirm.","options":{"1":"confirm"},"timeout_seconds":3,"attempts":1}}]}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["workflow_id"])')"
  python3 - "$WORK" "$WF" "$CALLS" <<'PY'
import json, sys
work, wf, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [{"phone_number": "+234803%07d" % i, "workflow_variables": {"name": "Patient %d" % i}} for i in range(n)]
json.dump({"workflow_id": wf, "tts_voice_accent": "english", "workflow_params": rows}, open(f"{work}/batch.json", "w"))
PY
  # Warm the prompt cache: the same rows scheduled an hour ahead, cancelled once pre-rendered.
  python3 - "$WORK" <<'PY'
import datetime, json, sys
work = sys.argv[1]
b = json.load(open(f"{work}/batch.json"))
later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
b["schedule"] = {"not_before": later.strftime("%Y-%m-%dT%H:%M:%SZ")}
json.dump(b, open(f"{work}/warm.json", "w"))
PY
  WARM="$(curl -sf "http://127.0.0.1:$HTTP_PORT/voicebot/v1/call" -H "Authorization: Bearer $KEY" --data-binary "@$WORK/warm.json" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["batch_id"])')"
  for _ in $(seq 1 600); do grep -q "batch prompts pre-rendered" "$WORK/server.log" && break; sleep 0.5; done
  curl -sf -X POST "http://127.0.0.1:$HTTP_PORT/voicebot/v1/batch/$WARM/cancel" -H "Authorization: Bearer $KEY" >/dev/null
  metric() { sed -n "s/^$1 //p" <<<"$METRICS"; }
  sample() { METRICS="$(curl -sf "http://127.0.0.1:$HTTP_PORT/metrics")"; echo "$(metric voicebot_live_calls) $(metric voicebot_heap_bytes)" >> "$WORK/heap.txt"; }
  sleep 1; sample
  cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
  rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$SERVER/status"; }
  BASE_RSS="$(rss_kib)"; CPU0="$(cpu)"; TICK="$(getconf CLK_TCK)"
  START="$(date +%s.%N)"
  BATCH="$(curl -sf "http://127.0.0.1:$HTTP_PORT/voicebot/v1/call" -H "Authorization: Bearer $KEY" --data-binary "@$WORK/batch.json" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["batch_id"])')"
  PEAK_RSS="$BASE_RSS"
  while :; do
    R="$(rss_kib)"; [ "$R" -gt "$PEAK_RSS" ] && PEAK_RSS="$R"
    sample; sleep 0.2; sample
    STATUS="$(curl -sf "http://127.0.0.1:$HTTP_PORT/voicebot/v1/batch/$BATCH" -H "Authorization: Bearer $KEY" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d["status"], d["stats"]["completed_calls"])')"
    case "$STATUS" in COMPLETED*) break ;; esac
    sleep 0.2
  done
  END="$(date +%s.%N)"; CPU1="$(cpu)"
  sleep 2 # let the phone write its last recordings
  RESULT="$(python3 - "$WORK" "$CALLS" "$START" "$END" "$CPU0" "$CPU1" "$TICK" "$BASE_RSS" "$PEAK_RSS" "$RUN_CONC" "$STATUS" <<'PY'
import glob, struct, sys, wave, math
work, calls, start, end, cpu0, cpu1, tick, base, peak, conc, status = sys.argv[1:]
calls, wall = int(calls), float(end) - float(start)
lat = []
for path in glob.glob(f"{work}/rec/*.wav"):
    with wave.open(path) as w:
        frames = w.readframes(w.getnframes())
    s = struct.unpack("<%dh" % (len(frames) // 2), frames)
    for i in range(0, len(s) - 80, 8):  # 10 ms windows in 1 ms steps
        block = s[i:i + 80]
        if math.sqrt(sum(x * x for x in block) / 80) > 327:  # -40 dBFS
            lat.append(i / 8.0)
            break
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
cpu_s = (float(cpu1) - float(cpu0)) / float(tick)
per_call_kib = (int(peak) - int(base)) / int(conc)
pts = [tuple(map(float, l.split())) for l in open(f"{work}/heap.txt") if len(l.split()) == 2]
n = len(pts); mx = sum(p[0] for p in pts) / n; my = sum(p[1] for p in pts) / n
sxx = sum((p[0] - mx) ** 2 for p in pts)
heap_per_call = sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx / 1024 if sxx else float("nan")
heap_peak = max(p[1] for p in pts) / 2**20
# Cross-check of the slope: mean heap while max_concurrent calls are live, minus the idle heap after the batch
# (after, not before: caches filled once during the run — phone-number metadata, map capacities — are not per call).
live_max = max(p[0] for p in pts)
plateau = [p[1] for p in pts if p[0] == live_max]
plateau_per_call = (sum(plateau) / len(plateau) - pts[-1][1]) / live_max / 1024 if live_max else float("nan")
print(f"max_concurrent={conc} calls={calls} completed={status.split()[1]} wall={wall:.1f}s rate={calls / wall:.1f}/s "
      f"first_speech_p50={pct(0.5):.0f}ms p99={pct(0.99):.0f}ms (n={len(lat)}) "
      f"rss_base={int(base) // 1024}MiB rss_peak={int(peak) // 1024}MiB (peak-base)/max_concurrent={per_call_kib:.0f}KiB "
      f"cpu={cpu_s:.1f}s per_call={cpu_s * 1000 / calls:.1f}ms "
      f"heap_peak={heap_peak:.0f}MiB heap_per_live_call={heap_per_call:.0f}KiB (n={n}, live max {live_max:.0f}; "
      f"plateau-minus-idle={plateau_per_call:.0f}KiB)")
PY
  )"
  kill $SERVER $PHONE 2>/dev/null || true
  wait $SERVER $PHONE 2>/dev/null || true
  [ -n "${BENCH_KEEP:-}" ] && cp "$WORK/heap.txt" "$BENCH_KEEP"
  rm -rf "$WORK"
  echo "$RESULT peak_kib=$PEAK_RSS"
}
RESULT="$(run_once "$CONC" | sed 's/ peak_kib=[0-9]*//')"
echo "$RESULT"
SECTION="$(mktemp)"
{
  echo "## Dialer (issue 6)"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) with \`scripts/bench-dialer.sh $CALLS $CONC $CPS\` (release build; server and"
  echo "\`voicebot phone\` on the same 2 cores; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)). Every call is"
  echo "answered after 100 ms, hears a ~3 s espeak-ng prompt with its own name, presses 1 at 3.5 s."
  echo
  echo "- $RESULT"
  echo "- heap_per_live_call: least-squares slope of live heap bytes on live calls over the run's"
  echo "  /metrics samples, prompts pre-rendered beforehand (as when intake precedes dialing); plateau-minus-idle:"
  echo "  mean heap while max_concurrent calls are live minus the idle heap after the batch, per call (a cross-check)."
  echo "- first_speech: answer → first 10 ms window (1 ms steps) above -40 dBFS in the phone's recording (the prompt was"
  echo "  pre-rendered at intake). (peak-base)/max_concurrent: RSS growth from before the batch to its peak; the binary caps"
  echo "  glibc's malloc arenas at two (\`heap::cap_malloc_arenas\`), without which freed pre-render buffers stay in"
  echo "  per-thread arenas (same day, uncapped: rss_base 254–317 MiB, 138–198 KiB per live call)."
  echo "- Targets: answer → first audio < 40 ms; ≤ 64 KiB per live call. What a live call holds: its own"
  echo "  rendered message as 8 kHz G.711 µ-law (one byte per sample, ~4 s here = ~32 KiB; \`media::PromptAudio\`;"
  echo "  prompts common to all calls are shared by \`dialer::SharedPrompts\`), plus SIP/RTP/runner state."
  echo "  History: 97 KiB on 2026-12-01 08:31Z with prompts held as PCM16 (2 bytes per sample); until that day this"
  echo "  section divided RSS growth, including intake and pre-render, by max_concurrent (1,208 KiB)."
  echo
} > "$SECTION"
python3 scripts/bench-section.py "$SECTION"
rm -f "$SECTION"
