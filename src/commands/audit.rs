//! `crmguard audit`: verify, list and export the audit log.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use crate::audit::export::{
    CsvExport, approval_table, at_included, parse_since, scan_included, scan_table,
};
use crate::audit::{
    ApprovalRecord, DEFAULT_LOG, LEGACY_VERSION, OUTPUTS_NONE, Record, ScanRecord, VerifyError,
    VerifySummary, for_each_record, for_each_record_upto, verify, verify_expecting,
};
use crate::error::exit;
use crate::output::{Mode, OutputFile, same_file};
use crate::terminal;
use crate::{errln, outln};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain: OK, or the first broken record (exit 1)
    Verify(VerifyArgs),
    /// List the scans and approvals in tables
    Show(ShowArgs),
    /// Write scans, quarantine decisions and approvals as CSV, for a spreadsheet
    Export(ExportArgs),
}

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The audit log
    #[arg(default_value = DEFAULT_LOG, value_name = "LOG")]
    pub log: PathBuf,
    /// Also require the record with this hash (a head printed in a report) to
    /// be in the log: catches records cut off the end
    #[arg(long, value_name = "HASH", value_parser = parse_hash)]
    pub expect_head: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// The audit log
    #[arg(default_value = DEFAULT_LOG, value_name = "LOG")]
    pub log: PathBuf,
    /// Only scans on or after this date (2026-11-01, UTC) or RFC 3339 time
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<jiff::Timestamp>,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The audit log
    #[arg(default_value = DEFAULT_LOG, value_name = "LOG")]
    pub log: PathBuf,
    /// Only scans (and their rows) on or after this date (2026-11-01, UTC) or RFC 3339 time
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<jiff::Timestamp>,
    /// Write the CSV here instead of stdout (`-`: stdout)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// STATUS of a scan with no commit record: its process died (a recovery
/// says so, or none has been written yet).
const NOT_COMMITTED: &str = "not committed";
/// STATUS of a scan an older release recorded (version 1): committed with
/// its last row record, as that release promised.
const COMMITTED_V1: &str = "committed (v1)";

fn parse_hash(s: &str) -> Result<String, String> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("{s:?} is not a blake3 hash (64 hex digits)"))
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    match args.command {
        AuditCommand::Verify(a) => run_verify(a),
        AuditCommand::Show(a) => run_show(a),
        AuditCommand::Export(a) => run_export(a),
    }
}

/// A broken log is a finding (exit 1, `LOG:LINE: record SEQ: ...`); an
/// unreadable one an error (exit 2).
fn broken_or_error(log: &Path, e: VerifyError) -> anyhow::Result<u8> {
    match e {
        VerifyError::Broken(b) => {
            errln!("{}:{b}", terminal::path(log));
            Ok(exit::FINDINGS)
        }
        VerifyError::Io(e) => {
            Err(anyhow!(e).context(format!("{}: cannot read", terminal::path(log))))
        }
    }
}

fn run_verify(args: VerifyArgs) -> anyhow::Result<u8> {
    let log = &args.log;
    let (summary, found) = match &args.expect_head {
        Some(head) => match verify_expecting(log, head) {
            Ok((s, found)) => (s, found),
            Err(e) => return broken_or_error(log, e),
        },
        None => match verify(log) {
            Ok(s) => (s, None),
            Err(e) => return broken_or_error(log, e),
        },
    };
    if let Some(head) = &args.expect_head {
        let Some(seq) = found else {
            errln!(
                "{}: no record with hash {head}: records were cut off the end, or this is another log",
                terminal::path(log)
            );
            return Ok(exit::FINDINGS);
        };
        outln!(
            "{}: OK, {} records ({}), head {}; expected head is record {seq}{}",
            terminal::path(log),
            summary.records,
            counts(&summary),
            summary.head,
            match summary.seq - seq {
                0 => String::new(),
                n => format!(", {n} records appended since"),
            }
        );
    } else {
        outln!(
            "{}: OK, {} records ({}), head {}",
            terminal::path(log),
            summary.records,
            counts(&summary),
            summary.head
        );
        errln!(
            "note: records cut off the end leave a valid chain; check against a head recorded \
             elsewhere (a report's) with --expect-head"
        );
    }
    if let Some((line, block)) = &summary.unfinished {
        errln!(
            "note: the last append ({block}, line {line}) has no commit record: its process \
             ended while putting its outputs in place, or just before; the next scan records \
             that (docs/audit.md)"
        );
    }
    Ok(exit::CLEAN)
}

/// `3 scans, 3 committed` (and version 1 scans, approvals and
/// recoveries, when there were any).
fn counts(s: &VerifySummary) -> String {
    let mut text = format!("{} scans, {} committed", s.scans, s.committed);
    if s.legacy > 0 {
        text.push_str(&format!(" ({} of them version 1)", s.legacy));
    }
    if s.approvals > 0 {
        text.push_str(&format!(", {} approvals", s.approvals));
    }
    if s.recoveries > 0 {
        text.push_str(&format!(", {} recovered", s.recoveries));
    }
    text
}

fn run_show(args: ShowArgs) -> anyhow::Result<u8> {
    let mut scans: Vec<(ScanRecord, &str)> = Vec::new();
    let mut cut = 0;
    // The table is printed only once the whole log verified: a listing of a
    // tampered log would lend it credibility.
    let mut approvals: Vec<(ApprovalRecord, &str)> = Vec::new();
    let result = for_each_record(&args.log, |e| {
        let last = scans
            .last_mut()
            .filter(|(_, status)| *status == NOT_COMMITTED);
        let last_approval = approvals
            .last_mut()
            .filter(|(_, status)| *status == NOT_COMMITTED);
        match &e.record {
            // A version 1 scan is committed once its rows are in, and
            // the log verified.
            Record::Scan(s) if scan_included(s, args.since) => {
                let status = match e.version {
                    LEGACY_VERSION => COMMITTED_V1,
                    _ => NOT_COMMITTED,
                };
                scans.push(((**s).clone(), status));
            }
            Record::Approval(a) if at_included(&a.at, args.since) => {
                approvals.push(((**a).clone(), NOT_COMMITTED));
            }
            Record::Commit(c) => {
                if let Some((_, status)) =
                    last.filter(|(s, _)| c.scan_id.as_ref() == Some(&s.scan_id))
                {
                    *status = "committed";
                }
                if let Some((_, status)) =
                    last_approval.filter(|(a, _)| c.approval_id.as_ref() == Some(&a.approval_id))
                {
                    *status = "committed";
                }
            }
            Record::Recovery(r) if r.outputs == OUTPUTS_NONE => cut += 1,
            _ => {}
        }
        Ok(())
    });
    if let Err(e) = result {
        return broken_or_error(&args.log, e);
    }
    if scans.is_empty() && approvals.is_empty() {
        errln!("{}: no scans", terminal::path(&args.log));
        return Ok(exit::CLEAN);
    }
    if !scans.is_empty() {
        terminal::out_text(&scan_table(&scans));
    }
    if !approvals.is_empty() {
        if !scans.is_empty() {
            terminal::out_text("\n");
        }
        terminal::out_text(&approval_table(&approvals));
    }
    if cut > 0 {
        errln!(
            "note: {cut} unfinished append(s) were cut off by recoveries (`crmguard audit export` \
             lists them)"
        );
    }
    Ok(exit::CLEAN)
}

fn run_export(args: ExportArgs) -> anyhow::Result<u8> {
    let log = &args.log;
    if let Some(out) = &args.output
        && same_file(out, log)
    {
        bail!(
            "{}: is the audit log itself; choose another file",
            terminal::path(out)
        );
    }
    // Verify first so nothing of a broken log is exported, then export
    // exactly the bytes that verified (scans may be appended meanwhile).
    let summary = match verify(log) {
        Ok(s) => s,
        Err(e) => return broken_or_error(log, e),
    };
    let path = args.output.as_deref().unwrap_or(Path::new("-"));
    let cannot = || crate::output::cannot_write(path, "the export");
    // The export names who scanned what, and every quarantined row's hash:
    // as private as the log it comes from.
    let file = OutputFile::create(path, Mode::Private).with_context(cannot)?;
    let (file, scans, rows, approvals) =
        export_to(log, summary.bytes, args.since, file).map_err(|e| match e {
            // A write error says nothing of the file it failed on.
            Failed::Write(e) => anyhow::Error::new(e).context(cannot()),
            Failed::Other(e) => e,
        })?;
    file.commit().with_context(cannot)?;
    if path.as_os_str() != "-" {
        errln!(
            "crmguard: wrote {} ({scans} scans, {rows} quarantined rows, {approvals} approvals)",
            terminal::path(path)
        );
    }
    Ok(exit::CLEAN)
}

/// Why an export failed: writing the output, or anything else (reading
/// the log), which names its own file.
enum Failed {
    Write(std::io::Error),
    Other(anyhow::Error),
}

fn export_to<W: Write>(
    log: &Path,
    bytes: u64,
    since: Option<jiff::Timestamp>,
    out: W,
) -> Result<(W, u64, u64, u64), Failed> {
    let mut csv = CsvExport::new(out, since).map_err(Failed::Write)?;
    let mut write_error = None;
    let walked = for_each_record_upto(log, bytes, |e| {
        csv.push(e).map_err(|err| {
            let kind = err.kind();
            write_error = Some(err);
            std::io::Error::from(kind)
        })
    });
    if let Some(e) = write_error {
        return Err(Failed::Write(e));
    }
    match walked {
        Ok(_) => {}
        Err(VerifyError::Io(e)) => return Err(Failed::Other(e.into())),
        Err(VerifyError::Broken(b)) => {
            return Err(Failed::Other(anyhow::anyhow!(
                "{}:{b} (the log changed during the export)",
                terminal::path(log)
            )));
        }
    }
    let (scans, rows, approvals) = (csv.scans, csv.rows, csv.approvals);
    let finished = csv.finish().map_err(Failed::Write)?;
    Ok((finished, scans, rows, approvals))
}
