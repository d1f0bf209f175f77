//! Which cells of a quarantined row each reason points at, for the reports
//! that show rows (the HTML report highlights them, SARIF and annotations
//! point at the first one). Runs only on the few rows a report samples,
//! never on the scan's hot path, so it may take a second look at the row.

use super::{Cell, Context, RowView, Verdict, build_view};
use super::{control_character, csv_injection, field_too_long};
use crate::error::{csv_line_col, line_col};
use crate::input::{Content, Row};
use crate::spec::disclosure::parse_bool;
use crate::spec::{Field, Reason, ReasonSet};

/// One cell of a sampled row, with the reasons that point at it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainedCell {
    pub name: String,
    /// The value as text (lossy on ENCODING_INVALID rows).
    pub value: String,
    pub reasons: ReasonSet,
    /// 1-based line and column in the input where the cell starts; only
    /// for cells a reason points at.
    pub at: Option<(u64, u64)>,
}

/// A quarantined row's cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    /// Empty when the row could not be viewed (MALFORMED_ROW JSON).
    pub cells: Vec<ExplainedCell>,
    /// The input line where the row starts.
    pub line: u64,
}

impl Explained {
    /// Where the first cell `reason` points at starts; the row's start
    /// when it points at none (MISSING_DISCLOSURE, MALFORMED_ROW).
    pub fn position_of(&self, reason: Reason) -> (u64, u64) {
        self.cells
            .iter()
            .find(|c| c.reasons.contains(reason))
            .and_then(|c| c.at)
            .unwrap_or((self.line, 1))
    }
}

/// The columns a quarantined row's reasons point at, with those reasons:
/// the per-column counts of the reports. Cheaper than [`explain`] (no
/// values copied, no positions); run for every quarantined row, in the
/// parallel stage.
pub fn column_reasons(row: &Row, ctx: &Context, verdict: &Verdict) -> Vec<(String, ReasonSet)> {
    // Reasons that never point at a cell need no second look at the row.
    let cell_reasons: ReasonSet = verdict
        .reasons
        .iter()
        .filter(|r| !matches!(r, Reason::MalformedRow | Reason::MissingDisclosure))
        .collect();
    if cell_reasons.is_empty() {
        return Vec::new();
    }
    let Ok(view) = build_view(row, ctx) else {
        return Vec::new();
    };
    let flagged_column = flagged_column(verdict);
    view.cells()
        .filter_map(|c| {
            let reasons: ReasonSet = cell_reasons
                .iter()
                .filter(|r| points_at(*r, &c, &view, ctx, flagged_column))
                .collect();
            (!reasons.is_empty()).then(|| (c.name.to_string(), reasons))
        })
        .collect()
}

fn flagged_column(verdict: &Verdict) -> Option<&str> {
    verdict
        .ai
        .finding()
        .and_then(|f| f.explanation.as_ref())
        .map(|e| e.column.as_str())
}

/// Explains `verdict` for `row`. `delimiter` is the CSV delimiter (unused
/// for JSON).
pub fn explain(row: &Row, ctx: &Context, verdict: &Verdict, delimiter: u8) -> Explained {
    let Ok(view) = build_view(row, ctx) else {
        return Explained {
            cells: Vec::new(),
            line: row.line,
        };
    };
    let flagged_column = flagged_column(verdict);
    let mut starts = None;
    let cells: Vec<ExplainedCell> = view
        .cells()
        .enumerate()
        .map(|(i, c)| {
            let reasons: ReasonSet = verdict
                .reasons
                .iter()
                .filter(|r| points_at(*r, &c, &view, ctx, flagged_column))
                .collect();
            let at = (!reasons.is_empty())
                .then(|| cell_position(row, i, c.name, delimiter, &mut starts));
            ExplainedCell {
                name: c.name.to_string(),
                value: c.text().into_owned(),
                reasons,
                at,
            }
        })
        .collect();
    Explained {
        cells,
        line: row.line,
    }
}

/// Whether `reason` is about this cell.
fn points_at(
    reason: Reason,
    c: &Cell,
    view: &RowView,
    ctx: &Context,
    flagged_column: Option<&str>,
) -> bool {
    let is = |fields: &[Field]| c.field.is_some_and(|f| fields.contains(&f));
    match reason {
        Reason::MalformedRow | Reason::MissingDisclosure => false,
        Reason::EncodingInvalid => std::str::from_utf8(c.bytes).is_err(),
        Reason::InvalidBoolean => {
            is(&[Field::IsSynthetic, Field::HumanReviewed])
                && !c.text().trim().is_empty()
                && parse_bool(&c.text()).is_none()
        }
        Reason::InvalidTimestamp | Reason::FutureTimestamp => is(&[Field::GenerationTimestamp]),
        Reason::InvalidSourceType => is(&[Field::DigitalSourceType]),
        Reason::InvalidModelVersion => is(&[Field::AiModelVersion]),
        Reason::DisclosureInconsistent => {
            is(&[
                Field::IsSynthetic,
                Field::AiModelVersion,
                Field::DigitalSourceType,
            ]) && !c.text().trim().is_empty()
        }
        Reason::ProvenanceInvalid | Reason::ProvenanceMismatch => is(&[Field::ProvenanceHash]),
        Reason::UntrustedAiSource => {
            is(&[Field::AiModelVersion, Field::DataSource]) && view.synthetic() == Some(true)
        }
        Reason::SyntheticNotAllowed | Reason::ApprovalRequired => is(&[Field::IsSynthetic]),
        Reason::UndisclosedAiMedia | Reason::MediaProvenanceInvalid | Reason::MediaMissing => {
            ctx.media.as_ref().is_some_and(|m| {
                m.columns
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(c.name.trim()))
            })
        }
        Reason::UndisclosedAiText => flagged_column == Some(c.name),
        Reason::CsvInjection => {
            csv_injection::offends(c, ctx.policy.injection_mode, view.csv_raw().is_none())
        }
        Reason::ControlCharacter => control_character::offends(c),
        Reason::FieldTooLong => field_too_long::offends(c, ctx),
    }
}

/// Line and column in the input where cell `i` (named `name`) of `row`
/// starts. CSV: found by re-splitting the record's bytes. JSON: where the
/// key first appears in the record (good enough to jump to).
fn cell_position(
    row: &Row,
    i: usize,
    name: &str,
    delimiter: u8,
    starts: &mut Option<Vec<usize>>,
) -> (u64, u64) {
    let offset = match &row.content {
        Content::Csv { .. } => starts
            .get_or_insert_with(|| crate::input::field_starts(&row.raw, delimiter))
            .get(i)
            .copied(),
        Content::Object(_) => serde_json::to_string(name)
            .ok()
            .and_then(|key| memchr::memmem::find(&row.raw, key.as_bytes())),
        Content::Malformed => None,
    };
    match offset {
        Some(offset) => {
            let (l, c) = match row.content {
                Content::Csv { .. } => csv_line_col(&row.raw, offset),
                _ => line_col(&row.raw, offset),
            };
            (row.line + l - 1, c)
        }
        None => (row.line, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn reasons_point_at_their_cells() {
        let policy = policy("");
        let row = csv_row(&["no", "web", "=1+1", "ok"]);
        let header = csv_header(&["is_synthetic", "data_source", "Notes", "Other"]);
        let columns = super::super::Columns::resolve(&header, &policy);
        let ctx = context(&policy, &columns);
        let v = super::super::check_row(&row, &ctx);
        assert_eq!(codes(&v), "CSV_INJECTION");
        let e = explain(&row, &ctx, &v, b',');
        let hit: Vec<&str> = e
            .cells
            .iter()
            .filter(|c| !c.reasons.is_empty())
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(hit, ["Notes"]);
        assert_eq!(e.position_of(Reason::CsvInjection), (row.line, 8));
        assert_eq!(e.position_of(Reason::FieldTooLong), (row.line, 1));
        assert_eq!(
            column_reasons(&row, &ctx, &v),
            vec![("Notes".to_string(), v.reasons)]
        );
    }
}
