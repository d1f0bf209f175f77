//! `crmguard audit`: verify, list and export the audit log.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use crate::audit::export::{CsvExport, parse_since, scan_included, scan_table};
use crate::audit::{
    DEFAULT_LOG, Record, VerifyError, for_each_record, for_each_record_upto, verify,
    verify_expecting,
};
use crate::error::exit;
use crate::output::{AtomicFile, same_file};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain: OK, or the first broken record (exit 1)
    Verify(VerifyArgs),
    /// List the scans in a table
    Show(ShowArgs),
    /// Write scans and quarantine decisions as CSV, for a spreadsheet
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
    /// Write the CSV here instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

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
            eprintln!("{}:{b}", log.display());
            Ok(exit::FINDINGS)
        }
        VerifyError::Io(e) => Err(anyhow!(e).context(format!("{}: cannot read", log.display()))),
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
            eprintln!(
                "{}: no record with hash {head}: records were cut off the end, or this is another log",
                log.display()
            );
            return Ok(exit::FINDINGS);
        };
        println!(
            "{}: OK, {} records ({} scans), head {}; expected head is record {seq}{}",
            log.display(),
            summary.records,
            summary.scans,
            summary.head,
            match summary.seq - seq {
                0 => String::new(),
                n => format!(", {n} records appended since"),
            }
        );
    } else {
        println!(
            "{}: OK, {} records ({} scans), head {}",
            log.display(),
            summary.records,
            summary.scans,
            summary.head
        );
        eprintln!(
            "note: records cut off the end leave a valid chain; check against a head recorded \
             elsewhere (a report's) with --expect-head"
        );
    }
    Ok(exit::CLEAN)
}

fn run_show(args: ShowArgs) -> anyhow::Result<u8> {
    let mut scans = Vec::new();
    // The table is printed only once the whole log verified: a listing of a
    // tampered log would lend it credibility.
    let result = for_each_record(&args.log, |e| {
        if let Record::Scan(s) = &e.record
            && scan_included(s, args.since)
        {
            scans.push((**s).clone());
        }
        Ok(())
    });
    if let Err(e) = result {
        return broken_or_error(&args.log, e);
    }
    if scans.is_empty() {
        eprintln!("{}: no scans", args.log.display());
        return Ok(exit::CLEAN);
    }
    ignore_broken_pipe(io::stdout().lock().write_all(scan_table(&scans).as_bytes()))?;
    Ok(exit::CLEAN)
}

fn run_export(args: ExportArgs) -> anyhow::Result<u8> {
    let log = &args.log;
    if let Some(out) = &args.output
        && same_file(out, log)
    {
        bail!(
            "{}: is the audit log itself; choose another file",
            out.display()
        );
    }
    // Verify first so nothing of a broken log is exported, then export
    // exactly the bytes that verified (scans may be appended meanwhile).
    let summary = match verify(log) {
        Ok(s) => s,
        Err(e) => return broken_or_error(log, e),
    };
    match &args.output {
        Some(path) => {
            let file = AtomicFile::create(path)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            let (file, scans, rows) = export_to(log, summary.bytes, args.since, file)?;
            file.commit()
                .with_context(|| format!("{}: cannot write", path.display()))?;
            eprintln!(
                "crmguard: wrote {} ({scans} scans, {rows} quarantined rows)",
                path.display()
            );
        }
        None => {
            let out = io::BufWriter::new(io::stdout().lock());
            match export_to(log, summary.bytes, args.since, out) {
                Ok((mut out, _, _)) => ignore_broken_pipe(out.flush())?,
                // `crmguard audit export | head` is not an error.
                Err(e) if is_broken_pipe(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(exit::CLEAN)
}

fn export_to<W: Write>(
    log: &Path,
    bytes: u64,
    since: Option<jiff::Timestamp>,
    out: W,
) -> anyhow::Result<(W, u64, u64)> {
    let mut csv = CsvExport::new(out, since)?;
    match for_each_record_upto(log, bytes, |e| csv.push(e)) {
        Ok(_) => {}
        Err(VerifyError::Io(e)) => return Err(e.into()),
        Err(VerifyError::Broken(b)) => {
            bail!("{}:{b} (the log changed during the export)", log.display())
        }
    }
    let (scans, rows) = (csv.scans, csv.rows);
    Ok((csv.finish()?, scans, rows))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `crmguard audit show | head` is not an error.
fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
