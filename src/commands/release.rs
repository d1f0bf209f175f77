//! `crmguard release`: let quarantined rows go, recording who approved
//! them and why (docs/approvals.md).

use std::path::PathBuf;

use anyhow::bail;

use crate::errln;
use crate::error::exit;
use crate::policy::Policy;
use crate::release::{Request, Selection, parse_rows, release, row_ranges};
use crate::spec::Reason;
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A quarantine file a scan wrote (NAME.quarantine.EXT)
    #[arg(value_name = "QUARANTINE_FILE")]
    pub quarantine: PathBuf,
    /// The rows to release, by crmguard_row: 3,7-9
    #[arg(long, value_name = "ROWS", value_parser = row_list,
          required_unless_present = "all_with", conflicts_with = "all_with")]
    pub rows: Option<RowList>,
    /// Release every row carrying this reason code
    #[arg(long, value_name = "CODE", value_parser = reason_code)]
    pub all_with: Option<Reason>,
    /// Who approves (recorded in the audit log)
    #[arg(long, value_name = "NAME")]
    pub approver: String,
    /// Why (recorded in the audit log)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Policy file, for [release] never [default: $CRMGUARD_POLICY, else the nearest crmguard.toml up to the repository root, else the built-in policy]
    #[arg(short, long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The audit log of the scan that wrote the quarantine file [default: the nearest crmguard-audit.jsonl in its folder or above]
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Where the released rows go [default: NAME.released.EXT beside the quarantine file]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RowList(Vec<(u64, u64)>);

fn row_list(s: &str) -> Result<RowList, String> {
    parse_rows(s).map(RowList)
}

fn reason_code(s: &str) -> Result<Reason, String> {
    Reason::from_code(s.trim())
        .ok_or_else(|| format!("{s:?} is not a row reason code (docs/reason-codes.md)"))
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let policy = Policy::discover(args.policy.as_deref())?;
    let dir = args
        .quarantine
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let log = args
        .audit_log
        .clone()
        .or_else(|| crate::audit::nearest_log(&dir))
        .unwrap_or_else(|| dir.join(crate::audit::DEFAULT_FILE_NAME));
    let output = match &args.output {
        Some(o) => o.clone(),
        None => released_name(&args.quarantine)?,
    };
    let selection = match (&args.rows, args.all_with) {
        (Some(RowList(r)), _) => Selection::Rows(r.clone()),
        (None, Some(code)) => Selection::AllWith(code),
        (None, None) => bail!("name the rows with --rows or --all-with"),
    };
    let done = release(&Request {
        quarantine: &args.quarantine,
        selection: &selection,
        approver: &args.approver,
        reason: &args.reason,
        log: &log,
        output: &output,
        policy: &policy,
    })?;
    errln!(
        "crmguard: released {} row{} of scan {} ({}) to {}; approval {} is record {} of {}",
        done.rows.len(),
        if done.rows.len() == 1 { "" } else { "s" },
        done.scan_id,
        row_ranges(done.rows.iter().copied()),
        terminal::path(&done.output),
        done.approval_id,
        done.approval_seq,
        terminal::path(&log)
    );
    Ok(exit::CLEAN)
}

/// `NAME.quarantine.EXT` → `NAME.released.EXT`, beside it, NAME and EXT
/// byte for byte (a name need not be UTF-8).
fn released_name(quarantine: &std::path::Path) -> anyhow::Result<PathBuf> {
    const MIDDLE: &[u8] = b".quarantine.";
    let name = quarantine
        .file_name()
        .unwrap_or_default()
        .as_encoded_bytes();
    match memchr::memmem::rfind(name, MIDDLE) {
        Some(i) => {
            let mut released = name[..i].to_vec();
            released.extend_from_slice(b".released.");
            released.extend_from_slice(&name[i + MIDDLE.len()..]);
            // SAFETY: the bytes are an OsStr's cut at an ASCII substring and
            // joined with ASCII, which from_encoded_bytes_unchecked allows.
            let released = unsafe { std::ffi::OsString::from_encoded_bytes_unchecked(released) };
            Ok(quarantine.with_file_name(released))
        }
        None => bail!(
            "{}: not named NAME.quarantine.EXT; name the released file with --output",
            terminal::path(quarantine)
        ),
    }
}
