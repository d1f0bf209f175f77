//! A table checked in parts that no one process sees whole: Spark
//! partitions, checked on executors. Each part is checked by a
//! [`PartChecker`] and sums itself up in a [`PartSummary`] (counts and
//! digests, never rows); the driver adds the summaries up in part order in
//! a [`TableAudit`], takes the quarantined rows' hashes for the audit log,
//! and writes one report and one scan record for the whole table.
//!
//! Digests: a table has no file bytes to hash, so the report's `blake3` of
//! the input and of each output is a digest of its rows: the blake3 of the
//! rows' own blake3s (of the CSV record [`crate::batch`] makes of each) in
//! row order, one per part, and then the blake3 of the parts' digests in
//! part order. `bytes` counts those CSV records with a line break each.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::ArrowError;
use serde::{Deserialize, Serialize};

use super::arrow::{VerdictColumns, rows_from_batch};
use super::{Checker, Outcome};
use crate::audit::{AuditLog, RowSpool};
use crate::input::{Format, Header, Row, Terminator};
use crate::policy::Policy;
use crate::report::{AiText, AuditInfo, InputInfo, OutputInfo, Report, Tally};
use crate::rules::{AiSettings, Columns, Verdict};

/// Rows, bytes and a digest of rows in order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Digest {
    pub rows: u64,
    pub bytes: u64,
    /// Hex blake3 of the rows' blake3s.
    pub blake3: String,
}

struct Digester {
    rows: u64,
    bytes: u64,
    hasher: blake3::Hasher,
}

impl Digester {
    fn new() -> Digester {
        Digester {
            rows: 0,
            bytes: 0,
            hasher: blake3::Hasher::new(),
        }
    }

    fn add(&mut self, bytes: u64, hash: &[u8; 32]) {
        self.rows += 1;
        self.bytes += bytes;
        self.hasher.update(hash);
    }

    fn digest(&self) -> Digest {
        Digest {
            rows: self.rows,
            bytes: self.bytes,
            blake3: self.hasher.finalize().to_hex().to_string(),
        }
    }
}

/// What one part sends back: counts and digests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartSummary {
    /// The part's index (Spark's partition id).
    pub part: u64,
    pub tally: Tally,
    pub input: Digest,
    pub clean: Digest,
    pub quarantine: Digest,
}

/// Checks the batches of one part, its rows numbered from `first_row + 1`
/// (`first_row`: the rows of the parts before it).
pub struct PartChecker {
    next: u64,
    tally: Tally,
    input: Digester,
    clean: Digester,
    quarantine: Digester,
    rows: Vec<Row>,
    verdicts: Vec<Verdict>,
}

/// One batch's verdicts, and the hex blake3 of each quarantined row's CSV
/// record (null for the other rows): the audit log's `row_blake3`.
pub struct Checked {
    pub columns: VerdictColumns,
    pub row_blake3: ArrayRef,
}

impl PartChecker {
    pub fn new(first_row: u64) -> PartChecker {
        PartChecker {
            next: first_row,
            tally: Tally::default(),
            input: Digester::new(),
            clean: Digester::new(),
            quarantine: Digester::new(),
            rows: Vec::new(),
            verdicts: Vec::new(),
        }
    }

    /// Checks the part's next batch. `checker` should have its text columns
    /// decided ([`Checker::set_text_columns`]): inferred per part, they
    /// could differ between parts.
    pub fn check(
        &mut self,
        checker: &mut Checker,
        batch: &RecordBatch,
    ) -> Result<Checked, ArrowError> {
        rows_from_batch(batch, self.next, &mut self.rows)?;
        self.next += batch.num_rows() as u64;
        checker.check(&self.rows, &mut self.verdicts);
        let mut hashes = Vec::with_capacity(self.rows.len());
        for (row, v) in self.rows.iter().zip(&self.verdicts) {
            self.tally.add(row, v);
            let hash = blake3::hash(&row.raw);
            let bytes = row.raw.len() as u64 + 1;
            self.input.add(bytes, hash.as_bytes());
            if Outcome::of(v) == Outcome::Quarantine {
                self.quarantine.add(bytes, hash.as_bytes());
                hashes.push(Some(hash.to_hex().to_string()));
            } else {
                self.clean.add(bytes, hash.as_bytes());
                hashes.push(None);
            }
        }
        Ok(Checked {
            columns: VerdictColumns::new(&self.rows, &self.verdicts, None),
            row_blake3: Arc::new(StringArray::from(hashes)),
        })
    }

    pub fn finish(self, part: u64) -> PartSummary {
        PartSummary {
            part,
            tally: self.tally,
            input: self.input.digest(),
            clean: self.clean.digest(),
            quarantine: self.quarantine.digest(),
        }
    }
}

/// How the table came to be checked, for its report.
pub struct TableInfo<'a> {
    /// What the report's `input.path` says: the table's source.
    pub path: PathBuf,
    /// `input.format`, e.g. `spark`.
    pub format: &'static str,
    pub names: &'a [String],
    pub policy: &'a Policy,
    pub object: Option<&'a str>,
    pub scan_time: jiff::Timestamp,
    /// The detector and the columns it judged; `None` when turned off.
    pub ai: Option<(AiSettings<'a>, Vec<String>)>,
    /// Named in the report's `outputs`, if the caller writes them.
    pub clean_path: PathBuf,
    pub quarantine_path: PathBuf,
}

/// The driver's side: part summaries added up in order, quarantined rows
/// spooled for the audit log.
pub struct TableAudit {
    started_at: jiff::Timestamp,
    clock: std::time::Instant,
    parts: u64,
    tally: Tally,
    digests: [(u64, u64, blake3::Hasher); 3],
    spool: RowSpool,
}

impl TableAudit {
    pub fn new() -> std::io::Result<TableAudit> {
        Ok(TableAudit {
            started_at: jiff::Timestamp::now(),
            clock: std::time::Instant::now(),
            parts: 0,
            tally: Tally::default(),
            digests: std::array::from_fn(|_| (0, 0, blake3::Hasher::new())),
            spool: RowSpool::new()?,
        })
    }

    /// Adds the next part's summary: parts must come in order, all of them.
    pub fn add_part(&mut self, s: &PartSummary) -> anyhow::Result<()> {
        anyhow::ensure!(
            s.part == self.parts,
            "part {} came where part {} was expected: parts must be added in order, each once",
            s.part,
            self.parts
        );
        self.parts += 1;
        self.tally.merge(&s.tally);
        for (acc, d) in self
            .digests
            .iter_mut()
            .zip([&s.input, &s.clean, &s.quarantine])
        {
            acc.0 += d.rows;
            acc.1 += d.bytes;
            let part = blake3::Hash::from_hex(&d.blake3)
                .with_context(|| format!("part {}: not a blake3 digest: {:?}", s.part, d.blake3))?;
            acc.2.update(part.as_bytes());
        }
        Ok(())
    }

    /// Spools one quarantined row for the audit log, in row order.
    pub fn push_quarantined(
        &mut self,
        row: u64,
        reasons: &str,
        blake3_hex: &str,
    ) -> anyhow::Result<()> {
        let hash = blake3::Hash::from_hex(blake3_hex)
            .with_context(|| format!("row {row}: not a blake3 hash: {blake3_hex:?}"))?;
        Ok(self.spool.push(row, reasons, hash.as_bytes())?)
    }

    /// The table's report; recorded in `audit_log` (one scan record, one
    /// record per quarantined row) when given.
    pub fn finish(self, info: &TableInfo, audit_log: Option<&Path>) -> anyhow::Result<Report> {
        let header = Header {
            raw: Vec::new(),
            line: 1,
            delimiter: b',',
            terminator: Terminator::None,
            names: info.names.to_vec(),
        };
        let columns = Columns::resolve(&header, info.policy);
        let mut findings = Vec::new();
        findings.extend(crate::scan::findings::missing_columns(
            &columns,
            &header,
            Format::Parquet,
            info.policy,
        ));
        crate::scan::findings::target_limits(
            info.policy,
            &self.tally,
            self.digests[0].1,
            Some(&columns),
            &mut findings,
        );
        let digest = |i: usize| Digest {
            rows: self.digests[i].0,
            bytes: self.digests[i].1,
            blake3: self.digests[i].2.finalize().to_hex().to_string(),
        };
        let output = |kind: &'static str, path: &Path, d: Digest| OutputInfo {
            kind,
            summary: crate::output::OutputSummary {
                path: path.to_owned(),
                rows: d.rows,
                bytes: d.bytes,
                blake3: d.blake3,
            },
        };
        let input = digest(0);
        let mut scan_id = blake3::Hasher::new();
        scan_id.update(info.path.as_os_str().as_encoded_bytes());
        scan_id.update(&self.started_at.as_nanosecond().to_le_bytes());
        scan_id.update(input.blake3.as_bytes());
        let mut report = Report {
            scan_id: scan_id.finalize().to_hex()[..20].to_string(),
            input: InputInfo {
                path: info.path.clone(),
                format: info.format,
                delimiter: None,
                compression: None,
                transcoded_from: None,
                bytes: input.bytes,
                blake3: input.blake3,
                object: info.object.map(String::from),
            },
            started_at: self.started_at.to_string(),
            elapsed_ms: self.clock.elapsed().as_millis() as u64,
            file_findings: findings,
            ai_text: info.ai.as_ref().map(|(settings, names)| -> AiText {
                crate::scan::detector_report(*settings, names.clone(), info.policy, &self.tally)
            }),
            outputs: vec![
                output("clean", &info.clean_path, digest(1)),
                output("quarantine", &info.quarantine_path, digest(2)),
            ],
            ..crate::scan::report_counts(&self.tally, info.policy, info.scan_time, false)
        };
        if let Some(log) = audit_log {
            let head = AuditLog::new(log)
                .record_scan(&report, self.spool)
                .with_context(|| format!("{}: cannot append", log.display()))?;
            report.audit = Some(AuditInfo {
                log: log.to_owned(),
                seq: head.seq,
                head: head.hash,
            });
        }
        Ok(report)
    }
}
