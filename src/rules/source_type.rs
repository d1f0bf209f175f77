//! INVALID_SOURCE_TYPE: `digital_source_type`, when present, must be a term
//! of the IPTC digital source type vocabulary (or C2PA's
//! `trainedAlgorithmicData`), as a URI or its last segment. Ambiguous and
//! retired terms are accepted and counted in the report.

use super::{RowView, Verdict};
use crate::spec::disclosure::{SourceKind, classify_source_type};
use crate::spec::{Field, Reason};

pub fn check(row: &RowView, v: &mut Verdict) {
    let Some(value) = row.non_empty(Field::DigitalSourceType) else {
        return;
    };
    match classify_source_type(&value) {
        None => v.add(Reason::InvalidSourceType),
        Some(SourceKind::Ambiguous) => v.notices.ambiguous_source_type = true,
        Some(SourceKind::Retired) => v.notices.retired_source_type = true,
        Some(SourceKind::Ai | SourceKind::NotAi) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn unknown_terms_are_invalid_and_notices_are_kept() {
        let row = |t: &'static str| verdict(&human(&[("digital_source_type", t)]));
        assert_eq!(codes(&row("photoshop")), "INVALID_SOURCE_TYPE");
        assert_eq!(codes(&row("digitalCapture")), "");
        let v = row("composite");
        assert!(v.is_clean() && v.notices.ambiguous_source_type);
        let v = row("http://cv.iptc.org/newscodes/digitalsourcetype/minorHumanEdits");
        assert!(v.is_clean() && v.notices.retired_source_type);
    }
}
