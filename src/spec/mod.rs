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
