#!/usr/bin/env python3
"""Do word n-grams with the topic masked out transfer better across sources?

  LOSO_FOLDS=OUT/folds.txt python3 bench/ngram_families.py [--max-words N] DATA/train/*.csv [-- wc m wcm]

Cross-topic authorship work (Stamatatos 2017, "Authorship attribution using
text distortion") keeps the most frequent words and masks every other word to
its shape, so that a learner sees how a text is put together and not what it
is about. The detector's linear part sees hashed word 1-2-grams and char
4-grams, which carry topic as well as style; with only one class in most
sources, topic can stand in for the label. This compares, leave-one-source-
out on bench/loso.sh's folds (LOSO_FOLDS, as in bench/research.py), a
logistic regression over

  wc   word 1-2-grams and char 4-grams, hashed (the linear part's families);
  m    masked word 1-4-grams: English stop words kept, other words replaced by
       <W>, <C> (capitalised), <U> (all capitals) or <D> (digits),
       punctuation kept;
  wcm  all three.

Each family is hashed into 2^18 columns and L2-normalised; sample weights as
in bench/research.py. Only texts of 8 words or more count (what scan judges);
--max-words 20 trains and measures on texts of 8-20 words alone, i.e. asks
whether a model of its own for short text would rank them. Needs numpy, scipy
and scikit-learn. About 25 minutes for the three on two vCPUs, 2 with
--max-words 20.
"""
import csv
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from research import family, loso, report  # noqa: E402

csv.field_size_limit(1 << 30)
TOKEN = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|\d+|[^\sA-Za-z\d]")


def main():
    args = sys.argv[1:]
    max_words = None
    if args[:1] == ["--max-words"]:
        max_words, args = int(args[1]), args[2:]
    configs = ["wc", "m", "wcm"]
    if "--" in args:
        i = args.index("--")
        args, configs = args[:i], args[i + 1:]
    from scipy import sparse
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, HashingVectorizer
    from sklearn.linear_model import LogisticRegression

    keep = set(ENGLISH_STOP_WORDS) | {"i'm", "it's", "don't", "i've", "can't", "doesn't",
                                      "didn't", "isn't", "won't", "you're", "that's"}

    def masked(t):
        toks = []
        for w in TOKEN.findall(t):
            if w.lower() in keep:
                toks.append(w.lower())
            elif w[0].isdigit():
                toks.append("<D>")
            elif w[0].isalpha():
                toks.append("<U>" if w.isupper() and len(w) > 1
                            else "<C>" if w[0].isupper() else "<W>")
            else:
                toks.append(w)
        return [" ".join(toks[i:i + n]) for n in (1, 2, 3, 4) for i in range(len(toks) - n + 1)]

    def words(t):
        ws = TOKEN.findall(t.lower())
        return ws + [a + " " + b for a, b in zip(ws, ws[1:])]

    texts, y, src = [], [], []
    for path in args:
        name = os.path.basename(path)[:-4]
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                n = len(r["text"].split())
                if n >= 8 and (max_words is None or n <= max_words):
                    texts.append(r["text"])
                    y.append(int(r["label"] == "machine"))
                    src.append(name)
    y, src = np.array(y), np.array(src)
    fam = np.array([family(s) for s in src])
    nwords = np.array([len(t.split()) for t in texts])
    nchars = np.array([len(t) for t in texts])

    def hashed(analyzer, **kw):
        return HashingVectorizer(analyzer=analyzer, n_features=1 << 18, alternate_sign=False,
                                 norm="l2", **kw).transform(texts)

    families = {"w": lambda: hashed(words), "c": lambda: hashed("char", ngram_range=(4, 4)),
                "m": lambda: hashed(masked)}
    for cfg in configs:
        X = sparse.hstack([families[k]() for k in cfg]).tocsr()
        oof = loso(lambda: LogisticRegression(max_iter=300, solver="liblinear"), X, y, src, fam)
        report(cfg, oof, y, nwords, nchars, fam, src)


if __name__ == "__main__":
    main()
