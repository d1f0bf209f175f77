#!/usr/bin/env bash
# Leave-one-source-out evaluation of the detector with crmguard's own
# commands: for each labelled file, train on the others and evaluate on it.
# Not a test (about 17 minutes on 2 cores); numbers go to docs/detector.md.
# TRAIN_ARGS is passed to every `crmguard train`, e.g. TRAIN_ARGS="--char-ngrams none"
# for the ablation in docs/detector.md.
#
#   bench/loso.sh [DATA_DIR]      default: ../shared/data/detect/train
#
# After the table, the false positives of each fold at its own threshold,
# by language, domain and length: each held-out file is scanned with its fold
# model, the way `crmguard scan` would see it, and the human rows flagged
# UNDISCLOSED_AI_TEXT are counted per slice.
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
  name=$(basename "$held" .csv)
  train=()
  for f in "${files[@]}"; do [ "$f" = "$held" ] || train+=("$f"); done
  "$bin" train --data "${train[@]}" --out "$work/$name.bin" ${TRAIN_ARGS:-} 2> "$work/train.log"
  "$bin" eval "$held" --model "$work/$name.bin" --judged-only --json > "$work/eval.json"
  python3 - "$held" "$work/eval.json" <<'PY'
import json, os, sys
e = json.load(open(sys.argv[2]))
f = lambda x: "—" if x is None else f"{x:.4f}"
p = lambda x: "—" if x is None else f"{100 * x:.1f}%"
print(f"| {os.path.basename(sys.argv[1])[:-4]} | {e['n']} | {f(e['auroc'])} | {p(e['tpr_at_1pct_fpr'])} | "
      f"{p(e['tpr_at_5pct_fpr'])} | {e['threshold']:.4f} | {p(e['precision'])} | {p(e['recall'])} | {p(e['fpr'])} |")
PY
done

echo
echo "False positives at each fold's threshold (human rows of 8+ words flagged / judged):"
for held in "${files[@]}"; do
  name=$(basename "$held" .csv)
  printf '[detector]\nmodel = "%s"\ntext_columns = ["text"]\n' "$work/$name.bin" > "$work/$name.toml"
  rm -rf "$work/out"
  "$bin" scan -q --fail-on never -j "$(nproc)" -p "$work/$name.toml" -o "$work/out" "$held"
  python3 - "$held" "$work/out/$name.quarantine.csv" "$name" <<'PY'
import csv, re, sys
from collections import Counter
csv.field_size_limit(1 << 30)
held, quarantine, name = sys.argv[1:]
def words(t):
    # Whitespace words, CJK characters counting half, as crmguard counts them.
    cjk = len(re.findall(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", t))
    return len(re.findall(r"\w+", re.sub(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", " ", t))) + (cjk + 1) // 2
def bucket(n):
    return next(b for lo, b in [(50, "50+"), (25, "25-49"), (15, "15-24"), (10, "10-14"), (8, "8-9"), (0, "<8")] if n >= lo)
flagged = {r["uid"] for r in csv.DictReader(open(quarantine, encoding="utf-8", errors="replace"))
           if "UNDISCLOSED_AI_TEXT" in r["crmguard_reasons"]}
judged, fp = Counter(), Counter()
for r in csv.DictReader(open(held, encoding="utf-8")):
    if r["label"] != "human":
        continue
    b = bucket(words(r["text"]))
    if b == "<8":
        continue
    for key in ("all", "language " + r["language"], "domain " + r["domain"], "words " + b):
        judged[key] += 1
        fp[key] += r["uid"] in flagged
print(f"{name}: " + "; ".join(f"{k} {fp[k]}/{judged[k]}" for k in sorted(judged)))
PY
done
