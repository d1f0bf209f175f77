//! `crmguard release`: an approver lets quarantined rows go (docs/approvals.md).
//!
//! The rows are read back from the quarantine file, crmguard's columns taken
//! off, and each one's bytes checked against the blake3 its scan recorded
//! in the audit log: what is released is exactly what was scanned. The
//! quarantine file itself must be the one its scan recorded. Rows whose
//! reasons the policy never releases are refused, as are rows released
//! before. The released file and an approval record are committed together,
//! as a scan's outputs are.

mod rows;

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::audit::{
    ApprovalRecord, AuditLog, Entry, FileRef, Head, OutputRef, Pending, PolicyRef, Record,
    ReleasedRow, VerifyError, VerifySummary, for_each_record,
};
use crate::input::{Format, Terminator, open_input, reader_for};
use crate::output::{AtomicFile, Finished, Mode, same_file};
use crate::policy::{Policy, PolicySource};
use crate::spec::Reason;
use crate::terminal;

/// Rows one release may hold: the approval record lists each row's hash,
/// and a record must stay well under the log's line bound.
pub const MAX_ROWS: usize = 5000;

/// Which rows to release, by `crmguard_row`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `--rows 3,7-9`: inclusive ranges.
    Rows(Vec<(u64, u64)>),
    /// `--all-with CODE`: every row carrying the code.
    AllWith(Reason),
}

impl Selection {
    fn wants(&self, row: u64, reasons: &str) -> bool {
        match self {
            Selection::Rows(ranges) => ranges.iter().any(|(a, b)| (*a..=*b).contains(&row)),
            Selection::AllWith(code) => reasons.split(';').any(|c| c == code.code()),
        }
    }
}

/// `3,7-9` into ranges; more than [`MAX_ROWS`] rows is an error.
pub fn parse_rows(s: &str) -> Result<Vec<(u64, u64)>, String> {
    let mut ranges = Vec::new();
    let mut total = 0u64;
    for part in s.split(',').map(str::trim) {
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{t:?} is not a row number (1, 2, …)"))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if a > b {
            return Err(format!("{part:?}: the range goes backwards"));
        }
        ranges.push((a, b));
    }
    // Rows named twice (`1-5000,1`) are one row each: the cap is on rows
    // released, not on how the list spells them.
    let mut sorted = ranges.clone();
    sorted.sort_unstable();
    let mut end = 0u64;
    for (a, b) in sorted {
        let from = a.max(end.saturating_add(1));
        if b >= from {
            // One range may span all of u64 (`1-18446744073709551615`): a
            // sum that wrapped would let the list through under the cap.
            total = total.saturating_add(b - from + 1);
        }
        end = end.max(b);
    }
    if total > MAX_ROWS as u64 {
        return Err(format!(
            "more than {MAX_ROWS} rows: release them in batches"
        ));
    }
    Ok(ranges)
}

/// Ranges a message lists before it sums up the rest.
const SHOWN_RANGES: usize = 5;

/// Row numbers as ranges, `1, 3, 7-9`, the first few only and then how
/// many rows are left (`(+2990 more)`): a release may name 5000 rows, and a
/// message must stay one readable line.
pub fn row_ranges(rows: impl IntoIterator<Item = u64>) -> String {
    let mut rows: Vec<u64> = rows.into_iter().collect();
    rows.sort_unstable();
    rows.dedup();
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for r in rows {
        match ranges.last_mut() {
            Some((_, b)) if *b + 1 == r => *b = r,
            _ => ranges.push((r, r)),
        }
    }
    let text: Vec<String> = ranges
        .iter()
        .take(SHOWN_RANGES)
        .map(|&(a, b)| match a == b {
            true => a.to_string(),
            false => format!("{a}-{b}"),
        })
        .collect();
    let rest: u64 = ranges
        .iter()
        .skip(SHOWN_RANGES)
        .map(|(a, b)| b - a + 1)
        .sum();
    let mut text = text.join(", ");
    if rest > 0 {
        text.push_str(&format!(" (+{rest} more)"));
    }
    text
}

/// One release.
pub struct Request<'a> {
    pub quarantine: &'a Path,
    pub selection: &'a Selection,
    pub approver: &'a str,
    pub reason: &'a str,
    pub log: &'a Path,
    pub output: &'a Path,
    pub policy: &'a Policy,
}

/// What a release did.
#[derive(Debug)]
pub struct Released {
    pub approval_id: String,
    /// The scan that quarantined the rows.
    pub scan_id: String,
    pub rows: Vec<u64>,
    pub output: PathBuf,
    /// The approval record's `seq`.
    pub approval_seq: u64,
    /// The approval's commit record.
    pub head: Head,
}

/// A row picked from the quarantine file, with its input bytes.
struct Picked {
    row: u64,
    reasons: String,
    bytes: Vec<u8>,
    terminator: Terminator,
}

/// What the quarantine file holds for the release.
struct Quarantine {
    format: Format,
    /// The CSV header without crmguard's columns, and its terminator.
    header: Option<(Vec<u8>, Terminator)>,
    picked: Vec<Picked>,
    blake3: String,
}

/// The approver's name or the reason, as the audit log keeps it for good:
/// something said, on one line, that a spreadsheet or a terminal shows as
/// typed.
fn signature(what: &str, value: &str, max_chars: usize) -> anyhow::Result<()> {
    if value.trim().is_empty() {
        bail!("{what} is empty: the audit log must say who approved and why");
    }
    if value.chars().any(char::is_control) {
        bail!("{what} holds a control character (a line break, a tab, a terminal escape)");
    }
    if value.chars().count() > max_chars {
        bail!("{what} is over {max_chars} characters");
    }
    Ok(())
}

/// Releases the selected rows (module docs); nothing is written or
/// recorded unless every check passes.
pub fn release(req: &Request) -> anyhow::Result<Released> {
    let shown = terminal::path(req.quarantine);
    signature("--approver", req.approver, 200)?;
    signature("--reason", req.reason, 2_000)?;
    // The released file and its approval are committed both or neither;
    // bytes sent down a pipe cannot be taken back if the commit fails, nor
    // the approval if the pipe breaks (`scan --out-dir -` is refused alike).
    if req.output.as_os_str() == "-" {
        bail!(
            "--output -: released rows go to a file, committed with their approval record, not to stdout; name a file"
        );
    }
    for other in [req.quarantine, req.log] {
        if same_file(req.output, other) || req.output == other {
            bail!(
                "{}: is {}; choose another --output",
                terminal::path(req.output),
                terminal::path(other)
            );
        }
    }
    let q = read_quarantine(req)?;
    let scan = find_scan(req.log, req.quarantine, &q, |f| for_each_record(req.log, f))?;
    check(&q, &scan, req.policy, req.selection)
        .with_context(|| format!("{shown}: refusing to release"))?;
    // After the checks: the same release run twice is refused for what it
    // is, rows released already, not for the file the first run wrote.
    // (persist_new still refuses a file that appears meanwhile.)
    if std::fs::symlink_metadata(req.output).is_ok() {
        bail!(
            "{}: already exists; a release never overwrites (choose another name with --output)",
            terminal::path(req.output)
        );
    }
    write_and_record(req, q, scan)
}

/// Reads the quarantine file: the selected rows' input bytes, and the
/// file's blake3.
fn read_quarantine(req: &Request) -> anyhow::Result<Quarantine> {
    let path = req.quarantine;
    let shown = terminal::path(path);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut format = Format::from_extension(ext).with_context(|| {
        format!("{shown}: not a quarantine file crmguard writes (.csv, .tsv, .json, .ndjson)")
    })?;
    if let Format::Csv { delimiter } = &mut format {
        let mut head = vec![0u8; 64 * 1024];
        let n = std::io::Read::read(
            &mut std::fs::File::open(path).with_context(|| format!("{shown}: cannot open"))?,
            &mut head,
        )?;
        *delimiter = rows::sniff_delimiter(&head[..n]).with_context(|| {
            format!("{shown}: no crmguard_row and crmguard_reasons columns: not a quarantine file")
        })?;
    }
    let src = open_input(path, None)?;
    let stats = src.stats.clone();
    // A quarantined row is the input's record plus crmguard's columns,
    // whose evidence text can run to a few hundred KiB at most.
    let limit = req.policy.max_record_bytes.saturating_add(1 << 20);
    let mut reader = reader_for(format, src.reader, path, limit)?;
    let (k, header) = match (reader.header(), format) {
        (Some(h), Format::Csv { delimiter }) => {
            let k = rows::added_columns(&h.names);
            let raw = rows::strip_csv(&h.raw, delimiter, k)
                .filter(|_| k >= 2)
                .with_context(|| format!("{shown}: its header ends without crmguard's columns"))?;
            (k, Some((raw.to_vec(), h.terminator)))
        }
        _ => (0, None),
    };
    let mut picked = Vec::new();
    let mut row = crate::input::Row::default();
    while reader.read_row(&mut row)? {
        let Some((number, reasons)) = rows::crmguard_values(&row, k) else {
            bail!(
                "{shown}:{}: no crmguard_row and crmguard_reasons: not a row crmguard quarantined",
                row.line
            );
        };
        if !req.selection.wants(number, &reasons) {
            continue;
        }
        if picked.len() == MAX_ROWS {
            bail!(
                "{shown}: more than {MAX_ROWS} rows selected: release them in batches with --rows"
            );
        }
        let bytes = match format {
            Format::Csv { delimiter } => {
                rows::strip_csv(&row.raw, delimiter, k).map(<[u8]>::to_vec)
            }
            Format::Json | Format::Ndjson => rows::strip_json(&row.raw),
            Format::Parquet => None,
        };
        let Some(bytes) = bytes else {
            bail!(
                "{shown}:{}: row {number} does not end with crmguard's values",
                row.line
            );
        };
        picked.push(Picked {
            row: number,
            reasons,
            bytes,
            terminator: row.terminator,
        });
    }
    Ok(Quarantine {
        format,
        header,
        picked,
        blake3: stats.blake3(),
    })
}

/// How many trailing names two paths share: the log records a path as the
/// scan was given it, from a directory release cannot know.
fn shared_tail(a: &Path, b: &Path) -> usize {
    use std::path::Component::Normal;
    let names = |p: &Path| -> Vec<std::ffi::OsString> {
        (p.components())
            .filter_map(|c| match c {
                Normal(n) => Some(n.to_owned()),
                _ => None,
            })
            .collect()
    };
    let b = std::path::absolute(b).unwrap_or_else(|_| b.to_owned());
    let (a, b) = (names(a), names(&b));
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The scan that wrote the quarantine file, as the log records it.
struct ScanMatch {
    scan_id: String,
    quarantine_path: String,
    /// `row_blake3` of the picked rows.
    hashes: HashMap<u64, String>,
    /// Rows an earlier approval released, with how it says so: committed,
    /// or perhaps (its process died while committing).
    released: HashMap<u64, String>,
    /// The log's length when it was read.
    log_bytes: u64,
}

/// The walk through the log for the scan that wrote a quarantine file.
#[derive(Default)]
struct Walk {
    /// The matching scan whose records are being read, and whether it is
    /// committed (a version 1 scan is, by its rows).
    current: Option<(ScanMatch, bool)>,
    /// The last matching scan that committed.
    best: Option<ScanMatch>,
    /// The last matching scan that did not.
    uncommitted: Option<String>,
    /// An approval waiting for its commit record.
    approval: Option<ApprovalRecord>,
}

/// An approval whose crmguard died between its record and its commit
/// record: its released file may be in place, and may have been imported.
fn perhaps(a: &ApprovalRecord) -> String {
    format!(
        "perhaps, by approval {}, whose crmguard died while committing {} (outputs unknown); \
         scan the input again to release its rows from a new quarantine file",
        a.approval_id,
        terminal::path(Path::new(&a.released.path))
    )
}

impl Walk {
    /// The current scan's records are over.
    fn close(&mut self) {
        match self.current.take() {
            Some((m, true)) => self.best = Some(m),
            Some((m, false)) => self.uncommitted = Some(m.scan_id),
            None => {}
        }
    }

    /// The rows approval `a` released count as released for its scan, if
    /// that scan is the one matched.
    fn released(&mut self, a: &ApprovalRecord, how: String) {
        if let Some(m) = self.best.as_mut().filter(|m| m.scan_id == a.scan_id) {
            for r in &a.rows {
                m.released.insert(r.row, how.clone());
            }
        }
    }

    /// The log is over. An approval without its commit record counts as
    /// released: its process died after its record (the next append
    /// records that), or is committing now.
    fn end(&mut self) {
        self.close();
        if let Some(a) = self.approval.take() {
            self.released(&a, perhaps(&a));
        }
    }

    fn push(&mut self, e: &crate::audit::Entry, q: &Quarantine, wanted: &HashSet<u64>) {
        match &e.record {
            Record::Scan(s) => {
                self.close();
                if let Some(o) = s
                    .outputs
                    .iter()
                    .find(|o| o.kind == "quarantine" && o.blake3 == q.blake3)
                {
                    let m = ScanMatch {
                        scan_id: s.scan_id.clone(),
                        quarantine_path: o.path.clone(),
                        hashes: HashMap::new(),
                        released: HashMap::new(),
                        log_bytes: 0,
                    };
                    self.current = Some((m, e.version == crate::audit::LEGACY_VERSION));
                }
            }
            Record::Row(r) => {
                if let Some((m, _)) = &mut self.current
                    && r.scan_id == m.scan_id
                    && wanted.contains(&r.row)
                {
                    m.hashes.insert(r.row, r.row_blake3.clone());
                }
            }
            Record::Commit(c) => {
                if let Some((m, committed)) = &mut self.current
                    && c.scan_id.as_ref() == Some(&m.scan_id)
                {
                    *committed = true;
                }
                self.close();
                let approval = self
                    .approval
                    .take()
                    .filter(|a| c.approval_id.as_ref() == Some(&a.approval_id));
                if let Some(a) = approval {
                    self.released(&a, format!("by approval {}", a.approval_id));
                }
            }
            Record::Approval(a) => {
                self.close();
                self.approval = Some((**a).clone());
            }
            Record::Recovery(r) => {
                self.close();
                // `unknown`: the released file was perhaps renamed into
                // place before the process died; releasing the rows again
                // could put them into the CRM twice.
                let approval = self.approval.take().filter(|a| {
                    r.approval_id.as_ref() == Some(&a.approval_id)
                        && r.outputs == crate::audit::OUTPUTS_UNKNOWN
                });
                if let Some(a) = approval {
                    self.released(&a, perhaps(&a));
                }
            }
        }
    }
}

/// Finds, in a log that verifies, the committed scan whose quarantine
/// output has the file's blake3 (the last, if several). `records` walks the
/// log: as it stands, or under the approval's lock.
fn find_scan(
    log: &Path,
    path: &Path,
    q: &Quarantine,
    records: impl FnOnce(
        &mut dyn FnMut(&Entry) -> std::io::Result<()>,
    ) -> Result<VerifySummary, VerifyError>,
) -> anyhow::Result<ScanMatch> {
    let shown = terminal::path(path);
    let wanted: HashSet<u64> = q.picked.iter().map(|p| p.row).collect();
    let name = path.file_name();
    // The last scan that wrote a quarantine file of this name, and its
    // hash; of those, the one whose path ends most like this one's: one
    // run writes `leads.quarantine.csv` into a folder per input directory
    // when two inputs are named alike.
    let mut same_name: Option<(usize, String, String)> = None;
    let mut walk = Walk::default();
    let walked = records(&mut |e| {
        if let Record::Scan(s) = &e.record
            && let Some(o) = s.outputs.iter().find(|o| o.kind == "quarantine")
            && Path::new(&o.path).file_name() == name
        {
            let tail = shared_tail(Path::new(&o.path), path);
            if same_name.as_ref().is_none_or(|(best, ..)| tail >= *best) {
                same_name = Some((tail, s.scan_id.clone(), o.blake3.clone()));
            }
        }
        walk.push(e, q, &wanted);
        Ok(())
    });
    walk.end();
    let log_bytes = match walked {
        Ok(summary) => summary.bytes,
        Err(VerifyError::Broken(b)) => bail!(
            "{}:{b}; refusing to release against a broken audit log (see `crmguard audit verify`)",
            terminal::path(log)
        ),
        Err(VerifyError::Io(e)) => {
            return Err(
                anyhow::Error::new(e).context(format!("{}: cannot read", terminal::path(log)))
            );
        }
    };
    match (walk.best, walk.uncommitted, same_name) {
        (Some(m), _, _) => Ok(ScanMatch { log_bytes, ..m }),
        (None, Some(id), _) => bail!(
            "{shown}: scan {id} that wrote it has no commit record in {}: its outputs were never vouched for",
            terminal::path(log)
        ),
        (None, None, Some((_, id, hash))) => bail!(
            "{shown}: changed since scan {id} wrote it (blake3 {hash} in {}, {} now): refusing to release",
            terminal::path(log),
            q.blake3
        ),
        (None, None, None) => bail!(
            "{shown}: no scan in {} wrote this quarantine file (blake3 {}); name the scan's log with --audit-log",
            terminal::path(log),
            q.blake3
        ),
    }
}

/// Every check a release must pass, all failures named.
fn check(
    q: &Quarantine,
    scan: &ScanMatch,
    policy: &Policy,
    selection: &Selection,
) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    if let Selection::Rows(ranges) = selection {
        let got: HashSet<u64> = q.picked.iter().map(|p| p.row).collect();
        let missing: Vec<u64> = ranges
            .iter()
            .flat_map(|(a, b)| *a..=*b)
            .filter(|r| !got.contains(r))
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "not in the quarantine file: row{} {}",
                if missing.len() == 1 { "" } else { "s" },
                row_ranges(missing)
            ));
        }
    }
    if q.picked.is_empty() && problems.is_empty() {
        problems.push("no row is selected".into());
    }
    for p in &q.picked {
        let never: Vec<&str> = p
            .reasons
            .split(';')
            .filter_map(Reason::from_code)
            .filter(|r| policy.never_release.contains(*r) || *r == Reason::MalformedRow)
            .map(Reason::code)
            .collect();
        if !never.is_empty() {
            problems.push(format!(
                "row {}: {} is never released ([release] never in the policy)",
                p.row,
                never.join(", ")
            ));
        }
        if let Some(how) = scan.released.get(&p.row) {
            problems.push(format!("row {}: released already, {how}", p.row));
        }
        let hash = blake3::hash(&p.bytes).to_hex();
        match scan.hashes.get(&p.row) {
            Some(h) if h.as_str() == hash.as_str() => {}
            Some(_) => problems.push(format!(
                "row {}: its bytes in the quarantine file are not the ones scan {} recorded",
                p.row, scan.scan_id
            )),
            None => problems.push(format!(
                "row {}: scan {} has no record of it",
                p.row, scan.scan_id
            )),
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    // One problem per row can mean thousands: the first few say what is
    // wrong, a count says how much.
    let more = problems.len().saturating_sub(SHOWN_RANGES);
    problems.truncate(SHOWN_RANGES);
    if more > 0 {
        problems.push(format!("{more} more problems"));
    }
    bail!("{}", problems.join("; "))
}

/// Writes the released file and records the approval, both or neither.
fn write_and_record(req: &Request, q: Quarantine, scan: ScanMatch) -> anyhow::Result<Released> {
    let out = req.output;
    let cannot = || format!("{}: cannot write", terminal::path(out));
    let finished = write_released(out, &q)?;
    let record = approval_record(req, &q, &scan, &finished);
    let approval_id = record.approval_id.clone();
    let mut pending =
        AuditLog::new(req.log).begin_approval(&record, |locked| recheck(req, &q, &scan, locked))?;
    pending.sync()?;
    let approval_seq = pending.head().seq;
    // Dropped on failure, `pending` takes the approval back out.
    finished.persist_new().with_context(cannot)?;
    crate::output::sync_parent(out).with_context(cannot)?;
    crate::hooks::pause("release", &std::sync::atomic::AtomicBool::new(false));
    let head = pending.commit().inspect_err(|_| {
        let _ = std::fs::remove_file(out);
    })?;
    Ok(Released {
        approval_id,
        scan_id: scan.scan_id,
        rows: q.picked.iter().map(|p| p.row).collect(),
        output: out.to_owned(),
        approval_seq,
        head,
    })
}

/// The checks again, under the log's lock, when the log grew since they were
/// made: a release of the same rows may have committed meanwhile, and only
/// under the lock can nothing slip in before this approval's commit.
fn recheck(
    req: &Request,
    q: &Quarantine,
    scan: &ScanMatch,
    locked: &Pending,
) -> anyhow::Result<()> {
    if locked.locked_len() == scan.log_bytes {
        return Ok(());
    }
    let shown = terminal::path(req.quarantine);
    let now = find_scan(req.log, req.quarantine, q, |f| locked.for_each_record(f))?;
    if now.scan_id != scan.scan_id {
        bail!(
            "{shown}: scan {} recorded the same quarantine file while releasing; run the release again",
            now.scan_id
        );
    }
    check(q, &now, req.policy, req.selection)
        .with_context(|| format!("{shown}: refusing to release"))
}

/// The released rows, for import like a clean file, written to a temp file
/// that takes `out`'s name only once the approval is recorded.
fn write_released(out: &Path, q: &Quarantine) -> anyhow::Result<Finished> {
    let cannot = || format!("{}: cannot write", terminal::path(out));
    let mut file = AtomicFile::create(out, Mode::Shared).with_context(cannot)?;
    match (q.format, &q.header) {
        (Format::Csv { .. }, Some((raw, term))) => {
            file.write_all(raw)?;
            file.write_all(term.bytes())?;
        }
        (Format::Json, _) => file.write_all(b"[")?,
        _ => {}
    }
    for (i, p) in q.picked.iter().enumerate() {
        match q.format {
            Format::Json => {
                file.write_all(if i == 0 { b"\n" } else { b",\n" })?;
                file.write_all(&p.bytes)?;
            }
            _ => {
                file.write_all(&p.bytes)?;
                // None for a last input row that had none (the quarantine
                // file keeps that): the row as it was read.
                file.write_all(p.terminator.bytes())?;
            }
        }
        file.rows += 1;
    }
    if q.format == Format::Json {
        file.write_all(b"\n]\n")?;
    }
    file.finish().with_context(cannot)
}

/// The approval record of a release: who released which rows of which scan,
/// why, and the file they went to.
fn approval_record(
    req: &Request,
    q: &Quarantine,
    scan: &ScanMatch,
    released: &Finished,
) -> ApprovalRecord {
    let at = jiff::Timestamp::now();
    let (user, host) = crate::audit::identity();
    let approval_id = {
        let mut h = blake3::Hasher::new();
        h.update(q.blake3.as_bytes());
        h.update(&at.as_nanosecond().to_le_bytes());
        h.update(&std::process::id().to_le_bytes());
        h.finalize().to_hex()[..20].to_string()
    };
    ApprovalRecord {
        approval_id,
        at: at.to_string(),
        user: user.clone(),
        host: host.clone(),
        crmguard_version: env!("CARGO_PKG_VERSION").to_string(),
        approver: req.approver.trim().to_string(),
        reason: req.reason.trim().to_string(),
        scan_id: scan.scan_id.clone(),
        quarantine: FileRef {
            path: scan.quarantine_path.clone(),
            blake3: q.blake3.clone(),
        },
        released: OutputRef {
            kind: "released".into(),
            path: req.output.to_string_lossy().into_owned(),
            rows: released.summary.rows,
            blake3: released.summary.blake3.clone(),
        },
        policy: PolicyRef {
            path: match &req.policy.source {
                PolicySource::BuiltIn => None,
                PolicySource::File(p) => Some(p.to_string_lossy().into_owned()),
            },
            blake3: req.policy.blake3.clone(),
        },
        rows: q
            .picked
            .iter()
            .map(|p| ReleasedRow {
                row: p.row,
                reasons: p.reasons.clone(),
                row_blake3: scan.hashes[&p.row].clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_lists_and_ranges() {
        assert_eq!(parse_rows("3,7-9").unwrap(), vec![(3, 3), (7, 9)]);
        assert_eq!(parse_rows(" 1 , 2 ").unwrap(), vec![(1, 1), (2, 2)]);
        for bad in ["", "0", "9-7", "a", "1,,2", "-3"] {
            assert!(parse_rows(bad).is_err(), "{bad:?}");
        }
        assert!(parse_rows("1-5001").unwrap_err().contains("batches"));
        let all = format!("1,1-{}", u64::MAX);
        assert!(parse_rows(&all).unwrap_err().contains("batches"));
        let all = format!("{m}-{m},1-{m}", m = u64::MAX);
        assert!(parse_rows(&all).unwrap_err().contains("batches"));
        assert_eq!(parse_rows("1-5000,1,2500-3000").unwrap().len(), 3);
        assert!(parse_rows("1-5000,5001").unwrap_err().contains("batches"));
        assert!(parse_rows("4000-5000,1-3999,3999-4001").is_ok());
        let s = Selection::Rows(vec![(3, 3), (7, 9)]);
        assert!(s.wants(8, "") && !s.wants(4, ""));
        let s = Selection::AllWith(Reason::ApprovalRequired);
        assert!(s.wants(1, "UNDISCLOSED_AI_TEXT;APPROVAL_REQUIRED"));
        assert!(!s.wants(1, "APPROVAL_REQUIRED_X"));
    }

    #[test]
    fn row_lists_read_as_a_few_ranges() {
        assert_eq!(row_ranges([3, 1, 7, 8, 9, 1]), "1, 3, 7-9");
        assert_eq!(row_ranges(2..=3000), "2-3000");
        assert_eq!(row_ranges([]), "");
        let odd = (1..=5000).filter(|r| r % 2 == 1);
        assert_eq!(row_ranges(odd), "1, 3, 5, 7, 9 (+2495 more)");
    }
}
