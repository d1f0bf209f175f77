//! CONTROL_CHARACTER: NUL or another C0 control character other than tab,
//! CR and LF, anywhere in a value (inside nested JSON too). CRMs reject or
//! silently drop them, and they hide content from reviewers.

use serde_json::Value;

use super::{Cell, RowView, Verdict};
use crate::spec::Reason;

pub fn check(row: &RowView, v: &mut Verdict) {
    // A CSV record's bytes hold its values and only printable syntax (quotes,
    // delimiters, tab at worst), so one pass over them answers for every
    // field. JSON escapes control characters, so look at the decoded values.
    let found = match row.csv_raw() {
        Some(raw) => has_control(raw),
        None => row.cells().any(|c| offends(&c)),
    };
    if found {
        v.add(Reason::ControlCharacter);
    }
}

/// Whether this cell holds a control character (used to point reports at
/// it; the check itself scans a CSV record whole).
pub fn offends(c: &Cell) -> bool {
    match c.nested {
        Some(value) => nested_has_control(value),
        None => has_control(c.bytes) || has_control(c.name.as_bytes()),
    }
}

pub(crate) fn has_control(bytes: &[u8]) -> bool {
    // Branch-free over 64-byte chunks so the compiler vectorises it: this
    // runs over every byte of every row.
    let bad = |b: u8| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r';
    bytes
        .chunks(64)
        .any(|chunk| chunk.iter().fold(false, |acc, &b| acc | bad(b)))
}

fn nested_has_control(value: &Value) -> bool {
    match value {
        Value::String(s) => has_control(s.as_bytes()),
        Value::Array(a) => a.iter().any(nested_has_control),
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| has_control(k.as_bytes()) || nested_has_control(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn c0_except_whitespace() {
        let row = |value: &'static str| codes(&verdict(&human(&[("Notes", value)])));
        assert_eq!(row("a\u{0}b"), "CONTROL_CHARACTER");
        assert_eq!(row("a\u{1b}[31m"), "CONTROL_CHARACTER");
        assert_eq!(row("a\u{1f}"), "CONTROL_CHARACTER");
        assert_eq!(row("tab\tcr\rlf\n ok"), "");
        assert_eq!(row("del \u{7f} and nbsp \u{a0} are not C0"), "");
    }

    #[test]
    fn nested_json_is_searched() {
        assert!(nested_has_control(
            &serde_json::json!({"a": ["x", "y\u{0}"]})
        ));
        assert!(!nested_has_control(&serde_json::json!({"a": ["x\ty"]})));
    }
}
