#!/usr/bin/env bash
# TTS benchmark (issue 5): espeak-ng renders per second on 2 workers, cache-hit latency, and the time to
# pre-render a 10,000-recipient batch with a name variable (target < 60 s). Writes the figures, with the
# command that produced them, into BENCHMARKS.md under "## TTS (issue 5)" (replacing only that section).
#
# Usage: scripts/bench-tts.sh [WORKERS] [RECIPIENTS]      (defaults: 2 10000)
# Needs: espeak-ng (apt-get install -y espeak-ng).
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS="${1:-2}"
RECIPIENTS="${2:-10000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
command -v espeak-ng >/dev/null || { echo "espeak-ng is not installed (apt-get install -y espeak-ng)" >&2; exit 1; }

cargo build --release -q -p voicebot-tts --example bench_tts
CMD="cargo run --release -p voicebot-tts --example bench_tts -- $WORKERS $RECIPIENTS"
OUT="$(mktemp)"
trap 'rm -f "$OUT"' EXIT
"$CARGO_TARGET_DIR/release/examples/bench_tts" "$WORKERS" "$RECIPIENTS" | tee "$OUT"

SECTION="$(mktemp)"
trap 'rm -f "$OUT" "$SECTION"' EXIT
{
  echo "## TTS (issue 5)"
  echo
  echo "Measured $(date -u +%Y-%m-%dT%H:%MZ) with \`scripts/bench-tts.sh $WORKERS $RECIPIENTS\`"
  echo "(= \`$CMD\`). Path measured: messages split into sentences; espeak-ng CLI, one run per sentence"
  echo "on demand and up to 32 sentences per run when pre-rendering; 22.05 → 8 kHz windowed-sinc resampling;"
  echo "loudness normalisation; content-addressed cache files on local disk. The 2 cores are shared with other"
  echo "engineers' builds, so wall times vary; the CPU figure does not depend on that."
  echo
  cat "$OUT"
  echo
} > "$SECTION"

python3 scripts/bench-section.py "$SECTION"
