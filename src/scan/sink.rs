//! The write stage: checked rows, in input order, go to the clean or
//! quarantine file, the audit spool, the tally, the report's samples and
//! the file-level diagnoses. Everything here sees rows one at a time, in
//! order, so what it keeps does not depend on the thread count.

use std::collections::BTreeSet;

use super::cleanup::Plan;
use super::diagnose::EncodingSniff;
use super::tags::{Tagger, ai_score};
use crate::audit::RowSpool;
use crate::baseline::Baseline;
use crate::error::Located;
use crate::input::{Content, Row};
use crate::output::{RowWriter, TagValue};
use crate::report::Tally;
use crate::report::samples::Samples;
use crate::rules::explain::explain;
use crate::rules::{Context, Verdict};

/// JSON keys remembered from the first records, for the hint that names a
/// near-miss disclosure key.
const KEYS_KEPT: usize = 256;

/// Why a stage stopped: the input, an output, or a signal.
pub enum StageError {
    Input(Located),
    Output(std::io::Error),
    Interrupted,
}

/// `'p`: the policy the cleanup plan reads, which outlives the writer and
/// spool this borrows.
pub struct RowSink<'a, 'p> {
    pub writer: &'a mut RowWriter,
    pub spool: &'a mut RowSpool,
    pub tagger: &'a Tagger,
    /// The CSV delimiter, to point at cells.
    pub delimiter: u8,
    pub baseline: Option<&'a Baseline>,
    /// Every quarantined row again, for `--write-baseline`.
    pub new_baseline: Option<RowSpool>,
    pub tally: Tally,
    pub samples: Samples,
    pub encoding: EncodingSniff,
    /// Keys of the first JSON records (at most `KEYS_KEPT`).
    pub keys: BTreeSet<String>,
    /// `--cleanup-plan`: the quarantined rows' Ids and actions.
    pub plan: Option<Plan<'p>>,
}

impl<'a, 'p> RowSink<'a, 'p> {
    pub fn new(
        writer: &'a mut RowWriter,
        spool: &'a mut RowSpool,
        tagger: &'a Tagger,
        delimiter: u8,
        baseline: Option<&'a Baseline>,
        write_baseline: bool,
        plan: Option<Plan<'p>>,
    ) -> std::io::Result<RowSink<'a, 'p>> {
        Ok(RowSink {
            writer,
            spool,
            tagger,
            delimiter,
            baseline,
            new_baseline: write_baseline.then(RowSpool::new).transpose()?,
            tally: Tally::default(),
            samples: Samples::default(),
            encoding: EncodingSniff::default(),
            keys: BTreeSet::new(),
            plan,
        })
    }

    /// Writes a batch of rows with their verdicts, in order.
    pub fn write(
        &mut self,
        rows: &[Row],
        verdicts: &[Verdict],
        ctx: &Context,
    ) -> Result<(), StageError> {
        let mut tags = Vec::with_capacity(self.tagger.names.len());
        for (row, verdict) in rows.iter().zip(verdicts) {
            self.tally.add(row, verdict);
            if self.keys.len() < KEYS_KEPT
                && let Content::Object(map) = &row.content
            {
                self.keys.extend(map.keys().take(KEYS_KEPT).cloned());
            }
            if row.utf8 {
                self.encoding.add_valid(row);
            }
            self.tagger
                .check_added_keys(row)
                .map_err(StageError::Input)?;
            if verdict.is_clean() {
                self.tagger
                    .values(row, verdict, &mut tags)
                    .map_err(StageError::Input)?;
                self.writer
                    .write_clean(row, &tags)
                    .map_err(StageError::Output)?;
            } else {
                self.quarantine(row, verdict, ctx)?;
            }
        }
        Ok(())
    }

    fn quarantine(
        &mut self,
        row: &Row,
        verdict: &Verdict,
        ctx: &Context,
    ) -> Result<(), StageError> {
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
        if ctx.media.is_some() {
            values.push(TagValue::Text(verdict.media_text()));
        }
        self.writer
            .write_quarantine(row, &values)
            .map_err(StageError::Output)?;
        // The log and the baseline keep the row's hash, never its content.
        let hash = blake3::hash(&row.raw);
        let hash = hash.as_bytes();
        self.spool
            .push(row.number, &reasons, hash)
            .map_err(StageError::Output)?;
        if let Some(b) = &mut self.new_baseline {
            b.push(row.number, &reasons, hash)
                .map_err(StageError::Output)?;
        }
        if let Some(plan) = &mut self.plan {
            plan.add(row, verdict.reasons);
        }
        if !row.utf8 {
            self.encoding.add(row);
        }
        let baselined = self
            .baseline
            .is_some_and(|b| b.covers(hash, verdict.reasons));
        if baselined {
            self.tally.add_baselined(verdict);
        } else if self.samples.wants(verdict) {
            let e = explain(row, ctx, verdict, self.delimiter);
            self.samples.add(row.number, verdict, &e);
        }
        Ok(())
    }
}
