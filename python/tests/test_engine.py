"""check_batch, score_texts and scan against the CLI's own verdicts."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pyarrow as pa
import pytest

import crmguard
from conftest import (
    NOW,
    ROOT,
    quarantined_by_cli,
    quarantined_in,
    read_csv_bytes,
    to_batch,
    write_csv,
)


def same_as_cli(tmp_path: Path, header, body) -> pa.RecordBatch:
    """Checks the rows as a batch and as a CSV file through the CLI's scan;
    asserts the same rows are quarantined with the same reasons, scores and
    signals, and the same counts. Returns the checked batch."""
    csv_path = tmp_path / "data.csv"
    write_csv(csv_path, header, body)
    policy = crmguard.Policy.load()
    checked = crmguard.check_batch(to_batch(header, body), policy, now=NOW)
    assert checked.num_rows == len(body)
    assert checked.column("crmguard_row").to_pylist() == list(range(1, len(body) + 1))
    report = crmguard.scan(csv_path, tmp_path / "out", now=NOW)
    assert report["rows_total"] == len(body)
    cli = quarantined_by_cli(tmp_path / "out" / "data.quarantine.csv")
    mine = quarantined_in(checked)
    assert sorted(mine) == sorted(cli)
    for row in cli:
        assert mine[row] == cli[row], row
    verdicts = checked.column("crmguard_verdict").to_pylist()
    assert verdicts.count("quarantine") == report["rows_quarantined"]
    assert verdicts.count("review") == report["ai_text"]["rows_review"]
    listed = {r["row"]: r["score"] for r in report["ai_text"]["review"]}
    scores = checked.column("crmguard_ai_score").to_pylist()
    for row, score in listed.items():
        assert verdicts[row - 1] == "review"
        assert scores[row - 1] == pytest.approx(score, abs=5e-4)
    return checked


def test_samples_match_the_cli(tmp_path: Path) -> None:
    header, body, dropped = read_csv_bytes((ROOT / "fixtures/samples/leads.csv").read_bytes())
    assert dropped == 1, "the sample's one malformed row cannot be a table row"
    checked = same_as_cli(tmp_path, header, body)
    reasons = set(";".join(checked.column("crmguard_reasons").to_pylist()).split(";"))
    # The sample exercises the rules, binary columns included.
    assert {"ENCODING_INVALID", "UNDISCLOSED_AI_TEXT", "CSV_INJECTION"} <= reasons


def test_generated_leads_match_the_cli(tmp_path: Path, leads_100k: Path) -> None:
    header, body, dropped = read_csv_bytes(leads_100k.read_bytes())
    assert dropped == 0
    same_as_cli(tmp_path, header, body)


def test_row_offset_and_fixed_text_columns() -> None:
    batch = pa.RecordBatch.from_pydict({"Description": ["short"], "Email": ["a@b.example"]})
    policy = crmguard.Policy.load()
    out = crmguard.check_batch(batch, policy, row_offset=41, text_columns=["Email"], now=NOW)
    assert out.column("crmguard_row").to_pylist() == [42]
    assert out.schema.names[:2] == ["Description", "Email"]
    assert out.column("Description").to_pylist() == ["short"], "input columns are kept"


def test_score_texts() -> None:
    text = (
        "We are thrilled to announce that our comprehensive solution seamlessly empowers "
        "teams to unlock unprecedented value and drive meaningful outcomes across the organization."
    )
    scores = crmguard.score_texts(["too short", text])
    assert scores[0] is None
    assert scores[1] is not None and 0.0 <= scores[1] <= 1.0
    assert scores[1] == round(scores[1], 3)


def test_errors_are_the_clis_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[detector]\nthreshold = 'high'\n")
    with pytest.raises(crmguard.CrmguardError) as e:
        crmguard.Policy.load(bad)
    assert str(e.value).startswith(f"{bad}:2:"), str(e.value)
    assert "\n" not in str(e.value)
    with pytest.raises(crmguard.CrmguardError, match="cannot open"):
        crmguard.scan(tmp_path / "missing.csv", tmp_path / "out")
    dup = pa.RecordBatch.from_pydict({"Email": ["x"], "email": ["y"]})
    with pytest.raises(crmguard.CrmguardError, match="^HEADER_DUPLICATE: "):
        crmguard.check_batch(dup, crmguard.Policy.load())


def test_policy_pickles_as_its_text(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[detector]\nenabled = false\n")
    policy = crmguard.Policy.load(path)
    again = pickle.loads(pickle.dumps(policy))
    assert again.text == policy.text
    assert again.path == path
    assert not again.detector_enabled
    with pytest.raises(crmguard.CrmguardError, match="turns the detector off"):
        crmguard.score_texts(["x"], again)


def test_the_package_is_typed() -> None:
    pkg = Path(crmguard.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_crmguard.pyi").exists()
    assert json.loads(json.dumps(crmguard.__version__))
