#!/usr/bin/env bash
# Throughput and peak memory of `crmguard scan` against a plain csv-crate
# parse of the same file, measured in one run, with the detector on (the
# default) and off. Not a test: numbers go to docs/benchmarks.md.
#
#   bench/run.sh [ROWS] [JOBS...]     default: 1000000 rows, jobs 1 and all cores
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
shift || true
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(1 "$(nproc)")

cargo build --release -q --bin crmguard --example csv_baseline --example make_leads
bin=target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/examples/make_leads" "$rows" > "$work/leads.csv"
printf '[detector]\nenabled = false\n' > "$work/no-detector.toml"
size=$(stat -c %s "$work/leads.csv")
echo "input: $rows rows, $size bytes ($(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"

measure() { # label, command...
  local label=$1; shift
  # Warm the page cache so every run reads from memory.
  cat "$work/leads.csv" > /dev/null
  rm -rf "$work/out"
  /usr/bin/time -v "$@" 2> "$work/time.txt" > /dev/null || true
  local wall rss secs
  wall=$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}')
  rss=$(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}')
  secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  printf '%-40s %7.2f s %8.1f MB/s %9d KB peak RSS' "$label" "$secs" \
    "$(echo "$size $secs" | awk '{print $1/1e6/$2}')" "$rss"
  echo "$secs" > "$work/last"
}

measure "csv crate parse (floor)" "$bin/examples/csv_baseline" "$work/leads.csv"
echo
base=$(cat "$work/last")
for j in "${jobs[@]}"; do
  measure "crmguard scan -j$j, detector off" "$bin/crmguard" scan -q --fail-on never -p "$work/no-detector.toml" -j "$j" -o "$work/out" "$work/leads.csv"
  off=$(cat "$work/last")
  echo "  $(echo "$off $base" | awk '{printf "%.2fx", $1/$2}') the csv parse"
  measure "crmguard scan -j$j, detector on" "$bin/crmguard" scan -q --fail-on never -j "$j" -o "$work/out" "$work/leads.csv"
  echo "  $(echo "$(cat "$work/last") $base" | awk '{printf "%.2fx", $1/$2}') the csv parse, $(echo "$(cat "$work/last") $off" | awk '{printf "%.2fx", $1/$2}') detector off"
done
