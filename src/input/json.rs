//! A JSON array of objects, streamed element by element. serde_json would
//! want the whole array in memory (or give up each element's bytes); this
//! scanner only finds where each element begins and ends, tracking strings
//! and nesting, and leaves parsing the element to serde_json. A broken array
//! (missing comma, unterminated value, trailing garbage) is an error at its
//! line and column; an element that does not parse is a MALFORMED_ROW.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::{LineEndings, RecordReader, Row, Terminator, parse_json_record, record_too_large};
use crate::error::Located;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    BeforeElement { first: bool },
    AfterElement,
    Done,
}

pub struct JsonArrayReader {
    rdr: Box<dyn BufRead + Send>,
    path: PathBuf,
    /// `[limits] max_record_bytes`.
    limit: usize,
    state: State,
    line: u64,
    column: u64,
    next_number: u64,
    endings: LineEndings,
    last_was_cr: bool,
    /// Whether the array's `[` was found.
    opened: bool,
}

impl JsonArrayReader {
    pub fn new(rdr: Box<dyn BufRead + Send>, path: &Path, limit: usize) -> JsonArrayReader {
        JsonArrayReader {
            rdr,
            path: path.to_owned(),
            limit,
            state: State::Start,
            line: 1,
            column: 1,
            next_number: 1,
            endings: LineEndings::default(),
            last_was_cr: false,
            opened: false,
        }
    }

    fn error(&self, msg: impl Into<String>) -> Located {
        Located::new(&self.path, self.line, self.column, msg)
    }

    fn peek(&mut self) -> Result<Option<u8>, Located> {
        match self.rdr.fill_buf() {
            Ok(buf) => Ok(buf.first().copied()),
            Err(e) => Err(Located::read_error(&self.path, self.line, self.column, e)),
        }
    }

    fn bump(&mut self, b: u8) {
        self.rdr.consume(1);
        if self.last_was_cr && b != b'\n' {
            self.endings.cr += 1;
        }
        if b == b'\n' {
            if self.last_was_cr {
                self.endings.crlf += 1;
            } else {
                self.endings.lf += 1;
            }
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        self.last_was_cr = b == b'\r';
    }

    fn skip_whitespace(&mut self) -> Result<Option<u8>, Located> {
        while let Some(b) = self.peek()? {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Ok(Some(b));
            }
            self.bump(b);
        }
        Ok(None)
    }

    /// Copies one JSON value's bytes into `out`, leaving the reader just
    /// after it; an error once the value is over the limit.
    fn scan_value(&mut self, out: &mut Vec<u8>) -> Result<(), Located> {
        let (line, column) = (self.line, self.column);
        let too_large = |this: &Self| record_too_large(&this.path, line, column, this.limit);
        let unterminated = |this: &Self| {
            Located::new(
                &this.path,
                line,
                column,
                "the value starting here never ends",
            )
        };
        let first = self.peek()?.ok_or_else(|| unterminated(self))?;
        match first {
            b'{' | b'[' | b'"' => {
                let mut depth = 0u32;
                let mut in_string = false;
                let mut escaped = false;
                loop {
                    let b = self.peek()?.ok_or_else(|| unterminated(self))?;
                    if out.len() == self.limit {
                        return Err(too_large(self));
                    }
                    self.bump(b);
                    out.push(b);
                    if in_string {
                        if escaped {
                            escaped = false;
                        } else if b == b'\\' {
                            escaped = true;
                        } else if b == b'"' {
                            in_string = false;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        continue;
                    }
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                // A scalar (number, true, false, null, or garbage): up to the
                // next structural character.
                while let Some(b) = self.peek()? {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    if out.len() == self.limit {
                        return Err(too_large(self));
                    }
                    self.bump(b);
                    out.push(b);
                }
                if out.is_empty() {
                    return Err(self.error(format!("unexpected `{}`", first as char)));
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self) -> Result<bool, Located> {
        self.state = State::Done;
        match self.skip_whitespace()? {
            None => Ok(false),
            Some(_) => Err(self.error("content after the end of the JSON array")),
        }
    }
}

impl RecordReader for JsonArrayReader {
    fn split_row(&mut self, row: &mut Row) -> Result<bool, Located> {
        loop {
            match self.state {
                State::Done => return Ok(false),
                State::Start => match self.skip_whitespace()? {
                    Some(b'[') => {
                        self.bump(b'[');
                        self.opened = true;
                        self.state = State::BeforeElement { first: true };
                    }
                    Some(b'{') => {
                        return Err(self.error(
                            "expected a JSON array of objects, found an object \
                             (for one object per line, use --format ndjson)",
                        ));
                    }
                    // An empty file holds no records.
                    None => return self.finish(),
                    Some(_) => return Err(self.error("expected a JSON array of objects")),
                },
                State::BeforeElement { first } => match self.skip_whitespace()? {
                    Some(b']') if first => {
                        self.bump(b']');
                        return self.finish();
                    }
                    Some(b']') => return Err(self.error("trailing comma before `]`")),
                    None => return Err(self.error("the JSON array never closes")),
                    Some(_) => {
                        row.raw.clear();
                        row.line = self.line;
                        let column = self.column;
                        self.scan_value(&mut row.raw)?;
                        row.terminator = Terminator::None;
                        row.number = self.next_number;
                        self.next_number += 1;
                        parse_json_record(row, &self.path, column, self.limit)?;
                        self.state = State::AfterElement;
                        return Ok(true);
                    }
                },
                State::AfterElement => match self.skip_whitespace()? {
                    Some(b',') => {
                        self.bump(b',');
                        self.state = State::BeforeElement { first: false };
                    }
                    Some(b']') => {
                        self.bump(b']');
                        return self.finish();
                    }
                    None => return Err(self.error("the JSON array never closes")),
                    Some(b) => {
                        return Err(self.error(format!(
                            "expected `,` or `]` after an element, found `{}`",
                            b as char
                        )));
                    }
                },
            }
        }
    }

    fn held_nothing(&self) -> bool {
        !self.opened
    }

    fn line_endings(&self) -> LineEndings {
        let mut endings = self.endings;
        // A CR that ended the input.
        endings.cr += u64::from(self.last_was_cr);
        endings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Content;

    fn read_all(data: &[u8]) -> Result<Vec<Row>, Located> {
        let rdr: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
        let mut r = JsonArrayReader::new(rdr, Path::new("t.json"), 1 << 20);
        let mut rows = Vec::new();
        let mut row = Row::default();
        while r.read_row(&mut row)? {
            rows.push(row.clone());
        }
        Ok(rows)
    }

    #[test]
    fn elements_keep_their_bytes() {
        let data =
            b"[\n  {\"a\": \"x]}\\\"\", \"b\": [1, {\"c\": null}]},\n  {},\n  42, {\"d\":\n1}\n]\n";
        let rows = read_all(data).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0].raw,
            b"{\"a\": \"x]}\\\"\", \"b\": [1, {\"c\": null}]}"
        );
        assert!(matches!(rows[0].content, Content::Object(_)));
        assert_eq!(rows[1].raw, b"{}");
        assert_eq!(rows[2].raw, b"42");
        assert!(matches!(rows[2].content, Content::Malformed));
        assert_eq!(rows[3].raw, b"{\"d\":\n1}");
        assert_eq!((rows[3].number, rows[3].line), (4, 4));
    }

    #[test]
    fn empty_array_and_empty_file() {
        assert!(read_all(b" [ ] ").unwrap().is_empty());
        assert!(read_all(b"").unwrap().is_empty());
    }

    #[test]
    fn broken_arrays_are_errors_with_positions() {
        let e = read_all(b"[{\"a\":1} {\"b\":2}]").unwrap_err();
        assert_eq!((e.line, e.column), (1, 10), "{e}");
        let e = read_all(b"[{\"a\":1},\n]").unwrap_err();
        assert!(e.message.contains("trailing comma"), "{e}");
        let e = read_all(b"[{\"a\":\"1}]").unwrap_err();
        assert!(e.message.contains("never ends"), "{e}");
        let e = read_all(b"[{\"a\":1}").unwrap_err();
        assert!(e.message.contains("never closes"), "{e}");
        let e = read_all(b"[{\"a\":1}] x").unwrap_err();
        assert!(e.message.contains("after the end"), "{e}");
        let e = read_all(b"{\"a\":1}").unwrap_err();
        assert!(e.message.contains("--format ndjson"), "{e}");
    }

    #[test]
    fn element_that_does_not_parse_is_malformed_not_fatal() {
        let rows = read_all(b"[{\"a\":},{\"b\":2}]").unwrap();
        assert!(matches!(rows[0].content, Content::Malformed));
        assert!(matches!(rows[1].content, Content::Object(_)));
    }
}
