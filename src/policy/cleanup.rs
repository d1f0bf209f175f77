//! `[cleanup]`: what `scan --cleanup-plan` proposes for each quarantined
//! record of a CRM export: tag it or delete it, and the tag fields' values.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{Located, excerpt};
use crate::spec::{Reason, ReasonSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CleanupAction {
    Tag,
    Delete,
}

impl CleanupAction {
    pub fn name(self) -> &'static str {
        match self {
            CleanupAction::Tag => "tag",
            CleanupAction::Delete => "delete",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct CleanupSection {
    id_column: String,
    default_action: CleanupAction,
    actions: BTreeMap<String, CleanupAction>,
    tag: BTreeMap<String, String>,
}

impl Default for CleanupSection {
    fn default() -> Self {
        CleanupSection {
            id_column: "Id".into(),
            default_action: CleanupAction::Tag,
            actions: BTreeMap::new(),
            tag: BTreeMap::from([
                ("Crmguard_Reasons__c".into(), "{reasons}".into()),
                ("Crmguard_Scan_Id__c".into(), "{scan_id}".into()),
            ]),
        }
    }
}

/// A piece of a tag value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// `{scan_id}`: the scan's id, as in the report and the audit log.
    ScanId,
    /// `{reasons}`: the row's codes joined by `;`.
    Reasons,
    /// `{checked_at}`: the scan time, as Salesforce datetime.
    CheckedAt,
}

/// `[cleanup]`, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanupPolicy {
    /// The column (or JSON key) holding the CRM record's Id.
    pub id_column: String,
    default_action: CleanupAction,
    actions: Vec<(Reason, CleanupAction)>,
    /// Tag fields, in name order, with their values.
    pub tag: Vec<(String, Vec<Part>)>,
}

impl CleanupPolicy {
    /// The action for a row with these reasons: delete when any of them
    /// says delete (its own action, else the default), else tag.
    pub fn action(&self, reasons: ReasonSet) -> CleanupAction {
        let of = |r: Reason| {
            self.actions
                .iter()
                .find(|(c, _)| *c == r)
                .map_or(self.default_action, |(_, a)| *a)
        };
        match reasons.iter().any(|r| of(r) == CleanupAction::Delete) {
            true => CleanupAction::Delete,
            false => CleanupAction::Tag,
        }
    }
}

/// Renders a tag value.
pub fn render(parts: &[Part], scan_id: &str, reasons: &str, checked_at: &str) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.as_str(),
            Part::ScanId => scan_id,
            Part::Reasons => reasons,
            Part::CheckedAt => checked_at,
        })
        .collect()
}

/// A CRM field's API name: a letter, then letters, digits and `_`.
fn is_field_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(value: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (text, after) = match rest.find('{') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        // The plan is written without quoting, so that it splits with
        // plain tools (docs/cleanup.md): no value may need quotes.
        if let Some(c) = text
            .chars()
            .find(|c| matches!(c, ',' | '"' | '\r' | '\n' | '}'))
        {
            return Err(format!("{c:?} is not allowed in a tag value"));
        }
        if !text.is_empty() {
            parts.push(Part::Text(text.to_string()));
        }
        let Some(after) = after else { break };
        let end = after.find('}').ok_or("an unclosed `{`")?;
        parts.push(match &after[..=end] {
            "{scan_id}" => Part::ScanId,
            "{reasons}" => Part::Reasons,
            "{checked_at}" => Part::CheckedAt,
            other => {
                return Err(format!(
                    "unknown placeholder `{}` (use {{scan_id}}, {{reasons}}, {{checked_at}})",
                    excerpt(other)
                ));
            }
        });
        rest = &after[end + 1..];
    }
    Ok(parts)
}

pub(super) fn resolve(
    c: &CleanupSection,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<CleanupPolicy, Located> {
    let id_column = c.id_column.trim().to_string();
    if id_column.is_empty() {
        return Err(key_at("id_column", "[cleanup] id_column is empty".into()));
    }
    let mut actions = Vec::new();
    for (code, action) in &c.actions {
        let reason = Reason::from_code(code.trim()).ok_or_else(|| {
            key_at(
                code,
                format!(
                    "[cleanup] actions: `{}` is not a row reason code",
                    excerpt(code)
                ),
            )
        })?;
        actions.push((reason, *action));
    }
    let mut tag = Vec::new();
    for (field, value) in &c.tag {
        if !is_field_name(field) || field.eq_ignore_ascii_case("id") || field == "action" {
            return Err(key_at(
                field,
                format!(
                    "[cleanup] tag: `{}` is not a field name a plan can carry",
                    excerpt(field)
                ),
            ));
        }
        let parts = parse_value(value)
            .map_err(|e| key_at(field, format!("[cleanup] tag {}: {e}", excerpt(field))))?;
        tag.push((field.clone(), parts));
    }
    let tags = c.default_action == CleanupAction::Tag
        || actions.iter().any(|(_, a)| *a == CleanupAction::Tag);
    if tags && tag.is_empty() {
        return Err(key_at(
            "[cleanup]",
            "[cleanup] tags rows but `tag` names no field to set".into(),
        ));
    }
    Ok(CleanupPolicy {
        id_column,
        default_action: c.default_action,
        actions,
        tag,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Policy, PolicySource};

    fn parse(text: &str) -> Result<Policy, String> {
        Policy::parse(text, PolicySource::BuiltIn).map_err(|e| e.to_string())
    }

    #[test]
    fn actions_per_reason_and_delete_wins() {
        let p = parse("[cleanup]\nactions = { UNDISCLOSED_AI_TEXT = \"delete\" }\n")
            .unwrap()
            .cleanup;
        let set = |rs: &[Reason]| rs.iter().copied().collect::<ReasonSet>();
        assert_eq!(
            p.action(set(&[Reason::SyntheticNotAllowed])),
            CleanupAction::Tag
        );
        assert_eq!(
            p.action(set(&[Reason::UndisclosedAiText, Reason::CsvInjection])),
            CleanupAction::Delete
        );
        let all = parse(
            "[cleanup]\ndefault_action = \"delete\"\nactions = { CSV_INJECTION = \"tag\" }\n",
        )
        .unwrap()
        .cleanup;
        assert_eq!(all.action(set(&[Reason::CsvInjection])), CleanupAction::Tag);
        assert_eq!(
            all.action(set(&[Reason::CsvInjection, Reason::FieldTooLong])),
            CleanupAction::Delete
        );
    }

    #[test]
    fn tag_values_stay_plain() {
        let p = parse("").unwrap().cleanup;
        let values: Vec<String> = p
            .tag
            .iter()
            .map(|(f, parts)| format!("{f}={}", render(parts, "S1", "A;B", "T")))
            .collect();
        assert_eq!(
            values,
            ["Crmguard_Reasons__c=A;B", "Crmguard_Scan_Id__c=S1"]
        );
        let p = parse("[cleanup]\ntag = { Status__c = \"ai:{reasons}@{checked_at}\" }\n").unwrap();
        assert_eq!(render(&p.cleanup.tag[0].1, "S", "R", "T"), "ai:R@T");
        for bad in ["a,b", "say \\\"x\\\"", "{nope}", "{reasons", "x}"] {
            let err = parse(&format!("[cleanup]\ntag = {{ F__c = \"{bad}\" }}\n")).unwrap_err();
            assert!(err.contains("[cleanup] tag F__c"), "{bad}: {err}");
        }
        assert!(parse("[cleanup]\ntag = { \"Bad Name\" = \"x\" }\n").is_err());
        assert!(
            parse("[cleanup]\ntag = {}\n")
                .unwrap_err()
                .contains("names no field")
        );
        assert!(parse("[cleanup]\ndefault_action = \"delete\"\ntag = {}\n").is_ok());
        assert!(parse("[cleanup]\nactions = { NOPE = \"tag\" }\n").is_err());
        assert!(parse("[cleanup]\ndefault_action = \"purge\"\n").is_err());
    }
}
