#!/usr/bin/env python3
"""What `crmguard calibrate` buys a team with genuine texts of its own, measured
with crmguard's own commands on sources the model never saw.

    python3 bench/own_thresholds.py DATA_DIR OUT_DIR [--fpr 0.5%] [--review-fpr 2%]

OUT_DIR is a `bench/loso.sh` run's: OUT_DIR/folds/NAME.bin is the model that
never saw fold NAME. For each training source holding both human and machine
texts, its rows are split in two halves by group id (a hotel's or a prompt's
rows stay in one half). `crmguard calibrate` sets thresholds from one half's
human texts with the fold's model, and `crmguard eval --judged-only` measures
them on the other half: the human texts held back and the machine texts
caught. Then the halves swap, and the table gives the mean of the two. A half
stands in for the team's genuine rows; the other half for the rows it scans
next. Sources of one class are left out: with nothing to calibrate on, or
nothing to catch, they measure nothing here.

CRMGUARD_BIN names the binary (default target/release/crmguard).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loso_tables import half  # noqa: E402

csv.field_size_limit(1 << 30)


def run(cmd, cwd):
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def folds(out):
    """fold name -> its training files, from OUT_DIR/folds.txt."""
    got = {}
    with open(os.path.join(out, "folds.txt")) as f:
        for line in f:
            name, files = line.split()
            got[name] = files.split(",")
    return got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--fpr", default="0.5%")
    ap.add_argument("--review-fpr", default="2%")
    a = ap.parse_args()
    binary = os.path.abspath(os.environ.get("CRMGUARD_BIN", "target/release/crmguard"))
    print(f"| source | human | machine | threshold (two halves) | human held back | "
          f"machine caught | + review tier: human | + review tier: machine |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for fold, files in sorted(folds(a.out).items()):
        model = os.path.abspath(os.path.join(a.out, "folds", fold + ".bin"))
        for name in files:
            rows = list(csv.DictReader(open(os.path.join(a.data, "train", name), newline="")))
            labels = {r["label"] for r in rows}
            if labels != {"human", "machine"}:
                continue
            halves = ([], [])
            for i, r in enumerate(rows):
                halves[half(r, i)].append(r)
            res = []
            with tempfile.TemporaryDirectory() as tmp:
                for h in (0, 1):
                    for k, part in enumerate(halves):
                        with open(os.path.join(tmp, f"{k}.csv"), "w", newline="") as f:
                            w = csv.writer(f)
                            w.writerow(["text", "label"])
                            w.writerows((r["text"], r["label"]) for r in part)
                    cal = run([binary, "calibrate", f"{h}.csv", "--model", model,
                               "--label-column", "label", "--fpr", a.fpr,
                               "--review-fpr", a.review_fpr, "--json"], tmp)
                    q = cal["quarantine"]["threshold"]
                    rv = (cal["review"] or {}).get("threshold")
                    cmd = [binary, "eval", f"{1 - h}.csv", "--model", model, "--judged-only",
                           "--threshold", str(q), "--json"]
                    if rv is not None:
                        cmd += ["--review-threshold", str(rv)]
                    ev = run(cmd, tmp)
                    at_r = ev.get("at_review_threshold") or {}
                    res.append((q, ev["fpr"], ev["recall"], at_r.get("fpr"), at_r.get("recall"),
                                ev["negatives"], ev["positives"]))
            mean = lambda i: sum(r[i] for r in res if r[i] is not None) / len(res)
            stem = name.removesuffix(".csv")
            print(f"| {stem} | {res[0][5] + res[1][5]:,} | {res[0][6] + res[1][6]:,} | "
                  f"{res[0][0]:.4f}, {res[1][0]:.4f} | {100 * mean(1):.1f}% | "
                  f"{100 * mean(2):.1f}% | {100 * mean(3):.1f}% | {100 * mean(4):.1f}% |",
                  flush=True)


if __name__ == "__main__":
    main()
