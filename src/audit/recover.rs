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
use super::record::{
    GENESIS, LineEncoder, MAX_LINE, OUTPUTS_NONE, OUTPUTS_UNKNOWN, Record, RecoveryRecord,
    check_line, line_opening,
};
use super::{append, identity};

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
    let rest = line.strip_prefix(b"{\"v\":1,\"seq\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Where the dead append starts: just after the last commit or recovery
/// record (or at 0), with that record's `seq` and hash.
struct Base {
    offset: u64,
    seq: u64,
    hash: blake3::Hash,
}

fn refuse(file: &mut File, path: &Path, offset: u64, seq: u64, what: String) -> anyhow::Error {
    let line = append::line_number(file, offset).unwrap_or(0);
    let broken = Broken { line, seq, what };
    anyhow::anyhow!(
        "{}:{broken}; refusing to append to a broken audit log (see `crmguard audit verify`)",
        crate::terminal::path(path)
    )
}

fn find_base(file: &mut File, path: &Path, len: u64) -> anyhow::Result<Base> {
    let cannot = || format!("{}: cannot read the audit log", crate::terminal::path(path));
    let mut back = BackLines::new(file, len);
    let mut scans = 0;
    let mut last = true;
    let found = loop {
        let Some((offset, line)) = back.prev().with_context(cannot)? else {
            break None;
        };
        // A last line cut short (a commit record, say) is the dead
        // append's, whatever its type: read_unfinished judges it.
        if std::mem::take(&mut last) && !line.ends_with(b"\n") {
            continue;
        }
        match kind_of(&line) {
            Some(b"commit" | b"recovery") => break Some((offset, line)),
            Some(b"scan") => scans += 1,
            _ => {}
        }
        if scans > 1 {
            let what = "two scans without a commit record between them (written by an older \
                        crmguard, or edited?)";
            let seq = seq_of(&line).unwrap_or(0);
            return Err(refuse(file, path, offset, seq, what.into()));
        }
    };
    let Some((offset, line)) = found else {
        return Ok(Base {
            offset: 0,
            seq: 0,
            hash: GENESIS,
        });
    };
    match check_line(&line) {
        Ok(e) if e.record.is_terminal() => Ok(Base {
            offset: offset + line.len() as u64,
            seq: e.seq,
            hash: e.hash,
        }),
        Ok(e) => Err(refuse(
            file,
            path,
            offset,
            e.seq,
            "not a commit record".into(),
        )),
        Err(e) => {
            let seq = e.seq.or(seq_of(&line)).unwrap_or(0);
            Err(refuse(file, path, offset, seq, e.what))
        }
    }
}

/// What the dead append left, checked forwards from its start.
struct Unfinished {
    /// The scan record's id, when it is whole.
    scan_id: Option<String>,
    /// Whether every row record the scan lists is there.
    complete: bool,
    /// Whole records, and where the last one ends.
    records: u64,
    whole_end: u64,
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
    let mut chain = Chain::resume(base.seq, base.hash);
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
        let opening = line_opening(chain.seq() + 1);
        let k = buf.len().min(opening.len());
        if buf[..k] != opening.as_bytes()[..k] {
            let what = "the last line is incomplete and is not a crmguard record".into();
            return Err(refuse(file, path, offset, chain.seq() + 1, what));
        }
    }
    let open = chain.open_scan();
    Ok(Unfinished {
        scan_id: open.map(|o| o.0.to_string()),
        complete: open.is_some_and(|o| o.1 == o.2),
        records: chain.records(),
        whole_end: at,
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
    let (cut_from, outputs, seq, hash, cut_records) = if dead.complete {
        (dead.whole_end, OUTPUTS_UNKNOWN, dead.seq, dead.hash, 0)
    } else {
        (base.offset, OUTPUTS_NONE, base.seq, base.hash, dead.records)
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
        scan_id: dead.scan_id,
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
    let log = crate::terminal::path(path);
    let scan = record
        .scan_id
        .as_deref()
        .unwrap_or("whose scan record was cut short");
    if outputs == OUTPUTS_NONE {
        crate::errln!(
            "crmguard: warning: {log}: cut off the unfinished append of a crmguard that died \
             ({} bytes, scan {scan}); outputs: none; recorded as record {} (docs/audit.md)",
            record.cut_bytes,
            seq + 1
        );
    } else {
        crate::errln!(
            "crmguard: warning: {log}: scan {scan} has no commit record: the crmguard that ran \
             it died while committing; outputs: unknown; recorded as record {} (docs/audit.md)",
            seq + 1
        );
    }
    Ok((seq + 1, new_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(seq_of(b"{\"v\":1,\"se"), None);
    }
}
