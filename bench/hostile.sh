#!/usr/bin/env bash
# Peak memory and wall time of `crmguard scan` on hostile input: the cases of
# issue 16 (a gzip bomb, one huge field, gigabytes of blank lines) and the
# ones [limits] max_record_bytes had to be shaped against (a record of
# `[0,0,...]`, a record of commas, a header of a million columns, a big
# record in every batch). Each case is built in a temp dir, scanned once under
# /usr/bin/time -v with the default policy; the exit status says whether the
# scan refused it (2), quarantined rows (1) or passed it (0). Numbers go to
# docs/benchmarks.md.
#
#   bench/hostile.sh [BIN...]     default: target/release/crmguard
#                                 (several: each case runs on each, in turn)
#
# Each scan runs under `ulimit -v` of CAP_KB (default 8 GiB), so that an old
# build reading the bomb whole fails there instead of taking the machine, and
# under `timeout` of LIMIT_S seconds (default 300: an old build's quadratic
# header check never ends on a million columns); exit 124 says it was stopped.
#
# Writes about 1 GB to the temp dir and takes a few minutes on 2 vCPUs, most
# of it compressing 10 GB of zeros.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  cargo build --release -q --bin crmguard
  set -- target/release/crmguard
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
h='Name,is_synthetic,data_source'
mib=$((1 << 20))

head -c 10G /dev/zero | gzip -1 > "$work/bomb.csv.gz"
head -c 2G < <(yes '') | gzip -1 > "$work/blank_lines_2g.csv.gz"  # not `yes | head`: SIGPIPE with pipefail
{ echo "$h"; printf '"'; head -c $((200 * mib)) /dev/zero | tr '\0' x; echo '",false,web'; } \
  > "$work/field_200m.csv"
{ printf '[{"Name":"'; head -c $((200 * mib)) /dev/zero | tr '\0' x
  echo '","is_synthetic":"false","data_source":"web"}]'; } > "$work/field_200m.json"
python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
mib = 1 << 20
def write(name, text):
    with open(f"{work}/{name}", "w") as f:
        f.write(text)
tail = '"is_synthetic":"false","data_source":"web"}'
# Just under the record limit, ~8M JSON values: refused by the value cap.
zeros = ",".join(["0"] * ((16 * mib - 100) // 2))
write("values_16m.ndjson", '{"Name":[' + zeros + "]," + tail + "\n")
# Just under the record limit, ~16M fields: refused by the field cap.
write("commas_16m.csv", "Name,is_synthetic,data_source\n" + "," * (16 * mib - 100) + "\n")
# A header of 1,048,576 columns (the cap) and one row.
names = ["is_synthetic", "data_source"] + [f"c{i}" for i in range(2, 1 << 20)]
write("columns_1m.csv", ",".join(names) + "\n" + ",".join(["false", "web"] + ["x"] * (len(names) - 2)) + "\n")
# 1,000 values a record, 100,000 records (205 MB): batches bounded by what
# parsing makes of them, not by their bytes.
row = '{"Name":[' + ",".join(["0"] * 1000) + "]," + tail + "\n"
write("values_1000_per_row.ndjson", row * 100_000)
# Records just under the limit, one after another: quoted, with escaped
# quotes and line breaks, so that unquoting has work to do.
with open(f"{work}/records_16m.csv", "w") as f:
    f.write("Name,is_synthetic,data_source\n")
    body = 'ab""c\n' * ((16 * mib - 200) // 6)
    for _ in range(12):
        f.write('"' + body + '",false,web\n')
# 15 MiB records, one at the end of each of 40 batches of growing length.
with open(f"{work}/big_record_per_batch.csv", "w") as f:
    f.write("Name,is_synthetic,data_source\n")
    big = "z" * (15 * mib) + ",false,web\n"
    for k in range(40):
        f.write("a,false,web\n" * (k * 50))
        f.write(big)
PY

printf '| case | input bytes | build | exit | wall | peak RSS |\n|---|---:|---|---:|---:|---:|\n'
for f in bomb.csv.gz field_200m.csv field_200m.json blank_lines_2g.csv.gz values_16m.ndjson \
  commas_16m.csv columns_1m.csv values_1000_per_row.ndjson big_record_per_batch.csv records_16m.csv; do
  for bin in "$@"; do
    rm -rf "$work/out"
    set +e
    (ulimit -v "${CAP_KB:-8388608}"
      /usr/bin/time -v timeout "${LIMIT_S:-300}" "$bin" scan -q -o "$work/out" "$work/$f") \
      2> "$work/time.txt"
    status=$?
    set -e
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/{printf "%.0f MB", $2 / 1024}' "$work/time.txt")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$f" "$(stat -c %s "$work/$f")" "$bin" "$status" "$wall" "$rss"
  done
done
