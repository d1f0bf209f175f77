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
    /// Splits a compression suffix off a file name, in any case and on
    /// bytes (a name need not be UTF-8): `a.ndjson.gz` gives (`a.ndjson`,
    /// gzip); `.gz` alone is a name, not a suffix.
    pub fn split_name(name: &[u8]) -> (&[u8], Compression) {
        let ends = |suffix: &[u8]| {
            name.len() > suffix.len()
                && name[name.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        };
        if ends(b".gz") {
            (&name[..name.len() - 3], Compression::Gzip)
        } else if ends(b".zst") {
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
    /// How the content is compressed, by its magic bytes: what it was read
    /// as, whatever the file name says.
    pub compression: Compression,
    /// The content had no bytes at all (after decompression).
    pub empty: bool,
}

impl Compression {
    /// The compression a file's first bytes announce.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn name(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }
}

/// Content that no format reader can make sense of, by its magic bytes:
/// said plainly rather than as a parse error on line 1.
fn refuse_binary(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive (an Excel .xlsx workbook?), not CSV or JSON: export it as CSV")
    } else if head.starts_with(b"\xD0\xCF\x11\xE0") {
        Some("an old Excel .xls workbook, not CSV or JSON: export it as CSV")
    } else if head.starts_with(b"%PDF") {
        Some("a PDF document, not CSV or JSON")
    } else {
        None
    }
}

/// The content as text: decompressed, then transcoded to UTF-8 when an
/// encoding is given.
fn decode(
    raw: impl BufRead + Send + 'static,
    compression: Compression,
    encoding: Option<&'static encoding_rs::Encoding>,
    path: &Path,
) -> io::Result<Box<dyn Read + Send>> {
    let decompressed: Box<dyn Read + Send> = match compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(Decoded {
            inner: flate2::bufread::MultiGzDecoder::new(raw),
            format: "gzip",
        }),
        Compression::Zstd => Box::new(Decoded {
            inner: zstd::stream::read::Decoder::with_buffer(raw)?,
            format: "zstd",
        }),
    };
    let Some(enc) = encoding else {
        return Ok(decompressed);
    };
    // The transcoder drops a BOM of the encoding it was given, but a UTF-8
    // BOM before legacy-encoded rows (a spreadsheet's "CSV UTF-8" export
    // with a few rows pasted from elsewhere) would become "ï»¿" in the
    // first column's name. It is taken off before transcoding and put back
    // after, where the caller reports and drops it as for any UTF-8 file.
    let mut decompressed = decompressed;
    let head = read_head(&mut decompressed, BOM.len())?;
    let utf8_bom = head == BOM && enc != encoding_rs::UTF_16LE && enc != encoding_rs::UTF_16BE;
    let rest: Box<dyn Read + Send> = if utf8_bom {
        decompressed
    } else {
        Box::new(io::Cursor::new(head).chain(decompressed))
    };
    let transcoded = Transcode::new(rest, enc, path);
    let bom: &[u8] = if utf8_bom { BOM } else { &[] };
    Ok(Box::new(io::Cursor::new(bom).chain(transcoded)))
}

/// `--encoding`: the content transcoded to UTF-8, stopping at the first
/// byte sequence that is no character in the encoding. Replacing it with
/// U+FFFD, as a decoder does by default, would pass the row clean with its
/// text lost and nothing said; and the bytes cannot be kept for an
/// ENCODING_INVALID row either, since a malformed sequence may begin in an
/// earlier buffer and the row's text around it is already transcoded. So the
/// file is refused, at the line and column (in the transcoded text, which
/// has the same lines) where the bad bytes start, before anything is
/// committed.
struct Transcode<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    path: std::path::PathBuf,
    out: Vec<u8>,
    pos: usize,
    /// The transcoded text's line and the characters on it so far.
    line: u64,
    column: u64,
    /// The last few bytes of content consumed: a malformed sequence is at
    /// most 4 bytes, plus 3 read after it.
    recent: Vec<u8>,
    done: bool,
    /// Every read after the first bad bytes fails as the first did.
    failed: Option<crate::error::Located>,
}

const RECENT: usize = 8;

impl<R: Read> Transcode<BufReader<R>> {
    fn new(inner: R, enc: &'static encoding_rs::Encoding, path: &Path) -> Self {
        Transcode {
            inner: BufReader::with_capacity(BUF_SIZE, inner),
            decoder: enc.new_decoder_with_bom_removal(),
            path: path.to_owned(),
            out: Vec::new(),
            pos: 0,
            line: 1,
            column: 0,
            recent: Vec::with_capacity(RECENT * 2),
            done: false,
            failed: None,
        }
    }
}

impl<R: BufRead> Transcode<R> {
    /// Transcodes the next buffer into `out`; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        use encoding_rs::DecoderResult;
        if let Some(e) = &self.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, e.clone()));
        }
        while !self.done {
            let input = self.inner.fill_buf()?;
            let last = input.is_empty();
            self.out.resize(
                self.decoder
                    .max_utf8_buffer_length_without_replacement(input.len())
                    .unwrap_or(BUF_SIZE * 3)
                    .max(16),
                0,
            );
            let (result, read, written) =
                self.decoder
                    .decode_to_utf8_without_replacement(input, &mut self.out, last);
            self.recent.extend_from_slice(&input[..read]);
            let cut = self.recent.len().saturating_sub(RECENT);
            self.recent.drain(..cut);
            self.inner.consume(read);
            self.out.truncate(written);
            self.pos = 0;
            // Lines by a vectorised search; characters only after the
            // last line break, the one line the column is counted on.
            let chars = |b: &[u8]| b.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
            match memchr::memrchr(b'\n', &self.out) {
                Some(last) => {
                    self.line += memchr::memchr_iter(b'\n', &self.out).count() as u64;
                    self.column = chars(&self.out[last + 1..]);
                }
                None => self.column += chars(&self.out),
            }
            match result {
                DecoderResult::InputEmpty if last => self.done = true,
                DecoderResult::InputEmpty | DecoderResult::OutputFull => {}
                DecoderResult::Malformed(bad, after) => {
                    let e = self.malformed(bad.into(), after.into());
                    self.failed = Some(e.clone());
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
            if written > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn malformed(&self, bad: usize, after: usize) -> crate::error::Located {
        let name = self.decoder.encoding().name();
        let what = match self.recent.len().checked_sub(bad + after) {
            Some(from) => {
                let hex: Vec<String> = self.recent[from..from + bad]
                    .iter()
                    .map(|b| format!("0x{b:02X}"))
                    .collect();
                match bad {
                    1 => format!("byte {} is", hex[0]),
                    _ => format!("bytes {} are", hex.join(" ")),
                }
            }
            None => "the bytes here are".into(),
        };
        crate::error::Located::new(
            &self.path,
            self.line,
            self.column + 1,
            format!(
                "{what} not valid {name} (--encoding {label}): is the file in another \
                 encoding?",
                label = name.to_ascii_lowercase(),
            ),
        )
    }
}

impl<R: BufRead> Read for Transcode<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.out.len() && !self.refill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Up to `n` bytes from the start of `r`: a pipe may hand them over in
/// several reads.
fn read_head(r: &mut impl Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    while head.len() < n {
        let mut buf = [0u8; 8];
        let got = r.read(&mut buf[..n - head.len()])?;
        if got == 0 {
            break;
        }
        head.extend_from_slice(&buf[..got]);
    }
    Ok(head)
}

/// Opens `path` (`-` is stdin). The content is read as what its magic
/// bytes say, whatever the name: gzip under `.csv` decompressed, plain text
/// under `.gz` as it is (COMPRESSION_MISMATCH says so). Damaged gzip or
/// zstd data still starts with its magic bytes, so it is an error, not
/// garbage read as rows. With `encoding`, the (decompressed) content is
/// transcoded to UTF-8 as it is read.
///
/// Errors name the file: "cannot open" when it cannot be opened, "cannot read" when
/// its first bytes cannot be read or decompressed.
pub fn open_input(
    path: &Path,
    encoding: Option<&'static encoding_rs::Encoding>,
) -> anyhow::Result<InputSource> {
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
    let mut tee = BufReader::with_capacity(
        BUF_SIZE,
        Tee {
            inner: raw,
            stats: stats.clone(),
        },
    );
    // A pipe may hand over fewer bytes than a magic number in its first
    // read; a short peek then reads as plain text, which is what it is
    // unless it is a 1-byte gzip file.
    let head = tee
        .fill_buf()
        .with_context(|| format!("{}: cannot read", crate::terminal::path(path)))?;
    if let Some(what) = refuse_binary(head) {
        anyhow::bail!("{}: the file is {what}", crate::terminal::path(path));
    }
    let compression = Compression::sniff(head);
    let mut decoded = decode(tee, compression, encoding, path).map_err(cannot_open)?;
    // A BOM can arrive split across reads from a pipe: collect up to three
    // bytes before deciding.
    let mut head =
        read_head(&mut decoded, BOM.len()).map_err(
            |e| match crate::error::Located::carried_by(&e) {
                Some(at) => anyhow::Error::new(at.clone()),
                None => anyhow::Error::new(e)
                    .context(format!("{}: cannot read", crate::terminal::path(path))),
            },
        )?;
    // No UTF-8 text starts with 0xFE or 0xFF, so a UTF-16 mark cannot be
    // misread; a UTF-8 one is taken off below.
    if encoding.is_none()
        && let Some((enc, _)) = encoding_rs::Encoding::for_bom(&head)
        && enc != encoding_rs::UTF_8
    {
        // Read as bytes, UTF-16 makes every record ENCODING_INVALID or
        // MALFORMED_ROW, and the legacy encoding guessed from them gives a
        // fix that would garble the text: the mark says what the file is.
        anyhow::bail!(crate::error::Located::new(
            path,
            1,
            1,
            format!(
                "the content is {} (it starts with a UTF-16 byte-order mark), not UTF-8: \
                 scan with --encoding {}, or convert it first (iconv -f UTF-16 -t UTF-8)",
                enc.name(),
                enc.name().to_ascii_lowercase()
            ),
        ));
    }
    let bom = head == BOM;
    let empty = head.is_empty();
    if bom {
        head.clear();
    }
    let reader = BufReader::with_capacity(BUF_SIZE, io::Cursor::new(head).chain(decoded));
    Ok(InputSource {
        reader: Box::new(reader),
        stats,
        bom,
        size,
        compression,
        empty,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_suffixes_split_on_bytes() {
        assert_eq!(
            Compression::split_name(b"a.ndjson.gz"),
            (&b"a.ndjson"[..], Compression::Gzip)
        );
        assert_eq!(
            Compression::split_name(b"caf\xe9.csv.ZST"),
            (&b"caf\xe9.csv"[..], Compression::Zstd)
        );
        assert_eq!(
            Compression::split_name(b"a.csv"),
            (&b"a.csv"[..], Compression::None)
        );
        assert_eq!(
            Compression::split_name(b".gz"),
            (&b".gz"[..], Compression::None)
        );
    }

    #[test]
    fn bom_is_removed_and_bytes_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"\xEF\xBB\xBFa,b\n").unwrap();
        let mut src = open_input(&p, None).unwrap();
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
    fn a_file_of_many_buffers_is_hashed_whole_and_in_order() {
        // Distinct bytes in each of nine buffers, so that a buffer hashed
        // twice, skipped or out of order shows.
        let data: Vec<u8> = (0..(BUF_SIZE * 9 + 123) as u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, &data).unwrap();
        let mut src = open_input(&p, None).unwrap();
        let mut back = Vec::new();
        src.reader.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(src.stats.bytes_read(), data.len() as u64);
        assert_eq!(src.stats.blake3(), blake3::hash(&data).to_hex().to_string());
    }

    #[test]
    fn short_file_without_bom() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"a").unwrap();
        let mut src = open_input(&p, None).unwrap();
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
        let mut src = open_input(&p, None).unwrap();
        let mut s = String::new();
        src.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "{\"a\":1}\n");
        assert_eq!(src.stats.bytes_read(), gz.len() as u64);
        assert_eq!(src.stats.blake3(), blake3::hash(&gz).to_hex().to_string());
        assert_eq!(src.compression, Compression::Gzip);
        // The same bytes under a plain name are sniffed and read alike.
        let plain = dir.path().join("x.ndjson");
        std::fs::write(&plain, &gz).unwrap();
        let mut src = open_input(&plain, None).unwrap();
        let mut s = String::new();
        src.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "{\"a\":1}\n");
        assert_eq!(src.compression, Compression::Gzip);
    }

    #[test]
    fn plain_text_under_a_compressed_name_is_read_as_it_is_and_workbooks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv.gz");
        std::fs::write(&p, b"a,b\n").unwrap();
        let mut src = open_input(&p, None).unwrap();
        assert_eq!(src.compression, Compression::None);
        let mut s = String::new();
        src.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a,b\n");
        let x = dir.path().join("x.csv");
        std::fs::write(&x, b"PK\x03\x04rest").unwrap();
        let e = open_input(&x, None).err().unwrap().to_string();
        assert!(e.contains("ZIP archive"), "{e}");
        let empty = dir.path().join("e.csv");
        std::fs::write(&empty, b"").unwrap();
        assert!(open_input(&empty, None).unwrap().empty);
    }

    #[test]
    fn windows_1252_is_transcoded_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"name\nM\xfcller\n").unwrap();
        let mut src = open_input(&p, Some(encoding_rs::WINDOWS_1252)).unwrap();
        let mut s = String::new();
        src.reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "name\nMüller\n");
        assert_eq!(src.stats.bytes_read(), 12, "the stored bytes are counted");
    }

    /// Hands over one byte per read, as a slow pipe may.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn a_malformed_sequence_split_across_reads_is_named_where_it_starts() {
        // UTF-16LE "é,\nab" then a lone high surrogate (D800) and "c": the
        // surrogate's two bytes arrive in separate reads, and only the "c"
        // after them shows that they are malformed.
        let bytes: Vec<u8> = "é,\nab"
            .encode_utf16()
            .chain([0xD800, u16::from(b'c')])
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut t = Transcode::new(
            Trickle(io::Cursor::new(bytes)),
            encoding_rs::UTF_16LE,
            Path::new("x.csv"),
        );
        let mut text = Vec::new();
        let e = t.read_to_end(&mut text).unwrap_err();
        assert_eq!(text, "é,\nab".as_bytes(), "the text before it is read");
        let at = crate::error::Located::carried_by(&e).unwrap();
        assert_eq!(
            at.to_string(),
            "x.csv:2:3: bytes 0x00 0xD8 are not valid UTF-16LE (--encoding utf-16le): \
             is the file in another encoding?"
        );
        // Reading on does not skip past it.
        assert!(t.read(&mut [0; 8]).is_err());
    }
}
