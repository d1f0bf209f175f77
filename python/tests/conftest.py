"""Shared fixtures: the repository's samples and generated leads, as the
same data for the CLI (a CSV file) and for Arrow (a record batch)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pyarrow as pa
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-06-01T12:00:00Z"


def read_csv_bytes(raw: bytes) -> Tuple[List[str], List[List[bytes]], int]:
    """Header, the rows with the header's field count (as bytes, so invalid
    UTF-8 stays invalid), and how many rows had another count (a CSV file
    can hold them, a table cannot)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    rows = list(csv.reader(io.StringIO(raw.decode("latin-1"), newline="")))
    header = rows[0]
    body = [[c.encode("latin-1") for c in r] for r in rows[1:] if len(r) == len(header)]
    return header, body, len(rows) - 1 - len(body)


def write_csv(path: Path, header: List[str], body: List[List[bytes]]) -> None:
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    for r in body:
        w.writerow([c.decode("latin-1") for c in r])
    path.write_bytes(out.getvalue().encode("latin-1"))


def to_batch(header: List[str], body: List[List[bytes]]) -> pa.RecordBatch:
    """Strings where every value is UTF-8, binary otherwise."""
    cols: Dict[str, pa.Array] = {}
    for i, name in enumerate(header):
        values = [r[i] for r in body]
        try:
            cols[name] = pa.array([v.decode("utf-8") for v in values], pa.string())
        except UnicodeDecodeError:
            cols[name] = pa.array(values, pa.binary())
    return pa.RecordBatch.from_pydict(cols)


def quarantined_by_cli(path: Path) -> Dict[int, Tuple[str, str, str]]:
    """crmguard_row -> (reasons, score, signals) from a CLI quarantine CSV."""
    raw = path.read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode("latin-1"), newline="")))
    h = rows[0]
    at = {n: h.index(n) for n in ("crmguard_row", "crmguard_reasons", "crmguard_ai_score", "crmguard_ai_signals")}
    return {
        int(r[at["crmguard_row"]]): (
            r[at["crmguard_reasons"]],
            r[at["crmguard_ai_score"]],
            r[at["crmguard_ai_signals"]],
        )
        for r in rows[1:]
    }


def quarantined_in(batch: pa.RecordBatch) -> Dict[int, Tuple[str, str, str]]:
    """The same, from crmguard's columns on a batch or table."""
    d = batch.to_pydict()
    out = {}
    for i, v in enumerate(d["crmguard_verdict"]):
        if v == "quarantine":
            score = d["crmguard_ai_score"][i]
            out[int(d["crmguard_row"][i])] = (
                d["crmguard_reasons"][i],
                "" if score is None else _score_text(score),
                d["crmguard_ai_signals"][i],
            )
    return out


def _score_text(score: float) -> str:
    # The CLI writes three decimals without trailing zeros.
    text = f"{score:.3f}".rstrip("0").rstrip(".")
    return text if text else "0"


@pytest.fixture(scope="session")
def leads_100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/make_leads.rs: 100,000 generated leads."""
    rows = os.environ.get("CRMGUARD_LEADS_ROWS", "100000")
    path = tmp_path_factory.mktemp("leads") / "leads.csv"
    out = subprocess.run(
        [os.environ.get("CARGO", "cargo"), "run", "-q", "--example", "make_leads", "--", rows],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    path.write_bytes(out.stdout)
    return path
