//! Opening a Parquet file and decoding it batch by batch, for a scan
//! (`super`) and for the commands that read labelled text row by row
//! ([`ParquetRows`]): one set of checks before any page is decoded, and
//! one way of surviving the decoder's panics.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::basic::Compression as Codec;
use parquet::file::metadata::ParquetMetaData;

use crate::batch::arrow::{column_names, refuse_nested_binary, rows_from_batch};
use crate::batch::{BATCH_BYTES, BATCH_ROWS};
use crate::error::quiet;
use crate::input::{Header, Row, Terminator};

/// A Parquet file opened for reading in batches, with what a reader needs
/// to know of it first.
pub(super) struct Opened {
    pub reader: ParquetRecordBatchReader,
    pub schema: SchemaRef,
    /// The first column chunk's codec, which a scan's outputs are written with.
    pub codec: Codec,
    /// For the progress bar; at least 1.
    pub total_rows: u64,
    /// Where a batch that fails to decode is: the rows of each row group,
    /// and the rows per batch.
    pub at: Position,
}

impl Opened {
    /// Refuses, before any page is decoded, a file that is not Parquet,
    /// binary nested in a column, and a record over `limit` bytes (`[limits]
    /// max_record_bytes` for a scan) by the metadata.
    pub fn open(path: &Path, limit: usize) -> anyhow::Result<Opened> {
        let file = File::open(path).map_err(|e| anyhow!("{}: cannot open: {e}", path.display()))?;
        let not_parquet = |e: parquet::errors::ParquetError| {
            anyhow!("{}: cannot read as Parquet: {e}", path.display())
        };
        // The crate panics on some malformed footers as on malformed pages
        // (see `next_batch`).
        let builder = quiet::catch(|| ParquetRecordBatchReaderBuilder::try_new(file))
            .map_err(|what| anyhow!("{}: cannot read as Parquet: {what}", path.display()))?
            .map_err(not_parquet)?;
        let schema = builder.schema().clone();
        // Binary nested in a list, struct or map could not be shown to
        // the rules, and would pass unchecked.
        refuse_nested_binary(&schema)
            .and_then(|()| refuse_large_records(builder.metadata(), limit))
            .map_err(|e| anyhow!("{}: {e}", crate::terminal::path(path)))?;
        let codec = (builder.metadata().row_groups().first())
            .and_then(|rg| rg.columns().first())
            .map_or(Codec::SNAPPY, |c| c.compression());
        let total_rows = builder.metadata().file_metadata().num_rows().max(1) as u64;
        let at = Position {
            group_rows: (builder.metadata().row_groups().iter())
                .map(|rg| rg.num_rows().max(0) as u64)
                .collect(),
            batch_rows: batch_rows(builder.metadata()),
        };
        let reader = builder
            .with_batch_size(at.batch_rows)
            .build()
            .map_err(not_parquet)?;
        Ok(Opened {
            reader,
            schema,
            codec,
            total_rows,
            at,
        })
    }
}

/// Bytes per row a column chunk may take, uncompressed, beyond
/// `[limits] max_record_bytes` times its rows, before its metadata alone
/// proves a record over the limit: a value's encoding (a string's length
/// prefix, a 32-byte decimal that reads `0`) and the page headers, whose
/// statistics may hold a value twice, cost more than its CSV text.
const ROW_SLACK: u64 = 256;

/// Refuses a file with a record over `limit` before any page is decoded:
/// a compressed page expands in memory whole, so a cell of gigabytes in a
/// file of kilobytes (a decompression bomb) would be held before any row
/// could be measured. A column chunk whose uncompressed size, by the
/// footer, is over `(3 * limit + ROW_SLACK)` bytes per row of its row
/// group must hold a value over the limit. Records over the limit that
/// this bound cannot see are refused once decoded
/// ([`Position::rows_of`]).
fn refuse_large_records(meta: &ParquetMetaData, limit: usize) -> Result<(), String> {
    let per_row = (limit as u64).saturating_mul(3).saturating_add(ROW_SLACK);
    let groups = meta.row_groups();
    for (g, rg) in groups.iter().enumerate() {
        let rows = rg.num_rows().max(1) as u64;
        for c in rg.columns() {
            let size = c.uncompressed_size().max(0) as u64;
            if size > per_row.saturating_mul(rows) {
                return Err(format!(
                    "row group {} of {}, column `{}`: {size} bytes for {rows} row{}, so a \
                     record is over {limit} bytes ([limits] max_record_bytes); nothing written",
                    g + 1,
                    groups.len(),
                    crate::error::excerpt(&c.column_path().string()),
                    if rows == 1 { "" } else { "s" },
                ));
            }
        }
    }
    Ok(())
}

/// Rows per batch: [`BATCH_ROWS`], or fewer when the largest row group's
/// rows average more than [`BATCH_BYTES`] shared among them, so that a
/// batch of long records holds about as much as a CSV batch does.
fn batch_rows(meta: &ParquetMetaData) -> usize {
    let widest = (meta.row_groups().iter())
        .map(|rg| {
            let bytes: i64 = rg.columns().iter().map(|c| c.uncompressed_size()).sum();
            bytes.max(0) as u64 / rg.num_rows().max(1) as u64
        })
        .max()
        .unwrap_or(0);
    (BATCH_BYTES as u64 / widest.max(1)).clamp(1, BATCH_ROWS as u64) as usize
}

/// The next batch, `None` at the end. The parquet crate panics on some
/// corrupt pages (a dictionary-encoded page with no dictionary: "Decoder
/// for dict should have been set"), and when asked for a batch after one
/// that failed, where it should return an error; no check of the metadata
/// up front rules that out. So a panic is caught here, quietly, and made
/// the file's error (this needs panic = "unwind", Rust's default, which
/// Cargo.toml's profiles keep), and a caller stops at the first error.
pub(super) fn next_batch(
    reader: &mut ParquetRecordBatchReader,
) -> Option<Result<RecordBatch, String>> {
    match quiet::catch(|| reader.next()) {
        Ok(None) => None,
        Ok(Some(batch)) => Some(batch.map_err(|e| e.to_string())),
        Err(what) => Some(Err(format!("the decoder failed: {what}"))),
    }
}

/// Where in the file a batch is, for its errors.
pub(super) struct Position {
    group_rows: Vec<u64>,
    batch_rows: usize,
}

impl Position {
    /// The row group or groups (1-based) of the batch that starts after
    /// `done` rows.
    pub fn groups_at(&self, done: u64) -> String {
        let end = done.saturating_add(self.batch_rows as u64);
        let (mut start, mut first, mut last) = (0u64, None, 0);
        for (i, rows) in self.group_rows.iter().enumerate() {
            if start < end && done < start + rows {
                first.get_or_insert(i + 1);
                last = i + 1;
            }
            start += rows;
        }
        let of = self.group_rows.len();
        match first {
            Some(f) if f == last => format!("row group {f} of {of}"),
            Some(f) => format!("row groups {f}-{last} of {of}"),
            None => format!("after row {done}"),
        }
    }
}

impl Position {
    /// The rows of a batch that starts after `done` rows of the file, into
    /// `rows` (the CSV records `crate::batch` makes of them), and the batch;
    /// or the error, naming where: a batch that failed to decode, by its row
    /// groups, a value that cannot be shown, a record over `limit` bytes as
    /// CSV. That last is the exact limit a CSV file of the same rows meets
    /// ([`refuse_large_records`] only bounds what is decoded).
    pub fn rows_of(
        &self,
        batch: Result<RecordBatch, String>,
        done: u64,
        limit: usize,
        path: &Path,
        rows: &mut Vec<Row>,
    ) -> anyhow::Result<RecordBatch> {
        let shown = crate::terminal::path(path);
        let batch = batch.map_err(|e| {
            anyhow!(
                "{shown}: {}: cannot read as Parquet: {e}",
                self.groups_at(done)
            )
        })?;
        rows_from_batch(&batch, done, rows)
            .map_err(|e| anyhow!("{shown}: row {}: {e}", done + 1))?;
        if let Some(r) = rows.iter().find(|r| r.raw.len() > limit) {
            bail!(
                "{shown}: row {}: the record is over {limit} bytes ([limits] max_record_bytes); \
                 nothing written",
                r.number
            );
        }
        Ok(batch)
    }
}

/// The schema's column names as a CSV header would give them, so that
/// they resolve to disclosure fields and text columns the same way.
pub(super) fn schema_header(names: &[String]) -> Header {
    Header {
        raw: Vec::new(),
        line: 1,
        delimiter: b',',
        terminator: Terminator::None,
        names: names.to_vec(),
    }
}

/// A Parquet file's rows one at a time, each the CSV record a scan checks
/// for it, for `calibrate`, `train` and `eval`. Batches are decoded on the
/// calling thread: those commands have no writer to overlap them with.
pub struct ParquetRows {
    path: PathBuf,
    /// `None` once the file is read to its end, or after an error.
    reader: Option<ParquetRecordBatchReader>,
    header: Header,
    at: Position,
    limit: usize,
    rows: Vec<Row>,
    next: usize,
    done: u64,
}

impl ParquetRows {
    /// Opens `path`, refusing what a scan refuses before reading a row
    /// ([`Opened::open`]).
    pub fn open(path: &Path, limit: usize) -> anyhow::Result<ParquetRows> {
        let opened = Opened::open(path, limit)?;
        Ok(ParquetRows {
            path: path.to_owned(),
            reader: Some(opened.reader),
            header: schema_header(&column_names(&opened.schema)),
            at: opened.at,
            limit,
            rows: Vec::new(),
            next: 0,
            done: 0,
        })
    }

    /// The column names, as a CSV file's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Moves the next row into `row`; `false` at the end.
    pub fn read_row(&mut self, row: &mut Row) -> anyhow::Result<bool> {
        while self.next == self.rows.len() {
            let Some(reader) = &mut self.reader else {
                return Ok(false);
            };
            let Some(batch) = next_batch(reader) else {
                self.reader = None;
                return Ok(false);
            };
            if batch.is_err() {
                // A caller stops at the first error (see `next_batch`).
                self.reader = None;
            }
            let batch =
                (self.at).rows_of(batch, self.done, self.limit, &self.path, &mut self.rows)?;
            self.done += batch.num_rows() as u64;
            self.next = 0;
        }
        std::mem::swap(row, &mut self.rows[self.next]);
        self.next += 1;
        Ok(true)
    }
}
