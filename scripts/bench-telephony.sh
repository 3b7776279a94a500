#!/usr/bin/env bash
# Telephony benchmark (issue 4), 127.0.0.1 only, bounded in calls and time (~3 minutes):
#  1. concurrent calls with RTP both ways: our UAC calls the in-process virtual phone N times
#     (N in $CONC, default "500 1000 2000"), every call plays a prompt while the phone sends comfort
#     silence back; over $HOLD seconds we count our packets sent > 5 ms after their slot (skipped frames
#     count as late). Target: < 0.5 % late.
#  2. call set-ups per second against one sipp UAS (`sipp -sn uas`): our UAC ($SETUP_CALLS calls, at most
#     $IN_FLIGHT at once, hang up on answer), then sipp's own UAC (`sipp -sn uac`) against the same UAS.
# Env: CONC, HOLD (s), SETUP_CALLS, IN_FLIGHT, NICE (e.g. -10: run our process at that nice level; needs
# root), CHRT (e.g. 10: run it SCHED_FIFO at that priority, as a media server is deployed; needs root; our
# threads sleep between slots, so this only shields them from other work), BENCH_INBAND=0 (no in-band
# DTMF detector), RTP_SOCKET (part 1 only: "per_call" (default), "shared", or both, e.g. "per_call shared":
# every mode runs every N; applies to our UAC and the phone), MEDIA_PRIORITY (part 1 only: SCHED_FIFO
# priority of both media clock threads, 0 = normal; a list runs each, e.g. "0 10"; needs CAP_SYS_NICE),
# SRTP (part 1 only: "off" (default), "mandatory" or "optional", or a list, e.g. "off mandatory": plain RTP
# and SRTP both ways side by side in one run; the phone takes SRTP when offered), SETUP=0 (skip part 2).
# Output: one JSON line per measurement, then the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."

CONC="${CONC-500 1000 2000}"
HOLD="${HOLD:-15}"
SETUP_CALLS="${SETUP_CALLS:-5000}"
IN_FLIGHT="${IN_FLIGHT:-200}"
NICE="${NICE:-0}"
CHRT="${CHRT:-0}"
RTP_SOCKET="${RTP_SOCKET:-per_call}"
MEDIA_PRIORITY="${MEDIA_PRIORITY:-0}"
SETUP="${SETUP:-1}"
SRTP_MODES="${SRTP:-off}"
TARGET="${CARGO_TARGET_DIR:-target}"

[ "$SETUP" = "0" ] || command -v sipp >/dev/null || { echo "sipp is missing: apt-get install -y sip-tester" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build -q --release -p voicebot-telephony --example bench
BIN="$(pwd)/$TARGET/release/examples/bench"
[ -x "$BIN" ] || BIN="$TARGET/release/examples/bench"

run() {
  if [ "$CHRT" != "0" ]; then chrt -f "$CHRT" "$@"
  elif [ "$NICE" != "0" ]; then nice -n "$NICE" "$@"
  else "$@"; fi
}
free_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "# nproc=$(nproc) loadavg before: $(cut -d' ' -f1-3 /proc/loadavg) nice=$NICE chrt=$CHRT"
for prio in $MEDIA_PRIORITY; do
  for mode in $RTP_SOCKET; do
    for n in $CONC; do
      for srtp in $SRTP_MODES; do
        if [ "$prio" = "0" ]; then unset MEDIA_PRIORITY; else export MEDIA_PRIORITY="$prio"; fi
        SRTP="$srtp" RTP_SOCKET="$mode" run timeout 300 "$BIN" concurrent "$n" "$HOLD"
        echo "# loadavg: $(cut -d' ' -f1-3 /proc/loadavg)"
      done
    done
  done
done
[ "$SETUP" = "0" ] && exit 0

work="$(mktemp -d)"
cd "$work"
uas_port="$(free_port)"
sipp -sn uas -i 127.0.0.1 -p "$uas_port" -mp "$(free_port)" -nostdin >/dev/null 2>&1 &
uas_pid=$!
trap 'kill "$uas_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  ss -Huln "sport = :$uas_port" | grep -q . && break
  sleep 0.1
done

run timeout 120 "$BIN" setup "127.0.0.1:$uas_port" "$SETUP_CALLS" "$IN_FLIGHT"

# sipp's rate: its successful calls over the time it took to complete them (from its own 100 ms stats;
# calls that fail wait out a 32 s timeout, which would otherwise dominate the wall-clock time).
timeout 120 sipp -sn uac -i 127.0.0.1 -p "$(free_port)" -m "$SETUP_CALLS" -r 20000 -l "$IN_FLIGHT" -nostdin \
  -trace_stat -stf uac.csv -fd 100ms "127.0.0.1:$uas_port" >/dev/null 2>&1 || echo "# sipp uac exit status $?"
python3 - "$SETUP_CALLS" "$IN_FLIGHT" <<'PY'
import csv, json, sys
rows = list(csv.reader(open("uac.csv"), delimiter=";"))
h, data = rows[0], rows[1:]
epoch = lambda v: float(v.split("\t")[-1])
ok, failed = h.index("SuccessfulCall(C)"), h.index("FailedCall(C)")
final = int(data[-1][ok])
first = next(r for r in data if int(r[ok]) == final)
secs = epoch(first[h.index("CurrentTime")]) - epoch(first[h.index("StartTime")])
print(json.dumps({"mode": "sipp_uac_setup", "calls": int(sys.argv[1]), "in_flight": int(sys.argv[2]),
                  "successful": final, "failed": int(data[-1][failed]),
                  "setups_per_s": round(final / max(secs, 0.1)), "to_last_success_s": round(secs, 2)}))
PY
echo "# loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
