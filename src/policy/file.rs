//! The policy file as written (docs/policy.md): every section and key
//! optional, unknown keys rejected, defaults as `default.toml` shows them.
//! [`super::parse`] validates and resolves it into a [`super::Policy`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::detector::DetectorSection;
use super::{DEFAULT_MAX_RECORD_BYTES, InjectionMode, cleanup, media, release};

/// The policy file as written: every section and key optional, unknown keys
/// rejected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub(super) version: Option<u32>,
    #[serde(default)]
    pub(super) disclosure: DisclosureSection,
    #[serde(default)]
    pub(super) aliases: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub(super) limits: LimitsSection,
    #[serde(default)]
    pub(super) injection: InjectionSection,
    #[serde(default)]
    pub(super) synthetic: SyntheticSection,
    #[serde(default)]
    pub(super) objects: ObjectsSection,
    pub(super) tagging: Option<TaggingSection>,
    #[serde(default)]
    pub(super) detector: DetectorSection,
    #[serde(default)]
    pub(super) media: media::MediaSection,
    #[serde(default)]
    pub(super) release: release::ReleaseSection,
    #[serde(default)]
    pub(super) cleanup: cleanup::CleanupSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default, expecting = "a table of keys")]
pub(super) struct DisclosureSection {
    pub(super) required: Vec<String>,
    pub(super) required_when_synthetic: Vec<String>,
    pub(super) timestamp_skew_seconds: u64,
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
#[serde(deny_unknown_fields, default, expecting = "a table of keys")]
pub(super) struct LimitsSection {
    pub(super) max_record_bytes: u64,
    pub(super) max_field_chars: usize,
    pub(super) max_file_bytes: u64,
    pub(super) max_records: u64,
    pub(super) max_columns: usize,
}

impl Default for LimitsSection {
    fn default() -> Self {
        LimitsSection {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_field_chars: 32_000,
            max_file_bytes: 150 * 1024 * 1024,
            max_records: 50_000,
            max_columns: 999,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default, expecting = "a table of keys")]
pub(super) struct InjectionSection {
    pub(super) mode: InjectionMode,
    pub(super) exempt_fields: Vec<String>,
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
            mode: InjectionMode::default(),
            exempt_fields: fields.map(String::from).to_vec(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default, expecting = "a table of keys")]
pub(super) struct SyntheticSection {
    pub(super) allow: bool,
    pub(super) trusted_models: Vec<String>,
    pub(super) trusted_sources: Vec<String>,
    pub(super) require_approval: Vec<String>,
    pub(super) objects: BTreeMap<String, ObjectSection>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(
    deny_unknown_fields,
    expecting = "a table of keys such as { allow = true }"
)]
pub(super) struct ObjectSection {
    pub(super) allow: Option<bool>,
    pub(super) trusted_models: Option<Vec<String>>,
    pub(super) trusted_sources: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default, expecting = "a table of keys")]
pub(super) struct ObjectsSection {
    pub(super) column: Option<String>,
    pub(super) files: Vec<FilePattern>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table { pattern = \"...\", object = \"...\" }"
)]
pub(super) struct FilePattern {
    pub(super) pattern: String,
    pub(super) object: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a table of keys")]
pub(super) struct TaggingSection {
    pub(super) scan_id: Option<String>,
    pub(super) ai_score: Option<String>,
    pub(super) checked_at: Option<String>,
}
