#!/usr/bin/env bash
# Callback benchmark (issue 7, item 6): 1,000 batches become final in ONE transaction (the
# trigger writes 1,000 outbox rows in that commit), then the sender of a release `voicebot
# serve` delivers them to a local Standard Webhooks receiver (tests/receivers/webhook_receiver.py,
# which verifies every signature with the PyPI `standardwebhooks` library). Checks every
# callback arrived exactly once, verified; reports deliveries/s into BENCHMARKS.md under
# "## Callbacks (issue 7)".
# Usage: scripts/bench-callbacks.sh [BATCHES]   (NO_BUILD=1 to reuse the last release build)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000}"
[ "${NO_BUILD:-0}" = 1 ] || cargo build --release -q -p voicebot
BIN="${CARGO_TARGET_DIR:-target}/release/voicebot"
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
cat > "$WORK/voicebot.toml" <<TOML
listen = "127.0.0.1:$PORT"
database_url = "sqlite://$WORK/voicebot.db"
data_dir = "$WORK/data"
[callbacks]
allow_private = true
poll_interval_ms = 100
TOML
export VOICEBOT_CONFIG="$WORK/voicebot.toml" RUST_LOG=warn
unset VOICEBOT_LISTEN VOICEBOT_DATABASE_URL VOICEBOT_DATA_DIR
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
"$BIN" serve 2>"$WORK/server.log" &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
CREATED="$("$BIN" integrators create --name bench)"
KEY="$(echo "$CREATED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')"
SECRET="$(echo "$CREATED" | python3 -c 'import json,sys; print(json.load(sys.stdin)["signing_secret"])')"
python3 -u crates/voicebot/tests/receivers/webhook_receiver.py "$SECRET" 200 "$WORK/received.jsonl" > "$WORK/receiver.port" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
RPORT="$(head -1 "$WORK/receiver.port")"
python3 - "$PORT" "$KEY" "$RPORT" "$WORK" "$N" <<'PY'
import http.client, json, sqlite3, sys, time
port, key, rport, work, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
conn = http.client.HTTPConnection("127.0.0.1", int(port))
def call(method, path, body):
    conn.request(method, path, json.dumps(body), {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    assert r.status == 200, (r.status, data)
wf = "9b643eb4-0799-4761-bd34-9580eb315aaf"
call("PUT", f"/voicebot/v1/workflows/{wf}", {"name": "bench", "message": "Hello [name].", "include_reply": True,
     "response_options": {"1": "Press 1", "2": "Press 2"}})
for i in range(n):
    call("POST", "/voicebot/v1/call", {"workflow_id": wf, "callback_url": f"http://127.0.0.1:{rport}/hook",
         "workflow_params": [{"phone_number": "+234803%07d" % i, "user_tag_identifiers": {"row": i},
                              "workflow_variables": {"name": "P"}}]})
db = sqlite3.connect(f"{work}/voicebot.db", timeout=30, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
now = int(time.time() * 1e6)
db.execute("UPDATE calls SET status = 'CANCELLED', updated_at = ? WHERE status = 'QUEUED'", (now,))
db.execute("UPDATE batches SET status = 'CANCELLED', completed_at = ? WHERE status = 'PENDING'", (now,))
db.execute("COMMIT")
t0 = time.time()
rows = db.execute("SELECT COUNT(*) FROM callback_outbox").fetchone()[0]
assert rows == n, f"{rows} outbox rows for {n} batches"
while True:
    done = db.execute("SELECT COUNT(*) FROM callback_outbox WHERE state = 'DELIVERED'").fetchone()[0]
    if done == n:
        break
    if time.time() - t0 > 300:
        sys.exit(f"only {done}/{n} delivered after 300 s")
    time.sleep(0.02)
elapsed = time.time() - t0
time.sleep(1.0)  # anything sent twice would show up now
got = [json.loads(l) for l in open(f"{work}/received.jsonl")]
ids = [g["webhook_id"] for g in got]
assert len(got) == n and len(set(ids)) == n, f"{len(got)} requests, {len(set(ids))} distinct ids"
assert all(g["verified"] and not g["problems"] for g in got), "a callback failed verification"
attempts = db.execute("SELECT COUNT(*) FROM callback_attempts").fetchone()[0]
lat = sorted(r[0] for r in db.execute("SELECT latency_ms FROM callback_attempts"))
p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
first = min(g["received_at"] for g in got) - t0
json.dump({"n": n, "elapsed": elapsed, "rate": n / elapsed, "attempts": attempts, "p50": p50, "p99": p99,
           "first": first}, open(f"{work}/result.json", "w"))
PY
read -r ELAPSED RATE ATTEMPTS P50 P99 FIRST < <(python3 -c "
import json; r = json.load(open('$WORK/result.json'))
print('%.2f %.0f %d %d %d %.3f' % (r['elapsed'], r['rate'], r['attempts'], r['p50'], r['p99'], r['first']))")
echo "$N callbacks delivered once each in $ELAPSED s: $RATE deliveries/s (attempts $ATTEMPTS, latency p50 $P50 ms, p99 $P99 ms)"
SECTION="$(mktemp)"
{
  echo "## Callbacks (issue 7)"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) with \`scripts/bench-callbacks.sh $N\` (release build, SQLite WAL +"
  echo "synchronous=FULL, default sender: 64 requests in flight; load average at start: $(cut -d' ' -f1-3 /proc/loadavg))."
  echo
  echo "- $N batches made final in one transaction (the trigger wrote $N outbox rows in that commit); every"
  echo "  callback delivered exactly once ($N requests, $N distinct \`webhook-id\`s, all verified by the"
  echo "  \`standardwebhooks\` library in the receiver), $ATTEMPTS attempts recorded."
  echo "- All delivered in **$ELAPSED s = $RATE deliveries/s**; first request $FIRST s after the commit."
  echo "- Per-request latency to the receiver (response head): p50 $P50 ms, p99 $P99 ms."
  echo "- The receiver is a single Python process (ThreadingHTTPServer + HMAC verification per request) on"
  echo "  the same 2 cores, so it bounds the rate as much as the sender does."
  echo
} > "$SECTION"
python3 scripts/bench-section.py "$SECTION"
rm -f "$SECTION"
