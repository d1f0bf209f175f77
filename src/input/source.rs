//! Opening an input: a file or stdin, possibly gzip/zstd-compressed, hashed
//! and counted as it is read, with a UTF-8 BOM taken off.

use anyhow::Context as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const BUF_SIZE: usize = 256 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Splits a compression suffix off a file name: `a.ndjson.gz` gives
    /// (`a.ndjson`, Gzip).
    pub fn split_name(name: &str) -> (&str, Compression) {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".gz") {
            (&name[..name.len() - 3], Compression::Gzip)
        } else if lower.ends_with(".zst") {
            (&name[..name.len() - 4], Compression::Zstd)
        } else {
            (name, Compression::None)
        }
    }
}

/// What is known about the input's bytes (before decompression) as they are
/// read: the count drives the progress bar, the hash goes to the report.
#[derive(Clone, Default)]
pub struct InputStats {
    bytes: Arc<AtomicU64>,
    hasher: Arc<Mutex<blake3::Hasher>>,
}

impl InputStats {
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn blake3(&self) -> String {
        self.hasher
            .lock()
            .expect("hasher lock")
            .finalize()
            .to_hex()
            .to_string()
    }
}

struct Tee<R> {
    inner: R,
    stats: InputStats,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.stats
            .hasher
            .lock()
            .expect("hasher lock")
            .update(&buf[..n]);
        self.stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Says which decompressor failed: zstd's "Unknown frame descriptor" or flate2's
/// "incomplete deflate stream" alone do not tell a user that the file is damaged.
/// OS errors come from the file underneath and pass through as they are.
struct Decoded<R> {
    inner: R,
    format: &'static str,
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.raw_os_error().is_some() || e.kind() == io::ErrorKind::Interrupted {
                e
            } else {
                io::Error::new(
                    e.kind(),
                    format!("corrupt or truncated {} data ({e})", self.format),
                )
            }
        })
    }
}

/// An opened input, ready for a format reader.
pub struct InputSource {
    pub reader: Box<dyn BufRead + Send>,
    pub stats: InputStats,
    pub bom: bool,
    /// Size on disk, when known (not for stdin).
    pub size: Option<u64>,
}

/// Opens `path` (`-` is stdin) with the given compression.
///
/// Errors name the file: "cannot open" when it cannot be opened, "cannot read" when
/// its first bytes cannot be read or decompressed.
pub fn open_input(path: &Path, compression: Compression) -> anyhow::Result<InputSource> {
    let cannot_open = |e: io::Error| {
        anyhow::Error::new(e).context(format!("{}: cannot open", crate::terminal::path(path)))
    };
    let stats = InputStats::default();
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(io::stdin()), None)
    } else {
        let file = File::open(path).map_err(cannot_open)?;
        let meta = file.metadata().map_err(cannot_open)?;
        if meta.is_dir() {
            return Err(cannot_open(io::Error::other("is a directory")));
        }
        (Box::new(file), Some(meta.len()))
    };
    let tee = Tee {
        inner: raw,
        stats: stats.clone(),
    };
    let mut decoded: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(tee),
        Compression::Gzip => Box::new(Decoded {
            inner: flate2::read::MultiGzDecoder::new(BufReader::new(tee)),
            format: "gzip",
        }),
        Compression::Zstd => Box::new(Decoded {
            inner: zstd::stream::read::Decoder::new(tee).map_err(cannot_open)?,
            format: "zstd",
        }),
    };
    // A BOM can arrive split across reads from a pipe: collect up to three
    // bytes before deciding.
    let mut head = Vec::with_capacity(3);
    while head.len() < 3 {
        let mut byte = [0u8; 3];
        let n = decoded
            .read(&mut byte[..3 - head.len()])
            .with_context(|| format!("{}: cannot read", crate::terminal::path(path)))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&byte[..n]);
    }
    let bom = head == BOM;
    if bom {
        head.clear();
    }
    let reader = BufReader::with_capacity(BUF_SIZE, io::Cursor::new(head).chain(decoded));
    Ok(InputSource {
        reader: Box::new(reader),
        stats,
        bom,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_suffixes() {
        assert_eq!(
            Compression::split_name("a.ndjson.gz"),
            ("a.ndjson", Compression::Gzip)
        );
        assert_eq!(
            Compression::split_name("a.csv.ZST"),
            ("a.csv", Compression::Zstd)
        );
        assert_eq!(
            Compression::split_name("a.csv"),
            ("a.csv", Compression::None)
        );
    }

    #[test]
    fn bom_is_removed_and_bytes_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"\xEF\xBB\xBFa,b\n").unwrap();
        let mut src = open_input(&p, Compression::None).unwrap();
        assert!(src.bom);
        let mut s = String::new();
        src.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a,b\n");
        assert_eq!(src.stats.bytes_read(), 7);
        assert_eq!(
            src.stats.blake3(),
            blake3::hash(b"\xEF\xBB\xBFa,b\n").to_hex().to_string()
        );
    }

    #[test]
    fn short_file_without_bom() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"a").unwrap();
        let mut src = open_input(&p, Compression::None).unwrap();
        assert!(!src.bom);
        let mut s = String::new();
        src.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a");
    }

    #[test]
    fn gzip_is_decoded_and_the_compressed_bytes_hashed() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ndjson.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"{\"a\":1}\n").unwrap();
        let gz = enc.finish().unwrap();
        std::fs::write(&p, &gz).unwrap();
        let mut src = open_input(&p, Compression::Gzip).unwrap();
        let mut s = String::new();
        src.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "{\"a\":1}\n");
        assert_eq!(src.stats.bytes_read(), gz.len() as u64);
        assert_eq!(src.stats.blake3(), blake3::hash(&gz).to_hex().to_string());
    }
}
