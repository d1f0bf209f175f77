#!/usr/bin/env bash
# Throughput and peak memory of `crmguard scan` against a plain csv-crate
# parse of the same file, measured in one run, with the detector on (the
# default) and off. Not a test: numbers go to docs/benchmarks.md.
#
#   bench/run.sh [ROWS] [JOBS...]     default: 1000000 rows, jobs 1 and all cores
#
# Each line is the best wall time of REPS runs (env, default 5): on a shared
# or virtual machine single runs of the same binary vary by 30%.
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
reps=${REPS:-5}
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

measure() { # label, command...: best wall time of $reps runs, largest peak RSS
  local label=$1; shift
  local best="" rss=0 wall secs r
  for _ in $(seq "$reps"); do
    # Warm the page cache so every run reads from memory.
    cat "$work/leads.csv" > /dev/null
    rm -rf "$work/out"
    /usr/bin/time -v "$@" 2> "$work/time.txt" > /dev/null || true
    wall=$(grep 'Elapsed (wall clock)' "$work/time.txt" | awk '{print $NF}')
    secs=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    r=$(grep 'Maximum resident set size' "$work/time.txt" | awk '{print $NF}')
    [ "$r" -gt "$rss" ] && rss=$r
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; fi
  done
  printf '%-40s %7.2f s %8.1f MB/s %9d KB peak RSS' "$label" "$best" \
    "$(echo "$size $best" | awk '{print $1/1e6/$2}')" "$rss"
  echo "$best" > "$work/last"
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
