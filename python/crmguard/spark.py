"""crmguard over a Spark DataFrame: ``audit(df)`` checks every partition on
the executors with ``mapInArrow`` (the same Rust engine as the CLI) and adds
up a report on the driver. Nothing but counts, digests and the quarantined
rows' hashes (for the audit log) reaches the driver.

Row numbers: ``crmguard_row`` is the row's 1-based position in the
DataFrame in partition order (partition 0's rows first, each partition's in
its own order). A first, cheap job counts each partition's rows
(``spark_partition_id``) so each partition knows the rows before it. They
are stable exactly as far as the DataFrame's partitioning and order are:
Spark keeps both for a read of files followed by narrow transformations
(filter, select, mapInArrow...), in which case partitions follow the files
and the offsets within them; after a shuffle (repartition, join, groupBy)
the order is not guaranteed between two runs, so sort first
(``df.sortWithinPartitions`` after an explicit ``repartitionByRange``) if
row numbers must repeat.

Text columns: decided once, on the driver, from the DataFrame's first rows
(as the CLI decides them from a file's first batch), or named by the
policy; every partition judges the same columns.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Union

import pyarrow as pa

from . import _crmguard
from ._crmguard import Policy

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["Audit", "audit", "SAMPLE_ROWS"]

#: Rows the driver reads to infer the detector's text columns: the CLI's
#: first batch.
SAMPLE_ROWS = 4096

_SUMMARY = "crmguard_summary"
_BLAKE3 = "crmguard_row_blake3"
CRMGUARD_COLUMNS = [
    "crmguard_row",
    "crmguard_verdict",
    "crmguard_reasons",
    "crmguard_ai_score",
    "crmguard_ai_signals",
]


@dataclass
class Audit:
    """The result of :func:`audit`. ``clean`` and ``quarantine`` are lazy
    DataFrames over the persisted check: write them as you like."""

    #: Rows that passed (``review`` rows included), with the input's columns.
    clean: "DataFrame"
    #: Rows held back: the input's columns plus crmguard_row, crmguard_verdict,
    #: crmguard_reasons, crmguard_ai_score and crmguard_ai_signals.
    quarantine: "DataFrame"
    #: The per-file report's JSON schema (docs/report.schema.json), totals
    #: across partitions.
    report: Dict[str, Any]
    #: Every row with crmguard's columns; persisted. ``unpersist()`` when done.
    checked: "DataFrame"

    def unpersist(self) -> None:
        self.checked.unpersist()


def audit(
    df: "DataFrame",
    policy: Union[Policy, str, "os.PathLike[str]", None] = None,
    object: Optional[str] = None,
    *,
    now: Optional[str] = None,
    audit_log: Optional[Union[str, "os.PathLike[str]"]] = None,
    source: str = "spark:dataframe",
    clean_path: str = "",
    quarantine_path: str = "",
    storage_level: Any = None,
) -> Audit:
    """Checks ``df`` with crmguard's rules and detector.

    ``policy``: a :class:`crmguard.Policy`, a policy file's path (read on the
    driver and shipped as text), or None for the CLI's default. ``object``:
    the CLI's ``--object``. ``now``: the CLI's ``--now`` (RFC 3339); fixed on
    the driver either way, so every partition judges timestamps against the
    same instant. ``audit_log``: a driver-side path; it gets one scan record
    and one record per quarantined row, as the CLI writes. ``source``,
    ``clean_path`` and ``quarantine_path`` name the input and outputs in the
    report. ``storage_level``: how the checked rows are persisted (default
    MEMORY_AND_DISK), so that the report, ``clean`` and ``quarantine`` do
    not run the detector again.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if not isinstance(policy, Policy):
        policy = Policy.load(policy)
    if now is None:
        import datetime

        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    names = list(df.columns)
    clash = [c for c in CRMGUARD_COLUMNS + [_BLAKE3, _SUMMARY] if c in names]
    if clash:
        raise _crmguard.CrmguardError(
            f"the DataFrame already has a column `{clash[0]}`: was it checked before?"
        )

    text_columns = None
    if policy.detector_enabled:
        text_columns = _crmguard.infer_text_columns(_first_rows(df), policy, object)

    first_rows = _partition_offsets(df, F)
    nullable = T.StructType([T.StructField(f.name, f.dataType, True) for f in df.schema.fields])
    out_schema = T.StructType(
        nullable.fields
        + [
            T.StructField("crmguard_row", T.LongType(), True),
            T.StructField("crmguard_verdict", T.StringType(), True),
            T.StructField("crmguard_reasons", T.StringType(), True),
            T.StructField("crmguard_ai_score", T.DoubleType(), True),
            T.StructField("crmguard_ai_signals", T.StringType(), True),
            T.StructField(_BLAKE3, T.StringType(), True),
            T.StructField(_SUMMARY, T.StringType(), True),
        ]
    )
    from pyspark.sql.pandas.types import to_arrow_schema

    check = _partition_checker(
        policy, names, first_rows, text_columns, object, now, to_arrow_schema(out_schema)
    )
    checked = df.mapInArrow(check, out_schema)
    checked = checked.persist(storage_level or StorageLevel.MEMORY_AND_DISK)

    table = _crmguard.TableRun()
    summaries = checked.where(F.col(_SUMMARY).isNotNull()).select(_SUMMARY).collect()
    parts = sorted((json.loads(r[0]) for r in summaries), key=lambda s: s["part"])
    if len(parts) != len(first_rows):
        raise _crmguard.CrmguardError(
            f"{len(parts)} partitions checked where {len(first_rows)} were counted"
        )
    for s in parts:
        table.add_part(json.dumps(s))
    rows = checked.where(F.col(_SUMMARY).isNull())
    held = rows.where(F.col("crmguard_verdict") == "quarantine")
    if audit_log is not None:
        # Partition by partition, in row order: the driver holds one
        # partition's hashes at a time.
        for r in held.select("crmguard_row", "crmguard_reasons", _BLAKE3).toLocalIterator():
            table.push_quarantined(r[0], r[1], r[2])
    report_json = table.finish(
        policy,
        source,
        "spark",
        names,
        clean_path,
        quarantine_path,
        text_columns,
        object,
        now,
        None if audit_log is None else os.fspath(audit_log),
    )
    clean = rows.where(F.col("crmguard_verdict") != "quarantine").select(*[F.col(n) for n in names])
    quarantine = held.select(*[F.col(n) for n in names], *CRMGUARD_COLUMNS)
    return Audit(clean=clean, quarantine=quarantine, report=json.loads(report_json), checked=checked)


def _first_rows(df: "DataFrame") -> pa.RecordBatch:
    head = df.limit(SAMPLE_ROWS)
    if hasattr(head, "toArrow"):  # pyspark >= 4.0
        table = head.toArrow()
    else:
        table = pa.Table.from_pandas(head.toPandas(), preserve_index=False)
    table = table.combine_chunks()
    batches = table.to_batches()
    if not batches:
        return pa.RecordBatch.from_pylist([], schema=table.schema)
    return batches[0]


def _partition_offsets(df: "DataFrame", F: Any) -> List[int]:
    """The rows before each partition, by a count that reads no column."""
    n = df.rdd.getNumPartitions()
    counts = dict(
        (r[0], r[1])
        for r in df.select(F.spark_partition_id().alias("p")).groupBy("p").count().collect()
    )
    offsets, total = [], 0
    for p in range(n):
        offsets.append(total)
        total += int(counts.get(p, 0))
    return offsets


def _partition_checker(
    policy: Policy,
    names: List[str],
    first_rows: List[int],
    text_columns: Optional[List[str]],
    object: Optional[str],
    now: str,
    sentinel_schema: pa.Schema,
) -> Any:
    def check(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        part = ctx.partitionId() if ctx is not None else 0
        run = _crmguard.PartRun(policy, names, first_rows[part], text_columns, object, now)
        for batch in batches:
            out = run.check(batch)
            # Every batch in the declared types (Spark may hand strings
            # over as large_string; a stream's batches share one schema).
            columns = [
                c if c.type == f.type else c.cast(f.type)
                for c, f in zip(out.columns, sentinel_schema)
            ]
            columns.append(pa.nulls(out.num_rows, pa.string()))
            yield pa.RecordBatch.from_arrays(columns, schema=sentinel_schema)
        summary = run.finish(part)
        # One more row, null but for the summary, typed as declared.
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([summary], pa.string()) if f.name == _SUMMARY else pa.nulls(1, f.type)
                for f in sentinel_schema
            ],
            schema=sentinel_schema,
        )

    return check
