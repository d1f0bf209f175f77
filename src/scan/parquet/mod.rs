//! `crmguard scan dump.parquet`: the same checks as a CSV file's, by row
//! group. Batches of [`crate::batch::BATCH_ROWS`] rows are decoded on a thread of their
//! own, presented to the rules as the CSV path would see the same values
//! (`crate::batch`), and split into `NAME.clean.parquet` (the input's
//! schema) and `NAME.quarantine.parquet` (plus crmguard's columns).
//!
//! Faithful here means value-faithful: every row's values, types, nulls and
//! the schema's metadata come out as they went in, but the file is written
//! anew (its own row groups and pages, the input's compression codec), so
//! its bytes differ from the input's.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{Context as _, anyhow, bail};
use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use arrow_select::filter::filter_record_batch;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;
use parquet::basic::Compression as Codec;
use parquet::file::properties::WriterProperties;

mod read;
pub use read::ParquetRows;
use read::{Opened, Position, schema_header};

use super::cleanup::Plan;
use super::findings::{resolve_header, target_limits};
use super::tags::{Tagger, new_scan_id};
use super::{FileScan, Input, Interrupted, ScanConfig, commit, detector_report, report_counts};
use crate::audit::RowSpool;
use crate::batch::arrow::{VerdictColumns, column_names};
use crate::batch::{Checker, Outcome};
use crate::error::Located;
use crate::input::Row;
use crate::output::{AI_COLUMNS, AtomicFile, Finished, Mode, QUARANTINE_COLUMNS, TagValue};
use crate::policy::TagKind;
use crate::report::samples::Samples;
use crate::report::{InputInfo, OutputInfo, Report, Tally};
use crate::rules::Verdict;

/// Rows per row group written, at most: the writer holds a row group in
/// memory until it is flushed.
const ROW_GROUP_ROWS: usize = 64 * 1024;
/// And bytes (its encoded estimate), whichever comes first.
const ROW_GROUP_BYTES: usize = 32 << 20;

pub fn scan(input: &Input, cfg: &ScanConfig) -> anyhow::Result<FileScan> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let path = &input.path;
    refuse_text_options(cfg, path)?;
    let (file_bytes, blake3) = hash_file(path)?;
    let opened = Opened::open(path, cfg.policy.max_record_bytes)?;
    if let Some(bar) = cfg.progress {
        bar.set_length(file_bytes);
    }
    let names = column_names(&opened.schema);
    let mut findings = Vec::new();
    let columns = resolve_header(&schema_header(&names), input, cfg.policy, &mut findings)?;
    let mut checker = Checker::new(cfg.policy, &names, cfg.detector, cfg.scan_time)
        .map_err(|e| Located::new(path, 1, 1, format!("{e}; nothing written")))?
        .with_object(cfg.object, input.object_from_file(cfg.policy));
    let scan_id = new_scan_id(path, started_at);
    let tagger = Tagger::new(cfg.policy, &scan_id, cfg.scan_time, path);
    refuse_tag_columns(&tagger, &names, path)?;
    let mut out = Writers::create(input, &opened.schema, cfg, opened.codec)?;
    out.plan = super::cleanup_plan(input, cfg, Some(&schema_header(&names)), &scan_id)?;
    let mut spool = RowSpool::new().context("cannot create a temp file for the audit log")?;
    let (bytes, total_rows) = (file_bytes, opened.total_rows);
    let progress = |rows: u64| {
        if let Some(bar) = cfg.progress {
            bar.set_position(bytes.saturating_mul(rows) / total_rows);
        }
    };
    let (tally, record_bytes) = run(
        (opened.reader, &opened.at),
        &mut checker,
        &mut out,
        &mut spool,
        &tagger,
        cfg,
        &progress,
    )
    .map_err(|e| match e {
        Stop::Interrupted => Interrupted.into(),
        Stop::Error(e) => e,
    })?;
    target_limits(
        cfg.policy,
        &tally,
        record_bytes,
        Some(&columns),
        &mut findings,
    );
    let plan = (out.plan.take().map(|p| p.finish()))
        .transpose()
        .with_context(|| format!("{}: cannot write outputs", input.outputs.clean.display()))?;
    let [clean, quarantine] = out.finish(input)?;
    let ai_text = cfg.detector.map(|settings| {
        let names = checker.text_columns().unwrap_or_default().to_vec();
        detector_report(settings, names, cfg.policy, &tally)
    });
    let mut report = Report {
        scan_id,
        input: input_info(input, cfg, file_bytes, blake3),
        started_at: started_at.to_string(),
        elapsed_ms: clock.elapsed().as_millis() as u64,
        file_findings: findings,
        ai_text,
        cleanup: plan.as_ref().map(|(_, info)| info.clone()),
        outputs: output_infos(&clean, &quarantine, plan.as_ref().map(|(f, _)| f)),
        ..report_counts(&tally, cfg.policy, cfg.scan_time, false)
    };
    let files = commit::Outputs {
        clean,
        quarantine,
        cleanup: plan.map(|(f, _)| f),
    };
    commit::commit(input, cfg, &mut report, spool, files)?;
    // The run's reports show sample rows of text inputs only: a Parquet
    // row has no line to point at.
    Ok(FileScan {
        report,
        samples: Samples::default(),
        baseline_rows: None,
    })
}

/// The report's account of the files written.
fn output_infos(
    clean: &Finished,
    quarantine: &Finished,
    cleanup: Option<&Finished>,
) -> Vec<OutputInfo> {
    [("clean", clean), ("quarantine", quarantine)]
        .into_iter()
        .chain(cleanup.map(|f| ("cleanup", f)))
        .map(|(kind, f)| OutputInfo {
            kind,
            summary: f.summary.clone(),
        })
        .collect()
}

/// Options for text inputs that a Parquet input cannot honour: said, not
/// ignored, since a baseline that silently covered nothing would turn
/// known rows into new findings, or the reverse.
fn refuse_text_options(cfg: &ScanConfig, path: &Path) -> anyhow::Result<()> {
    if cfg.baseline.is_some() || cfg.write_baseline {
        bail!(
            "{}: --baseline and --write-baseline do not cover Parquet inputs yet",
            crate::terminal::path(path)
        );
    }
    if cfg.encoding.is_some() {
        bail!(
            "{}: --encoding is for text inputs; Parquet strings are UTF-8 by definition",
            crate::terminal::path(path)
        );
    }
    Ok(())
}

/// A schema already carrying a `[tagging]` column was most likely tagged
/// by an earlier scan: refused, rather than tagged twice.
fn refuse_tag_columns(tagger: &Tagger, names: &[String], path: &Path) -> anyhow::Result<()> {
    if let Some(name) =
        (tagger.names.iter()).find(|t| names.iter().any(|n| n.trim().eq_ignore_ascii_case(t)))
    {
        bail!(Located::new(
            path,
            1,
            1,
            format!(
                "the tag column `{name}` ([tagging]) is already in the schema; was this file tagged by an earlier scan?"
            ),
        ));
    }
    Ok(())
}

/// The report's account of the input file.
fn input_info(input: &Input, cfg: &ScanConfig, bytes: u64, blake3: String) -> InputInfo {
    InputInfo {
        path: input.path.clone(),
        format: "parquet",
        delimiter: None,
        compression: None,
        transcoded_from: None,
        bytes,
        blake3,
        object: cfg
            .object
            .or(input.object_from_file(cfg.policy))
            .map(String::from),
    }
}

enum Stop {
    Interrupted,
    Error(anyhow::Error),
}

/// Sends the reader's batches down `tx`, up to and with its first error
/// ([`read::next_batch`]).
fn read_batches(
    mut reader: ParquetRecordBatchReader,
    tx: &std::sync::mpsc::SyncSender<Result<RecordBatch, String>>,
) {
    while let Some(batch) = read::next_batch(&mut reader) {
        let failed = batch.is_err();
        if tx.send(batch).is_err() || failed {
            return;
        }
    }
}

/// Size and blake3 of the file's bytes, for the report: Parquet is read by
/// seeking, so the bytes cannot be hashed on their way to the reader.
fn hash_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        bail!("{}: cannot open: is a directory", path.display());
    }
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hasher.finalize().to_hex().to_string()))
}

/// Decodes batches on a thread of its own, one batch ahead, while this one
/// checks and writes. Returns the tally and the bytes the rows would take
/// as CSV (for the target's size limit).
fn run(
    (reader, position): (ParquetRecordBatchReader, &Position),
    checker: &mut Checker,
    out: &mut Writers<'_>,
    spool: &mut RowSpool,
    tagger: &Tagger,
    cfg: &ScanConfig,
    progress: &dyn Fn(u64),
) -> Result<(Tally, u64), Stop> {
    let path = out.path.clone();
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || read_batches(reader, &tx));
        let mut tally = Tally::default();
        let mut rows: Vec<Row> = Vec::new();
        let mut verdicts: Vec<Verdict> = Vec::new();
        let mut record_bytes = 0u64;
        let mut next = 0u64;
        for batch in rx {
            if cfg.interrupted.load(Ordering::Relaxed) {
                return Err(Stop::Interrupted);
            }
            let limit = cfg.policy.max_record_bytes;
            let batch =
                (position.rows_of(batch, next, limit, &path, &mut rows)).map_err(Stop::Error)?;
            next += batch.num_rows() as u64;
            checker.check(&rows, &mut verdicts);
            for (row, v) in rows.iter().zip(&verdicts) {
                tally.add(row, v);
                record_bytes += row.raw.len() as u64 + 1;
                if !v.is_clean() {
                    // The log keeps the row's hash, never its content: here
                    // the hash of the CSV record `crate::batch` made of it.
                    let reasons = v.reasons.joined();
                    spool
                        .push(row.number, &reasons, blake3::hash(&row.raw).as_bytes())
                        .map_err(|e| Stop::Error(e.into()))?;
                    if let Some(plan) = &mut out.plan {
                        plan.add(row, v.reasons);
                    }
                }
            }
            out.write(&batch, &rows, &verdicts, tagger)
                .map_err(Stop::Error)?;
            progress(next);
        }
        Ok((tally, record_bytes))
    })
}

/// The clean and quarantine files being written, and the cleanup plan
/// when the run writes one.
struct Writers<'p> {
    path: std::path::PathBuf,
    clean: ArrowWriter<AtomicFile>,
    quarantine: ArrowWriter<AtomicFile>,
    clean_schema: SchemaRef,
    quarantine_schema: SchemaRef,
    tag_kinds: Vec<TagKind>,
    ai_columns: bool,
    plan: Option<Plan<'p>>,
}

impl<'p> Writers<'p> {
    fn create(
        input: &Input,
        schema: &SchemaRef,
        cfg: &ScanConfig,
        codec: Codec,
    ) -> anyhow::Result<Writers<'p>> {
        let tags: Vec<(TagKind, String)> = (cfg.policy.tagging.iter())
            .flat_map(|t| t.columns())
            .map(|(k, n)| (k, n.to_string()))
            .collect();
        let extend = |extra: Vec<Field>| {
            let mut fields: Vec<Arc<Field>> = schema.fields().iter().cloned().collect();
            fields.extend(extra.into_iter().map(Arc::new));
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
        };
        let clean_schema = extend(
            (tags.iter())
                .map(|(k, n)| match k {
                    TagKind::AiScore => Field::new(n, DataType::Float64, true),
                    _ => Field::new(n, DataType::Utf8, false),
                })
                .collect(),
        );
        let ai_columns = cfg.detector.is_some();
        let quarantine_schema = extend(
            QUARANTINE_COLUMNS
                .iter()
                .chain(AI_COLUMNS.iter().filter(|_| ai_columns))
                .map(|name| match *name {
                    "crmguard_row" => Field::new(*name, DataType::Int64, false),
                    "crmguard_ai_score" => Field::new(*name, DataType::Float64, true),
                    _ => Field::new(*name, DataType::Utf8, false),
                })
                .collect(),
        );
        let props = WriterProperties::builder()
            .set_compression(codec)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .build();
        let open = |p: &std::path::Path, mode: Mode, schema: &SchemaRef| -> anyhow::Result<_> {
            let file = AtomicFile::create(p, mode)
                .with_context(|| format!("{}: cannot create outputs", p.display()))?;
            ArrowWriter::try_new(file, schema.clone(), Some(props.clone()))
                .with_context(|| format!("{}: cannot create outputs", p.display()))
        };
        Ok(Writers {
            path: input.path.clone(),
            // As for text outputs: the quarantine holds personal data for
            // few eyes.
            clean: open(&input.outputs.clean, Mode::Shared, &clean_schema)?,
            quarantine: open(&input.outputs.quarantine, Mode::Private, &quarantine_schema)?,
            clean_schema,
            quarantine_schema,
            tag_kinds: tags.into_iter().map(|(k, _)| k).collect(),
            ai_columns,
            plan: None,
        })
    }

    /// Splits one batch between the two files.
    fn write(
        &mut self,
        batch: &RecordBatch,
        rows: &[Row],
        verdicts: &[Verdict],
        tagger: &Tagger,
    ) -> anyhow::Result<()> {
        let clean: Vec<bool> = verdicts
            .iter()
            .map(|v| Outcome::of(v) != Outcome::Quarantine)
            .collect();
        let quarantined: Vec<bool> = clean.iter().map(|c| !c).collect();
        let fail = |e: parquet::errors::ParquetError| {
            anyhow!("{}: write failed: {e}", self.path.display())
        };
        if clean.iter().any(|c| *c) {
            let kept = filter_record_batch(batch, &BooleanArray::from(clean.clone()))?;
            let mut columns = kept.columns().to_vec();
            columns.extend(self.tag_columns(rows, verdicts, &clean, tagger)?);
            let out = RecordBatch::try_new(self.clean_schema.clone(), columns)?;
            self.clean.write(&out).map_err(fail)?;
        }
        if quarantined.iter().any(|q| *q) {
            let held = filter_record_batch(batch, &BooleanArray::from(quarantined.clone()))?;
            let added = VerdictColumns::new(rows, verdicts, Some(&quarantined));
            let mut columns = held.columns().to_vec();
            columns.extend([added.row, added.reasons]);
            if self.ai_columns {
                columns.extend([added.ai_score, added.ai_signals]);
            }
            let out = RecordBatch::try_new(self.quarantine_schema.clone(), columns)?;
            self.quarantine.write(&out).map_err(fail)?;
        }
        Ok(())
    }

    /// The `[tagging]` columns of the clean rows.
    fn tag_columns(
        &self,
        rows: &[Row],
        verdicts: &[Verdict],
        keep: &[bool],
        tagger: &Tagger,
    ) -> anyhow::Result<Vec<ArrayRef>> {
        if self.tag_kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut values: Vec<Vec<TagValue>> = vec![Vec::new(); self.tag_kinds.len()];
        let mut tags = Vec::new();
        for ((row, v), _) in rows.iter().zip(verdicts).zip(keep).filter(|(_, k)| **k) {
            tagger.values(row, v, &mut tags)?;
            for (column, value) in values.iter_mut().zip(tags.drain(..)) {
                column.push(value);
            }
        }
        Ok((self.tag_kinds.iter().zip(values))
            .map(|(kind, column)| -> ArrayRef {
                match kind {
                    TagKind::AiScore => {
                        Arc::new(Float64Array::from_iter(column.iter().map(|v| match v {
                            TagValue::Number(n) => Some(*n),
                            _ => None,
                        })))
                    }
                    _ => Arc::new(StringArray::from_iter_values(column.iter().map(
                        |v| match v {
                            TagValue::Text(s) => s.clone(),
                            _ => String::new(),
                        },
                    ))),
                }
            })
            .collect())
    }

    /// Both files complete, still under their temp names.
    fn finish(self, input: &Input) -> anyhow::Result<[crate::output::Finished; 2]> {
        let close = |w: ArrowWriter<AtomicFile>| -> anyhow::Result<crate::output::Finished> {
            let file = w.into_inner()?;
            Ok(file.finish()?)
        };
        let clean = close(self.clean);
        let quarantine = close(self.quarantine);
        let context = |p: &Path| format!("{}: cannot write outputs", p.display());
        Ok([
            clean.with_context(|| context(&input.outputs.clean))?,
            quarantine.with_context(|| context(&input.outputs.quarantine))?,
        ])
    }
}
