//! SYNTHETIC_NOT_ALLOWED and UNTRUSTED_AI_SOURCE: the sync filter. A
//! disclosed synthetic row stays out of the clean file unless the policy
//! allows synthetic content for the row's target object; and an allowed or
//! not, its model and source must match the policy's trusted patterns.

use super::{Context, RowView, Verdict};
use crate::spec::{Field, Reason};

pub fn check(row: &RowView, ctx: &Context, v: &mut Verdict) {
    if row.synthetic() != Some(true) {
        return;
    }
    let object = row_object(row, ctx);
    let rule = ctx.policy.synthetic_rule(object.as_deref());
    if !rule.allow {
        v.add(Reason::SyntheticNotAllowed);
    }
    // A missing model or source is MISSING_DISCLOSURE's finding, not a
    // second one here.
    let untrusted = |patterns: &Option<crate::policy::Patterns>, f: Field| {
        patterns
            .as_ref()
            .zip(row.non_empty(f))
            .is_some_and(|(p, value)| !p.matches(&value))
    };
    if untrusted(&rule.trusted_models, Field::AiModelVersion)
        || untrusted(&rule.trusted_sources, Field::DataSource)
    {
        v.add(Reason::UntrustedAiSource);
    }
}

/// The row's target object: `--object`, else the policy's object column,
/// else the file-name pattern.
pub(super) fn row_object(row: &RowView, ctx: &Context) -> Option<String> {
    if let Some(o) = ctx.object_flag {
        return Some(o.to_string());
    }
    if let Some(col) = &ctx.policy.object_column
        && let Some(cell) = row
            .cells()
            .find(|c| c.name.trim().eq_ignore_ascii_case(col))
    {
        let value = cell.text();
        if !value.trim().is_empty() {
            return Some(value.trim().to_string());
        }
    }
    ctx.object_from_file.map(String::from)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    fn synthetic(model: &'static str, source: &'static str) -> Vec<(&'static str, &'static str)> {
        use crate::spec::provenance::{Algorithm, compute};
        let hash = compute(Algorithm::Blake3, &mut [("Body", "x")]).to_string();
        vec![
            ("Body", "x"),
            ("is_synthetic", "TRUE"),
            ("data_source", source),
            ("ai_model_version", model),
            ("generation_timestamp", "2026-01-01T00:00:00Z"),
            ("provenance_hash", Box::leak(hash.into_boxed_str())),
        ]
    }

    #[test]
    fn synthetic_rows_are_held_back_by_default() {
        let row = synthetic("openai/gpt-4o", "ai_generated");
        assert_eq!(codes(&verdict(&row)), "SYNTHETIC_NOT_ALLOWED");
        let allow = policy("[synthetic]\nallow = true\n");
        assert_eq!(codes(&verdict_with(&allow, &row)), "");
        assert_eq!(codes(&verdict(&human(&[]))), "");
    }

    #[test]
    fn per_object_rules_and_the_person_objects() {
        let p = policy(
            "[synthetic]\nallow = true\n[synthetic.objects.case]\nallow = false\n\
             [synthetic.objects.Product_Description]\ntrusted_models = [\"openai/*\"]\n",
        );
        let row = synthetic("openai/gpt-4o", "ai_generated");
        let at = |object| codes(&verdict_for(&p, object, &row));
        assert_eq!(at(None), "");
        assert_eq!(
            at(Some("Case")),
            "SYNTHETIC_NOT_ALLOWED",
            "case-insensitive"
        );
        // Lead and Contact stay closed although allow = true...
        assert_eq!(at(Some("Lead")), "SYNTHETIC_NOT_ALLOWED");
        assert_eq!(at(Some("contact")), "SYNTHETIC_NOT_ALLOWED");
        assert_eq!(at(Some("Product_Description")), "");
        // ...unless the policy names them.
        let open = policy("[synthetic.objects.Lead]\nallow = true\n");
        assert_eq!(codes(&verdict_for(&open, Some("Lead"), &row)), "");
        assert_eq!(
            codes(&verdict_for(&open, Some("Contact"), &row)),
            "SYNTHETIC_NOT_ALLOWED"
        );
    }

    #[test]
    fn trusted_models_and_sources_are_globs() {
        let p = policy(
            "[synthetic]\nallow = true\ntrusted_models = [\"openai/gpt-4o*\", \"anthropic/*\"]\n\
             trusted_sources = [\"vendor:acme\", \"ai_generated\"]\n",
        );
        let check = |m, s| codes(&verdict_with(&p, &synthetic(m, s)));
        assert_eq!(check("openai/gpt-4o-2024-08-06", "vendor:acme"), "");
        assert_eq!(
            check("OpenAI/GPT-4o", "ai_generated"),
            "",
            "case-insensitive"
        );
        assert_eq!(check("anthropic/claude-3-5-sonnet", "vendor:acme"), "");
        assert_eq!(
            check("openai/gpt-3.5-turbo", "vendor:acme"),
            "UNTRUSTED_AI_SOURCE"
        );
        assert_eq!(
            check("openai/gpt-4o", "vendor:shady"),
            "UNTRUSTED_AI_SOURCE"
        );
        // Not allowed and untrusted: both codes.
        let strict = policy("[synthetic]\ntrusted_models = [\"anthropic/*\"]\n");
        assert_eq!(
            codes(&verdict_with(
                &strict,
                &synthetic("openai/gpt-4o", "ai_generated")
            )),
            "UNTRUSTED_AI_SOURCE;SYNTHETIC_NOT_ALLOWED"
        );
        // Human rows are not judged on trust.
        assert_eq!(codes(&verdict_with(&strict, &human(&[]))), "");
    }
}
