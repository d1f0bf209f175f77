//! DISCLOSURE_INCONSISTENT: the disclosure fields contradict each other. A
//! row that says it is human but names a model, lists AI-generated fields,
//! comes from `ai_generated`, or carries an AI source type; or a row that
//! says it is synthetic with a capture/human source type.

use super::{RowView, Verdict};
use crate::spec::disclosure::{SourceKind, classify_source_type};
use crate::spec::{Field, Reason};

pub fn check(row: &RowView, v: &mut Verdict) {
    let Some(synthetic) = row.synthetic() else {
        return;
    };
    let source_kind = row
        .non_empty(Field::DigitalSourceType)
        .and_then(|v| classify_source_type(&v));
    let contradicts = if synthetic {
        source_kind == Some(SourceKind::NotAi)
    } else {
        source_kind == Some(SourceKind::Ai)
            || row.non_empty(Field::AiModelVersion).is_some()
            || row.non_empty(Field::AiGeneratedFields).is_some()
            || row
                .non_empty(Field::DataSource)
                .is_some_and(|s| s.trim().eq_ignore_ascii_case("ai_generated"))
    };
    if contradicts {
        v.add(Reason::DisclosureInconsistent);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn human_rows_must_not_carry_ai_evidence() {
        let row = |extra: &[(&'static str, &'static str)]| codes(&verdict(&human(extra)));
        assert_eq!(row(&[("digital_source_type", "digitalCapture")]), "");
        assert_eq!(
            row(&[("digital_source_type", "trainedAlgorithmicMedia")]),
            "DISCLOSURE_INCONSISTENT"
        );
        assert_eq!(
            row(&[("ai_model_version", "gpt-4o")]),
            "DISCLOSURE_INCONSISTENT"
        );
        assert_eq!(
            row(&[("ai_generated_fields", "Name")]),
            "DISCLOSURE_INCONSISTENT"
        );
        let v = verdict(&[("is_synthetic", "0"), ("data_source", "AI_Generated")]);
        assert_eq!(codes(&v), "DISCLOSURE_INCONSISTENT");
    }

    #[test]
    fn synthetic_rows_must_not_claim_capture() {
        let v = verdict(&[
            ("is_synthetic", "1"),
            ("data_source", "ai_generated"),
            ("digital_source_type", "digitalCapture"),
        ]);
        assert!(codes(&v).contains("DISCLOSURE_INCONSISTENT"));
        let v = verdict(&[
            ("is_synthetic", "1"),
            ("data_source", "ai_generated"),
            ("digital_source_type", "trainedAlgorithmicMedia"),
        ]);
        assert!(!codes(&v).contains("DISCLOSURE_INCONSISTENT"));
    }
}
