//! The first quarantined rows of each reason, kept while rows stream past
//! so the run's reports can show and point at them. Memory is bounded by
//! the caps below whatever the file's size: at most
//! `LOCATIONS_PER_REASON` locations and `ROWS_PER_REASON` rows per reason
//! code, each row at most `CELLS_PER_ROW` cells of `CELL_CHARS` characters.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rules::Verdict;
use crate::rules::explain::Explained;
use crate::spec::Reason;

/// Rows per reason whose cells are kept (shown in the HTML report).
pub const ROWS_PER_REASON: usize = 5;
/// Row locations per reason (SARIF locations, JUnit and annotation texts).
pub const LOCATIONS_PER_REASON: usize = 20;
/// Characters kept of a sampled cell's value.
pub const CELL_CHARS: usize = 200;
/// Cells kept of a sampled row: its offending cells first, then the others
/// in order up to this many.
pub const CELLS_PER_ROW: usize = 40;

/// Where a quarantined row is in its input.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowLocation {
    /// 1-based record number, header not counted (the `crmguard_row` value).
    pub row: u64,
    /// Line and column of the row's first offending cell (of the row itself
    /// when no single cell is to blame).
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleCell {
    pub name: String,
    pub value: String,
    /// The value was longer than `CELL_CHARS` characters and was cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// A reason of the row points at this cell.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub offending: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleRow {
    pub row: u64,
    pub line: u64,
    /// Every reason the row carries, in code order.
    pub reasons: Vec<&'static str>,
    /// Required disclosure fields the row lacks (MISSING_DISCLOSURE).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_fields: Vec<&'static str>,
    pub cells: Vec<SampleCell>,
    /// Cells of the row left out past `CELLS_PER_ROW`.
    #[serde(skip_serializing_if = "is_zero")]
    pub cells_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The first rows of one reason.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ReasonSamples {
    pub locations: Vec<RowLocation>,
    pub rows: Vec<SampleRow>,
}

/// Reason code → its first rows. Only rows that count (not baselined) are
/// sampled: a baseline's rows are already known.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(transparent)]
pub struct Samples {
    pub reasons: BTreeMap<&'static str, ReasonSamples>,
}

impl Samples {
    /// Whether a row with this verdict would add anything: true until every
    /// one of its reasons has its fill.
    pub fn wants(&self, v: &Verdict) -> bool {
        v.reasons.iter().any(|r| {
            self.reasons
                .get(r.code())
                .is_none_or(|s| s.locations.len() < LOCATIONS_PER_REASON)
        })
    }

    /// Adds a quarantined row, explained.
    pub fn add(&mut self, row: u64, v: &Verdict, e: &Explained) {
        let mut sample: Option<SampleRow> = None;
        for r in v.reasons.iter() {
            let entry = self.reasons.entry(r.code()).or_default();
            if entry.locations.len() >= LOCATIONS_PER_REASON {
                continue;
            }
            let (line, column) = e.position_of(r);
            entry.locations.push(RowLocation { row, line, column });
            if entry.rows.len() < ROWS_PER_REASON {
                let s = sample.get_or_insert_with(|| sample_row(row, v, e));
                entry.rows.push(s.clone());
            }
        }
    }
}

fn sample_row(row: u64, v: &Verdict, e: &Explained) -> SampleRow {
    // Offending cells first, so a cap never hides what the row is held for;
    // then the others in the file's order.
    let (hit, rest): (Vec<_>, Vec<_>) = e.cells.iter().partition(|c| !c.reasons.is_empty());
    let total = e.cells.len();
    let mut keep: Vec<_> = hit.into_iter().chain(rest).take(CELLS_PER_ROW).collect();
    // Back to the file's order for display.
    keep.sort_by_key(|c| {
        e.cells
            .iter()
            .position(|x| std::ptr::eq(x, *c))
            .unwrap_or(usize::MAX)
    });
    SampleRow {
        row,
        line: e.line,
        reasons: v.reasons.iter().map(Reason::code).collect(),
        missing_fields: v.missing.iter().map(|f| f.name()).collect(),
        cells_omitted: total - keep.len(),
        cells: keep
            .into_iter()
            .map(|c| {
                let truncated = c.value.chars().nth(CELL_CHARS).is_some();
                SampleCell {
                    name: c.name.clone(),
                    value: match truncated {
                        true => c.value.chars().take(CELL_CHARS).collect(),
                        false => c.value.clone(),
                    },
                    truncated,
                    offending: !c.reasons.is_empty(),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::explain::ExplainedCell;
    use crate::spec::ReasonSet;

    fn verdict(reasons: &[Reason]) -> Verdict {
        let mut v = Verdict::default();
        reasons.iter().for_each(|r| v.add(*r));
        v
    }

    fn explained(cells: usize, bad: usize, value: &str) -> Explained {
        Explained {
            cells: (0..cells)
                .map(|i| ExplainedCell {
                    name: format!("c{i}"),
                    value: value.to_string(),
                    reasons: if i == bad {
                        [Reason::CsvInjection].into_iter().collect()
                    } else {
                        ReasonSet::empty()
                    },
                    at: (i == bad).then_some((7, 3)),
                })
                .collect(),
            line: 7,
        }
    }

    #[test]
    fn caps_bound_rows_locations_and_cells() {
        let mut s = Samples::default();
        let v = verdict(&[Reason::CsvInjection]);
        let long = "x".repeat(CELL_CHARS + 50);
        for row in 1..=100 {
            if s.wants(&v) {
                s.add(
                    row,
                    &v,
                    &explained(CELLS_PER_ROW + 10, CELLS_PER_ROW + 5, &long),
                );
            }
        }
        let r = &s.reasons["CSV_INJECTION"];
        assert_eq!(r.locations.len(), LOCATIONS_PER_REASON);
        assert_eq!(r.rows.len(), ROWS_PER_REASON);
        assert_eq!(r.locations[3].row, 4);
        assert_eq!((r.locations[3].line, r.locations[3].column), (7, 3));
        let row = &r.rows[0];
        assert_eq!(row.cells.len(), CELLS_PER_ROW);
        assert_eq!(row.cells_omitted, 10);
        // The offending cell survives the cap, and cells keep file order.
        assert!(row.cells.last().unwrap().offending);
        assert_eq!(
            row.cells.last().unwrap().name,
            format!("c{}", CELLS_PER_ROW + 5)
        );
        assert!(row.cells[0].truncated);
        assert_eq!(row.cells[0].value.chars().count(), CELL_CHARS);
        assert!(!s.wants(&v));
        assert!(s.wants(&verdict(&[Reason::CsvInjection, Reason::FieldTooLong])));
    }
}
