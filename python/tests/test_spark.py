"""crmguard.spark.audit on a real local[2] Spark session: the same verdicts
as check_batch and the CLI, a report of the CLI's schema, an audit log the
CLI's verifier accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import crmguard
from conftest import NOW, ROOT, quarantined_by_cli, read_csv_bytes, to_batch, write_csv

pyspark = pytest.importorskip("pyspark") if not os.environ.get("CRMGUARD_CI") else __import__("pyspark")
import crmguard.spark  # noqa: E402


@pytest.fixture(scope="module")
def spark() -> Iterator["pyspark.sql.SparkSession"]:
    import sys

    from pyspark.sql import SparkSession

    # Executors run this interpreter, which has crmguard and pyarrow.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("crmguard-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        # Several partitions from one small file, in file order.
        .config("spark.sql.files.maxPartitionBytes", "256k")
        .config("spark.sql.files.openCostInBytes", "0")
        .getOrCreate()
    )
    yield session
    session.stop()


def audit_and_compare(spark, tmp_path: Path, header, body, min_parts: int):
    """Writes the rows as Parquet (small row groups, read back in several
    partitions) and as CSV; audits the DataFrame; compares with the CLI."""
    batch = to_batch(header, body)
    parquet = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_batches([batch]), parquet, row_group_size=2000)
    df = spark.read.parquet(str(parquet))
    assert df.rdd.getNumPartitions() >= min_parts
    log = tmp_path / "audit.jsonl"
    result = crmguard.spark.audit(df, now=NOW, audit_log=log, source=str(parquet))

    csv_path = tmp_path / "data.csv"
    write_csv(csv_path, header, body)
    cli_report = crmguard.scan(csv_path, tmp_path / "out", now=NOW)
    cli = quarantined_by_cli(tmp_path / "out" / "data.quarantine.csv")

    q = result.quarantine.toArrow() if hasattr(result.quarantine, "toArrow") else None
    rows = q.to_pydict()
    mine = {
        int(r): (reasons, "" if s is None else f"{s:.3f}".rstrip("0").rstrip("."), sig)
        for r, reasons, s, sig in zip(
            rows["crmguard_row"], rows["crmguard_reasons"], rows["crmguard_ai_score"], rows["crmguard_ai_signals"]
        )
    }
    assert sorted(mine) == sorted(cli)
    for row in cli:
        assert mine[row] == cli[row], row
    # Input columns come back value for value.
    first = min(cli)
    got = {h: rows[h][sorted(mine).index(first)] for h in header}
    want = {h: body[first - 1][i] for i, h in enumerate(header)}
    for h in header:
        g = got[h]
        assert (g if isinstance(g, bytes) else g.encode()) == want[h], h

    report = result.report
    for key in ("rows_total", "rows_clean", "rows_quarantined", "reasons"):
        assert report[key] == cli_report[key], key
    for key in ("rows_judged", "rows_flagged", "rows_review", "score_histogram", "text_columns"):
        assert report["ai_text"][key] == cli_report["ai_text"][key], key
    assert report["input"]["format"] == "spark"
    assert result.clean.count() == cli_report["rows_clean"]
    # One scan record, one per quarantined row, the commit: as the CLI's.
    mine_log = log_rows(log)
    assert [r["row"] for r in mine_log] == sorted(cli)
    cli_log = log_rows(tmp_path / "out" / "crmguard-audit.jsonl")
    key = lambda r: (r["row"], r["reasons"], r["row_blake3"])  # noqa: E731
    assert [key(r) for r in mine_log] == [key(r) for r in cli_log]
    assert report["audit"]["seq"] == 2 + len(cli)
    validate_report(tmp_path, report)
    verify_log(log)
    result.unpersist()
    return result


def log_rows(path: Path):
    import json

    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["type"] for r in records][0] == "scan"
    assert records[-1]["type"] == "commit"
    return [r for r in records if r["type"] == "row"]


def validate_report(tmp_path: Path, report) -> None:
    jsonschema = pytest.importorskip("jsonschema") if not os.environ.get("CRMGUARD_CI") else __import__("jsonschema")
    import json

    schema = json.loads((ROOT / "docs/report.schema.json").read_text())
    jsonschema.validate(report, schema)


def verify_log(log: Path) -> None:
    """The CLI's own verifier accepts the driver's log."""
    exe = shutil.which("crmguard") or str(ROOT / "target/debug/crmguard")
    if not Path(exe).exists():
        if os.environ.get("CRMGUARD_CI"):
            raise AssertionError("no crmguard binary to verify the audit log with")
        print("skipped: no crmguard binary to verify the audit log")
        return
    out = subprocess.run([exe, "audit", "verify", str(log)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_samples_on_spark(spark, tmp_path: Path) -> None:
    header, body, _ = read_csv_bytes((ROOT / "fixtures/samples/leads.csv").read_bytes())
    audit_and_compare(spark, tmp_path, header, body, min_parts=1)


def test_generated_leads_on_spark(spark, tmp_path: Path, leads_100k: Path) -> None:
    header, body, _ = read_csv_bytes(leads_100k.read_bytes())
    audit_and_compare(spark, tmp_path, header, body, min_parts=2)


def test_a_checked_frame_is_refused(spark) -> None:
    df = spark.createDataFrame([("a", "b")], ["Email", "crmguard_verdict"])
    with pytest.raises(crmguard.CrmguardError, match="crmguard_verdict"):
        crmguard.spark.audit(df)
