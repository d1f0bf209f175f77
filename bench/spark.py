#!/usr/bin/env python3
"""Times the same rows four ways: `crmguard scan` of a CSV file and of the
same data as Parquet, `crmguard.check_batch` over Arrow batches, and
`crmguard.spark.audit` on a local[N] Spark session (writing clean and
quarantine Parquet). One run each, wall-clock seconds; run it on an idle
machine and repeat.

  python3 bench/spark.py ROWS [CORES]

Needs the crmguard package (`pip install ./python`), pyspark and pandas in
the running interpreter, `crmguard` on the PATH (or CRMGUARD_BIN), and cargo
for examples/make_leads.rs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

import crmguard
import crmguard.spark

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-06-01T12:00:00Z"


def timed(label: str, f) -> float:
    t = time.perf_counter()
    f()
    s = time.perf_counter() - t
    print(f"{label:<44} {s:8.2f} s", flush=True)
    return s


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    cores = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    exe = os.environ.get("CRMGUARD_BIN") or shutil.which("crmguard") or "crmguard"
    work = Path(tempfile.mkdtemp(prefix="crmguard-bench-"))
    csv_path, parquet = work / "leads.csv", work / "leads.parquet"
    with open(csv_path, "wb") as f:
        subprocess.run(
            ["cargo", "run", "-q", "--example", "make_leads", "--", str(rows)],
            cwd=ROOT, check=True, stdout=f,
        )
    strings = pcsv.ConvertOptions(strings_can_be_null=False, column_types={})
    table = pcsv.read_csv(
        csv_path,
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=strings,
    )
    table = table.cast(pa.schema([f.with_type(pa.string()) for f in table.schema]))
    pq.write_table(table, parquet, row_group_size=64 * 1024)
    print(f"{rows} rows, {csv_path.stat().st_size / 1e6:.0f} MB CSV, "
          f"{parquet.stat().st_size / 1e6:.0f} MB Parquet; {cores} cores", flush=True)

    def scan(path: Path) -> None:
        out = subprocess.run([exe, "scan", "-q", "--now", NOW, "--fail-on", "never",
                              "-j", str(cores), "-o", str(work / "out"), str(path)])
        assert out.returncode == 0

    timed("crmguard scan leads.csv", lambda: scan(csv_path))
    timed("crmguard scan leads.parquet", lambda: scan(parquet))

    policy = crmguard.Policy.load()
    batches = table.to_batches(max_chunksize=4096)
    columns = crmguard.infer_text_columns(batches[0], policy)

    def arrow() -> None:
        offset = 0
        for b in batches:
            crmguard.check_batch(b, policy, row_offset=offset, text_columns=columns, now=NOW)
            offset += b.num_rows

    timed("check_batch over in-memory Arrow batches", arrow)

    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master(f"local[{cores}]").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.read.parquet(str(parquet))
    print(f"spark: {df.rdd.getNumPartitions()} partitions", flush=True)

    def audit() -> None:
        a = crmguard.spark.audit(df, now=NOW, audit_log=work / "audit.jsonl")
        a.clean.write.mode("overwrite").parquet(str(work / "spark-clean"))
        a.quarantine.write.mode("overwrite").parquet(str(work / "spark-quarantine"))
        a.unpersist()

    timed("spark.audit + write clean and quarantine", audit)
    spark.stop()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
