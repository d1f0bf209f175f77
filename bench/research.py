#!/usr/bin/env python3
"""Fast leave-one-source-out comparisons of detector learners, in seconds.

  cargo run --release --example detector_dump -- DUMP DATA/train/*.csv
  python3 bench/research.py DUMP DATA/train/*.csv [--loso-scores OUT_DIR]
  LOSO_FOLDS=OUT_DIR/folds.txt python3 bench/research.py ... --loso-scores OUT_DIR

Needs numpy, scikit-learn and lightgbm (pip, in a virtual environment). Reads
the dense features examples/detector_dump.rs wrote (style, lexicon rates,
length, rule evidence) and the texts themselves (same files, same order), and
compares, with the same held-out families as bench/loso.sh (sources sharing
items or one prompt design together):

  - logistic regression on the dense features (what the shipped model's dense
    part can do alone);
  - boosted trees on the same features (is a non-linear learner worth porting?);
  - both again with a few casual-text features computed here from the text
    (sentence openers such as "Overall,", hedges, balanced pros/cons, tidy
    apostrophes and capitals in otherwise casual text);
  - with --loso-scores: the Rust model's held-out score (bench/loso.sh's
    OUT_DIR) as one more feature, i.e. a second stage over the n-gram model,
    and that score blended half and half (log-odds) with the trees' on the
    dense features;
  - with --trees-oof FILE: the same blend with the trees `crmguard train
    --trees` grows (src/detector/trees.rs), held out on the same folds by
    examples/detector_trees_oof.rs, so that the learner that would ship is
    measured and not only LightGBM. With LOSO_FOLDS, the folds here are bench/loso.sh's, so
    every text's Rust score comes from a model that never saw its source.
    The scores go through the shipped model's length bands, fitted as
    bench/loso_tables.py fits them (give it the same LOSO_MERGE).

It prints pooled AUROC, AUROC on texts of 8-20 words, the share of machine
texts of 100-500 characters caught at 1% of human texts, and the share of all
machine texts caught at the threshold whose human false-positive rate,
averaged over the human sources, is 0.5% and 2% (the presets' rule), all on
held-out families. Sample weights: each (source, class) a mass
growing with the square root of its rows, the two classes equal (as `crmguard
train` weighs them, without its length matching).
"""
import csv
import functools
import glob
import os
import re
import sys
from collections import defaultdict

import numpy as np

csv.field_size_limit(1 << 30)
FAMILIES = ["persona_reviews_", ("mixset", "apt_eval")]


@functools.cache
def loso_folds():
    """bench/loso.sh's folds (OUT_DIR/folds.txt, given as LOSO_FOLDS): each
    source's fold name, read once; None without LOSO_FOLDS."""
    path = os.environ.get("LOSO_FOLDS")
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        return {m[:-4]: name for name, files in (line.split() for line in f)
                for m in files.split(",")}


def family(src):
    # With bench/loso.sh's folds, the folds here hold out what the Rust fold
    # models held out, so --loso-scores are out of fold for every text.
    folds = loso_folds()
    if folds is not None:
        return folds.get(src, src)
    for f in FAMILIES:
        names = (f,) if isinstance(f, str) else f
        if any(src.startswith(n) for n in names):
            return names[0]
    return src


def load(prefix, files):
    with open(prefix + ".dense.tsv", encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in f]
    texts = []
    for p in files:
        with open(p, encoding="utf-8", newline="") as f:
            texts += [r["text"] for r in csv.DictReader(f)]
    assert len(texts) == len(rows), (len(texts), len(rows))
    src = np.array([r[0] for r in rows])
    y = np.array([int(r[2]) for r in rows])
    num = np.array([[float(x) for x in r[3:]] for r in rows], dtype=np.float64)
    return header[3:], src, y, num, texts


OPENERS = re.compile(r"(^|[.!?]\s+)(overall|additionally|however|honestly|in summary|"
                     r"in conclusion|furthermore|moreover|ultimately|that said|i recently|"
                     r"as a|whether you|if you're looking)\b", re.I)
HEDGES = re.compile(r"\b(a bit|somewhat|slightly|might|may|could|i'd say|a little|"
                    r"a tad|on the other hand|while|although|though)\b", re.I)
POSNEG = re.compile(r"\b(pros?|cons?|downside|upside|drawback|the only|my only|one thing)\b", re.I)
CASUAL = re.compile(r"\b(lol|omg|tbh|imo|gonna|wanna|kinda|sorta|u|ur|pls|thx|idk)\b|!!|\?\?", re.I)


def casual_features(t):
    words = max(1, len(t.split()))
    sents = [s for s in re.split(r"(?<=[.!?])\s+", t.strip()) if s]
    caps = sum(1 for s in sents if s[:1].isupper()) / max(1, len(sents))
    curly = t.count("\u2019") + t.count("\u201c") + t.count("\u201d")
    straight = t.count("'") + t.count('"')
    dont = len(re.findall(r"\b(dont|cant|wont|im|ive|didnt|doesnt|isnt)\b", t, re.I))
    emoji = sum(1 for c in t if ord(c) >= 0x1F300)
    end_emoji = int(bool(t.rstrip()) and ord(t.rstrip()[-1]) >= 0x1F300)
    return [
        len(OPENERS.findall(t)) / len(sents) if sents else 0.0,
        len(HEDGES.findall(t)) / words * 100,
        len(POSNEG.findall(t)) / words * 100,
        len(CASUAL.findall(t)) / words * 100,
        caps,
        curly / max(1, curly + straight),
        dont / words * 100,
        emoji / words * 100,
        end_emoji,
        int(t.rstrip().endswith((".", "!"))),
        len(re.findall(r"\n\s*[-*\u2022\d]", t)) / max(1, t.count("\n") + 1),
    ]


def weights(src, y):
    w = np.zeros(len(y))
    for s in np.unique(src):
        for c in (0, 1):
            m = (src == s) & (y == c)
            n = m.sum()
            if n:
                w[m] = np.sqrt(n) / n
    for c in (0, 1):
        w[y == c] /= w[y == c].sum()
    return w


def auroc(y, s):
    from sklearn.metrics import roc_auc_score
    return roc_auc_score(y, s) if 0 < y.sum() < len(y) else float("nan")


def tpr_at(y, s, fpr=0.01):
    neg = np.sort(s[y == 0])[::-1]
    if not len(neg) or not y.sum():
        return float("nan")
    t = neg[int(fpr * len(neg))]
    return float((s[y == 1] > t).mean())


def loso(make, X, y, src, fam):
    oof = np.zeros(len(y))
    for f in np.unique(fam):
        te = fam == f
        tr = ~te
        m = make()
        w = weights(src[tr], y[tr]) * tr.sum()
        if hasattr(m, "steps"):
            m.fit(X[tr], y[tr], **{m.steps[-1][0] + "__sample_weight": w})
        else:
            m.fit(X[tr], y[tr], sample_weight=w)
        oof[te] = m.predict_proba(X[te])[:, 1]
    return oof


def recall_at_mean_fpr(y, s, src, target):
    """Machine texts caught at the lowest threshold whose false-positive rate,
    averaged over the human sources, is at most `target` (the presets' rule,
    here set and measured on the same held-out scores, so optimistic alike
    for every learner compared)."""
    t = threshold_at_mean_fpr(y, s, src, target)
    return float((s[y == 1] > t).mean())


def threshold_at_mean_fpr(y, s, src, target):
    humans = [s[(src == h) & (y == 0)] for h in np.unique(src[y == 0])]
    cands = np.unique(np.concatenate(humans))
    lo, hi = 0, len(cands) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        fpr = np.mean([(h > cands[mid]).mean() for h in humans])
        if fpr <= target:
            hi = mid
        else:
            lo = mid + 1
    return cands[lo]


def log_odds(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def nested_fpr(y, s, src, target):
    """Each human source's false-positive rate at the threshold the other
    human sources set by the same rule: mean and worst, in percent."""
    hs = list(np.unique(src[y == 0]))
    fprs = []
    for h in hs:
        yo = np.where(src == h, 1, y)  # h's texts out of the human side
        t = threshold_at_mean_fpr(yo, s, src, target)
        fprs.append((s[(src == h) & (y == 0)] > t).mean())
    return 100 * float(np.mean(fprs)), 100 * float(np.max(fprs))


def at_targets(pairs, y, src, judged, width, gen=None):
    """For each (name, scores), over the `judged` texts: what the human
    sources lose when each is held out of the presets' threshold (mean human
    FPR 0.5% and 2%), and with `gen` (each text's generator family) the share
    of every family that threshold catches."""
    y, src = y[judged], src[judged]
    for name, sc in pairs:
        sc = sc[judged]
        for target in (0.005, 0.02):
            mean, worst = nested_fpr(y, sc, src, target)
            print(f"    {name:{width}s} target {100 * target:.1f}%: human sources held out of "
                  f"the threshold lose {mean:.2f}% on average, {worst:.2f}% at worst")
            if gen is None:
                continue
            t = threshold_at_mean_fpr(y, sc, src, target)
            g_j = gen[judged]
            by = [f"{g} {100 * (sc[(y == 1) & (g_j == g)] > t).mean():.0f}% "
                  f"({((y == 1) & (g_j == g)).sum()})" for g in np.unique(g_j[y == 1])]
            print("      caught by family: " + ", ".join(by))


def report(name, oof, y, words, chars, fam, src=None):
    band = (chars >= 100) & (chars < 500) & (words >= 8)
    short = (words >= 8) & (words <= 20)
    judged = words >= 8
    extra = ""
    if src is not None:
        extra = "  caught at mean FPR 0.5%/2% " + "/".join(
            f"{100 * recall_at_mean_fpr(y[judged], oof[judged], src[judged], t):.1f}%"
            for t in (0.005, 0.02))
    print(f"{name:44s} AUROC {auroc(y[judged], oof[judged]):.3f}  8-20 words "
          f"{auroc(y[short], oof[short]):.3f}  100-500 chars TPR@1% "
          f"{100 * tpr_at(y[band], oof[band]):.1f}%{extra}")


def main():
    args = sys.argv[1:]
    loso_dir = None
    if "--loso-scores" in args:
        i = args.index("--loso-scores")
        loso_dir = args[i + 1]
        del args[i:i + 2]
    trees_oof = None
    if "--trees-oof" in args:
        i = args.index("--trees-oof")
        trees_oof = args[i + 1]
        del args[i:i + 2]
    prefix, files = args[0], args[1:]
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.impute import SimpleImputer
    import lightgbm as lgb

    names, src, y, num, texts = load(prefix, files)
    fam = np.array([family(s) for s in src])
    words, chars = num[:, 0], num[:, 1]
    dense = np.column_stack([np.log1p(words), np.log1p(chars), num[:, 2:]])
    casual = np.array([casual_features(t) for t in texts])
    sets = {"dense": dense, "dense+casual": np.column_stack([dense, casual])}
    if loso_dir:
        # The held-out scores as the shipped model would give them: the fold
        # models' log-odds through the length bands that `train
        # --thresholds-from` fits on all of them (bench/loso_tables.py).
        import loso_tables
        data = os.path.dirname(os.path.dirname(os.path.abspath(files[0])))
        recal = loso_tables.fit_recalibration(loso_tables.load(data, loso_dir)[0])
        score = np.full(len(y), np.nan)
        offset = 0
        for p in files:
            stem = os.path.basename(p)[:-4]
            with open(p, encoding="utf-8", newline="") as f:
                n = sum(1 for _ in csv.DictReader(f))
            sp = os.path.join(loso_dir, "folds", stem + ".scores.csv")
            if os.path.exists(sp):
                with open(sp, encoding="utf-8", newline="") as f:
                    for r in csv.DictReader(f):
                        if r["judged"] == "true":
                            parts = dict(dwords=int(r["words"]), log_odds=float(r["log_odds"]),
                                         evidence=float(r["evidence"]), decisive=float(r["decisive"]))
                            score[offset + int(r["row"]) - 1] = loso_tables.recalibrated(parts, recal)
                        elif r["score"]:
                            score[offset + int(r["row"]) - 1] = 0.0
            offset += n
        print(f"held-out Rust scores found for {np.isfinite(score).sum()} of {len(score)} texts")
        rust = np.nan_to_num(score, nan=0.0)
        report("Rust model alone (held out)", rust, y, words, chars, fam, src)
        sets["dense+casual+rust"] = np.column_stack([dense, casual, log_odds(score)])
    if trees_oof:
        with open(trees_oof, encoding="utf-8") as f:
            lo = np.array([float(v) for v in f.read().split()])
        assert len(lo) == len(y), f"{trees_oof}: {len(lo)} scores for {len(y)} texts"
        report("crmguard trees (held out)", 1 / (1 + np.exp(-lo)), y, words, chars, fam, src)
        if loso_dir:
            gen = []
            for p in files:
                with open(p, encoding="utf-8", newline="") as f:
                    gen += [loso_tables.family(r["generator"]) for r in csv.DictReader(f)]
            gen = np.array(gen)
            blend = 0.5 * lo + 0.5 * log_odds(rust)
            report("Rust score + crmguard trees, 50/50 log-odds", blend, y, words, chars, fam, src)
            at_targets((("Rust model alone", rust), ("crmguard trees blend", blend)),
                       y, src, words >= 8, 20, gen)

    def logreg():
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                             LogisticRegression(C=1.0, max_iter=2000))

    def trees():
        return lgb.LGBMClassifier(n_estimators=300, max_depth=6, num_leaves=31,
                                  learning_rate=0.05, subsample=0.8, subsample_freq=1,
                                  colsample_bytree=0.8, min_child_samples=40,
                                  verbose=-1, n_jobs=1, random_state=1)

    only = os.environ.get("RESEARCH_SETS")  # e.g. "dense,dense+casual+rust"
    if only:
        sets = {k: v for k, v in sets.items() if k in only.split(",")}
    for set_name, X in sets.items():
        for lname, make in [("logistic", logreg), ("trees", trees)]:
            oof = loso(make, X, y, src, fam)
            report(f"{set_name} / {lname}", oof, y, words, chars, fam, src)
            if os.environ.get("PER_FAMILY"):
                for f in np.unique(fam):
                    m = fam == f
                    print(f"    {f:42s} mean score human {oof[m & (y == 0)].mean() if (m & (y == 0)).any() else float('nan'):.3f}"
                          f" machine {oof[m & (y == 1)].mean() if (m & (y == 1)).any() else float('nan'):.3f}")
            if loso_dir and set_name == "dense" and lname == "trees":
                # A second stage that leaves the Rust model's score alone and
                # adds the trees' view of the same text, half and half in
                # log-odds (a weight fixed beforehand, not fitted here).
                blend = 0.5 * log_odds(oof) + 0.5 * log_odds(rust)
                report("Rust score + dense trees, 50/50 log-odds", blend, y, words, chars, fam, src)
                at_targets((("Rust model alone", rust), ("50/50 blend", blend)),
                           y, src, words >= 8, 18)


if __name__ == "__main__":
    main()
