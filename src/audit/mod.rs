//! The tamper-evident audit trail (docs/audit.md): an append-only JSONL log
//! with one record per scan and one per quarantined row, each carrying the
//! blake3 of the one before it, so an edited, deleted or reordered record
//! breaks the chain where it happened.
//!
//! The scan pipeline spools each quarantined row into a [`RowSpool`] and
//! hands it with the report to [`AuditLog::record_scan`]; `crmguard audit`
//! reads the log back through [`verify`] and [`for_each_record`].

mod append;
mod chain;
pub mod export;
mod record;
mod recover;
mod spool;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};

pub use append::Pending;
pub use chain::{Broken, VerifyError, VerifySummary};
pub use record::{
    ApprovalRecord, Block, CommitRecord, Entry, FileRef, GENESIS, InputRef, LEGACY_VERSION,
    OUTPUTS_NONE, OUTPUTS_UNKNOWN, OutputRef, PolicyRef, Record, RecoveryRecord, ReleasedRow,
    RowRecord, ScanRecord, VERSION,
};
pub use spool::RowSpool;

use crate::report::Report;

/// The log's file name when it goes in the out dir.
pub const DEFAULT_FILE_NAME: &str = "crmguard-audit.jsonl";

/// The log `crmguard audit` reads when none is named: the default out dir's.
pub const DEFAULT_LOG: &str = "crmguard-out/crmguard-audit.jsonl";

/// The log a scan that wrote into `dir` most likely appended to: the
/// nearest [`DEFAULT_FILE_NAME`] in `dir` or a folder above it. A scan
/// whose inputs' names collided wrote into subfolders of its out dir
/// (`OUT/exports/2026-11/`), with the log still in the out dir. `None`
/// when there is none.
pub fn nearest_log(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let cwd = std::env::current_dir().ok();
    // A relative `dir` runs out at the current directory, which may itself
    // be inside the out dir: the walk goes on from there.
    let above_cwd = (dir.is_relative().then_some(cwd.as_deref()).flatten())
        .into_iter()
        .flat_map(|c| c.ancestors().skip(1));
    dir.ancestors()
        .chain(above_cwd)
        .map(|d| d.join(DEFAULT_FILE_NAME))
        .find(|log| log.is_file())
}

/// Bytes of records per write while appending a scan's rows.
const CHUNK: usize = 1 << 20;

/// An audit log on disk, created on first append.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
    chunk: usize,
}

/// The last record after an append: `seq` and `hash` anchor the log (a
/// report that carries them lets `crmguard audit verify --expect-head`
/// detect records cut off the end); `scan_id` names the scan just recorded
/// (the report's), or the approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
    pub scan_id: String,
}

impl AuditLog {
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog {
            path: path.into(),
            chunk: CHUNK,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a scan's rows in chunks of `bytes` instead of 1 MiB. For tests
    /// that need many writes per append to show the lock holds.
    #[doc(hidden)]
    pub fn with_chunk_bytes(mut self, bytes: usize) -> AuditLog {
        self.chunk = bytes.max(1);
        self
    }

    /// Records a scan whose outputs need no placing (tools, tests): appends
    /// its records and its commit record at once; returns the new head.
    pub fn record_scan(&self, report: &Report, rows: RowSpool) -> anyhow::Result<Head> {
        let mut pending = self.begin(report, rows, &AtomicBool::new(false))?;
        pending.sync()?;
        pending.commit()
    }

    /// Locks the log and appends an approval record, uncommitted
    /// ([`Pending`]): [`Pending::commit`] once the released file is in
    /// place. `check` runs first, under the lock: what it finds in the log
    /// cannot change before the approval is committed.
    pub fn begin_approval(
        &self,
        approval: &ApprovalRecord,
        check: impl FnOnce(&Pending) -> anyhow::Result<()>,
    ) -> anyhow::Result<Pending> {
        append::begin_approval(&self.path, approval, check)
    }

    /// Locks the log and appends one scan record and one row record per
    /// quarantined row, uncommitted ([`Pending`]). `rows` must hold exactly
    /// the report's `rows_quarantined` rows, in the order they were
    /// quarantined. `cancel` set during the append (Ctrl-C) takes the
    /// records back out and fails with [`crate::error::Interrupted`].
    pub fn begin(
        &self,
        report: &Report,
        rows: RowSpool,
        cancel: &AtomicBool,
    ) -> anyhow::Result<Pending> {
        if rows.len() != report.rows_quarantined {
            bail!(
                "{}: cannot record the scan of {}: {} row decisions for {} quarantined rows",
                self.path.display(),
                report.input.path.display(),
                rows.len(),
                report.rows_quarantined
            );
        }
        let at: jiff::Timestamp = report.started_at.parse().with_context(|| {
            format!(
                "{}: cannot record the scan of {}: started_at {:?} is not an RFC 3339 time",
                self.path.display(),
                report.input.path.display(),
                report.started_at
            )
        })?;
        // The report's id is also in the CRM's tags: one id follows a row
        // from the import back to its scan here.
        if report.scan_id.is_empty() {
            bail!(
                "{}: cannot record the scan of {}: the report has no scan_id",
                self.path.display(),
                report.input.path.display()
            );
        }
        let (user, host) = identity();
        let scan = ScanRecord {
            scan_id: report.scan_id.clone(),
            at: at.to_string(),
            user: user.clone(),
            host: host.clone(),
            crmguard_version: report.crmguard_version.to_string(),
            input: InputRef {
                path: report.input.path.to_string_lossy().into_owned(),
                bytes: report.input.bytes,
                blake3: report.input.blake3.clone(),
                object: report.input.object.clone(),
            },
            outputs: report
                .outputs
                .iter()
                .map(|o| OutputRef {
                    kind: o.kind.to_string(),
                    path: o.summary.path.to_string_lossy().into_owned(),
                    rows: o.summary.rows,
                    blake3: o.summary.blake3.clone(),
                })
                .collect(),
            policy: PolicyRef {
                path: report
                    .policy
                    .path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
                blake3: report.policy.blake3.clone(),
            },
            rows_total: report.rows_total,
            rows_clean: report.rows_clean,
            rows_quarantined: report.rows_quarantined,
            reasons: report
                .reasons
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            file_findings: report
                .file_findings
                .iter()
                .map(|f| f.code.code().to_string())
                .collect(),
        };
        append::begin(&self.path, &scan, rows, self.chunk, cancel)
    }
}

/// Who runs crmguard, where. Looked up once; never fails: an audit record
/// with `unknown` beats a scan that cannot run.
pub(crate) fn identity() -> &'static (String, String) {
    static IDENTITY: OnceLock<(String, String)> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let env = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
        };
        let user = whoami::username()
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| env(&["USER", "LOGNAME", "USERNAME"]))
            .unwrap_or_else(|| "unknown".into());
        let host = whoami::hostname()
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty())
            })
            .or_else(|| env(&["HOSTNAME", "COMPUTERNAME"]))
            .unwrap_or_else(|| "unknown".into());
        (user, host)
    })
}

/// Verifies the whole chain as it stands when called. Records cut off the
/// end leave a valid chain; [`verify_expecting`] catches that against a head
/// recorded elsewhere.
pub fn verify(path: &Path) -> Result<VerifySummary, VerifyError> {
    for_each_record(path, |_| Ok(()))
}

/// [`verify`], and the `seq` of the record whose hash is `head` (hex), if the
/// log holds it. A head from a report must still be in the log: if it is
/// not, records were removed (or it is another log). Records appended since
/// are fine.
pub fn verify_expecting(
    path: &Path,
    head: &str,
) -> Result<(VerifySummary, Option<u64>), VerifyError> {
    let head = head.to_ascii_lowercase();
    let mut found = None;
    let summary = for_each_record(path, |e| {
        if found.is_none() && e.hash.to_hex().as_str() == head {
            found = Some(e.seq);
        }
        Ok(())
    })?;
    Ok((summary, found))
}

/// Verifies the log, handing each record to `f` as it goes. Stops at the
/// first broken record, after `f` has seen the ones before it.
pub fn for_each_record(
    path: &Path,
    f: impl FnMut(&Entry) -> io::Result<()>,
) -> Result<VerifySummary, VerifyError> {
    let (file, len) = chain::open_snapshot(path)?;
    chain::walk(file, len, f)
}

/// [`for_each_record`] over the first `bytes` bytes only: a second pass over
/// exactly what an earlier [`verify`] covered.
pub fn for_each_record_upto(
    path: &Path,
    bytes: u64,
    f: impl FnMut(&Entry) -> io::Result<()>,
) -> Result<VerifySummary, VerifyError> {
    let (file, len) = chain::open_snapshot(path)?;
    chain::walk(file, len.min(bytes), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_never_empty() {
        let (user, host) = identity();
        assert!(!user.is_empty() && !host.is_empty());
    }
}
