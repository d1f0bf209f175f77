//! `[release]`: which quarantine reasons `crmguard release` never releases.

use serde::Deserialize;

use crate::error::{Located, excerpt};
use crate::spec::{Reason, ReasonSet};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct ReleaseSection {
    never: Vec<String>,
}

/// Reasons no approver can overrule: rows that would break the import or
/// the CRM (malformed, not UTF-8, formulas, control characters, too long),
/// rows whose content changed after generation, and media that is
/// tampered with or absent. The judgement calls (synthetic content, the
/// detector, disclosure values) are the approver's to make.
pub const DEFAULT_NEVER: [Reason; 9] = [
    Reason::MalformedRow,
    Reason::EncodingInvalid,
    Reason::CsvInjection,
    Reason::ControlCharacter,
    Reason::FieldTooLong,
    Reason::ProvenanceInvalid,
    Reason::ProvenanceMismatch,
    Reason::MediaProvenanceInvalid,
    Reason::MediaMissing,
];

impl Default for ReleaseSection {
    fn default() -> Self {
        ReleaseSection {
            never: DEFAULT_NEVER.iter().map(|r| r.code().to_string()).collect(),
        }
    }
}

pub(super) fn resolve(
    r: &ReleaseSection,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<ReasonSet, Located> {
    r.never
        .iter()
        .map(|code| {
            Reason::from_code(code.trim()).ok_or_else(|| {
                key_at(
                    "never",
                    format!(
                        "[release] never: `{}` is not a row reason code (docs/reason-codes.md)",
                        excerpt(code)
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::policy::{Policy, PolicySource};
    use crate::spec::Reason;

    #[test]
    fn never_lists_reason_codes() {
        let p = |t: &str| Policy::parse(t, PolicySource::BuiltIn).map_err(|e| e.to_string());
        let default = p("").unwrap().never_release;
        assert!(default.contains(Reason::CsvInjection));
        assert!(!default.contains(Reason::ApprovalRequired));
        let own = p("[release]\nnever = [\"CSV_INJECTION\"]\n")
            .unwrap()
            .never_release;
        assert_eq!(own.joined(), "CSV_INJECTION");
        let err = p("[release]\nnever = [\"CSV_INJECTON\"]\n").unwrap_err();
        assert!(
            err.contains("`CSV_INJECTON` is not a row reason code"),
            "{err}"
        );
    }
}
