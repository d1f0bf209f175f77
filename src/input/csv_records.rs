//! CSV in two steps, so that the serial one is cheap: the reader thread
//! only finds where each record ends ([`RecordEnd`], memchr over quotes and
//! line breaks), and the workers unquote its fields ([`parse_fields`]).
//!
//! Both follow csv-core's reading of RFC 4180 exactly (the scan used it
//! before; `tests` compare the two on random inputs): a quote opens a quoted
//! field only as the field's first byte; inside one, `""` is a quote and a
//! lone quote closes it; after the closing quote, or in a field that did not
//! start with one, every byte up to the delimiter is data, quotes included;
//! a CR or LF outside quotes ends the record. Hand-rolled rather than
//! csv-core's byte-at-a-time DFA because memchr skips the long runs of
//! plain text between those few bytes, which is most of a CRM export.

/// Where the scan for a record's end stands, carried across buffer refills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside quotes; `field_start` says the next byte starts a field.
    Unquoted {
        field_start: bool,
    },
    Quoted,
    /// Just after a quote inside a quoted field: the next byte says whether
    /// it was `""` or the closing quote.
    AfterQuote,
}

/// Finds the end of one record, fed its bytes a buffer at a time.
pub struct RecordEnd {
    delimiter: u8,
    state: State,
    /// Line breaks (LF, CRLF, or a lone CR, which ends a record as surely)
    /// inside the record so far. Only a quoted field holds one (outside
    /// quotes a line break ends the record), so the scan counts them where
    /// it meets them, instead of the reader counting every byte of every
    /// record again for line numbers.
    newlines: u64,
    /// The last buffer ended on a CR inside quotes: an LF starting the next
    /// is the rest of its CRLF, not a line of its own.
    cr_pending: bool,
}

impl RecordEnd {
    /// A scan from the first byte of a record (blank lines already skipped).
    pub fn new(delimiter: u8) -> RecordEnd {
        RecordEnd {
            delimiter,
            state: State::Unquoted { field_start: true },
            newlines: 0,
            cr_pending: false,
        }
    }

    /// The line breaks inside the record (its terminator not counted) in
    /// the bytes fed so far.
    pub fn newlines(&self) -> u64 {
        self.newlines
    }

    /// The index in `buf` of the CR or LF that ends the record, if `buf`
    /// holds it; otherwise the whole of `buf` belongs to the record and the
    /// scan goes on with the next buffer.
    pub fn find(&mut self, buf: &[u8]) -> Option<usize> {
        let d = self.delimiter;
        let mut pos = 0;
        if std::mem::take(&mut self.cr_pending) && buf.first() == Some(&b'\n') {
            pos = 1;
        }
        while pos < buf.len() {
            match self.state {
                State::Quoted => match memchr::memchr3(b'"', b'\n', b'\r', &buf[pos..]) {
                    Some(q) => {
                        let at = pos + q;
                        pos = at + 1;
                        match buf[at] {
                            b'"' => self.state = State::AfterQuote,
                            b'\r' => {
                                self.newlines += 1;
                                match buf.get(pos) {
                                    Some(b'\n') => pos += 1,
                                    Some(_) => {}
                                    None => self.cr_pending = true,
                                }
                            }
                            _ => self.newlines += 1,
                        }
                    }
                    None => return None,
                },
                State::AfterQuote => {
                    let b = buf[pos];
                    if b == b'\r' || b == b'\n' {
                        return Some(pos);
                    }
                    self.state = if b == b'"' {
                        State::Quoted
                    } else {
                        State::Unquoted {
                            field_start: b == d,
                        }
                    };
                    pos += 1;
                }
                State::Unquoted { field_start } => {
                    let Some(k) = memchr::memchr3(b'"', b'\n', b'\r', &buf[pos..]) else {
                        // Only the last byte decides whether a field starts next.
                        if buf.len() > pos {
                            self.state = State::Unquoted {
                                field_start: buf[buf.len() - 1] == d,
                            };
                        }
                        return None;
                    };
                    let at = pos + k;
                    if buf[at] != b'"' {
                        return Some(at);
                    }
                    // Between `pos` and the quote there is neither quote nor
                    // line break, so the byte before it is a real delimiter.
                    let opens = if k == 0 {
                        field_start
                    } else {
                        buf[at - 1] == d
                    };
                    self.state = if opens {
                        State::Quoted
                    } else {
                        State::Unquoted { field_start: false }
                    };
                    pos = at + 1;
                }
            }
        }
        None
    }
}

/// The record holds more fields than allowed.
#[derive(Debug, PartialEq, Eq)]
pub struct TooManyFields;

/// Unquotes the fields of one record (its bytes without the terminator, as
/// [`RecordEnd`] delimited them) into `fields`, back to back, with the end
/// of each in `ends`. At most `max_fields` fields.
pub fn parse_fields(
    raw: &[u8],
    delimiter: u8,
    max_fields: usize,
    fields: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Result<(), TooManyFields> {
    fields.clear();
    ends.clear();
    // Exactly: a recycled buffer keeps its capacity, which counts against
    // the batch's bytes, so amortised doubling would waste up to half.
    fields.reserve_exact(raw.len());
    if memchr::memchr(b'"', raw).is_none() {
        // No quotes: the fields are the bytes between delimiters.
        let mut start = 0;
        for d in memchr::memchr_iter(delimiter, raw) {
            push_field(fields, ends, &raw[start..d], max_fields)?;
            start = d + 1;
        }
        return push_field(fields, ends, &raw[start..], max_fields);
    }
    let mut pos = 0;
    loop {
        if raw.get(pos) == Some(&b'"') {
            pos += 1;
            loop {
                let Some(q) = memchr::memchr(b'"', &raw[pos..]) else {
                    // Never closed: the reader refuses such a record, but
                    // csv-core would take the rest, and so does this.
                    fields.extend_from_slice(&raw[pos..]);
                    pos = raw.len();
                    break;
                };
                fields.extend_from_slice(&raw[pos..pos + q]);
                pos += q + 1;
                if raw.get(pos) == Some(&b'"') {
                    fields.push(b'"');
                    pos += 1;
                } else {
                    break;
                }
            }
        }
        // The rest of the field, quotes and all, up to the delimiter.
        let next = memchr::memchr(delimiter, &raw[pos.min(raw.len())..]);
        let stop = next.map_or(raw.len(), |k| pos + k);
        fields.extend_from_slice(&raw[pos.min(stop)..stop]);
        push_end(fields.len(), ends, max_fields)?;
        match next {
            Some(_) => pos = stop + 1,
            None => return Ok(()),
        }
    }
}

fn push_field(
    fields: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    field: &[u8],
    max_fields: usize,
) -> Result<(), TooManyFields> {
    fields.extend_from_slice(field);
    push_end(fields.len(), ends, max_fields)
}

fn push_end(end: usize, ends: &mut Vec<usize>, max_fields: usize) -> Result<(), TooManyFields> {
    if ends.len() >= max_fields {
        return Err(TooManyFields);
    }
    ends.push(end);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use csv_core::{ReadRecordResult, ReaderBuilder};
    use proptest::prelude::*;

    /// csv-core's records over `data`, as the reader found them before:
    /// each record's bytes (leading line breaks dropped, terminator kept,
    /// a CRLF kept together) and its fields.
    fn reference(data: &[u8], delimiter: u8) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
        let mut core = ReaderBuilder::new().delimiter(delimiter).build();
        let mut out = Vec::new();
        let mut input = data;
        loop {
            let mut fields = vec![0u8; data.len() + 1];
            let mut ends = vec![0usize; data.len() + 2];
            let (mut nf, mut ne, mut raw) = (0, 0, Vec::new());
            loop {
                let (res, nin, nout, nend) =
                    core.read_record(input, &mut fields[nf..], &mut ends[ne..]);
                raw.extend_from_slice(&input[..nin]);
                input = &input[nin..];
                nf += nout;
                ne += nend;
                match res {
                    ReadRecordResult::InputEmpty => {}
                    ReadRecordResult::Record => break,
                    ReadRecordResult::End => return out,
                    other => panic!("{other:?}"),
                }
            }
            let lead = raw
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            raw.drain(..lead);
            if raw.last() == Some(&b'\r') && input.first() == Some(&b'\n') {
                raw.push(b'\n');
                input = &input[1..];
            }
            let f = (0..ne)
                .map(|i| fields[if i == 0 { 0 } else { ends[i - 1] }..ends[i]].to_vec())
                .collect();
            out.push((raw, f));
        }
    }

    /// The same records by `RecordEnd` and `parse_fields`, the input handed
    /// over in pieces of `piece` bytes.
    fn split(data: &[u8], delimiter: u8, piece: usize) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            while pos < data.len() && (data[pos] == b'\r' || data[pos] == b'\n') {
                pos += 1;
            }
            if pos == data.len() {
                return out;
            }
            let mut scan = RecordEnd::new(delimiter);
            let start = pos;
            let end = loop {
                let stop = (pos + piece).min(data.len());
                match scan.find(&data[pos..stop]) {
                    Some(i) => break Some(pos + i),
                    None if stop == data.len() => break None,
                    None => pos = stop,
                }
            };
            // The scan's count is every line break of the record but the
            // one that ends it (LF, CRLF or a lone CR), whichever piece each
            // fell in.
            let body = end.map_or(&data[start..], |i| &data[start..i]);
            let breaks = (0..body.len()).filter(|&i| {
                body[i] == b'\n' || (body[i] == b'\r' && body.get(i + 1) != Some(&b'\n'))
            });
            assert_eq!(scan.newlines(), breaks.count() as u64, "{data:?}");
            let mut raw = match end {
                Some(i) => data[start..=i].to_vec(),
                None => data[start..].to_vec(),
            };
            pos = start + raw.len();
            if raw.last() == Some(&b'\r') && data.get(pos) == Some(&b'\n') {
                raw.push(b'\n');
                pos += 1;
            }
            // The reader strips the terminator; a record only the end of the
            // input ended has none, unless it ends inside quotes, which the
            // reader refuses (so keep csv-core's reading of it here).
            let len = match end {
                Some(_) => crate::input::Terminator::split(&raw).0,
                None => raw.len(),
            };
            let (mut fields, mut ends) = (Vec::new(), Vec::new());
            parse_fields(&raw[..len], delimiter, usize::MAX, &mut fields, &mut ends).unwrap();
            let f = (0..ends.len())
                .map(|i| fields[if i == 0 { 0 } else { ends[i - 1] }..ends[i]].to_vec())
                .collect();
            out.push((raw, f));
        }
    }

    fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet = prop::sample::select(b"ab,;\"\"\r\n\n \t".to_vec());
        prop::collection::vec(alphabet, 0..64)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn splits_and_parses_as_csv_core(
            data in csv_bytes(),
            piece in 1usize..9,
            semicolon in any::<bool>(),
        ) {
            let d = if semicolon { b';' } else { b',' };
            prop_assert_eq!(split(&data, d, piece), reference(&data, d));
            prop_assert_eq!(split(&data, d, data.len().max(1)), reference(&data, d));
        }
    }

    #[test]
    fn dialect_cases() {
        for data in [
            &b"a,\"b\"\"c\",\"d\"e\"f,g\r\nh\ri\n\n\"j\nk\"\r\n"[..],
            b"\"\",\"\"\"\",x\"y\"",
            b"\"a\"\"",
            b",,\n,",
            b"\"unterminated,a\nb",
        ] {
            assert_eq!(split(data, b',', 3), reference(data, b','), "{data:?}");
        }
    }

    #[test]
    fn too_many_fields() {
        let (mut f, mut e) = (Vec::new(), Vec::new());
        assert_eq!(parse_fields(b"a,b,c", b',', 3, &mut f, &mut e), Ok(()));
        assert_eq!(
            parse_fields(b"a,b,c,d", b',', 3, &mut f, &mut e),
            Err(TooManyFields)
        );
        assert_eq!(
            parse_fields(b"\"a\",b,c,d", b',', 3, &mut f, &mut e),
            Err(TooManyFields)
        );
    }
}
