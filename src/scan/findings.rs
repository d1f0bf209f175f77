//! File-level findings: the header's resolution against the policy, missing
//! disclosure columns, target limits, and hints for a wrong delimiter.

use super::Input;
use crate::error::Located;
use crate::input::{Format, Header};
use crate::policy::Policy;
use crate::report::{FileFinding, Tally};
use crate::rules::Columns;
use crate::spec::{FieldSet, FileCode, Reason};

/// Resolves the CSV header against the policy: a duplicate is an error; a
/// missing required column is a finding (every row then lacks the value).
pub fn resolve_header(
    header: &Header,
    input: &Input,
    policy: &Policy,
    findings: &mut Vec<FileFinding>,
) -> anyhow::Result<Columns> {
    let columns = Columns::resolve(header, policy);
    if let Some(dup) = columns.duplicate() {
        return Err(Located::new(
            &input.path,
            1,
            1,
            format!("{}: {dup}; nothing written", FileCode::HeaderDuplicate),
        )
        .into());
    }
    let missing = columns.missing(policy);
    if !missing.is_empty() {
        findings.push(FileFinding {
            code: FileCode::MissingDisclosureColumns,
            message: format!(
                "the header has no column for {}: every row is quarantined with {}{}",
                names(missing),
                Reason::MissingDisclosure,
                delimiter_hint(header, input.format)
            ),
        });
    }
    Ok(columns)
}

/// A one-column header that holds another Bulk API delimiter is almost
/// always a file read with the wrong one (European Excel writes `;`).
fn delimiter_hint(header: &Header, format: Format) -> String {
    let Format::Csv { delimiter } = format else {
        return String::new();
    };
    if header.names.len() != 1 {
        return String::new();
    }
    let name = &header.names[0];
    [
        (b';', "semicolon"),
        (b'\t', "tab"),
        (b'|', "pipe"),
        (b',', "comma"),
        (b'^', "caret"),
        (b'`', "backquote"),
    ]
    .into_iter()
    .find(|(d, _)| *d != delimiter && name.as_bytes().contains(d))
    .map(|(_, word)| {
        format!(" (the header is one column holding `{word}`s: try --delimiter {word})")
    })
    .unwrap_or_default()
}

pub fn missing_keys_finding(required: FieldSet, seen: FieldSet, findings: &mut Vec<FileFinding>) {
    let never: FieldSet = required.iter().filter(|f| !seen.contains(*f)).collect();
    if !never.is_empty() {
        findings.push(FileFinding {
            code: FileCode::MissingDisclosureColumns,
            message: format!(
                "no record has a key for {}: every record is quarantined with {}",
                names(never),
                Reason::MissingDisclosure
            ),
        });
    }
}

pub fn target_limits(
    policy: &Policy,
    tally: &Tally,
    bytes: u64,
    columns: Option<&Columns>,
    findings: &mut Vec<FileFinding>,
) {
    let mut over = Vec::new();
    if policy.max_file_bytes > 0 && bytes > policy.max_file_bytes {
        over.push(format!("{bytes} bytes (limit {})", policy.max_file_bytes));
    }
    if policy.max_records > 0 && tally.rows_total > policy.max_records {
        over.push(format!(
            "{} records (limit {})",
            tally.rows_total, policy.max_records
        ));
    }
    if let Some(c) = columns
        && policy.max_columns > 0
        && c.len() > policy.max_columns
    {
        over.push(format!(
            "{} columns (limit {})",
            c.len(),
            policy.max_columns
        ));
    }
    if !over.is_empty() {
        findings.push(FileFinding {
            code: FileCode::TargetLimitExceeded,
            message: format!("the file has {}: split it before upload", over.join(", ")),
        });
    }
}

fn names(fields: FieldSet) -> String {
    fields
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
