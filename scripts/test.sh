#!/usr/bin/env bash
# Runs every check: installs what is missing (Debian packages, Python modules), then
# rustfmt, clippy, the whole test suite, and a schemathesis run against /openapi.json.
# Usage: scripts/test.sh            (SKIP_SCHEMATHESIS=1 to skip the 2-minute API fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# name-of-command:debian-package(s)
missing=()
for pair in espeak-ng:espeak-ng sipp:sip-tester baresip:baresip-core sox:sox curl:curl node:nodejs npm:npm python3:python3 pip3:python3-pip; do
  cmd="${pair%%:*}"; pkg="${pair#*:}"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
dpkg -s libsox-fmt-mp3 >/dev/null 2>&1 || missing+=(libsox-fmt-mp3)
# Headless browser for the dashboard test (crates/voicebot/tests/dashboard.rs); CHROMIUM overrides.
[ -n "${CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
python_modules() {
  python3 - "$@" <<'PY'
import importlib.util, sys
missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]
print(" ".join(missing))
PY
}
need_py="$(python_modules requests standardwebhooks schemathesis)"
if [ -n "$need_py" ]; then
  echo "== pip install $need_py"
  pip3 install -q $need_py || pip3 install -q --break-system-packages $need_py
fi

# PostgreSQL for the store conformance suite (issue 8): install on a fresh machine, start the
# cluster if it does not answer. Idempotent. Tests read VOICEBOT_TEST_POSTGRES_URL.
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "== installing postgresql"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql
  # Fresh cluster: trust loopback TCP (as on the CI machine) and create database `test`.
  hba="/etc/postgresql/$(ls /etc/postgresql | head -1)/main/pg_hba.conf"
  $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fresh_pg=1
fi
if ! pg_isready -q -h 127.0.0.1; then
  echo "== starting PostgreSQL"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
fi
if [ "${fresh_pg:-0}" = "1" ]; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main reload
  psql -h 127.0.0.1 -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"
fi

# playwright-core for the browser test, exactly as locked (no browser download: Debian's chromium is used).
browser_deps_current() {
  (cd tests/browser && node -e '
    const want = require("./package.json").dependencies["playwright-core"];
    process.exit(require("./node_modules/playwright-core/package.json").version === want ? 0 : 1);' 2>/dev/null)
}
if ! browser_deps_current; then
  echo "== npm ci (tests/browser)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -q -- -D warnings
echo "== cargo test"
cargo test --workspace
if [ "${SKIP_SCHEMATHESIS:-0}" != "1" ]; then
  echo "== schemathesis"
  scripts/schemathesis.sh
fi
echo "== all checks passed"
