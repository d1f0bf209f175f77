//! APPROVAL_REQUIRED: a disclosed synthetic row that the sync filter lets
//! through, bound for an object whose synthetic rows the policy wants an
//! approver to see first (`[synthetic] require_approval`). `crmguard
//! release` lets them go, recording who approved and why.

use super::synthetic_policy::row_object;
use super::{Context, RowView, Verdict};
use crate::spec::Reason;

pub fn check(row: &RowView, ctx: &Context, v: &mut Verdict) {
    // A row the filter keeps out is held back already.
    if row.synthetic() != Some(true) || v.reasons.contains(Reason::SyntheticNotAllowed) {
        return;
    }
    if ctx
        .policy
        .requires_approval(row_object(row, ctx).as_deref())
    {
        v.add(Reason::ApprovalRequired);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn synthetic_rows_for_listed_objects_wait_for_approval() {
        use crate::spec::provenance::{Algorithm, compute};
        let hash = compute(Algorithm::Blake3, &mut [("Body", "x")]).to_string();
        let hash: &'static str = Box::leak(hash.into_boxed_str());
        let row = vec![
            ("Body", "x"),
            ("is_synthetic", "true"),
            ("data_source", "ai_generated"),
            ("ai_model_version", "openai/gpt-4o"),
            ("generation_timestamp", "2026-01-01T00:00:00Z"),
            ("provenance_hash", hash),
        ];
        let p = policy("[synthetic]\nallow = true\nrequire_approval = [\"product_description\"]\n");
        let at = |object| codes(&verdict_for(&p, object, &row));
        assert_eq!(at(Some("Product_Description")), "APPROVAL_REQUIRED");
        assert_eq!(at(Some("Case")), "");
        assert_eq!(at(None), "");
        // Kept out by the filter: that code alone.
        assert_eq!(at(Some("Lead")), "SYNTHETIC_NOT_ALLOWED");
        // Human rows need no approval.
        assert_eq!(
            codes(&verdict_for(&p, Some("Product_Description"), &human(&[]))),
            ""
        );
    }
}
