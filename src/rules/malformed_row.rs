//! MALFORMED_ROW for CSV: a record whose field count differs from the
//! header's. (JSON that does not parse, is not an object, or names one field
//! twice never gets a view and is flagged by `check_row`.)

use super::{Context, RowView, Verdict};
use crate::input::{Content, Row};
use crate::spec::Reason;

/// Returns whether the row's values line up with the header.
pub fn check(row: &Row, view: &RowView, ctx: &Context, v: &mut Verdict) -> bool {
    if let (Content::Csv { .. }, Some(columns)) = (&row.content, ctx.columns)
        && view.len() != columns.len()
    {
        v.add(Reason::MalformedRow);
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn wrong_field_count_is_malformed() {
        let policy = crate::policy::Policy::builtin();
        let header = csv_header(&["is_synthetic", "data_source"]);
        let columns = super::super::Columns::resolve(&header, &policy);
        let ctx = context(&policy, &columns);
        let check = |vals: &[&str]| codes(&super::super::check_row(&csv_row(vals), &ctx));
        assert_eq!(check(&["false", "web"]), "");
        assert_eq!(check(&["false", "web", "extra"]), "MALFORMED_ROW");
        // Disclosure checks are skipped on misaligned values: "x" is not
        // reported as INVALID_BOOLEAN.
        assert_eq!(check(&["x"]), "MALFORMED_ROW");
    }
}
