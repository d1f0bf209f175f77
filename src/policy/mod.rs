//! The scan policy: a TOML file (docs/policy.md), validated once and resolved
//! into the lookups the rules use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Located, line_col};
use crate::spec::{Field, FieldSet};

/// The commented policy `crmguard init` writes; also the built-in default.
pub const DEFAULT_POLICY: &str = include_str!("default.toml");

/// The policy file as written: every section and key optional, unknown keys
/// rejected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    version: Option<u32>,
    #[serde(default)]
    disclosure: DisclosureSection,
    #[serde(default)]
    aliases: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    injection: InjectionSection,
    #[serde(default)]
    synthetic: SyntheticSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DisclosureSection {
    required: Vec<String>,
    required_when_synthetic: Vec<String>,
    timestamp_skew_seconds: u64,
}

impl Default for DisclosureSection {
    fn default() -> Self {
        DisclosureSection {
            required: vec!["is_synthetic".into(), "data_source".into()],
            required_when_synthetic: vec![
                "ai_model_version".into(),
                "generation_timestamp".into(),
                "provenance_hash".into(),
            ],
            timestamp_skew_seconds: 300,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimitsSection {
    max_field_chars: usize,
    max_file_bytes: u64,
    max_records: u64,
    max_columns: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_field_chars: 32_000,
            max_file_bytes: 150 * 1024 * 1024,
            max_records: 50_000,
            max_columns: 999,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct InjectionSection {
    exempt_fields: Vec<String>,
}

impl Default for InjectionSection {
    fn default() -> Self {
        let fields = [
            "Phone",
            "MobilePhone",
            "HomePhone",
            "OtherPhone",
            "AssistantPhone",
            "Fax",
            "Amount",
            "AnnualRevenue",
            "ExpectedRevenue",
            "NumberOfEmployees",
            "Probability",
            "Quantity",
            "UnitPrice",
            "TotalPrice",
            "Rating",
        ];
        InjectionSection {
            exempt_fields: fields.map(String::from).to_vec(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct SyntheticSection {
    allow: bool,
}

/// Where the policy came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySource {
    BuiltIn,
    File(PathBuf),
}

/// A validated policy, resolved for the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub source: PolicySource,
    /// blake3 of the policy's bytes (the built-in text when no file is used).
    pub blake3: String,
    pub required: FieldSet,
    pub required_when_synthetic: FieldSet,
    pub timestamp_skew_seconds: u64,
    /// Every accepted column name, lower-cased, with its field.
    aliases: Vec<(String, Field)>,
    pub max_field_chars: usize,
    pub max_file_bytes: u64,
    pub max_records: u64,
    pub max_columns: usize,
    exempt_lower: Vec<String>,
    pub allow_synthetic: bool,
}

impl Policy {
    /// The built-in default: exactly what `crmguard init` writes.
    pub fn builtin() -> Policy {
        Policy::parse(DEFAULT_POLICY, PolicySource::BuiltIn)
            .expect("the built-in policy is valid (tested)")
    }

    /// Loads `path`; errors name the file, line and column.
    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read policy: {e}", path.display()))?;
        let text = String::from_utf8(text).map_err(|e| {
            let (line, col) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            Located::new(path, line, col, "policy is not valid UTF-8")
        })?;
        Ok(Policy::parse(&text, PolicySource::File(path.to_owned()))?)
    }

    fn parse(text: &str, source: PolicySource) -> Result<Policy, Located> {
        let name = match &source {
            PolicySource::BuiltIn => PathBuf::from("<built-in policy>"),
            PolicySource::File(p) => p.clone(),
        };
        let at = |offset: usize, msg: String| {
            let (line, col) = line_col(text.as_bytes(), offset);
            Located::new(&name, line, col, msg)
        };
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            // toml's messages name the problem, not always the key: quote the
            // line it is on.
            let line = text[..offset.min(text.len())]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let snippet = text[line..].lines().next().unwrap_or("").trim();
            let mut msg = e.message().trim().replace('\n', " ");
            if !snippet.is_empty() {
                msg.push_str(&format!(" (in `{snippet}`)"));
            }
            at(offset, msg)
        })?;
        // Values are checked after parsing, so their errors point at the key
        // by searching for it: a good-enough location for a short file.
        let key_at = |key: &str, msg: String| at(text.find(key).unwrap_or(0), msg);

        if let Some(v) = file.version
            && v != 1
        {
            return Err(key_at(
                "version",
                format!("unsupported policy version {v} (this crmguard reads version 1)"),
            ));
        }
        let fields = |key: &str, names: &[String]| -> Result<FieldSet, Located> {
            names
                .iter()
                .map(|n| {
                    Field::from_name(n).ok_or_else(|| {
                        key_at(key, format!("`{key}` names unknown disclosure field `{n}`"))
                    })
                })
                .collect()
        };
        let required = fields("required", &file.disclosure.required)?;
        let required_when_synthetic = fields(
            "required_when_synthetic",
            &file.disclosure.required_when_synthetic,
        )?;

        let mut aliases: Vec<(String, Field)> = Vec::new();
        for f in Field::ALL {
            aliases.push((f.name().to_ascii_lowercase(), f));
            aliases.push((f.salesforce_alias().to_ascii_lowercase(), f));
        }
        for (key, names) in &file.aliases {
            let field = Field::from_name(key).ok_or_else(|| {
                key_at(
                    key,
                    format!("[aliases] names unknown disclosure field `{key}`"),
                )
            })?;
            for n in names {
                let lower = n.trim().to_ascii_lowercase();
                if lower.is_empty() {
                    return Err(key_at(key, format!("[aliases] {key}: empty column name")));
                }
                if let Some((_, other)) = aliases.iter().find(|(a, _)| *a == lower)
                    && *other != field
                {
                    return Err(key_at(
                        n,
                        format!("[aliases] `{n}` is already a name of `{other}`"),
                    ));
                }
                aliases.push((lower, field));
            }
        }
        if file.limits.max_field_chars == 0 {
            return Err(key_at(
                "max_field_chars",
                "max_field_chars must be at least 1".into(),
            ));
        }

        Ok(Policy {
            source,
            blake3: blake3::hash(text.as_bytes()).to_hex().to_string(),
            required,
            required_when_synthetic,
            timestamp_skew_seconds: file.disclosure.timestamp_skew_seconds,
            aliases,
            max_field_chars: file.limits.max_field_chars,
            max_file_bytes: file.limits.max_file_bytes,
            max_records: file.limits.max_records,
            max_columns: file.limits.max_columns,
            exempt_lower: file
                .injection
                .exempt_fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect(),
            allow_synthetic: file.synthetic.allow,
        })
    }

    /// The disclosure field a column name carries, if any (case-insensitive).
    pub fn field_of(&self, column: &str) -> Option<Field> {
        let column = column.trim();
        self.aliases
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(column))
            .map(|(_, f)| *f)
    }

    /// Whether a column is declared numeric/phone for the CSV-injection check.
    pub fn injection_exempt(&self, column: &str) -> bool {
        let column = column.trim();
        self.exempt_lower
            .iter()
            .any(|e| e.eq_ignore_ascii_case(column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Policy, String> {
        Policy::parse(text, PolicySource::File("p.toml".into())).map_err(|e| e.to_string())
    }

    #[test]
    fn builtin_text_equals_serde_defaults() {
        // default.toml documents the defaults: a missing key must mean
        // exactly what the file shows.
        let from_text = Policy::builtin();
        let mut empty = parse("").unwrap();
        assert_ne!(empty.blake3, from_text.blake3);
        empty.source = from_text.source.clone();
        empty.blake3 = from_text.blake3.clone();
        assert_eq!(empty, from_text);
        assert!(from_text.injection_exempt("phone"));
    }

    #[test]
    fn unknown_key_is_named_with_its_location() {
        let err = parse("[synthetic]\nalow = true\n").unwrap_err();
        assert!(err.starts_with("p.toml:2:1: "), "{err}");
        assert!(err.contains("alow"), "{err}");
        let err = parse("[synthetik]\n").unwrap_err();
        assert!(err.contains("synthetik"), "{err}");
    }

    #[test]
    fn unknown_field_names_are_rejected() {
        let err = parse("[disclosure]\nrequired = [\"is_synthetic\", \"source\"]\n").unwrap_err();
        assert!(err.contains("`source`"), "{err}");
        let err = parse("[aliases]\nis_synthtic = [\"X\"]\n").unwrap_err();
        assert!(err.contains("is_synthtic"), "{err}");
        let err = parse("[aliases]\ndata_source = [\"Is_Synthetic__c\"]\n").unwrap_err();
        assert!(err.contains("already a name of `is_synthetic`"), "{err}");
    }

    #[test]
    fn wrong_types_and_versions_are_errors() {
        assert!(parse("[synthetic]\nallow = \"yes\"\n").is_err());
        assert!(parse("version = 2\n").unwrap_err().contains("version 2"));
        assert!(parse("[limits]\nmax_field_chars = 0\n").is_err());
        assert!(parse("[limits]\nmax_field_chars = -1\n").is_err());
    }

    #[test]
    fn aliases_match_case_insensitively() {
        let p = parse("[aliases]\nis_synthetic = [\"AI_Flag__c\"]\n").unwrap();
        assert_eq!(p.field_of("ai_flag__C"), Some(Field::IsSynthetic));
        assert_eq!(p.field_of("IS_SYNTHETIC__C"), Some(Field::IsSynthetic));
        assert_eq!(p.field_of("Data_Source__c"), Some(Field::DataSource));
        assert_eq!(p.field_of("Description"), None);
    }

    #[test]
    fn policy_hash_follows_the_bytes() {
        assert_ne!(parse("").unwrap().blake3, parse("\n").unwrap().blake3);
    }
}
