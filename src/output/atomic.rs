//! Output files that appear under their final name only when complete: they
//! are written to a hidden temp file in the same directory (temp.rs) and
//! renamed into place. A failure or Ctrl-C removes the temp file; a crash
//! leaves at most a private `.*.crmguard-tmp` file, which a later run
//! removes, never a truncated output under a name a loader would pick up.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::flush::Flusher;
use super::temp::{self, Live, Mode};

/// What a finished output is, for the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutputSummary {
    #[serde(serialize_with = "super::lossy_path")]
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
    pub blake3: String,
}

const BUF_SIZE: usize = 256 * 1024;

/// A failed write of an output, with the output's own path: a caller
/// holding a clean and a quarantine file can then say which one failed
/// (on a full disk it was often the quarantine file, said to be the clean
/// one). Displays as the cause alone, so a caller that names the file
/// already says it once.
#[derive(Debug)]
pub struct WriteFailed {
    pub path: PathBuf,
    pub source: io::Error,
}

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.source.fmt(f)
    }
}

impl std::error::Error for WriteFailed {}

impl WriteFailed {
    /// The output an error came from, if an [`AtomicFile`] said.
    pub fn of(e: &io::Error) -> Option<&WriteFailed> {
        e.get_ref().and_then(|r| r.downcast_ref::<WriteFailed>())
    }
}

/// A file being written: hashed and counted as it goes. It buffers itself
/// rather than sitting on a BufWriter so that blake3 sees whole buffers,
/// where its SIMD paths run several times faster than on row-sized pieces.
///
/// Full buffers are hashed, written and synced by a thread of the file's
/// own ([`Flusher`]), started when the first one fills, so that the scan's
/// threads never wait for the disk. Files smaller than a buffer (reports,
/// most quarantines) never start one.
pub struct AtomicFile {
    tmp: NamedTempFile,
    live: Live,
    mode: Mode,
    buf: Vec<u8>,
    path: PathBuf,
    /// `None` while a [`Flusher`] has it.
    hasher: Option<blake3::Hasher>,
    flusher: Option<Flusher>,
    bytes: u64,
    pub rows: u64,
    /// The file this one replaces, whose permissions and owner it takes.
    replaces: Option<Replaced>,
}

/// What a replaced file's successor keeps of it: a rewrite must not make a
/// file readable by more people than before (nor fewer).
#[derive(Debug, Clone, Copy)]
struct Replaced {
    bits: u32,
    uid: u32,
    gid: u32,
}

impl AtomicFile {
    /// Starts writing the file that will appear at `path`; `mode` says who
    /// may read it once it is there (the temp file is private meanwhile).
    pub fn create(path: &Path, mode: Mode) -> io::Result<AtomicFile> {
        let (tmp, live) = temp::create(path)?;
        Ok(AtomicFile {
            tmp,
            live,
            mode,
            buf: Vec::with_capacity(BUF_SIZE),
            path: path.to_owned(),
            hasher: Some(blake3::Hasher::new()),
            flusher: None,
            bytes: 0,
            rows: 0,
            replaces: None,
        })
    }

    /// The file will replace one with metadata `old`: it gets that file's
    /// permission bits (a [`Mode::Private`] output at most its owner's) and,
    /// as far as the system lets this process, its owner and group.
    pub fn replacing(mut self, old: &std::fs::Metadata) -> AtomicFile {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            self.replaces = Some(Replaced {
                bits: old.mode() & 0o777,
                uid: old.uid(),
                gid: old.gid(),
            });
        }
        #[cfg(not(unix))]
        let _ = old;
        self
    }

    /// The permission bits the finished file gets, after giving it the
    /// replaced file's owner and group where allowed; `None` to keep the
    /// temp file's.
    #[cfg(unix)]
    fn final_bits(&self) -> io::Result<Option<u32>> {
        use std::os::unix::fs::MetadataExt;
        let Some(old) = self.replaces else {
            return Ok((self.mode == Mode::Shared).then(|| self.mode.bits()));
        };
        let mut bits = match self.mode {
            Mode::Private => old.bits & Mode::Private.bits(),
            Mode::Shared => old.bits,
        };
        let file = self.tmp.as_file();
        // Root may give the file back to its owner; anyone may give it a
        // group they are in. Failing both is no error: the bits below
        // make up for it.
        if std::os::unix::fs::fchown(file, Some(old.uid), Some(old.gid)).is_err() {
            let _ = std::os::unix::fs::fchown(file, None, Some(old.gid));
        }
        if file.metadata()?.gid() != old.gid {
            // The group bits were for the old file's group, not this one's.
            bits &= !0o070;
        }
        Ok(Some(bits))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn failed(&self, e: io::Error) -> io::Error {
        match WriteFailed::of(&e) {
            Some(_) => e,
            None => io::Error::new(
                e.kind(),
                WriteFailed {
                    path: self.path.clone(),
                    source: e,
                },
            ),
        }
    }

    /// Hands the buffer to the flusher thread (starting it if need be) and
    /// takes an empty one in its place.
    fn drain(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.flusher.is_none() {
            let file = self.tmp.as_file().try_clone()?;
            let hasher = self.hasher.take().expect("a hasher without a flusher");
            self.flusher = Some(Flusher::start(file, hasher)?);
        }
        let f = self.flusher.as_ref().expect("started above");
        match f.send(std::mem::take(&mut self.buf)) {
            Ok(empty) => {
                self.buf = empty;
                Ok(())
            }
            // The thread stopped on an error: that error is the answer.
            Err(()) => self.stop_flusher(),
        }
    }

    /// Stops the flusher thread, if there is one, once it has written all it
    /// was sent; the hasher comes back from it.
    fn stop_flusher(&mut self) -> io::Result<()> {
        let Some(f) = self.flusher.take() else {
            return Ok(());
        };
        let (hasher, result) = f.stop();
        self.hasher = Some(hasher);
        result
    }

    /// Writes what is buffered and waits until the file holds every byte
    /// written to it so far.
    fn write_out(&mut self) -> io::Result<()> {
        if self.flusher.is_some() {
            self.drain()?;
            self.stop_flusher()
        } else {
            let hasher = self.hasher.as_mut().expect("a hasher without a flusher");
            hasher.update(&self.buf);
            // Through the File: tempfile's Write names the temp file in its
            // errors, which the user never chose and cannot find.
            self.tmp.as_file_mut().write_all(&self.buf)?;
            self.buf.clear();
            Ok(())
        }
    }

    /// Flushes and syncs: the file is complete but still under its temp
    /// name, so a step that must come before it appears (the audit record)
    /// can still fail without leaving it behind.
    pub fn finish(mut self) -> io::Result<Finished> {
        if let Err(e) = self.complete() {
            return Err(self.failed(e));
        }
        Ok(Finished {
            summary: OutputSummary {
                path: self.path,
                rows: self.rows,
                bytes: self.bytes,
                blake3: self
                    .hasher
                    .as_ref()
                    .expect("the flusher is stopped")
                    .finalize()
                    .to_hex()
                    .to_string(),
            },
            tmp: self.tmp,
            _live: self.live,
        })
    }

    fn complete(&mut self) -> io::Result<()> {
        self.write_out()?;
        #[cfg(unix)]
        if let Some(bits) = self.final_bits()? {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::Permissions::from_mode(bits);
            self.tmp.as_file().set_permissions(perms)?;
        }
        self.tmp.as_file().sync_all()
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(self) -> io::Result<OutputSummary> {
        self.finish()?.persist()
    }
}

/// A complete output waiting under its temp name; dropped, it is removed.
pub struct Finished {
    pub summary: OutputSummary,
    tmp: NamedTempFile,
    _live: Live,
}

impl Finished {
    /// Renames the file into place.
    pub fn persist(self) -> io::Result<OutputSummary> {
        self.tmp.persist(&self.summary.path).map_err(|e| e.error)?;
        Ok(self.summary)
    }

    /// Puts the file in place only if nothing has that name: an error
    /// rather than a file replaced.
    pub fn persist_new(self) -> io::Result<OutputSummary> {
        self.tmp
            .persist_noclobber(&self.summary.path)
            .map_err(|e| e.error)?;
        Ok(self.summary)
    }
}

/// Syncs the directory `path` is in, so that a rename into it is durable.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // Cut into buffers of at most BUF_SIZE, even for a row of many MB:
        // the flusher's queue then holds a bounded number of bytes.
        let mut rest = data;
        while !rest.is_empty() {
            let n = rest.len().min(BUF_SIZE - self.buf.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.buf.len() >= BUF_SIZE {
                self.drain().map_err(|e| self.failed(e))?;
            }
        }
        self.bytes += data.len() as u64;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out().map_err(|e| self.failed(e))
    }
}

/// What makes an existing file itself, whatever path names it: its device
/// and inode where there are such (links and `..` detours name one file),
/// else its canonical path. `None` for a path that names no file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileId(
    #[cfg(unix)] (u64, u64),
    #[cfg(not(unix))] std::path::PathBuf,
);

impl FileId {
    pub fn of(path: &Path) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(path).ok()?;
            Some(FileId((m.dev(), m.ino())))
        }
        #[cfg(not(unix))]
        {
            path.canonicalize().ok().map(FileId)
        }
    }
}

/// The first of `paths` that names the same existing file as an earlier
/// one, and that earlier one; paths that name no file are passed over. One
/// look-up per path, not a comparison per pair: thousands stay linear.
pub fn repeated_file<'a>(
    paths: impl IntoIterator<Item = &'a Path>,
) -> Option<(&'a Path, &'a Path)> {
    let mut seen: std::collections::HashMap<FileId, &Path> = std::collections::HashMap::new();
    paths
        .into_iter()
        .find_map(|p| Some((seen.insert(FileId::of(p)?, p)?, p)))
}

/// Whether `a` and `b` name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    matches!((FileId::of(a), FileId::of(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_under_the_final_name_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut f = AtomicFile::create(&path, Mode::Shared).unwrap();
        f.write_all(b"a,b\n").unwrap();
        assert!(!path.exists());
        let summary = f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a,b\n");
        assert_eq!(summary.bytes, 4);
        assert_eq!(summary.blake3, blake3::hash(b"a,b\n").to_hex().to_string());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    /// A replacement has the replaced file's bits, but a private output
    /// never more than its owner's.
    #[cfg(unix)]
    #[test]
    fn a_replacement_keeps_the_old_files_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        for (old, mode, want) in [
            (0o640, Mode::Shared, 0o640),
            (0o600, Mode::Shared, 0o600),
            (0o644, Mode::Private, 0o600),
            (0o400, Mode::Private, 0o400),
        ] {
            std::fs::write(&path, b"old").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(old)).unwrap();
            let m = std::fs::metadata(&path).unwrap();
            let mut f = AtomicFile::create(&path, mode).unwrap().replacing(&m);
            f.write_all(b"new").unwrap();
            f.commit().unwrap();
            let got = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, want, "{old:o} {mode:?}");
        }
    }

    /// Small, or large enough to have started the flusher thread.
    #[test]
    fn dropped_file_leaves_nothing() {
        for size in [7, 5 * BUF_SIZE] {
            let dir = tempfile::tempdir().unwrap();
            let mut f = AtomicFile::create(&dir.path().join("out.csv"), Mode::Private).unwrap();
            f.write_all(&vec![b'a'; size]).unwrap();
            drop(f);
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{size}");
        }
    }

    /// Rows of a few dozen bytes, one piece larger than a buffer, and a
    /// flush midway: what goes through the flusher thread comes out whole,
    /// in order, and hashed.
    #[test]
    fn files_larger_than_the_buffers_come_out_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.csv");
        let mut f = AtomicFile::create(&path, Mode::Shared).unwrap();
        let mut expected = Vec::new();
        for i in 0..400_000u32 {
            let row = format!("{i},row {i},{}\n", "x".repeat((i % 97) as usize));
            f.write_all(row.as_bytes()).unwrap();
            expected.extend_from_slice(row.as_bytes());
            if i == 100_000 {
                f.flush().unwrap();
                let big = vec![b'#'; 3 * BUF_SIZE + 5];
                f.write_all(&big).unwrap();
                expected.extend_from_slice(&big);
            }
        }
        assert!(expected.len() as u64 > super::super::flush::SYNC_EVERY);
        let summary = f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        assert_eq!(summary.bytes, expected.len() as u64);
        assert_eq!(summary.blake3, blake3::hash(&expected).to_hex().to_string());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
