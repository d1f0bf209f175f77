#!/usr/bin/env python3
"""Does more training data move the detector on text it never saw, and how
fast? The shipped recipe trained on random subsets of k training sources and
measured on a fixed group of sources that no subset holds.

    python3 bench/learning_curve.py DATA_DIR WORK_DIR

The test group is the CRM-like text nearest to what users import: the
persona-prompted reviews of 2024–25 models, ChatGPT's Amazon reviews and
DetectRL's Yelp reviews (each beside the human reviews they came from), human
Amazon electronics reviews, Enron e-mail and airline support tweets. The other
sources (MixSet and APT-Eval as one, since they share items) are the pool;
for each k, DRAWS random draws of k of them (seeded, each with human and
machine texts) train a model with `crmguard train` (test files and eval/
excluded by text, as for the shipped model), and `crmguard eval
--judged-only --scores` scores the test group. `balanced`'s rule (the lowest
threshold where the test sources' mean human FPR is at most 0.5%) is applied
to the test group's own human scores, so every row is a little optimistic,
alike: the rows compare with each other, not with docs/detector.md's nested
figures. About 15 minutes on two cores.

CRMGUARD_BIN names the binary (default target/release/crmguard).
"""

import csv
import glob
import os
import random
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from in_distribution import RECIPE, scores  # noqa: E402
from loso_tables import auroc, mean_fpr_threshold, tpr_at_fpr  # noqa: E402

csv.field_size_limit(1 << 30)
TEST = ["persona_reviews_", "chatgpt35_amazon_reviews", "detectrl_yelp",
        "amazon_reviews23_electronics_2017_human", "aeslc_enron_emails_human",
        "twcs_airlines_2017_human"]
# Sources that share items train together or not at all.
UNITS = [("mixset", "apt_eval")]
KS = [6, 9, 12, 15]
DRAWS = 4


def classes(path):
    with open(path, newline="") as fh:
        return {r["label"] for r in csv.DictReader(fh)}


def pool(data):
    files = sorted(glob.glob(os.path.join(data, "train", "*.csv")))
    test = [f for f in files if os.path.basename(f).startswith(tuple(TEST))]
    rest = [f for f in files if f not in test]
    units, seen = [], set()
    for f in rest:
        if f in seen:
            continue
        name = os.path.basename(f)
        group = next((g for g in UNITS if name.startswith(g)), None)
        members = [x for x in rest if group and os.path.basename(x).startswith(group)] or [f]
        seen.update(members)
        units.append(members)
    return test, units


def draw(units, k, seed):
    """k units with both classes among them, by a seeded shuffle."""
    rng = random.Random(seed)
    while True:
        chosen = rng.sample(units, k)
        files = [f for u in chosen for f in u]
        if set().union(*(classes(f) for f in files)) >= {"human", "machine"}:
            return files


def measure(rows):
    pairs = [(m, x) for _, m, x, _, _ in rows]
    t = mean_fpr_threshold([(s, x) for s, m, x, *_ in rows if not m], 0.005)
    machine = {}
    for s, m, x, *_ in rows:
        if m:
            machine.setdefault(s, []).append(x > t)
    caught = [x for v in machine.values() for x in v]
    short = [(m, x) for _, m, x, _, c in rows if 100 <= c < 500]
    return {
        "auroc": auroc(pairs),
        "tpr1": tpr_at_fpr(pairs, 0.01),
        "short": tpr_at_fpr(short, 0.01),
        "pooled": sum(caught) / len(caught),
        "mean": statistics.mean(sum(v) / len(v) for v in machine.values()),
    }


def run(binary, data, work, name, files, test):
    d = os.path.join(work, name)
    os.makedirs(os.path.join(d, "train"), exist_ok=True)
    os.makedirs(os.path.join(d, "scores"), exist_ok=True)
    for f in files:
        link = os.path.join(d, "train", os.path.basename(f))
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(f), link)
    model = os.path.join(d, "model.bin")
    if not os.path.exists(model):
        subprocess.run([binary, "train", "--data", os.path.join(d, "train"), "--exclude",
                        os.path.join(data, "eval"), *test, "--out", model, *RECIPE],
                       check=True, capture_output=True)
    for f in test:
        out = os.path.join(d, "scores", os.path.basename(f))
        if not os.path.exists(out):
            subprocess.run([binary, "eval", f, "--model", model, "--judged-only",
                            "--scores", out], check=True, capture_output=True)
    return measure(scores(os.path.join(d, "scores", "*.csv"), os.path.join(data, "train")))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data, work = sys.argv[1], sys.argv[2]
    binary = os.path.abspath(os.environ.get("CRMGUARD_BIN", "target/release/crmguard"))
    test, units = pool(data)
    plan = [(k, d) for k in KS for d in range(DRAWS)] + [(len(units), 0)]
    print(f"test group: {len(test)} files; pool: {len(units)} sources", file=sys.stderr)
    print("| training sources | draws | AUROC | TPR at 1% FPR | 100–500 characters, TPR at 1% FPR "
          "| caught at 0.5% mean human FPR, pooled | mean over machine sources |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    by_k = {}
    for k, d in plan:
        files = [f for u in units for f in u] if k == len(units) else draw(units, k, f"{k}-{d}")
        m = run(binary, data, work, f"k{k}d{d}", files, test)
        print(f"k={k} draw {d}: " + ", ".join(f"{n} {v:.3f}" for n, v in m.items()),
              file=sys.stderr, flush=True)
        by_k.setdefault(k, []).append(m)
    for k, ms in by_k.items():
        cell = lambda n, pct: (
            f"{100 * statistics.mean(m[n] for m in ms):.1f}%" if pct
            else f"{statistics.mean(m[n] for m in ms):.3f}")
        spread = lambda n: (f" ({100 * min(m[n] for m in ms):.1f}–{100 * max(m[n] for m in ms):.1f})"
                            if len(ms) > 1 else "")
        print(f"| {k} | {len(ms)} | {cell('auroc', False)} | {cell('tpr1', True)}{spread('tpr1')} | "
              f"{cell('short', True)} | {cell('pooled', True)}{spread('pooled')} | "
              f"{cell('mean', True)} |")


if __name__ == "__main__":
    main()
