#!/usr/bin/env python3
"""Builds the public text CSV_INJECTION is measured on (bench/injection.sh).

    python3 bench/injection_corpus.py MIRRORS OUT

MIRRORS holds bare git clones named OWNER+NAME/repo (as `git clone --bare
https://github.com/OWNER/NAME MIRRORS/OWNER+NAME/repo`); each file is read at
the pinned commit with `git show`, so the corpus is the same wherever it is
rebuilt. Writes OUT/<source>.csv with the columns crmguard scans:
Name,is_synthetic,data_source,Notes, one text per row, nothing changed in it.
Standard library only.
"""

import csv
import io
import os
import re
import subprocess
import sys

SOURCES = {
    # Customer Support on Twitter (Kaggle TWCS), the 93-tweet sample a user
    # published: tweets to and from brand support accounts, October 2017.
    "twcs_sample_tweets": (
        "naman-tiwari/Customer-Support-on-Twitter",
        "3ea10276ec5c94d7eca2f3bde2c0f41d149048f5",
    ),
    # Real hotel reviews in 10 languages (MIT), their "liked" and "disliked"
    # fields: many are bullet lists starting with - or +.
    "michigan_hotel_reviews": (
        "MichiganNLP/multilingual_reviews_deception",
        "e66f8d998338c198ba04b3805b1f7bbd31766b21",
    ),
    # The CSV injection page of PayloadsAllTheThings: its example payloads.
    "payloadsallthethings_csv_injection": (
        "swisskyrepo/PayloadsAllTheThings",
        "f9fa51417886ac11476cb62db2dff21773dc570b",
    ),
}


def show(mirrors, repo, commit, path):
    git_dir = os.path.join(mirrors, repo.replace("/", "+"), "repo")
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{commit}:{path}"],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")


def tweets(text):
    return [r["text"] for r in csv.DictReader(io.StringIO(text)) if r["text"].strip()]


def reviews(mirrors, repo, commit):
    out = []
    for lang in [
        "Chinese", "English", "French", "German", "Italian",
        "Korean", "Romanian", "Russian", "Spanish", "Turkish",
    ]:
        text = show(mirrors, repo, commit, f"data/real_reviews/real_{lang}.csv")
        for r in csv.DictReader(io.StringIO(text)):
            for field in ("Upside_Review", "Downside_Review"):
                if (r.get(field) or "").strip():
                    out.append(r[field])
    return out


def payloads(text):
    # Lines of the page's ```text blocks, but not the bare list of prefix
    # characters the page opens with.
    out = []
    for block in re.findall(r"```text\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.strip()
            if len(line) > 1:
                out.append(line)
    return out


def write(out_dir, name, texts):
    path = os.path.join(out_dir, f"{name}.csv")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n", quoting=csv.QUOTE_ALL)
        w.writerow(["Name", "is_synthetic", "data_source", "Notes"])
        for i, t in enumerate(texts):
            w.writerow([f"{name} {i + 1}", "no", "web", t])
    print(f"{path}: {len(texts)} texts")


def main():
    mirrors, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    repo, commit = SOURCES["twcs_sample_tweets"]
    write(out_dir, "twcs_sample_tweets", tweets(show(mirrors, repo, commit, "sample.csv")))
    repo, commit = SOURCES["michigan_hotel_reviews"]
    write(out_dir, "michigan_hotel_reviews", reviews(mirrors, repo, commit))
    repo, commit = SOURCES["payloadsallthethings_csv_injection"]
    page = show(mirrors, repo, commit, "CSV Injection/README.md")
    write(out_dir, "payloadsallthethings_csv_injection", payloads(page))


if __name__ == "__main__":
    main()
