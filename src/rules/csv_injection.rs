//! CSV_INJECTION (OWASP): a text cell starting with `=`, `+`, `-`, `@`, tab
//! or CR becomes a formula when the file is opened in a spreadsheet. In
//! columns the policy declares numeric or phone, a value made only of
//! number/phone characters is data (`-12.5`, `+1 (555) 010-0199`); `=` and
//! `@` are never data.

use super::{Cell, Kind, RowView, Verdict};
use crate::spec::Reason;

pub fn check(row: &RowView, v: &mut Verdict) {
    if row.cells().any(|c| offends(&c)) {
        v.add(Reason::CsvInjection);
    }
}

/// Whether this cell is what makes the row CSV_INJECTION (also used to
/// point reports at it).
pub fn offends(c: &Cell) -> bool {
    c.kind == Kind::Text
        && is_formula(c.bytes)
        && !(c.injection_exempt && is_number_or_phone(c.bytes))
}

fn is_formula(value: &[u8]) -> bool {
    matches!(
        value.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

fn is_number_or_phone(value: &[u8]) -> bool {
    let v = value.trim_ascii_end();
    v.iter().any(u8::is_ascii_digit)
        && v.iter()
            .all(|b| b.is_ascii_digit() || b" +-().,/xX".contains(b))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn formula_prefixes() {
        let row =
            |name: &'static str, value: &'static str| codes(&verdict(&human(&[(name, value)])));
        for bad in [
            "=1+1",
            "+SUM(A1)",
            "-2+3",
            "@cmd",
            "\tx",
            "\rx",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert_eq!(row("Notes", bad), "CSV_INJECTION", "{bad:?}");
        }
        for ok in ["1+1", "a=b", " =1", "", "mail@example.com"] {
            assert_eq!(row("Notes", ok), "", "{ok:?}");
        }
    }

    #[test]
    fn exempt_columns_accept_numbers_and_phones_only() {
        let row =
            |name: &'static str, value: &'static str| codes(&verdict(&human(&[(name, value)])));
        assert_eq!(row("Phone", "+1 (555) 010-0199"), "");
        assert_eq!(
            row("amount", "-12.50"),
            "",
            "exempt names match case-insensitively"
        );
        assert_eq!(row("Phone", "+1 555 0100 x12"), "");
        assert_eq!(row("Phone", "=1+1"), "CSV_INJECTION");
        assert_eq!(row("Phone", "-cmd"), "CSV_INJECTION");
        assert_eq!(row("Phone", "@SUM(1)"), "CSV_INJECTION");
        assert_eq!(row("Notes", "+1 555 0100"), "CSV_INJECTION", "not declared");
    }
}
