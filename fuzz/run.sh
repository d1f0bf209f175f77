#!/bin/sh
# Runs each fuzz target in turn for SECONDS (default 300) of wall time, one at
# a time, and prints its CPU time and libFuzzer's last status line.
# New inputs go to fuzz/work/TARGET (ignored by git); the seeds in
# fuzz/corpus/TARGET are read, never written. Crashes land in
# fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")/.."
secs=${1:-300}
[ $# -gt 0 ] && shift
targets=${*:-csv json_array ndjson compressed policy}
cargo +nightly fuzz build
for t in $targets; do
    mkdir -p "fuzz/work/$t"
    log="fuzz/work/$t.log"
    echo "== $t: ${secs}s from $(date -u +%FT%TZ)"
    /usr/bin/time -o "fuzz/work/$t.time" -f "$t: %U s user, %S s sys, %e s wall, %M KB peak" \
        cargo +nightly fuzz run "$t" "fuzz/work/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || {
        echo "$t: FAILED, see $log and fuzz/artifacts/$t/"
        tail -n 30 "$log"
        cat "fuzz/work/$t.time"
        continue
    }
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log"
    cat "fuzz/work/$t.time"
    echo "corpus: $(ls "fuzz/work/$t" | wc -l) files"
done
