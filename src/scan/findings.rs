//! File-level findings: the header's resolution against the policy, missing
//! disclosure columns, target limits, and hints for a wrong delimiter.

use super::Input;
use super::diagnose::alias_hint;
use crate::error::Located;
use crate::error::excerpt;
use crate::input::{Format, Header};
use crate::policy::Policy;
use crate::report::{FileFinding, Tally};
use crate::rules::{Columns, has_control, is_formula};
use crate::spec::{FieldSet, FileCode, Reason};

/// Resolves the CSV header against the policy: a duplicate or an unsafe
/// name is an error; a missing required column is a finding (every row then
/// lacks the value).
pub fn resolve_header(
    header: &Header,
    input: &Input,
    policy: &Policy,
    findings: &mut Vec<FileFinding>,
) -> anyhow::Result<Columns> {
    let refuse = |i: usize, code: FileCode, what: String| {
        let (line, column) = header.position_of(i);
        Located::new(
            &input.path,
            line,
            column,
            format!("{code}: {what}; nothing written"),
        )
    };
    if let Some((i, what)) = unsafe_name(header, policy) {
        return Err(refuse(i, FileCode::HeaderUnsafe, what).into());
    }
    let columns = Columns::resolve(header, policy);
    if let Some((i, dup)) = columns.duplicate() {
        return Err(refuse(i, FileCode::HeaderDuplicate, dup).into());
    }
    findings.extend(missing_columns(&columns, header, input.format, policy));
    media_columns_missing(
        policy,
        |_, name| {
            header
                .names
                .iter()
                .any(|n| n.trim().eq_ignore_ascii_case(name))
        },
        false,
        findings,
    );
    Ok(columns)
}

/// MEDIA_COLUMN_MISSING: the `[media] columns` the file has no column for
/// (with `keys`, that no JSON record has a key for); `has(i, name)` says
/// whether it has the i-th. A misspelt name checks no file and passes every
/// row, so it must be said.
pub fn media_columns_missing(
    policy: &Policy,
    has: impl Fn(usize, &str) -> bool,
    keys: bool,
    findings: &mut Vec<FileFinding>,
) {
    let missing: Vec<String> = (policy.media.columns.iter().enumerate())
        .filter(|(i, name)| !has(*i, name))
        .map(|(_, name)| format!("`{}`", excerpt(name)))
        .collect();
    let (name, them) = match missing.len() {
        0 => return,
        1 => ("that name", "it"),
        _ => ("those names", "them"),
    };
    let lacks = match keys {
        true => format!("no record has a key by {name}"),
        false => format!("the file has no column by {name}"),
    };
    findings.push(FileFinding {
        code: FileCode::MediaColumnMissing,
        message: format!(
            "[media] columns names {}, but {lacks}: no media file is checked through {them}",
            missing.join(", ")
        ),
        fix: Some(format!(
            "spell {them} in [media] columns as the file does, or export the media {}",
            if keys { "keys" } else { "columns" }
        )),
    });
}

/// The first column name a spreadsheet would run as a formula (by the
/// policy's `[injection] mode`), or that holds a control character. The
/// header is the first line of the clean file, so such a file is refused,
/// not warned about, and no row is blamed for it (docs/reason-codes.md).
fn unsafe_name(header: &Header, policy: &Policy) -> Option<(usize, String)> {
    header.names.iter().enumerate().find_map(|(i, name)| {
        let why = if is_formula(name.as_bytes(), policy.injection_mode) {
            "would run as a formula in a spreadsheet (as CSV_INJECTION in a cell)"
        } else if has_control(name.as_bytes()) {
            "holds a control character (as CONTROL_CHARACTER in a cell)"
        } else {
            return None;
        };
        Some((
            i,
            // Raw, as HEADER_DUPLICATE's: the error printer escapes it.
            format!("column {}'s name `{}` {why}", i + 1, excerpt(name)),
        ))
    })
}

/// MISSING_DISCLOSURE_COLUMNS, when the header lacks a required column.
pub fn missing_columns(
    columns: &Columns,
    header: &Header,
    format: Format,
    policy: &Policy,
) -> Option<FileFinding> {
    let missing = columns.missing(policy);
    if missing.is_empty() {
        return None;
    }
    let hint = delimiter_hint(header, format);
    Some(FileFinding {
        code: FileCode::MissingDisclosureColumns,
        message: format!(
            "the header has no column for {}: every row is quarantined with {}{}",
            names(missing),
            Reason::MissingDisclosure,
            hint.as_ref()
                .map(|(_, word)| format!(
                    " (the header is one column holding `{word}`s: try --delimiter {word})"
                ))
                .unwrap_or_default()
        ),
        fix: match hint {
            Some((_, word)) => Some(format!("scan with --delimiter {word}")),
            None => alias_hint(missing, header.names.iter().map(String::as_str), policy),
        },
    })
}

/// A one-column header that holds another Bulk API delimiter is almost
/// always a file read with the wrong one (European Excel writes `;`).
fn delimiter_hint(header: &Header, format: Format) -> Option<(u8, &'static str)> {
    let Format::Csv { delimiter } = format else {
        return None;
    };
    if header.names.len() != 1 {
        return None;
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
}

/// JSON: the required fields no record has a key for. `keys` are the keys
/// of the first records, for the `[aliases]` hint.
pub fn missing_keys_finding<'k>(
    policy: &Policy,
    seen: FieldSet,
    keys: impl Iterator<Item = &'k str> + Clone,
    findings: &mut Vec<FileFinding>,
) {
    let never: FieldSet = policy
        .required
        .iter()
        .filter(|f| !seen.contains(*f))
        .collect();
    if !never.is_empty() {
        findings.push(FileFinding {
            code: FileCode::MissingDisclosureColumns,
            message: format!(
                "no record has a key for {}: every record is quarantined with {}",
                names(never),
                Reason::MissingDisclosure
            ),
            fix: alias_hint(never, keys, policy),
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
            fix: None,
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
