//! Checking rows that arrive as values rather than as a file's bytes:
//! Parquet row groups, and Arrow record batches from Python and Spark.
//!
//! There is one set of rules, and they were written against CSV records. So
//! each row here is presented to them exactly as the CSV path would present
//! the same values: encoded as one CSV record (comma-delimited, quoted only
//! where RFC 4180 needs it), under a header made of the column names, with
//! the same header resolution, the same text-column inference and the same
//! [`check_row`]. A CSV file holding those values gets the same verdicts,
//! reasons and scores, which `tests/it/parquet.rs` and the Python tests check
//! row by row.
//!
//! A null is an empty cell, as a CSV file can only say it. Values that are
//! not text are checked in their display form ([`arrow`]); outputs keep the
//! original values and types.

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "arrow")]
pub mod table;

use std::sync::OnceLock;

use rayon::prelude::*;

use crate::input::{Content, Header, Row, Terminator};
use crate::output::write_csv_field;
use crate::policy::Policy;
use crate::rules::undisclosed_ai_text::infer_columns;
use crate::rules::{AiContext, AiSettings, Columns, Context, TextColumns, Verdict, check_row};

/// Rows per batch, and bytes per batch (as held in memory, see
/// `Row::footprint`), whichever comes first. Fixed, not
/// derived from the thread count: batches are also the unit of progress and
/// interruption, and must not change what is written.
pub const BATCH_ROWS: usize = 4096;
pub const BATCH_BYTES: usize = 2 << 20;

/// Rows the CSV path infers text columns from: its first batch, which ends
/// at this many rows or once it holds [`SAMPLE_BYTES`] bytes.
pub const SAMPLE_ROWS: usize = BATCH_ROWS;
pub const SAMPLE_BYTES: usize = BATCH_BYTES;

/// A row's fate, as `crmguard_verdict` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Passed every check.
    Clean,
    /// Passed, but the detector lists it for review: it stays clean.
    Review,
    /// Held back, with its reasons.
    Quarantine,
}

impl Outcome {
    pub fn of(v: &Verdict) -> Outcome {
        if !v.is_clean() {
            Outcome::Quarantine
        } else if v.ai.finding().is_some_and(|f| f.review) {
            Outcome::Review
        } else {
            Outcome::Clean
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::Review => "review",
            Outcome::Quarantine => "quarantine",
        }
    }
}

/// The rules over rows of one table: its columns resolved against the
/// policy once, the detector's text columns decided once, then any number
/// of batches checked.
pub struct Checker<'a> {
    policy: &'a Policy,
    columns: Columns,
    scan_time: jiff::Timestamp,
    object_flag: Option<String>,
    object_from_file: Option<String>,
    ai: Option<AiSettings<'a>>,
    /// The columns the detector judges; `None` until decided.
    text: Option<TextColumns>,
}

impl<'a> Checker<'a> {
    /// `names` are the table's column names, in order. Two names equal
    /// ignoring case, or carrying the same disclosure field, are refused as
    /// a CSV header would be (HEADER_DUPLICATE).
    pub fn new(
        policy: &'a Policy,
        names: &[String],
        ai: Option<AiSettings<'a>>,
        scan_time: jiff::Timestamp,
    ) -> Result<Checker<'a>, String> {
        let header = Header {
            raw: Vec::new(),
            line: 1,
            delimiter: b',',
            terminator: Terminator::None,
            names: names.to_vec(),
        };
        let columns = Columns::resolve(&header, policy);
        if let Some((_, dup)) = columns.duplicate() {
            return Err(format!("{}: {dup}", crate::spec::FileCode::HeaderDuplicate));
        }
        let named = &policy.detector.text_columns;
        let text = (ai.is_some() && !named.is_empty())
            .then(|| TextColumns::new(named.clone(), Some(&columns)));
        Ok(Checker {
            policy,
            columns,
            scan_time,
            object_flag: None,
            object_from_file: None,
            ai,
            text,
        })
    }

    /// The target object of every row (`--object`), and the one the input's
    /// file name implies by the policy.
    pub fn with_object(mut self, flag: Option<&str>, from_file: Option<&str>) -> Self {
        self.object_flag = flag.map(String::from);
        self.object_from_file = from_file.map(String::from);
        self
    }

    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The columns the detector judges, once decided; `None` with the
    /// detector off.
    pub fn text_columns(&self) -> Option<&[String]> {
        self.text.as_ref().map(|t| t.names.as_slice())
    }

    /// Whether the text columns are still to be decided (inferred).
    pub fn needs_text_columns(&self) -> bool {
        self.ai.is_some() && self.text.is_none()
    }

    /// The columns the CSV path would infer from `rows` if they began the
    /// file: it looks at the first [`sample`] of them.
    pub fn infer_text_columns(&self, rows: &[Row]) -> Vec<String> {
        infer_columns(sample(rows), &self.context(None))
    }

    /// Decides the judged columns: decided once per table, they cannot
    /// differ between batches, partitions or thread counts.
    pub fn set_text_columns(&mut self, names: Vec<String>) {
        if self.ai.is_some() {
            self.text = Some(TextColumns::new(names, Some(&self.columns)));
        }
    }

    /// Checks `rows` in parallel, verdicts in row order into `out`. The
    /// text columns, if not decided yet, are inferred from these rows, as
    /// the CSV path infers them from its first batch.
    pub fn check(&mut self, rows: &[Row], out: &mut Vec<Verdict>) {
        if self.needs_text_columns() {
            let names = self.infer_text_columns(rows);
            self.set_text_columns(names);
        }
        let ctx = self.context(self.text.clone());
        rows.par_iter()
            .map(|row| check_row(row, &ctx))
            .collect_into_vec(out);
    }

    fn context(&self, text: Option<TextColumns>) -> Context<'_> {
        Context {
            policy: self.policy,
            scan_time: self.scan_time,
            columns: Some(&self.columns),
            object_flag: self.object_flag.as_deref(),
            object_from_file: self.object_from_file.as_deref(),
            // Media files named in Arrow rows are not opened: a batch is
            // judged where it runs (an executor), without the media root.
            media: None,
            ai: self.ai.map(|settings| AiContext {
                settings,
                columns: match text {
                    Some(t) => OnceLock::from(t),
                    None => OnceLock::new(),
                },
            }),
        }
    }
}

/// The leading rows the CSV path's first batch would hold: up to
/// [`SAMPLE_ROWS`], ending with the row that brings it to [`SAMPLE_BYTES`].
pub fn sample(rows: &[Row]) -> &[Row] {
    let mut bytes = 0usize;
    for (i, row) in rows.iter().enumerate().take(SAMPLE_ROWS) {
        if bytes >= SAMPLE_BYTES {
            return &rows[..i];
        }
        bytes += row.raw.len() + 1;
    }
    &rows[..rows.len().min(SAMPLE_ROWS)]
}

/// Fills `row` with cells given as bytes: its fields as the rules read
/// them, and `raw`, the CSV record a file holding them would have. Row
/// numbers are 1-based; a row from a table has no line of its own, so
/// `line` repeats the number.
pub fn encode_row<'c>(number: u64, cells: impl IntoIterator<Item = &'c [u8]>, row: &mut Row) {
    let (fields, ends) = csv_buffers(row);
    for cell in cells {
        fields.extend_from_slice(cell);
        ends.push(fields.len());
    }
    finish_row(number, row);
}

/// The row's field buffers, emptied, for cells to be appended to; then
/// [`finish_row`].
pub fn csv_buffers(row: &mut Row) -> (&mut Vec<u8>, &mut Vec<usize>) {
    if !matches!(row.content, Content::Csv { .. }) {
        row.content = Content::Csv {
            fields: Vec::new(),
            ends: Vec::new(),
        };
    }
    match &mut row.content {
        Content::Csv { fields, ends } => {
            fields.clear();
            ends.clear();
            (fields, ends)
        }
        _ => unreachable!("set above"),
    }
}

/// Completes a row whose fields are in place: its record bytes, number and
/// UTF-8 flag.
pub fn finish_row(number: u64, row: &mut Row) {
    row.raw.clear();
    if let Content::Csv { fields, ends } = &row.content {
        let mut start = 0;
        for (i, &end) in ends.iter().enumerate() {
            if i > 0 {
                row.raw.push(b',');
            }
            write_csv_field(&mut row.raw, &fields[start..end], b',')
                .expect("writing to a Vec cannot fail");
            start = end;
        }
    }
    row.number = number;
    row.line = number;
    row.terminator = Terminator::None;
    row.utf8 = std::str::from_utf8(&row.raw).is_ok();
}

/// The detector's score as every output writes it (three decimals); `None`
/// when the row was not judged.
pub fn ai_score(v: &Verdict) -> Option<f64> {
    v.ai_score()
}

/// `crmguard_ai_signals`: the evidence for machine text, empty when none.
pub fn ai_signals(v: &Verdict) -> String {
    v.ai.finding().map(|a| a.signals_text()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::CsvReader;

    /// A row encoded from values reads back, through the CSV reader, as the
    /// same fields and the same bytes.
    #[test]
    fn encoded_rows_are_what_the_csv_reader_reads() {
        let values: [&[u8]; 5] = [b"plain", b"with, comma", b"say \"hi\"", b"two\nlines", b""];
        let mut row = Row::default();
        encode_row(7, values, &mut row);
        let file = [b"a,b,c,d,e\n".as_slice(), &row.raw, b"\n"].concat();
        let rdr: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(file));
        let mut reader = CsvReader::new(rdr, b',', std::path::Path::new("t.csv"), 1 << 30).unwrap();
        let mut read = Row::default();
        use crate::input::RecordReader;
        assert!(reader.read_row(&mut read).unwrap());
        assert_eq!(read.raw, row.raw);
        for (i, v) in values.iter().enumerate() {
            assert_eq!(read.csv_field(i).unwrap(), *v);
        }
        assert_eq!((row.number, row.line, row.utf8), (7, 7, true));
    }

    #[test]
    fn the_sample_stops_where_the_first_batch_would() {
        let mut rows = vec![Row::default(); SAMPLE_ROWS + 10];
        assert_eq!(sample(&rows).len(), SAMPLE_ROWS);
        rows[2].raw = vec![b'x'; SAMPLE_BYTES];
        assert_eq!(sample(&rows).len(), 3);
    }

    #[test]
    fn duplicate_columns_are_refused() {
        let policy = Policy::builtin();
        let names = ["Email".to_string(), "email".to_string()];
        let err = Checker::new(&policy, &names, None, jiff::Timestamp::now())
            .err()
            .unwrap();
        assert!(err.starts_with("HEADER_DUPLICATE: "), "{err}");
    }
}
