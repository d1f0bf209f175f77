"""crmguard for Python: the CLI's rules, detector and verdicts over Arrow
record batches, Spark DataFrames and files.

Every verdict comes from the same Rust engine as the ``crmguard`` command:
``check_batch`` presents each row to the rules exactly as the CSV path would
see the same values, so a CSV file holding them gets the same verdicts,
reasons and scores.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ._crmguard import (
    CrmguardError,
    Policy,
    __version__,
    check_batch,
    infer_text_columns,
    score_texts,
)
from . import _crmguard

__all__ = [
    "CrmguardError",
    "Policy",
    "__version__",
    "check_batch",
    "infer_text_columns",
    "score_texts",
    "scan",
]

StrPath = Union[str, "os.PathLike[str]"]


def scan(
    path: StrPath,
    out_dir: StrPath,
    policy: Optional[StrPath] = None,
    *,
    object: Optional[str] = None,
    jobs: Optional[int] = None,
    now: Optional[str] = None,
    audit_log: Optional[StrPath] = None,
    extra_args: Sequence[str] = (),
) -> Dict[str, Any]:
    """Runs ``crmguard scan PATH -o OUT_DIR`` in this process and returns the
    file's report (``NAME.report.json``) as a dict.

    ``policy`` is a policy file's path (the CLI's ``--policy``); ``extra_args``
    passes any other ``scan`` option. Rows quarantined are not an error: read
    ``report["rows_quarantined"]``. A failed scan raises ``CrmguardError``
    with the CLI's one-line message.
    """
    args: List[str] = ["scan", "--quiet", "--fail-on", "never", "-o", os.fspath(out_dir)]
    if policy is not None:
        args += ["--policy", os.fspath(policy)]
    if object is not None:
        args += ["--object", object]
    if jobs is not None:
        args += ["--jobs", str(jobs)]
    if now is not None:
        args += ["--now", now]
    if audit_log is not None:
        args += ["--audit-log", os.fspath(audit_log)]
    with tempfile.TemporaryDirectory(prefix="crmguard-") as tmp:
        run_report = Path(tmp) / "run.json"
        args += ["--report", f"json={run_report}", *extra_args, "--", os.fspath(path)]
        status = _crmguard._scan(args)
        run = json.loads(run_report.read_text(encoding="utf-8")) if run_report.exists() else None
    files = (run or {}).get("files") or []
    if len(files) != 1:
        raise CrmguardError(f"crmguard scan exited {status} without a report")
    entry = files[0]
    if entry.get("status") != "scanned" or "report" not in entry:
        raise CrmguardError(str(entry.get("error") or f"crmguard scan exited {status}"))
    report: Dict[str, Any] = entry["report"]
    return report
