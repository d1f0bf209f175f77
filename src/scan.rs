//! Scanning one input: read a batch of records, check them in parallel,
//! write the verdicts in input order, repeat. Memory stays bounded by a few
//! batches whatever the file's size, and since a row's verdict depends only
//! on the row and on file-level facts fixed before the first batch, any
//! number of threads writes the same bytes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context as _, anyhow, bail};
use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::audit::{AuditLog, RowSpool};
use crate::detector::Detector;
use crate::error::Located;
use crate::input::{Compression, Format, Header, RecordReader, Row, open_input, reader_for};
use crate::output::{OutputPaths, RowWriter, TagValue, write_atomically};
use crate::policy::{Policy, PolicySource, TagKind};
use crate::report::{
    AiText, AuditInfo, FileFinding, InputInfo, OutputInfo, PolicyInfo, Report, Tally,
};
use crate::rules::undisclosed_ai_text::infer_columns;
use crate::rules::{AiContext, Columns, Context, Verdict, check_row};
use crate::spec::{FieldSet, FileCode, Reason};

/// Rows per batch, and bytes per batch, whichever comes first. Fixed, not
/// derived from the thread count: batches are also the unit of progress and
/// interruption, and must not change what is written.
const BATCH_ROWS: usize = 4096;
const BATCH_BYTES: usize = 8 << 20;
/// Batches alive at once: one being read, one queued, one being checked,
/// one being written.
const BATCHES_IN_FLIGHT: usize = 4;

/// One input to scan, with where its outputs go.
#[derive(Debug, Clone)]
pub struct Input {
    /// As given on the command line; `-` is stdin.
    pub path: PathBuf,
    pub format: Format,
    pub compression: Compression,
    pub outputs: OutputPaths,
}

impl Input {
    /// Works out the format (from the extension unless `format` is given)
    /// and the output names: `NAME.EXT` gives `NAME.clean.EXT`,
    /// `NAME.quarantine.EXT` and `NAME.report.json`.
    pub fn plan(
        path: &Path,
        format: Option<Format>,
        delimiter: Option<u8>,
        out_dir: &Path,
    ) -> anyhow::Result<Input> {
        let is_stdin = path.as_os_str() == "-";
        let file_name = if is_stdin {
            "stdin".to_string()
        } else {
            path.file_name()
                .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?
                .to_string_lossy()
                .into_owned()
        };
        let (name, compression) = Compression::split_name(&file_name);
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
            _ => (name, None),
        };
        let mut format = match (format, ext.and_then(Format::from_extension)) {
            (Some(f), _) | (None, Some(f)) => f,
            (None, None) if is_stdin => Format::Csv { delimiter: b',' },
            (None, None) => bail!(
                "{}: cannot tell the format from the extension; use --format csv|tsv|json|ndjson",
                path.display()
            ),
        };
        if let (Format::Csv { delimiter: d }, Some(given)) = (&mut format, delimiter) {
            *d = given;
        }
        let ext = match (ext, format) {
            (Some(e), _) => e.to_string(),
            (None, Format::Csv { delimiter: b'\t' }) => "tsv".into(),
            (None, f) => f.name().into(),
        };
        Ok(Input {
            path: path.to_owned(),
            format,
            compression,
            outputs: OutputPaths::new(out_dir, stem, &ext),
        })
    }
}

impl Input {
    /// The target object the policy's file patterns give this input.
    pub fn object_from_file<'p>(&self, policy: &'p Policy) -> Option<&'p str> {
        let name = self.path.file_name()?.to_str()?;
        policy.object_for_file(name)
    }
}

/// Refuses plans that would write one output twice or over an input.
pub fn check_plans(inputs: &[Input]) -> anyhow::Result<()> {
    let stdin_count = inputs.iter().filter(|i| i.path.as_os_str() == "-").count();
    if stdin_count > 1 {
        bail!("`-` (stdin) is given {stdin_count} times");
    }
    for (i, a) in inputs.iter().enumerate() {
        for b in &inputs[i + 1..] {
            if a.outputs.report == b.outputs.report {
                bail!(
                    "{} and {} would both write {}; scan them into different --out-dir",
                    a.path.display(),
                    b.path.display(),
                    a.outputs.report.display()
                );
            }
        }
        for out in a.outputs.all() {
            for input in inputs {
                if crate::output::same_file(out, &input.path) {
                    bail!(
                        "{}: refusing to write over the input {}",
                        out.display(),
                        input.path.display()
                    );
                }
            }
        }
    }
    Ok(())
}

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
    /// The AI-text detector and its threshold; `None` when turned off.
    pub detector: Option<(&'a Detector, f32)>,
}

/// The scan stopped because of Ctrl-C.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted: no outputs written")
    }
}

impl std::error::Error for Interrupted {}

#[derive(Default)]
struct Batch {
    rows: Vec<Row>,
    len: usize,
    bytes: u64,
}

impl Batch {
    fn fill(&mut self, reader: &mut dyn RecordReader) -> Result<(), Located> {
        self.len = 0;
        self.bytes = 0;
        while self.len < BATCH_ROWS && self.bytes < BATCH_BYTES as u64 {
            if self.rows.len() == self.len {
                self.rows.push(Row::default());
            }
            let row = &mut self.rows[self.len];
            if !reader.read_row(row)? {
                break;
            }
            self.bytes += (row.raw.len() + row.terminator.bytes().len()) as u64;
            self.len += 1;
        }
        Ok(())
    }

    fn rows(&self) -> &[Row] {
        &self.rows[..self.len]
    }
}

/// Scans one input into its clean and quarantine files and report. On any
/// error nothing is left under the output names.
pub fn scan(input: &Input, cfg: &ScanConfig) -> anyhow::Result<Report> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let path = &input.path;
    let src = open_input(path, input.compression)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    if let (Some(bar), Some(size)) = (cfg.progress, src.size) {
        bar.set_length(size);
    }
    let stats = src.stats.clone();
    let mut findings = Vec::new();
    if src.bom {
        findings.push(FileFinding {
            code: FileCode::BomPresent,
            message: "a UTF-8 byte-order mark was found; outputs are written without it".into(),
        });
    }
    let reader = reader_for(input.format, src.reader, path)?;

    let columns = reader
        .header()
        .map(|h| resolve_header(h, input, cfg.policy, &mut findings))
        .transpose()?;
    let ctx = Context {
        policy: cfg.policy,
        scan_time: cfg.scan_time,
        columns: columns.as_ref(),
        object_flag: cfg.object,
        object_from_file: input.object_from_file(cfg.policy),
        ai: cfg.detector.map(|(detector, threshold)| AiContext {
            detector,
            threshold,
            columns: match &cfg.policy.detector.text_columns {
                c if c.is_empty() => std::sync::OnceLock::new(),
                c => std::sync::OnceLock::from(c.clone()),
            },
        }),
    };
    let scan_id = new_scan_id(path, started_at);
    let tagger = Tagger::new(cfg.policy, &scan_id, cfg.scan_time, path);
    if let Some(h) = reader.header() {
        for name in &tagger.names {
            if h.names.iter().any(|n| n.trim().eq_ignore_ascii_case(name)) {
                bail!(Located::new(
                    path,
                    1,
                    1,
                    format!(
                        "the tag column `{name}` ([tagging]) is already in the header; was this file tagged by an earlier scan?"
                    ),
                ));
            }
        }
    }
    let tag_names: Vec<&str> = tagger.names.iter().map(String::as_str).collect();
    let mut writer = RowWriter::create(
        &input.outputs,
        input.format,
        reader.header(),
        &tag_names,
        ctx.ai.is_some(),
    )
    .with_context(|| format!("{}: cannot create outputs", input.outputs.clean.display()))?;

    let header_bytes = reader
        .header()
        .map_or(0, |h| (h.raw.len() + h.terminator.bytes().len()) as u64);
    let mut spool = RowSpool::new().context("cannot create a temp file for the audit log")?;
    let (reader, tally, decoded_bytes) =
        run_batches(reader, &ctx, &mut writer, &mut spool, &tagger, cfg, &stats).map_err(|e| {
            match e {
                StageError::Input(e) => anyhow::Error::from(e),
                StageError::Output(e) => anyhow::Error::from(e)
                    .context(format!("{}: write failed", input.outputs.clean.display())),
                StageError::Interrupted => Interrupted.into(),
            }
        })?;
    let decoded_bytes = decoded_bytes + header_bytes;

    let (lf, crlf) = reader.line_endings();
    if lf > 0 && crlf > 0 {
        findings.push(FileFinding {
            code: FileCode::LineEndingMixed,
            message: format!("{lf} lines end with LF and {crlf} with CRLF (header included)"),
        });
    }
    if columns.is_none() && tally.rows_total > 0 {
        missing_keys_finding(cfg.policy.required, tally.fields_seen, &mut findings);
    }
    target_limits(
        cfg.policy,
        &tally,
        decoded_bytes,
        columns.as_ref(),
        &mut findings,
    );

    let (clean, quarantine) = writer
        .finish()
        .with_context(|| format!("{}: cannot write outputs", input.outputs.clean.display()))?;
    let mut report = Report {
        schema: crate::report::REPORT_SCHEMA,
        scan_id: scan_id.clone(),
        crmguard_version: env!("CARGO_PKG_VERSION"),
        input: InputInfo {
            path: path.clone(),
            format: input.format.name(),
            delimiter: match input.format {
                Format::Csv { delimiter } => Some((delimiter as char).to_string()),
                _ => None,
            },
            compression: match input.compression {
                Compression::None => None,
                Compression::Gzip => Some("gzip"),
                Compression::Zstd => Some("zstd"),
            },
            bytes: stats.bytes_read(),
            blake3: stats.blake3(),
            object: cfg
                .object
                .or(input.object_from_file(cfg.policy))
                .map(String::from),
        },
        policy: PolicyInfo {
            path: match &cfg.policy.source {
                PolicySource::BuiltIn => None,
                PolicySource::File(p) => Some(p.clone()),
            },
            blake3: cfg.policy.blake3.clone(),
        },
        started_at: started_at.to_string(),
        scan_time: cfg.scan_time.to_string(),
        elapsed_ms: clock.elapsed().as_millis() as u64,
        rows_total: tally.rows_total,
        rows_clean: tally.rows_clean,
        rows_quarantined: tally.rows_quarantined,
        reasons: tally.reasons_map(),
        missing_fields: tally.missing_map(),
        notices: tally.notices.clone(),
        file_findings: findings,
        ai_text: ctx.ai.as_ref().map(|ai| AiText {
            model: ai.detector.id().to_string(),
            model_path: cfg.policy.detector.model.clone(),
            threshold: ai.threshold,
            min_words: crate::detector::MIN_WORDS,
            text_columns: ai.columns.get().cloned().unwrap_or_default(),
            text_columns_inferred: cfg.policy.detector.text_columns.is_empty(),
            rows_judged: tally.ai.judged,
            rows_flagged: tally.ai.flagged,
            rows_too_short: tally.ai.too_short,
            rows_disclosed: tally.ai.disclosed,
            rows_without_text: tally.ai.no_text,
            top_signals: tally.top_signals(10),
        }),
        outputs: vec![
            OutputInfo {
                kind: "clean",
                summary: clean.summary.clone(),
            },
            OutputInfo {
                kind: "quarantine",
                summary: quarantine.summary.clone(),
            },
        ],
        audit: None,
    };
    debug_assert_eq!(
        report.rows_clean + report.rows_quarantined,
        report.rows_total
    );
    // The audit record goes in before the outputs appear: a log that lacks
    // a scan whose files exist would be the silent failure this tool is
    // against. A second Ctrl-C must not cut the record in half.
    cfg.critical.store(true, Ordering::SeqCst);
    let head = AuditLog::new(cfg.audit_log).record_scan(&report, spool);
    cfg.critical.store(false, Ordering::SeqCst);
    let head = head.with_context(|| format!("{}: cannot append", cfg.audit_log.display()))?;
    report.audit = Some(AuditInfo {
        log: cfg.audit_log.to_owned(),
        seq: head.seq,
        head: head.hash,
    });
    let persisted = clean.persist().and_then(|_| quarantine.persist());
    persisted
        .with_context(|| format!("{}: cannot write outputs", input.outputs.clean.display()))?;
    let mut json = serde_json::to_vec_pretty(&report)?;
    json.push(b'\n');
    write_atomically(&input.outputs.report, &json)
        .with_context(|| format!("{}: cannot write", input.outputs.report.display()))?;
    Ok(report)
}

enum StageError {
    Input(Located),
    Output(std::io::Error),
    Interrupted,
}

/// The three stages over one file: a reader thread parses batches ahead;
/// the pool checks batch k+1 while this thread writes batch k in order.
/// Batches and verdict buffers are recycled, so memory stays at a few
/// batches. Returns the reader (for its line-ending counts), the tally and
/// the bytes of the records.
fn run_batches(
    mut reader: Box<dyn RecordReader>,
    ctx: &Context,
    writer: &mut RowWriter,
    spool: &mut RowSpool,
    tagger: &Tagger,
    cfg: &ScanConfig,
    stats: &crate::input::InputStats,
) -> Result<(Box<dyn RecordReader>, Tally, u64), StageError> {
    use std::sync::mpsc::sync_channel;

    let (full_tx, full_rx) = sync_channel::<Result<Batch, Located>>(1);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    std::thread::scope(|scope| {
        let read = scope.spawn(move || {
            // Enough batches to keep every stage busy; after that, wait for
            // one to come back, so memory and allocations stay flat.
            let mut allocated = 0;
            loop {
                let mut batch = match empty_rx.try_recv() {
                    Ok(b) => b,
                    Err(_) if allocated < BATCHES_IN_FLIGHT => {
                        allocated += 1;
                        Batch::default()
                    }
                    Err(_) => match empty_rx.recv() {
                        Ok(b) => b,
                        // The consumer stopped.
                        Err(_) => return reader,
                    },
                };
                let result = batch.fill(reader.as_mut());
                let done = result.is_err() || batch.len == 0;
                // A closed channel means the consumer stopped (error or
                // Ctrl-C): stop reading too.
                if full_tx.send(result.map(|()| batch)).is_err() || done {
                    return reader;
                }
            }
        });

        // Owned here, so it can be dropped before the reader is joined.
        let empty_tx = empty_tx;
        let mut tally = Tally::default();
        let mut bytes = 0u64;
        let mut pending: Option<(Batch, Vec<Verdict>)> = None;
        let mut spare: Vec<Verdict> = Vec::with_capacity(BATCH_ROWS);
        let outcome = loop {
            let batch = match full_rx.recv() {
                Ok(Ok(batch)) => batch,
                Ok(Err(e)) => break Err(StageError::Input(e)),
                Err(_) => unreachable!("the reader sends an empty batch before it stops"),
            };
            if cfg.interrupted.load(Ordering::Relaxed) {
                break Err(StageError::Interrupted);
            }
            if let Some(ai) = &ctx.ai {
                ai.columns.get_or_init(|| infer_columns(batch.rows(), ctx));
            }
            let mut verdicts = std::mem::take(&mut spare);
            let (written, ()) = rayon::join(
                || -> Result<Option<(Batch, Vec<Verdict>)>, StageError> {
                    let Some((done, verdicts)) = pending.take() else {
                        return Ok(None);
                    };
                    let mut tags = Vec::with_capacity(tagger.names.len());
                    for (row, verdict) in done.rows().iter().zip(&verdicts) {
                        tally.add(verdict);
                        if verdict.is_clean() {
                            tagger.values(row, verdict, &mut tags)?;
                            writer.write_clean(row, &tags).map_err(StageError::Output)?;
                        } else {
                            let reasons = verdict.reasons.joined();
                            let mut values = vec![
                                TagValue::Number(row.number as f64),
                                TagValue::Text(reasons.clone()),
                            ];
                            if ctx.ai.is_some() {
                                values.push(ai_score(verdict));
                                values.push(TagValue::Text(
                                    verdict
                                        .ai
                                        .finding()
                                        .map(|a| a.signals_text())
                                        .unwrap_or_default(),
                                ));
                            }
                            writer
                                .write_quarantine(row, &values)
                                .map_err(StageError::Output)?;
                            // The log keeps the row's hash, never its content.
                            spool
                                .push(row.number, &reasons, blake3::hash(&row.raw).as_bytes())
                                .map_err(StageError::Output)?;
                        }
                    }
                    bytes += done.bytes;
                    Ok(Some((done, verdicts)))
                },
                || {
                    batch
                        .rows()
                        .par_iter()
                        .map(|row| check_row(row, ctx))
                        .collect_into_vec(&mut verdicts)
                },
            );
            match written {
                Ok(Some((done, old))) => {
                    spare = old;
                    let _ = empty_tx.send(done);
                }
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            if let Some(bar) = cfg.progress {
                bar.set_position(stats.bytes_read());
            }
            if batch.len == 0 {
                break Ok(());
            }
            pending = Some((batch, verdicts));
        };
        // Unblock the reader if it waits to hand over a batch or to get one
        // back.
        drop(full_rx);
        drop(empty_tx);
        let reader = read.join().expect("the reader thread does not panic");
        outcome.map(|()| (reader, tally, bytes))
    })
}

/// The detector's score as crmguard writes it: three decimals, empty when
/// the row was not judged.
fn ai_score(verdict: &Verdict) -> TagValue {
    match verdict.ai.finding() {
        Some(a) => TagValue::Number((a.score as f64 * 1000.0).round() / 1000.0),
        None => TagValue::Null,
    }
}

/// A short id for one file's scan, shared by the report, the tags and the
/// audit log: unique across runs (time, process) and inputs (path).
fn new_scan_id(path: &Path, started_at: jiff::Timestamp) -> String {
    let mut h = blake3::Hasher::new();
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(&started_at.as_nanosecond().to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.finalize().to_hex()[..20].to_string()
}

/// Builds the `[tagging]` values of clean rows.
struct Tagger {
    names: Vec<String>,
    kinds: Vec<TagKind>,
    scan_id: String,
    checked_at: String,
    path: PathBuf,
}

impl Tagger {
    fn new(policy: &Policy, scan_id: &str, scan_time: jiff::Timestamp, path: &Path) -> Tagger {
        let (kinds, names) = policy
            .tagging
            .iter()
            .flat_map(|t| t.columns())
            .map(|(k, n)| (k, n.to_string()))
            .unzip();
        Tagger {
            names,
            kinds,
            scan_id: scan_id.to_string(),
            // Salesforce's datetime format: yyyy-MM-ddTHH:mm:ss.SSSZ.
            checked_at: scan_time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            path: path.to_owned(),
        }
    }

    fn values(
        &self,
        row: &Row,
        verdict: &Verdict,
        out: &mut Vec<TagValue>,
    ) -> Result<(), StageError> {
        out.clear();
        if self.kinds.is_empty() {
            return Ok(());
        }
        if let crate::input::Content::Object(map) = &row.content
            && let Some(name) = self
                .names
                .iter()
                .find(|n| map.keys().any(|k| k.trim().eq_ignore_ascii_case(n)))
        {
            return Err(StageError::Input(Located::new(
                &self.path,
                row.line,
                1,
                format!(
                    "record {} already has the tag key `{name}` ([tagging]); was this file tagged by an earlier scan?",
                    row.number
                ),
            )));
        }
        for kind in &self.kinds {
            out.push(match kind {
                TagKind::ScanId => TagValue::Text(self.scan_id.clone()),
                TagKind::CheckedAt => TagValue::Text(self.checked_at.clone()),
                TagKind::AiScore => ai_score(verdict),
            });
        }
        Ok(())
    }
}

/// Resolves the CSV header against the policy: a duplicate is an error; a
/// missing required column is a finding (every row then lacks the value).
fn resolve_header(
    header: &Header,
    input: &Input,
    policy: &Policy,
    findings: &mut Vec<FileFinding>,
) -> anyhow::Result<Columns> {
    let columns = Columns::resolve(header, policy);
    if let Some(dup) = columns.duplicate() {
        return Err(Located::new(
            &input.path,
            1,
            1,
            format!("{}: {dup}; nothing written", FileCode::HeaderDuplicate),
        )
        .into());
    }
    let missing = columns.missing(policy);
    if !missing.is_empty() {
        findings.push(FileFinding {
            code: FileCode::MissingDisclosureColumns,
            message: format!(
                "the header has no column for {}: every row is quarantined with {}{}",
                names(missing),
                Reason::MissingDisclosure,
                delimiter_hint(header, input.format)
            ),
        });
    }
    Ok(columns)
}

/// A one-column header that holds another Bulk API delimiter is almost
/// always a file read with the wrong one (European Excel writes `;`).
fn delimiter_hint(header: &Header, format: Format) -> String {
    let Format::Csv { delimiter } = format else {
        return String::new();
    };
    if header.names.len() != 1 {
        return String::new();
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
    .map(|(_, word)| {
        format!(" (the header is one column holding `{word}`s: try --delimiter {word})")
    })
    .unwrap_or_default()
}

fn missing_keys_finding(required: FieldSet, seen: FieldSet, findings: &mut Vec<FileFinding>) {
    let never: FieldSet = required.iter().filter(|f| !seen.contains(*f)).collect();
    if !never.is_empty() {
        findings.push(FileFinding {
            code: FileCode::MissingDisclosureColumns,
            message: format!(
                "no record has a key for {}: every record is quarantined with {}",
                names(never),
                Reason::MissingDisclosure
            ),
        });
    }
}

fn target_limits(
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
