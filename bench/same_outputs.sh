#!/usr/bin/env bash
# Two builds write the same bytes: every output of a scan of both generated
# files (the lead export and the long-text one, `make_leads ROWS [--long]`)
# by OLD_BIN at -j1 and by NEW_BIN at -j2, detector off and on, compared with
# cmp. The reports may differ only in times, paths and the audit log's head,
# and so may the audit log's records (their scan id, times and chain
# hashes), so those are compared with such fields taken out (jq).
#
#   bench/same_outputs.sh OLD_BIN NEW_BIN [ROWS]     default 1000000 rows
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2 rows=${3:-1000000}
cargo build --release -q --example make_leads
work=$(mktemp -d "${TMPDIR:-/tmp}/crmguard-same.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '[detector]\nenabled = false\n' > "$work/off.toml"
# Keys whose values name a time, a path, a duration or the audit chain.
strip='walk(if type == "object" then with_entries(select(.key | test("^(scan_id|at|prev|hash|head|log|path|user|host|started_at|scan_time|elapsed_ms)$") | not)) else . end)'
status=0
for file in leads long; do
  flag=(); [ "$file" = long ] && flag=(--long)
  target/release/examples/make_leads "$rows" "${flag[@]}" > "$work/$file.csv"
  for det in off on; do
    pol=(); [ "$det" = off ] && pol=(-p "$work/off.toml")
    for b in old new; do
      j=1; [ "$b" = new ] && j=2
      rm -rf "$work/$b"
      "${!b}" scan -q --fail-on never "${pol[@]}" -j "$j" -o "$work/$b" "$work/$file.csv"
    done
    for f in "$work/old"/*; do
      name=$(basename "$f")
      case "$name" in
        *.json | *.jsonl)
          if cmp -s <(jq -cS "$strip" "$f") <(jq -cS "$strip" "$work/new/$name"); then r=same; else r=DIFFERENT; status=1; fi ;;
        *)
          if cmp -s "$f" "$work/new/$name"; then r=same; else r=DIFFERENT; status=1; fi ;;
      esac
      echo "$file, detector $det: $name ($(stat -c %s "$f") bytes): $r"
    done
  done
  rm -f "$work/$file.csv"
done
exit $status
