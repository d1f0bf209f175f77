# Types of the native module; the public API is re-exported by crmguard/__init__.py.
import os
from typing import List, Optional, Sequence, Union

import pyarrow

__version__: str

class CrmguardError(Exception):
    """An error crmguard reports: the same one line the command line prints."""

class Policy:
    @staticmethod
    def load(path: Optional[Union[str, "os.PathLike[str]"]] = None) -> "Policy":
        """The policy at `path`; without one, the CLI's choice: $CRMGUARD_POLICY,
        else ./crmguard.toml or the nearest one above, else the built-in policy."""
    @staticmethod
    def _from_text(text: str, path: Optional[str] = None) -> "Policy": ...
    @property
    def path(self) -> Optional["os.PathLike[str]"]: ...
    @property
    def text(self) -> str: ...
    @property
    def detector_enabled(self) -> bool: ...

def check_batch(
    batch: pyarrow.RecordBatch,
    policy: Policy,
    object: Optional[str] = None,
    row_offset: int = 0,
    text_columns: Optional[Sequence[str]] = None,
    now: Optional[str] = None,
) -> pyarrow.RecordBatch:
    """The batch's columns plus crmguard_row (row_offset + 1, ...),
    crmguard_verdict (clean | review | quarantine), crmguard_reasons (codes
    joined by ';'), crmguard_ai_score (null when not judged) and
    crmguard_ai_signals, one row per input row, in order. `text_columns`
    fixes the columns the detector judges (else inferred from this batch, as
    the CSV path infers them from a file's first rows); `now` is the CLI's
    --now (RFC 3339)."""

def infer_text_columns(
    batch: pyarrow.RecordBatch, policy: Policy, object: Optional[str] = None
) -> Optional[List[str]]:
    """The columns the detector would judge in a file starting with these rows;
    None when the policy turns the detector off."""

def score_texts(texts: Sequence[str], policy: Optional[Policy] = None) -> List[Optional[float]]:
    """The detector's score of each text, three decimals; None when too short to judge."""

def _scan(args: Sequence[str]) -> int: ...

class PartRun:
    def __init__(
        self,
        policy: Policy,
        names: Sequence[str],
        first_row: int,
        text_columns: Optional[Sequence[str]] = None,
        object: Optional[str] = None,
        now: Optional[str] = None,
    ) -> None: ...
    def check(self, batch: pyarrow.RecordBatch) -> pyarrow.RecordBatch: ...
    def finish(self, part: int) -> str: ...

class TableRun:
    def __init__(self) -> None: ...
    def add_part(self, summary: str) -> None: ...
    def push_quarantined(self, row: int, reasons: str, row_blake3: str) -> None: ...
    def finish(
        self,
        policy: Policy,
        path: str,
        format: str,
        names: Sequence[str],
        clean_path: str,
        quarantine_path: str,
        text_columns: Optional[Sequence[str]] = None,
        object: Optional[str] = None,
        now: Optional[str] = None,
        audit_log: Optional[str] = None,
    ) -> str: ...
