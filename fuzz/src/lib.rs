//! What every fuzz target checks: a scan of any input either fails with an
//! error and leaves no outputs, or writes outputs that hold every record of
//! the input exactly once, byte for byte (README, "Guarantees").
//!
//! The records are those crmguard's own reader finds in the input; that they
//! are the input is checked first, independently: the records and their line
//! endings, in order, must be the input with only what the format calls
//! blank dropped (line breaks between CSV records, blank NDJSON lines, a JSON
//! array's brackets, commas and whitespace). Then the clean file must be the
//! header and the clean records as read, and each line or element of the
//! quarantine file a record as read with crmguard's columns added (or, for
//! JSON that is not an object, wrapped with its text), numbered in order.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crmguard::input::{Compression, Content, Format, Header, Row, Terminator, reader_for};
use crmguard::policy::Policy;
use crmguard::scan::{Input, ScanConfig, scan};

/// The limit the targets run under: small enough that inputs of a few
/// kilobytes reach it, and the field and value caps (at least 1,024).
pub const MAX_RECORD_BYTES: usize = 2048;

/// The built-in policy with the detector off (its cost would dominate every
/// run) and a small record limit.
pub fn policy() -> Policy {
    let mut p = Policy::builtin();
    p.detector.enabled = false;
    p.max_record_bytes = MAX_RECORD_BYTES;
    p
}

/// The harness reads outputs back as text, record by record; Parquet is a
/// binary format the parquet crate reads, and no target here scans it.
const NOT_PARQUET: &str = "the fuzz targets scan text formats only";

/// The Bulk API delimiters, chosen by a fuzz input's first byte.
pub const DELIMITERS: [u8; 6] = [b',', b'\t', b';', b'|', b'^', b'`'];

/// Scans `stored` (the file's bytes as on disk: compressed if `compression`
/// says so) as `format`, and checks the promise against `plain`, the bytes
/// the readers see (`None`: the harness could not decompress them either,
/// and the scan must fail).
pub fn check(stored: &[u8], plain: Option<&[u8]>, format: Format, compression: Compression, policy: &Policy) {
    let dir = scratch();
    let ext = match (format, compression) {
        (Format::Csv { .. }, _) => "csv",
        (Format::Json, _) => "json",
        (Format::Ndjson, _) => "ndjson",
        (Format::Parquet, _) => unreachable!("{NOT_PARQUET}"),
    };
    let suffix = match compression {
        Compression::None => "",
        Compression::Gzip => ".gz",
        Compression::Zstd => ".zst",
    };
    let path = dir.path().join(format!("in.{ext}{suffix}"));
    std::fs::write(&path, stored).unwrap();
    let out_dir = dir.path().join("out");
    let delimiter = match format {
        Format::Csv { delimiter } => Some(delimiter),
        _ => None,
    };
    let input = Input::plan(&path, Some(format), delimiter, &out_dir, false).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let (interrupted, critical) = (AtomicBool::new(false), AtomicBool::new(false));
    let audit_log = out_dir.join("audit.jsonl");
    let cfg = ScanConfig {
        policy,
        scan_time: "2026-06-01T12:00:00Z".parse().unwrap(),
        interrupted: &interrupted,
        progress: None,
        object: None,
        audit_log: &audit_log,
        critical: &critical,
        detector: None,
        baseline: None,
        write_baseline: false,
        encoding: None,
        media: None,
        media_root: None,
    };
    let outputs = [&input.outputs.clean, &input.outputs.quarantine, &input.outputs.report];
    let report = match scan(&input, &cfg) {
        Ok(scanned) => scanned.report,
        Err(_) => {
            for out in outputs {
                assert!(!out.exists(), "an error left {}", out.display());
            }
            return;
        }
    };
    let plain = plain.expect("a scan succeeded on input the harness cannot decompress");
    let plain = plain.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(plain);
    let (header, records) = read_back(plain, format, policy.max_record_bytes)
        .expect("the scan succeeded, reading the same bytes again failed");
    records_are_the_input(plain, format, header.as_ref(), &records);
    assert_eq!(report.rows_total, records.len() as u64);
    assert_eq!(report.rows_clean + report.rows_quarantined, report.rows_total);
    let clean = std::fs::read(&input.outputs.clean).unwrap();
    let quarantine = std::fs::read(&input.outputs.quarantine).unwrap();
    let quarantined = match format {
        Format::Csv { delimiter } => csv_outputs(&clean, &quarantine, header.as_ref(), &records, delimiter),
        Format::Ndjson | Format::Json => json_outputs(&clean, &quarantine, &records, format),
        Format::Parquet => unreachable!("{NOT_PARQUET}"),
    };
    assert_eq!(report.rows_quarantined, quarantined);
}

/// A temp dir in memory where there is one: the scan syncs its outputs.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

/// The header and records crmguard's reader finds in `plain`.
fn read_back(plain: &[u8], format: Format, limit: usize) -> Option<(Option<Header>, Vec<Row>)> {
    let src: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(plain.to_vec()));
    let mut reader = reader_for(format, src, &PathBuf::from("in"), limit).ok()?;
    let mut rows = Vec::new();
    let mut row = Row::default();
    while reader.read_row(&mut row).ok()? {
        rows.push(row.clone());
    }
    Some((reader.header().cloned(), rows))
}

/// The records, with their line endings and in order, are `plain` with
/// only what the format calls blank left out.
fn records_are_the_input(plain: &[u8], format: Format, header: Option<&Header>, rows: &[Row]) {
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    if let Some(h) = header {
        pieces.push([&h.raw[..], h.terminator.bytes()].concat());
    }
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.number, i as u64 + 1, "records are numbered in order");
        pieces.push([&r.raw[..], r.terminator.bytes()].concat());
    }
    let mut p = 0;
    for (i, piece) in pieces.iter().enumerate() {
        p = skip_blank(plain, p, format, if i == 0 { b'[' } else { b',' });
        assert!(
            plain[p..].starts_with(piece),
            "record {:?} is not the input at byte {p}",
            String::from_utf8_lossy(piece)
        );
        p += piece.len();
    }
    if pieces.is_empty() {
        p = skip_blank(plain, p, format, b'[');
    }
    p = skip_blank(plain, p, format, b']');
    assert_eq!(p, plain.len(), "input left over after the last record");
}

/// Past what the format skips between records, from `p`; in a JSON array,
/// whitespace and `punct` (the `[` before the first element, the `,`
/// between two, the `]` after the last).
fn skip_blank(plain: &[u8], mut p: usize, format: Format, punct: u8) -> usize {
    match format {
        Format::Csv { .. } => {
            while p < plain.len() && matches!(plain[p], b'\r' | b'\n') {
                p += 1;
            }
        }
        Format::Ndjson => loop {
            let end = plain[p..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(plain.len(), |i| p + i + 1);
            if end == p || !plain[p..end].iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')) {
                break;
            }
            p = end;
        },
        Format::Json => {
            let ws = |p: &mut usize| {
                while *p < plain.len() && matches!(plain[*p], b' ' | b'\t' | b'\r' | b'\n') {
                    *p += 1;
                }
            };
            ws(&mut p);
            if plain.get(p) == Some(&punct) {
                p += 1;
                ws(&mut p);
            }
        }
        Format::Parquet => unreachable!("{NOT_PARQUET}"),
    }
    p
}

/// The terminator crmguard writes for a row that had none: the header's,
/// else LF.
fn own_terminator(header: Option<&Header>) -> Terminator {
    match header.map(|h| h.terminator) {
        Some(t @ (Terminator::CrLf | Terminator::Cr)) => t,
        _ => Terminator::Lf,
    }
}

/// Checks the CSV outputs; the number of rows quarantined.
fn csv_outputs(clean: &[u8], quarantine: &[u8], header: Option<&Header>, rows: &[Row], delimiter: u8) -> u64 {
    let Some(h) = header else {
        assert!(rows.is_empty() && clean.is_empty() && quarantine.is_empty());
        return 0;
    };
    let term = own_terminator(header);
    let d = delimiter as char;
    let q_header = format!("{d}crmguard_row{d}crmguard_reasons");
    let q_header = [&h.raw[..], q_header.as_bytes(), term.bytes()].concat();
    assert!(quarantine.starts_with(&q_header), "quarantine header");
    let mut q = q_header.len();
    let mut expected_clean = [&h.raw[..], h.terminator.bytes()].concat();
    let mut quarantined = 0;
    for r in rows {
        match csv_quarantine_line(&quarantine[q..], r, h.names.len(), delimiter, term) {
            Some(len) => {
                q += len;
                quarantined += 1;
            }
            None => {
                expected_clean.extend_from_slice(&r.raw);
                expected_clean.extend_from_slice(r.terminator.bytes());
            }
        }
    }
    assert_eq!(q, quarantine.len(), "quarantine lines that are no record");
    assert!(clean == expected_clean, "the clean file is not the header and the clean records");
    quarantined
}

/// The length of `r`'s line at the start of `q`, if it is there: its bytes,
/// padding to the header's width, its number, its reasons, its ending.
fn csv_quarantine_line(q: &[u8], r: &Row, width: usize, delimiter: u8, term: Terminator) -> Option<usize> {
    let mut expected = r.raw.clone();
    expected.extend(std::iter::repeat_n(delimiter, width.saturating_sub(r.csv_len())));
    expected.push(delimiter);
    expected.extend_from_slice(r.number.to_string().as_bytes());
    expected.push(delimiter);
    if !q.starts_with(&expected) {
        return None;
    }
    let mut p = expected.len();
    // Codes are joined by `;`: quoted when that is the delimiter and there
    // are several.
    let quoted = q.get(p) == Some(&b'"');
    assert!(!quoted || delimiter == b';', "reasons quoted without need");
    p += usize::from(quoted);
    let codes = q[p..].iter().take_while(|b| b.is_ascii_uppercase() || matches!(b, b'_' | b';')).count();
    let reasons = std::str::from_utf8(&q[p..p + codes]).unwrap();
    assert!(
        !reasons.is_empty() && reasons.split(';').all(|c| crmguard::spec::Reason::from_code(c).is_some()),
        "reasons {reasons:?}"
    );
    assert_eq!(quoted, delimiter == b';' && reasons.contains(';'), "quoting of {reasons:?}");
    p += codes;
    if quoted {
        assert_eq!(q.get(p), Some(&b'"'));
        p += 1;
    }
    let end = match r.terminator {
        Terminator::None => term,
        t => t,
    };
    assert!(q[p..].starts_with(end.bytes()), "a quarantined row keeps its ending");
    Some(p + end.bytes().len())
}

/// Checks the JSON or NDJSON outputs; the number of rows quarantined.
fn json_outputs(clean: &[u8], quarantine: &[u8], rows: &[Row], format: Format) -> u64 {
    let array = format == Format::Json;
    let mut expected_clean = Vec::new();
    let mut q = 0;
    let (mut n_clean, mut quarantined) = (0u64, 0u64);
    let open = |out: &mut Vec<u8>, n: u64| out.extend_from_slice(if n == 0 { b"\n" } else { b",\n" });
    if array {
        expected_clean.push(b'[');
        assert_eq!(quarantine.first(), Some(&b'['));
        q = 1;
    }
    for r in rows {
        let sep: &[u8] = if !array {
            b""
        } else if quarantined == 0 {
            b"\n"
        } else {
            b",\n"
        };
        let here = quarantine[q..].strip_prefix(sep);
        let element = here.and_then(|rest| json_quarantine_element(rest, r));
        match element {
            Some(len) => {
                q += sep.len() + len;
                if !array {
                    let end = match r.terminator {
                        Terminator::None => Terminator::Lf,
                        t => t,
                    };
                    assert!(quarantine[q..].starts_with(end.bytes()), "an NDJSON row keeps its ending");
                    q += end.bytes().len();
                }
                quarantined += 1;
            }
            None => {
                if array {
                    open(&mut expected_clean, n_clean);
                    expected_clean.extend_from_slice(&r.raw);
                } else {
                    expected_clean.extend_from_slice(&r.raw);
                    expected_clean.extend_from_slice(r.terminator.bytes());
                }
                n_clean += 1;
            }
        }
    }
    if array {
        let close: &[u8] = if n_clean == 0 { b"]\n" } else { b"\n]\n" };
        expected_clean.extend_from_slice(close);
        let close: &[u8] = if quarantined == 0 { b"]\n" } else { b"\n]\n" };
        assert_eq!(&quarantine[q..], close, "the quarantine array's end");
        q = quarantine.len();
    }
    assert_eq!(q, quarantine.len(), "quarantine elements that are no record");
    assert!(clean == expected_clean, "the clean file is not the clean records");
    quarantined
}

/// The length of `r`'s quarantine element at the start of `q`, if it is
/// there: an object with crmguard's keys spliced in before its closing
/// brace, or anything else wrapped with its text (hex if not UTF-8).
fn json_quarantine_element(q: &[u8], r: &Row) -> Option<usize> {
    let number = r.number.to_string();
    if let Content::Object(_) = r.content {
        let close = r.raw.iter().rposition(|&b| b == b'}').unwrap_or(r.raw.len());
        let body_end = r.raw[..close]
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        let head = &r.raw[..body_end];
        let comma: &[u8] = if head.ends_with(b"{") { b"" } else { b"," };
        let lead = [head, comma, b"\"crmguard_row\":", number.as_bytes(), b",\"crmguard_reasons\":"].concat();
        let rest = q.strip_prefix(&lead[..])?;
        let reasons_len = json_string_len(rest);
        let tail = &rest[reasons_len..];
        assert!(tail.starts_with(&r.raw[body_end..]), "an object keeps its bytes after crmguard's keys");
        return Some(lead.len() + reasons_len + r.raw.len() - body_end);
    }
    let lead = format!("{{\"crmguard_row\":{number},\"crmguard_reasons\":");
    let rest = q.strip_prefix(lead.as_bytes())?;
    // Parse `"REASONS","crmguard_raw":"..."}` as the tail of an object.
    let wrapped = [b"{\"r\":", rest].concat();
    let mut objects = serde_json::Deserializer::from_slice(&wrapped).into_iter::<serde_json::Value>();
    let object = objects.next()?.ok()?;
    let len = objects.byte_offset() - b"{\"r\":".len();
    match (object.get("crmguard_raw"), object.get("crmguard_raw_hex")) {
        (Some(text), None) => assert_eq!(text.as_str().unwrap().as_bytes(), &r.raw[..], "wrapped text"),
        (None, Some(hex)) => {
            let expected: String = r.raw.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex.as_str().unwrap(), expected, "wrapped bytes, in hex");
        }
        _ => panic!("a wrapped record without its text: {object}"),
    }
    Some(lead.len() + len)
}

/// The length of the JSON string at the start of `s`.
fn json_string_len(s: &[u8]) -> usize {
    let mut values = serde_json::Deserializer::from_slice(s).into_iter::<String>();
    values.next().expect("a reasons string").expect("a JSON string");
    values.byte_offset()
}

/// gzip or zstd of `data`, as a producer would write it.
pub fn compress(data: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(data, 1).unwrap(),
    }
}

/// What crmguard's decoders make of `stored`, or `None` where they must fail.
/// As the scan does, the magic bytes decide, not the name: plain content
/// under a `.gz` or `.zst` name is read as it is.
pub fn decompress(stored: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let ok = match Compression::sniff(stored) {
        Compression::None => return Some(stored.to_vec()),
        Compression::Gzip => flate2::read::MultiGzDecoder::new(stored).read_to_end(&mut out).is_ok(),
        Compression::Zstd => zstd::stream::read::Decoder::new(stored)
            .and_then(|mut d| d.read_to_end(&mut out))
            .is_ok(),
    };
    ok.then_some(out)
}
