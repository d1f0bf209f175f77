//! `[media]`: the columns naming media files, and how they are checked.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::PolicySource;
use crate::error::{Located, excerpt};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct MediaSection {
    columns: Vec<String>,
    max_file_bytes: u64,
    trust_anchors: Option<PathBuf>,
}

/// Larger files are not read. A product photo or a CRM attachment is a few
/// megabytes; the bound keeps a worker's memory and time per file in check
/// (the C2PA reader hashes the whole file to validate it).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;

impl Default for MediaSection {
    fn default() -> Self {
        MediaSection {
            columns: Vec::new(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            trust_anchors: None,
        }
    }
}

/// How media files are checked (`[media]`).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaPolicy {
    /// Columns (or JSON keys) naming a media file per row, matched
    /// case-insensitively; empty: no media checks.
    pub columns: Vec<String>,
    pub max_file_bytes: u64,
    /// PEM certificates whose C2PA signers count as trusted, resolved
    /// against the policy file's directory.
    pub trust_anchors: Option<PathBuf>,
}

pub(super) fn resolve(
    m: &MediaSection,
    source: &PolicySource,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<MediaPolicy, Located> {
    let mut columns: Vec<String> = Vec::new();
    for c in &m.columns {
        let c = c.trim();
        if c.is_empty() {
            return Err(key_at("columns", "[media] columns: an empty name".into()));
        }
        if columns.iter().any(|o| o.eq_ignore_ascii_case(c)) {
            return Err(key_at(
                "columns",
                format!("[media] columns names `{}` twice", excerpt(c)),
            ));
        }
        columns.push(c.to_string());
    }
    if m.max_file_bytes == 0 {
        return Err(key_at(
            "max_file_bytes",
            "[media] max_file_bytes must be at least 1".into(),
        ));
    }
    Ok(MediaPolicy {
        columns,
        max_file_bytes: m.max_file_bytes,
        trust_anchors: m
            .trust_anchors
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| match (source, p.is_relative()) {
                (PolicySource::File(f), true) => f.parent().unwrap_or(Path::new("")).join(p),
                _ => p.clone(),
            }),
    })
}

#[cfg(test)]
mod tests {
    use crate::policy::{Policy, PolicySource};

    fn parse(text: &str) -> Result<Policy, String> {
        Policy::parse(text, PolicySource::File("dir/p.toml".into())).map_err(|e| e.to_string())
    }

    #[test]
    fn media_keys() {
        let p = parse("").unwrap();
        assert!(p.media.columns.is_empty());
        assert_eq!(p.media.max_file_bytes, super::DEFAULT_MAX_FILE_BYTES);
        let p = parse(
            "[media]\ncolumns = [\" PathOnClient \", \"Image__c\"]\ntrust_anchors = \"ca.pem\"\n",
        )
        .unwrap();
        assert_eq!(p.media.columns, ["PathOnClient", "Image__c"]);
        assert_eq!(
            p.media.trust_anchors.unwrap(),
            std::path::Path::new("dir/ca.pem")
        );
        let err = parse("[media]\ncolumns = [\"a\", \"A\"]\n").unwrap_err();
        assert!(err.contains("twice"), "{err}");
        assert!(parse("[media]\nmax_file_bytes = 0\n").is_err());
        assert!(
            parse("[media]\ncolumn = []\n")
                .unwrap_err()
                .contains("column")
        );
    }
}
