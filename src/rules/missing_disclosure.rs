//! MISSING_DISCLOSURE: a required disclosure value is absent or blank. What
//! is required comes from the policy: always, or only on synthetic rows.

use super::{Context, RowView, Verdict};
use crate::spec::Reason;

pub fn check(row: &RowView, ctx: &Context, v: &mut Verdict) {
    let policy = ctx.policy;
    let synthetic = row.synthetic() == Some(true);
    for f in policy
        .required
        .iter()
        .chain(policy.required_when_synthetic.iter().filter(|_| synthetic))
    {
        if row.non_empty(f).is_none() {
            v.missing.insert(f);
        }
    }
    if !v.missing.is_empty() {
        v.add(Reason::MissingDisclosure);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::spec::Field;

    #[test]
    fn required_always() {
        let v = verdict(&[("Name", "x"), ("is_synthetic", "false")]);
        assert_eq!(codes(&v), "MISSING_DISCLOSURE");
        assert_eq!(
            v.missing.iter().collect::<Vec<_>>(),
            vec![Field::DataSource]
        );
        let v = verdict(&[("is_synthetic", "no"), ("data_source", "  ")]);
        assert_eq!(codes(&v), "MISSING_DISCLOSURE", "blank counts as missing");
    }

    #[test]
    fn required_when_synthetic_only_then() {
        let v = verdict(&[("is_synthetic", "true"), ("data_source", "ai_generated")]);
        assert!(v.reasons.contains(crate::spec::Reason::MissingDisclosure));
        assert_eq!(
            v.missing.iter().collect::<Vec<_>>(),
            vec![
                Field::AiModelVersion,
                Field::GenerationTimestamp,
                Field::ProvenanceHash
            ]
        );
        let v = verdict(&human(&[]));
        assert!(v.missing.is_empty());
    }
}
