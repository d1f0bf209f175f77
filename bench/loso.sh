#!/usr/bin/env bash
# Leave-one-source-out evaluation of the detector with crmguard's own
# commands: for each labelled file, train on the others and evaluate on it.
# Not a test (about 25 minutes on 2 cores); numbers go to docs/detector.md.
#
#   bench/loso.sh [DATA_DIR]      default: ../shared/data/detect/train
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/detect/train}
cargo build --release -q --bin crmguard
bin=${CRMGUARD_BIN:-target/release/crmguard}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=("$data"/*.csv)
printf '| held-out source | n judged | AUROC | TPR@1%%FPR | TPR@5%%FPR | threshold | precision | recall | FPR |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for held in "${files[@]}"; do
  train=()
  for f in "${files[@]}"; do [ "$f" = "$held" ] || train+=("$f"); done
  "$bin" train --data "${train[@]}" --out "$work/fold.bin" 2> "$work/train.log"
  "$bin" eval "$held" --model "$work/fold.bin" --judged-only --json > "$work/eval.json"
  python3 - "$held" "$work/eval.json" <<'PY'
import json, os, sys
e = json.load(open(sys.argv[2]))
f = lambda x: "—" if x is None else f"{x:.4f}"
p = lambda x: "—" if x is None else f"{100 * x:.1f}%"
print(f"| {os.path.basename(sys.argv[1])[:-4]} | {e['n']} | {f(e['auroc'])} | {p(e['tpr_at_1pct_fpr'])} | "
      f"{p(e['tpr_at_5pct_fpr'])} | {e['threshold']:.4f} | {p(e['precision'])} | {p(e['recall'])} | {p(e['fpr'])} |")
PY
done
