#!/usr/bin/env bash
# The main table of docs/benchmarks.md: two crmguard builds against a
# parse-and-write (`xsv fmt`) and a validating parse (`qsvlite validate` or
# `qsv validate`, when one is on PATH), on two generated files, all runs
# interleaved (one rep runs every command once, in an order that rotates
# between reps), so that a busy minute on a shared machine slows all alike.
#
#   bench/table.sh OLD_BIN NEW_BIN [ROWS]      default 1000000 rows
#   REPS=5 bench/table.sh ...                  default 3 reps
#   TMPDIR=/dev/shm bench/table.sh ...         files and outputs in memory,
#                                              so no run waits on the disk
#
# Files: the lead export of `make_leads ROWS` (descriptions of 51-263 bytes)
# and the long-text export of `make_leads ROWS --long` (about 850 bytes).
# Each line: the minimum and median wall time, the throughput at the
# minimum, the median CPU time (user + system) and the largest peak RSS,
# all from `/usr/bin/time`. xsv: `cargo install xsv --locked`.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 rows=${3:-1000000} reps=${REPS:-3}
cargo build --release -q --example make_leads
work=$(mktemp -d "${TMPDIR:-/tmp}/crmguard-table.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '[detector]\nenabled = false\n' > "$work/off.toml"
qsv=$(command -v qsvlite || command -v qsv || true)

# label, then the command; "$F" in the command stands for the input file.
cmds=("xsv fmt|xsv fmt -o $work/xsv.csv \$F")
[ -n "$qsv" ] && cmds+=("$(basename "$qsv") validate|$qsv validate \$F")
for b in old new; do
  for j in 1 2; do
    cmds+=("$b -j$j off|${!b} scan -q --fail-on never -p $work/off.toml -j $j -o $work/out \$F")
    cmds+=("$b -j$j on|${!b} scan -q --fail-on never -j $j -o $work/out \$F")
  done
done

echo "load before: $(uptime)"
for file in leads long; do
  flag=(); [ "$file" = long ] && flag=(--long)
  target/release/examples/make_leads "$rows" "${flag[@]}" > "$work/$file.csv"
  size=$(stat -c %s "$work/$file.csv")
  echo
  echo "$file: $rows rows, $size bytes"
  : > "$work/times"
  for rep in $(seq "$reps"); do
    n=${#cmds[@]}
    for k in $(seq 0 $((n - 1))); do
      line=${cmds[$(( (k + rep) % n ))]}
      label=${line%%|*} cmd=${line#*|}
      cat "$work/$file.csv" > /dev/null # from the page cache
      rm -rf "$work/out" "$work/xsv.csv"
      # Word splitting on purpose: the paths come from mktemp, no spaces.
      # shellcheck disable=SC2086
      t=$( { /usr/bin/time -f '%e %U %S %M' ${cmd//\$F/$work/$file.csv} > /dev/null; } 2>&1 | tail -1)
      echo "$label|$t" >> "$work/times"
    done
  done
  echo "| command | wall min | wall median | MB/s (min) | CPU median | peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|"
  for line in "${cmds[@]}"; do
    label=${line%%|*}
    grep -F "$label|" "$work/times" | cut -d'|' -f2 | awk -v l="$label" -v size="$size" '
      function median(a, m,   x, y, s) {
        for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] < a[x]) { s = a[x]; a[x] = a[y]; a[y] = s }
        return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
      }
      { w[NR] = $1; c[NR] = $2 + $3; if ($4 > r) r = $4 }
      END {
        med = median(w, NR); cmed = median(c, NR)  # median() sorts w, so w[1] is the min
        printf "| %s | %.2f s | %.2f s | %.0f | %.2f s | %.0f MB |\n", l, w[1], med, size / 1e6 / w[1], cmed, r / 1024
      }'
  done
  rm -f "$work/$file.csv"
done
echo
echo "load after: $(uptime)"
