//! The domain contract (`../shared/spec/disclosure.md`, mirrored in docs/):
//! disclosure fields, reason codes and the provenance hash.

pub mod disclosure;
pub mod provenance;
pub mod reason;

pub use disclosure::{Field, FieldSet};
pub use reason::{FileCode, Reason, ReasonSet};
