#!/usr/bin/env bash
# Intake benchmark (issue 3): POST one 10,000-recipient batch and time it, durable commit included
# (SQLite WAL, synchronous=FULL). Target < 0.5 s on 2 cores. For comparison in the same run: a
# 1-recipient batch (fixed cost per request). Writes the figures into BENCHMARKS.md under
# "## Intake (issue 3)". Release build, throw-away server on a free 127.0.0.1 port.
# Usage: scripts/bench-intake.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-5}"
cargo build --release -q -p voicebot
BIN="${CARGO_TARGET_DIR:-target}/release/voicebot"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export VOICEBOT_LISTEN="127.0.0.1:$PORT" VOICEBOT_DATABASE_URL="sqlite://$WORK/voicebot.db" VOICEBOT_DATA_DIR="$WORK/data" RUST_LOG=warn
"$BIN" serve 2>"$WORK/server.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
KEY="$("$BIN" integrators create --name bench | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
WF=9b643eb4-0799-4761-bd34-9580eb315aaf
curl -sf -X PUT "http://127.0.0.1:$PORT/voicebot/v1/workflows/$WF" -H "Authorization: Bearer $KEY" \
  -d '{"name":"bench","message":"Hello [name], your appointment is tomorrow.","include_reply":true,"response_options":{"1":"Press 1","2":"Press 2"}}' >/dev/null
python3 - "$WORK" "$WF" <<'PY'
import json, sys
work, wf = sys.argv[1], sys.argv[2]
def body(n, offset):
    return {"workflow_id": wf, "tts_voice_accent": "yoruba", "tts_voice_gender": "female",
            "workflow_params": [{"phone_number": "+234803%07d" % (offset + i),
                                 "user_tag_identifiers": {"customer_id": "CUST%06d" % i},
                                 "workflow_variables": {"name": "Patient %d" % i}} for i in range(n)]}
json.dump(body(10000, 0), open(f"{work}/big.json", "w"))
json.dump(body(1, 0), open(f"{work}/one.json", "w"))
PY
time_post() { curl -s -o "$WORK/resp.json" -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$PORT/voicebot/v1/call" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' --data-binary "@$1"; }
big=(); one=()
for _ in $(seq 1 "$RUNS"); do
  read -r code t < <(time_post "$WORK/big.json"); [ "$code" = 200 ] || { cat "$WORK/resp.json"; exit 1; }; big+=("$t")
  read -r code t < <(time_post "$WORK/one.json"); [ "$code" = 200 ] || { cat "$WORK/resp.json"; exit 1; }; one+=("$t")
done
summary() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %.3f s (min %.3f, max %.3f, %d runs)", a[int((NR+1)/2)], a[1], a[NR], NR}'; }
BIG="$(summary "${big[@]}")"; ONE="$(summary "${one[@]}")"
SIZE="$(stat -c %s "$WORK/big.json")"
echo "10,000 recipients ($SIZE bytes): $BIG"
echo "1 recipient: $ONE"
SECTION="$(mktemp)"
{
  echo "## Intake (issue 3)"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) with \`scripts/bench-intake.sh $RUNS\` (release build, SQLite WAL +"
  echo "synchronous=FULL, one transaction per batch, curl on 127.0.0.1; load average at start: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo
  echo "- \`POST /voicebot/v1/call\`, 10,000 recipients ($SIZE bytes), validated and durably committed: **$BIG**"
  echo "- Same request with 1 recipient (fixed cost per request), same run: $ONE"
  echo "- Target: < 0.5 s for 10,000 recipients."
  echo
} > "$SECTION"
python3 scripts/bench-section.py "$SECTION"
rm -f "$SECTION"
