#!/usr/bin/env bash
# Two crmguard builds on the same generated file, runs interleaved: on a shared
# virtual machine the host's load changes within minutes, so separate
# bench/run.sh runs of two builds are not comparable.
#
#   bench/compare.sh OLD_BIN NEW_BIN [ROWS]     e.g. a build of an older commit
#                                               against target/release/crmguard
#   JOBS=2 REPS=20 bench/compare.sh ...         -j2 only, more pairs
#
# Two estimates of each build's detector-on/off ratio:
# - "best": best wall time of REPS for each configuration, the ratio of those;
# - "paired": each rep times the detector-off and -on scans back to back (the
#   order alternating between reps), and the median of those per-rep ratios
#   is reported with its range. A neighbour that slows the host for minutes
#   slows both halves of a pair alike, so this one holds up on a busy host,
#   where the best times of the two configurations may come from calm and
#   busy minutes respectively.
# Each configuration's median CPU use (user + system time over wall time, in
# vCPUs) and CPU time follow: where the wall times differ, they tell whether
# a build does less work or keeps the cores busier.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 rows=${3:-1000000} reps=${REPS:-4} jobs_list=${JOBS:-1 2}
cargo build --release -q --example make_leads --example csv_baseline
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/examples/make_leads "$rows" > "$work/leads.csv"
printf '[detector]\nenabled = false\n' > "$work/off.toml"
steal() { awk '/^cpu /{print $9}' /proc/stat; }
s0=$(steal)
# One line per run: rep, build, jobs, detector, wall, user and system seconds.
log=$work/times
for rep in $(seq "$reps"); do
  builds=(old new) dets=(off on)
  if [ $((rep % 2)) = 0 ]; then builds=(new old) dets=(on off); fi
  for b in "${builds[@]}"; do
    bin=${!b}
    for jobs in $jobs_list; do
      for det in "${dets[@]}"; do
        pol=(); [ "$det" = off ] && pol=(-p "$work/off.toml")
        rm -rf "$work/out"
        t=$( { /usr/bin/time -f '%e %U %S' "$bin" scan -q --fail-on never "${pol[@]}" -j "$jobs" -o "$work/out" "$work/leads.csv"; } 2>&1 | tail -1)
        echo "$rep $b $jobs $det $t" >> "$log"
      done
    done
  done
done
parse=$( { /usr/bin/time -f %e target/release/examples/csv_baseline "$work/leads.csv" > /dev/null; } 2>&1 | tail -1)
echo "csv parse (floor): $parse s; CPU stolen by the host meanwhile: $(( ($(steal) - s0) / 100 )) s"
awk '
  function median(a, m,   x, y, s) {
    for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++) if (a[y] < a[x]) { s = a[x]; a[x] = a[y]; a[y] = s }
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  { t[$1, $2, $3, $4] = $5; cpu[$1, $2, $3, $4] = $6 + $7; k = $2 SUBSEP $3 SUBSEP $4
    if (!(k in best) || $5 < best[k]) best[k] = $5; n = $1 }
  END {
    split("old new", bs, " ")
    for (bi = 1; bi <= 2; bi++) for (j = 1; j <= 2; j++) {
      b = bs[bi]; m = 0
      if (!((b, j, "off") in best)) continue
      for (r = 1; r <= n; r++) q[++m] = t[r, b, j, "on"] / t[r, b, j, "off"]
      med = median(q, m)  # sorts q, so q[1] and q[m] are the range
      off = best[b, j, "off"]; on = best[b, j, "on"]
      printf "%s -j%d: detector off %s s, on %s s (best %.2fx); paired median %.2fx (%.2f-%.2f, %d reps)\n",
        b, j, off, on, on / off, med, q[1], q[m], m
      for (d = 1; d <= 2; d++) {
        det = d == 1 ? "off" : "on"
        for (r = 1; r <= n; r++) { u[r] = cpu[r, b, j, det] / t[r, b, j, det]; c[r] = cpu[r, b, j, det] }
        printf "  detector %-3s: CPU use %.2f vCPUs, CPU time %.2f s (medians)\n", det, median(u, n), median(c, n)
      }
    }
  }' "$log"
