//! Verifying the chain: every line checks on its own (record.rs), `seq`
//! counts up from 1, each `prev` is the previous line's hash, and the
//! records come in appends: a scan record, exactly its quarantined rows'
//! records, then its commit record (or the recovery record a later append
//! wrote when the scan's process had died); or a recovery record alone,
//! where an unfinished append was cut off.
//!
//! A log may begin with records of version 1, which the releases before
//! the commit protocol wrote: scan and row records only. A version 1 scan
//! counts as committed once all its row records are there, as those
//! releases promised (they appended the records before any output
//! appeared); version 2 records may follow them, never the other way round.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use std::collections::HashSet;

use super::record::{
    Block, Entry, GENESIS, LEGACY_VERSION, MAX_LINE, Record, RowRecord, check_line,
};

/// The first broken record of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// 1-based line in the log.
    pub line: u64,
    /// The record's `seq`, or the one expected there when the line has none.
    pub seq: u64,
    pub what: String,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: record {}: {}", self.line, self.seq, self.what)
    }
}

impl std::error::Error for Broken {}

/// Why a log could not be verified: it could not be read, or it is broken.
#[derive(Debug)]
pub enum VerifyError {
    Io(io::Error),
    Broken(Broken),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Io(e) => e.fmt(f),
            VerifyError::Broken(b) => b.fmt(f),
        }
    }
}

impl std::error::Error for VerifyError {}

impl From<io::Error> for VerifyError {
    fn from(e: io::Error) -> VerifyError {
        VerifyError::Io(e)
    }
}

impl From<Broken> for VerifyError {
    fn from(b: Broken) -> VerifyError {
        VerifyError::Broken(b)
    }
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifySummary {
    pub records: u64,
    pub scans: u64,
    /// Scans with a commit record: their outputs were put in place. Version
    /// 1 scans whose rows are all there count too.
    pub committed: u64,
    /// Of the scans, those recorded by a release before the commit
    /// protocol (version 1 records).
    pub legacy: u64,
    /// Recovery records: appends a killed process left unfinished.
    pub recoveries: u64,
    /// Approval records (`crmguard release`).
    pub approvals: u64,
    /// The last scan (or approval), when its records are complete but
    /// nothing follows them: its process died before committing, and no
    /// append since has recorded that. `(line, "scan ID")`.
    pub unfinished: Option<(u64, String)>,
    /// `seq` of the last record (0 for an empty log).
    pub seq: u64,
    /// Hash of the last record, hex (64 zeros for an empty log).
    pub head: String,
    /// Bytes verified: the log's length when verification began. Records
    /// appended meanwhile are not covered.
    pub bytes: u64,
}

/// An append whose records are not closed yet: a scan and its rows, or
/// an approval.
struct OpenScan {
    line: u64,
    seq: u64,
    scan_id: String,
    /// An approval (`scan_id` is then the approval's id): no rows follow.
    approval: bool,
    expected: u64,
    seen: u64,
    /// A version 1 scan: committed by its last row record.
    legacy: bool,
}

impl OpenScan {
    fn block(&self) -> Block<'_> {
        match self.approval {
            true => Block::Approval(&self.scan_id),
            false => Block::Scan(&self.scan_id),
        }
    }

    fn check_complete(&self, at_end: bool) -> Result<(), Broken> {
        if self.seen == self.expected {
            return Ok(());
        }
        Err(Broken {
            line: self.line,
            seq: self.seq,
            what: format!(
                "scan {} lists {} quarantined rows but {} row records follow ({})",
                self.scan_id,
                self.expected,
                self.seen,
                if at_end {
                    "an append was interrupted, or the log was cut; the next scan cuts the \
                     unfinished append and records that"
                } else {
                    "records deleted?"
                }
            ),
        })
    }

    /// The record after a scan's rows (or an approval) must end its
    /// append, for that scan (or approval).
    fn close(&self, kind: &str, block: Option<Block>, line: u64, seq: u64) -> Result<(), Broken> {
        self.check_complete(false)?;
        if block == Some(self.block()) {
            return Ok(());
        }
        Err(Broken {
            line,
            seq,
            what: format!(
                "{kind} record for {} follows {} (records deleted or moved?)",
                block.map_or("nothing".to_string(), |b| b.to_string()),
                self.block()
            ),
        })
    }
}

/// The state of a verification in progress, one line at a time.
pub(crate) struct Chain {
    line: u64,
    seq: u64,
    head: blake3::Hash,
    records: u64,
    scans: u64,
    committed: u64,
    legacy: u64,
    recoveries: u64,
    approvals: u64,
    /// The scan whose append is not finished yet.
    open: Option<OpenScan>,
    /// A version 2 record was seen: version 1 records may no longer follow.
    current: bool,
    /// The scans seen, for approvals to name; `None` for a chain resumed
    /// mid-log, which has not seen them.
    scans_seen: Option<HashSet<String>>,
}

impl Chain {
    pub fn new() -> Chain {
        Chain {
            line: 0,
            seq: 0,
            head: GENESIS,
            records: 0,
            scans: 0,
            committed: 0,
            legacy: 0,
            recoveries: 0,
            approvals: 0,
            open: None,
            current: false,
            scans_seen: Some(HashSet::new()),
        }
    }

    /// A chain that goes on from a record already checked (`seq`, `head`,
    /// its version), as if the lines before it had been pushed; line
    /// numbers count from it.
    pub fn resume(seq: u64, head: blake3::Hash, version: u64) -> Chain {
        Chain {
            seq,
            head,
            current: seq > 0 && version != LEGACY_VERSION,
            scans_seen: None,
            ..Chain::new()
        }
    }

    /// Whether the next record may still be a version 1 record: no version
    /// 2 record came before it.
    pub fn legacy_allowed(&self) -> bool {
        !self.current
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn head(&self) -> blake3::Hash {
        self.head
    }

    /// Records pushed so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The append that is not finished: its scan or approval, the row
    /// records seen and the number it lists.
    pub fn open_block(&self) -> Option<(Block<'_>, u64, u64)> {
        self.open.as_ref().map(|o| (o.block(), o.seen, o.expected))
    }

    /// Checks the next line (with its `\n`, if it has one).
    pub fn push(&mut self, line: &[u8]) -> Result<Entry, Broken> {
        self.line += 1;
        let expected = self.seq + 1;
        let entry = check_line(line).map_err(|e| self.broken(e.seq.unwrap_or(expected), e.what))?;
        self.check_order(&entry)?;
        self.check_version(&entry)?;
        match &entry.record {
            Record::Scan(_) | Record::Approval(_) => self.open_append(&entry)?,
            Record::Row(row) => self.row(entry.seq, row)?,
            Record::Commit(c) => {
                let Some(open) = self.open.take() else {
                    return Err(self.broken(
                        entry.seq,
                        format!("commit record for {} without it", c.block()),
                    ));
                };
                open.close("commit", Some(c.block()), self.line, entry.seq)?;
                if !open.approval {
                    self.committed += 1;
                }
            }
            Record::Recovery(r) => {
                // Closes the unfinished scan before it, if any; alone, it
                // says what was cut from where it stands.
                if let Some(open) = self.open.take() {
                    let block = match (&r.scan_id, &r.approval_id) {
                        (_, Some(a)) => Some(Block::Approval(a)),
                        (Some(s), None) => Some(Block::Scan(s)),
                        (None, None) => None,
                    };
                    open.close("recovery", block, self.line, entry.seq)?;
                }
                self.recoveries += 1;
            }
        }
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.legacy && o.seen == o.expected)
        {
            self.open = None;
            self.committed += 1;
            self.legacy += 1;
        }
        self.seq = entry.seq;
        self.head = entry.hash;
        self.records += 1;
        Ok(entry)
    }

    /// The line being checked is broken.
    fn broken(&self, seq: u64, what: String) -> Broken {
        Broken {
            line: self.line,
            seq,
            what,
        }
    }

    /// `seq` counts up by one and `prev` is the previous record's hash.
    fn check_order(&self, entry: &Entry) -> Result<(), Broken> {
        let expected = self.seq + 1;
        if entry.seq != expected {
            let what = if self.seq == 0 {
                format!(
                    "seq {} at the start of the log (records deleted?)",
                    entry.seq
                )
            } else if entry.seq > expected {
                format!(
                    "seq {} follows {} (records deleted or reordered?)",
                    entry.seq, self.seq
                )
            } else {
                format!(
                    "seq {} follows {} (reordered or duplicated?)",
                    entry.seq, self.seq
                )
            };
            return Err(self.broken(entry.seq, what));
        }
        if entry.prev.as_bytes() != self.head.to_hex().as_bytes() {
            let what = if self.seq == 0 {
                "prev is not 64 zeros, as the first record's must be (records deleted?)".into()
            } else {
                "prev does not match the previous record (deleted or reordered?)".into()
            };
            return Err(self.broken(entry.seq, what));
        }
        Ok(())
    }

    /// Version 1 records may only come before version 2 ones; the first
    /// version 2 record ends an open version 1 scan, which must be complete.
    fn check_version(&mut self, entry: &Entry) -> Result<(), Broken> {
        if entry.version == LEGACY_VERSION {
            if self.current {
                return Err(self.broken(
                    entry.seq,
                    "a version 1 record after version 2 records (an older crmguard appended \
                     to this log, or it was edited?)"
                        .into(),
                ));
            }
        } else {
            if let Some(open) = self.open.as_ref().filter(|o| o.legacy) {
                // Complete version 1 scans are closed by their last row.
                open.check_complete(false)?;
            }
            self.current = true;
        }
        Ok(())
    }

    /// A scan or approval record opens an append, once the one before it is
    /// closed; an approval must name a scan recorded before it.
    fn open_append(&mut self, entry: &Entry) -> Result<(), Broken> {
        let (block, expected) = match &entry.record {
            Record::Scan(s) => (Block::Scan(&s.scan_id), s.rows_quarantined),
            Record::Approval(a) => (Block::Approval(&a.approval_id), 0),
            _ => unreachable!("called for scan and approval records"),
        };
        if let Some(open) = &self.open {
            open.check_complete(false)?;
            return Err(self.broken(
                entry.seq,
                format!(
                    "{block} follows {} (line {}), which has no commit or \
                     recovery record (records deleted?)",
                    open.block(),
                    open.line
                ),
            ));
        }
        let (id, approval) = match block {
            Block::Scan(id) => (id, false),
            Block::Approval(id) => (id, true),
        };
        if let Record::Approval(a) = &entry.record {
            if let Some(seen) = &self.scans_seen
                && !seen.contains(&a.scan_id)
            {
                return Err(self.broken(
                    entry.seq,
                    format!(
                        "approval {} releases rows of scan {}, which this log does \
                         not record before it",
                        a.approval_id, a.scan_id
                    ),
                ));
            }
            self.approvals += 1;
        } else {
            self.scans += 1;
            if let Some(seen) = &mut self.scans_seen {
                seen.insert(id.to_string());
            }
        }
        self.open = Some(OpenScan {
            line: self.line,
            seq: entry.seq,
            scan_id: id.to_string(),
            approval,
            expected,
            seen: 0,
            legacy: entry.version == LEGACY_VERSION,
        });
        Ok(())
    }

    /// A row record belongs to the open scan, which lists at least as many.
    fn row(&mut self, seq: u64, row: &RowRecord) -> Result<(), Broken> {
        let line = self.line;
        let broken = |what: String| Broken { line, seq, what };
        let Some(open) = &mut self.open else {
            return Err(broken(format!(
                "row record of scan {} outside its scan's records (more rows than \
                 it lists, or records deleted?)",
                row.scan_id
            )));
        };
        if open.approval || row.scan_id != open.scan_id {
            return Err(broken(format!(
                "row record of scan {} follows {}",
                row.scan_id,
                open.block()
            )));
        }
        if open.seen == open.expected {
            return Err(broken(format!(
                "more row records than the {} quarantined rows scan {} lists",
                open.expected, open.scan_id
            )));
        }
        open.seen += 1;
        Ok(())
    }

    pub fn finish(self, bytes: u64) -> Result<VerifySummary, Broken> {
        if let Some(open) = &self.open {
            open.check_complete(true)?;
        }
        Ok(VerifySummary {
            records: self.records,
            scans: self.scans,
            committed: self.committed,
            legacy: self.legacy,
            recoveries: self.recoveries,
            approvals: self.approvals,
            unfinished: self.open.map(|o| (o.line, o.block().to_string())),
            seq: self.seq,
            head: self.head.to_hex().to_string(),
            bytes,
        })
    }
}

/// Opens a log for reading and returns it with its length, taken under a
/// shared lock: writers append a whole scan under an exclusive lock, so the
/// first `len` bytes hold only complete scans, even while a scan is being
/// appended after them.
pub(crate) fn open_snapshot(path: &Path) -> io::Result<(File, u64)> {
    // A pipe or a device has no length to snapshot: its metadata says 0, so
    // a log read through one (`verify /dev/stdin`, `verify <(ssh host cat
    // log)`) would verify as empty, "OK", whatever it held. Checked before
    // opening too, since opening a FIFO waits for a writer.
    regular(&std::fs::metadata(path)?)?;
    let file = File::open(path)?;
    file.lock_shared()?;
    let meta = file.metadata()?;
    file.unlock()?;
    regular(&meta)?;
    Ok((file, meta.len()))
}

fn regular(meta: &std::fs::Metadata) -> io::Result<()> {
    match meta.is_file() {
        true => Ok(()),
        false if meta.is_dir() => Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory: name the log file in it",
        )),
        false => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file: a pipe or a device has no length to verify up to; \
             save the log to a file first",
        )),
    }
}

/// Verifies the first `len` bytes of `file`, handing each record to `f`.
pub(crate) fn walk(
    file: File,
    len: u64,
    mut f: impl FnMut(&Entry) -> io::Result<()>,
) -> Result<VerifySummary, VerifyError> {
    let mut reader = BufReader::with_capacity(256 * 1024, file.take(len));
    let mut chain = Chain::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE {
            return Err(Broken {
                line: chain.line + 1,
                seq: chain.seq + 1,
                what: format!("line longer than {MAX_LINE} bytes: not a crmguard audit log?"),
            }
            .into());
        }
        let entry = chain.push(&buf)?;
        f(&entry)?;
    }
    Ok(chain.finish(len)?)
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::row_body;
    use super::super::record::{
        CommitRecord, LineEncoder, OUTPUTS_NONE, OUTPUTS_UNKNOWN, RecoveryRecord, ScanRecord,
    };
    use super::*;

    fn scan(id: &str, quarantined: u64) -> Record {
        Record::Scan(Box::new(ScanRecord {
            scan_id: id.into(),
            at: "2026-11-27T04:00:00Z".into(),
            user: "u".into(),
            host: "h".into(),
            crmguard_version: "0.1.0".into(),
            input: super::super::record::InputRef {
                path: "in.csv".into(),
                bytes: 1,
                blake3: "x".into(),
                object: None,
            },
            outputs: vec![],
            policy: super::super::record::PolicyRef {
                path: None,
                blake3: "y".into(),
            },
            rows_total: quarantined,
            rows_clean: 0,
            rows_quarantined: quarantined,
            reasons: Default::default(),
            file_findings: vec![],
        }))
    }

    fn row(id: &str, n: u64) -> Record {
        Record::Row(row_body(id, n))
    }

    fn commit(id: &str) -> Record {
        Record::Commit(CommitRecord {
            scan_id: Some(id.into()),
            approval_id: None,
            at: "2026-11-27T04:00:01Z".into(),
        })
    }

    fn recovery(id: Option<&str>, outputs: &str) -> Record {
        Record::Recovery(RecoveryRecord {
            scan_id: id.map(String::from),
            approval_id: None,
            outputs: outputs.into(),
            cut_bytes: 0,
            cut_records: 0,
            cut_blake3: blake3::hash(b"").to_hex().to_string(),
            at: "2026-11-27T05:00:00Z".into(),
            user: "u".into(),
            host: "h".into(),
        })
    }

    fn lines(recs: &[Record]) -> Vec<Vec<u8>> {
        encoded(recs, |_| false)
    }

    /// The first `legacy` records as version 1 lines, the rest version 2.
    fn versioned(legacy: usize, recs: &[Record]) -> Vec<Vec<u8>> {
        encoded(recs, |i| i < legacy)
    }

    /// Record `i` as a version 1 line when `legacy(i)`.
    fn encoded(recs: &[Record], legacy: impl Fn(usize) -> bool) -> Vec<Vec<u8>> {
        let mut prev = GENESIS;
        recs.iter()
            .enumerate()
            .map(|(i, r)| {
                let mut enc = if legacy(i) {
                    LineEncoder::legacy()
                } else {
                    LineEncoder::default()
                };
                let mut out = Vec::new();
                let seq = i as u64 + 1;
                prev = match r {
                    Record::Scan(s) => enc.encode(&mut out, seq, "scan", s, &prev),
                    Record::Row(r) => enc.encode(&mut out, seq, "row", r, &prev),
                    Record::Commit(c) => enc.encode(&mut out, seq, "commit", c, &prev),
                    Record::Recovery(r) => enc.encode(&mut out, seq, "recovery", r, &prev),
                    Record::Approval(a) => enc.encode(&mut out, seq, "approval", a, &prev),
                }
                .unwrap();
                out
            })
            .collect()
    }

    fn run(lines: &[Vec<u8>]) -> Result<VerifySummary, Broken> {
        let mut chain = Chain::new();
        for l in lines {
            chain.push(l)?;
        }
        chain.finish(0)
    }

    #[test]
    fn counts_and_head() {
        let ls = lines(&[
            scan("a", 2),
            row("a", 1),
            row("a", 5),
            commit("a"),
            scan("b", 0),
            commit("b"),
        ]);
        let s = run(&ls).unwrap();
        assert_eq!((s.records, s.scans, s.committed, s.seq), (6, 2, 2, 6));
        assert_eq!(s.unfinished, None);
        assert_eq!(s.head, check_line(&ls[5]).unwrap().hash.to_hex().as_str());
        assert_eq!(run(&[]).unwrap().head, "0".repeat(64));
    }

    #[test]
    fn rows_must_belong_to_the_scan_before_them() {
        let missing_row = lines(&[scan("a", 2), row("a", 1), commit("a")]);
        let b = run(&missing_row).unwrap_err();
        assert_eq!((b.line, b.seq), (1, 1));
        assert!(b.what.contains("lists 2 quarantined rows but 1"), "{b}");

        let cut_at_end = lines(&[scan("a", 2), row("a", 1)]);
        let b = run(&cut_at_end).unwrap_err();
        assert_eq!(b.line, 1);
        assert!(b.what.contains("append was interrupted"), "{b}");

        let foreign = lines(&[scan("a", 1), row("z", 1)]);
        let b = run(&foreign).unwrap_err();
        assert_eq!((b.line, b.seq), (2, 2));
        assert!(b.what.contains("of scan z follows scan a"), "{b}");

        let extra = lines(&[scan("a", 1), row("a", 1), row("a", 2)]);
        assert_eq!(run(&extra).unwrap_err().line, 3);

        let orphan = lines(&[row("a", 1)]);
        assert!(
            run(&orphan)
                .unwrap_err()
                .what
                .contains("outside its scan's records")
        );
    }

    #[test]
    fn version_1_scans_are_committed_by_their_rows() {
        // A log the previous release wrote, then appends of this one.
        let recs = [
            scan("a", 2),
            row("a", 1),
            row("a", 2),
            scan("b", 0),
            scan("c", 1),
            row("c", 4),
            scan("d", 1),
            row("d", 1),
            commit("d"),
        ];
        let s = run(&versioned(6, &recs)).unwrap();
        assert_eq!((s.scans, s.committed, s.legacy), (4, 4, 3));
        assert_eq!(s.unfinished, None);
        // A version 1 log on its own is whole, its last scan included.
        let s = run(&versioned(6, &recs[..6])).unwrap();
        assert_eq!((s.scans, s.committed, s.legacy, s.seq), (3, 3, 3, 6));
        // Rows missing before the next scan, before a version 2 record, or
        // at the end: as version 1 said, records deleted or cut.
        let b = run(&versioned(3, &[scan("a", 2), row("a", 1), scan("b", 0)])).unwrap_err();
        assert!(b.what.contains("lists 2 quarantined rows but 1"), "{b}");
        let b = run(&versioned(2, &[scan("a", 2), row("a", 1), scan("b", 0)])).unwrap_err();
        assert!(b.what.contains("lists 2 quarantined rows but 1"), "{b}");
        let b = run(&versioned(2, &[scan("a", 2), row("a", 1)])).unwrap_err();
        assert!(b.what.contains("append was interrupted"), "{b}");
        // A row more than the scan lists.
        let b = run(&versioned(3, &[scan("a", 1), row("a", 1), row("a", 2)])).unwrap_err();
        assert_eq!(b.line, 3);
        // Version 1 after version 2: only an older crmguard, or an edit.
        let mixed = versioned(2, &[scan("a", 0), commit("a"), scan("b", 0)]);
        let b = run(&[mixed[0].clone(), mixed[1].clone()]).unwrap_err();
        assert!(b.what.contains("commit record with version 1"), "{b}");
        let late = encoded(
            &[scan("a", 0), scan("b", 0), commit("b"), scan("x", 0)],
            |i| i != 1 && i != 2,
        );
        let b = run(&late).unwrap_err();
        assert_eq!(b.line, 4);
        assert!(b.what.contains("version 1 record after version 2"), "{b}");
    }

    #[test]
    fn every_scan_ends_with_its_commit_or_a_recovery() {
        // No commit between two scans: a commit record was deleted.
        let b = run(&lines(&[scan("a", 0), scan("b", 0), commit("b")])).unwrap_err();
        assert_eq!((b.line, b.seq), (2, 2));
        assert!(b.what.contains("has no commit or recovery record"), "{b}");
        // A commit for another scan, or for none.
        let b = run(&lines(&[scan("a", 0), commit("b")])).unwrap_err();
        assert!(
            b.what.contains("commit record for scan b follows scan a"),
            "{b}"
        );
        let b = run(&lines(&[commit("a")])).unwrap_err();
        assert!(
            b.what.contains("commit record for scan a without it"),
            "{b}"
        );
        // A commit must come after all the rows.
        let b = run(&lines(&[scan("a", 1), commit("a")])).unwrap_err();
        assert!(b.what.contains("lists 1 quarantined rows but 0"), "{b}");
        // A dead scan closed by a recovery, and a recovery alone.
        let s = run(&lines(&[
            scan("a", 1),
            row("a", 1),
            recovery(Some("a"), OUTPUTS_UNKNOWN),
            recovery(None, OUTPUTS_NONE),
            scan("b", 0),
            commit("b"),
        ]))
        .unwrap();
        assert_eq!((s.scans, s.committed, s.recoveries), (2, 1, 2));
        let b = run(&lines(&[
            scan("a", 0),
            recovery(Some("z"), OUTPUTS_UNKNOWN),
        ]))
        .unwrap_err();
        assert!(
            b.what.contains("recovery record for scan z follows scan a"),
            "{b}"
        );
        // Complete but not committed at the very end: whole, and said so.
        let s = run(&lines(&[scan("a", 1), row("a", 1)])).unwrap();
        assert_eq!(s.unfinished, Some((1, "scan a".to_string())));
    }

    #[test]
    fn links_are_checked() {
        let ls = lines(&[scan("a", 0), commit("a"), scan("c", 0), commit("c")]);
        let b = run(&[ls[0].clone(), ls[2].clone()]).unwrap_err();
        assert_eq!((b.line, b.seq), (2, 3));
        assert!(b.what.contains("seq 3 follows 1"), "{b}");

        let b = run(&[ls[1].clone(), ls[2].clone()]).unwrap_err();
        assert_eq!((b.line, b.seq), (1, 2));

        // Same seq, wrong prev: a record from another chain.
        let other = lines(&[scan("x", 0), commit("x")]);
        let b = run(&[ls[0].clone(), other[1].clone()]).unwrap_err();
        assert_eq!((b.line, b.seq), (2, 2));
        assert!(b.what.contains("prev does not match"), "{b}");
    }
}
