//! FIELD_TOO_LONG: a value over the target's limit, counted in characters as
//! Salesforce counts them: the policy's `max_field_chars` (32,000) for every
//! field, 255 for the `data_source` and `ai_model_version` text fields.

use super::{Cell, Context};

/// Whether this cell is over its limit: asked of every cell by
/// `check_cells` (rules/mod.rs), and to point reports at it.
pub fn offends(c: &Cell, ctx: &Context) -> bool {
    let limit = c
        .field
        .and_then(|f| f.max_chars())
        .map_or(ctx.policy.max_field_chars, |l| {
            l.min(ctx.policy.max_field_chars)
        });
    // Characters never outnumber bytes: count only when the bytes could
    // be over.
    c.bytes.len() > limit && c.text().chars().count() > limit
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn limits_in_characters() {
        let long = "é".repeat(32_000);
        let v = verdict(&human(&[("Description", Box::leak(long.into_boxed_str()))]));
        assert_eq!(codes(&v), "", "64,000 bytes but 32,000 characters");
        let longer = "a".repeat(32_001);
        let v = verdict(&human(&[(
            "Description",
            Box::leak(longer.into_boxed_str()),
        )]));
        assert_eq!(codes(&v), "FIELD_TOO_LONG");
    }

    #[test]
    fn disclosure_text_fields_stop_at_255() {
        let source = Box::leak("s".repeat(256).into_boxed_str());
        let v = verdict(&[("is_synthetic", "false"), ("data_source", source)]);
        assert_eq!(codes(&v), "FIELD_TOO_LONG");
    }
}
