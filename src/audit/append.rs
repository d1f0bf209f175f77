//! Appending a scan to the log. Several crmguard processes (a cron job and an
//! admin, two CI jobs) may share one log: each takes an exclusive lock, reads
//! the head under it, writes its whole scan, puts its outputs in place and
//! writes its commit record before letting go, so appends never interleave
//! and every one chains onto the one before it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use super::Head;
use super::record::{
    ApprovalRecord, CommitRecord, GENESIS, LineEncoder, MAX_LINE, RowBody, ScanRecord,
};
use super::recover;
use super::spool::{RowSpool, SpoolReader};
use crate::error::Interrupted;
use crate::hooks;

/// Bytes read per step when looking backwards for the last line.
pub(crate) const TAIL_CHUNK: usize = 64 * 1024;

/// Opens the log for appending and locks it; says whether this call created
/// it. A log renamed away (rotated) while we waited for the lock is no longer
/// the one at `path`: appending to it would extend a file nobody reads, so
/// open again.
fn open_locked(path: &Path) -> io::Result<(File, bool)> {
    for _ in 0..100 {
        let mut options = OpenOptions::new();
        options.read(true).append(true).create_new(true);
        // Who scanned which file when, and the hashes of quarantined rows:
        // a new log is private. An existing one keeps the mode it was given.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        // Trying to create it first tells a log we made from one that was
        // there: only ours may be taken away again (`Pending`'s drop).
        let (file, created) = match options.open(path) {
            Ok(f) => (f, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                (options.create_new(false).create(true).open(path)?, false)
            }
            Err(e) => return Err(e),
        };
        file.lock()?;
        if is_at(&file, path)? {
            return Ok((file, created));
        }
    }
    Err(io::Error::other(
        "the log keeps being replaced while we wait for its lock",
    ))
}

#[cfg(unix)]
fn is_at(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (file.metadata()?, std::fs::metadata(path));
    Ok(matches!(b, Ok(b) if a.dev() == b.dev() && a.ino() == b.ino()))
}

#[cfg(not(unix))]
fn is_at(_file: &File, _path: &Path) -> io::Result<bool> {
    Ok(true)
}

/// The last line of the first `len` bytes and the offset it starts at,
/// reading backwards `chunk` bytes at a time: an append costs the same on a
/// log of a kilobyte and one of gigabytes. The last line is whatever follows
/// the last `\n` before the final byte, so a line cut short comes back as is.
pub(crate) fn read_last_line(
    file: &mut (impl Read + Seek),
    len: u64,
    chunk: usize,
) -> io::Result<(u64, Vec<u8>)> {
    let mut buf = vec![0u8; chunk];
    let mut pos = len.saturating_sub(1);
    let mut start = 0;
    while pos > 0 {
        let n = chunk.min(pos as usize);
        let from = pos - n as u64;
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            start = from + i as u64 + 1;
            break;
        }
        pos = from;
        if len - pos > MAX_LINE as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("last line longer than {MAX_LINE} bytes: not a crmguard audit log?"),
            ));
        }
    }
    let mut line = vec![0u8; (len - start) as usize];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut line)?;
    Ok((start, line))
}

/// What the next record chains onto: the last record's `seq` and hash,
/// once a dead append's leftovers are dealt with (recover.rs).
fn read_head(file: &mut File, path: &Path, len: u64) -> anyhow::Result<(u64, blake3::Hash)> {
    if len == 0 {
        return Ok((0, GENESIS));
    }
    let (_, line) = read_last_line(file, len, TAIL_CHUNK)
        .with_context(|| format!("{}: cannot read the audit log", crate::terminal::path(path)))?;
    recover::prepare(file, path, len, &line)
}

/// A scan appended to the log but not committed: the log stays locked, no
/// reader sees the records yet, and dropping this takes them back out.
/// [`Pending::commit`] appends the commit record once the outputs are in
/// place (docs/audit.md, "Commit").
pub struct Pending {
    file: File,
    path: PathBuf,
    /// The log's length before the scan's records.
    start: u64,
    head: Head,
    /// An approval's append (`head.scan_id` is then the approval's id).
    approval: bool,
    /// This append created the log (it may not be the first to lock it).
    created: bool,
    done: bool,
}

impl Pending {
    /// The scan's last record (its scan record, or its last row record).
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The log's length when it was locked (and made whole).
    pub fn locked_len(&self) -> u64 {
        self.start
    }

    /// Verifies the log as it was when locked, handing each record to `f`.
    /// No other append can change it until this one lets go, so a check
    /// made here still holds when the records are committed.
    pub fn for_each_record(
        &self,
        f: impl FnMut(&super::Entry) -> io::Result<()>,
    ) -> Result<super::VerifySummary, super::VerifyError> {
        // A clone shares the open file description, and so the lock: a
        // second open would wait on our own lock with a shared one.
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        super::chain::walk(file, self.start, f)
    }

    /// Makes the records durable: before any output appears, a crash must
    /// find them in the log (and a new log's name in its directory).
    pub fn sync(&mut self) -> anyhow::Result<()> {
        self.file.sync_data().with_context(|| self.cannot())?;
        if self.start == 0 {
            sync_parent(&self.path);
        }
        Ok(())
    }

    fn cannot(&self) -> String {
        format!(
            "{}: cannot append to the audit log",
            crate::terminal::path(&self.path)
        )
    }

    /// Appends the commit record and lets the log go; returns the new head.
    /// On failure the scan's records are taken back out, as on drop.
    pub fn commit(mut self) -> anyhow::Result<Head> {
        let id = Some(self.head.scan_id.clone());
        let (scan_id, approval_id) = match self.approval {
            true => (None, id),
            false => (id, None),
        };
        let body = CommitRecord {
            scan_id,
            approval_id,
            at: jiff::Timestamp::now().to_string(),
        };
        let prev = blake3::Hash::from_hex(&self.head.hash).expect("our own hex");
        let seq = self.head.seq + 1;
        let mut line = Vec::new();
        let hash = LineEncoder::default()
            .encode(&mut line, seq, "commit", &body, &prev)
            .with_context(|| self.cannot())?;
        self.file
            .write_all(&line)
            .and_then(|()| self.file.sync_data())
            .with_context(|| self.cannot())?;
        self.done = true;
        Ok(Head {
            seq,
            hash: hash.to_hex().to_string(),
            scan_id: std::mem::take(&mut self.head.scan_id),
        })
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            // Still under the lock: no reader has seen the records.
            let _ = self.file.set_len(self.start);
            let _ = self.file.sync_data();
            // An interrupted first scan leaves no empty log behind. Only a
            // log that was empty when we locked it: another process may
            // have locked the one we created first, and committed to it.
            // A process waiting for the lock on this file finds it gone
            // from `path` and opens a new one (`open_locked`).
            if self.created && self.start == 0 && matches!(is_at(&self.file, &self.path), Ok(true))
            {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Locks the log, makes it whole if a dead append left it unfinished, and
/// appends `scan` and one row record per spooled row. `cancel` (Ctrl-C) is
/// checked after every write: set, the records are taken back out and the
/// error is [`Interrupted`].
pub(crate) fn begin(
    path: &Path,
    scan: &ScanRecord,
    rows: RowSpool,
    chunk: usize,
    cancel: &AtomicBool,
) -> anyhow::Result<Pending> {
    let cannot = || {
        format!(
            "{}: cannot append to the audit log",
            crate::terminal::path(path)
        )
    };
    // Flushing the spool before locking keeps the lock held for the append
    // alone.
    let mut rows = rows.into_reader().with_context(cannot)?;
    let (mut pending, prev) = lock(path, &scan.scan_id, false)?;
    let seq = pending.head.seq;
    // On any error `pending` is dropped, which takes the records back out.
    let (seq, prev) = match write_records(
        &mut pending.file,
        scan,
        &mut rows,
        (seq, prev),
        chunk,
        cancel,
    ) {
        Ok(head) => head,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(Interrupted.into()),
        Err(e) => return Err(e).with_context(cannot),
    };
    pending.head.seq = seq;
    pending.head.hash = prev.to_hex().to_string();
    Ok(pending)
}

/// Locks the log and reads its head (recovering a dead append first): an
/// append about to begin, for the scan or approval `id`, with the hash to
/// chain onto.
fn lock(path: &Path, id: &str, approval: bool) -> anyhow::Result<(Pending, blake3::Hash)> {
    let cannot = || {
        format!(
            "{}: cannot append to the audit log",
            crate::terminal::path(path)
        )
    };
    let (mut file, created) = open_locked(path).with_context(cannot)?;
    let len = file.metadata().with_context(cannot)?.len();
    let (seq, prev) = read_head(&mut file, path, len)?;
    let start = file.metadata().with_context(cannot)?.len();
    let pending = Pending {
        file,
        path: path.to_owned(),
        start,
        head: Head {
            seq,
            hash: String::new(),
            scan_id: id.to_string(),
        },
        approval,
        created,
        done: false,
    };
    Ok((pending, prev))
}

/// Locks the log, runs `check` on it, and appends an approval record,
/// uncommitted: the released file goes in place before [`Pending::commit`].
pub(crate) fn begin_approval(
    path: &Path,
    approval: &ApprovalRecord,
    check: impl FnOnce(&Pending) -> anyhow::Result<()>,
) -> anyhow::Result<Pending> {
    let (mut pending, prev) = lock(path, &approval.approval_id, true)?;
    check(&pending)?;
    let seq = pending.head.seq + 1;
    let mut line = Vec::new();
    let hash = LineEncoder::default()
        .encode(&mut line, seq, "approval", approval, &prev)
        .and_then(|h| pending.file.write_all(&line).map(|()| h))
        .with_context(|| pending.cannot())?;
    pending.head.seq = seq;
    pending.head.hash = hash.to_hex().to_string();
    Ok(pending)
}

/// Writes the scan record and its row records after `(seq, prev)`;
/// returns the last one's `seq` and hash. `cancel` set after a write is an
/// error of kind `Interrupted` (a write's own EINTR never surfaces here:
/// `write_all` retries it).
fn write_records(
    file: &mut File,
    scan: &ScanRecord,
    rows: &mut SpoolReader,
    (mut seq, mut prev): (u64, blake3::Hash),
    chunk: usize,
    cancel: &AtomicBool,
) -> io::Result<(u64, blake3::Hash)> {
    let mut first = true;
    let mut write = |file: &mut File, buf: &[u8]| -> io::Result<()> {
        if std::mem::take(&mut first) && hooks::armed("append") {
            let half = buf.len() / 2;
            file.write_all(&buf[..half])?;
            hooks::pause("append", cancel);
            file.write_all(&buf[half..])?;
        } else {
            file.write_all(buf)?;
        }
        if cancel.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        Ok(())
    };
    let mut enc = LineEncoder::default();
    let mut buf = Vec::with_capacity(chunk.min(16 << 20) + 4096);
    seq += 1;
    prev = enc.encode(&mut buf, seq, "scan", scan, &prev)?;
    while let Some((row, hash, reasons)) = rows.next_row()? {
        seq += 1;
        let row_blake3 = blake3::Hash::from_bytes(hash).to_hex();
        let body = RowBody {
            scan_id: &scan.scan_id,
            row,
            reasons,
            row_blake3: &row_blake3,
        };
        prev = enc.encode(&mut buf, seq, "row", &body, &prev)?;
        // One write per chunk: the lock, not the write size, is what keeps
        // other appenders out.
        if buf.len() >= chunk {
            write(file, &buf)?;
            buf.clear();
        }
    }
    write(file, &buf)?;
    Ok((seq, prev))
}

/// A new log's directory entry must reach the disk too, or a crash could lose
/// the whole file. Best effort: the records themselves are synced.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::super::record::check_line;
    use super::*;
    use std::io::Cursor;

    fn log_of(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = LineEncoder::default();
        let mut prev = GENESIS;
        for i in 1..=n as u64 {
            let body = super::super::record::tests::row_body("s", i);
            prev = enc.encode(&mut out, i, "row", &body, &prev).unwrap();
        }
        out
    }

    fn last_line_naive(log: &[u8]) -> (u64, Vec<u8>) {
        let body = &log[..log.len().saturating_sub(1)];
        let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        (start as u64, log[start..].to_vec())
    }

    #[test]
    fn last_line_of_a_log_bigger_than_the_chunk() {
        let log = log_of(1000);
        assert!(log.len() > 3 * TAIL_CHUNK);
        for chunk in [1, 7, 64, 255, 256, 4096, TAIL_CHUNK] {
            let got = read_last_line(&mut Cursor::new(&log), log.len() as u64, chunk).unwrap();
            assert_eq!(got, last_line_naive(&log), "chunk {chunk}");
            assert_eq!(check_line(&got.1).unwrap().seq, 1000);
        }
    }

    #[test]
    fn last_line_edge_cases() {
        let one = log_of(1);
        assert_eq!(
            read_last_line(&mut Cursor::new(&one), one.len() as u64, 16).unwrap(),
            (0, one.clone())
        );
        // A cut-off last line comes back cut off, to be reported as such.
        let mut cut = log_of(3);
        cut.truncate(cut.len() - 20);
        let (start, line) = read_last_line(&mut Cursor::new(&cut), cut.len() as u64, 16).unwrap();
        assert_eq!((start, line.clone()), last_line_naive(&cut));
        assert!(check_line(&line).unwrap_err().what.contains("truncated"));
        // Only the first `len` bytes count.
        let log = log_of(5);
        let four = log_of(4);
        let got = read_last_line(&mut Cursor::new(&log), four.len() as u64, 7).unwrap();
        assert_eq!(got, last_line_naive(&four));
    }

    #[test]
    fn a_huge_line_is_not_buffered() {
        let junk = vec![b'x'; MAX_LINE + 10];
        let err = read_last_line(&mut Cursor::new(&junk), junk.len() as u64, 4096).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// A pending append, uncommitted, on the log at `path` as it stands.
    fn pending_on(path: &Path, created: bool) -> Pending {
        let (file, _) = open_locked(path).unwrap();
        let start = file.metadata().unwrap().len();
        Pending {
            file,
            path: path.to_owned(),
            start,
            head: Head {
                seq: 0,
                hash: String::new(),
                scan_id: "s".into(),
            },
            approval: false,
            created,
            done: false,
        }
    }

    #[test]
    fn an_uncommitted_append_removes_only_the_empty_log_it_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let (file, created) = open_locked(&path).unwrap();
        assert!(created);
        drop(file);
        let (file, created) = open_locked(&path).unwrap();
        assert!(!created);
        drop(file);
        // Created by this append, empty when it locked it: taken away.
        let mut p = pending_on(&path, true);
        p.file.write_all(b"records\n").unwrap();
        drop(p);
        assert!(!path.exists());
        // There before: cut back to empty, kept.
        std::fs::write(&path, b"").unwrap();
        let mut p = pending_on(&path, false);
        p.file.write_all(b"records\n").unwrap();
        drop(p);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        // Created by this append, but another locked it first and committed:
        // its records stay.
        std::fs::write(&path, b"committed\n").unwrap();
        let mut p = pending_on(&path, true);
        p.file.write_all(b"records\n").unwrap();
        drop(p);
        assert_eq!(std::fs::read(&path).unwrap(), b"committed\n");
    }
}
