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
for pair in espeak-ng:espeak-ng sipp:sip-tester sox:sox curl:curl node:nodejs python3:python3 pip3:python3-pip; do
  cmd="${pair%%:*}"; pkg="${pair#*:}"
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
dpkg -s libsox-fmt-mp3 >/dev/null 2>&1 || missing+=(libsox-fmt-mp3)
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
