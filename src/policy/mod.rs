//! The scan policy: a TOML file (docs/policy.md), validated once and resolved
//! into the lookups the rules use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Located, excerpt, line_col};
use crate::spec::{Field, FieldSet};

mod cleanup;
mod detector;
mod discover;
mod media;
mod release;

pub use cleanup::{CleanupAction, CleanupPolicy, Part as TagPart, render as render_tag};
pub use detector::DetectorPolicy;
use detector::DetectorSection;
pub use discover::repository_root;
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
    #[serde(default)]
    objects: ObjectsSection,
    tagging: Option<TaggingSection>,
    #[serde(default)]
    detector: DetectorSection,
    #[serde(default)]
    media: media::MediaSection,
    #[serde(default)]
    release: release::ReleaseSection,
    #[serde(default)]
    cleanup: cleanup::CleanupSection,
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
    max_record_bytes: u64,
    max_field_chars: usize,
    max_file_bytes: u64,
    max_records: u64,
    max_columns: usize,
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
#[serde(deny_unknown_fields, default)]
struct InjectionSection {
    mode: InjectionMode,
    exempt_fields: Vec<String>,
}

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
#[serde(deny_unknown_fields, default)]
struct SyntheticSection {
    allow: bool,
    trusted_models: Vec<String>,
    trusted_sources: Vec<String>,
    require_approval: Vec<String>,
    objects: BTreeMap<String, ObjectSection>,
}

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct ObjectSection {
    allow: Option<bool>,
    trusted_models: Option<Vec<String>>,
    trusted_sources: Option<Vec<String>>,
}

/// Target objects that never take synthetic rows unless a policy names
/// them: a synthetic person in a CRM is inaccurate personal data (GDPR Art.
/// 5(1)(d)).
const PERSON_OBJECTS: [&str; 2] = ["Lead", "Contact"];

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ObjectsSection {
    column: Option<String>,
    files: Vec<FilePattern>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePattern {
    pattern: String,
    object: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TaggingSection {
    scan_id: Option<String>,
    ai_score: Option<String>,
    checked_at: Option<String>,
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
    /// The built-in default: exactly what `crmguard init` writes.
    pub fn builtin() -> Policy {
        Policy::parse(DEFAULT_POLICY, PolicySource::BuiltIn)
            .expect("the built-in policy is valid (tested)")
    }

    /// Loads `path`; errors name the file, line and column.
    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = crate::input::read_small_file(path, crate::input::MAX_POLICY_BYTES, "policy")?;
        let text = String::from_utf8(text).map_err(|e| {
            let (line, col) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            Located::new(path, line, col, "policy is not valid UTF-8")
        })?;
        Ok(Policy::parse(&text, PolicySource::File(path.to_owned()))?)
    }

    /// Parses a policy's text; `source` is where it came from, for errors and
    /// the report.
    pub fn parse(text: &str, source: PolicySource) -> Result<Policy, Located> {
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
            // Either can hold a key or value megabytes long.
            let mut msg = excerpt(&e.message().trim().replace('\n', " ")).into_owned();
            if !snippet.is_empty() {
                msg.push_str(&format!(" (in `{}`)", excerpt(snippet)));
            }
            at(offset, msg)
        })?;
        // Values are checked after parsing, so their errors point at the key
        // by searching for it: a good-enough location for a short file.
        let key_at = |key: &str, msg: String| at(find_key(text, key), msg);

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
                        key_at(
                            key,
                            format!("`{key}` names unknown disclosure field `{}`", excerpt(n)),
                        )
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
        // A map for the check, since a policy can list a hundred thousand
        // names; a search of the list for each was quadratic.
        let mut field_of_alias: std::collections::HashMap<String, Field> =
            aliases.iter().cloned().collect();
        for (key, names) in &file.aliases {
            let field = Field::from_name(key).ok_or_else(|| {
                key_at(
                    key,
                    format!(
                        "[aliases] names unknown disclosure field `{}`",
                        excerpt(key)
                    ),
                )
            })?;
            for n in names {
                let lower = n.trim().to_ascii_lowercase();
                if lower.is_empty() {
                    return Err(key_at(
                        key,
                        format!("[aliases] {}: empty column name", excerpt(key)),
                    ));
                }
                if let Some(other) = field_of_alias.get(&lower)
                    && *other != field
                {
                    return Err(key_at(
                        n,
                        format!("[aliases] `{}` is already a name of `{other}`", excerpt(n)),
                    ));
                }
                field_of_alias.insert(lower.clone(), field);
                aliases.push((lower, field));
            }
        }
        let patterns = |key: &str, list: &[String]| -> Result<Option<Patterns>, Located> {
            if list.is_empty() {
                return Ok(None);
            }
            Patterns::compile(list)
                .map(Some)
                .map_err(|e| key_at(key, format!("`{key}`: {e}")))
        };
        let syn = &file.synthetic;
        let synthetic = SyntheticRule {
            allow: syn.allow,
            trusted_models: patterns("trusted_models", &syn.trusted_models)?,
            trusted_sources: patterns("trusted_sources", &syn.trusted_sources)?,
        };
        let mut synthetic_objects: Vec<(String, SyntheticRule)> = Vec::new();
        let mut object_names = std::collections::HashSet::new();
        let mut objects = syn.objects.clone();
        for person in PERSON_OBJECTS {
            if !objects.keys().any(|k| k.eq_ignore_ascii_case(person)) {
                objects.insert(
                    person.to_string(),
                    ObjectSection {
                        allow: Some(false),
                        ..ObjectSection::default()
                    },
                );
            }
        }
        for (name, o) in &objects {
            let lower = name.trim().to_ascii_lowercase();
            if !object_names.insert(lower.clone()) {
                return Err(key_at(
                    name,
                    format!(
                        "[synthetic.objects] names `{}` twice (names are case-insensitive)",
                        excerpt(name)
                    ),
                ));
            }
            let rule = SyntheticRule {
                allow: o.allow.unwrap_or(synthetic.allow),
                trusted_models: match &o.trusted_models {
                    Some(l) => patterns("trusted_models", l)?,
                    None => synthetic.trusted_models.clone(),
                },
                trusted_sources: match &o.trusted_sources {
                    Some(l) => patterns("trusted_sources", l)?,
                    None => synthetic.trusted_sources.clone(),
                },
            };
            synthetic_objects.push((lower, rule));
        }
        let mut object_files = Vec::new();
        for f in &file.objects.files {
            let p = Patterns::compile(std::slice::from_ref(&f.pattern))
                .map_err(|e| key_at("files", format!("[objects] files: {e}")))?;
            object_files.push((p, f.object.trim().to_string()));
        }
        let object_column = file
            .objects
            .column
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from);
        let tagging = match &file.tagging {
            None => None,
            Some(t) => {
                let tags = Tagging {
                    scan_id: t.scan_id.clone(),
                    ai_score: t.ai_score.clone(),
                    checked_at: t.checked_at.clone(),
                };
                let names: Vec<&str> = tags.columns().map(|(_, n)| n).collect();
                if names.is_empty() {
                    return Err(key_at(
                        "[tagging]",
                        "[tagging] names no tag column (scan_id, ai_score, checked_at)".into(),
                    ));
                }
                for (i, n) in names.iter().enumerate() {
                    if let Some(why) = bad_tag_name(n) {
                        // Raw: the error printer escapes it.
                        return Err(key_at(
                            "[tagging]",
                            format!("[tagging]: bad column name `{}`: {why}", excerpt(n)),
                        ));
                    }
                    if names[..i].iter().any(|m| m.eq_ignore_ascii_case(n)) {
                        return Err(key_at(n, format!("[tagging] uses `{}` twice", excerpt(n))));
                    }
                }
                Some(tags)
            }
        };
        let detector = detector::resolve(&file.detector, &source, key_at)?;
        if file.limits.max_record_bytes == 0 {
            return Err(key_at(
                "max_record_bytes",
                "max_record_bytes must be at least 1: it bounds the memory a record takes".into(),
            ));
        }
        let media = media::resolve(&file.media, &source, key_at)?;
        let never_release = release::resolve(&file.release, key_at)?;
        let cleanup = cleanup::resolve(&file.cleanup, key_at)?;
        let require_approval = syn
            .require_approval
            .iter()
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        if file.limits.max_field_chars == 0 {
            return Err(key_at(
                "max_field_chars",
                "max_field_chars must be at least 1".into(),
            ));
        }

        Ok(Policy {
            found_by: match source {
                PolicySource::BuiltIn => "built-in",
                PolicySource::File(_) => "--policy",
            },
            source,
            blake3: blake3::hash(text.as_bytes()).to_hex().to_string(),
            required,
            required_when_synthetic,
            timestamp_skew_seconds: file.disclosure.timestamp_skew_seconds,
            aliases,
            max_record_bytes: usize::try_from(file.limits.max_record_bytes).unwrap_or(usize::MAX),
            max_field_chars: file.limits.max_field_chars,
            max_file_bytes: file.limits.max_file_bytes,
            max_records: file.limits.max_records,
            max_columns: file.limits.max_columns,
            injection_mode: file.injection.mode,
            exempt_lower: file
                .injection
                .exempt_fields
                .iter()
                .map(|f| f.trim().to_ascii_lowercase())
                .collect(),
            synthetic,
            synthetic_objects,
            require_approval,
            never_release,
            media,
            cleanup,
            object_column,
            object_files,
            tagging,
            detector,
        })
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

/// Where `key` is set in a policy's text: the first line that starts with
/// it as a key (`key =`, `[key]`), else its first occurrence anywhere (a
/// value, an inline table), else the start. A plain substring search would
/// find `threshold` inside `review_threshold`, or in a comment.
fn find_key(text: &str, key: &str) -> usize {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && (key.starts_with('[') || rest.trim_start().starts_with('='))
        {
            return offset + (line.len() - trimmed.len());
        }
        offset += line.len();
    }
    text.find(key).unwrap_or(0)
}

/// Why a `[tagging]` column name cannot head a column of the clean file,
/// if it cannot: as for a header name (HEADER_UNSAFE), a name a spreadsheet
/// would run or a control character would reach the CRM in its first line.
/// OWASP's prefixes, whatever `[injection] mode`: the admin picks this name,
/// so nothing human is lost by being strict. (Checked here, not by the
/// rules module, which depends on the policy.)
fn bad_tag_name(n: &str) -> Option<&'static str> {
    if n.trim().is_empty() || n.trim() != n {
        Some("empty, or with spaces around it")
    } else if n.bytes().any(|b| b < 0x20 || b == 0x7f) {
        Some("it holds a control character")
    } else if n.starts_with(['=', '+', '-', '@']) {
        Some("a spreadsheet would read it as a formula")
    } else {
        None
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
        empty.found_by = from_text.found_by;
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
    fn objects_tagging_and_globs_are_validated() {
        let p = parse(
            "[objects]\ncolumn = \"Object__c\"\nfiles = [{ pattern = \"*lead*\", object = \"Lead\" }]\n",
        )
        .unwrap();
        assert_eq!(p.object_column.as_deref(), Some("Object__c"));
        assert_eq!(p.object_for_file("Leads-2026.csv"), Some("Lead"));
        assert_eq!(p.object_for_file("cases.ndjson"), None);
        assert!(
            parse("[synthetic]\ntrusted_models = [\"a[\"]\n")
                .unwrap_err()
                .contains("bad glob")
        );
        assert!(
            parse("[synthetic.objects.Lead]\nallw = true\n")
                .unwrap_err()
                .contains("allw")
        );
        assert!(
            parse("[synthetic.objects.a]\n[synthetic.objects.A]\n")
                .unwrap_err()
                .contains("twice")
        );
        assert!(parse("[tagging]\n").unwrap_err().contains("no tag column"));
        // A tag column heads a column of the clean file: as a header name.
        for (name, why) in [
            ("=cmd|' /C calc'!A0", "formula"),
            ("@x", "formula"),
            ("tag\\u001b[31m", "control character"),
            (" x", "spaces"),
        ] {
            let err = parse(&format!("[tagging]\nscan_id = \"{name}\"\n")).unwrap_err();
            assert!(err.contains(why), "{name}: {err}");
        }
        assert!(
            parse("[tagging]\nscan_id = \"X\"\nai_score = \"x\"\n")
                .unwrap_err()
                .contains("twice")
        );
        let t = parse("[tagging]\nscan_id = \"Crmguard_Scan_Id__c\"\n").unwrap();
        assert!(t.is_added_column("crmguard_scan_id__c"));
        assert!(t.is_added_column("crmguard_row"));
        assert!(!t.is_added_column("Description"));
        assert!(parse("").unwrap().tagging.is_none());
    }

    #[test]
    fn keys_are_found_where_they_are_set() {
        let text = "# threshold: see docs\n[detector]\nreview_threshold = 0.5\n  threshold = 0.4\n";
        let err = parse(text).unwrap_err();
        assert!(err.starts_with("p.toml:3:1: "), "{err}");
        assert_eq!(
            find_key(text, "threshold"),
            text.find("  threshold").unwrap() + 2
        );
        assert_eq!(find_key(text, "[detector]"), text.find('[').unwrap());
        // Not a key on any line: the first occurrence.
        assert_eq!(find_key("a = \"x\"\n", "x"), 5);
    }

    #[test]
    fn policy_hash_follows_the_bytes() {
        assert_ne!(parse("").unwrap().blake3, parse("\n").unwrap().blake3);
    }
}
