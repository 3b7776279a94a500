#!/usr/bin/env bash
# Store benchmark (issue 8): intake rows/s, claimed calls/s, fleet-wide send slots/s of one trunk
# and full dial cycles/s (claim → send slot → attempt row committed with the trunk's concurrency
# check → result committed) on SQLite and on PostgreSQL, same machine.
# Usage: scripts/bench-store.sh [CALLS=50000] [WORKERS=4]
# PostgreSQL from VOICEBOT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
# the run uses a throw-away schema.
set -euo pipefail
cd "$(dirname "$0")/.."
CALLS="${1:-50000}"
WORKERS="${2:-4}"
PG_URL="${VOICEBOT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"

cargo build -q --release -p voicebot-store --example bench_store
BIN="${CARGO_TARGET_DIR:-target}/release/examples/bench_store"

tmp="$(mktemp -d)"
schema="bench_$$"
cleanup() {
  rm -rf "$tmp"
  psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo -e "backend\tcalls\tworkers\tintake rows/s\tclaims/s\tsend slots/s\tdial cycles/s"
"$BIN" "sqlite://$tmp/bench.db" "$CALLS" "$WORKERS"
psql -q "$PG_URL" -c "CREATE SCHEMA $schema" >/dev/null
sep='?'; case "$PG_URL" in *\?*) sep='&';; esac
"$BIN" "${PG_URL}${sep}options=-csearch_path%3D${schema}" "$CALLS" "$WORKERS"
