//! SYNTHETIC_NOT_ALLOWED: a disclosed synthetic row stays out of the clean
//! file unless the policy allows synthetic content into this import.

use super::{Context, RowView, Verdict};
use crate::spec::Reason;

pub fn check(row: &RowView, ctx: &Context, v: &mut Verdict) {
    if row.synthetic() == Some(true) && !ctx.policy.allow_synthetic {
        v.add(Reason::SyntheticNotAllowed);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    fn synthetic() -> Vec<(&'static str, &'static str)> {
        use crate::spec::provenance::{Algorithm, compute};
        let hash = compute(Algorithm::Blake3, &mut [("Body", "x")]).to_string();
        vec![
            ("Body", "x"),
            ("is_synthetic", "TRUE"),
            ("data_source", "ai_generated"),
            ("ai_model_version", "openai/gpt-4o"),
            ("generation_timestamp", "2026-01-01T00:00:00Z"),
            ("provenance_hash", Box::leak(hash.into_boxed_str())),
        ]
    }

    #[test]
    fn synthetic_rows_are_held_back_by_default() {
        assert_eq!(codes(&verdict(&synthetic())), "SYNTHETIC_NOT_ALLOWED");
        let mut policy = crate::policy::Policy::builtin();
        policy.allow_synthetic = true;
        assert_eq!(codes(&verdict_with(&policy, &synthetic())), "");
        assert_eq!(codes(&verdict(&human(&[]))), "");
    }
}
