//! Reading the log for people: the scan table of `crmguard audit show` and
//! the CSV of `crmguard audit export`, which a compliance lead opens in a
//! spreadsheet.

use std::borrow::Cow;
use std::io::{self, Write};

use super::record::{
    ApprovalRecord, CommitRecord, Entry, LEGACY_VERSION, Record, RecoveryRecord, RowRecord,
    ScanRecord,
};
use crate::terminal::escape;

/// `--since`: a date (`2026-11-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_since(s: &str) -> Result<jiff::Timestamp, String> {
    let s = s.trim();
    if let Ok(date) = s.parse::<jiff::civil::Date>()
        && s.len() == 10
    {
        // jiff's instants end on 9999-12-30 at 22:00 UTC, so the last
        // day's midnight is none; no scan starts that late, and the day is
        // a valid date, not an error in jiff's words.
        return Ok(date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map_or(jiff::Timestamp::MAX, |z| z.timestamp()));
    }
    crate::rules::parse_timestamp(s).ok_or_else(|| {
        format!("{s:?} is neither a date (2026-11-01) nor an RFC 3339 time with an offset")
    })
}

/// Whether a scan is on or after `since`. A scan whose time does not parse
/// is kept: a filter must not hide what it cannot judge.
pub fn scan_included(scan: &ScanRecord, since: Option<jiff::Timestamp>) -> bool {
    at_included(&scan.at, since)
}

/// Whether a record made `at` is on or after `since`; kept when `at` does
/// not parse.
pub fn at_included(at: &str, since: Option<jiff::Timestamp>) -> bool {
    match (since, at.parse::<jiff::Timestamp>()) {
        (Some(since), Ok(at)) => at >= since,
        _ => true,
    }
}

/// A cell a spreadsheet would run as a formula (or, for tab and CR, shift
/// into one) is prefixed with `'`, which spreadsheets show as text. Paths and
/// user names come from whoever ran the scan, so every cell goes through it.
pub fn neutralise(value: &str) -> Cow<'_, str> {
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// Columns of the export.
const N: usize = 28;

pub const CSV_COLUMNS: [&str; N] = [
    "seq",
    "record",
    "scan_id",
    "at",
    "user",
    "host",
    "input_path",
    "input_object",
    "input_bytes",
    "input_blake3",
    "policy_path",
    "policy_blake3",
    "row",
    "decision",
    "reasons",
    "row_blake3",
    "rows_total",
    "rows_clean",
    "rows_quarantined",
    "file_findings",
    "clean_blake3",
    "quarantine_blake3",
    "crmguard_version",
    "cleanup_blake3",
    "approval_id",
    "approver",
    "approval_reason",
    "released_blake3",
];

/// The CSV export: one line per scan, then one per quarantined row of that
/// scan, each row line repeating who, when and what file, so a filtered
/// spreadsheet still reads on its own.
pub struct CsvExport<W: Write> {
    out: csv::Writer<W>,
    since: Option<jiff::Timestamp>,
    /// The scan the next row records belong to, if it passed `since`.
    current: Option<ScanRecord>,
    /// The approval the next commit record closes, if it passed `since`.
    approval: Option<String>,
    pub scans: u64,
    pub rows: u64,
    pub approvals: u64,
}

impl<W: Write> CsvExport<W> {
    pub fn new(out: W, since: Option<jiff::Timestamp>) -> io::Result<CsvExport<W>> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(CSV_COLUMNS).map_err(csv_io)?;
        Ok(CsvExport {
            out,
            since,
            current: None,
            approval: None,
            scans: 0,
            rows: 0,
            approvals: 0,
        })
    }

    pub fn push(&mut self, entry: &Entry) -> io::Result<()> {
        let seq = entry.seq.to_string();
        match &entry.record {
            Record::Scan(scan) => self.scan(&seq, entry.version, scan),
            Record::Row(row) => self.row(&seq, row),
            Record::Approval(a) => self.approval(&seq, a),
            Record::Commit(c) if c.approval_id.is_some() => self.approval_commit(&seq, c),
            Record::Commit(c) => self.scan_commit(&seq, c),
            Record::Recovery(r) => self.recovery(&seq, r),
        }
    }

    /// A scan's line, if it is on or after `--since`; its rows follow only
    /// then.
    fn scan(&mut self, seq: &str, version: u64, scan: &ScanRecord) -> io::Result<()> {
        self.current = scan_included(scan, self.since).then(|| scan.clone());
        let Some(scan) = &self.current else {
            return Ok(());
        };
        let output = |kind: &str| {
            scan.outputs
                .iter()
                .find(|o| o.kind == kind)
                .map_or("", |o| o.blake3.as_str())
        };
        let reasons: Vec<String> = scan
            .reasons
            .iter()
            .map(|(c, n)| format!("{c}={n}"))
            .collect();
        let (bytes, total, clean, quarantined) = (
            scan.input.bytes.to_string(),
            scan.rows_total.to_string(),
            scan.rows_clean.to_string(),
            scan.rows_quarantined.to_string(),
        );
        let cells: [&str; N] = [
            seq,
            "scan",
            &scan.scan_id,
            &scan.at,
            &scan.user,
            &scan.host,
            &scan.input.path,
            scan.input.object.as_deref().unwrap_or(""),
            &bytes,
            &scan.input.blake3,
            scan.policy.path.as_deref().unwrap_or(""),
            &scan.policy.blake3,
            "",
            // A version 1 scan has no commit line: it was committed
            // with its last row record.
            if version == LEGACY_VERSION {
                "committed (v1)"
            } else {
                ""
            },
            &reasons.join(";"),
            "",
            &total,
            &clean,
            &quarantined,
            &scan.file_findings.join(";"),
            output("clean"),
            output("quarantine"),
            &scan.crmguard_version,
            output("cleanup"),
            "",
            "",
            "",
            "",
        ];
        self.scans += 1;
        write_cells(&mut self.out, &cells)
    }

    /// A quarantined row's line, with its scan's who, when and what file.
    fn row(&mut self, seq: &str, row: &RowRecord) -> io::Result<()> {
        let Some(scan) = &self.current else {
            return Ok(());
        };
        let number = row.row.to_string();
        let cells: [&str; N] = [
            seq,
            "row",
            &row.scan_id,
            &scan.at,
            &scan.user,
            &scan.host,
            &scan.input.path,
            scan.input.object.as_deref().unwrap_or(""),
            "",
            &scan.input.blake3,
            scan.policy.path.as_deref().unwrap_or(""),
            &scan.policy.blake3,
            &number,
            "quarantined",
            &row.reasons,
            &row.row_blake3,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ];
        self.rows += 1;
        write_cells(&mut self.out, &cells)
    }

    /// The commit that ends an approval's records.
    fn approval_commit(&mut self, seq: &str, c: &CommitRecord) -> io::Result<()> {
        let Some(id) = self.approval.take() else {
            return Ok(());
        };
        self.end_line(EndLine {
            seq,
            record: "commit",
            scan_id: "",
            at: &c.at,
            who: ("", ""),
            scan: None,
            decision: "committed",
            reasons: "",
            approval_id: &id,
        })
    }

    /// The commit that ends a scan's records.
    fn scan_commit(&mut self, seq: &str, c: &CommitRecord) -> io::Result<()> {
        let Some(scan) = self.current.take() else {
            return Ok(());
        };
        self.end_line(EndLine {
            seq,
            record: "commit",
            scan_id: &scan.scan_id,
            at: &c.at,
            who: (&scan.user, &scan.host),
            scan: Some(&scan),
            decision: "committed",
            reasons: "",
            approval_id: "",
        })
    }

    /// A recovery record closes the current scan (or approval), or stands
    /// alone after a cut.
    fn recovery(&mut self, seq: &str, r: &RecoveryRecord) -> io::Result<()> {
        let scan = self
            .current
            .take()
            .filter(|s| r.scan_id.as_ref() == Some(&s.scan_id));
        let approval = self
            .approval
            .take()
            .filter(|a| r.approval_id.as_ref() == Some(a));
        if scan.is_none() && approval.is_none() && !at_included(&r.at, self.since) {
            return Ok(());
        }
        let scan_id = r.scan_id.as_deref().unwrap_or("");
        let decision = format!("outputs {}", r.outputs);
        let cut = format!(
            "cut {} bytes ({} records), blake3 {}",
            r.cut_bytes, r.cut_records, r.cut_blake3
        );
        self.end_line(EndLine {
            seq,
            record: "recovery",
            scan_id,
            at: &r.at,
            who: (&r.user, &r.host),
            scan: scan.as_ref(),
            decision: &decision,
            reasons: &cut,
            approval_id: r.approval_id.as_deref().unwrap_or(""),
        })
    }

    /// An approval's line, then one per released row.
    fn approval(&mut self, seq: &str, a: &ApprovalRecord) -> io::Result<()> {
        if !at_included(&a.at, self.since) {
            return Ok(());
        }
        self.approval = Some(a.approval_id.clone());
        self.approvals += 1;
        let (rows, decision) = (
            a.rows.len().to_string(),
            format!("released {} rows", a.rows.len()),
        );
        let cells: [&str; N] = [
            seq,
            "approval",
            &a.scan_id,
            &a.at,
            &a.user,
            &a.host,
            "",
            "",
            "",
            "",
            a.policy.path.as_deref().unwrap_or(""),
            &a.policy.blake3,
            "",
            &decision,
            "",
            "",
            "",
            "",
            &rows,
            "",
            "",
            &a.quarantine.blake3,
            &a.crmguard_version,
            "",
            &a.approval_id,
            &a.approver,
            &a.reason,
            &a.released.blake3,
        ];
        write_cells(&mut self.out, &cells)?;
        for r in &a.rows {
            let number = r.row.to_string();
            let cells: [&str; N] = [
                seq,
                "release",
                &a.scan_id,
                &a.at,
                &a.user,
                &a.host,
                "",
                "",
                "",
                "",
                "",
                "",
                &number,
                "released",
                &r.reasons,
                &r.row_blake3,
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                &a.approval_id,
                &a.approver,
                &a.reason,
                "",
            ];
            write_cells(&mut self.out, &cells)?;
        }
        Ok(())
    }

    fn end_line(&mut self, l: EndLine<'_>) -> io::Result<()> {
        let from = |f: fn(&ScanRecord) -> &str| l.scan.map_or("", f);
        let cells: [&str; N] = [
            l.seq,
            l.record,
            l.scan_id,
            l.at,
            l.who.0,
            l.who.1,
            from(|s| &s.input.path),
            from(|s| s.input.object.as_deref().unwrap_or("")),
            "",
            from(|s| &s.input.blake3),
            from(|s| s.policy.path.as_deref().unwrap_or("")),
            from(|s| &s.policy.blake3),
            "",
            l.decision,
            l.reasons,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            l.approval_id,
            "",
            "",
            "",
        ];
        write_cells(&mut self.out, &cells)
    }

    /// Flushes and hands back the writer.
    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

/// The line of a record that ends an append: a commit, or a recovery
/// (`reasons` then says what was cut). `who` made the record; `scan` is the
/// scan it ends, for its input and policy columns.
struct EndLine<'a> {
    seq: &'a str,
    record: &'a str,
    scan_id: &'a str,
    at: &'a str,
    who: (&'a str, &'a str),
    scan: Option<&'a ScanRecord>,
    decision: &'a str,
    reasons: &'a str,
    /// The approval the line closes, for an approval's commit.
    approval_id: &'a str,
}

fn write_cells(out: &mut csv::Writer<impl Write>, cells: &[&str; N]) -> io::Result<()> {
    out.write_record(cells.iter().map(|c| neutralise(c).into_owned()))
        .map_err(csv_io)
}

/// The I/O error itself when there is one, so callers can tell a closed
/// pipe from a full disk.
fn csv_io(e: csv::Error) -> io::Error {
    if !e.is_io_error() {
        return io::Error::other(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        _ => io::Error::other("cannot write CSV"),
    }
}

/// `2026-11-27 04:00:00` from an RFC 3339 time; anything else escaped.
fn table_time(at: &str) -> String {
    at.parse::<jiff::Timestamp>().map_or_else(
        |_| escape(at).into_owned(),
        |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    )
}

/// The scans as an aligned table, one line each, with a header: each with
/// its status (`committed`, or why not).
pub fn scan_table(scans: &[(ScanRecord, &str)]) -> String {
    let header = [
        "TIME (UTC)",
        "SCAN",
        "USER@HOST",
        "INPUT",
        "ROWS",
        "CLEAN",
        "QUARANTINED",
        "STATUS",
        "TOP REASONS",
    ];
    let right = [false, false, false, false, true, true, true, false, false];
    let mut rows: Vec<Vec<String>> = vec![header.map(String::from).to_vec()];
    for (s, status) in scans {
        let mut reasons: Vec<(&String, &u64)> = s.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut top: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        if reasons.len() > 3 {
            top.push(format!("+{} more", reasons.len() - 3));
        }
        rows.push(vec![
            table_time(&s.at),
            s.scan_id.chars().take(12).collect(),
            escape(&format!("{}@{}", s.user, s.host)).into_owned(),
            escape(&s.input.path).into_owned(),
            s.rows_total.to_string(),
            s.rows_clean.to_string(),
            s.rows_quarantined.to_string(),
            status.to_string(),
            top.join(", "),
        ]);
    }
    align(&rows, &right)
}

/// The approvals (`crmguard release`) as an aligned table, like the scans.
pub fn approval_table(approvals: &[(ApprovalRecord, &str)]) -> String {
    let header = [
        "TIME (UTC)",
        "APPROVAL",
        "APPROVER",
        "USER@HOST",
        "OF SCAN",
        "ROWS",
        "STATUS",
        "REASON",
    ];
    let right = [false, false, false, false, false, true, false, false];
    let mut rows: Vec<Vec<String>> = vec![header.map(String::from).to_vec()];
    for (a, status) in approvals {
        rows.push(vec![
            table_time(&a.at),
            a.approval_id.chars().take(12).collect(),
            escape(&a.approver).into_owned(),
            escape(&format!("{}@{}", a.user, a.host)).into_owned(),
            a.scan_id.chars().take(12).collect(),
            a.rows.len().to_string(),
            status.to_string(),
            escape(&a.reason).into_owned(),
        ]);
    }
    align(&rows, &right)
}

/// Lines of cells padded to their column's width (`right`: right-aligned).
fn align(rows: &[Vec<String>], right: &[bool]) -> String {
    let mut widths = vec![0usize; right.len()];
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i > 0 {
                line.push_str("  ");
            }
            if right[i] {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i + 1 < r.len() {
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for ok in ["", "a=b", "1", "'x", " =x"] {
            assert_eq!(neutralise(ok), ok);
        }
    }

    #[test]
    fn since_takes_a_date_or_a_time() {
        assert_eq!(
            parse_since("2026-11-01").unwrap(),
            "2026-11-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
        );
        assert_eq!(
            parse_since("2026-11-01T02:00:00+02:00").unwrap(),
            "2026-11-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
        );
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-13-01").is_err());
        assert!(parse_since("2026-11-01T00:00:00").is_err(), "no offset");
    }
}
