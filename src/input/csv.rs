//! CSV records found by [`RecordEnd`] (fields unquoted later, by
//! [`RowParser`], in the scan's workers), keeping each record's exact bytes: the clean and
//! quarantine files repeat a row byte for byte, quoting and all, which a
//! parse-and-rewrite (csv::Writer) cannot promise.

use std::io::BufRead;
use std::path::Path;

use std::sync::Arc;

use super::csv_records::RecordEnd;
use super::{LineEndings, RecordReader, Row, RowParser, Terminator, max_fields, record_too_large};
use crate::error::{Located, csv_line_col};

/// The delimiters the Salesforce Bulk API accepts, by name or character.
pub fn parse_delimiter(s: &str) -> Result<u8, String> {
    let d = match s.to_ascii_lowercase().as_str() {
        "," | "comma" => b',',
        "\\t" | "\t" | "tab" => b'\t',
        ";" | "semicolon" => b';',
        "|" | "pipe" => b'|',
        "^" | "caret" => b'^',
        "`" | "backquote" => b'`',
        _ => {
            return Err(format!(
                "unsupported delimiter {s:?}: use comma, tab, semicolon, pipe, caret or backquote"
            ));
        }
    };
    Ok(d)
}

/// The header record: its bytes (without BOM) and its column names.
#[derive(Debug, Clone)]
pub struct Header {
    pub raw: Vec<u8>,
    pub terminator: Terminator,
    pub names: Vec<String>,
    /// The line it starts on (blank lines may come before it).
    pub line: u64,
    pub delimiter: u8,
}

impl Header {
    /// Line and column where column `i`'s name starts in the file.
    pub fn position_of(&self, i: usize) -> (u64, u64) {
        let start = field_starts(&self.raw, self.delimiter)
            .get(i)
            .copied()
            .unwrap_or(0);
        let (l, c) = csv_line_col(&self.raw, start);
        (self.line + l - 1, c)
    }
}

/// Byte offsets in a CSV record where each field starts.
pub fn field_starts(raw: &[u8], delimiter: u8) -> Vec<usize> {
    let mut reader = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
    let mut out = [0u8; 4096];
    let mut starts = vec![0];
    let mut pos = 0;
    loop {
        let (result, read, _) = reader.read_field(&raw[pos..], &mut out);
        pos += read;
        match result {
            csv_core::ReadFieldResult::Field { record_end } => {
                if record_end {
                    return starts;
                }
                // A delimiter was read: another field starts here, even
                // at the very end (`a,`).
                starts.push(pos);
            }
            csv_core::ReadFieldResult::OutputFull => {}
            csv_core::ReadFieldResult::InputEmpty => {
                if pos >= raw.len() {
                    // Tell the reader the input has ended.
                    let _ = reader.read_field(&[], &mut out);
                    return starts;
                }
            }
            csv_core::ReadFieldResult::End => return starts,
        }
    }
}

pub struct CsvReader {
    rdr: Box<dyn BufRead + Send>,
    path: Arc<Path>,
    delimiter: u8,
    header: Option<Header>,
    /// `[limits] max_record_bytes`.
    limit: usize,
    /// Line where the next record's bytes begin.
    line: u64,
    next_number: u64,
    endings: LineEndings,
}

impl CsvReader {
    pub fn new(
        rdr: Box<dyn BufRead + Send>,
        delimiter: u8,
        path: &Path,
        limit: usize,
    ) -> Result<CsvReader, Located> {
        let mut r = CsvReader {
            rdr,
            path: Arc::from(path),
            delimiter,
            header: None,
            limit,
            line: 1,
            next_number: 1,
            endings: LineEndings::default(),
        };
        let mut row = Row::default();
        // A line of spaces where the header should be names no column: it
        // is as blank as an empty line (EMPTY_FILE when nothing follows),
        // not a header of one nameless column. After the header such a line
        // is a record like any other, kept byte for byte.
        let mut found = r.read_record(&mut row)?;
        while found && row.raw.iter().all(|&b| b == b' ' || b == b'\t') {
            r.endings = LineEndings::default();
            found = r.read_record(&mut row)?;
        }
        if found {
            r.parser().parse(&mut row)?;
            // Unquoting takes out ASCII quotes only, so the names are UTF-8
            // exactly when the record's bytes are: one linear check, which
            // also says where the first bad byte is.
            if let Err(e) = std::str::from_utf8(&row.raw) {
                let (l, c) = csv_line_col(&row.raw, e.valid_up_to());
                return Err(Located::new(
                    path,
                    row.line + l - 1,
                    c,
                    "the header is not valid UTF-8",
                ));
            }
            let names = (0..row.csv_len())
                .map(|i| String::from_utf8_lossy(row.csv_field(i).unwrap_or_default()).into_owned())
                .collect();
            r.header = Some(Header {
                raw: row.raw,
                terminator: row.terminator,
                names,
                line: row.line,
                delimiter,
            });
        }
        Ok(r)
    }

    /// The reader's buffer, refilled if empty; empty at the end.
    fn fill(&mut self) -> Result<&[u8], Located> {
        let (path, line) = (&self.path, self.line);
        self.rdr
            .fill_buf()
            .map_err(|e| Located::read_error(path, line, 1, e))
    }

    /// Skips the blank lines before a record, counting them; `Ok(false)`
    /// at the end of the input. What csv-core skipped between records.
    fn skip_blank_lines(&mut self) -> Result<bool, Located> {
        // A CR that ended the last buffer, whose LF may start this one.
        let mut after_cr = false;
        loop {
            let input = self.fill()?;
            if input.is_empty() {
                return Ok(false);
            }
            let lead = input.iter().position(|&b| b != b'\n' && b != b'\r');
            let n = lead.unwrap_or(input.len());
            // A lone CR is a blank line as a lone LF is: counting line feeds
            // alone, blank lines of a CR-only file moved every line number
            // after them.
            let mut lines = 0;
            for &b in &input[..n] {
                lines += u64::from(b == b'\r' || !after_cr);
                after_cr = b == b'\r';
            }
            self.line += lines;
            self.rdr.consume(n);
            if lead.is_some() {
                return Ok(true);
            }
        }
    }

    /// Reads one record's bytes, up to and with its terminator, into
    /// `raw`; `Ok(None)` at the end. Returns whether only the end of the
    /// input ended it, and the line feeds inside it.
    fn read_record_bytes(&mut self, raw: &mut Vec<u8>) -> Result<Option<(bool, u64)>, Located> {
        raw.clear();
        if !self.skip_blank_lines()? {
            return Ok(None);
        }
        let mut scan = RecordEnd::new(self.delimiter);
        loop {
            // Never more than the limit plus a line ending, whatever the
            // buffer holds: one byte past that is enough to refuse.
            let room = (self.limit + 3).saturating_sub(raw.len());
            let input = self.fill()?;
            if input.is_empty() {
                return Ok(Some((true, scan.newlines())));
            }
            let input = &input[..input.len().min(room)];
            let found = scan.find(input);
            let n = found.map_or(input.len(), |i| i + 1);
            raw.extend_from_slice(&input[..n]);
            self.rdr.consume(n);
            if raw.len() > self.limit + 2 {
                return Err(record_too_large(&self.path, self.line, 1, self.limit));
            }
            if found.is_some() {
                break;
            }
        }
        // A record ends at the CR of a CRLF; keep the pair together.
        if raw.last() == Some(&b'\r') && self.fill()?.first() == Some(&b'\n') {
            raw.push(b'\n');
            self.rdr.consume(1);
        }
        Ok(Some((false, scan.newlines())))
    }

    /// Reads one record's bytes; its fields are left to [`RowParser`].
    /// `Ok(false)` at the end.
    fn read_record(&mut self, row: &mut Row) -> Result<bool, Located> {
        let Some((at_eof, newlines)) = self.read_record_bytes(&mut row.raw)? else {
            return Ok(false);
        };
        row.line = self.line;
        // A record that only the end of the input ended may be a quoted field
        // that never closed: it would swallow every line after its quote.
        if at_eof && let Some(offset) = unterminated_quote(&row.raw, self.delimiter) {
            let (l, c) = csv_line_col(&row.raw, offset);
            return Err(Located::new(
                &self.path,
                row.line + l - 1,
                c,
                "unterminated quoted field: the quote opened here never closes",
            ));
        }
        let (len, terminator) = Terminator::split(&row.raw);
        if len > self.limit {
            return Err(record_too_large(&self.path, row.line, 1, self.limit));
        }
        row.raw.truncate(len);
        row.terminator = terminator;
        self.line += newlines + u64::from(terminator != Terminator::None);
        self.endings.count(terminator);
        Ok(true)
    }
}

impl RecordReader for CsvReader {
    fn split_row(&mut self, row: &mut Row) -> Result<bool, Located> {
        if !self.read_record(row)? {
            return Ok(false);
        }
        row.number = self.next_number;
        self.next_number += 1;
        Ok(true)
    }

    fn parser(&self) -> RowParser {
        RowParser::Csv {
            delimiter: self.delimiter,
            max_fields: max_fields(self.limit),
            path: self.path.clone(),
        }
    }

    fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    fn held_nothing(&self) -> bool {
        self.header.is_none()
    }

    fn line_endings(&self) -> LineEndings {
        // The header's own terminator counts too: a CRLF header over LF rows
        // is the classic mixed file.
        self.endings
    }
}

/// Where a quoted field opens that is still open at the end of `raw`, by
/// RFC 4180's rule that a quote opens a field only at its start.
fn unterminated_quote(raw: &[u8], delimiter: u8) -> Option<usize> {
    let mut at_field_start = true;
    let mut open: Option<usize> = None;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if open.is_some() {
            if b == b'"' {
                if raw.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    open = None;
                }
            }
        } else if b == b'"' && at_field_start {
            open = Some(i);
        } else {
            at_field_start = b == delimiter || b == b'\n' || b == b'\r';
        }
        i += 1;
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = (Option<Header>, Vec<Row>, LineEndings);

    fn read_all(data: &[u8]) -> Result<Parsed, Located> {
        let rdr: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
        let mut r = CsvReader::new(rdr, b',', Path::new("t.csv"), 1 << 20)?;
        let mut rows = Vec::new();
        let mut row = Row::default();
        while r.read_row(&mut row)? {
            rows.push(row.clone());
        }
        Ok((r.header().cloned(), rows, r.line_endings()))
    }

    fn fields(row: &Row) -> Vec<String> {
        (0..row.csv_len())
            .map(|i| String::from_utf8_lossy(row.csv_field(i).unwrap()).into_owned())
            .collect()
    }

    #[test]
    fn field_starts_follow_quotes_and_delimiters() {
        assert_eq!(field_starts(b"a,b,c", b','), vec![0, 2, 4]);
        assert_eq!(field_starts(b"\"x,y\",b", b','), vec![0, 6]);
        assert_eq!(field_starts(b"a;\"b\nc\";d", b';'), vec![0, 2, 8]);
        assert_eq!(field_starts(b"a,,", b','), vec![0, 2, 3]);
    }

    #[test]
    fn keeps_raw_bytes_and_terminators() {
        let data = b"a,b\r\n1,\"x\r\ny\"\r\n\r\n3,\"q\"\"q\"\n4,5";
        let (h, rows, endings) = read_all(data).unwrap();
        let h = h.unwrap();
        assert_eq!(h.raw, b"a,b");
        assert_eq!(h.terminator, Terminator::CrLf);
        assert_eq!(h.names, vec!["a", "b"]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].raw, b"1,\"x\r\ny\"");
        assert_eq!(fields(&rows[0]), vec!["1", "x\r\ny"]);
        assert_eq!((rows[0].line, rows[0].number), (2, 1));
        assert_eq!(rows[1].raw, b"3,\"q\"\"q\"");
        assert_eq!(fields(&rows[1]), vec!["3", "q\"q"]);
        assert_eq!(rows[1].terminator, Terminator::Lf);
        assert_eq!(rows[1].line, 5, "the blank line counts");
        assert_eq!(rows[2].raw, b"4,5");
        assert_eq!(rows[2].terminator, Terminator::None);
        assert_eq!(
            endings,
            LineEndings {
                lf: 1,
                crlf: 2,
                cr: 0
            }
        );
    }

    #[test]
    fn reassembling_rows_gives_back_the_input() {
        let data: &[u8] = b"h1,h2\n\"a\nb\",c\r\nd,\"e,f\"\n";
        let (h, rows, _) = read_all(data).unwrap();
        let h = h.unwrap();
        let mut out = h.raw.clone();
        out.extend_from_slice(h.terminator.bytes());
        for r in rows {
            out.extend_from_slice(&r.raw);
            out.extend_from_slice(r.terminator.bytes());
        }
        assert_eq!(out, data);
    }

    #[test]
    fn invalid_utf8_row_is_marked_not_rejected() {
        let (_, rows, _) = read_all(b"a,b\ncaf\xe9,1\n").unwrap();
        assert!(!rows[0].utf8);
        assert_eq!(rows[0].raw, b"caf\xe9,1");
    }

    #[test]
    fn header_not_utf8_is_an_error_with_position() {
        let err = read_all(b"ok,b\xffad\n1,2\n").unwrap_err();
        assert_eq!((err.line, err.column), (1, 5));
    }

    #[test]
    fn unterminated_quote_is_an_error_at_the_quote() {
        let err = read_all(b"a,b\n1,2\n3,\"never\nclosed,4\n5,6\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 3), "{err}");
        // A quote inside an unquoted field is data, not an opening quote.
        let (_, rows, _) = read_all(b"a,b\n1,2\"x").unwrap();
        assert_eq!(fields(&rows[0]), vec!["1", "2\"x"]);
    }

    #[test]
    fn header_positions_follow_quotes_and_lines() {
        let (h, _, _) = read_all(b"\n\na,\"b,\"\"c\n\",d,\"\"\",e\"\n1,2,3,4\n").unwrap();
        let h = h.unwrap();
        assert_eq!(h.names, vec!["a", "b,\"c\n", "d", "\",e"]);
        assert_eq!(h.line, 3);
        assert_eq!(h.position_of(0), (3, 1));
        assert_eq!(h.position_of(1), (3, 3));
        assert_eq!(h.position_of(2), (4, 3));
        assert_eq!(h.position_of(3), (4, 5));
    }

    #[test]
    fn empty_input_has_no_header() {
        let (h, rows, _) = read_all(b"").unwrap();
        assert!(h.is_none());
        assert!(rows.is_empty());
    }

    #[test]
    fn delimiters_by_name_or_char() {
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("Pipe"), Ok(b'|'));
        assert!(parse_delimiter("x").is_err());
    }
}
