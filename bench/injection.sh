#!/usr/bin/env bash
# CSV_INJECTION in each [injection] mode, on human text and on attacks: how
# many rows of each file are flagged. The numbers go to docs/policy.md.
#
#   bench/injection.sh [CORPUS_DIR]
#
# Always scans fixtures/injection/ (human.csv: business notes and e-mails
# written for this; attacks.csv: OWASP-style and DDE payloads). CORPUS_DIR,
# if given, holds the public corpus bench/injection_corpus.py builds (support
# tweets, hotel reviews, the PayloadsAllTheThings payloads). The detector is
# off, so CSV_INJECTION is the only code in play besides the row checks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin crmguard
bin=${CRMGUARD_BIN:-target/release/crmguard}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=(fixtures/injection/*.csv)
if [ $# -gt 0 ]; then files+=("$1"/*.csv); fi
printf '| file | rows | strict | formula |\n|---|---:|---:|---:|\n'
for f in "${files[@]}"; do
  name=$(basename "$f" .csv)
  row="| $name"
  for mode in strict formula; do
    printf '[injection]\nmode = "%s"\n[detector]\nenabled = false\n' "$mode" > "$work/p.toml"
    "$bin" scan -q --fail-on never -p "$work/p.toml" -o "$work/$mode" "$f"
    counts=$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["rows_total"], r["reasons"].get("CSV_INJECTION", 0))' "$work/$mode/$name.report.json")
    set -- $counts
    [ "$mode" = strict ] && row="$row | $1"
    row="$row | $2"
  done
  echo "$row |"
done
