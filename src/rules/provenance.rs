//! PROVENANCE_INVALID and PROVENANCE_MISMATCH: a `provenance_hash`, when
//! present, must be well-formed and cover fields the row has, and must equal
//! the hash recomputed from the row (spec v1, blake3 or sha256).

use std::borrow::Cow;

use super::{Kind, RowView, Verdict};
use crate::spec::provenance::{Algorithm, ProvenanceHash, compute, listed_fields};
use crate::spec::{Field, Reason};

pub fn check(row: &RowView, v: &mut Verdict) {
    let Some(value) = row.non_empty(Field::ProvenanceHash) else {
        return;
    };
    let Some(claimed) = ProvenanceHash::parse(&value) else {
        v.add(Reason::ProvenanceInvalid);
        return;
    };
    match hash_row(row, claimed.algorithm) {
        Ok(actual) if actual == claimed => {}
        Ok(_) => v.add(Reason::ProvenanceMismatch),
        Err(_) => v.add(Reason::ProvenanceInvalid),
    }
}

/// The provenance hash of a row as the spec defines it: what a producer
/// writes (`crmguard hash`) and what a scan compares against. The error
/// names a field listed in `ai_generated_fields` that the row lacks.
pub fn hash_row(row: &RowView, algorithm: Algorithm) -> Result<ProvenanceHash, String> {
    let numbers = row.number_texts();
    let cells: Vec<(&str, Cow<str>, bool)> = row
        .cells()
        .map(|c| {
            let text = match numbers.get(c.name) {
                Some(written) if c.kind == Kind::Number => Cow::Borrowed(written.as_str()),
                _ => c.text(),
            };
            (c.name, text, c.field.is_none() && !c.added)
        })
        .collect();
    let listed = row.non_empty(Field::AiGeneratedFields);
    match covered(&cells, listed.as_deref()) {
        Ok(mut pairs) => Ok(compute(algorithm, &mut pairs)),
        Err(missing) => Err(missing.to_string()),
    }
}

/// The `(name, value)` pairs the hash covers: the fields `listed` in
/// `ai_generated_fields`, else every content column (`cells` holds name,
/// text, and whether the column is content). The error is a listed name
/// that is not a column of the row.
fn covered<'c, 'l>(
    cells: &'c [(&'c str, Cow<'c, str>, bool)],
    listed: Option<&'l str>,
) -> Result<Vec<(&'c str, &'c str)>, &'l str> {
    match listed {
        Some(list) => listed_fields(list)
            .into_iter()
            .map(|name| {
                cells
                    .iter()
                    .find(|(n, _, _)| *n == name)
                    .map(|(n, text, _)| (*n, &**text))
                    .ok_or(name)
            })
            .collect(),
        None => Ok(cells
            .iter()
            .filter(|(_, _, content)| *content)
            .map(|(n, text, _)| (*n, &**text))
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    const GOOD: &str = "blake3:06f3b4d1c437c399c73a0b55b59f6d19873bb2a00f7239760f90bb4905f5ce36";

    fn row(hash: &'static str, extra: &[(&'static str, &'static str)]) -> String {
        let mut pairs = vec![
            ("Subject", "Great blender"),
            (
                "Description",
                "This blender is a testament to modern kitchen design.",
            ),
            ("Is_Synthetic__c", "true"),
            ("Data_Source__c", "ai_generated"),
            ("AI_Model_Version__c", "openai/gpt-4o"),
            ("Generation_Timestamp__c", "2026-01-01T00:00:00Z"),
            ("Provenance_Hash__c", hash),
            ("crmguard_reasons", "ignored: added by crmguard"),
        ];
        pairs.extend_from_slice(extra);
        let mut policy = crate::policy::Policy::builtin();
        policy.synthetic.allow = true;
        codes(&verdict_with(&policy, &pairs))
    }

    #[test]
    fn matching_hash_over_content_columns() {
        assert_eq!(row(GOOD, &[]), "");
        assert_eq!(
            row(
                "sha256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674a",
                &[]
            ),
            ""
        );
    }

    #[test]
    fn edited_content_mismatches() {
        assert_eq!(row(GOOD, &[("Rating", "5")]), "PROVENANCE_MISMATCH");
        let tampered = "blake3:16f3b4d1c437c399c73a0b55b59f6d19873bb2a00f7239760f90bb4905f5ce36";
        assert_eq!(row(tampered, &[]), "PROVENANCE_MISMATCH");
    }

    #[test]
    fn listed_fields_limit_the_coverage() {
        assert_eq!(
            row(
                GOOD,
                &[
                    ("Rating", "5"),
                    ("AI_Generated_Fields__c", "Subject;Description")
                ]
            ),
            ""
        );
        assert_eq!(
            row(GOOD, &[("AI_Generated_Fields__c", "Subject;Body")]),
            "PROVENANCE_INVALID"
        );
    }

    #[test]
    fn malformed_hash_is_invalid() {
        assert_eq!(row("blake3:xyz", &[]), "PROVENANCE_INVALID");
        assert_eq!(
            row("md5:06f3b4d1c437c399c73a0b55b59f6d19", &[]),
            "PROVENANCE_INVALID"
        );
    }
}
