#!/usr/bin/env bash
# Leave-one-source-out evaluation of the detector with crmguard's own commands,
# and every table of docs/detector.md's "Measured accuracy".
#
#   bench/loso.sh DATA_DIR [OUT_DIR]
#
# DATA_DIR is what `python3 data/detect/build.py MIRRORS DATA_DIR` writes:
# DATA_DIR/train/*.csv (one file per source) and DATA_DIR/eval/*.csv (sets that
# are never trained on). For each training source, `crmguard train` fits a model
# on all the other sources and `crmguard eval --scores` scores the held-out file
# with it. Sources that share items (the same group ids) are held out together.
# Then a model of every training source, its presets' thresholds set from all
# those held-out scores (`train --thresholds-from`), scores the eval/ sets,
# which no fold ever trained on: with the default TRAIN_ARGS that model,
# OUT_DIR/all.bin, is the shipped one, byte for byte. Texts that appear in eval/
# are left out of every training run (`train --exclude`).
#
# LOSO_JOBS folds run at a time (default: one per core), each with one rayon
# thread: a fold took 9-10 minutes of wall time, two at a time on two vCPUs
# (2026-12-02; on another host on 2026-12-03, about 2 minutes, and the whole
# run 18). With both processes' thread pools spanning both cores, a fold
# had used 9 CPU-minutes and not finished after 9 minutes of wall time.
# LOSO_FOLDS="fold5 fold4" runs only those folds, in that order; folds whose
# scores are in OUT_DIR already are skipped, so a stopped run resumes.
# LOSO_MERGE="a+b+c d+e" holds the named folds out together, and LOSO_GROUPS=K
# merges all folds into K groups, when a full run does not fit the time (see
# bench/loso_tables.py; pass the same variables to it).
#
# Per-row scores, each fold's model and the held-out scores its calibration set
# its own thresholds from (train --calibration-scores) stay in OUT_DIR
# (default: a temporary folder, removed at the end), and bench/loso_tables.py
# prints the tables from them:
#
#   python3 bench/loso_tables.py DATA_DIR OUT_DIR
#
# TRAIN_ARGS is passed to every `crmguard train`, after the families calibration
# holds out together (sources sharing items or one prompt design: MixSet and
# APT-Eval; the four persona-review sets). Unset, it is the shipped model's
# recipe, "--trees 50 --tree-blend 0.2"; TRAIN_ARGS="" measures the linear model
# alone, and e.g. TRAIN_ARGS="--trees 50 --tree-blend 0.2 --no-style" a variant.
# LOSO_THRESHOLDS=calibration keeps each model's own calibrated thresholds, in
# all.bin and in the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:?usage: bench/loso.sh DATA_DIR [OUT_DIR]}
out=${2:-}
# CRMGUARD_BIN: a crmguard binary to use instead of building this tree's.
[ -n "${CRMGUARD_BIN:-}" ] || cargo build --release -q --bin crmguard
bin=${CRMGUARD_BIN:-target/release/crmguard}
families=(--together persona_reviews_ --together mixset,apt_eval)
train_args=${TRAIN_ARGS---trees 50 --tree-blend 0.2}
if [ -z "$out" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out/folds"
eval_files=("$data"/eval/*.csv)

# The folds: one per source, sources sharing items together.
python3 bench/loso_tables.py --folds "$data" > "$out/folds.txt"
run_list=$(mktemp)
if [ -n "${LOSO_FOLDS:-}" ]; then # run only these folds, in this order
  for f in $LOSO_FOLDS; do grep "^$f " "$out/folds.txt"; done > "$run_list"
else
  cp "$out/folds.txt" "$run_list"
fi

fold_scored() { # a run stopped early resumes where it stopped
  local h
  for h in "${@}"; do
    # Score files of an older eval, without the parts of each score, are redone.
    head -n 1 "$out/folds/${h%.csv}.scores.csv" 2> /dev/null | grep -q ',log_odds,' || return 1
  done
}

run_fold() {
  local fold=$1 held=$2 f h
  local -a held_files train=() held_paths=()
  IFS=, read -r -a held_files <<< "$held"
  for f in "$data"/train/*.csv; do
    case ",$held," in *",$(basename "$f"),"*) ;; *) train+=("$f") ;; esac
  done
  for h in "${held_files[@]}"; do held_paths+=("$data/train/$h"); done
  echo "fold $fold: holding out ${held_files[*]}" >&2
  # A fold model is committed whole or not at all: one that exists is reused.
  [ -s "$out/folds/$fold.bin" ] || "$bin" train --data "${train[@]}" --out "$out/folds/$fold.bin" \
    --calibration-scores "$out/folds/$fold.calibration.csv" \
    --exclude "${eval_files[@]}" "${held_paths[@]}" "${families[@]}" $train_args 2> "$out/folds/$fold.train.log"
  for h in "${held_files[@]}"; do
    "$bin" eval "$data/train/$h" --model "$out/folds/$fold.bin" \
      --scores "$out/folds/${h%.csv}.scores.csv" --json > /dev/null
  done
}

# LOSO_JOBS folds at a time, each on one thread: folds are independent, while
# `train`'s own parallelism is short sums between serial steps, and pools of
# several processes spanning every core over-subscribe it (see above).
jobs=${LOSO_JOBS:-$(nproc)}
threads=${RAYON_NUM_THREADS:-}
[ "$jobs" -gt 1 ] && threads=${threads:-1}
running=0
while read -r fold held; do
  IFS=, read -r -a held_files <<< "$held"
  if fold_scored "${held_files[@]}"; then
    echo "fold $fold: scored already" >&2
    continue
  fi
  if [ "$running" -ge "$jobs" ]; then
    wait -n # set -e: a failed fold stops the run
    running=$((running - 1))
  fi
  RAYON_NUM_THREADS=$threads run_fold "$fold" "$held" &
  running=$((running + 1))
done < "$run_list"
while [ "$running" -gt 0 ]; do
  wait -n
  running=$((running - 1))
done
rm -f "$run_list"

# LOSO_FOLDS that name only some folds give no tables.
while read -r fold held; do
  IFS=, read -r -a held_files <<< "$held"
  if ! fold_scored "${held_files[@]}"; then
    echo "fold $fold has no scores yet: no tables from this run" >&2
    exit 0
  fi
done < "$out/folds.txt"

# The model of all sources, its presets set from every fold's held-out scores:
# with the default TRAIN_ARGS this is the shipped model, byte for byte
# (docs/detector.md, "Retraining"). LOSO_THRESHOLDS=calibration keeps its own.
echo "all sources: model for eval/" >&2
from=()
if [ "${LOSO_THRESHOLDS:-held-out}" = held-out ]; then
  from=(--thresholds-from "$out"/folds/*.scores.csv)
fi
[ -s "$out/all.bin" ] || "$bin" train --data "$data/train" --out "$out/all.bin" --exclude "${eval_files[@]}" \
  --calibration-scores "$out/all.calibration.csv" "${families[@]}" "${from[@]}" $train_args \
  2> "$out/all.train.log"
for e in "${eval_files[@]}"; do
  "$bin" eval "$e" --model "$out/all.bin" --scores "$out/eval.$(basename "${e%.csv}").scores.csv" \
    --json > /dev/null
done
python3 bench/loso_tables.py "$data" "$out"
