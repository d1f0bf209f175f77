//! Input formats. Every reader yields [`Row`]s that keep the exact bytes read
//! (so outputs are byte-faithful) next to the parsed content the rules check.

mod csv;
mod json;
mod ndjson;
mod source;

use std::fmt;
use std::io::BufRead;

use serde_json::{Map, Value};

pub use self::csv::{CsvReader, Header, parse_delimiter};
pub use self::json::JsonArrayReader;
pub use self::ndjson::NdjsonReader;
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
}

impl Format {
    /// The format an extension implies (`.gz`/`.zst` already stripped).
    pub fn from_extension(ext: &str) -> Option<Format> {
        match ext.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Some(Format::Csv { delimiter: b',' }),
            "tsv" | "tab" => Some(Format::Csv { delimiter: b'\t' }),
            "json" => Some(Format::Json),
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Csv { .. } => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
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
}

/// Where CSV field `i` lies in a record's fields buffer, given where each
/// field ends ([`Content::Csv`]).
pub fn field_span(ends: &[usize], i: usize) -> Option<std::ops::Range<usize>> {
    let end = *ends.get(i)?;
    Some(if i == 0 { 0 } else { ends[i - 1] }..end)
}

/// A reader of records in one format.
pub trait RecordReader: Send {
    /// Reads the next record into `row` (reusing its buffers); `Ok(false)` at
    /// the end of the input.
    fn read_row(&mut self, row: &mut Row) -> Result<bool, Located>;

    /// The CSV header, for formats that have one.
    fn header(&self) -> Option<&Header> {
        None
    }

    /// How many records ended with LF, and how many with CRLF.
    fn line_endings(&self) -> (u64, u64);
}

/// Builds the reader for `format` over an input whose BOM is already gone.
pub fn reader_for(
    format: Format,
    input: Box<dyn BufRead + Send>,
    path: &std::path::Path,
) -> Result<Box<dyn RecordReader>, Located> {
    Ok(match format {
        Format::Csv { delimiter } => Box::new(CsvReader::new(input, delimiter, path)?),
        Format::Json => Box::new(JsonArrayReader::new(input, path)),
        Format::Ndjson => Box::new(NdjsonReader::new(input, path)),
    })
}

/// Parses a JSON record's bytes into `row.content`, setting `row.utf8`.
/// `--format`'s value.
pub fn parse_format(s: &str) -> Result<Format, String> {
    match s.to_ascii_lowercase().as_str() {
        "csv" => Ok(Format::Csv { delimiter: b',' }),
        "tsv" => Ok(Format::Csv { delimiter: b'\t' }),
        "json" => Ok(Format::Json),
        "ndjson" | "jsonl" => Ok(Format::Ndjson),
        _ => Err(format!(
            "unknown format {s:?}: use csv, tsv, json or ndjson"
        )),
    }
}

pub(crate) fn parse_object(raw: &[u8], row_utf8: &mut bool) -> Content {
    let parsed = match std::str::from_utf8(raw) {
        Ok(s) => {
            *row_utf8 = true;
            serde_json::from_str::<UniqueKeys>(s)
        }
        Err(_) => {
            *row_utf8 = false;
            serde_json::from_str::<UniqueKeys>(&String::from_utf8_lossy(raw))
        }
    };
    match parsed {
        Ok(UniqueKeys(map)) => Content::Object(map),
        Err(_) => Content::Malformed,
    }
}

/// A JSON object whose keys are unique. serde_json keeps the last of two equal
/// keys without a word, but a record that says `"is_synthetic":"no"` and then
/// `"is_synthetic":"yes"` is ambiguous, and the CRM's importer may read it the
/// other way: such a record is malformed, as a CSV header naming a column twice is.
struct UniqueKeys(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> serde::de::Visitor<'de> for Object {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut map = Map::new();
                while let Some(key) = a.next_key::<String>()? {
                    let value = a.next_value::<Value>()?;
                    if map.contains_key(&key) {
                        return Err(serde::de::Error::custom(format_args!(
                            "duplicate key `{key}`"
                        )));
                    }
                    map.insert(key, value);
                }
                Ok(UniqueKeys(map))
            }
        }
        d.deserialize_map(Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_makes_the_record_malformed() {
        let mut utf8 = false;
        let parse = |s: &str, utf8: &mut bool| parse_object(s.as_bytes(), utf8);
        assert!(matches!(
            parse(
                r#"{"is_synthetic":"no","data_source":"web","is_synthetic":"yes"}"#,
                &mut utf8
            ),
            Content::Malformed
        ));
        // Nested objects are values, not columns: their keys are not checked.
        match parse(r#"{"a":{"b":1,"b":2},"c":[1,1]}"#, &mut utf8) {
            Content::Object(map) => assert_eq!(map.len(), 2),
            _ => panic!("a record with unique keys is an object"),
        }
        assert!(matches!(parse("[1,2]", &mut utf8), Content::Malformed));
        assert!(matches!(parse("\"text\"", &mut utf8), Content::Malformed));
    }

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
