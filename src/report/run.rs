//! The run's report: every input's per-file report, the first quarantined
//! rows of each reason, and totals. Each `--report FORMAT=PATH` renders this
//! one value (schema in docs/run-report.schema.json).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::Report;
use super::samples::Samples;

/// Version of the run report's schema; bumped on any incompatible change.
pub const RUN_REPORT_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub schema: u32,
    pub crmguard_version: &'static str,
    pub started_at: String,
    /// The exit status the run ends with.
    pub exit_status: u8,
    /// What the exit status was judged on (`--fail-on`).
    pub fail_on: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
    pub totals: Totals,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineInfo {
    pub path: PathBuf,
    /// Distinct rows the baseline records.
    pub rows: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub files: u64,
    pub files_scanned: u64,
    /// Files that could not be scanned (exit status 2); they have no
    /// outputs.
    pub files_failed: u64,
    pub rows_total: u64,
    pub rows_clean: u64,
    pub rows_quarantined: u64,
    /// Quarantined rows a baseline covers; absent without `--baseline`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_baselined: Option<u64>,
    /// Quarantined rows that count towards the exit status: all of them,
    /// less the baselined ones.
    pub rows_new: u64,
    pub reasons: BTreeMap<&'static str, u64>,
    pub file_findings: u64,
}

/// One input of the run.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    /// The input as given on the command line.
    pub input: PathBuf,
    /// `scanned`, or `error` when it could not be (then `error` says why).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// Reason code → its first rows (caps in docs/report.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<Samples>,
}

impl FileEntry {
    /// Quarantined rows that count towards the exit status.
    pub fn rows_new(&self) -> u64 {
        self.report
            .as_ref()
            .map_or(0, |r| r.rows_quarantined - r.rows_baselined.unwrap_or(0))
    }
}

impl RunReport {
    pub fn new(started_at: jiff::Timestamp, fail_on: &'static str) -> RunReport {
        RunReport {
            schema: RUN_REPORT_SCHEMA,
            crmguard_version: env!("CARGO_PKG_VERSION"),
            started_at: started_at.to_string(),
            exit_status: 0,
            fail_on,
            baseline: None,
            totals: Totals::default(),
            files: Vec::new(),
        }
    }

    pub fn add_scanned(&mut self, report: Report, samples: Samples) {
        let t = &mut self.totals;
        t.files += 1;
        t.files_scanned += 1;
        t.rows_total += report.rows_total;
        t.rows_clean += report.rows_clean;
        t.rows_quarantined += report.rows_quarantined;
        if let Some(b) = report.rows_baselined {
            *t.rows_baselined.get_or_insert(0) += b;
        }
        t.rows_new += report.rows_quarantined - report.rows_baselined.unwrap_or(0);
        for (code, n) in &report.reasons {
            *t.reasons.entry(code).or_default() += n;
        }
        t.file_findings += report.file_findings.len() as u64;
        self.files.push(FileEntry {
            input: report.input.path.clone(),
            status: "scanned",
            error: None,
            report: Some(report),
            samples: Some(samples),
        });
    }

    pub fn add_failed(&mut self, input: PathBuf, error: String) {
        self.totals.files += 1;
        self.totals.files_failed += 1;
        self.files.push(FileEntry {
            input,
            status: "error",
            error: Some(error),
            report: None,
            samples: None,
        });
    }

    /// The scanned files' reports, in input order.
    pub fn reports(&self) -> impl Iterator<Item = (&Report, &Samples)> {
        self.files
            .iter()
            .filter_map(|f| Some((f.report.as_ref()?, f.samples.as_ref()?)))
    }
}
