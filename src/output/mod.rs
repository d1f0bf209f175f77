//! The clean and quarantine files, in the input's own format and dialect.
//! Rows are written exactly as read; quarantined rows get crmguard's columns
//! (or keys) appended at the end.

mod atomic;
mod cleanup;
mod flush;
mod target;
mod temp;

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use atomic::{
    AtomicFile, Finished, OutputSummary, WriteFailed, repeated_file, same_file, sync_parent,
};

pub use cleanup::CleanupWriter;
pub use target::{Compressed, OutputFile, cannot_write};
pub use temp::{Mode, NAME_MAX, TEMP_SUFFIX, remove_live_temps, remove_stale_temps};

use crate::input::{Content, Format, Header, Row, Terminator};

/// A failed write among a scan's outputs, named by the output that failed
/// (`what` says what failed: "write failed", "cannot write outputs"), or
/// by `fallback` when it came from no output file (a spool).
pub fn output_error(e: io::Error, fallback: &Path, what: &str) -> anyhow::Error {
    let path = WriteFailed::of(&e).map_or(fallback, |w| w.path.as_path());
    let context = format!("{}: {what}", path.display());
    anyhow::Error::from(e).context(context)
}

/// The file names a scan of `stem` + `ext` writes into the out dir.
#[derive(Debug, Clone)]
pub struct OutputPaths {
    pub clean: PathBuf,
    pub quarantine: PathBuf,
    pub report: PathBuf,
    /// `NAME.cleanup.csv`, with `scan --cleanup-plan`.
    pub cleanup: Option<PathBuf>,
}

impl OutputPaths {
    /// `stem` and `ext` are the input's, bytes as they are (a name that is
    /// not UTF-8 gives outputs named with the same bytes).
    pub fn new(out_dir: &Path, stem: &OsStr, ext: &OsStr, cleanup: bool) -> OutputPaths {
        let name = |middle: &str, ext: &OsStr| {
            let mut n = stem.to_owned();
            n.push(middle);
            n.push(ext);
            out_dir.join(n)
        };
        OutputPaths {
            clean: name(".clean.", ext),
            quarantine: name(".quarantine.", ext),
            report: name(".report.", OsStr::new("json")),
            cleanup: cleanup.then(|| name(".cleanup.", OsStr::new("csv"))),
        }
    }

    /// The same names in `dir`.
    pub fn moved_to(&self, dir: &Path) -> OutputPaths {
        let to = |p: &Path| dir.join(p.file_name().unwrap_or_default());
        OutputPaths {
            clean: to(&self.clean),
            quarantine: to(&self.quarantine),
            report: to(&self.report),
            cleanup: self.cleanup.as_deref().map(to),
        }
    }

    pub fn all(&self) -> Vec<&Path> {
        let mut all = vec![self.clean.as_path(), &self.quarantine, &self.report];
        all.extend(self.cleanup.as_deref());
        all
    }
}

/// Serialises a path as a JSON string; a name that is not UTF-8 gets U+FFFD
/// for its invalid bytes (as in the audit log) rather than failing the report.
pub fn lossy_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}

/// [`lossy_path`] for an optional path.
pub fn lossy_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => lossy_path(p, s),
        None => s.serialize_none(),
    }
}

pub use crate::spec::{AI_COLUMNS, MEDIA_COLUMN, QUARANTINE_COLUMNS};

/// The columns a quarantined row gets, in order.
pub fn quarantine_columns(ai: bool, media: bool) -> Vec<&'static str> {
    QUARANTINE_COLUMNS
        .into_iter()
        .chain(AI_COLUMNS.into_iter().filter(|_| ai))
        .chain(std::iter::once(MEDIA_COLUMN).filter(|_| media))
        .collect()
}

/// A value crmguard adds to a row: a tag on a clean row (`[tagging]`), or
/// one of its own columns on a quarantined row.
#[derive(Debug, Clone, PartialEq)]
pub enum TagValue {
    Text(String),
    Number(f64),
    /// Empty in CSV, `null` in JSON.
    Null,
}

impl TagValue {
    fn csv_text(&self) -> String {
        match self {
            TagValue::Text(s) => s.clone(),
            TagValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => (*n as i64).to_string(),
            TagValue::Number(n) => n.to_string(),
            TagValue::Null => String::new(),
        }
    }
}

/// The clean and quarantine files of one input, being written.
pub struct RowWriter {
    format: Format,
    /// Tag columns appended to clean rows; empty for a byte-faithful clean file.
    tags: Vec<String>,
    /// Columns appended to quarantined rows.
    quarantine_columns: Vec<&'static str>,
    clean: AtomicFile,
    quarantine: AtomicFile,
    /// Fields in the CSV header: short rows are padded to it so crmguard's
    /// columns line up with their header.
    header_len: usize,
    /// Terminator for lines crmguard writes itself (the header's, else LF).
    terminator: Terminator,
}

impl RowWriter {
    pub fn create(
        paths: &OutputPaths,
        format: Format,
        header: Option<&Header>,
        tags: &[&str],
        quarantine_columns: Vec<&'static str>,
    ) -> io::Result<RowWriter> {
        let mut w = RowWriter {
            format,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            quarantine_columns,
            // Clean rows go to the CRM anyway; quarantined rows are the
            // ones held back, with why: personal data for few eyes.
            clean: AtomicFile::create(&paths.clean, Mode::Shared)?,
            quarantine: AtomicFile::create(&paths.quarantine, Mode::Private)?,
            header_len: header.map_or(0, |h| h.names.len()),
            terminator: match header.map(|h| h.terminator) {
                Some(t @ (Terminator::CrLf | Terminator::Cr)) => t,
                _ => Terminator::Lf,
            },
        };
        match format {
            Format::Csv { delimiter } => {
                if let Some(h) = header {
                    w.clean.write_all(&h.raw)?;
                    for name in tags {
                        w.clean.write_all(&[delimiter])?;
                        write_csv_field(&mut w.clean, name.as_bytes(), delimiter)?;
                    }
                    if tags.is_empty() {
                        w.clean.write_all(h.terminator.bytes())?;
                    } else {
                        w.clean.write_all(w.terminator.bytes())?;
                    }
                    w.quarantine.write_all(&h.raw)?;
                    for name in &w.quarantine_columns {
                        w.quarantine.write_all(&[delimiter])?;
                        w.quarantine.write_all(name.as_bytes())?;
                    }
                    w.quarantine.write_all(w.terminator.bytes())?;
                }
            }
            Format::Json => {
                w.clean.write_all(b"[")?;
                w.quarantine.write_all(b"[")?;
            }
            Format::Ndjson => {}
            // Written by row group (scan/parquet/): a RowWriter is never
            // made for it, and the arms below never see it.
            Format::Parquet => {
                return Err(io::Error::other("Parquet is not written row by row"));
            }
        }
        Ok(w)
    }

    /// Writes a clean row; `tags` holds one value per tag column.
    pub fn write_clean(&mut self, row: &Row, tags: &[TagValue]) -> io::Result<()> {
        debug_assert_eq!(tags.len(), self.tags.len());
        let out = &mut self.clean;
        if self.tags.is_empty() {
            match self.format {
                Format::Json => {
                    out.write_all(if out.rows == 0 { b"\n" } else { b",\n" })?;
                    out.write_all(&row.raw)?;
                }
                Format::Csv { .. } | Format::Ndjson | Format::Parquet => {
                    out.write_all(&row.raw)?;
                    out.write_all(row.terminator.bytes())?;
                }
            }
        } else {
            let term = match row.terminator {
                Terminator::None => self.terminator,
                t => t,
            };
            match self.format {
                Format::Csv { delimiter } => {
                    out.write_all(&row.raw)?;
                    for v in tags {
                        out.write_all(&[delimiter])?;
                        write_csv_field(out, v.csv_text().as_bytes(), delimiter)?;
                    }
                    out.write_all(term.bytes())?;
                }
                Format::Ndjson | Format::Parquet => {
                    splice_object(
                        out,
                        &row.raw,
                        self.tags.iter().map(String::as_str).zip(tags),
                    )?;
                    out.write_all(term.bytes())?;
                }
                Format::Json => {
                    out.write_all(if out.rows == 0 { b"\n" } else { b",\n" })?;
                    splice_object(
                        out,
                        &row.raw,
                        self.tags.iter().map(String::as_str).zip(tags),
                    )?;
                }
            }
        }
        out.rows += 1;
        Ok(())
    }

    /// Writes a quarantined row with crmguard's values, one per quarantine
    /// column ([`quarantine_columns`]).
    pub fn write_quarantine(&mut self, row: &Row, values: &[TagValue]) -> io::Result<()> {
        debug_assert_eq!(values.len(), self.quarantine_columns.len());
        // A last row that ended the input without a line ending ends the
        // file without one too: release gives the row back as it was read,
        // and this is the only place that says it had none.
        let term = row.terminator;
        let out = &mut self.quarantine;
        match self.format {
            Format::Csv { delimiter } => {
                out.write_all(&row.raw)?;
                for _ in row.csv_len()..self.header_len {
                    out.write_all(&[delimiter])?;
                }
                for v in values {
                    out.write_all(&[delimiter])?;
                    write_csv_field(out, v.csv_text().as_bytes(), delimiter)?;
                }
                out.write_all(term.bytes())?;
            }
            Format::Ndjson | Format::Parquet => {
                write_json_record(out, row, &self.quarantine_columns, values)?;
                out.write_all(term.bytes())?;
            }
            Format::Json => {
                out.write_all(if out.rows == 0 { b"\n" } else { b",\n" })?;
                write_json_record(out, row, &self.quarantine_columns, values)?;
            }
        }
        out.rows += 1;
        Ok(())
    }

    /// Closes the JSON arrays and completes both files, still under their
    /// temp names ([`Finished::persist`] renames them).
    pub fn finish(mut self) -> io::Result<(Finished, Finished)> {
        if self.format == Format::Json {
            for f in [&mut self.clean, &mut self.quarantine] {
                f.write_all(if f.rows == 0 { b"]\n" } else { b"\n]\n" })?;
            }
        }
        Ok((self.clean.finish()?, self.quarantine.finish()?))
    }
}

pub fn write_csv_field(out: &mut (impl Write + ?Sized), v: &[u8], delimiter: u8) -> io::Result<()> {
    if v.iter()
        .any(|&b| b == delimiter || matches!(b, b'"' | b'\n' | b'\r'))
    {
        out.write_all(b"\"")?;
        for &b in v {
            if b == b'"' {
                out.write_all(b"\"\"")?;
            } else {
                out.write_all(&[b])?;
            }
        }
        out.write_all(b"\"")
    } else {
        out.write_all(v)
    }
}

/// An object keeps its bytes with crmguard's keys spliced in before its
/// closing brace; anything else is wrapped, its text kept in `crmguard_raw`
/// (or, when it is not UTF-8, as hex in `crmguard_raw_hex`).
fn write_json_record(
    out: &mut impl Write,
    row: &Row,
    names: &[&str],
    values: &[TagValue],
) -> io::Result<()> {
    let pairs = names.iter().copied().zip(values);
    if let Content::Object(_) = &row.content {
        return splice_object(out, &row.raw, pairs);
    }
    // Not an object: wrap it, with its text (or, not being UTF-8, its hex).
    let raw = match std::str::from_utf8(&row.raw) {
        Ok(text) => ("crmguard_raw", TagValue::Text(text.to_string())),
        Err(_) => (
            "crmguard_raw_hex",
            TagValue::Text(row.raw.iter().map(|b| format!("{b:02x}")).collect()),
        ),
    };
    splice_object(out, b"{}", pairs.chain(std::iter::once((raw.0, &raw.1))))
}

/// Writes a JSON object's bytes with `pairs` spliced in before its closing
/// brace, keeping every byte of the original.
pub fn splice_object<'v>(
    out: &mut (impl Write + ?Sized),
    raw: &[u8],
    pairs: impl Iterator<Item = (&'v str, &'v TagValue)>,
) -> io::Result<()> {
    let close = raw.iter().rposition(|&b| b == b'}').unwrap_or(raw.len());
    let body_end = raw[..close]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let mut first = raw[..body_end].ends_with(b"{");
    out.write_all(&raw[..body_end])?;
    for (k, v) in pairs {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        serde_json::to_writer(&mut *out, k)?;
        out.write_all(b":")?;
        match v {
            TagValue::Text(s) => serde_json::to_writer(&mut *out, s)?,
            // Whole numbers without a fraction: row numbers, counts.
            TagValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => {
                write!(out, "{}", *n as i64)?
            }
            TagValue::Number(n) => serde_json::to_writer(&mut *out, n)?,
            TagValue::Null => out.write_all(b"null")?,
        }
    }
    out.write_all(&raw[body_end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_row(raw: &[u8]) -> Row {
        let mut utf8 = true;
        Row {
            raw: raw.to_vec(),
            content: crate::input::parse_object(raw, &mut utf8, 1 << 20)
                .unwrap()
                .0,
            utf8,
            ..Row::default()
        }
    }

    fn quarantined(raw: &[u8]) -> String {
        let mut out = Vec::new();
        write_json_record(
            &mut out,
            &json_row(raw),
            &QUARANTINE_COLUMNS,
            &[TagValue::Number(7.0), TagValue::Text("A;B".into())],
        )
        .unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn keys_are_spliced_into_objects() {
        assert_eq!(
            quarantined(br#"{"a": 1 }"#),
            r#"{"a": 1,"crmguard_row":7,"crmguard_reasons":"A;B" }"#
        );
        assert_eq!(
            quarantined(b"{ }"),
            r#"{"crmguard_row":7,"crmguard_reasons":"A;B" }"#
        );
        assert_eq!(
            quarantined(b"{\"a\":{\"b\":2}}"),
            r#"{"a":{"b":2},"crmguard_row":7,"crmguard_reasons":"A;B"}"#
        );
    }

    #[test]
    fn non_objects_are_wrapped() {
        assert_eq!(
            quarantined(b"[1, \"x\"]"),
            r#"{"crmguard_row":7,"crmguard_reasons":"A;B","crmguard_raw":"[1, \"x\"]"}"#
        );
        assert_eq!(
            quarantined(b"{broken\xff"),
            r#"{"crmguard_row":7,"crmguard_reasons":"A;B","crmguard_raw_hex":"7b62726f6b656eff"}"#
        );
    }

    #[test]
    fn csv_fields_quoted_only_when_needed() {
        let mut out = Vec::new();
        write_csv_field(&mut out, b"A;B", b',').unwrap();
        write_csv_field(&mut out, b"A;B", b';').unwrap();
        write_csv_field(&mut out, b"say \"hi\"", b',').unwrap();
        assert_eq!(out, b"A;B\"A;B\"\"say \"\"hi\"\"\"");
    }
}
