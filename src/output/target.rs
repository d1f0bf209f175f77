//! Where a command's `-o FILE` goes (`hash`, `train`, `init`, `audit
//! export`). A regular file, or a new one, is replaced atomically. `-` is
//! stdout. A device, FIFO or socket (`/dev/null`, `/proc/self/fd/1`, a named
//! pipe a loader reads) is written in place: replacing it with a regular file
//! would break whatever reads it. A symlink is followed, and the file it
//! names is replaced with the link kept.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::atomic::AtomicFile;
use super::temp::{Mode, remove_stale_temps};
use crate::input::Compression;
use crate::terminal;

/// The context of an error writing `what` to `path`: the path's, or for
/// `-` the thing printed, since stdout's own errors name stdout already and
/// "-: cannot write" would name it twice, as if it were a file called `-`.
pub fn cannot_write(path: &Path, what: &str) -> String {
    match path.as_os_str() == "-" {
        true => format!("cannot print {what}"),
        false => format!("{}: cannot write", terminal::path(path)),
    }
}

/// An output being written to one of the targets above.
pub enum OutputFile {
    Atomic(Box<AtomicFile>),
    InPlace(BufWriter<File>),
    Stdout(Box<dyn Write>),
}

impl OutputFile {
    /// Opens `path` for writing as described in the module docs. `mode` is
    /// for files crmguard creates; a file written in place keeps its own,
    /// and a file replaced passes its own on (`AtomicFile::replacing`): a
    /// rewrite neither widens nor narrows who may read it, except that a
    /// private output stays its owner's alone.
    pub fn create(path: &Path, mode: Mode) -> io::Result<OutputFile> {
        if path.as_os_str() == "-" {
            return Ok(OutputFile::Stdout(Box::new(terminal::stdout_data())));
        }
        let (target, replaced) = match fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(io::Error::other("is a directory")),
            Ok(m) if m.is_file() => {
                if fs::symlink_metadata(path)?.file_type().is_symlink() {
                    (fs::canonicalize(path)?, Some(m))
                } else {
                    (path.to_owned(), Some(m))
                }
            }
            Ok(_) => {
                let file = OpenOptions::new().write(true).open(path)?;
                return Ok(OutputFile::InPlace(BufWriter::with_capacity(
                    256 * 1024,
                    file,
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if fs::symlink_metadata(path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::NotFound,
                        "is a symlink to a file that does not exist",
                    ));
                }
                (path.to_owned(), None)
            }
            Err(e) => return Err(e),
        };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // Temp files of killed runs that wrote here: see temp.rs.
        for stale in remove_stale_temps(dir).unwrap_or_default() {
            crate::errln!(
                "crmguard: removed {}, left by a crmguard process that no longer runs",
                terminal::path(&stale)
            );
        }
        let mut file = AtomicFile::create(&target, mode)?;
        if let Some(m) = &replaced {
            file = file.replacing(m);
        }
        Ok(OutputFile::Atomic(Box::new(file)))
    }

    /// Completes the output: renamed into place, or flushed.
    pub fn commit(self) -> io::Result<()> {
        match self {
            OutputFile::Atomic(f) => f.commit().map(|_| ()),
            OutputFile::InPlace(mut f) => {
                f.flush()?;
                // A device or a pipe may not sync; what it took is its own.
                let _ = f.get_ref().sync_data();
                Ok(())
            }
            OutputFile::Stdout(mut out) => out.flush(),
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            OutputFile::Atomic(f) => f.write(buf),
            OutputFile::InPlace(f) => f.write(buf),
            OutputFile::Stdout(f) => f.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            OutputFile::Atomic(f) => f.write_all(buf),
            OutputFile::InPlace(f) => f.write_all(buf),
            OutputFile::Stdout(f) => f.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            OutputFile::Atomic(f) => f.flush(),
            OutputFile::InPlace(f) => f.flush(),
            OutputFile::Stdout(f) => f.flush(),
        }
    }
}

/// An output compressed as its name says (`.gz`, `.zst`), as `scan` reads
/// a name: a file rewritten in place stays what it was, and `-o x.csv.gz`
/// is gzip, not plain text under a gzip name.
pub enum Compressed {
    Plain(OutputFile),
    Gzip(flate2::write::GzEncoder<OutputFile>),
    Zstd(zstd::stream::write::Encoder<'static, OutputFile>),
}

impl Compressed {
    /// `out`, compressed as the final component of `name` says; stdout
    /// (`-`, or no name) is written plain, as `zcat` would.
    pub fn new(out: OutputFile, name: Option<&Path>) -> io::Result<Compressed> {
        let file_name = name
            .and_then(Path::file_name)
            .map(|n| n.as_encoded_bytes())
            .unwrap_or_default();
        Ok(match Compression::split_name(file_name).1 {
            Compression::None => Compressed::Plain(out),
            Compression::Gzip => Compressed::Gzip(flate2::write::GzEncoder::new(
                out,
                flate2::Compression::default(),
            )),
            Compression::Zstd => Compressed::Zstd(zstd::stream::write::Encoder::new(out, 0)?),
        })
    }

    /// Ends the compressed stream, then completes the output
    /// ([`OutputFile::commit`]).
    pub fn commit(self) -> io::Result<()> {
        match self {
            Compressed::Plain(out) => out.commit(),
            Compressed::Gzip(e) => e.finish()?.commit(),
            Compressed::Zstd(e) => e.finish()?.commit(),
        }
    }
}

impl Write for Compressed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressed::Plain(f) => f.write(buf),
            Compressed::Gzip(f) => f.write(buf),
            Compressed::Zstd(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressed::Plain(f) => f.flush(),
            Compressed::Gzip(f) => f.flush(),
            Compressed::Zstd(f) => f.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, data: &[u8]) {
        let mut f = OutputFile::create(path, Mode::Shared).unwrap();
        f.write_all(data).unwrap();
        f.commit().unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.csv");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"new");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[cfg(unix)]
    #[test]
    fn a_device_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("null");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        write(&link, b"gone");
        write(Path::new("/dev/null"), b"gone");
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn directories_and_dangling_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(OutputFile::create(dir.path(), Mode::Shared).is_err());
        #[cfg(unix)]
        {
            let link = dir.path().join("dangling");
            std::os::unix::fs::symlink(dir.path().join("missing"), &link).unwrap();
            let err = OutputFile::create(&link, Mode::Shared).err().unwrap();
            assert!(err.to_string().contains("does not exist"), "{err}");
        }
    }
}
