//! NDJSON / JSON Lines: one object per line. A line that is not an object is
//! a MALFORMED_ROW, not an error: the rest of the file is still good.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::{LineEndings, RecordReader, Row, Terminator, parse_json_record, record_too_large};
use crate::error::Located;

pub struct NdjsonReader {
    rdr: Box<dyn BufRead + Send>,
    path: PathBuf,
    /// `[limits] max_record_bytes`.
    limit: usize,
    line: u64,
    next_number: u64,
    endings: LineEndings,
}

impl NdjsonReader {
    pub fn new(rdr: Box<dyn BufRead + Send>, path: &Path, limit: usize) -> NdjsonReader {
        NdjsonReader {
            rdr,
            path: path.to_owned(),
            limit,
            line: 1,
            next_number: 1,
            endings: LineEndings::default(),
        }
    }
}

impl NdjsonReader {
    /// Reads one line, its LF included, into `out`; `Ok(false)` at the end.
    /// Unlike `read_until`, stops with an error once the line is longer
    /// than the limit allows, without reading the rest of it.
    fn read_line(&mut self, out: &mut Vec<u8>) -> Result<bool, Located> {
        out.clear();
        loop {
            let buf = self
                .rdr
                .fill_buf()
                .map_err(|e| Located::read_error(&self.path, self.line, 1, e))?;
            if buf.is_empty() {
                return Ok(!out.is_empty());
            }
            let (take, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            // The limit, plus CRLF, plus the one byte that proves it is
            // exceeded.
            let take = take.min((self.limit + 3).saturating_sub(out.len()));
            out.extend_from_slice(&buf[..take]);
            self.rdr.consume(take);
            if out.len() > self.limit + 2 {
                return Err(record_too_large(&self.path, self.line, 1, self.limit));
            }
            if done && out.last() == Some(&b'\n') {
                return Ok(true);
            }
        }
    }
}

impl RecordReader for NdjsonReader {
    fn split_row(&mut self, row: &mut Row) -> Result<bool, Located> {
        loop {
            if !self.read_line(&mut row.raw)? {
                return Ok(false);
            }
            let (len, terminator) = Terminator::split(&row.raw);
            if len > self.limit {
                return Err(record_too_large(&self.path, self.line, 1, self.limit));
            }
            row.raw.truncate(len);
            row.terminator = terminator;
            row.line = self.line;
            self.line += 1;
            self.endings.count(terminator);
            // Blank lines separate nothing and hold no record: empty, or
            // JSON's own whitespace. Any other byte, a form feed or a
            // vertical tab included, makes the line a record, so it is
            // counted, and quarantined if it does not parse.
            if row.raw.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
                continue;
            }
            row.number = self.next_number;
            self.next_number += 1;
            parse_json_record(row, &self.path, 1, self.limit)?;
            return Ok(true);
        }
    }

    fn held_nothing(&self) -> bool {
        self.next_number == 1
    }

    fn line_endings(&self) -> LineEndings {
        self.endings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Content;

    #[test]
    fn objects_blank_lines_and_malformed_lines() {
        let data = b"{\"a\":1}\r\n\n \t\r\n[1,2]\n{\"b\":\"caf\xe9\"}\n{broken";
        let rdr: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
        let mut r = NdjsonReader::new(rdr, Path::new("t.ndjson"), 1 << 20);
        let mut rows = Vec::new();
        let mut row = Row::default();
        while r.read_row(&mut row).unwrap() {
            rows.push(row.clone());
        }
        assert_eq!(rows.len(), 4);
        assert!(matches!(rows[0].content, Content::Object(_)));
        assert_eq!(rows[0].terminator, Terminator::CrLf);
        assert_eq!((rows[1].number, rows[1].line), (2, 4));
        assert!(matches!(rows[1].content, Content::Malformed));
        assert!(!rows[2].utf8);
        assert!(matches!(rows[2].content, Content::Object(_)));
        assert!(matches!(rows[3].content, Content::Malformed));
        assert_eq!(rows[3].terminator, Terminator::None);
        assert_eq!(
            r.line_endings(),
            LineEndings {
                lf: 3,
                crlf: 2,
                cr: 0
            }
        );
    }
}
