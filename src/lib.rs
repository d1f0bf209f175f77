//! crmguard: the gate before a CRM import. Validates synthetic-content
//! disclosure (docs/disclosure.md), writes clean and quarantine files
//! byte-faithful to the input, and reports why every row was held back.
//!
//! The binary is a thin shell over this library: [`scan`] does the work on
//! one input; [`cli`] and [`commands`] parse arguments and print.

pub mod audit;
pub mod baseline;
pub mod batch;
pub mod cli;
pub mod commands;
pub mod detector;
pub mod error;
pub mod hooks;
pub mod input;
pub mod media;
pub mod output;
pub mod policy;
pub mod release;
pub mod report;
pub mod rules;
pub mod scan;
pub mod spec;
pub mod terminal;
