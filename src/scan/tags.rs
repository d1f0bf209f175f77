//! What crmguard adds to rows: the `[tagging]` columns of clean rows, the
//! scan id they carry, and the detector's score as written.

use std::path::{Path, PathBuf};

use crate::error::Located;
use crate::input::Row;
use crate::output::TagValue;
use crate::policy::{Policy, TagKind};
use crate::rules::Verdict;

/// The detector's score as crmguard writes it: three decimals, empty when
/// the row was not judged.
pub fn ai_score(verdict: &Verdict) -> TagValue {
    match verdict.ai_score() {
        Some(score) => TagValue::Number(score),
        None => TagValue::Null,
    }
}

/// A short id for one file's scan, shared by the report, the tags and the
/// audit log: unique across runs (time, process) and inputs (path).
pub fn new_scan_id(path: &Path, started_at: jiff::Timestamp) -> String {
    let mut h = blake3::Hasher::new();
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(&started_at.as_nanosecond().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.finalize().to_hex()[..20].to_string()
}

/// Builds the `[tagging]` values of clean rows.
pub struct Tagger {
    pub names: Vec<String>,
    kinds: Vec<TagKind>,
    scan_id: String,
    checked_at: String,
    path: PathBuf,
}

impl Tagger {
    pub fn new(policy: &Policy, scan_id: &str, scan_time: jiff::Timestamp, path: &Path) -> Tagger {
        let (kinds, names) = policy
            .tagging
            .iter()
            .flat_map(|t| t.columns())
            .map(|(k, n)| (k, n.to_string()))
            .unzip();
        Tagger {
            names,
            kinds,
            scan_id: scan_id.to_string(),
            // Salesforce's datetime format: yyyy-MM-ddTHH:mm:ss.SSSZ.
            checked_at: scan_time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            path: path.to_owned(),
        }
    }

    /// Refuses a JSON record that already holds a key crmguard adds to a
    /// quarantined record: as a CSV header with such a column is refused
    /// (HEADER_DUPLICATE), since the quarantine file would hold the key twice.
    pub fn check_added_keys(&self, row: &Row) -> Result<(), Located> {
        let crate::input::Content::Object(map) = &row.content else {
            return Ok(());
        };
        match map.keys().find(|k| crate::spec::is_quarantine_column(k)) {
            None => Ok(()),
            Some(key) => Err(Located::new(
                &self.path,
                row.line,
                1,
                format!(
                    "{}: record {} has the key `{}`, as a key crmguard adds to quarantined \
                     records: is this the quarantine file of an earlier scan? Drop crmguard's \
                     keys before scanning it again; nothing written",
                    crate::spec::FileCode::HeaderDuplicate,
                    row.number,
                    crate::error::excerpt(key)
                ),
            )),
        }
    }

    pub fn values(
        &self,
        row: &Row,
        verdict: &Verdict,
        out: &mut Vec<TagValue>,
    ) -> Result<(), Located> {
        out.clear();
        if self.kinds.is_empty() {
            return Ok(());
        }
        if let crate::input::Content::Object(map) = &row.content
            && let Some(name) = self
                .names
                .iter()
                .find(|n| map.keys().any(|k| k.trim().eq_ignore_ascii_case(n)))
        {
            return Err(Located::new(
                &self.path,
                row.line,
                1,
                format!(
                    "record {} already has the tag key `{name}` ([tagging]); was this file tagged by an earlier scan?",
                    row.number
                ),
            ));
        }
        for kind in &self.kinds {
            out.push(match kind {
                TagKind::ScanId => TagValue::Text(self.scan_id.clone()),
                TagKind::CheckedAt => TagValue::Text(self.checked_at.clone()),
                TagKind::AiScore => ai_score(verdict),
            });
        }
        Ok(())
    }
}
