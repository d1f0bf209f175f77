#!/usr/bin/env bash
# Two crmguard builds on the same generated file, runs interleaved, best wall
# time of REPS each: on a shared virtual machine the host's load changes within
# minutes, so separate bench/run.sh runs of two builds are not comparable.
#
#   bench/compare.sh OLD_BIN NEW_BIN [ROWS]     e.g. a build of an older commit
#                                               against target/release/crmguard
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 rows=${3:-1000000} reps=${REPS:-4}
cargo build --release -q --example make_leads --example csv_baseline
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/examples/make_leads "$rows" > "$work/leads.csv"
printf '[detector]\nenabled = false\n' > "$work/off.toml"
declare -A best
steal() { awk '/^cpu /{print $9}' /proc/stat; }
s0=$(steal)
for _ in $(seq "$reps"); do
  for b in old new; do
    bin=${!b}
    for cfg in "off 1" "on 1" "off 2" "on 2"; do
      read -r det jobs <<< "$cfg"
      pol=(); [ "$det" = off ] && pol=(-p "$work/off.toml")
      rm -rf "$work/out"
      t=$( { /usr/bin/time -f %e "$bin" scan -q --fail-on never "${pol[@]}" -j "$jobs" -o "$work/out" "$work/leads.csv"; } 2>&1 | tail -1)
      k="$b -j$jobs detector $det"
      if [ -z "${best[$k]:-}" ] || awk -v a="$t" -v b="${best[$k]}" 'BEGIN { exit !(a < b) }'; then best[$k]=$t; fi
    done
  done
done
parse=$( { /usr/bin/time -f %e target/release/examples/csv_baseline "$work/leads.csv" > /dev/null; } 2>&1 | tail -1)
echo "csv parse (floor): $parse s; CPU stolen by the host meanwhile: $(( ($(steal) - s0) / 100 )) s"
for b in old new; do
  for j in 1 2; do
    off=${best["$b -j$j detector off"]} on=${best["$b -j$j detector on"]}
    echo "$b -j$j: detector off $off s, on $on s ($(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2fx", a / b }'))"
  done
done
