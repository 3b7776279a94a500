#!/usr/bin/env bash
# The demo: server + virtual phone on 127.0.0.1, the seed's batch plus numbers showing busy, no
# answer, option 2 and silence; prints the batch result and the WAV each answered call heard.
# Installs espeak-ng (the voice) if missing. Everything is written under ./voicebot-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v espeak-ng >/dev/null 2>&1; then
  echo "== installing espeak-ng"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq espeak-ng
fi
cargo build --release -q -p voicebot
RUST_LOG="${RUST_LOG:-warn}" exec "${CARGO_TARGET_DIR:-target}/release/voicebot" demo --dir voicebot-demo "$@"
