#!/usr/bin/env bash
# Instructions the detector executes per byte of text it scores, counted by
# valgrind's cachegrind on the "crm" pieces of detector_bench. Unlike a
# timing, the count does not move with the host's load, so it shows whether a
# change to the scoring code did less work even on a busy machine (it says
# nothing about cache misses or mispredictions: time it too, interleaved).
#
#   bench/instructions.sh TEXTS.csv...   e.g. DATA/train/*.csv, as data/detect/build.py
#                                        writes them (docs/detector.md, "Retraining")
#
# Scoring once and twice, the difference is the cost of one pass alone,
# without loading the texts. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind > /dev/null || { echo "bench/instructions.sh: needs valgrind" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: bench/instructions.sh TEXTS.csv..." >&2; exit 2; }
cargo build --release -q --example detector_bench
bin=target/release/examples/detector_bench
count() { # reps: instructions of a whole run
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$bin" --only crm --reps "$1" "${@:2}" 2>&1 | awk '/I *refs/ { gsub(",", "", $4); print $4 }'
}
bytes=$("$bin" --only crm --reps 1 "$@" | awk '{ print $4 * 1e6 }')
one=$(count 1 "$@")
two=$(count 2 "$@")
awk -v d=$((two - one)) -v b="$bytes" \
  'BEGIN { printf "%.0f instructions to score %.1f MB once: %.1f per byte\n", d, b / 1e6, d / b }'
