//! Getting a quarantined row's input bytes back from the quarantine file:
//! the file holds each row as read, with crmguard's columns (CSV) or keys
//! (JSON) added at its end; taking exactly those off gives the input's
//! bytes. The caller checks the result against the row's blake3 in the
//! audit log, so a recovery that is not byte for byte is refused, never
//! written.

use csv_core::{ReadFieldResult, ReaderBuilder};
use serde_json::Value;

use crate::input::{Content, Row};

/// The delimiter of a quarantine CSV, from its header: crmguard wrote
/// `crmguard_row` and `crmguard_reasons` after the input's header, each
/// after a delimiter.
pub fn sniff_delimiter(head: &[u8]) -> Option<u8> {
    let at = memchr::memmem::find(head, b"crmguard_row")?;
    let d = *head.get(at.checked_sub(1)?)?;
    let after = &head[at + b"crmguard_row".len()..];
    (after.first() == Some(&d) && after[1..].starts_with(b"crmguard_reasons")).then_some(d)
}

/// How many of a header's last names are crmguard's quarantine columns.
pub fn added_columns(names: &[String]) -> usize {
    names
        .iter()
        .rev()
        .take_while(|n| crate::spec::quarantine_added_columns().any(|ours| ours == n.as_str()))
        .count()
}

/// `raw` (one CSV record, without its terminator) without its last `k`
/// fields and the delimiters before them; `None` when it has no more than
/// `k` fields.
pub fn strip_csv(raw: &[u8], delimiter: u8, k: usize) -> Option<&[u8]> {
    let mut rdr = ReaderBuilder::new().delimiter(delimiter).build();
    let mut out = vec![0u8; 4096];
    // Where each field starts.
    let mut starts = vec![0usize];
    let mut pos = 0;
    loop {
        let (res, nin, _) = rdr.read_field(&raw[pos..], &mut out);
        pos += nin;
        match res {
            // The end of the bytes: the last field ends here.
            ReadFieldResult::InputEmpty if pos >= raw.len() => {
                let (res, _, _) = rdr.read_field(&[], &mut out);
                if !matches!(res, ReadFieldResult::Field { .. }) {
                    return None;
                }
                break;
            }
            ReadFieldResult::InputEmpty => {}
            ReadFieldResult::OutputFull => {
                let n = out.len();
                out.resize(n * 2, 0);
            }
            ReadFieldResult::Field { record_end } => {
                if record_end {
                    break;
                }
                starts.push(pos);
            }
            ReadFieldResult::End => break,
        }
    }
    let n = starts.len();
    if n <= k {
        return None;
    }
    // The field before crmguard's ends one byte (the delimiter) before
    // crmguard's first field starts.
    Some(&raw[..starts[n - k] - 1])
}

/// A JSON record (NDJSON line, or array element) without the keys crmguard
/// spliced in before its closing brace. `None` when they are not there.
pub fn strip_json(raw: &[u8]) -> Option<Vec<u8>> {
    let close = raw.iter().rposition(|&b| b == b'}')?;
    // The spliced pairs end where the object's own closing whitespace
    // begins: the last pair's value never ends in whitespace.
    let end = raw[..close]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let key = memchr::memmem::rfind(&raw[..end], b"\"crmguard_row\":")?;
    // A comma was spliced in before the first pair unless the object was
    // empty (`{`).
    let start = match key.checked_sub(1).map(|i| raw[i]) {
        Some(b',') => key - 1,
        _ => key,
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..start]);
    out.extend_from_slice(&raw[end..]);
    Some(out)
}

/// `crmguard_row` and `crmguard_reasons` of a quarantined row: the last `k`
/// CSV fields (the first two of them), or the object's keys.
pub fn crmguard_values(row: &Row, k: usize) -> Option<(u64, String)> {
    match &row.content {
        Content::Csv { .. } => {
            let n = row.csv_len();
            let first = n.checked_sub(k)?;
            let number = std::str::from_utf8(row.csv_field(first)?).ok()?;
            let reasons = std::str::from_utf8(row.csv_field(first + 1)?).ok()?;
            Some((number.parse().ok()?, reasons.to_string()))
        }
        Content::Object(map) => {
            let number = map.get("crmguard_row").and_then(Value::as_u64)?;
            let reasons = map.get("crmguard_reasons").and_then(Value::as_str)?;
            Some((number, reasons.to_string()))
        }
        Content::Malformed => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{TagValue, splice_object, write_csv_field};

    #[test]
    fn the_delimiter_is_read_off_the_header() {
        assert_eq!(
            sniff_delimiter(b"a;b;crmguard_row;crmguard_reasons\r\n"),
            Some(b';')
        );
        assert_eq!(
            sniff_delimiter(b"a\tcrmguard_row\tcrmguard_reasons"),
            Some(b'\t')
        );
        assert_eq!(sniff_delimiter(b"a,crmguard_row;crmguard_reasons"), None);
        assert_eq!(sniff_delimiter(b"crmguard_row,crmguard_reasons"), None);
    }

    #[test]
    fn added_columns_are_counted_from_the_end() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            added_columns(&names(&[
                "Name",
                "crmguard_row",
                "crmguard_reasons",
                "crmguard_media"
            ])),
            3
        );
        assert_eq!(added_columns(&names(&["crmguard_row", "Name"])), 0);
    }

    /// What the quarantine writer makes of a CSV record.
    fn quarantined_csv(raw: &[u8], d: u8, values: &[&[u8]]) -> Vec<u8> {
        let mut out = raw.to_vec();
        for v in values {
            out.push(d);
            write_csv_field(&mut out, v, d).unwrap();
        }
        out
    }

    #[test]
    fn csv_records_come_back_byte_for_byte() {
        let values: [&[u8]; 4] = [b"7", b"A;B", b"0.912", b"phrase \"x\", y\nz"];
        for (raw, d) in [
            (&b"a,b,c"[..], b','),
            (b"\"q,uoted\",\"multi\nline\",\"\"\"\"", b','),
            (b",,", b','),
            (b"x;\"y;z\";", b';'),
            (b"one", b'\t'),
            (b"caf\xe9,bad utf8", b','),
        ] {
            let q = quarantined_csv(raw, d, &values);
            assert_eq!(
                strip_csv(&q, d, 4),
                Some(raw),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert_eq!(strip_csv(b"7,A", b',', 2), None);
    }

    #[test]
    fn json_records_come_back_byte_for_byte() {
        let pairs = [
            ("crmguard_row", TagValue::Number(3.0)),
            (
                "crmguard_reasons",
                TagValue::Text("APPROVAL_REQUIRED".into()),
            ),
            ("crmguard_ai_score", TagValue::Null),
            (
                "crmguard_media",
                TagValue::Text("} \"crmguard_row\": ,".into()),
            ),
        ];
        for raw in [
            &b"{\"a\": 1 }"[..],
            b"{}",
            b"{ }",
            b"{\"a\":{\"b\":[1,2]},\"c\":\"x}\"}",
            b"{\n  \"a\": \"\xe2\x82\xac\"\n}",
        ] {
            let mut q = Vec::new();
            splice_object(&mut q, raw, pairs.iter().map(|(k, v)| (*k, v))).unwrap();
            assert_eq!(
                strip_json(&q).as_deref(),
                Some(raw),
                "{}",
                String::from_utf8_lossy(&q)
            );
        }
        assert_eq!(strip_json(b"{\"a\":1}"), None);
    }
}
