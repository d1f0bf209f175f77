//! The domain contract (the shared spec `disclosure.md`, mirrored with crmguard's
//! reading of it in docs/disclosure.md): disclosure fields, reason codes and the
//! provenance hash.

pub mod disclosure;
pub mod provenance;
pub mod reason;

pub use disclosure::{Field, FieldSet};
pub use reason::{FileCode, Reason, ReasonSet};
