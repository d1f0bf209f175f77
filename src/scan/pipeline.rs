//! The three stages over one file: read, check in parallel, write in order.

use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::ScanConfig;
use super::sink::RowSink;
use crate::error::Located;
use crate::input::{InputStats, RecordReader, Row};
use crate::rules::undisclosed_ai_text::infer_columns;
use crate::rules::{Context, TextColumns, Verdict, check_row};

/// Rows per batch, and bytes per batch (as held in memory, see
/// `Row::footprint`), whichever comes first. Fixed, not
/// derived from the thread count: batches are also the unit of progress and
/// interruption, and must not change what is written.
pub const BATCH_ROWS: usize = 4096;
const BATCH_BYTES: usize = 8 << 20;
/// Batches alive at once: one being read, one queued, one being checked,
/// one being written.
const BATCHES_IN_FLIGHT: usize = 4;
/// A recycled row keeps buffers up to this size. A larger one (a big record
/// read earlier) is dropped before the row is reused: kept, each of a
/// batch's 4,096 rows could come to hold a record of `max_record_bytes`.
const RETAIN_ROW_BYTES: usize = 16 << 10;

#[derive(Default)]
struct Batch {
    rows: Vec<Row>,
    len: usize,
    /// The records' bytes as read.
    bytes: u64,
    /// What the rows take in memory.
    footprint: usize,
}

impl Batch {
    fn fill(&mut self, reader: &mut dyn RecordReader) -> Result<(), Located> {
        self.len = 0;
        self.bytes = 0;
        self.footprint = 0;
        while self.len < BATCH_ROWS && self.footprint < BATCH_BYTES {
            if self.rows.len() == self.len {
                self.rows.push(Row::default());
            }
            let row = &mut self.rows[self.len];
            row.release_buffers_over(RETAIN_ROW_BYTES);
            if !reader.read_row(row)? {
                break;
            }
            self.bytes += (row.raw.len() + row.terminator.bytes().len()) as u64;
            self.footprint += row.footprint();
            self.len += 1;
        }
        // Rows past this batch's end are not reused before the next fill
        // reaches them; they may hold big buffers from an earlier one.
        self.rows.truncate(self.len);
        Ok(())
    }

    fn rows(&self) -> &[Row] {
        &self.rows[..self.len]
    }
}

pub enum StageError {
    Input(Located),
    Output(std::io::Error),
    Interrupted,
}

/// The three stages over one file: a reader thread parses batches ahead;
/// the pool checks batch k+1 while this thread writes batch k in order
/// into `sink`. Batches and verdict buffers are recycled, so memory stays
/// at a few batches. Returns the reader (for its line-ending counts) and
/// the bytes of the records.
pub fn run_batches(
    mut reader: Box<dyn RecordReader>,
    ctx: &Context,
    sink: &mut RowSink,
    cfg: &ScanConfig,
    stats: &InputStats,
) -> Result<(Box<dyn RecordReader>, u64), StageError> {
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
                ai.columns.get_or_init(|| {
                    TextColumns::new(infer_columns(batch.rows(), ctx), ctx.columns)
                });
            }
            let mut verdicts = std::mem::take(&mut spare);
            let (written, ()) = rayon::join(
                || -> Result<Option<(Batch, Vec<Verdict>)>, StageError> {
                    let Some((done, verdicts)) = pending.take() else {
                        return Ok(None);
                    };
                    sink.write(done.rows(), &verdicts, ctx)?;
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
        outcome.map(|()| (reader, bytes))
    })
}
