//! The integration tests: each module runs the real binary on one concern.
//!
//! One test binary, not one per file: each binary links the whole crate and
//! its dependencies again, and `cargo test` runs binaries one after another.
//! Linked once, the tests build faster and share the cores as they run.
//! `cargo test --test it MODULE::NAME` runs one.

mod common;

mod audit;
mod audit_v1;
mod calibrate;
mod cleanup;
mod cli;
mod commit;
mod detector;
mod diagnose;
mod docs;
mod files;
mod findings;
mod formats;
mod guarantees;
mod hash;
mod integrate;
mod limits;
mod media;
mod names;
mod parquet;
mod release;
mod report_merge;
mod reports;
mod review;
mod rules;
mod sync_filters;
mod tagging;
mod terminal;
