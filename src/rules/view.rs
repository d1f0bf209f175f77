//! A row as the rules see it ([`RowView`]): its cells, by position and by
//! disclosure field, whether it came from CSV or JSON.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::Context;
use super::columns::{Column, Columns};
use crate::input::{Content, Row, field_span};
use crate::spec::Field;
use crate::spec::disclosure::parse_bool;

/// How a JSON value reached its text form; CSV cells are all `Text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Bool,
    Null,
    Nested,
}

/// One column (CSV) or key (JSON) of a row, with what the policy says of it.
#[derive(Debug, Clone, Copy)]
pub struct Cell<'a> {
    pub name: &'a str,
    /// The value's bytes: as read for CSV (not always UTF-8: see
    /// ENCODING_INVALID), the spec's text form for JSON. Most checks need no
    /// more than bytes; [`Cell::text`] decodes.
    pub bytes: &'a [u8],
    pub kind: Kind,
    /// The nested JSON value, for checks that must see inside it.
    pub nested: Option<&'a Value>,
    pub field: Option<Field>,
    pub injection_exempt: bool,
    /// A column crmguard adds (`crmguard_*`): not content.
    pub added: bool,
}

/// A row as the rules see it. CSV cells are decoded on demand from the row's
/// own buffers (no per-row allocation on the hot path); JSON objects, which
/// were allocated when parsed anyway, are turned into cells up front.
#[derive(Debug)]
pub struct RowView<'a> {
    source: Source<'a>,
    pub(super) by_field: [Option<usize>; Field::COUNT],
    /// Each disclosure field's value (CSV), decoded once when the view is
    /// built: the rules ask for them a dozen times a row between them, and
    /// decoding only these few short cells spares checking the UTF-8 of the
    /// whole record again (the reader did, for ENCODING_INVALID).
    values: [Option<Cow<'a, str>>; Field::COUNT],
    /// `is_synthetic`, parsed once: most rules ask.
    synthetic: Option<bool>,
}

#[derive(Debug)]
enum Source<'a> {
    Csv {
        row: &'a Row,
        columns: &'a Columns,
        /// The record's unquoted fields, back to back, and where each ends.
        fields: &'a [u8],
        ends: &'a [usize],
    },
    Json {
        cells: Vec<JsonCell<'a>>,
        /// The record as read, for [`RowView::number_texts`].
        raw: &'a [u8],
    },
}

/// A JSON key and its value's text form, which may have been built (numbers,
/// nested values) and so is owned here.
#[derive(Debug)]
struct JsonCell<'a> {
    name: &'a str,
    text: Cow<'a, str>,
    kind: Kind,
    nested: Option<&'a Value>,
    field: Option<Field>,
    injection_exempt: bool,
    added: bool,
}

impl<'a> RowView<'a> {
    /// Every column or key, in order.
    pub fn cells(&self) -> Cells<'_> {
        Cells(match &self.source {
            Source::Csv {
                columns,
                fields,
                ends,
                ..
            } => CellsOf::Csv {
                fields,
                ends: ends.iter(),
                start: 0,
                columns: columns.columns.iter(),
            },
            Source::Json { cells, .. } => CellsOf::Json(cells.iter()),
        })
    }

    /// A JSON record's top-level numbers as written, by key (empty for CSV,
    /// and for a record without numbers). A cell's text is serde_json's
    /// rendering of the parsed value, which for a number that is no 64-bit
    /// integer is a float's: `1.50` reads `1.5`. Only the provenance hash
    /// needs the text as written, so only it pays for parsing the record
    /// again, not every row of a JSON scan.
    pub fn number_texts(&self) -> HashMap<String, String> {
        match &self.source {
            Source::Json { cells, raw } if cells.iter().any(|c| c.kind == Kind::Number) => {
                number_texts(raw)
            }
            _ => HashMap::new(),
        }
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        match &self.source {
            Source::Csv { ends, .. } => ends.len(),
            Source::Json { cells, .. } => cells.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th cell of a CSV record; `None` for JSON or past the record's
    /// end.
    pub fn csv_cell(&self, i: usize) -> Option<Cell<'_>> {
        match &self.source {
            Source::Csv {
                columns,
                fields,
                ends,
                ..
            } => Some(columns.columns.get(i)?.cell(&fields[field_span(ends, i)?])),
            Source::Json { .. } => None,
        }
    }

    /// The CSV record's bytes as read, for checks that can scan them whole.
    pub fn csv_raw(&self) -> Option<&[u8]> {
        match &self.source {
            Source::Csv { row, .. } => Some(&row.raw),
            Source::Json { .. } => None,
        }
    }

    /// The value of a disclosure field, if the row has the column.
    pub fn get(&self, f: Field) -> Option<Cow<'_, str>> {
        let i = self.by_field[f as usize]?;
        match &self.source {
            Source::Csv { .. } => self.values[f as usize].as_deref().map(Cow::Borrowed),
            Source::Json { cells, .. } => Some(Cow::Borrowed(&*cells[i].text)),
        }
    }

    /// The value of a disclosure field, `None` when absent or blank.
    pub fn non_empty(&self, f: Field) -> Option<Cow<'_, str>> {
        self.get(f).filter(|v| !v.trim().is_empty())
    }

    /// `Some(true)` when the row discloses synthetic content; `None` when
    /// `is_synthetic` is absent, blank or not a boolean.
    pub fn synthetic(&self) -> Option<bool> {
        self.synthetic
    }

    fn new(source: Source<'a>, by_field: [Option<usize>; Field::COUNT]) -> RowView<'a> {
        let values = match &source {
            Source::Csv { fields, ends, .. } => by_field.map(|i| {
                let span = field_span(ends, i?)?;
                Some(decode(&fields[span]))
            }),
            Source::Json { .. } => Default::default(),
        };
        let mut view = RowView {
            source,
            by_field,
            values,
            synthetic: None,
        };
        view.synthetic = view
            .non_empty(Field::IsSynthetic)
            .and_then(|v| parse_bool(&v));
        view
    }
}

impl<'a> Cell<'a> {
    /// The value as text (lossy only on ENCODING_INVALID rows).
    pub fn text(&self) -> Cow<'a, str> {
        decode(self.bytes)
    }
}

impl<'a> JsonCell<'a> {
    fn cell(&self) -> Cell<'_> {
        Cell {
            name: self.name,
            bytes: self.text.as_bytes(),
            kind: self.kind,
            nested: self.nested,
            field: self.field,
            injection_exempt: self.injection_exempt,
            added: self.added,
        }
    }
}

impl Column {
    /// This column's cell of a record.
    pub(super) fn cell<'a>(&'a self, bytes: &'a [u8]) -> Cell<'a> {
        Cell {
            name: &self.name,
            bytes,
            kind: Kind::Text,
            nested: None,
            field: self.field,
            injection_exempt: self.injection_exempt,
            added: self.added,
        }
    }
}

fn decode(bytes: &[u8]) -> Cow<'_, str> {
    // from_utf8 is the fast path; the lossy form only for ENCODING_INVALID rows.
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The cells of a row ([`RowView::cells`]). One type for both sources, with
/// the CSV walk written out: as a chain of optional adapters it cost more
/// than the checks that iterate it.
pub struct Cells<'v>(CellsOf<'v>);

enum CellsOf<'v> {
    Csv {
        fields: &'v [u8],
        ends: std::slice::Iter<'v, usize>,
        start: usize,
        columns: std::slice::Iter<'v, Column>,
    },
    Json(std::slice::Iter<'v, JsonCell<'v>>),
}

impl<'v> Iterator for Cells<'v> {
    type Item = Cell<'v>;

    #[inline]
    fn next(&mut self) -> Option<Cell<'v>> {
        match &mut self.0 {
            CellsOf::Csv {
                fields,
                ends,
                start,
                columns,
            } => {
                let end = *ends.next()?;
                let bytes = &fields[*start..end];
                *start = end;
                Some(match columns.next() {
                    Some(c) => c.cell(bytes),
                    // A field beyond the header (MALFORMED_ROW): content, nameless.
                    None => Cell {
                        name: "",
                        bytes,
                        kind: Kind::Text,
                        nested: None,
                        field: None,
                        injection_exempt: false,
                        added: false,
                    },
                })
            }
            CellsOf::Json(cells) => cells.next().map(JsonCell::cell),
        }
    }
}

/// Why a row has no view: `scan` quarantines it as `MALFORMED_ROW` either
/// way, and `hash` says which.
#[derive(Debug)]
pub enum NoView<'a> {
    /// JSON that does not parse or is not an object; CSV without a header.
    Malformed,
    /// Two keys of a JSON object name one disclosure field.
    SameField {
        first: &'a str,
        second: &'a str,
        field: Field,
    },
    /// Two keys of a JSON object differ only in case.
    CaseDuplicates,
}

/// Builds the view of a row, or says why there is nothing to view.
pub fn build_view<'a>(row: &'a Row, ctx: &'a Context) -> Result<RowView<'a>, NoView<'a>> {
    match &row.content {
        Content::Csv { fields, ends } => {
            let columns = ctx.columns.ok_or(NoView::Malformed)?;
            let source = Source::Csv {
                row,
                columns,
                fields,
                ends,
            };
            Ok(RowView::new(source, columns.by_field))
        }
        Content::Object(map) => {
            let mut by_field = [None; Field::COUNT];
            let mut cells = Vec::with_capacity(map.len());
            for (i, (key, value)) in map.iter().enumerate() {
                let field = ctx.policy.field_of(key);
                if let Some(f) = field {
                    if let Some(first) = by_field[f as usize] {
                        // Two keys for one field: ambiguous, like a duplicate
                        // CSV header, but only this row is affected.
                        let first: &JsonCell = &cells[first];
                        return Err(NoView::SameField {
                            first: first.name,
                            second: key,
                            field: f,
                        });
                    }
                    by_field[f as usize] = Some(i);
                }
                let (text, kind, nested) = json_text(value);
                cells.push(JsonCell {
                    name: key,
                    text,
                    kind,
                    nested,
                    field,
                    injection_exempt: ctx.policy.injection_exempt(key),
                    added: ctx.policy.is_added_column(key),
                });
            }
            if has_case_duplicates(&cells) {
                return Err(NoView::CaseDuplicates);
            }
            let source = Source::Json {
                cells,
                raw: &row.raw,
            };
            Ok(RowView::new(source, by_field))
        }
        Content::Malformed => Err(NoView::Malformed),
    }
}

/// Each top-level number of a JSON record as written, by key. The parsed
/// value is an f64 when it is not a 64-bit integer: `1.50` reads `1.5` and
/// `12345678901234567890123` reads `1.2345678901234568e22`, so a provenance
/// hash over it would miss an edited digit and disagree with a producer
/// hashing the JSON text, as docs/disclosure.md says to.
fn number_texts(raw: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(raw);
    // The record parsed already, with unique keys (input/object.rs).
    let entries: HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(&text).unwrap_or_default();
    entries
        .into_iter()
        .filter(|(_, v)| {
            v.get()
                .starts_with(|c: char| c == '-' || c.is_ascii_digit())
        })
        .map(|(k, v)| (k, v.get().to_owned()))
        .collect()
}

fn has_case_duplicates(cells: &[JsonCell]) -> bool {
    // Pairwise is quickest for the few keys a record has; a record can hold
    // hundreds of thousands ([limits]), where only a set stays linear.
    if cells.len() <= 32 {
        return cells.iter().enumerate().any(|(i, a)| {
            cells[i + 1..]
                .iter()
                .any(|b| a.name.eq_ignore_ascii_case(b.name))
        });
    }
    let mut seen = std::collections::HashSet::with_capacity(cells.len());
    !cells
        .iter()
        .all(|c| seen.insert(c.name.to_ascii_lowercase()))
}

/// A JSON value's text, as the provenance spec defines it: strings as is,
/// numbers and booleans as their JSON text, null as empty, arrays and
/// objects as compact JSON with sorted keys.
pub fn json_text(value: &Value) -> (Cow<'_, str>, Kind, Option<&Value>) {
    match value {
        Value::String(s) => (Cow::Borrowed(s.as_str()), Kind::Text, None),
        Value::Number(n) => (Cow::Owned(n.to_string()), Kind::Number, None),
        Value::Bool(b) => (
            Cow::Borrowed(if *b { "true" } else { "false" }),
            Kind::Bool,
            None,
        ),
        Value::Null => (Cow::Borrowed(""), Kind::Null, None),
        Value::Array(_) | Value::Object(_) => {
            (Cow::Owned(sorted_compact(value)), Kind::Nested, Some(value))
        }
    }
}

fn sorted_compact(value: &Value) -> String {
    // Written out, not cloned into a sorted tree first: a nested value can be
    // most of a record, and the clone cost as much memory again as the parse.
    fn write(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<_> = m.iter().collect();
                entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                out.push(b'{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    scalar(k, out);
                    out.push(b':');
                    write(v, out);
                }
                out.push(b'}');
            }
            Value::Array(a) => {
                out.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(v, out);
                }
                out.push(b']');
            }
            other => scalar(other, out),
        }
    }
    fn scalar<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
        serde_json::to_writer(out, v).expect("writing JSON to memory cannot fail");
    }
    let mut out = Vec::new();
    write(value, &mut out);
    String::from_utf8(out).expect("serde_json writes UTF-8")
}
