//! The domain contract (the shared spec `disclosure.md`, mirrored with crmguard's
//! reading of it in docs/disclosure.md): disclosure fields, reason codes and the
//! provenance hash.

pub mod disclosure;
pub mod provenance;
pub mod reason;

pub use disclosure::{Field, FieldSet};
pub use reason::{FileCode, Reason, ReasonSet};

/// Prefix of the columns and keys crmguard itself adds to outputs.
pub const ADDED_PREFIX: &str = "crmguard_";

/// The columns crmguard appends to a quarantined row, in order.
pub const QUARANTINE_COLUMNS: [&str; 2] = ["crmguard_row", "crmguard_reasons"];
/// Appended after them when the detector runs: why a row was judged
/// machine-written (empty when it was not judged).
pub const AI_COLUMNS: [&str; 2] = ["crmguard_ai_score", "crmguard_ai_signals"];
/// Appended last when media files are checked: which file and which
/// assertion decided the row's media codes.
pub const MEDIA_COLUMN: &str = "crmguard_media";

/// Every column crmguard may add to a quarantined row, in the order it adds
/// them.
pub fn quarantine_added_columns() -> impl Iterator<Item = &'static str> {
    QUARANTINE_COLUMNS
        .into_iter()
        .chain(AI_COLUMNS)
        .chain([MEDIA_COLUMN])
}

/// Whether `name` (trimmed, in any case, as column names compare) is one of
/// the columns crmguard adds to a quarantined row. An input that has one
/// is most likely a quarantine file scanned again, and its quarantine file
/// would hold the column twice, which no loader and no `release` can read.
/// (`Policy::is_added_column` is wider: any `crmguard_` name and the tag
/// columns, which the provenance hash leaves out.)
pub fn is_quarantine_column(name: &str) -> bool {
    let name = name.trim();
    // Every JSON record's every key comes here, on the one thread that
    // writes: one compare turns nearly all of them away.
    let ours = name
        .as_bytes()
        .get(..ADDED_PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(ADDED_PREFIX.as_bytes()));
    ours && quarantine_added_columns().any(|col| name.eq_ignore_ascii_case(col))
}
