//! The reports: the per-file report (`NAME.report.json`, schema in
//! docs/report.md) and the counters it is built from, here; the run's
//! report over every input and its formats (`--report FORMAT=PATH`) in the
//! files beside this one. Scanning and reporting are kept apart: the scan
//! hands over a [`Report`] and [`samples::Samples`] per file, and the
//! formats only read them.

pub mod codes;
pub mod github;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod run;
pub mod samples;
pub mod sarif;
pub mod summary;

/// Escapes text for HTML (and XML: the JUnit report uses it too) content
/// and quoted attribute values. C0 control characters, which HTML cannot
/// show and XML 1.0 cannot hold, become their Unicode pictures (NUL as ␀),
/// so a CONTROL_CHARACTER cell shows what it holds; other controls and the
/// noncharacters U+FFFE and U+FFFF become U+FFFD.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'))
            }
            '\u{7f}' => out.push('\u{2421}'),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// `s` after a count, in the reports' sentences.
pub(crate) fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The formats of `--report FORMAT=PATH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Sarif,
    Junit,
    Markdown,
    Html,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 5] = [
        ReportFormat::Json,
        ReportFormat::Sarif,
        ReportFormat::Junit,
        ReportFormat::Markdown,
        ReportFormat::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Sarif => "sarif",
            ReportFormat::Junit => "junit",
            ReportFormat::Markdown => "markdown",
            ReportFormat::Html => "html",
        }
    }

    pub fn from_name(name: &str) -> Option<ReportFormat> {
        match name.to_ascii_lowercase().as_str() {
            "md" => Some(ReportFormat::Markdown),
            "xml" => Some(ReportFormat::Junit),
            n => ReportFormat::ALL.into_iter().find(|f| f.name() == n),
        }
    }

    /// The run report in this format.
    pub fn render(self, run: &run::RunReport) -> Vec<u8> {
        match self {
            ReportFormat::Json => json::render(run),
            ReportFormat::Sarif => sarif::render(run),
            ReportFormat::Junit => junit::render(run),
            ReportFormat::Markdown => markdown::render(run),
            ReportFormat::Html => html::render(run),
        }
    }
}

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::detector::Sensitivity;
use crate::input::Row;
use crate::output::{OutputSummary, lossy_opt_path, lossy_path};
use crate::rules::{AiFinding, AiStatus, MediaKind, Verdict};
use crate::spec::{FieldSet, FileCode, Reason};

/// Version of the report's schema; bumped on any incompatible change.
pub const REPORT_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    /// Identifies this file's scan in the tags and the audit log.
    pub scan_id: String,
    pub crmguard_version: &'static str,
    pub input: InputInfo,
    pub policy: PolicyInfo,
    pub started_at: String,
    /// The time timestamps were judged against (FUTURE_TIMESTAMP).
    pub scan_time: String,
    pub elapsed_ms: u64,
    pub rows_total: u64,
    pub rows_clean: u64,
    pub rows_quarantined: u64,
    /// Quarantined rows the `--baseline` already records: still quarantined,
    /// not counted towards the exit status. Absent without a baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_baselined: Option<u64>,
    /// Reason code → number of rows carrying it (a row may carry several).
    pub reasons: BTreeMap<&'static str, u64>,
    /// Of `reasons`, the rows the baseline covers; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons_baselined: Option<BTreeMap<&'static str, u64>>,
    /// Disclosure field → rows lacking it (the detail of MISSING_DISCLOSURE).
    pub missing_fields: BTreeMap<&'static str, u64>,
    /// Column → reason code → quarantined rows whose reason points at a
    /// cell of that column (MALFORMED_ROW and MISSING_DISCLOSURE point at
    /// none). At most `MAX_COLUMNS` columns; the rest are counted under
    /// `(other columns)`.
    pub column_findings: BTreeMap<String, BTreeMap<&'static str, u64>>,
    pub notices: Notices,
    pub file_findings: Vec<FileFinding>,
    /// What the AI-text detector did; absent when the policy turns it off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_text: Option<AiText>,
    /// Media checks; absent when the policy names no media column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaInfo>,
    /// The cleanup plan (`scan --cleanup-plan`); absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleanup: Option<CleanupInfo>,
    pub outputs: Vec<OutputInfo>,
    /// Where this scan was recorded: `crmguard audit verify LOG
    /// --expect-head HEAD` proves the record is still there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AiText {
    /// blake3 of the model's bytes, and its file when not the built-in one.
    pub model: String,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "lossy_opt_path"
    )]
    pub model_path: Option<PathBuf>,
    /// The preset the thresholds came from (the policy may override them).
    pub sensitivity: Sensitivity,
    /// Scores above this are UNDISCLOSED_AI_TEXT.
    pub threshold: f32,
    /// Clean rows scoring above this (and not above `threshold`) are listed
    /// for review; `null`: no review tier.
    pub review_threshold: Option<f32>,
    /// Texts with fewer words are not judged.
    pub min_words: usize,
    pub text_columns: Vec<String>,
    /// Whether the columns were inferred from the file (else the policy's).
    pub text_columns_inferred: bool,
    /// Columns the policy names that no record of this file has: a typo in the
    /// policy would otherwise turn the detector off without a word.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub text_columns_missing: Vec<String>,
    pub rows_judged: u64,
    pub rows_flagged: u64,
    /// Clean rows listed for review, all of them (`review` lists the first).
    pub rows_review: u64,
    /// Rows whose text was all shorter than `min_words`: not judged.
    pub rows_too_short: u64,
    /// Rows with `is_synthetic` true: disclosed, not judged.
    pub rows_disclosed: u64,
    pub rows_without_text: u64,
    /// The signals behind flagged rows, most frequent first (at most 10).
    pub top_signals: Vec<SignalCount>,
    /// The first [`REVIEW_LISTED`] rows for review, in input order.
    pub review: Vec<ReviewRow>,
    pub score_histogram: Histogram,
}

/// Rows for review listed in a report; `rows_review` counts the rest. A
/// report is read by people and pages: a million borderline rows would make
/// it a second copy of the input's size, and the first thousand already say
/// what the tier catches.
pub const REVIEW_LISTED: usize = 1000;

/// A clean row an admin may want to look at before importing.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewRow {
    /// 1-based record number (header not counted), as `crmguard_row`.
    pub row: u64,
    /// 1-based line of the input where the record starts.
    pub line: u64,
    /// The judged column whose text scored highest.
    pub column: String,
    pub score: f32,
    /// Evidence for machine text, strongest first.
    pub signals: Vec<ReviewSignal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReviewSignal {
    /// `family detail`, as in `crmguard_ai_signals`.
    pub signal: String,
    /// Contribution to the score, in log-odds.
    pub weight: f32,
}

/// Bins of the histogram of judged rows' scores.
pub const HISTOGRAM_BINS: usize = 20;

/// Judged rows' scores in [`HISTOGRAM_BINS`] equal bins over [0, 1]: bin
/// `i` counts scores `s` with `floor(s * 20) = i`, and the last one takes
/// 1.0 as well. Counts, so any thread count gives the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Histogram {
    pub bin_width: f32,
    pub counts: [u64; HISTOGRAM_BINS],
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            bin_width: 1.0 / HISTOGRAM_BINS as f32,
            counts: [0; HISTOGRAM_BINS],
        }
    }
}

impl Histogram {
    pub fn add(&mut self, score: f32) {
        // A NaN score would land in bin 0 (`as` saturates); scores are
        // calibrated probabilities, so none is expected.
        let bin = ((score * HISTOGRAM_BINS as f32) as usize).min(HISTOGRAM_BINS - 1);
        self.counts[bin] += 1;
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SignalCount {
    pub signal: String,
    pub rows: u64,
}

/// What the media checks did over a file.
#[derive(Debug, Clone, Serialize)]
pub struct MediaInfo {
    pub columns: Vec<String>,
    /// What relative paths were resolved against.
    #[serde(serialize_with = "lossy_path")]
    pub root: PathBuf,
    pub max_file_bytes: u64,
    /// Whether C2PA manifests were read (the `c2pa` build feature).
    pub c2pa: bool,
    #[serde(flatten)]
    pub counts: MediaTally,
}

/// Media files named by rows, and what came of them. Counts are of files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MediaTally {
    pub files: u64,
    /// MEDIA_MISSING.
    pub missing: u64,
    /// MEDIA_PROVENANCE_INVALID.
    pub invalid: u64,
    /// UNDISCLOSED_AI_MEDIA.
    pub ai_undisclosed: u64,
    /// AI media in rows that disclose it: the sync filter decided.
    pub ai_disclosed: u64,
    /// Not checked: over `max_file_bytes`, or a URL.
    pub unchecked: u64,
    /// The first [`REVIEW_LISTED`] findings, in input order: which file, and
    /// which assertion or status decided.
    pub findings: Vec<MediaFinding>,
    /// Union of the rows' [`Verdict::media_columns_seen`].
    #[serde(skip)]
    pub columns_seen: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaFinding {
    pub row: u64,
    pub line: u64,
    pub column: String,
    pub file: String,
    /// The reason code, or null for a finding that decides nothing.
    pub code: Option<&'static str>,
    /// `missing`, `invalid`, `undisclosed_ai`, `disclosed_ai`, `unchecked`.
    pub kind: &'static str,
    pub detail: String,
}

impl MediaTally {
    fn add(&mut self, row: &Row, v: &Verdict) {
        self.files += u64::from(v.media_files);
        for n in &v.media {
            let (count, kind) = match n.kind {
                MediaKind::Missing => (&mut self.missing, "missing"),
                MediaKind::Invalid => (&mut self.invalid, "invalid"),
                MediaKind::UndisclosedAi => (&mut self.ai_undisclosed, "undisclosed_ai"),
                MediaKind::DisclosedAi => (&mut self.ai_disclosed, "disclosed_ai"),
                MediaKind::Unchecked => (&mut self.unchecked, "unchecked"),
            };
            *count += 1;
            if self.findings.len() < REVIEW_LISTED {
                self.findings.push(MediaFinding {
                    row: row.number,
                    line: row.line,
                    column: n.column.clone(),
                    file: n.file.clone(),
                    code: n.kind.code().map(Reason::code),
                    kind,
                    detail: n.detail.clone(),
                });
            }
        }
    }
}

/// The cleanup plan's account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CleanupInfo {
    pub id_column: String,
    /// Records in the plan, one line each: `tag + delete`.
    pub rows: u64,
    pub tag: u64,
    pub delete: u64,
    /// Quarantined rows whose Id an earlier one had: folded into that
    /// record's line, their reasons merged.
    pub duplicates: u64,
    /// Quarantined rows left out of the plan: no Id, or one that is not
    /// letters and digits.
    pub without_id: u64,
    /// The first [`REVIEW_LISTED`] of them, by row number.
    pub rows_without_id: Vec<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditInfo {
    #[serde(serialize_with = "lossy_path")]
    pub log: PathBuf,
    pub seq: u64,
    pub head: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InputInfo {
    #[serde(serialize_with = "lossy_path")]
    pub path: PathBuf,
    pub format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// How the content was compressed, by its magic bytes (what it was
    /// read as, whatever its name says).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<&'static str>,
    /// `--encoding`: the encoding the input was transcoded from to UTF-8.
    /// Outputs then hold the UTF-8 text, not the stored bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transcoded_from: Option<&'static str>,
    /// Bytes of the file as stored (compressed, if it is).
    pub bytes: u64,
    pub blake3: String,
    /// The target object from `--object` or the policy's file patterns (a
    /// per-row object column is not reflected here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PolicyInfo {
    /// `null` when the built-in default policy was used.
    #[serde(serialize_with = "lossy_opt_path")]
    pub path: Option<PathBuf>,
    /// How it was chosen: `--policy`, `CRMGUARD_POLICY`, `discovered`
    /// (a crmguard.toml found from the working directory up to the
    /// repository's root) or `built-in`.
    pub found_by: &'static str,
    pub blake3: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Notices {
    /// Rows whose digital_source_type is ambiguous (accepted).
    pub ambiguous_source_type: u64,
    /// Rows whose digital_source_type is a retired IPTC term (accepted).
    pub retired_source_type: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileFinding {
    pub code: FileCode,
    pub message: String,
    /// The fix, in one line, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputInfo {
    pub kind: &'static str,
    #[serde(flatten)]
    pub summary: OutputSummary,
}

/// Columns counted one by one in [`Report::column_findings`]; a JSON file
/// whose records each bring new keys cannot grow the report without end.
pub const MAX_COLUMNS: usize = 500;
const OTHER_COLUMNS: &str = "(other columns)";

/// Counts accumulated while rows stream past. Serialisable, so that the
/// tallies of a table's parts (Spark partitions) can travel to where they
/// are added up ([`Tally::merge`]).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tally {
    pub rows_total: u64,
    pub rows_clean: u64,
    pub rows_quarantined: u64,
    /// Quarantined rows a baseline covers.
    pub rows_baselined: u64,
    pub reasons: [u64; Reason::ALL.len()],
    /// Of `reasons`, the rows a baseline covers.
    pub reasons_baselined: [u64; Reason::ALL.len()],
    pub missing: [u64; crate::spec::Field::COUNT],
    /// Every disclosure field seen on at least one row.
    pub fields_seen: FieldSet,
    /// Column → reason → rows (see [`Report::column_findings`]).
    pub columns: BTreeMap<String, [u64; Reason::ALL.len()]>,
    pub notices: Notices,
    pub ai: AiTally,
    /// Not sent between a table's parts: the batch path opens no media
    /// files (batch/mod.rs), so a part's media tally is always empty.
    #[serde(skip)]
    pub media: MediaTally,
}

/// The detector's counts over a file.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AiTally {
    pub judged: u64,
    pub flagged: u64,
    pub review: u64,
    /// The first [`REVIEW_LISTED`] of them.
    pub review_rows: Vec<ReviewRow>,
    pub histogram: Histogram,
    pub too_short: u64,
    pub disclosed: u64,
    pub no_text: u64,
    /// Union of the rows' [`Verdict::ai_columns_seen`].
    pub columns_seen: u64,
    /// `family detail` of flagged rows' signals -> rows; a lexicon signal counts
    /// once per phrase shown (`phrase LEXICON: "PHRASE"`).
    pub signals: BTreeMap<String, u64>,
}

impl AiTally {
    fn add_review(&mut self, row: &Row, f: &AiFinding) {
        self.review += 1;
        if self.review_rows.len() == REVIEW_LISTED {
            return;
        }
        self.review_rows.push(ReviewRow {
            row: row.number,
            line: row.line,
            column: (f.explanation.as_ref())
                .map(|e| e.column.clone())
                .unwrap_or_default(),
            score: f.score,
            signals: (f.signals().iter())
                .map(|s| ReviewSignal {
                    signal: format!("{} {}", s.family, s.detail),
                    weight: s.weight,
                })
                .collect(),
        });
    }
}

impl Tally {
    pub fn add(&mut self, row: &Row, v: &Verdict) {
        self.rows_total += 1;
        if v.is_clean() {
            self.rows_clean += 1;
        } else {
            self.rows_quarantined += 1;
        }
        for r in v.reasons.iter() {
            self.reasons[r as usize] += 1;
        }
        for f in v.missing.iter() {
            self.missing[f as usize] += 1;
        }
        for (name, reasons) in &v.columns {
            let known = self.columns.contains_key(name) || self.columns.len() < MAX_COLUMNS;
            let key = if known { name.as_str() } else { OTHER_COLUMNS };
            let counts = match self.columns.get_mut(key) {
                Some(c) => c,
                None => self
                    .columns
                    .entry(key.to_string())
                    .or_insert([0; Reason::ALL.len()]),
            };
            for r in reasons.iter() {
                counts[r as usize] += 1;
            }
        }
        self.fields_seen = self.fields_seen.union(v.present);
        self.notices.ambiguous_source_type += u64::from(v.notices.ambiguous_source_type);
        self.notices.retired_source_type += u64::from(v.notices.retired_source_type);
        self.media.columns_seen |= v.media_columns_seen;
        if v.media_files > 0 || !v.media.is_empty() {
            self.media.add(row, v);
        }
        let ai = &mut self.ai;
        ai.columns_seen |= v.ai_columns_seen;
        match &v.ai {
            AiStatus::NotRun => {}
            AiStatus::Disclosed => ai.disclosed += 1,
            AiStatus::NoText => ai.no_text += 1,
            AiStatus::TooShort => ai.too_short += 1,
            AiStatus::Judged(f) => {
                ai.judged += 1;
                ai.histogram.add(f.score);
                if f.review {
                    ai.add_review(row, f);
                }
                if v.reasons.contains(Reason::UndisclosedAiText) {
                    ai.flagged += 1;
                    for s in f.signals() {
                        if s.phrases.is_empty() {
                            *ai.signals
                                .entry(format!("{} {}", s.family, s.detail))
                                .or_default() += 1;
                        }
                        // One entry per phrase, not per combination of phrases: the
                        // report answers "which phrases keep getting rows held back".
                        for p in &s.phrases {
                            *ai.signals
                                .entry(format!("{} {}: \"{p}\"", s.family, s.name))
                                .or_default() += 1;
                        }
                    }
                }
            }
        }
    }

    /// Adds the tally of the rows that follow this one's: counts add up,
    /// and the rows for review stay the first [`REVIEW_LISTED`] in order.
    pub fn merge(&mut self, next: &Tally) {
        fn add<const N: usize>(a: &mut [u64; N], b: &[u64; N]) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        self.rows_total += next.rows_total;
        self.rows_clean += next.rows_clean;
        self.rows_quarantined += next.rows_quarantined;
        self.rows_baselined += next.rows_baselined;
        add(&mut self.reasons, &next.reasons);
        add(&mut self.reasons_baselined, &next.reasons_baselined);
        add(&mut self.missing, &next.missing);
        self.fields_seen = self.fields_seen.union(next.fields_seen);
        for (column, counts) in &next.columns {
            let known = self.columns.contains_key(column) || self.columns.len() < MAX_COLUMNS;
            let key = if known {
                column.as_str()
            } else {
                OTHER_COLUMNS
            };
            add(
                self.columns
                    .entry(key.to_string())
                    .or_insert([0; Reason::ALL.len()]),
                counts,
            );
        }
        self.notices.ambiguous_source_type += next.notices.ambiguous_source_type;
        self.notices.retired_source_type += next.notices.retired_source_type;
        let (a, b) = (&mut self.ai, &next.ai);
        a.judged += b.judged;
        a.flagged += b.flagged;
        a.review += b.review;
        let room = REVIEW_LISTED.saturating_sub(a.review_rows.len());
        a.review_rows
            .extend(b.review_rows.iter().take(room).cloned());
        add(&mut a.histogram.counts, &b.histogram.counts);
        a.too_short += b.too_short;
        a.disclosed += b.disclosed;
        a.no_text += b.no_text;
        a.columns_seen |= b.columns_seen;
        for (signal, rows) in &b.signals {
            *a.signals.entry(signal.clone()).or_default() += rows;
        }
    }

    /// The most frequent signals behind flagged rows.
    pub fn top_signals(&self, n: usize) -> Vec<SignalCount> {
        let mut all: Vec<SignalCount> = self
            .ai
            .signals
            .iter()
            .map(|(s, rows)| SignalCount {
                signal: s.clone(),
                rows: *rows,
            })
            .collect();
        // Most rows first; ties in name order, so the report is stable.
        all.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.signal.cmp(&b.signal)));
        all.truncate(n);
        all
    }

    pub fn reasons_map(&self) -> BTreeMap<&'static str, u64> {
        counts(&self.reasons)
    }

    pub fn columns_map(&self) -> BTreeMap<String, BTreeMap<&'static str, u64>> {
        self.columns
            .iter()
            .map(|(name, c)| (name.clone(), counts(c)))
            .collect()
    }

    pub fn reasons_baselined_map(&self) -> BTreeMap<&'static str, u64> {
        counts(&self.reasons_baselined)
    }

    /// Counts a quarantined row that a baseline covers.
    pub fn add_baselined(&mut self, v: &Verdict) {
        self.rows_baselined += 1;
        for r in v.reasons.iter() {
            self.reasons_baselined[r as usize] += 1;
        }
    }

    pub fn missing_map(&self) -> BTreeMap<&'static str, u64> {
        crate::spec::Field::ALL
            .iter()
            .filter(|f| self.missing[**f as usize] > 0)
            .map(|f| (f.name(), self.missing[*f as usize]))
            .collect()
    }
}

/// Code → count, for the codes with a count.
fn counts(per_reason: &[u64; Reason::ALL.len()]) -> BTreeMap<&'static str, u64> {
    Reason::ALL
        .iter()
        .filter(|r| per_reason[**r as usize] > 0)
        .map(|r| (r.code(), per_reason[*r as usize]))
        .collect()
}

impl Report {
    /// Rows quarantined with `code` that count towards the exit status.
    pub fn new_rows_with(&self, code: &str) -> u64 {
        let all = self.reasons.get(code).copied().unwrap_or(0);
        let known = self
            .reasons_baselined
            .as_ref()
            .and_then(|b| b.get(code).copied())
            .unwrap_or(0);
        all - known
    }
}
