//! Input formats. Every reader yields [`Row`]s that keep the exact bytes read
//! (so outputs are byte-faithful) next to the parsed content the rules check.

mod csv;
mod csv_records;
mod json;
mod ndjson;
mod object;
mod small_file;
mod source;

use std::fmt;
use std::io::BufRead;

use serde_json::{Map, Value};

pub use self::csv::{CsvReader, Header, field_starts, parse_delimiter};
pub use self::json::JsonArrayReader;
pub use self::ndjson::NdjsonReader;
pub use self::object::{TooManyValues, VALUE_COST, parse_object, why_not_an_object};
pub use self::small_file::{
    MAX_MODEL_BYTES, MAX_POLICY_BYTES, MAX_TRUST_ANCHORS_BYTES, read_at_most, read_small_file,
};
pub use self::source::{Compression, InputSource, InputStats, open_input};

use crate::error::Located;

/// How a file's records are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv {
        delimiter: u8,
    },
    /// A JSON array of objects.
    Json,
    /// One JSON object per line (`.ndjson`, `.jsonl`).
    Ndjson,
    /// Apache Parquet: read by row group, not as text (`scan/parquet/`).
    Parquet,
}

impl Format {
    /// The format an extension implies (`.gz`/`.zst` already stripped).
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Some(Format::Csv { delimiter: b',' }),
            "tsv" | "tab" => Some(Format::Csv { delimiter: b'\t' }),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// Refuses to read `path` as this format from a pipe (`is_stdin`) or
    /// through `compression`, where it cannot be: Parquet is read by
    /// seeking to its footer.
    pub fn check_seekable(
        self,
        path: &std::path::Path,
        is_stdin: bool,
        compression: Compression,
    ) -> anyhow::Result<()> {
        if self == Format::Parquet && (is_stdin || compression != Compression::None) {
            anyhow::bail!(
                "{}: Parquet must be a plain file (not stdin, not .gz or .zst); its own pages \
                 carry the compression",
                crate::terminal::path(path)
            );
        }
        Ok(())
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv { .. } => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The line terminator that ended a record in the input; outputs repeat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Terminator {
    Lf,
    CrLf,
    Cr,
    /// The last record of a file that does not end with a line break.
    #[default]
    None,
}

impl Terminator {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Lf => b"\n",
            Terminator::CrLf => b"\r\n",
            Terminator::Cr => b"\r",
            Terminator::None => b"",
        }
    }

    /// Splits the terminator off the end of `raw`.
    pub fn split(raw: &[u8]) -> (usize, Terminator) {
        match raw {
            [.., b'\r', b'\n'] => (raw.len() - 2, Terminator::CrLf),
            [.., b'\n'] => (raw.len() - 1, Terminator::Lf),
            [.., b'\r'] => (raw.len() - 1, Terminator::Cr),
            _ => (raw.len(), Terminator::None),
        }
    }
}

/// What a record holds, as parsed.
#[derive(Debug, Clone, Default)]
pub enum Content {
    /// CSV fields, unescaped, back to back; `ends[i]` is where field `i` ends.
    Csv { fields: Vec<u8>, ends: Vec<usize> },
    /// A JSON object, keys in input order.
    Object(Map<String, Value>),
    /// JSON that does not parse, or a value that is not an object.
    #[default]
    Malformed,
}

/// One input record.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// 1-based record number in the input, header not counted.
    pub number: u64,
    /// 1-based line of the input where the record starts.
    pub line: u64,
    /// The record's bytes exactly as read, without its terminator.
    pub raw: Vec<u8>,
    pub terminator: Terminator,
    /// False when the record's bytes are not valid UTF-8 (ENCODING_INVALID);
    /// the content then holds a lossy decoding, for the other checks.
    pub utf8: bool,
    pub content: Content,
    /// How many JSON values `content` holds (0 for CSV).
    pub json_values: usize,
}

impl Row {
    /// CSV field `i`, as bytes.
    pub fn csv_field(&self, i: usize) -> Option<&[u8]> {
        match &self.content {
            Content::Csv { fields, ends } => Some(&fields[field_span(ends, i)?]),
            _ => None,
        }
    }

    pub fn csv_len(&self) -> usize {
        match &self.content {
            Content::Csv { ends, .. } => ends.len(),
            _ => 0,
        }
    }

    /// What the row takes in memory, roughly, by the capacity of its
    /// buffers (a recycled buffer keeps the size of the longest record it
    /// held): its bytes, and what parsing made or will make of them (a CSV
    /// record of commas takes nine bytes a byte, a JSON record of
    /// `[0,0,...]` eighty). Batches are bounded by it.
    pub fn footprint(&self) -> usize {
        self.raw.capacity()
            + match &self.content {
                Content::Csv { fields, ends } => {
                    fields.capacity().max(self.raw.len()) + size_of::<usize>() * ends.capacity()
                }
                Content::Object(_) => self.json_values * VALUE_COST,
                // Not parsed yet: its fields will take about its bytes.
                Content::Malformed => self.raw.len(),
            }
    }

    /// Frees the buffers that hold more than `bytes`, so that a row reused
    /// for record after record keeps no more than that of any one of them.
    pub fn release_buffers_over(&mut self, bytes: usize) {
        if self.raw.capacity() > bytes {
            self.raw = Vec::new();
        }
        if let Content::Csv { fields, ends } = &self.content
            && (fields.capacity() > bytes || ends.capacity() * size_of::<usize>() > bytes)
        {
            self.content = Content::default();
        }
    }
}

/// Where CSV field `i` lies in a record's fields buffer, given where each
/// field ends ([`Content::Csv`]).
pub fn field_span(ends: &[usize], i: usize) -> Option<std::ops::Range<usize>> {
    let end = *ends.get(i)?;
    Some(if i == 0 { 0 } else { ends[i - 1] }..end)
}

/// A reader of records in one format.
pub trait RecordReader: Send {
    /// Reads the next record into `row` (reusing its buffers), parsed;
    /// `Ok(false)` at the end of the input.
    fn read_row(&mut self, row: &mut Row) -> Result<bool, Located> {
        if !self.split_row(row)? {
            return Ok(false);
        }
        self.parser().parse(row)?;
        Ok(true)
    }

    /// Reads the next record's bytes, leaving to the caller what
    /// [`RecordReader::parser`] does: the scan runs that in its workers, so
    /// that the one thread that reads does as little as it can.
    fn split_row(&mut self, row: &mut Row) -> Result<bool, Located>;

    /// What is left to do to a row [`RecordReader::split_row`] read.
    fn parser(&self) -> RowParser {
        RowParser::Done
    }

    /// The CSV header, for formats that have one.
    fn header(&self) -> Option<&Header> {
        None
    }

    /// Whether the input, read to its end, held blank space only: no header,
    /// no array, no record. Such a file is as empty as one of no bytes, and
    /// would otherwise scan as a silent clean run.
    fn held_nothing(&self) -> bool;

    /// How many records (or, in a JSON array, line breaks) ended with each
    /// line ending.
    fn line_endings(&self) -> LineEndings;
}

/// The part of reading a record that can run on any thread, in any order.
#[derive(Debug, Clone)]
pub enum RowParser {
    /// The reader parsed the record already (JSON).
    Done,
    /// Unquote the CSV fields and check the row's UTF-8.
    Csv {
        delimiter: u8,
        max_fields: usize,
        path: std::sync::Arc<std::path::Path>,
    },
}

impl RowParser {
    pub fn parse(&self, row: &mut Row) -> Result<(), Located> {
        let RowParser::Csv {
            delimiter,
            max_fields,
            path,
        } = self
        else {
            return Ok(());
        };
        row.utf8 = std::str::from_utf8(&row.raw).is_ok();
        if !matches!(row.content, Content::Csv { .. }) {
            row.content = Content::Csv {
                fields: Vec::new(),
                ends: Vec::new(),
            };
        }
        let Content::Csv { fields, ends } = &mut row.content else {
            unreachable!("set just above")
        };
        csv_records::parse_fields(&row.raw, *delimiter, *max_fields, fields, ends).map_err(|_| {
            Located::new(
                path,
                row.line,
                1,
                format!(
                    "the record starting here has more than {max_fields} fields (one per \
                     {BYTES_PER_FIELD} bytes of [limits] max_record_bytes); nothing written"
                ),
            )
        })
    }
}

/// Counts of line endings by kind (LINE_ENDING_MIXED).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineEndings {
    pub lf: u64,
    pub crlf: u64,
    /// A CR alone: old Mac files, and exports that mix it in.
    pub cr: u64,
}

impl LineEndings {
    pub fn count(&mut self, t: Terminator) {
        match t {
            Terminator::Lf => self.lf += 1,
            Terminator::CrLf => self.crlf += 1,
            Terminator::Cr => self.cr += 1,
            Terminator::None => {}
        }
    }

    /// More than one kind occurs.
    pub fn mixed(&self) -> bool {
        [self.lf, self.crlf, self.cr]
            .iter()
            .filter(|&&n| n > 0)
            .count()
            > 1
    }
}

impl fmt::Display for LineEndings {
    /// "3 with LF, 1 with CR": the kinds that occur.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds = [(self.lf, "LF"), (self.crlf, "CRLF"), (self.cr, "CR alone")];
        let parts: Vec<String> = (kinds.iter())
            .filter(|(n, _)| *n > 0)
            .map(|(n, kind)| format!("{n} with {kind}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Builds the reader for `format` over an input whose BOM is already gone.
/// No record it yields is over `max_record_bytes` (`[limits]`).
pub fn reader_for(
    format: Format,
    input: Box<dyn BufRead + Send>,
    path: &std::path::Path,
    max_record_bytes: usize,
) -> Result<Box<dyn RecordReader>, Located> {
    Ok(match format {
        Format::Csv { delimiter } => {
            Box::new(CsvReader::new(input, delimiter, path, max_record_bytes)?)
        }
        Format::Json => Box::new(JsonArrayReader::new(input, path, max_record_bytes)),
        Format::Ndjson => Box::new(NdjsonReader::new(input, path, max_record_bytes)),
        Format::Parquet => {
            return Err(Located::new(
                path,
                1,
                1,
                "Parquet is read by row group, not as text",
            ));
        }
    })
}

/// Bytes of `[limits] max_record_bytes` per field (CSV) or JSON value a
/// record may hold. Parsed, a field or value costs more than its bytes (8 to
/// 160 bytes for one of 2; a header's column, some 300): this keeps a
/// record's memory a small multiple of the limit. At the default limit it
/// allows 1,048,576, where a CRM record has hundreds (Salesforce: 5,000).
pub const BYTES_PER_FIELD: usize = 16;

/// The most fields or JSON values a record may hold under `max_record_bytes`;
/// never fewer than 1,024, so that a small limit does not refuse plain records.
pub fn max_fields(max_record_bytes: usize) -> usize {
    (max_record_bytes / BYTES_PER_FIELD).max(1024)
}

/// Parses a JSON record into `row.content` (setting `row.utf8` and
/// `row.json_values`), with the value budget `max_record_bytes` allows.
pub(crate) fn parse_json_record(
    row: &mut Row,
    path: &std::path::Path,
    column: u64,
    max_record_bytes: usize,
) -> Result<(), Located> {
    match parse_object(&row.raw, &mut row.utf8, max_fields(max_record_bytes)) {
        Ok((content, values)) => {
            row.content = content;
            row.json_values = values;
            Ok(())
        }
        Err(TooManyValues(n)) => Err(Located::new(
            path,
            row.line,
            column,
            format!(
                "the record starting here holds more than {n} JSON values (one per \
                 {BYTES_PER_FIELD} bytes of [limits] max_record_bytes); nothing written"
            ),
        )),
    }
}

/// The error for a record over `[limits] max_record_bytes`, at the line and
/// column where it starts. Readers raise it as soon as they have read one
/// byte too many, so a record with no end (a decompression bomb, a quote
/// that never closes) costs no more memory than the limit.
pub(crate) fn record_too_large(
    path: &std::path::Path,
    line: u64,
    column: u64,
    limit: usize,
) -> Located {
    Located::new(
        path,
        line,
        column,
        format!(
            "the record starting here is over {limit} bytes ([limits] max_record_bytes); \
             nothing written"
        ),
    )
}

/// `--format`'s value.
pub fn parse_format(s: &str) -> Result<Format, String> {
    match s.to_ascii_lowercase().as_str() {
        "csv" => Ok(Format::Csv { delimiter: b',' }),
        "tsv" => Ok(Format::Csv { delimiter: b'\t' }),
        "json" => Ok(Format::Json),
        "ndjson" | "jsonl" => Ok(Format::Ndjson),
        "parquet" => Ok(Format::Parquet),
        _ => Err(format!(
            "unknown format {s:?}: use csv, tsv, json, ndjson or parquet"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_extensions() {
        assert_eq!(
            Format::from_extension("CSV"),
            Some(Format::Csv { delimiter: b',' })
        );
        assert_eq!(
            Format::from_extension("tsv"),
            Some(Format::Csv { delimiter: b'\t' })
        );
        assert_eq!(Format::from_extension("jsonl"), Some(Format::Ndjson));
        assert_eq!(Format::from_extension("json"), Some(Format::Json));
        assert_eq!(Format::from_extension("xlsx"), None);
    }

    #[test]
    fn terminators_split() {
        assert_eq!(Terminator::split(b"a,b\r\n"), (3, Terminator::CrLf));
        assert_eq!(Terminator::split(b"a,b\n"), (3, Terminator::Lf));
        assert_eq!(Terminator::split(b"a,b\r"), (3, Terminator::Cr));
        assert_eq!(Terminator::split(b"a,b"), (3, Terminator::None));
    }
}
