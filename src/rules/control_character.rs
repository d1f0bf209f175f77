//! CONTROL_CHARACTER: NUL or another C0 control character other than tab,
//! CR and LF, anywhere in a value (inside nested JSON too). CRMs reject or
//! silently drop them, and they hide content from reviewers.

use serde_json::Value;

use super::{RowView, Verdict};
use crate::spec::Reason;

pub fn check(row: &RowView, v: &mut Verdict) {
    let found = row.cells.iter().any(|c| match c.nested {
        Some(value) => nested_has_control(value),
        None => has_control(c.value.as_bytes()) || has_control(c.name.as_bytes()),
    });
    if found {
        v.add(Reason::ControlCharacter);
    }
}

fn has_control(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
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
