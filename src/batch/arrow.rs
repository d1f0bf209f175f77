//! Arrow record batches in, verdict columns out: the Parquet scan and the
//! Python package meet the rules here.
//!
//! A cell's text is what the rules check: strings and binary values
//! (variable or fixed size, dictionary-encoded or not) as they are (binary
//! that is not UTF-8 is ENCODING_INVALID, as in a CSV file), anything else
//! in arrow's display form (`true`, `42`, `1.5`,
//! `2026-03-14T09:26:53Z` for a timestamp with a time zone, lists and
//! structs as `[1, 2]` and `{a: 1}`), and a null as an empty cell. A
//! nested column holding binary is refused: its display form is hex.

use std::io::Write as _;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, Field};

use super::{Outcome, ai_score, ai_signals, csv_buffers, finish_row};
use crate::input::Row;
use crate::rules::Verdict;

/// Column names, in order, as the rules' header.
pub fn column_names(schema: &arrow_schema::Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// A timestamp column with a named zone (`UTC`, `Europe/Berlin`), as the
/// same instants in `+00:00`: arrow stores UTC instants and only the display
/// needs the zone, and naming zones would take the tz database (chrono-tz)
/// in. `2026-03-14T09:26:53Z` is what a CSV export of the instant says.
fn in_utc(array: &ArrayRef) -> Option<ArrayRef> {
    use arrow_array::types::{
        TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
        TimestampSecondType,
    };
    use arrow_schema::TimeUnit;
    let DataType::Timestamp(unit, Some(tz)) = array.data_type() else {
        return None;
    };
    if tz.as_ref() == "+00:00" {
        return None;
    }
    let utc = "+00:00";
    Some(match unit {
        TimeUnit::Second => Arc::new(
            array
                .as_primitive::<TimestampSecondType>()
                .clone()
                .with_timezone(utc),
        ),
        TimeUnit::Millisecond => Arc::new(
            array
                .as_primitive::<TimestampMillisecondType>()
                .clone()
                .with_timezone(utc),
        ),
        TimeUnit::Microsecond => Arc::new(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
                .with_timezone(utc),
        ),
        TimeUnit::Nanosecond => Arc::new(
            array
                .as_primitive::<TimestampNanosecondType>()
                .clone()
                .with_timezone(utc),
        ),
    })
}

/// A dictionary-encoded column as its values: displayed, a dictionary of
/// binary would read as hex, which no rule could see through.
fn unpacked(array: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    match array.data_type() {
        DataType::Dictionary(_, values) => arrow_cast::cast(array, values),
        _ => Ok(array.clone()),
    }
}

/// Whether binary values sit inside a nested type (a list, struct, map,
/// union): the display form prints them as hex, so the rules would pass
/// an injection or a control character unseen; such a column is refused.
fn nested_binary(t: &DataType) -> bool {
    let binary = |t: &DataType| {
        matches!(
            t,
            DataType::Binary
                | DataType::LargeBinary
                | DataType::BinaryView
                | DataType::FixedSizeBinary(_)
        ) || nested_binary(t)
    };
    match t {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => binary(f.data_type()),
        DataType::Struct(fields) => fields.iter().any(|f| binary(f.data_type())),
        DataType::Union(fields, _) => fields.iter().any(|(_, f)| binary(f.data_type())),
        DataType::Dictionary(_, v) => binary(v),
        DataType::RunEndEncoded(_, v) => binary(v.data_type()),
        _ => false,
    }
}

/// Refuses a schema with a column [`nested_binary`] holds; the message
/// names the column and its type.
pub fn refuse_nested_binary(schema: &arrow_schema::Schema) -> Result<(), String> {
    // A dictionary column is checked as its values ([`unpacked`]).
    let refused = |t: &DataType| match t {
        DataType::Dictionary(_, values) => nested_binary(values),
        t => nested_binary(t),
    };
    match (schema.fields().iter()).find(|f| refused(f.data_type())) {
        Some(f) => Err(format!(
            "column `{}` ({}) holds binary values inside a nested type, which are not checked \
             as text: store them in a column of their own; nothing written",
            crate::error::excerpt(f.name()),
            f.data_type()
        )),
        None => Ok(()),
    }
}

/// One column's cells as bytes.
enum Cells<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    Utf8View(&'a arrow_array::StringViewArray),
    Binary(&'a arrow_array::BinaryArray),
    LargeBinary(&'a arrow_array::LargeBinaryArray),
    BinaryView(&'a arrow_array::BinaryViewArray),
    FixedSizeBinary(&'a arrow_array::FixedSizeBinaryArray),
    Display(&'a dyn Array, ArrayFormatter<'a>),
}

impl<'a> Cells<'a> {
    fn new(array: &'a ArrayRef, options: &'a FormatOptions<'a>) -> Result<Cells<'a>, ArrowError> {
        Ok(match array.data_type() {
            DataType::Utf8 => Cells::Utf8(array.as_string()),
            DataType::LargeUtf8 => Cells::LargeUtf8(array.as_string()),
            DataType::Utf8View => Cells::Utf8View(array.as_string_view()),
            DataType::Binary => Cells::Binary(array.as_binary()),
            DataType::LargeBinary => Cells::LargeBinary(array.as_binary()),
            DataType::BinaryView => Cells::BinaryView(array.as_binary_view()),
            DataType::FixedSizeBinary(_) => Cells::FixedSizeBinary(array.as_fixed_size_binary()),
            _ => Cells::Display(
                array.as_ref(),
                ArrayFormatter::try_new(array.as_ref(), options)?,
            ),
        })
    }

    /// Appends cell `i` to `out`; nothing for a null.
    fn write(&self, i: usize, out: &mut Vec<u8>) -> Result<(), ArrowError> {
        match self {
            Cells::Utf8(a) if a.is_valid(i) => out.extend_from_slice(a.value(i).as_bytes()),
            Cells::LargeUtf8(a) if a.is_valid(i) => out.extend_from_slice(a.value(i).as_bytes()),
            Cells::Utf8View(a) if a.is_valid(i) => out.extend_from_slice(a.value(i).as_bytes()),
            Cells::Binary(a) if a.is_valid(i) => out.extend_from_slice(a.value(i)),
            Cells::LargeBinary(a) if a.is_valid(i) => out.extend_from_slice(a.value(i)),
            Cells::BinaryView(a) if a.is_valid(i) => out.extend_from_slice(a.value(i)),
            Cells::FixedSizeBinary(a) if a.is_valid(i) => out.extend_from_slice(a.value(i)),
            Cells::Display(a, f) if a.is_valid(i) => {
                write!(out, "{}", f.value(i)).map_err(|e| ArrowError::ExternalError(e.into()))?
            }
            _ => {}
        }
        Ok(())
    }
}

/// Fills `rows` with the batch's rows, numbered `offset + 1`, `offset + 2`,
/// ... (`offset`: the table's rows before this batch). `rows` keeps its
/// buffers from batch to batch.
pub fn rows_from_batch(
    batch: &RecordBatch,
    offset: u64,
    rows: &mut Vec<Row>,
) -> Result<(), ArrowError> {
    refuse_nested_binary(&batch.schema()).map_err(ArrowError::InvalidArgumentError)?;
    let options = FormatOptions::default().with_null("");
    let utc: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| unpacked(c).map(|c| in_utc(&c).unwrap_or(c)))
        .collect::<Result<_, _>>()?;
    let columns = utc
        .iter()
        .map(|c| Cells::new(c, &options))
        .collect::<Result<Vec<_>, _>>()?;
    rows.resize_with(batch.num_rows(), Row::default);
    for (i, row) in rows.iter_mut().enumerate() {
        let (fields, ends) = csv_buffers(row);
        for c in &columns {
            c.write(i, fields)?;
            ends.push(fields.len());
        }
        finish_row(offset + i as u64 + 1, row);
    }
    Ok(())
}

/// The columns crmguard adds, as one batch of `check_batch`'s output or
/// appended to a quarantine file.
pub struct VerdictColumns {
    /// `crmguard_row`: 1-based row number.
    pub row: ArrayRef,
    /// `crmguard_verdict`: clean, review or quarantine.
    pub verdict: ArrayRef,
    /// `crmguard_reasons`: codes joined by `;`, empty for a clean row.
    pub reasons: ArrayRef,
    /// `crmguard_ai_score`: three decimals; null when not judged.
    pub ai_score: ArrayRef,
    /// `crmguard_ai_signals`: empty unless flagged or for review.
    pub ai_signals: ArrayRef,
}

impl VerdictColumns {
    /// The columns of the rows picked by `keep` (all when `None`).
    pub fn new(rows: &[Row], verdicts: &[Verdict], keep: Option<&[bool]>) -> VerdictColumns {
        let picked = || {
            rows.iter()
                .zip(verdicts)
                .enumerate()
                .filter(|(i, _)| keep.is_none_or(|k| k[*i]))
                .map(|(_, rv)| rv)
        };
        let strings = |f: &dyn Fn(&Verdict) -> String| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(picked().map(|(_, v)| f(v))))
        };
        VerdictColumns {
            row: Arc::new(Int64Array::from_iter_values(
                picked().map(|(r, _)| r.number as i64),
            )),
            verdict: Arc::new(StringArray::from_iter_values(
                picked().map(|(_, v)| Outcome::of(v).name()),
            )),
            reasons: strings(&|v| v.reasons.joined()),
            ai_score: Arc::new(Float64Array::from_iter(picked().map(|(_, v)| ai_score(v)))),
            ai_signals: strings(&ai_signals),
        }
    }

    /// The fields of `check_batch`'s output, in order.
    pub fn fields() -> Vec<Field> {
        vec![
            Field::new("crmguard_row", DataType::Int64, false),
            Field::new("crmguard_verdict", DataType::Utf8, false),
            Field::new("crmguard_reasons", DataType::Utf8, false),
            Field::new("crmguard_ai_score", DataType::Float64, true),
            Field::new("crmguard_ai_signals", DataType::Utf8, false),
        ]
    }

    /// In the order of [`VerdictColumns::fields`].
    pub fn all(self) -> Vec<ArrayRef> {
        vec![
            self.row,
            self.verdict,
            self.reasons,
            self.ai_score,
            self.ai_signals,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{BinaryArray, BooleanArray, Int32Array, TimestampSecondArray};

    #[test]
    fn cells_read_as_text_nulls_as_empty() {
        let batch = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a,b"), None])) as ArrayRef,
            ),
            ("n", Arc::new(Int32Array::from(vec![Some(42), Some(-1)]))),
            ("b", Arc::new(BooleanArray::from(vec![Some(true), None]))),
            (
                "t",
                Arc::new(
                    TimestampSecondArray::from(vec![Some(1_773_480_413), None])
                        .with_timezone("+00:00"),
                ),
            ),
            (
                "x",
                Arc::new(BinaryArray::from(vec![
                    Some(b"caf\xe9".as_slice()),
                    Some(b""),
                ])),
            ),
        ])
        .unwrap();
        let mut rows = Vec::new();
        rows_from_batch(&batch, 10, &mut rows).unwrap();
        // A named zone reads as the same instant in UTC.
        let named = RecordBatch::try_from_iter([(
            "t",
            Arc::new(TimestampSecondArray::from(vec![1_773_480_413]).with_timezone("UTC"))
                as ArrayRef,
        )])
        .unwrap();
        let mut utc = Vec::new();
        rows_from_batch(&named, 0, &mut utc).unwrap();
        assert_eq!(utc[0].raw, b"2026-03-14T09:26:53Z");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            String::from_utf8_lossy(&rows[0].raw),
            "\"a,b\",42,true,2026-03-14T09:26:53Z,caf\u{fffd}"
        );
        assert!(!rows[0].utf8, "binary that is not UTF-8 stays so");
        assert_eq!(rows[1].raw, b",-1,,,");
        assert!(rows[1].utf8);
        assert_eq!((rows[0].number, rows[1].number), (11, 12));
    }
}
