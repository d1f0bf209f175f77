//! From a policy's text to a [`Policy`]: the TOML parse, then each section
//! validated and resolved into the lookups the rules use. Every error names
//! the policy file, line and column; sections are checked in a fixed order,
//! so a policy with several mistakes always reports the same one first.

use std::path::PathBuf;

use super::file::{ObjectSection, ObjectsSection, PolicyFile, SyntheticSection, TaggingSection};
use super::{
    Patterns, Policy, PolicySource, SyntheticRule, Tagging, cleanup, detector, media, release,
};
use crate::error::{Located, excerpt, line_col};
use crate::spec::{Field, FieldSet};

/// Target objects that never take synthetic rows unless a policy names
/// them: a synthetic person in a CRM is inaccurate personal data (GDPR Art.
/// 5(1)(d)).
const PERSON_OBJECTS: [&str; 2] = ["Lead", "Contact"];

impl Policy {
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
        let file = parse_toml(text, at)?;
        // Values are checked after parsing, so their errors point at the key
        // by searching for it: a good-enough location for a short file.
        let key_at = |key: &str, msg: String| at(find_key(text, key), msg);

        check_version(file.version, key_at)?;
        let required = fields("required", &file.disclosure.required, key_at)?;
        let required_when_synthetic = fields(
            "required_when_synthetic",
            &file.disclosure.required_when_synthetic,
            key_at,
        )?;
        let aliases = aliases(&file, key_at)?;
        let (synthetic, synthetic_objects) = synthetic_rules(&file.synthetic, key_at)?;
        let (object_files, object_column) = objects(&file.objects, key_at)?;
        let tagging = match &file.tagging {
            None => None,
            Some(t) => Some(tagging(t, key_at)?),
        };
        let detector = detector::resolve(&file.detector, &source, key_at)?;
        at_least_one(
            file.limits.max_record_bytes,
            "max_record_bytes",
            ": it bounds the memory a record takes",
            key_at,
        )?;
        let media = media::resolve(&file.media, &source, key_at)?;
        let never_release = release::resolve(&file.release, key_at)?;
        let cleanup = cleanup::resolve(&file.cleanup, key_at)?;
        let require_approval = (file.synthetic.require_approval.iter())
            .map(|o| o.trim().to_string())
            .filter(|o| !o.is_empty())
            .collect();
        at_least_one(
            file.limits.max_field_chars as u64,
            "max_field_chars",
            "",
            key_at,
        )?;

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
            exempt_lower: (file.injection.exempt_fields.iter())
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
}

/// Only version 1 is read; a policy may leave `version` out.
fn check_version(
    version: Option<u32>,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<(), Located> {
    match version {
        Some(v) if v != 1 => Err(key_at(
            "version",
            format!("unsupported policy version {v} (this crmguard reads version 1)"),
        )),
        _ => Ok(()),
    }
}

/// A `[limits]` key that must not be 0; `why` ends the message.
fn at_least_one(
    value: u64,
    key: &str,
    why: &str,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<(), Located> {
    if value == 0 {
        return Err(key_at(key, format!("{key} must be at least 1{why}")));
    }
    Ok(())
}

/// The TOML parse, whose errors quote the line they are on.
fn parse_toml(text: &str, at: impl Fn(usize, String) -> Located) -> Result<PolicyFile, Located> {
    toml::from_str(text).map_err(|e| {
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
    })
}

/// The disclosure fields a `[disclosure]` list names.
fn fields(
    key: &str,
    names: &[String],
    key_at: impl Fn(&str, String) -> Located,
) -> Result<FieldSet, Located> {
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
}

/// Every accepted column name, lower-cased, with its field: each field's
/// own name and Salesforce alias, then `[aliases]`. A name may not stand
/// for two fields.
fn aliases(
    file: &PolicyFile,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<Vec<(String, Field)>, Located> {
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
    Ok(aliases)
}

/// Compiled globs of a list; `None` for an empty list (anything goes).
fn patterns(
    key: &str,
    list: &[String],
    key_at: impl Fn(&str, String) -> Located,
) -> Result<Option<Patterns>, Located> {
    if list.is_empty() {
        return Ok(None);
    }
    Patterns::compile(list)
        .map(Some)
        .map_err(|e| key_at(key, format!("`{key}`: {e}")))
}

/// `[synthetic]`: the rule for objects without one of their own, and each
/// object's rule (names lower-cased), people's objects refusing synthetic
/// rows unless the policy names them.
fn synthetic_rules(
    syn: &SyntheticSection,
    key_at: impl Fn(&str, String) -> Located + Copy,
) -> Result<(SyntheticRule, Vec<(String, SyntheticRule)>), Located> {
    let synthetic = SyntheticRule {
        allow: syn.allow,
        trusted_models: patterns("trusted_models", &syn.trusted_models, key_at)?,
        trusted_sources: patterns("trusted_sources", &syn.trusted_sources, key_at)?,
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
        // A person's object takes synthetic rows only by its own `allow =
        // true`: a table that names it to set trusted models must not let the
        // top-level `allow` in (docs/policy.md).
        let person = PERSON_OBJECTS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name.trim()));
        let rule = SyntheticRule {
            allow: o.allow.unwrap_or(synthetic.allow && !person),
            trusted_models: match &o.trusted_models {
                Some(l) => patterns("trusted_models", l, key_at)?,
                None => synthetic.trusted_models.clone(),
            },
            trusted_sources: match &o.trusted_sources {
                Some(l) => patterns("trusted_sources", l, key_at)?,
                None => synthetic.trusted_sources.clone(),
            },
        };
        synthetic_objects.push((lower, rule));
    }
    Ok((synthetic, synthetic_objects))
}

/// File-name globs, each with the target object it names.
type ObjectFiles = Vec<(Patterns, String)>;

/// `[objects]`: the file-name globs naming a file's target object, and the
/// column naming each row's.
fn objects(
    objects: &ObjectsSection,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<(ObjectFiles, Option<String>), Located> {
    let mut object_files = Vec::new();
    for f in &objects.files {
        let p = Patterns::compile(std::slice::from_ref(&f.pattern))
            .map_err(|e| key_at("files", format!("[objects] files: {e}")))?;
        object_files.push((p, f.object.trim().to_string()));
    }
    let object_column = (objects.column.as_deref())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from);
    Ok((object_files, object_column))
}

/// `[tagging]`: at least one tag column, each a safe header name, none
/// twice.
fn tagging(
    t: &TaggingSection,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<Tagging, Located> {
    let tags = Tagging {
        scan_id: t.scan_id.clone(),
        ai_score: t.ai_score.clone(),
        checked_at: t.checked_at.clone(),
    };
    let columns: Vec<(super::TagKind, &str)> = tags.columns().collect();
    let names: Vec<&str> = columns.iter().map(|&(_, n)| n).collect();
    if names.is_empty() {
        return Err(key_at(
            "[tagging]",
            "[tagging] names no tag column (scan_id, ai_score, checked_at)".into(),
        ));
    }
    for (i, &(kind, n)) in columns.iter().enumerate() {
        if let Some(why) = bad_tag_name(n) {
            // Raw: the error printer escapes it.
            return Err(key_at(
                kind.key(),
                format!(
                    "[tagging] {}: bad column name `{}`: {why}",
                    kind.key(),
                    excerpt(n)
                ),
            ));
        }
        if names[..i].iter().any(|m| m.eq_ignore_ascii_case(n)) {
            return Err(key_at(n, format!("[tagging] uses `{}` twice", excerpt(n))));
        }
    }
    Ok(tags)
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
    // A value (a column name, an object) is a short word: found anywhere,
    // `a` was the one in `[tagging]` and `lead` the one in a comment above
    // its table, so the error named a line that does not hold it.
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = &line[..comment_start(line)];
        if let Some(i) = find_word(code, key) {
            return offset + i;
        }
        offset += line.len();
    }
    text.find(key).unwrap_or(0)
}

/// Where a line's comment starts (its length if it has none): the first `#`
/// outside a basic or literal string.
fn comment_start(line: &str) -> usize {
    let mut quote = None;
    let mut escaped = false;
    for (i, b) in line.bytes().enumerate() {
        match (quote, b) {
            (Some(b'"'), b'\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), _) if b == q && !escaped => quote = None,
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'#') => return i,
            _ => {}
        }
        escaped = false;
    }
    line.len()
}

/// The first occurrence of `word` in `code` that is not part of a longer
/// name.
fn find_word(code: &str, word: &str) -> Option<usize> {
    let name = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    code.match_indices(word).map(|(i, _)| i).find(|&i| {
        !word.is_empty()
            && !name(code[..i].chars().next_back())
            && !name(code[i + word.len()..].chars().next())
    })
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
    } else if crate::spec::is_quarantine_column(n) {
        // A clean file tagged with it reads as a quarantine file: scanned
        // again it is refused as one, and `release` would take it for one.
        Some("crmguard adds a column of that name to quarantined rows")
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
        // At the key's own line, named.
        let err = parse("[tagging]\nscan_id = \"ok\"\nai_score = \"=x\"\n").unwrap_err();
        assert!(
            err.starts_with("p.toml:3:1: [tagging] ai_score: bad column name"),
            "{err}"
        );
        let t = parse("[tagging]\nscan_id = \"Crmguard_Scan_Id__c\"\n").unwrap();
        assert!(t.is_added_column("crmguard_scan_id__c"));
        assert!(t.is_added_column("crmguard_row"));
        assert!(!t.is_added_column("Description"));
        assert!(parse("").unwrap().tagging.is_none());
    }

    #[test]
    fn a_tag_column_is_not_named_as_a_quarantine_column() {
        for name in ["crmguard_row", "CRMGUARD_REASONS", "crmguard_ai_score"] {
            let err = parse(&format!("[tagging]\nscan_id = \"{name}\"\n")).unwrap_err();
            assert!(err.starts_with("p.toml:2:1: "), "{err}");
            assert!(err.contains("adds a column of that name"), "{err}");
        }
        // The names docs/policy.md suggests share only the prefix.
        assert!(parse("[tagging]\nscan_id = \"Crmguard_Scan_Id__c\"\n").is_ok());
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
    fn values_are_found_where_they_are_set_not_in_comments_or_longer_names() {
        let line = |text: &str| {
            parse(text)
                .unwrap_err()
                .split(':')
                .nth(1)
                .unwrap()
                .to_string()
        };
        // `a` is in `[tagging]` too.
        assert_eq!(line("[tagging]\nscan_id = \"A\"\nai_score = \"a\"\n"), "3");
        assert_eq!(
            line("# lead rules\n[synthetic.objects.Lead]\n[synthetic.objects.lead]\n"),
            "3"
        );
        assert_eq!(
            line("# x\n[aliases]\nis_synthetic = [\"x\"] # x\ndata_source = [\"X\"]\n"),
            "3"
        );
        // A `#` in a string starts no comment.
        assert_eq!(comment_start("a = \"#x\\\"#\" # c"), 12);
        assert_eq!(comment_start("a = '#\\' # c"), 9);
        assert_eq!(find_word("[tagging] a", "a"), Some(10));
        assert_eq!(find_word("lead", ""), None);
    }

    #[test]
    fn policy_hash_follows_the_bytes() {
        assert_ne!(parse("").unwrap().blake3, parse("\n").unwrap().blake3);
    }
}
