#!/usr/bin/env bash
# Leave-one-source-out evaluation of the detector with crmguard's own commands,
# and every table of docs/detector.md's "Measured accuracy".
#
#   bench/loso.sh DATA_DIR [OUT_DIR]
#
# DATA_DIR is what `python3 data/detect/build.py MIRRORS DATA_DIR` writes:
# DATA_DIR/train/*.csv (one file per source) and DATA_DIR/eval/*.csv (sets that
# are never trained on). For each training source, `crmguard train` fits a model
# on all the other sources (its presets' thresholds chosen by its own
# held-out-source calibration, without the held-out source) and `crmguard eval
# --scores` scores the held-out file with it. Sources that share items (the
# same group ids) are held out together. Then a model on every training source
# scores the eval/ sets, which no fold ever trained on. Texts that appear in
# eval/ are left out of every training run (`train --exclude`).
#
# LOSO_FOLDS="group5 group4" runs only those folds, in that order; folds whose
# scores are in OUT_DIR already are skipped, so a stopped run resumes.
#
# Folds run one after another. `train` fits on one thread at a time with short
# parallel sums, so two runs side by side (LOSO_FOLDS, one OUT_DIR) use two
# cores better than one run. A fold with the default 8 calibration folds took
# 1.5 CPU-minutes in an earlier run and 9-10 on a host at load 10-12 (12-14 minutes
# of wall time each, two runs side by side, 2026-12-02); about 13 CPU-minutes
# with `--calibration-folds sources` (TRAIN_ARGS). Per-row scores, each fold's model and the held-out scores
# its calibration set the thresholds from (train --calibration-scores) stay in
# OUT_DIR (default: a temporary folder, removed at the end), and bench/loso_tables.py
# prints the tables from them:
#
#   python3 bench/loso_tables.py DATA_DIR OUT_DIR
#
# TRAIN_ARGS is passed to every `crmguard train` (e.g. "--no-frequency"), after
# the families calibration holds out together (sources sharing items or one
# prompt design: MixSet and APT-Eval; the four persona-review sets).
# LOSO_GROUPS=K merges the folds into K groups when a full run does not fit the
# time (see bench/loso_tables.py).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bench/loso.sh DATA_DIR [OUT_DIR]}
out=${2:-}
# CRMGUARD_BIN: a crmguard binary to use instead of building this tree's.
[ -n "${CRMGUARD_BIN:-}" ] || cargo build --release -q --bin crmguard
bin=${CRMGUARD_BIN:-target/release/crmguard}
families=(--together persona_reviews_ --together mixset,apt_eval)
if [ -z "$out" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/folds"
eval_files=("$data"/eval/*.csv)

# The folds: one per source, sources sharing items together.
python3 bench/loso_tables.py --folds "$data" > "$out/folds.txt"
# This run's list of folds is its own, so that two runs (LOSO_FOLDS="group1
# group2" and "group3 group4") can share an OUT_DIR and the machine's cores.
run_list=$(mktemp)
if [ -n "${LOSO_FOLDS:-}" ]; then # run only these folds, in this order
  for f in $LOSO_FOLDS; do grep "^$f " "$out/folds.txt"; done > "$run_list"
else
  cp "$out/folds.txt" "$run_list"
fi
while read -r fold held; do
  IFS=, read -r -a held_files <<< "$held"
  done=1
  for h in "${held_files[@]}"; do
    [ -s "$out/folds/${h%.csv}.scores.csv" ] || done=
  done
  if [ -n "$done" ]; then # a run stopped early resumes where it stopped
    echo "fold $fold: scored already" >&2
    continue
  fi
  train=()
  for f in "$data"/train/*.csv; do
    case ",$held," in *",$(basename "$f"),"*) ;; *) train+=("$f") ;; esac
  done
  held_paths=()
  for h in "${held_files[@]}"; do held_paths+=("$data/train/$h"); done
  echo "fold $fold: holding out ${held_files[*]}" >&2
  "$bin" train --data "${train[@]}" --out "$out/folds/$fold.bin" \
    --calibration-scores "$out/folds/$fold.calibration.csv" \
    --exclude "${eval_files[@]}" "${held_paths[@]}" "${families[@]}" ${TRAIN_ARGS:-} 2> "$out/folds/$fold.train.log"
  for h in "${held_files[@]}"; do
    "$bin" eval "$data/train/$h" --model "$out/folds/$fold.bin" \
      --scores "$out/folds/${h%.csv}.scores.csv" --json > /dev/null
  done
done < "$run_list"
rm -f "$run_list"

echo "all sources: model for eval/" >&2
[ -s "$out/all.bin" ] || "$bin" train --data "$data/train" --out "$out/all.bin" --exclude "${eval_files[@]}" \
  --calibration-scores "$out/all.calibration.csv" "${families[@]}" ${TRAIN_ARGS:-} 2> "$out/all.train.log"
for e in "${eval_files[@]}"; do
  "$bin" eval "$e" --model "$out/all.bin" --scores "$out/eval.$(basename "${e%.csv}").scores.csv" \
    --json > /dev/null
done
python3 bench/loso_tables.py "$data" "$out"
