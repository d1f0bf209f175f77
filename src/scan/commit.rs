//! Putting one scan's outputs in place, all or none, with the audit
//! log saying which (docs/audit.md, "Commit").
//!
//! Under the log's lock, in this order: the scan's records are appended;
//! the report (which names them) is written to its temp file and synced;
//! the records are synced; an older clean file of the same name is removed;
//! quarantine file, cleanup plan (if any), report and clean file are
//! renamed into place, the clean file
//! last; the directory is synced; the commit record is appended. Any failure
//! before the commit record removes what was renamed and cuts the records
//! back out, still under the lock, so no reader ever saw them. Ctrl-C is
//! honoured up to the first rename; from there the commit takes moments and
//! is finished.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::Context;

use super::{Input, Interrupted, ScanConfig};
use crate::audit::{AuditLog, RowSpool};
use crate::hooks;
use crate::output::{AtomicFile, Finished, Mode};
use crate::report::{AuditInfo, Report};
use crate::terminal;

/// A scan's finished outputs, still under their temp names.
pub(super) struct Outputs {
    pub clean: Finished,
    pub quarantine: Finished,
    pub cleanup: Option<Finished>,
}

/// Records the scan and puts its outputs in place, or does neither.
pub(super) fn commit(
    input: &Input,
    cfg: &ScanConfig,
    report: &mut Report,
    rows: RowSpool,
    files: Outputs,
) -> anyhow::Result<()> {
    let mut pending = AuditLog::new(cfg.audit_log).begin(report, rows, cfg.interrupted)?;
    report.audit = Some(AuditInfo {
        log: cfg.audit_log.to_owned(),
        seq: pending.head().seq,
        head: pending.head().hash.clone(),
    });
    let report_file = write_report(&input.outputs.report, report)?;
    pending.sync()?;
    hooks::pause("commit", cfg.interrupted);
    if cfg.interrupted.load(Ordering::SeqCst) {
        return Err(Interrupted.into());
    }
    cfg.critical.store(true, Ordering::SeqCst);
    let result = place(files, report_file).and_then(|placed| {
        pending
            .commit()
            .map(|_| ())
            .inspect_err(|_| placed.remove())
    });
    cfg.critical.store(false, Ordering::SeqCst);
    result
}

fn write_report(path: &Path, report: &Report) -> anyhow::Result<Finished> {
    let cannot = || format!("{}: cannot write", terminal::path(path));
    let mut json = serde_json::to_vec_pretty(report).with_context(cannot)?;
    json.push(b'\n');
    let mut file = AtomicFile::create(path, Mode::Private).with_context(cannot)?;
    file.write_all(&json).with_context(cannot)?;
    file.finish().with_context(cannot)
}

/// Outputs renamed into place, until the commit record is written.
struct Placed(Vec<PathBuf>);

impl Placed {
    /// Takes them back out: the log will not vouch for them.
    fn remove(&self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

/// Renames the outputs into place, the clean file last. An older clean
/// file of the same name is removed first: a clean file is what gets
/// uploaded, and at no moment may one stand beside a quarantine file and
/// report it does not belong to. On failure, removes what it renamed.
fn place(files: Outputs, report: Finished) -> anyhow::Result<Placed> {
    let Outputs {
        clean,
        quarantine,
        cleanup,
    } = files;
    let clean_path = clean.summary.path.clone();
    let cannot = |p: &Path| format!("{}: cannot write outputs", terminal::path(p));
    match fs::remove_file(&clean_path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e).with_context(|| cannot(&clean_path));
        }
        _ => {}
    }
    let mut placed = Placed(Vec::with_capacity(4));
    let order = [Some(quarantine), cleanup, Some(report), Some(clean)];
    for file in order.into_iter().flatten() {
        let path = file.summary.path.clone();
        if let Err(e) = file.persist() {
            placed.remove();
            return Err(e).with_context(|| cannot(&path));
        }
        placed.0.push(path);
    }
    if let Err(e) = sync_dir(&clean_path) {
        placed.remove();
        return Err(e).with_context(|| cannot(&clean_path));
    }
    Ok(placed)
}

/// Makes the renames durable before the commit record claims them.
fn sync_dir(path: &Path) -> io::Result<()> {
    crate::output::sync_parent(path)
}
