#!/usr/bin/env python3
"""How much of the detector's shortfall is the features, and how much the move
to sources it never saw: the same recipe trained on half of every source's
items and measured on the other half, beside the leave-one-source-out scores.

    python3 bench/in_distribution.py DATA_DIR WORK_DIR [LOSO_OUT]

Every DATA_DIR/train/*.csv is split in two by group id (a hotel's, a prompt's
or an item's rows stay together; sources sharing items, MixSet and APT-Eval,
split alike), into WORK_DIR/A and WORK_DIR/B. `crmguard train` fits the
shipped model's recipe on A (eval/ excluded, as for the shipped model), and
`crmguard eval --judged-only --scores` scores B. Each preset's rule then sets a
threshold where the mean over sources of their human FPR meets its target (as
`crmguard train` does, by bench/loso_tables.py's rule), here on the scored texts themselves, and the table
gives the machine texts caught, pooled and as a mean over sources. With
LOSO_OUT (a `bench/loso.sh` run's folder) the same rule runs on the
leave-one-source-out scores too. Both sides set their thresholds on the texts
they measure, so both are a little optimistic, alike: the gap between the two
rows is what comes from sources never seen. About a minute on two cores.

CRMGUARD_BIN names the binary (default target/release/crmguard).
"""

import csv
import glob
import os
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loso_tables import auroc, half, mean_fpr_threshold, tpr_at_fpr  # noqa: E402

csv.field_size_limit(1 << 30)
RECIPE = ["--together", "persona_reviews_", "--together", "mixset,apt_eval",
          "--trees", "50", "--tree-blend", "0.2"]
TARGETS = [("strict", 0.001), ("balanced", 0.005), ("thorough", 0.02)]


def split(data, work):
    for side in "AB":
        os.makedirs(os.path.join(work, side), exist_ok=True)
    for f in sorted(glob.glob(os.path.join(data, "train", "*.csv"))):
        with open(f, newline="") as src:
            rows = list(csv.DictReader(src))
        outs = []
        for side in "AB":
            fh = open(os.path.join(work, side, os.path.basename(f)), "w", newline="")
            w = csv.DictWriter(fh, list(rows[0].keys()))
            w.writeheader()
            outs.append((fh, w))
        for i, r in enumerate(rows):
            outs[half(r, i)][1].writerow(r)
        for fh, _ in outs:
            fh.close()


def scores(pattern, texts_dir):
    """(source, machine, score, words, chars) of every judged text in the
    score files; the texts' lengths come from the file each was scored from
    (`eval --scores` writes a line per row, in order)."""
    rows = []
    for f in sorted(glob.glob(pattern)):
        name = os.path.basename(f).removesuffix(".scores.csv").removesuffix(".csv")
        with open(os.path.join(texts_dir, name + ".csv"), newline="") as fh:
            lengths = [len(r["text"]) for r in csv.DictReader(fh)]
        with open(f, newline="") as fh:
            scored = list(csv.DictReader(fh))
        assert len(scored) == len(lengths), f
        for r, chars in zip(scored, lengths):
            if r["judged"] == "true":
                rows.append((name, r["label"] == "machine", float(r["score"]),
                             int(r["words"]), chars))
    return rows


def table(name, rows):
    by = defaultdict(list)
    for s, m, x, *_ in rows:
        by[(s, m)].append(x)
    for preset, target in TARGETS:
        t = mean_fpr_threshold([(s, x) for s, m, x, *_ in rows if not m], target)
        share = lambda xs: sum(x > t for x in xs) / len(xs)
        human = sorted(((share(v), s) for (s, m), v in by.items() if not m), reverse=True)
        machine = [share(v) for (s, m), v in by.items() if m]
        pooled = share([x for s, m, x, *_ in rows if m])
        print(f"| {name} | {preset} ({100 * target:g}%) | {t:.4f} | "
              f"{100 * sum(h for h, _ in human) / len(human):.2f}% | "
              f"{100 * human[0][0]:.1f}% ({human[0][1]}) | {100 * pooled:.1f}% | "
              f"{100 * sum(machine) / len(machine):.1f}% |")


def ranking(name, rows):
    """The issue's ranking goals, pooled over sources."""
    pairs = lambda keep: [(m, x) for _, m, x, w, c in rows if keep(w, c)]
    short = tpr_at_fpr(pairs(lambda w, c: 100 <= c < 500), 0.01)
    print(f"| {name} | {auroc(pairs(lambda w, c: True)):.3f} | "
          f"{auroc(pairs(lambda w, c: 8 <= w <= 20)):.3f} | {100 * short:.1f}% |")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    data, work = sys.argv[1], sys.argv[2]
    binary = os.path.abspath(os.environ.get("CRMGUARD_BIN", "target/release/crmguard"))
    split(data, work)
    model = os.path.join(work, "A.bin")
    subprocess.run([binary, "train", "--data", os.path.join(work, "A"), "--exclude",
                    os.path.join(data, "eval"), "--out", model, *RECIPE],
                   check=True, capture_output=True)
    os.makedirs(os.path.join(work, "scores"), exist_ok=True)
    for f in sorted(glob.glob(os.path.join(work, "B", "*.csv"))):
        subprocess.run([binary, "eval", f, "--model", model, "--judged-only", "--scores",
                        os.path.join(work, "scores", os.path.basename(f))],
                       check=True, capture_output=True)
    loso = len(sys.argv) == 4
    ours = scores(os.path.join(work, "scores", "*.csv"), os.path.join(work, "B"))
    if loso:
        theirs = scores(os.path.join(sys.argv[3], "folds", "*.scores.csv"),
                        os.path.join(data, "train"))
    print("| measured on | preset (mean human FPR target) | threshold | human, mean over sources | "
          "worst human source | machine caught, pooled | mean over machine sources |")
    print("|---|---|---:|---:|---:|---:|---:|")
    table("other half of every source's items", ours)
    if loso:
        table("sources never seen (leave-one-source-out)", theirs)
    print()
    print("| measured on | AUROC, all judged | AUROC, 8–20 words | TPR at 1% FPR, 100–500 characters |")
    print("|---|---:|---:|---:|")
    ranking("other half of every source's items", ours)
    if loso:
        ranking("sources never seen (leave-one-source-out)", theirs)


if __name__ == "__main__":
    main()
