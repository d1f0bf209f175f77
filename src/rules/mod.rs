//! Row-level checks, one file per reason code (or per pair of codes that
//! share their parsing). Each rule looks at a [`RowView`] and adds what it
//! finds to the row's [`Verdict`]; a row collects every code that applies.

mod approval_required;
mod columns;
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
mod view;

pub use columns::{Column, Columns};
pub use media_files::{MediaContext, MediaKind, MediaNote};
pub use undisclosed_ai_text::{AiContext, AiFinding, AiSettings, TextColumns};
pub use view::{Cell, Cells, Kind, NoView, RowView, build_view, json_text};

use crate::input::Row;
use crate::policy::Policy;
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
    /// Bit i: the row has a cell for the i-th column of `[media] columns`
    /// (so a name matching no JSON key can be reported).
    pub media_columns_seen: u64,
}

/// The bit of the i-th column a policy names, in [`Verdict::ai_columns_seen`]
/// and [`Verdict::media_columns_seen`]; none past the 64th, which is then
/// never reported missing.
pub fn column_bit(i: usize) -> u64 {
    1u64.checked_shl(i as u32).unwrap_or(0)
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
        Ok(view) => view,
        Err(_) => {
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
    check_cells(&view, ctx, &mut v);
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
    let media = media_files::inspect(&view, ctx, &mut v.media_columns_seen);
    v.media_files = media.len() as u32;
    media_missing::check(&media, &mut v);
    media_files::note_unchecked(&media, &mut v);
    media_provenance_invalid::check(&media, &mut v);
    undisclosed_ai_media::check(&view, &media, &mut v);
    v
}

/// CSV_INJECTION and FIELD_TOO_LONG, which judge cell by cell, in one walk
/// over the cells: walked once for each, the cells cost more than the checks.
fn check_cells(view: &RowView, ctx: &Context, v: &mut Verdict) {
    // A JSON key becomes a column name when the record is flattened for a
    // CRM or a spreadsheet: it is checked with the values. (A CSV header is
    // checked once per file: HEADER_UNSAFE.)
    let json = view.csv_raw().is_none();
    let mode = ctx.policy.injection_mode;
    let (mut injection, mut too_long) = (false, false);
    for c in view.cells() {
        injection = injection || csv_injection::offends(&c, mode, json);
        too_long = too_long || field_too_long::offends(&c, ctx);
        if injection && too_long {
            break;
        }
    }
    if injection {
        v.add(Reason::CsvInjection);
    }
    if too_long {
        v.add(Reason::FieldTooLong);
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::testing::*;
    use super::*;
    use crate::input::Header;

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
