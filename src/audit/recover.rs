//! Making the log whole after a process died in the middle of an append
//! (`kill -9`, a crash, a power cut), before appending to it.
//!
//! Every append ends with a commit record, and appends take turns under
//! the log's lock from their first record to their commit record. So when
//! an append, holding the lock, finds that the log's last record is not a
//! commit or recovery record, the process that wrote it is gone: it cannot
//! be another append still in progress.
//!
//! What a dead append leaves is a scan record, some or all of its row
//! records, maybe a line cut short:
//! - rows missing, or the scan record itself cut short: the append never
//!   finished, and outputs are renamed into place only after it, so none
//!   appeared. It is cut off, and a recovery record says `outputs: none`,
//!   with the size, record count and blake3 of what was cut.
//! - rows complete, no commit record: the process died while putting its
//!   outputs in place, or just before. The records stay (they name the
//!   outputs' hashes); only a line cut short after them (a commit record
//!   being written) is cut; a recovery record says `outputs: unknown`.
//!
//! Anything else (a line that is not a cut-short crmguard line, a broken
//! link, two scans without a commit between them) is not what a crash
//! leaves: the append is refused, as for any broken log.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;

use super::chain::{Broken, Chain};
use super::identity;
use super::record::{
    Block, GENESIS, LEGACY_VERSION, LineEncoder, MAX_LINE, OUTPUTS_NONE, OUTPUTS_UNKNOWN, Record,
    RecoveryRecord, VERSION, check_line, line_opening, version_of,
};

/// Bytes read per step when walking the log backwards.
const BACK_CHUNK: usize = 256 * 1024;

/// Lines of the first `len` bytes of a file, last first, each with the
/// offset it starts at: one buffered pass backwards however many lines.
struct BackLines<'f> {
    file: &'f mut File,
    /// File offset of `buf[0]`.
    pos: u64,
    /// `buf[..end]` has not been handed out yet.
    buf: Vec<u8>,
    end: usize,
}

impl<'f> BackLines<'f> {
    fn new(file: &'f mut File, len: u64) -> BackLines<'f> {
        BackLines {
            file,
            pos: len,
            buf: Vec::new(),
            end: 0,
        }
    }

    fn prev(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        loop {
            // The line's own newline (at end - 1) does not start it.
            let search = &self.buf[..self.end.saturating_sub(1)];
            if let Some(i) = memchr::memrchr(b'\n', search) {
                let line = self.buf[i + 1..self.end].to_vec();
                self.end = i + 1;
                return Ok(Some((self.pos + i as u64 + 1, line)));
            }
            if self.pos == 0 {
                if self.end == 0 {
                    return Ok(None);
                }
                let line = self.buf[..self.end].to_vec();
                self.end = 0;
                return Ok(Some((0, line)));
            }
            if self.end > MAX_LINE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line longer than {MAX_LINE} bytes: not a crmguard audit log?"),
                ));
            }
            let n = BACK_CHUNK.min(self.pos as usize);
            self.pos -= n as u64;
            let mut chunk = vec![0u8; n + self.end];
            self.file.seek(SeekFrom::Start(self.pos))?;
            self.file.read_exact(&mut chunk[..n])?;
            chunk[n..].copy_from_slice(&self.buf[..self.end]);
            self.buf = chunk;
            self.end = self.buf.len();
        }
    }
}

/// The `type` a line says it has, read from its opening alone.
fn kind_of(line: &[u8]) -> Option<&[u8]> {
    let at = memchr::memmem::find(&line[..line.len().min(64)], b"\"type\":\"")? + 8;
    let len = memchr::memchr(b'"', &line[at..])?;
    Some(&line[at..at + len])
}

/// The `seq` a line says it has, read from its opening alone.
fn seq_of(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"v\":")?;
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_digit()).count()..];
    let rest = rest.strip_prefix(b",\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Where the dead append starts, with the `seq`, hash and version of the
/// record before it (0, the genesis hash and 0 at the start of the log).
struct Base {
    offset: u64,
    seq: u64,
    hash: blake3::Hash,
    version: u64,
}

impl Base {
    const START: Base = Base {
        offset: 0,
        seq: 0,
        hash: GENESIS,
        version: 0,
    };

    /// Just after `line`, which starts at `offset`.
    fn after(file: &mut File, path: &Path, offset: u64, line: &[u8]) -> anyhow::Result<Base> {
        match check_line(line) {
            Ok(e) => Ok(Base {
                offset: offset + line.len() as u64,
                seq: e.seq,
                hash: e.hash,
                version: e.version,
            }),
            Err(e) => {
                let seq = e.seq.or(seq_of(line)).unwrap_or(0);
                Err(refuse(file, path, offset, seq, e.what))
            }
        }
    }
}

fn refuse(file: &mut File, path: &Path, offset: u64, seq: u64, what: String) -> anyhow::Error {
    let line = line_number(file, offset).unwrap_or(0);
    let broken = Broken { line, seq, what };
    anyhow::anyhow!(
        "{}:{broken}; refusing to append to a broken audit log (see `crmguard audit verify`)",
        crate::terminal::path(path)
    )
}

/// Walks back from the end of the log to where the last append that may be
/// unfinished starts: just after the last commit or recovery record; or,
/// in a log whose last records are version 1 (an older release's), at the
/// last version 1 scan record, whose rows are then checked like a dead
/// append's.
fn find_base(file: &mut File, path: &Path, len: u64) -> anyhow::Result<Base> {
    let cannot = || format!("{}: cannot read the audit log", crate::terminal::path(path));
    let mut back = BackLines::new(file, len);
    let mut scans = 0;
    let mut last = true;
    // Whole version 2 records after the line at hand.
    let mut current_after = false;
    loop {
        let Some((offset, line)) = back.prev().with_context(cannot)? else {
            return Ok(Base::START);
        };
        // A last line cut short (a commit record, say) is the dead
        // append's, whatever its type: read_unfinished judges it.
        if std::mem::take(&mut last) && !line.ends_with(b"\n") {
            continue;
        }
        let legacy = version_of(&line) == Some(LEGACY_VERSION);
        if legacy && current_after {
            // The end of a version 1 prefix: the version 2 append after it
            // was checked against it when it began.
            return Base::after(back.file, path, offset, &line);
        }
        match kind_of(&line) {
            Some(b"commit" | b"recovery") if !legacy => {
                return Base::after(back.file, path, offset, &line);
            }
            Some(b"scan") if legacy => {
                // The last version 1 scan: its rows are checked from here
                // on, chained onto the record before it.
                return match back.prev().with_context(cannot)? {
                    None => Ok(Base::START),
                    Some((before, prev)) => Base::after(back.file, path, before, &prev),
                };
            }
            Some(b"scan" | b"approval") => scans += 1,
            _ => {}
        }
        current_after |= !legacy;
        if scans > 1 {
            let what = "two scans without a commit record between them (edited?)";
            let seq = seq_of(&line).unwrap_or(0);
            return Err(refuse(back.file, path, offset, seq, what.into()));
        }
    }
}

/// What the dead append left, checked forwards from its start.
struct Unfinished {
    /// The scan (or approval) whose records are not closed: whether it is
    /// an approval, its id, and whether every row record it lists is
    /// there. `None` when none is open (a version 1 scan is closed by its
    /// last row).
    open: Option<(bool, String, bool)>,
    /// Whole records, and where the last one ends.
    records: u64,
    whole_end: u64,
    /// A line cut short after them.
    torn: bool,
    /// `seq` and hash of the last whole record.
    seq: u64,
    hash: blake3::Hash,
}

fn read_unfinished(
    file: &mut File,
    path: &Path,
    base: &Base,
    len: u64,
) -> anyhow::Result<Unfinished> {
    let cannot = || format!("{}: cannot read the audit log", crate::terminal::path(path));
    file.seek(SeekFrom::Start(base.offset))
        .with_context(cannot)?;
    let mut reader = BufReader::new(Read::take(&mut *file, len - base.offset));
    let mut chain = Chain::resume(base.seq, base.hash, base.version);
    let mut at = base.offset;
    let mut buf = Vec::new();
    let mut torn = None;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(cannot)?;
        if n == 0 {
            break;
        }
        if !buf.ends_with(b"\n") {
            torn = Some(at);
            break;
        }
        if let Err(b) = chain.push(&buf) {
            return Err(refuse(
                reader.into_inner().into_inner(),
                path,
                at,
                b.seq,
                b.what,
            ));
        }
        at += n as u64;
    }
    let file = reader.into_inner().into_inner();
    if let Some(offset) = torn {
        // Cut short by the crash: it must begin as the next record would.
        let seq = chain.seq() + 1;
        let begins = |v: u64| {
            let opening = line_opening(v, seq);
            let k = buf.len().min(opening.len());
            buf[..k] == opening.as_bytes()[..k]
        };
        if !(begins(VERSION) || chain.legacy_allowed() && begins(LEGACY_VERSION)) {
            let what = "the last line is incomplete and is not a crmguard record".into();
            return Err(refuse(file, path, offset, seq, what));
        }
    }
    Ok(Unfinished {
        open: chain
            .open_block()
            .map(|(block, seen, expected)| match block {
                Block::Scan(id) => (false, id.to_string(), seen == expected),
                Block::Approval(id) => (true, id.to_string(), seen == expected),
            }),
        records: chain.records(),
        whole_end: at,
        torn: torn.is_some(),
        seq: chain.seq(),
        hash: chain.head(),
    })
}

/// Makes the log whole if a dead append left it unfinished (module docs);
/// returns the `seq` and hash the next record chains onto. Called with the
/// log locked and `len` its length.
pub(crate) fn prepare(
    file: &mut File,
    path: &Path,
    len: u64,
    last: &[u8],
) -> anyhow::Result<(u64, blake3::Hash)> {
    if let Ok(e) = check_line(last)
        && e.record.is_terminal()
    {
        return Ok((e.seq, e.hash));
    }
    let base = find_base(file, path, len)?;
    let dead = read_unfinished(file, path, &base, len)?;
    let (cut_from, outputs, seq, hash, cut_records, block) = match dead.open {
        // A version 1 log whose last scan is complete: committed, as the
        // release that wrote it promised; nothing to recover.
        None if !dead.torn => return Ok((dead.seq, dead.hash)),
        // Only a line cut short: the scan record of an append that died.
        None => (dead.whole_end, OUTPUTS_NONE, dead.seq, dead.hash, 0, None),
        Some((approval, id, true)) => (
            dead.whole_end,
            OUTPUTS_UNKNOWN,
            dead.seq,
            dead.hash,
            0,
            Some((approval, id)),
        ),
        Some((approval, id, false)) => (
            base.offset,
            OUTPUTS_NONE,
            base.seq,
            base.hash,
            dead.records,
            Some((approval, id)),
        ),
    };
    let (scan_id, approval_id) = match block {
        Some((true, id)) => (None, Some(id)),
        Some((false, id)) => (Some(id), None),
        None => (None, None),
    };
    let cannot = || {
        format!(
            "{}: cannot recover the audit log",
            crate::terminal::path(path)
        )
    };
    let mut cut = blake3::Hasher::new();
    file.seek(SeekFrom::Start(cut_from)).with_context(cannot)?;
    io::copy(&mut (&mut *file).take(len - cut_from), &mut cut).with_context(cannot)?;
    let (user, host) = identity();
    let record = RecoveryRecord {
        scan_id,
        approval_id,
        outputs: outputs.into(),
        cut_bytes: len - cut_from,
        cut_records,
        cut_blake3: cut.finalize().to_hex().to_string(),
        at: jiff::Timestamp::now().to_string(),
        user: user.clone(),
        host: host.clone(),
    };
    let mut line = Vec::new();
    let new_hash = LineEncoder::default()
        .encode(&mut line, seq + 1, "recovery", &record, &hash)
        .with_context(cannot)?;
    file.set_len(cut_from).with_context(cannot)?;
    file.write_all(&line)
        .and_then(|()| file.sync_data())
        .with_context(cannot)?;
    debug_assert!(matches!(
        check_line(&line).map(|e| e.record),
        Ok(Record::Recovery(_))
    ));
    warn_recovered(path, &record, seq + 1);
    Ok((seq + 1, new_hash))
}

/// Says on stderr, `-q` or not, what the recovery did.
fn warn_recovered(path: &Path, record: &RecoveryRecord, seq: u64) {
    let log = crate::terminal::path(path);
    let block = match (&record.scan_id, &record.approval_id) {
        (_, Some(id)) => format!("approval {id}"),
        (Some(id), None) => format!("scan {id}"),
        (None, None) => "scan whose scan record was cut short".into(),
    };
    if record.outputs == OUTPUTS_NONE {
        crate::errln!(
            "crmguard: warning: {log}: cut off the unfinished append of a crmguard that died \
             ({} bytes, {block}); outputs: none; recorded as record {seq} (docs/audit.md)",
            record.cut_bytes,
        );
    } else {
        crate::errln!(
            "crmguard: warning: {log}: {block} has no commit record: the crmguard that ran \
             it died while committing; outputs: unknown; recorded as record {seq} (docs/audit.md)",
        );
    }
}

/// 1-based line number of the line starting at `offset`; only for messages
/// about a broken log, where reading it through is acceptable.
pub(crate) fn line_number(file: &mut File, offset: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut left = offset;
    let mut lines = 1;
    let mut buf = vec![0u8; 256 * 1024];
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            break;
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        left -= n as u64;
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::append;

    #[test]
    fn lines_come_back_last_first_across_chunks() {
        let mut f = tempfile::tempfile().unwrap();
        let mut expected = Vec::new();
        let mut at = 0u64;
        for i in 0..20_000 {
            let line = format!("line {i} {}\n", "x".repeat(i % 300));
            expected.push((at, line.clone().into_bytes()));
            at += line.len() as u64;
            f.write_all(line.as_bytes()).unwrap();
        }
        f.write_all(b"torn").unwrap();
        expected.push((at, b"torn".to_vec()));
        let len = at + 4;
        let mut back = BackLines::new(&mut f, len);
        let mut got = Vec::new();
        while let Some(l) = back.prev().unwrap() {
            got.push(l);
        }
        got.reverse();
        assert_eq!(got, expected);
    }

    #[test]
    fn kinds_are_read_from_the_opening() {
        assert_eq!(
            kind_of(b"{\"v\":1,\"seq\":12,\"type\":\"commit\",\"scan_id\":\"x\"}"),
            Some(&b"commit"[..])
        );
        assert_eq!(kind_of(b"{\"v\":1,\"seq\":12,\"ty"), None);
        assert_eq!(seq_of(b"{\"v\":1,\"seq\":12,\"ty"), Some(12));
        assert_eq!(seq_of(b"{\"v\":2,\"seq\":345,\"ty"), Some(345));
        assert_eq!(seq_of(b"{\"v\":1,\"se"), None);
    }

    use super::super::record::tests::row_body;
    use super::super::record::{CommitRecord, InputRef, PolicyRef, ScanRecord};

    fn scan(id: &str, rows: u64) -> ScanRecord {
        ScanRecord {
            scan_id: id.into(),
            at: "2026-11-27T04:00:00Z".into(),
            user: "u".into(),
            host: "h".into(),
            crmguard_version: "0.1.0".into(),
            input: InputRef {
                path: "in.csv".into(),
                bytes: 1,
                blake3: "x".into(),
                object: None,
            },
            outputs: vec![],
            policy: PolicyRef {
                path: None,
                blake3: "y".into(),
            },
            rows_total: rows,
            rows_clean: 0,
            rows_quarantined: rows,
            reasons: Default::default(),
            file_findings: vec![],
        }
    }

    /// A log of `(version 1?, record)` lines; returns it and each line's end.
    fn log(recs: &[(bool, &str, &str, u64)]) -> (Vec<u8>, Vec<(u64, blake3::Hash)>) {
        let mut out = Vec::new();
        let mut heads = Vec::new();
        let mut prev = GENESIS;
        for (i, (legacy, kind, id, n)) in recs.iter().enumerate() {
            let mut enc = match legacy {
                true => LineEncoder::legacy(),
                false => LineEncoder::default(),
            };
            let seq = i as u64 + 1;
            prev = match *kind {
                "scan" => enc.encode(&mut out, seq, "scan", &scan(id, *n), &prev),
                "row" => enc.encode(&mut out, seq, "row", &row_body(id, *n), &prev),
                _ => {
                    let c = CommitRecord {
                        scan_id: Some(id.to_string()),
                        approval_id: None,
                        at: "2026-11-27T04:00:01Z".into(),
                    };
                    enc.encode(&mut out, seq, "commit", &c, &prev)
                }
            }
            .unwrap();
            heads.push((seq, prev));
        }
        (out, heads)
    }

    /// Runs `prepare` on a log file holding `bytes`; returns its result,
    /// the file's bytes after, and the recovery record it wrote, if any.
    fn prepared(
        bytes: &[u8],
    ) -> (
        anyhow::Result<(u64, blake3::Hash)>,
        Vec<u8>,
        Option<RecoveryRecord>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, bytes).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .unwrap();
        let (_, last) = append::read_last_line(&mut f, bytes.len() as u64, 4096).unwrap();
        let result = prepare(&mut f, &path, bytes.len() as u64, &last);
        let after = std::fs::read(&path).unwrap();
        let (_, last) =
            append::read_last_line(&mut std::io::Cursor::new(&after), after.len() as u64, 4096)
                .unwrap();
        let recovery = match check_line(&last).map(|e| e.record) {
            Ok(Record::Recovery(r)) => Some(r),
            _ => None,
        };
        (result, after, recovery)
    }

    const V1_LOG: &[(bool, &str, &str, u64)] = &[
        (true, "scan", "a", 2),
        (true, "row", "a", 1),
        (true, "row", "a", 2),
        (true, "scan", "b", 0),
        (true, "scan", "c", 1),
        (true, "row", "c", 3),
    ];

    #[test]
    fn a_whole_version_1_log_is_appended_to_as_it_is() {
        let (bytes, heads) = log(V1_LOG);
        let (result, after, recovery) = prepared(&bytes);
        assert_eq!(result.unwrap(), heads[5]);
        assert_eq!(after, bytes);
        assert!(recovery.is_none());
        // Its last scan quarantined nothing: committed by its scan record.
        let (bytes, heads) = log(&V1_LOG[..4]);
        assert_eq!(prepared(&bytes).0.unwrap(), heads[3]);
    }

    #[test]
    fn an_unfinished_version_1_append_is_cut_off() {
        // The previous release died while appending scan c's rows: c's
        // records go, and nothing of c's appeared (it wrote records first).
        let mut recs = V1_LOG.to_vec();
        recs[4].3 = 2;
        let (bytes, heads) = log(&recs);
        let (result, after, recovery) = prepared(&bytes);
        let r = recovery.expect("a recovery record");
        assert_eq!(
            (r.scan_id.as_deref(), r.outputs.as_str()),
            (Some("c"), OUTPUTS_NONE)
        );
        assert_eq!(r.cut_records, 2);
        let (kept, _) = log(&recs[..4]);
        assert!(after.starts_with(&kept));
        assert_eq!(r.cut_bytes, (bytes.len() - kept.len()) as u64);
        assert_eq!(result.unwrap().0, heads[3].0 + 1);
        // A line cut short after a whole version 1 log: only it goes.
        let (whole, heads) = log(V1_LOG);
        let mut torn = whole.clone();
        let cut = b"{\"v\":1,\"seq\":7,\"type\":\"sc";
        torn.extend_from_slice(cut);
        let (result, after, recovery) = prepared(&torn);
        let r = recovery.expect("a recovery record");
        assert_eq!(
            (r.scan_id, r.cut_records, r.cut_bytes),
            (None, 0, cut.len() as u64)
        );
        assert!(after.starts_with(&whole));
        assert_eq!(result.unwrap().0, heads[5].0 + 1);
    }

    #[test]
    fn a_version_2_append_after_a_version_1_log_is_recovered_as_usual() {
        let mut recs = V1_LOG.to_vec();
        recs.extend([
            (false, "scan", "d", 2),
            (false, "row", "d", 1),
            (false, "row", "d", 2),
        ]);
        let (bytes, heads) = log(&recs);
        let (result, after, recovery) = prepared(&bytes);
        let r = recovery.expect("a recovery record");
        assert_eq!(
            (r.scan_id.as_deref(), r.outputs.as_str()),
            (Some("d"), OUTPUTS_UNKNOWN)
        );
        assert!(after.starts_with(&bytes));
        assert_eq!(result.unwrap().0, heads[8].0 + 1);
        // Its rows incomplete: cut back to the end of the version 1 prefix.
        let (bytes, _) = log(&recs[..8]);
        let (result, after, recovery) = prepared(&bytes);
        let r = recovery.expect("a recovery record");
        assert_eq!((r.outputs.as_str(), r.cut_records), (OUTPUTS_NONE, 2));
        let (prefix, heads) = log(V1_LOG);
        assert!(after.starts_with(&prefix));
        assert_eq!(result.unwrap().0, heads[5].0 + 1);
        // A committed version 2 append: nothing to do.
        recs.push((false, "commit", "d", 0));
        let (bytes, heads) = log(&recs);
        assert_eq!(prepared(&bytes).0.unwrap(), heads[9]);
    }

    #[test]
    fn a_broken_version_1_log_is_refused() {
        // An append reads back to the last version 1 scan only, as to the
        // last commit record: rows missing earlier are `verify`'s to find.
        let mut recs = V1_LOG.to_vec();
        recs[0].3 = 3;
        let (bytes, _) = log(&recs);
        assert!(prepared(&bytes).0.is_ok());
        // A version 1 record after version 2 ones is refused.
        let recs = [
            (true, "scan", "a", 0),
            (false, "scan", "b", 0),
            (false, "commit", "b", 0),
            (true, "scan", "c", 1),
        ];
        let (bytes, _) = log(&recs);
        let err = prepared(&bytes).0.unwrap_err().to_string();
        assert!(err.contains("version 1 record after version 2"), "{err}");
    }

    #[test]
    fn line_numbers_count_newlines() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"a\nbb\n\nccc").unwrap();
        assert_eq!(line_number(&mut f, 0).unwrap(), 1);
        assert_eq!(line_number(&mut f, 2).unwrap(), 2);
        assert_eq!(line_number(&mut f, 6).unwrap(), 4);
    }
}
