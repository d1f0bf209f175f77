//! The cleanup plan of a scan (`scan --cleanup-plan`): for each
//! quarantined record of a CRM export, its Id, the policy's action and the
//! tag values (docs/cleanup.md). The plan holds nothing of a row but its
//! Id; a quarantined row without a usable Id is counted and listed by
//! number in the report instead.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use anyhow::{Context as _, bail};

use crate::error::Located;
use crate::input::{Content, Header, Row};
use crate::output::{CleanupWriter, Finished};
use crate::policy::{CleanupAction, CleanupPolicy, render_tag};
use crate::report::{CleanupInfo, REVIEW_LISTED};
use crate::spec::ReasonSet;

/// Where a row's Id is.
enum IdColumn {
    Csv(usize),
    /// JSON: the key, matched case-insensitively per record.
    Key(String),
}

pub struct Plan<'a> {
    writer: CleanupWriter,
    policy: &'a CleanupPolicy,
    id: IdColumn,
    scan_id: String,
    checked_at: String,
    /// One entry per Id, written when the scan ends: an export can hold a
    /// record twice, and two lines for one Id would have the admin tag and
    /// delete it, or apply one action and lose the other's reasons. Only
    /// quarantined rows get here, so a mostly clean export holds little.
    records: HashMap<Box<str>, Record>,
    /// Quarantined rows with a usable Id, duplicates included.
    rows_with_id: u64,
    info: CleanupInfo,
}

struct Record {
    /// Where its Id first appeared among the plan's Ids: the plan keeps the
    /// export's order, whatever the number of threads.
    first: u64,
    /// Every reason of every row with this Id.
    reasons: ReasonSet,
}

/// A CRM record Id as the plan carries it: letters and digits (Salesforce's
/// 15 or 18, HubSpot's numbers), nothing to quote.
fn usable(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl<'a> Plan<'a> {
    /// Starts the plan at `path`. A CSV input must have the Id column.
    pub fn create(
        path: &Path,
        policy: &'a CleanupPolicy,
        header: Option<&Header>,
        input: &Path,
        scan_id: &str,
        scan_time: jiff::Timestamp,
    ) -> anyhow::Result<Plan<'a>> {
        let id = match header {
            Some(h) => {
                let Some(i) = h
                    .names
                    .iter()
                    .position(|n| n.trim().eq_ignore_ascii_case(&policy.id_column))
                else {
                    bail!(Located::new(
                        input,
                        1,
                        1,
                        format!(
                            "--cleanup-plan: the header has no `{}` column ([cleanup] id_column): \
                             export the records with their Id",
                            policy.id_column
                        ),
                    ));
                };
                IdColumn::Csv(i)
            }
            None => IdColumn::Key(policy.id_column.clone()),
        };
        let fields: Vec<&str> = policy.tag.iter().map(|(f, _)| f.as_str()).collect();
        let writer = CleanupWriter::create(path, &fields)
            .with_context(|| format!("{}: cannot create", crate::terminal::path(path)))?;
        Ok(Plan {
            writer,
            policy,
            id,
            scan_id: scan_id.to_string(),
            checked_at: scan_time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            records: HashMap::new(),
            rows_with_id: 0,
            info: CleanupInfo {
                id_column: policy.id_column.clone(),
                ..CleanupInfo::default()
            },
        })
    }

    fn id_of<'r>(&self, row: &'r Row) -> Option<std::borrow::Cow<'r, str>> {
        let value = match (&self.id, &row.content) {
            (IdColumn::Csv(i), Content::Csv { .. }) => {
                std::borrow::Cow::Borrowed(std::str::from_utf8(row.csv_field(*i)?).ok()?)
            }
            (IdColumn::Key(k), Content::Object(map)) => {
                let (_, v) = map
                    .iter()
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case(k))?;
                match v {
                    // `true` is letters, but a boolean is no record's Id: the
                    // plan would tag or delete a record named "true".
                    serde_json::Value::String(_) => crate::rules::json_text(v).0,
                    serde_json::Value::Number(n) if n.is_u64() => crate::rules::json_text(v).0,
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(value).filter(|v| usable(v.trim()))
    }

    /// Adds a quarantined row: a new Id, or more reasons for one already in
    /// the plan.
    pub fn add(&mut self, row: &Row, reasons: ReasonSet) {
        let Some(id) = self.id_of(row) else {
            self.info.without_id += 1;
            if self.info.rows_without_id.len() < REVIEW_LISTED {
                self.info.rows_without_id.push(row.number);
            }
            return;
        };
        self.rows_with_id += 1;
        let id = id.trim();
        if let Some(r) = self.records.get_mut(id) {
            r.reasons = r.reasons.union(reasons);
            return;
        }
        let first = self.records.len() as u64;
        self.records.insert(id.into(), Record { first, reasons });
    }

    /// Writes the plan, one line per Id in the order Ids first appeared. A
    /// record is deleted when any reason of any of its rows says delete.
    pub fn finish(mut self) -> io::Result<(Finished, CleanupInfo)> {
        let mut records: Vec<(Box<str>, Record)> = self.records.drain().collect();
        records.sort_unstable_by_key(|(_, r)| r.first);
        let mut values = Vec::with_capacity(self.policy.tag.len());
        for (id, r) in records {
            let delete = self.policy.action(r.reasons) == CleanupAction::Delete;
            let joined = r.reasons.joined();
            values.clear();
            for (_, parts) in &self.policy.tag {
                values.push(render_tag(parts, &self.scan_id, &joined, &self.checked_at));
            }
            self.writer.write(&id, delete, &values)?;
        }
        let mut info = self.info;
        info.tag = self.writer.tag;
        info.delete = self.writer.delete;
        info.rows = info.tag + info.delete;
        info.duplicates = self.rows_with_id - info.rows;
        Ok((self.writer.finish()?, info))
    }
}

#[cfg(test)]
mod tests {
    use super::usable;

    #[test]
    fn ids_are_plain() {
        assert!(usable("001Ho00000AbCdEfGH"));
        assert!(usable("12345"));
        for bad in ["", "a,b", "00Q\"x", "a b", &"x".repeat(65)] {
            assert!(!usable(bad), "{bad:?}");
        }
    }
}
