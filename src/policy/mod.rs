//! The scan policy: a TOML file (docs/policy.md), validated once and resolved
//! into the lookups the rules use.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::excerpt;
use crate::spec::{Field, FieldSet};

mod cleanup;
mod detector;
mod discover;
mod edit;
mod file;
mod media;
mod parse;
mod release;

pub use cleanup::{CleanupAction, CleanupPolicy, Part as TagPart, render as render_tag};
pub use detector::DetectorPolicy;
pub use discover::{POLICY_FILE, repository_root};
pub use edit::{CalibratedKeys, set_calibrated};
pub use media::MediaPolicy;
pub use release::DEFAULT_NEVER as DEFAULT_NEVER_RELEASE;

/// The commented policy `crmguard init` writes; also the built-in default.
pub const DEFAULT_POLICY: &str = include_str!("default.toml");

/// `[limits] max_record_bytes` unless the policy says otherwise: 16 MiB.
/// Above every CRM's own limit for one record (Salesforce's Bulk API takes
/// at most 400,000 characters a record, 1.6 MB in UTF-8 at worst, and 10 MB
/// a batch), so no importable record is refused; small enough that a
/// reader's memory, a few times this, stays in the tens of megabytes when a
/// hostile file (a decompression bomb, one endless field) has no end.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 16 << 20;

/// Which cells CSV_INJECTION flags (`[injection] mode`, docs/policy.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InjectionMode {
    /// `=` always; `+ - @` only when what follows can evaluate: a function
    /// call, a DDE link, a cell reference or arithmetic.
    #[default]
    Formula,
    /// OWASP's rule: any cell starting with `= + - @`, tab or CR.
    Strict,
}

/// Glob patterns as written, and compiled (case-insensitive).
#[derive(Debug, Clone)]
pub struct Patterns {
    pub text: Vec<String>,
    set: globset::GlobSet,
}

impl PartialEq for Patterns {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Patterns {
    /// Compiles the patterns; an error says which is malformed, or that
    /// they are too many or too long to compile.
    fn compile(text: &[String]) -> Result<Patterns, String> {
        let mut b = globset::GlobSetBuilder::new();
        for t in text {
            let glob = globset::GlobBuilder::new(t)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|e| format!("bad glob `{}`: {}", excerpt(t), e.kind()))?;
            b.add(glob);
        }
        // Each glob is checked above; what fails here is the automaton for
        // them all, whose size the regex engine caps ("error building NFA").
        let set = b.build().map_err(|e| {
            let bytes: usize = text.iter().map(String::len).sum();
            format!(
                "{} glob{} of {bytes} bytes in all are too large to compile together ({}): \
                 use fewer or shorter patterns",
                text.len(),
                if text.len() == 1 { "" } else { "s" },
                excerpt(&e.kind().to_string())
            )
        })?;
        Ok(Patterns {
            text: text.to_vec(),
            set,
        })
    }

    pub fn matches(&self, value: &str) -> bool {
        self.set.is_match(value.trim())
    }
}

/// What the policy says about synthetic rows bound for one target object.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticRule {
    pub allow: bool,
    /// `None`: any model (or source) is trusted.
    pub trusted_models: Option<Patterns>,
    pub trusted_sources: Option<Patterns>,
}

/// Column names for the tags the clean output can carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tagging {
    pub scan_id: Option<String>,
    pub ai_score: Option<String>,
    pub checked_at: Option<String>,
}

impl Tagging {
    /// The tag columns, in the order they are appended.
    pub fn columns(&self) -> impl Iterator<Item = (TagKind, &str)> {
        [
            (TagKind::ScanId, self.scan_id.as_deref()),
            (TagKind::AiScore, self.ai_score.as_deref()),
            (TagKind::CheckedAt, self.checked_at.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, n)| n.map(|n| (k, n)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    ScanId,
    AiScore,
    CheckedAt,
}

impl TagKind {
    /// Its key in `[tagging]`.
    pub fn key(self) -> &'static str {
        match self {
            TagKind::ScanId => "scan_id",
            TagKind::AiScore => "ai_score",
            TagKind::CheckedAt => "checked_at",
        }
    }
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
    /// How the policy was chosen, for the report: `--policy`,
    /// `CRMGUARD_POLICY`, `discovered` or `built-in`.
    pub found_by: &'static str,
    /// blake3 of the policy's bytes (the built-in text when no file is used).
    pub blake3: String,
    pub required: FieldSet,
    pub required_when_synthetic: FieldSet,
    pub timestamp_skew_seconds: u64,
    /// Every accepted column name, lower-cased, with its field.
    aliases: Vec<(String, Field)>,
    /// The largest record a reader takes (line ending not counted); a larger
    /// one is an error, read no further than the limit.
    pub max_record_bytes: usize,
    pub max_field_chars: usize,
    pub max_file_bytes: u64,
    pub max_records: u64,
    pub max_columns: usize,
    exempt_lower: Vec<String>,
    pub injection_mode: InjectionMode,
    /// For objects without a rule of their own.
    pub synthetic: SyntheticRule,
    /// Per target object, names lower-cased.
    synthetic_objects: Vec<(String, SyntheticRule)>,
    /// Target objects whose disclosed synthetic rows wait for an approver
    /// (APPROVAL_REQUIRED), names trimmed.
    require_approval: Vec<String>,
    /// Reasons `crmguard release` refuses to release.
    pub never_release: crate::spec::ReasonSet,
    pub media: MediaPolicy,
    pub cleanup: CleanupPolicy,
    /// A column naming each row's target object.
    pub object_column: Option<String>,
    /// File-name globs naming a file's target object, first match wins.
    object_files: Vec<(Patterns, String)>,
    /// `None`: the clean output is byte-faithful, no tag columns.
    pub tagging: Option<Tagging>,
    pub detector: DetectorPolicy,
}

impl Policy {
    /// Where a key of this policy was set, for an error about the file it
    /// names (`[detector] model in ./crmguard.toml`): a policy's relative
    /// path is read from the policy's folder, not the working directory.
    pub fn key_in(&self, key: &str) -> String {
        match &self.source {
            PolicySource::File(p) => format!("{key} in {}", p.display()),
            PolicySource::BuiltIn => key.to_string(),
        }
    }

    /// The built-in default: exactly what `crmguard init` writes.
    pub fn builtin() -> Policy {
        Policy::parse(DEFAULT_POLICY, PolicySource::BuiltIn)
            .expect("the built-in policy is valid (tested)")
    }

    /// Loads `path`; errors name the file, line and column.
    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = crate::input::read_small_file(path, crate::input::MAX_POLICY_BYTES, "policy")?;
        let text = crate::error::utf8_text(path, text, "policy is not valid UTF-8")?;
        Ok(Policy::parse(&text, PolicySource::File(path.to_owned()))?)
    }

    /// The synthetic-content rule for rows bound for `object` (its own rule
    /// if the policy has one, case-insensitively; else the default).
    pub fn synthetic_rule(&self, object: Option<&str>) -> &SyntheticRule {
        object
            .and_then(|o| {
                let o = o.trim();
                self.synthetic_objects
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(o))
            })
            .map_or(&self.synthetic, |(_, r)| r)
    }

    /// Whether disclosed synthetic rows bound for `object` need an
    /// approver (`[synthetic] require_approval`, case-insensitive).
    pub fn requires_approval(&self, object: Option<&str>) -> bool {
        object.is_some_and(|o| {
            self.require_approval
                .iter()
                .any(|n| n.eq_ignore_ascii_case(o.trim()))
        })
    }

    /// The target object a file name implies, by the policy's `[objects]
    /// files` patterns.
    pub fn object_for_file(&self, file_name: &str) -> Option<&str> {
        self.object_files
            .iter()
            .find(|(p, _)| p.matches(file_name))
            .map(|(_, o)| o.as_str())
    }

    /// Whether a column is one crmguard adds (its own or a tag column): not
    /// content, so outside the provenance hash.
    pub fn is_added_column(&self, name: &str) -> bool {
        name.starts_with(crate::spec::ADDED_PREFIX)
            || self
                .tagging
                .as_ref()
                .is_some_and(|t| t.columns().any(|(_, n)| n.eq_ignore_ascii_case(name)))
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
