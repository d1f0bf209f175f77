//! UNDISCLOSED_AI_TEXT: free text that reads as machine-written in a row
//! marked human or unmarked. Rows that disclose `is_synthetic = true` are
//! not judged: they told the truth, and the sync filter decides about them.
//! Short texts are not judged either (the detector cannot tell, and terse
//! genuine reviews are exactly what a false positive would hit).

use std::borrow::Cow;
use std::sync::OnceLock;

use super::{AiStatus, Cell, Column, Columns, Context, Kind, RowView, Verdict, column_bit};
use crate::detector::{Detector, Sensitivity, Signal, Thresholds};
use crate::input::{Content, Row};
use crate::spec::Reason;

/// What the detector found in a row: the score of its strongest text field
/// and, for a flagged row or one listed for review, why. Held in the row's
/// verdict without a heap allocation unless the row is one of those: most
/// rows are judged.
#[derive(Debug, Clone, PartialEq)]
pub struct AiFinding {
    /// Calibrated P(machine) of the field that scored highest.
    pub score: f32,
    /// A clean row scoring above the review threshold but not above the
    /// quarantine threshold: it stays in the clean file, and the report lists
    /// it for an admin to look at.
    pub review: bool,
    /// Only for flagged rows and rows for review.
    pub explanation: Option<Box<Explanation>>,
}

/// Why a row was flagged or listed for review.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The column of the field that scored highest, as the file names it.
    pub column: String,
    /// Evidence for machine text, strongest first.
    pub signals: Vec<Signal>,
}

impl AiFinding {
    /// The `crmguard_ai_signals` cell: `column: family detail; ...`,
    /// strongest first.
    pub fn signals_text(&self) -> String {
        let Some(e) = self
            .explanation
            .as_deref()
            .filter(|e| !e.signals.is_empty())
        else {
            return String::new();
        };
        let list: Vec<String> = e
            .signals
            .iter()
            .map(|s| format!("{} {}", s.family, s.detail))
            .collect();
        format!("{}: {}", e.column, list.join("; "))
    }

    /// The signals behind a flag or a review; none for other rows.
    pub fn signals(&self) -> &[Signal] {
        self.explanation.as_deref().map_or(&[], |e| &e.signals)
    }
}

/// The columns one file's scan judges.
#[derive(Debug, Clone)]
pub struct TextColumns {
    /// From the policy, or inferred from the first batch.
    pub names: Vec<String>,
    /// In a CSV file, the judged columns' positions in the record, in
    /// record order: found once from the header rather than by name in every
    /// row, which cost a scan more than its rules did. `None` for JSON,
    /// whose keys vary by record.
    csv: Option<Vec<usize>>,
    /// The [`Verdict::ai_columns_seen`] mask of a CSV record.
    csv_seen: u64,
}

impl TextColumns {
    pub fn new(names: Vec<String>, header: Option<&Columns>) -> TextColumns {
        // By a map, not a search of the names for every column: inferred
        // names can be as many as the columns, and a header can have a
        // million. The first of two names equal but for case wins, as a
        // search would find it.
        let mut by_name = std::collections::HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            by_name.entry(n.to_ascii_lowercase()).or_insert(i);
        }
        // Trimmed as the policy's names are, so that a header cell of
        // " Text " is the column `text_columns = ["text"]` names.
        let index = |c: &Column| by_name.get(&c.name.trim().to_ascii_lowercase()).copied();
        let csv = header.map(|h| {
            (h.columns.iter().enumerate())
                .filter(|(_, c)| index(c).is_some())
                .map(|(pos, _)| pos)
                .collect()
        });
        let csv_seen = (header.iter().flat_map(|h| &h.columns))
            .filter_map(index)
            .fold(0, |mask, i| mask | column_bit(i));
        TextColumns {
            names,
            csv,
            csv_seen,
        }
    }
}

/// The detector a run judges with, and its thresholds.
#[derive(Clone, Copy)]
pub struct AiSettings<'a> {
    pub detector: &'a Detector,
    /// The preset the thresholds came from (the policy's keys may override
    /// its values), for the report.
    pub sensitivity: Sensitivity,
    pub thresholds: Thresholds,
}

/// The detector as one file's scan uses it.
pub struct AiContext<'a> {
    pub settings: AiSettings<'a>,
    pub columns: OnceLock<TextColumns>,
}

pub fn check<'a>(row: &'a RowView, ctx: &Context, v: &mut Verdict) {
    let Some(ai) = &ctx.ai else {
        return;
    };
    let disclosed = row.synthetic() == Some(true);
    if disclosed {
        v.ai = AiStatus::Disclosed;
    }
    let Some(columns) = ai.columns.get() else {
        return;
    };
    let mut best: Option<(f32, &str, Cow<str>)> = None;
    let mut any_text = false;
    let mut judge = |cell: Cell<'a>| {
        let text = cell.text();
        if text.trim().is_empty() {
            return;
        }
        any_text = true;
        let a = ai.settings.detector.assess(&text, false);
        if a.judged && best.as_ref().is_none_or(|(s, _, _)| a.score > *s) {
            best = Some((a.score, cell.name, text));
        }
    };
    match &columns.csv {
        Some(slots) => {
            // Seen even in disclosed rows: the column exists in the file.
            v.ai_columns_seen |= columns.csv_seen;
            if !disclosed {
                for &pos in slots {
                    if let Some(cell) = row.csv_cell(pos) {
                        judge(cell);
                    }
                }
            }
        }
        None => {
            for cell in row.cells() {
                let Some(i) = columns
                    .names
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(cell.name.trim()))
                else {
                    continue;
                };
                v.ai_columns_seen |= column_bit(i);
                if disclosed || cell.kind != Kind::Text {
                    continue;
                }
                judge(cell);
            }
        }
    }
    if disclosed {
        return;
    }
    match best {
        Some((score, column, text)) => v.ai = AiStatus::Judged(decide(ai, score, column, &text, v)),
        None if any_text => v.ai = AiStatus::TooShort,
        None => v.ai = AiStatus::NoText,
    }
}

/// What a judged row's best score means: flagged above the quarantine
/// threshold, listed for review above the review threshold, explained when
/// either.
fn decide(ai: &AiContext, score: f32, column: &str, text: &str, v: &mut Verdict) -> AiFinding {
    // Strictly above, as `eval` and the shipped threshold count it.
    let t = &ai.settings.thresholds;
    let flagged = score > t.quarantine;
    // Only a row that would otherwise be imported needs a look: this rule
    // runs last, so every other reason is known by now.
    let review = !flagged && v.is_clean() && t.review.is_some_and(|r| score > r);
    if flagged {
        v.add(Reason::UndisclosedAiText);
    }
    AiFinding {
        score,
        review,
        // Explaining costs a second pass; only flagged rows and rows for
        // review need it. Only evidence for machine text explains.
        explanation: (flagged || review).then(|| {
            let mut signals = ai.settings.detector.assess(text, true).signals;
            signals.retain(|s| s.weight > 0.0);
            Box::new(Explanation {
                column: column.to_string(),
                signals,
            })
        }),
    }
}

/// Words below which a value is not prose, for column inference.
const PROSE_WORDS: usize = 6;

/// The columns worth judging in a file: text columns whose values are
/// mostly prose, judged on the first batch (fixed in size, so the choice
/// does not depend on the thread count). Disclosure and crmguard's own
/// columns, and number/phone columns, are never text.
pub fn infer_columns(rows: &[Row], ctx: &Context) -> Vec<String> {
    /// A column's values seen, its prose values, and when it was first seen.
    #[derive(Clone, Copy, Default)]
    struct Seen {
        values: u32,
        prose: u32,
        first: usize,
    }
    // CSV columns are counted by position, JSON keys by name: a header can
    // have a million columns, and a search of the names seen so far for each
    // cell took minutes there.
    let mut by_position: Vec<Option<Seen>> = Vec::new();
    let mut by_name: std::collections::HashMap<String, Seen> = std::collections::HashMap::new();
    let mut order = 0;
    for row in rows {
        let Ok(view) = super::build_view(row, ctx) else {
            continue;
        };
        let csv = matches!(row.content, Content::Csv { .. });
        for (pos, cell) in view.cells().enumerate() {
            if cell.kind != Kind::Text
                || cell.field.is_some()
                || cell.added
                || cell.injection_exempt
                || cell.name.is_empty()
            {
                continue;
            }
            let text = cell.text();
            if text.trim().is_empty() {
                continue;
            }
            let seen = if csv {
                if by_position.len() <= pos {
                    by_position.resize(pos + 1, None);
                }
                by_position[pos].get_or_insert(Seen {
                    first: order,
                    ..Seen::default()
                })
            } else {
                by_name.entry(cell.name.to_string()).or_insert(Seen {
                    first: order,
                    ..Seen::default()
                })
            };
            order += 1;
            seen.values += 1;
            seen.prose += u32::from(is_prose(&text));
        }
    }
    let names = ctx.columns.map_or(&[][..], |c| &c.columns[..]);
    let is_prose_column = |s: &Seen| s.prose > 0 && s.prose * 2 >= s.values;
    let mut chosen: Vec<(usize, String)> = Vec::new();
    for (pos, s) in by_position.iter().enumerate() {
        if let (Some(s), Some(column)) = (s, names.get(pos))
            && is_prose_column(s)
        {
            chosen.push((s.first, column.name.clone()));
        }
    }
    for (name, s) in by_name {
        if is_prose_column(&s) {
            chosen.push((s.first, name));
        }
    }
    chosen.sort_unstable_by_key(|(first, _)| *first);
    chosen.into_iter().map(|(_, name)| name).collect()
}

/// Prose: several words, mostly letters. Scripts written without spaces
/// (Chinese, Japanese) count characters instead.
fn is_prose(text: &str) -> bool {
    // One pass: every cell of the first batch comes through here, before any
    // row can be judged.
    let (mut letters, mut chars, mut words, mut cjk) = (0usize, 0usize, 0usize, false);
    let mut in_word = false;
    for c in text.chars() {
        if c.is_whitespace() {
            in_word = false;
            continue;
        }
        chars += 1;
        words += usize::from(!in_word);
        in_word = true;
        letters += usize::from(c.is_alphabetic());
        cjk |= crate::detector::chars::is_cjk(c);
    }
    if chars == 0 || letters * 2 < chars {
        return false;
    }
    words >= PROSE_WORDS || (words < 3 && letters >= 20 && cjk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_in_one_pass_as_in_three() {
        let reference = |text: &str| {
            let letters = text.chars().filter(|c| c.is_alphabetic()).count();
            let chars = text.chars().filter(|c| !c.is_whitespace()).count();
            if chars == 0 || letters * 2 < chars {
                return false;
            }
            let words = text.split_whitespace().count();
            words >= PROSE_WORDS
                || (words < 3 && letters >= 20 && text.chars().any(crate::detector::chars::is_cjk))
        };
        let pieces = [
            "word",
            " ",
            "  ",
            "\t",
            "\n",
            "\u{a0}",
            "\u{3000}",
            "12",
            "-",
            "性价比超高的酒店",
            "比较贵",
            "〇〇",
            "ok",
            "é",
            "ー",
            "，",
            "a1",
            "・",
            "abcdefghijklmnopqrstu",
        ];
        // Every sequence of up to four pieces, and longer runs of each.
        let mut texts: Vec<String> = vec![String::new()];
        let mut layer = texts.clone();
        for _ in 0..4 {
            // Extending only the newest layer makes each sequence once.
            layer = (layer.iter())
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
            texts.extend(layer.iter().cloned());
        }
        texts.extend(pieces.iter().map(|p| p.repeat(7)));
        texts.extend(pieces.iter().map(|p| format!("{p} ").repeat(6)));
        let prose = texts.iter().filter(|t| reference(t)).count();
        assert!(prose > 100, "the cases must reach both answers: {prose}");
        for t in &texts {
            assert_eq!(is_prose(t), reference(t), "{t:?}");
        }
    }

    #[test]
    fn prose_or_not() {
        assert!(is_prose(
            "Called twice, no answer. Left voicemail on the 14th."
        ));
        assert!(!is_prose("Head of Operations"));
        assert!(!is_prose("ada.lovelace@example.com"));
        assert!(!is_prose("+1 (555) 010-0199 ext 12 or 13 or 14"));
        assert!(is_prose(
            "性价比超高的酒店，虽然价格比较贵，但是享受到的服务环境都还不错。"
        ));
        assert!(!is_prose(
            "00Q000000000001 00Q000000000002 00Q000000000003 00Q4 00Q5 00Q6"
        ));
    }
}
