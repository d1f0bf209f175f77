//! INVALID_BOOLEAN: `is_synthetic` or `human_reviewed` holds something other
//! than Data Loader's boolean set (true/false, yes/no, y/n, 1/0, on/off).
//! Blank values are MISSING_DISCLOSURE's business, not this rule's.

use super::{RowView, Verdict};
use crate::spec::disclosure::parse_bool;
use crate::spec::{Field, Reason};

pub fn check(row: &RowView, v: &mut Verdict) {
    for f in [Field::IsSynthetic, Field::HumanReviewed] {
        if let Some(value) = row.non_empty(f)
            && parse_bool(&value).is_none()
        {
            v.add(Reason::InvalidBoolean);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn values_outside_the_set() {
        assert_eq!(codes(&verdict(&human(&[("human_reviewed", "Y")]))), "");
        assert_eq!(
            codes(&verdict(&human(&[("human_reviewed", "reviewed")]))),
            "INVALID_BOOLEAN"
        );
        assert_eq!(
            codes(&verdict(&[("is_synthetic", "nope"), ("data_source", "x")])),
            "INVALID_BOOLEAN"
        );
        assert_eq!(codes(&verdict(&human(&[("human_reviewed", "")]))), "");
    }
}
