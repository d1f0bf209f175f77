//! The three stages over one file: read, check in parallel, write in order.

use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use rayon::prelude::*;

use super::ScanConfig;
use super::sink::{RowSink, StageError};
use crate::batch::{BATCH_BYTES, BATCH_ROWS};
use crate::error::Located;
use crate::input::{InputStats, RecordReader, Row, RowParser};
use crate::rules::undisclosed_ai_text::infer_columns;
use crate::rules::{Context, TextColumns, Verdict, check_row};

/// Batches alive at once: one being read, one queued, one being checked,
/// one being written.
const BATCHES_IN_FLIGHT: usize = 4;
/// The reader starts a batch only while the ones it has handed over hold
/// fewer bytes than this (or none is out): with records of many MB, a batch
/// is one record, and four of them in flight would be four records'
/// worth of memory. So at most this, plus the batch being read.
const BYTES_IN_FLIGHT: usize = 12 << 20;
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
    /// The reader's error after the rows read: raised once those rows are
    /// parsed, so that an earlier row's parse error comes first, as it
    /// would from a reader that parsed as it read.
    error: Option<Located>,
    /// The rows' fields are parsed (the first batch, for column inference).
    parsed: bool,
}

impl Batch {
    /// Drops the rows' buffers over `RETAIN_ROW_BYTES`, once written.
    fn release_big_buffers(&mut self) {
        for row in &mut self.rows {
            row.release_buffers_over(RETAIN_ROW_BYTES);
        }
    }

    fn fill(&mut self, reader: &mut dyn RecordReader) {
        self.len = 0;
        self.bytes = 0;
        self.footprint = 0;
        self.error = None;
        self.parsed = false;
        while self.len < BATCH_ROWS && self.footprint < BATCH_BYTES {
            if self.rows.len() == self.len {
                self.rows.push(Row::default());
            }
            let row = &mut self.rows[self.len];
            match reader.split_row(row) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
            self.bytes += (row.raw.len() + row.terminator.bytes().len()) as u64;
            self.footprint += row.footprint();
            self.len += 1;
        }
        // Rows past this batch's end are not reused before the next fill
        // reaches them; they may hold big buffers from an earlier one.
        self.rows.truncate(self.len);
    }

    fn rows(&self) -> &[Row] {
        &self.rows[..self.len]
    }

    /// Parses every row (in the pool), for what needs the fields before the
    /// rows are checked.
    fn parse(&mut self, parser: &RowParser) -> Result<(), Located> {
        let first = FirstError::default();
        self.rows[..self.len].par_iter_mut().for_each(|row| {
            let result = parser.parse(row);
            first.keep(row, result)
        });
        self.parsed = true;
        first.into_result()
    }

    /// Parses (unless done) and checks every row, in the pool.
    fn check(
        &mut self,
        parser: &RowParser,
        ctx: &Context,
        verdicts: &mut Vec<Verdict>,
    ) -> Result<(), Located> {
        let first = FirstError::default();
        let parsed = self.parsed;
        self.rows[..self.len]
            .par_iter_mut()
            .map(|row| {
                if !parsed {
                    let result = parser.parse(row);
                    first.keep(row, result);
                }
                check_row(row, ctx)
            })
            .collect_into_vec(verdicts);
        self.parsed = true;
        first.into_result()
    }
}

/// The parse error of the earliest row in a batch, whichever worker met it.
#[derive(Default)]
struct FirstError(Mutex<Option<(u64, Located)>>);

impl FirstError {
    fn keep(&self, row: &Row, result: Result<(), Located>) {
        if let Err(e) = result {
            let mut first = self.0.lock().expect("no panics under this lock");
            if first.as_ref().is_none_or(|(n, _)| row.number < *n) {
                *first = Some((row.number, e));
            }
        }
    }

    fn into_result(self) -> Result<(), Located> {
        match self.0.into_inner().expect("no panics under this lock") {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }
}

/// The reader thread: fills batches and hands them over, recycling those
/// that come back written. Returns the reader once the input is done, it
/// failed, or the consumer stopped.
fn read_ahead(
    mut reader: Box<dyn RecordReader>,
    full_tx: SyncSender<Batch>,
    empty_rx: Receiver<Batch>,
) -> Box<dyn RecordReader> {
    // Enough batches to keep every stage busy; after that, wait for one to
    // come back, so memory and allocations stay flat.
    let (mut allocated, mut out, mut out_bytes) = (0, 0, 0);
    let mut spare: Vec<Batch> = Vec::new();
    loop {
        while let Ok(b) = empty_rx.try_recv() {
            (out, out_bytes) = (out - 1, out_bytes - b.footprint);
            spare.push(b);
        }
        let full =
            out_bytes >= BYTES_IN_FLIGHT || (spare.is_empty() && allocated == BATCHES_IN_FLIGHT);
        if out > 0 && full {
            // The consumer gives every batch back before it waits for the
            // next one, so this wait ends.
            match empty_rx.recv() {
                Ok(b) => {
                    (out, out_bytes) = (out - 1, out_bytes - b.footprint);
                    spare.push(b);
                    continue;
                }
                Err(_) => return reader,
            }
        }
        let mut batch = spare.pop().unwrap_or_else(|| {
            allocated += 1;
            Batch::default()
        });
        batch.fill(reader.as_mut());
        let done = batch.error.is_some() || batch.len == 0;
        (out, out_bytes) = (out + 1, out_bytes + batch.footprint);
        // A closed channel means the consumer stopped (error or Ctrl-C):
        // stop reading too.
        if full_tx.send(batch).is_err() || done {
            return reader;
        }
    }
}

/// A checked batch waiting to be written, with its verdicts.
type Pending = Option<(Batch, Vec<Verdict>)>;

/// Writes the pending batch, if any, and returns its buffers: the batch to
/// the reader, the verdicts to `spare`.
fn write_pending(
    pending: &mut Pending,
    sink: &mut RowSink,
    ctx: &Context,
    bytes: &mut u64,
) -> Result<Option<(Batch, Vec<Verdict>)>, StageError> {
    let Some((done, verdicts)) = pending.take() else {
        return Ok(None);
    };
    sink.write(done.rows(), &verdicts, ctx)?;
    *bytes += done.bytes;
    Ok(Some((done, verdicts)))
}

/// The three stages over one file: a reader thread splits batches ahead;
/// the pool parses and checks batch k+1 while this thread writes batch k in
/// order into `sink`. Batches and verdict buffers are recycled, so memory
/// stays at a few batches. Returns the reader (for its line-ending counts)
/// and the bytes of the records.
pub fn run_batches(
    reader: Box<dyn RecordReader>,
    ctx: &Context,
    sink: &mut RowSink,
    cfg: &ScanConfig,
    stats: &InputStats,
) -> Result<(Box<dyn RecordReader>, u64), StageError> {
    let parser = reader.parser();
    let (full_tx, full_rx) = sync_channel::<Batch>(1);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    std::thread::scope(|scope| {
        let read = scope.spawn(move || read_ahead(reader, full_tx, empty_rx));
        // Owned here, so it can be dropped before the reader is joined.
        let empty_tx = empty_tx;
        let mut bytes = 0u64;
        let mut pending: Pending = None;
        let mut spare: Vec<Verdict> = Vec::with_capacity(BATCH_ROWS);
        let give_back = |written: Option<(Batch, Vec<Verdict>)>, spare: &mut Vec<Verdict>| {
            if let Some((mut done, old)) = written {
                *spare = old;
                done.release_big_buffers();
                let _ = empty_tx.send(done);
            }
        };
        let outcome = loop {
            let next = match full_rx.try_recv() {
                Ok(batch) => Ok(batch),
                Err(_) => {
                    // Nothing ready: write what is pending now and give it
                    // back, so that the reader, if it waits for bytes to
                    // come back, can go on.
                    match write_pending(&mut pending, sink, ctx, &mut bytes) {
                        Ok(written) => give_back(written, &mut spare),
                        Err(e) => break Err(e),
                    }
                    full_rx.recv()
                }
            };
            let Ok(mut batch) = next else {
                unreachable!("the reader sends an empty batch before it stops")
            };
            if cfg.interrupted.load(Ordering::Relaxed) {
                break Err(StageError::Interrupted);
            }
            if let Some(ai) = &ctx.ai
                && ai.columns.get().is_none()
            {
                if let Err(e) = batch.parse(&parser) {
                    break Err(StageError::Input(e));
                }
                ai.columns.get_or_init(|| {
                    TextColumns::new(infer_columns(batch.rows(), ctx), ctx.columns)
                });
            }
            let mut verdicts = std::mem::take(&mut spare);
            let (written, checked) = rayon::join(
                || write_pending(&mut pending, sink, ctx, &mut bytes),
                || batch.check(&parser, ctx, &mut verdicts),
            );
            match written {
                Ok(written) => give_back(written, &mut spare),
                Err(e) => break Err(e),
            }
            if let Err(e) = checked {
                break Err(StageError::Input(e));
            }
            if let Some(e) = batch.error.take() {
                break Err(StageError::Input(e));
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
