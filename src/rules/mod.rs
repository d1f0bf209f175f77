//! Row-level checks, one file per reason code (or per pair of codes that
//! share their parsing). Each rule looks at a [`RowView`] and adds what it
//! finds to the row's [`Verdict`]; a row collects every code that applies.

mod approval_required;
mod control_character;
mod csv_injection;
mod disclosure_inconsistent;
mod encoding_invalid;
pub mod explain;
mod field_too_long;
mod invalid_boolean;
mod invalid_model_version;
mod malformed_row;
pub mod media_files;
mod media_missing;
mod media_provenance_invalid;
mod missing_disclosure;
pub mod provenance;
mod source_type;
mod synthetic_policy;
mod timestamp;
mod undisclosed_ai_media;
pub mod undisclosed_ai_text;

pub use media_files::{MediaContext, MediaKind, MediaNote};
pub use undisclosed_ai_text::{AiContext, AiFinding, AiSettings, TextColumns};

use std::borrow::Cow;

use serde_json::Value;

use crate::error::excerpt;
use crate::input::{Content, Header, Row, field_span};
use crate::policy::Policy;
use crate::spec::disclosure::parse_bool;
use crate::spec::{Field, FieldSet, Reason, ReasonSet};

pub(crate) use control_character::has_control;
pub(crate) use csv_injection::is_formula;
pub use timestamp::{
    TimeError, parse as parse_timestamp, parse_checked as parse_timestamp_checked,
};

/// What the rules found in one row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    pub reasons: ReasonSet,
    /// The required disclosure fields the row lacks (MISSING_DISCLOSURE).
    pub missing: FieldSet,
    /// The disclosure fields the row has a column or key for.
    pub present: FieldSet,
    pub notices: Notices,
    /// What the detector made of the row.
    pub ai: AiStatus,
    /// Bit i: the row has a cell for the i-th column the policy names in
    /// `[detector] text_columns` (so a name matching no column can be reported).
    pub ai_columns_seen: u64,
    /// For quarantined rows: the columns the reasons point at (see
    /// [`explain::column_reasons`]); empty for clean rows.
    pub columns: Vec<(String, ReasonSet)>,
    /// What the row's media files contributed (`[media] columns`).
    pub media: Vec<MediaNote>,
    /// Media files the row names, checked or not.
    pub media_files: u32,
}

/// What the detector made of a row.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum AiStatus {
    /// The detector is off, or the row could not be read.
    #[default]
    NotRun,
    /// `is_synthetic` is true: disclosed, so not judged.
    Disclosed,
    /// No text in the judged columns.
    NoText,
    /// Text, all of it too short to judge.
    TooShort,
    Judged(AiFinding),
}

impl AiStatus {
    pub fn finding(&self) -> Option<&AiFinding> {
        match self {
            AiStatus::Judged(f) => Some(f),
            _ => None,
        }
    }
}

impl Verdict {
    /// The detector's score as every output writes it: three decimals;
    /// `None` when the row was not judged.
    pub fn ai_score(&self) -> Option<f64> {
        self.ai
            .finding()
            .map(|a| (a.score as f64 * 1000.0).round() / 1000.0)
    }

    pub fn add(&mut self, r: Reason) {
        self.reasons.insert(r);
    }

    pub fn is_clean(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Adds a media finding, and its code if it has one.
    pub fn add_media(&mut self, note: MediaNote) {
        if let Some(code) = note.kind.code() {
            self.add(code);
        }
        self.media.push(note);
    }

    /// The `crmguard_media` cell: the evidence behind the row's media
    /// codes, joined by ` | `.
    pub fn media_text(&self) -> String {
        let decided: Vec<String> = self
            .media
            .iter()
            .filter(|n| n.kind.code().is_some())
            .map(MediaNote::text)
            .collect();
        decided.join(" | ")
    }
}

/// Accepted but worth reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notices {
    pub retired_source_type: bool,
    pub ambiguous_source_type: bool,
}

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
    by_field: [Option<usize>; Field::COUNT],
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
        /// `fields` as text when it is valid UTF-8: checked once per row, so
        /// that each disclosure value the rules ask for is a slice of it
        /// rather than another validation.
        text: Option<&'a str>,
    },
    Json(Vec<JsonCell<'a>>),
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
            Source::Json(cells) => CellsOf::Json(cells.iter()),
        })
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        match &self.source {
            Source::Csv { ends, .. } => ends.len(),
            Source::Json(cells) => cells.len(),
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
            Source::Json(_) => None,
        }
    }

    /// The CSV record's bytes as read, for checks that can scan them whole.
    pub fn csv_raw(&self) -> Option<&[u8]> {
        match &self.source {
            Source::Csv { row, .. } => Some(&row.raw),
            Source::Json(_) => None,
        }
    }

    /// The value of a disclosure field, if the row has the column.
    pub fn get(&self, f: Field) -> Option<Cow<'_, str>> {
        let i = self.by_field[f as usize]?;
        match &self.source {
            Source::Csv {
                fields, ends, text, ..
            } => {
                let span = field_span(ends, i)?;
                // Fields end at delimiters, so on char boundaries: the slice
                // exists whenever the text does.
                Some(match text.and_then(|t| t.get(span.clone())) {
                    Some(s) => Cow::Borrowed(s),
                    None => decode(&fields[span]),
                })
            }
            Source::Json(cells) => Some(Cow::Borrowed(&*cells[i].text)),
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
        let mut view = RowView {
            source,
            by_field,
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

/// What the rules know about one CSV column, resolved once per file.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub field: Option<Field>,
    pub injection_exempt: bool,
    pub added: bool,
}

impl Column {
    /// This column's cell of a record.
    fn cell<'a>(&'a self, bytes: &'a [u8]) -> Cell<'a> {
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

/// What the rules know about the columns of a CSV file, resolved once.
#[derive(Debug, Clone)]
pub struct Columns {
    pub columns: Vec<Column>,
    /// The column of each disclosure field (duplicates are refused before
    /// any row is read).
    by_field: [Option<usize>; Field::COUNT],
}

impl Columns {
    pub fn resolve(header: &Header, policy: &Policy) -> Columns {
        let columns: Vec<Column> = header
            .names
            .iter()
            .map(|n| Column {
                name: n.clone(),
                field: policy.field_of(n),
                injection_exempt: policy.injection_exempt(n),
                added: policy.is_added_column(n),
            })
            .collect();
        let mut by_field = [None; Field::COUNT];
        for (i, c) in columns.iter().enumerate() {
            if let Some(f) = c.field {
                by_field[f as usize] = Some(i);
            }
        }
        Columns { columns, by_field }
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Columns carrying the same name ignoring case, or the same disclosure
    /// field (e.g. `is_synthetic` beside `Is_Synthetic__c`): which one counts
    /// would be a guess, so the file is refused (HEADER_DUPLICATE). The
    /// second column's index, and what is wrong.
    pub fn duplicate(&self) -> Option<(usize, String)> {
        // One pass with a set: a pairwise check took 23 s on 60,000 columns
        // and did not end on a million.
        let mut seen = std::collections::HashMap::with_capacity(self.columns.len());
        let mut fields: [Option<&str>; Field::COUNT] = [None; Field::COUNT];
        for (j, cb) in self.columns.iter().enumerate() {
            let b = &cb.name;
            if let Some(i) = seen.insert(b.trim().to_ascii_lowercase(), j) {
                return Some((
                    j,
                    format!(
                        "columns {} and {} are both named `{}` (names are case-insensitive)",
                        i + 1,
                        j + 1,
                        excerpt(b)
                    ),
                ));
            }
            if let Some(fb) = cb.field {
                if let Some(a) = fields[fb as usize] {
                    return Some((
                        j,
                        format!(
                            "columns `{}` and `{}` both carry the disclosure field `{fb}`",
                            excerpt(a),
                            excerpt(b)
                        ),
                    ));
                }
                fields[fb as usize] = Some(b);
            }
        }
        None
    }

    /// The required disclosure fields no column carries.
    pub fn missing(&self, policy: &Policy) -> FieldSet {
        policy
            .required
            .iter()
            .filter(|f| self.by_field[*f as usize].is_none())
            .collect()
    }
}

/// Everything the rules need besides the row.
pub struct Context<'a> {
    pub policy: &'a Policy,
    /// The scan's start: FUTURE_TIMESTAMP compares against it, so every row
    /// of every file sees the same "now" and `-j1`/`-jN` agree.
    pub scan_time: jiff::Timestamp,
    pub columns: Option<&'a Columns>,
    /// `scan --object`: the target object of every row.
    pub object_flag: Option<&'a str>,
    /// The target object the file name implies, by the policy.
    pub object_from_file: Option<&'a str>,
    /// The AI-text detector; `None` when the policy turns it off.
    pub ai: Option<AiContext<'a>>,
    /// Media checks; `None` when the policy names no media column.
    pub media: Option<MediaContext<'a>>,
}

/// Runs every rule on one row; a quarantined row also learns which columns
/// its reasons point at.
pub fn check_row(row: &Row, ctx: &Context) -> Verdict {
    let mut v = run_rules(row, ctx);
    if !v.is_clean() {
        v.columns = explain::column_reasons(row, ctx, &v);
    }
    v
}

fn run_rules(row: &Row, ctx: &Context) -> Verdict {
    let mut v = Verdict::default();
    encoding_invalid::check(row, &mut v);
    let view = match build_view(row, ctx) {
        Some(view) => view,
        None => {
            v.add(Reason::MalformedRow);
            return v;
        }
    };
    v.present = Field::ALL
        .into_iter()
        .filter(|f| view.by_field[*f as usize].is_some())
        .collect();
    let aligned = malformed_row::check(row, &view, ctx, &mut v);
    control_character::check(&view, &mut v);
    csv_injection::check(&view, ctx.policy.injection_mode, &mut v);
    field_too_long::check(&view, ctx, &mut v);
    if !aligned {
        // Values are shifted by the wrong field count: disclosure checks on
        // them would report noise, not findings.
        return v;
    }
    missing_disclosure::check(&view, ctx, &mut v);
    invalid_boolean::check(&view, &mut v);
    timestamp::check(&view, ctx, &mut v);
    source_type::check(&view, &mut v);
    invalid_model_version::check(&view, &mut v);
    disclosure_inconsistent::check(&view, &mut v);
    provenance::check(&view, &mut v);
    synthetic_policy::check(&view, ctx, &mut v);
    approval_required::check(&view, ctx, &mut v);
    undisclosed_ai_text::check(&view, ctx, &mut v);
    let media = media_files::inspect(&view, ctx);
    v.media_files = media.len() as u32;
    media_missing::check(&media, &mut v);
    media_files::note_unchecked(&media, &mut v);
    media_provenance_invalid::check(&media, &mut v);
    undisclosed_ai_media::check(&view, &media, &mut v);
    v
}

/// Builds the view of a row; `None` when there is nothing to view (JSON
/// that does not parse, is not an object, or names a field twice).
pub fn build_view<'a>(row: &'a Row, ctx: &'a Context) -> Option<RowView<'a>> {
    match &row.content {
        Content::Csv { fields, ends } => {
            let columns = ctx.columns?;
            let source = Source::Csv {
                row,
                columns,
                fields,
                ends,
                text: std::str::from_utf8(fields).ok(),
            };
            Some(RowView::new(source, columns.by_field))
        }
        Content::Object(map) => {
            let mut by_field = [None; Field::COUNT];
            let mut cells = Vec::with_capacity(map.len());
            for (i, (key, value)) in map.iter().enumerate() {
                let field = ctx.policy.field_of(key);
                if let Some(f) = field {
                    if by_field[f as usize].is_some() {
                        // Two keys for one field: ambiguous, like a duplicate
                        // CSV header, but only this row is affected.
                        return None;
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
                return None;
            }
            Some(RowView::new(Source::Json(cells), by_field))
        }
        Content::Malformed => None,
    }
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

#[cfg(test)]
pub(crate) mod testing {
    //! Builds rows for rule tests from a header and values.
    use super::*;
    use crate::input::{Content, Row};

    pub fn policy(text: &str) -> Policy {
        Policy::parse(text, crate::policy::PolicySource::BuiltIn).unwrap()
    }

    pub fn scan_time() -> jiff::Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    pub fn csv_row(values: &[&str]) -> Row {
        let mut fields = Vec::new();
        let mut ends = Vec::new();
        for v in values {
            fields.extend_from_slice(v.as_bytes());
            ends.push(fields.len());
        }
        Row {
            number: 1,
            line: 2,
            raw: values.join(",").into_bytes(),
            utf8: true,
            content: Content::Csv { fields, ends },
            ..Row::default()
        }
    }

    /// Runs every rule on a CSV row under `policy`.
    pub fn verdict_with(policy: &Policy, pairs: &[(&str, &str)]) -> Verdict {
        verdict_for(policy, None, pairs)
    }

    /// Runs every rule on a CSV row bound for `object` (as `--object`).
    pub fn verdict_for(policy: &Policy, object: Option<&str>, pairs: &[(&str, &str)]) -> Verdict {
        let header = Header {
            raw: Vec::new(),
            terminator: Default::default(),
            names: pairs.iter().map(|(n, _)| n.to_string()).collect(),
            line: 1,
            delimiter: b',',
        };
        let columns = Columns::resolve(&header, policy);
        let ctx = Context {
            policy,
            scan_time: scan_time(),
            columns: Some(&columns),
            object_flag: object,
            object_from_file: None,
            ai: None,
            media: None,
        };
        let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
        check_row(&csv_row(&values), &ctx)
    }

    /// Runs every rule on a CSV row whose `Image__c` names a media file
    /// under `root`, under the rule fixtures' policy.
    pub fn media_verdict(root: &std::path::Path, pairs: &[(&str, &str)]) -> Verdict {
        let policy = policy("[synthetic]\nallow = true\n");
        let header = Header {
            raw: Vec::new(),
            terminator: Default::default(),
            names: pairs.iter().map(|(n, _)| n.to_string()).collect(),
            line: 1,
            delimiter: b',',
        };
        let columns = Columns::resolve(&header, &policy);
        let inspector = crate::media::Inspector::new(1 << 20, None).unwrap();
        let media_columns = ["Image__c".to_string()];
        let ctx = Context {
            policy: &policy,
            scan_time: scan_time(),
            columns: Some(&columns),
            object_flag: None,
            object_from_file: None,
            ai: None,
            media: Some(MediaContext {
                inspector: &inspector,
                root,
                columns: &media_columns,
            }),
        };
        let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
        check_row(&csv_row(&values), &ctx)
    }

    pub fn verdict(pairs: &[(&str, &str)]) -> Verdict {
        verdict_with(&Policy::builtin(), pairs)
    }

    /// A disclosed human row that passes every check, plus `extra`.
    pub fn human(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v = vec![
            ("Name", "Ada Lovelace"),
            ("is_synthetic", "false"),
            ("data_source", "web_form"),
        ];
        v.extend_from_slice(extra);
        v
    }

    pub fn codes(v: &Verdict) -> String {
        v.reasons.joined()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn a_good_human_row_is_clean() {
        let v = verdict(&human(&[]));
        assert!(v.is_clean(), "{}", codes(&v));
    }

    #[test]
    fn a_row_collects_every_code() {
        let v = verdict(&[
            ("Name", "=cmd|' /C calc'!A0"),
            ("is_synthetic", "perhaps"),
            ("data_source", ""),
            ("Notes", "bell\u{7}"),
        ]);
        assert_eq!(
            codes(&v),
            "MISSING_DISCLOSURE;INVALID_BOOLEAN;CSV_INJECTION;CONTROL_CHARACTER"
        );
    }

    #[test]
    fn json_text_follows_the_provenance_rules() {
        let v: Value = serde_json::json!({"b": [1, {"z": 1, "a": true}], "a": null});
        assert_eq!(json_text(&v).0, r#"{"a":null,"b":[1,{"a":true,"z":1}]}"#);
        let escaped: Value = serde_json::json!({"é\"\n": ["\u{1}", 1.5, -2, {}], "A": []});
        assert_eq!(
            json_text(&escaped).0,
            r#"{"A":[],"é\"\n":["\u0001",1.5,-2,{}]}"#
        );
        assert_eq!(json_text(&serde_json::json!(1.5)).0, "1.5");
        assert_eq!(json_text(&Value::Null).0, "");
        assert_eq!(json_text(&serde_json::json!(false)).0, "false");
    }

    #[test]
    fn duplicate_headers_ignore_case_and_catch_aliases() {
        let policy = Policy::builtin();
        let cols = |names: &[&str]| {
            Columns::resolve(
                &Header {
                    raw: vec![],
                    terminator: Default::default(),
                    names: names.iter().map(|s| s.to_string()).collect(),
                    line: 1,
                    delimiter: b',',
                },
                &policy,
            )
        };
        assert!(cols(&["Email", "email"]).duplicate().is_some());
        assert!(
            cols(&["is_synthetic", "Is_Synthetic__c"])
                .duplicate()
                .is_some()
        );
        assert!(cols(&["Email", "Phone"]).duplicate().is_none());
    }
}
