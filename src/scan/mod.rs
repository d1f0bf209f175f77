//! Scanning one input: read a batch of records, check them in parallel,
//! write the verdicts in input order, repeat. Memory stays bounded by a few
//! batches whatever the file's size, and since a row's verdict depends only
//! on the row and on file-level facts fixed before the first batch, any
//! number of threads writes the same bytes.

mod cleanup;
mod commit;
mod diagnose;
pub(crate) mod findings;
#[cfg(feature = "parquet")]
pub mod parquet;
mod pipeline;
mod plan;
mod sink;
mod tags;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context as _, bail};
use indicatif::ProgressBar;

pub use plan::{Input, check_audit_log, check_plans, check_run_files, keep_apart};
pub use tags::ai_score;

use crate::audit::RowSpool;
use crate::baseline::Baseline;
use crate::error::Located;
use crate::input::{Compression, Format, Header, InputSource, open_input, reader_for};
use crate::media::Inspector;
use crate::output::{RowWriter, output_error, quarantine_columns};
use crate::policy::{Policy, PolicySource};
use crate::report::MediaInfo;
use crate::report::samples::Samples;
use crate::report::{AiText, FileFinding, InputInfo, OutputInfo, PolicyInfo, Report, Tally};
use crate::rules::{AiContext, AiSettings, Context, MediaContext, TextColumns};
use crate::spec::FileCode;
use cleanup::Plan;
use findings::{media_columns_missing, missing_keys_finding, resolve_header, target_limits};
use pipeline::run_batches;
use sink::RowSink;
use sink::StageError;
use tags::{Tagger, new_scan_id};

/// What every scan of one run shares.
pub struct ScanConfig<'a> {
    pub policy: &'a Policy,
    pub scan_time: jiff::Timestamp,
    /// Set by Ctrl-C: the scan stops at the next batch and writes nothing.
    pub interrupted: &'a AtomicBool,
    pub progress: Option<&'a ProgressBar>,
    /// `--object`: the target object of every row.
    pub object: Option<&'a str>,
    /// Where every scan is recorded.
    pub audit_log: &'a Path,
    /// Set while the audit record is being written, when even a second
    /// Ctrl-C must wait.
    pub critical: &'a AtomicBool,
    /// The AI-text detector and its thresholds; `None` when turned off.
    pub detector: Option<AiSettings<'a>>,
    /// `--baseline`: quarantined rows it covers do not count.
    pub baseline: Option<&'a Baseline>,
    /// `--write-baseline`: keep every quarantined row's hash and reasons.
    pub write_baseline: bool,
    /// `--encoding`: transcode the input to UTF-8 as it is read.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Media checks; `None` when the policy names no media column.
    pub media: Option<&'a Inspector>,
    /// `--media-root`: where relative media paths start, instead of the
    /// input file's directory.
    pub media_root: Option<&'a Path>,
}

/// What one file's scan hands to the run: its report, the rows the run's
/// reports show, and (for `--write-baseline`) its quarantined rows.
pub struct FileScan {
    pub report: Report,
    pub samples: Samples,
    pub baseline_rows: Option<RowSpool>,
}

pub use crate::error::Interrupted;

/// Scans one input into its clean and quarantine files and report. On any
/// error nothing is left under the output names.
pub fn scan(input: &Input, cfg: &ScanConfig) -> anyhow::Result<FileScan> {
    if input.format == Format::Parquet {
        #[cfg(feature = "parquet")]
        return parquet::scan(input, cfg);
        #[cfg(not(feature = "parquet"))]
        bail!(
            "{}: this crmguard was built without Parquet support (cargo feature `parquet`)",
            crate::terminal::path(&input.path)
        );
    }
    scan_text(input, cfg)
}

/// [`scan`] of a text input (CSV, JSON, NDJSON): its records are read as
/// they come, checked by batch and written in order.
fn scan_text(input: &Input, cfg: &ScanConfig) -> anyhow::Result<FileScan> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let path = &input.path;
    let src = open_input(path, cfg.encoding)?;
    if let (Some(bar), Some(size)) = (cfg.progress, src.size) {
        bar.set_length(size);
    }
    let stats = src.stats.clone();
    let mut findings = opening_findings(input, &src);
    let (read_as, bom) = (src.compression, src.bom);
    let reader = reader_for(input.format, src.reader, path, cfg.policy.max_record_bytes)?;

    let columns = reader
        .header()
        .map(|h| resolve_header(h, input, cfg.policy, &mut findings))
        .transpose()?;
    let media_root = media_root(input, cfg);
    let ctx = context(input, cfg, columns.as_ref(), &media_root);
    let scan_id = new_scan_id(path, started_at);
    let tagger = Tagger::new(cfg.policy, &scan_id, cfg.scan_time, path);
    if let Some(h) = reader.header() {
        refuse_tag_columns(h, &tagger, path)?;
    }
    let mut writer = create_writer(input, reader.header(), &tagger, &ctx)?;
    let plan = cleanup_plan(input, cfg, reader.header(), &scan_id)?;

    let header_bytes = reader
        .header()
        .map_or(0, |h| (h.raw.len() + h.terminator.bytes().len()) as u64);
    let mut spool = RowSpool::new().context("cannot create a temp file for the audit log")?;
    let mut sink = RowSink::new(
        &mut writer,
        &mut spool,
        &tagger,
        delimiter(input.format),
        cfg.baseline,
        cfg.write_baseline,
        plan,
    )
    .context("cannot create a temp file for the baseline")?;
    let (reader, decoded_bytes) =
        run_batches(reader, &ctx, &mut sink, cfg, &stats).map_err(|e| stage_error(e, input))?;
    let RowSink {
        tally,
        samples,
        encoding,
        keys,
        new_baseline,
        plan,
        ..
    } = sink;
    let decoded_bytes = decoded_bytes + header_bytes;

    closing_findings(
        &mut findings,
        reader.line_endings(),
        &tally,
        decoded_bytes,
        columns.as_ref(),
        &keys,
        cfg.policy,
    );
    findings.extend(encoding.finding(path, read_as, bom));
    blank_file_finding(reader.held_nothing(), &mut findings);
    let read = Read {
        scan_id: scan_id.clone(),
        started_at,
        clock,
        input: input_info(input, cfg, &stats, read_as),
        findings,
        ai_text: ctx.ai.as_ref().map(|ai| ai_text(ai, cfg.policy, &tally)),
        media: ctx.media.as_ref().map(|m| media_info(m, cfg, &tally)),
        tally,
        samples,
        new_baseline,
        plan,
    };
    finish(input, cfg, writer, spool, read)
}

/// A file whose rows are all read and written: what its report and its
/// commit are made of.
struct Read<'p> {
    scan_id: String,
    started_at: jiff::Timestamp,
    clock: Instant,
    input: InputInfo,
    findings: Vec<FileFinding>,
    ai_text: Option<AiText>,
    media: Option<MediaInfo>,
    tally: Tally,
    samples: Samples,
    new_baseline: Option<RowSpool>,
    plan: Option<Plan<'p>>,
}

/// Closes the outputs, completes the report and commits: the outputs are
/// put in place and the scan recorded, or neither.
fn finish(
    input: &Input,
    cfg: &ScanConfig,
    writer: RowWriter,
    spool: RowSpool,
    read: Read,
) -> anyhow::Result<FileScan> {
    let (clean, quarantine) = writer
        .finish()
        .map_err(|e| output_error(e, &input.outputs.clean, "cannot write outputs"))?;
    let plan = (read.plan.map(|p| p.finish()))
        .transpose()
        .map_err(|e| output_error(e, &input.outputs.clean, "cannot write outputs"))?;
    let mut report = Report {
        scan_id: read.scan_id,
        input: read.input,
        started_at: read.started_at.to_string(),
        elapsed_ms: read.clock.elapsed().as_millis() as u64,
        file_findings: read.findings,
        ai_text: read.ai_text,
        media: read.media,
        cleanup: plan.as_ref().map(|(_, info)| info.clone()),
        outputs: [("clean", &clean), ("quarantine", &quarantine)]
            .into_iter()
            .chain(plan.as_ref().map(|(f, _)| ("cleanup", f)))
            .map(|(kind, f)| OutputInfo {
                kind,
                summary: f.summary.clone(),
            })
            .collect(),
        ..counts(&read.tally, cfg)
    };
    debug_assert_eq!(
        report.rows_clean + report.rows_quarantined,
        report.rows_total
    );
    let files = commit::Outputs {
        clean,
        quarantine,
        cleanup: plan.map(|(f, _)| f),
    };
    commit::commit(input, cfg, &mut report, spool, files)?;
    Ok(FileScan {
        report,
        samples: read.samples,
        baseline_rows: read.new_baseline,
    })
}

/// The clean and quarantine writers, in the input's format, with the tag
/// columns and crmguard's columns the scan adds.
fn create_writer(
    input: &Input,
    header: Option<&Header>,
    tagger: &Tagger,
    ctx: &Context,
) -> anyhow::Result<RowWriter> {
    let tag_names: Vec<&str> = tagger.names.iter().map(String::as_str).collect();
    RowWriter::create(
        &input.outputs,
        input.format,
        header,
        &tag_names,
        quarantine_columns(ctx.ai.is_some(), ctx.media.is_some()),
    )
    .with_context(|| format!("{}: cannot create outputs", input.outputs.clean.display()))
}

/// The cleanup plan's writer, when the run writes one.
fn cleanup_plan<'p>(
    input: &Input,
    cfg: &ScanConfig<'p>,
    header: Option<&Header>,
    scan_id: &str,
) -> anyhow::Result<Option<Plan<'p>>> {
    let Some(p) = &input.outputs.cleanup else {
        return Ok(None);
    };
    Ok(Some(Plan::create(
        p,
        &cfg.policy.cleanup,
        header,
        &input.path,
        scan_id,
        cfg.scan_time,
    )?))
}

/// The delimiter the outputs' added cells are written with.
fn delimiter(format: Format) -> u8 {
    match format {
        Format::Csv { delimiter } => delimiter,
        _ => b',',
    }
}

/// The report's account of the media checks.
fn media_info(m: &MediaContext, cfg: &ScanConfig, tally: &Tally) -> MediaInfo {
    MediaInfo {
        columns: m.columns.to_vec(),
        root: m.root.to_owned(),
        max_file_bytes: cfg.policy.media.max_file_bytes,
        c2pa: Inspector::reads_manifests(),
        counts: tally.media.clone(),
    }
}

/// What the rules need besides the row, for this file.
fn context<'a>(
    input: &Input,
    cfg: &ScanConfig<'a>,
    columns: Option<&'a crate::rules::Columns>,
    media_root: &'a Path,
) -> Context<'a> {
    Context {
        policy: cfg.policy,
        scan_time: cfg.scan_time,
        columns,
        object_flag: cfg.object,
        object_from_file: input.object_from_file(cfg.policy),
        ai: cfg.detector.map(|settings| AiContext {
            settings,
            columns: match &cfg.policy.detector.text_columns {
                c if c.is_empty() => std::sync::OnceLock::new(),
                c => std::sync::OnceLock::from(TextColumns::new(c.clone(), columns)),
            },
        }),
        media: cfg.media.map(|inspector| MediaContext {
            inspector,
            root: media_root,
            columns: &cfg.policy.media.columns,
        }),
    }
}

/// Where the input's relative media paths start: `--media-root`, else the
/// input file's directory (the working directory for stdin).
fn media_root(input: &Input, cfg: &ScanConfig) -> std::path::PathBuf {
    if let Some(root) = cfg.media_root {
        return root.to_owned();
    }
    match input.path.parent() {
        Some(dir) if input.path.as_os_str() != "-" && !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => std::path::PathBuf::from("."),
    }
}

fn stage_error(e: StageError, input: &Input) -> anyhow::Error {
    match e {
        StageError::Input(e) => anyhow::Error::from(e),
        StageError::Output(e) => output_error(e, &input.outputs.clean, "write failed"),
        StageError::Interrupted => Interrupted.into(),
    }
}

/// The report's policy, time and counts; the caller fills in the rest.
fn counts(tally: &Tally, cfg: &ScanConfig) -> Report {
    report_counts(tally, cfg.policy, cfg.scan_time, cfg.baseline.is_some())
}

/// A report's policy, time and counts, for any scan that adds up to
/// `tally` (a file, a Parquet file, a DataFrame); the caller fills in the
/// rest.
pub fn report_counts(
    tally: &Tally,
    policy: &Policy,
    scan_time: jiff::Timestamp,
    baselined: bool,
) -> Report {
    Report {
        schema: crate::report::REPORT_SCHEMA,
        scan_id: String::new(),
        crmguard_version: env!("CARGO_PKG_VERSION"),
        input: InputInfo::default(),
        policy: PolicyInfo {
            path: match &policy.source {
                PolicySource::BuiltIn => None,
                PolicySource::File(p) => Some(p.clone()),
            },
            found_by: policy.found_by,
            blake3: policy.blake3.clone(),
        },
        started_at: String::new(),
        scan_time: scan_time.to_string(),
        elapsed_ms: 0,
        rows_total: tally.rows_total,
        rows_clean: tally.rows_clean,
        rows_quarantined: tally.rows_quarantined,
        rows_baselined: baselined.then_some(tally.rows_baselined),
        reasons: tally.reasons_map(),
        reasons_baselined: baselined.then(|| tally.reasons_baselined_map()),
        missing_fields: tally.missing_map(),
        column_findings: tally.columns_map(),
        notices: tally.notices.clone(),
        file_findings: Vec::new(),
        ai_text: None,
        media: None,
        cleanup: None,
        outputs: Vec::new(),
        audit: None,
    }
}

/// What is known of a file once its rows are read: mixed line endings,
/// JSON keys never seen, target limits.
fn closing_findings(
    findings: &mut Vec<FileFinding>,
    endings: crate::input::LineEndings,
    tally: &Tally,
    decoded_bytes: u64,
    columns: Option<&crate::rules::Columns>,
    keys: &std::collections::BTreeSet<String>,
    policy: &Policy,
) {
    if endings.mixed() {
        findings.push(FileFinding {
            code: FileCode::LineEndingMixed,
            // JSON has no header line to count.
            message: format!(
                "lines end in more than one way: {endings}{}",
                if columns.is_some() {
                    " (header included)"
                } else {
                    ""
                }
            ),
            fix: None,
        });
    }
    // Only where some record was read far enough to lack a key: when every
    // record is malformed, no key was seen, and saying that none has one
    // would send the user to fix keys that are there.
    let lacked = tally.reasons[crate::spec::Reason::MissingDisclosure as usize];
    if columns.is_none() && lacked > 0 {
        missing_keys_finding(
            policy,
            tally.fields_seen,
            keys.iter().map(String::as_str),
            findings,
        );
    }
    // JSON (a header's columns were checked when it was read): as above,
    // only once some record was read far enough to look for its keys.
    let malformed = tally.reasons[crate::spec::Reason::MalformedRow as usize];
    if columns.is_none() && tally.rows_total > malformed {
        media_columns_missing(
            policy,
            |i, _| {
                let bit = crate::rules::column_bit(i);
                bit == 0 || tally.media.columns_seen & bit != 0
            },
            true,
            findings,
        );
    }
    target_limits(policy, tally, decoded_bytes, columns, findings);
}

const EMPTY_FIX: &str = "check the export that wrote it: it may have failed or been cut short";

/// A file of blank space only (`held_nothing`: no header, no JSON array, no
/// record) is as empty as one of no bytes, though not byte-empty, and would
/// otherwise scan as a silent clean run.
fn blank_file_finding(held_nothing: bool, findings: &mut Vec<FileFinding>) {
    let already = findings.iter().any(|f| f.code == FileCode::EmptyFile);
    if held_nothing && !already {
        findings.push(FileFinding {
            code: FileCode::EmptyFile,
            message: "the file holds blank lines or spaces only: no header, no records: \
                      nothing to import"
                .into(),
            fix: Some(EMPTY_FIX.into()),
        });
    }
}

/// What is known of a file as soon as it is opened: a BOM, content
/// compressed against its name, no content at all.
fn opening_findings(input: &Input, src: &InputSource) -> Vec<FileFinding> {
    let mut findings = Vec::new();
    if src.bom {
        findings.push(FileFinding {
            code: FileCode::BomPresent,
            message: "a UTF-8 byte-order mark was found; outputs are written without it".into(),
            fix: None,
        });
    }
    // No bytes are no compression, under any name: EMPTY_FILE says it.
    if src.compression != input.compression && !src.empty {
        let is = src.compression.name().unwrap_or("plain");
        let stdin = input.path.as_os_str() == "-";
        let message = match input.compression.name() {
            Some(named) => {
                format!("the name says {named}, but the content is {is} data: read as {is}")
            }
            // Stdin has no name to say anything, nor to rename.
            None if stdin => format!("the content is {is} data: read decompressed"),
            None => format!(
                "the content is {is} data, though its name does not say so: read decompressed"
            ),
        };
        let fix = (!stdin).then(|| {
            let name = input.path.as_os_str().as_encoded_bytes();
            let base = String::from_utf8_lossy(Compression::split_name(name).0);
            match src.compression.name() {
                Some(is) => format!("name it for what it is (e.g. {base}.{})", ext(is)),
                None => format!("name it for what it is (e.g. {base})"),
            }
        });
        findings.push(FileFinding {
            code: FileCode::CompressionMismatch,
            message,
            fix,
        });
    }
    if src.empty {
        findings.push(FileFinding {
            code: FileCode::EmptyFile,
            message: "the file is empty (0 bytes of content): nothing to import".into(),
            fix: Some(EMPTY_FIX.into()),
        });
    }
    findings
}

fn ext(compression: &str) -> &'static str {
    match compression {
        "gzip" => "gz",
        _ => "zst",
    }
}

/// A file already carrying the `[tagging]` columns was most likely tagged
/// by an earlier scan: refused, rather than tagged twice.
fn refuse_tag_columns(h: &Header, tagger: &Tagger, path: &std::path::Path) -> anyhow::Result<()> {
    for name in &tagger.names {
        if h.names.iter().any(|n| n.trim().eq_ignore_ascii_case(name)) {
            bail!(Located::new(
                path,
                1,
                1,
                format!(
                    "the tag column `{}` ([tagging]) is already in the header; was this file tagged by an earlier scan?",
                    crate::error::excerpt(name)
                ),
            ));
        }
    }
    Ok(())
}

fn input_info(
    input: &Input,
    cfg: &ScanConfig,
    stats: &crate::input::InputStats,
    compression: Compression,
) -> InputInfo {
    InputInfo {
        path: input.path.clone(),
        format: input.format.name(),
        delimiter: match input.format {
            Format::Csv { delimiter } => Some((delimiter as char).to_string()),
            _ => None,
        },
        compression: compression.name(),
        transcoded_from: cfg.encoding.map(|e| e.name()),
        bytes: stats.bytes_read(),
        blake3: stats.blake3(),
        object: cfg
            .object
            .or(input.object_from_file(cfg.policy))
            .map(String::from),
    }
}

/// The report's account of the detector's work on one file.
fn ai_text(ai: &AiContext, policy: &Policy, tally: &Tally) -> AiText {
    let names = ai.columns.get().map(|c| c.names.clone());
    detector_report(ai.settings, names.unwrap_or_default(), policy, tally)
}

/// The report's account of the detector's work, judging `text_columns`.
pub fn detector_report(
    settings: AiSettings,
    text_columns: Vec<String>,
    policy: &Policy,
    tally: &Tally,
) -> AiText {
    AiText {
        model: settings.detector.id().to_string(),
        model_path: policy.detector.model.clone(),
        sensitivity: settings.sensitivity,
        threshold: settings.thresholds.quarantine,
        review_threshold: settings.thresholds.review,
        min_words: crate::detector::MIN_WORDS,
        text_columns,
        text_columns_inferred: policy.detector.text_columns.is_empty(),
        text_columns_missing: policy
            .detector
            .text_columns
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let bit = crate::rules::column_bit(*i);
                bit != 0 && tally.ai.columns_seen & bit == 0
            })
            .map(|(_, name)| name.clone())
            .collect(),
        rows_judged: tally.ai.judged,
        rows_flagged: tally.ai.flagged,
        rows_review: tally.ai.review,
        rows_too_short: tally.ai.too_short,
        rows_disclosed: tally.ai.disclosed,
        rows_without_text: tally.ai.no_text,
        top_signals: tally.top_signals(10),
        review: tally.ai.review_rows.clone(),
        score_histogram: tally.ai.histogram.clone(),
    }
}
