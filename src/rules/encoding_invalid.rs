//! ENCODING_INVALID: the row's bytes are not UTF-8 (typically a
//! Windows-1252 export). The bytes are kept as read; the other rules see a
//! lossy decoding so the row still collects every other code that applies.

use super::Verdict;
use crate::input::Row;
use crate::spec::Reason;

pub fn check(row: &Row, v: &mut Verdict) {
    if !row.utf8 {
        v.add(Reason::EncodingInvalid);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn flags_only_invalid_rows() {
        let mut row = csv_row(&["caf\u{e9}"]);
        let mut v = Verdict::default();
        check(&row, &mut v);
        assert!(v.is_clean());
        row.utf8 = false;
        check(&row, &mut v);
        assert_eq!(codes(&v), "ENCODING_INVALID");
    }
}
