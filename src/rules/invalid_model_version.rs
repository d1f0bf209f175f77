//! INVALID_MODEL_VERSION: `ai_model_version` must match
//! `^[A-Za-z0-9._:/@+-]+$` (e.g. `openai/gpt-4o-2024-08-06`). The spec gives
//! the pattern but no code for breaking it; this code is crmguard's addition
//! (docs/reason-codes.md says why).

use super::{RowView, Verdict};
use crate::spec::{Field, Reason};

pub fn check(row: &RowView, v: &mut Verdict) {
    if let Some(value) = row.non_empty(Field::AiModelVersion)
        && !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:/@+-".contains(&b))
    {
        v.add(Reason::InvalidModelVersion);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn pattern() {
        let row = |m: &'static str| {
            verdict(&[
                ("is_synthetic", "yes"),
                ("data_source", "ai_generated"),
                ("ai_model_version", m),
                ("generation_timestamp", "2026-01-01T00:00:00Z"),
            ])
        };
        assert!(!codes(&row("openai/gpt-4o-2024-08-06")).contains("INVALID_MODEL_VERSION"));
        assert!(
            !codes(&row("meta-llama/Llama-3.1-8B@v2+q4:gguf")).contains("INVALID_MODEL_VERSION")
        );
        assert!(codes(&row("GPT 4o")).contains("INVALID_MODEL_VERSION"));
        assert!(codes(&row("gpt-4o;drop")).contains("INVALID_MODEL_VERSION"));
        assert!(
            codes(&row("gpt‑4o")).contains("INVALID_MODEL_VERSION"),
            "non-ASCII hyphen"
        );
    }
}
