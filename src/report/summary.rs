//! The human summary `scan` prints on stderr: a block per file and a total
//! line across them. Names and messages from the files are escaped
//! (`terminal::escape`); crmguard's own ANSI colours are kept on a terminal
//! and stripped when stderr is piped or NO_COLOR is set (anstream decides).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anstyle::{AnsiColor, Style};

use super::Report;
use super::plural;
use super::run::Totals;
use crate::terminal;

const BAD: Style = AnsiColor::Red.on_default().bold();
const GOOD: Style = AnsiColor::Green.on_default();
const WARN: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();

/// Writes summary text on stderr: colours as the terminal takes them,
/// anything else already escaped by the functions below.
pub fn print(text: &str) {
    let mut err = anstream::stderr();
    if let Err(e) = err.write_all(text.as_bytes()) {
        terminal::stderr_failed(&e);
    }
}

/// One file's block.
pub fn file(report: &Report, report_path: &Path) -> String {
    let mut s = String::new();
    let q = report.rows_quarantined;
    let review = match &report.ai_text {
        Some(ai) if ai.rows_review > 0 => format!(" ({} for review)", ai.rows_review),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "{}: {} row{}: {GOOD}{} clean{GOOD:#}{review}, {}{} quarantined{:#}{}",
        terminal::path(&report.input.path),
        report.rows_total,
        plural(report.rows_total),
        report.rows_clean,
        if q > 0 { BAD } else { Style::new() },
        q,
        if q > 0 { BAD } else { Style::new() },
        match report.rows_baselined {
            Some(b) => format!(" ({} new, {b} in the baseline)", q - b),
            None => String::new(),
        }
    );
    if let Some(enc) = report.input.transcoded_from {
        let _ = writeln!(
            s,
            "  {DIM}read as {enc}, transcoded to UTF-8: outputs hold the UTF-8 text{DIM:#}"
        );
    }
    for (code, n) in &report.reasons {
        let _ = write!(s, "  {code:<24} {n:>8}");
        if *code == "MISSING_DISCLOSURE" && !report.missing_fields.is_empty() {
            let detail: Vec<String> = report
                .missing_fields
                .iter()
                .map(|(f, n)| format!("{} {n}", terminal::escape(f)))
                .collect();
            let _ = write!(s, "  ({})", detail.join(", "));
        }
        s.push('\n');
    }
    for f in &report.file_findings {
        let _ = writeln!(
            s,
            "  {WARN}warning{WARN:#} {}: {}",
            f.code,
            terminal::escape(&f.message)
        );
        if let Some(fix) = &f.fix {
            let _ = writeln!(s, "    fix: {}", terminal::escape(fix));
        }
    }
    detector(report, &mut s);
    media_and_cleanup(report, &mut s);
    let outputs: Vec<String> = report
        .outputs
        .iter()
        .map(|o| terminal::path(&o.summary.path).to_string())
        .chain([terminal::path(report_path).to_string()])
        .collect();
    let _ = writeln!(s, "  {DIM}wrote {}{DIM:#}", outputs.join(", "));
    s
}

/// The media checks' and the cleanup plan's lines.
fn media_and_cleanup(report: &Report, s: &mut String) {
    if let Some(m) = &report.media {
        let c = &m.counts;
        let _ = writeln!(
            s,
            "  media: {} files: {} AI undisclosed, {} AI disclosed, {} invalid, {} missing, {} not checked{}",
            c.files,
            c.ai_undisclosed,
            c.ai_disclosed,
            c.invalid,
            c.missing,
            c.unchecked,
            if m.c2pa {
                ""
            } else {
                " (built without C2PA: XMP only)"
            }
        );
    }
    if let Some(p) = &report.cleanup {
        let _ = write!(
            s,
            "  cleanup plan: {} records ({} tag, {} delete)",
            p.rows, p.tag, p.delete
        );
        if p.duplicates > 0 {
            // Said, so that "N records" against more quarantined rows does
            // not read as rows lost from the plan.
            let _ = write!(
                s,
                "; {} rows with an Id already in it folded into its line",
                p.duplicates
            );
        }
        if p.without_id > 0 {
            let _ = write!(
                s,
                "; {WARN}warning{WARN:#}: {} quarantined rows have no usable `{}` and are not in it",
                p.without_id,
                terminal::escape(&p.id_column)
            );
        }
        s.push('\n');
    }
}

fn detector(report: &Report, s: &mut String) {
    let Some(ai) = &report.ai_text else {
        return;
    };
    if ai.text_columns.is_empty() {
        // Said plainly: a scan that judged nothing must not read like one that
        // found nothing.
        let _ = writeln!(
            s,
            "  detector: judged nothing: no column holds prose; name the free-text \
             columns in [detector] text_columns if the file has any"
        );
    } else {
        let review = match ai.review_threshold {
            Some(_) => format!(", {} for review", ai.rows_review),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "  detector ({}): {} rows judged in {}, {} flagged{review}; {} too short, {} disclosed",
            ai.sensitivity,
            ai.rows_judged,
            terminal::escape(&ai.text_columns.join(", ")),
            ai.rows_flagged,
            ai.rows_too_short,
            ai.rows_disclosed
        );
        if ai.review.len() < ai.rows_review as usize {
            let _ = writeln!(
                s,
                "  the report lists the first {} rows for review",
                ai.review.len()
            );
        }
    }
    if !ai.text_columns_missing.is_empty() {
        let _ = writeln!(
            s,
            "  {WARN}warning{WARN:#}: no record has the text column(s) {} named in [detector] text_columns",
            ai.text_columns_missing
                .iter()
                .map(|c| format!("`{}`", terminal::escape(c)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// The last line: totals across every input of the run.
pub fn total(t: &Totals) -> String {
    let q = t.rows_quarantined;
    let style = if t.rows_new > 0 || t.files_failed > 0 {
        BAD
    } else {
        GOOD
    };
    format!(
        "{style}total{style:#}: {} file{}{}, {} row{}: {} clean, {} quarantined{}{}\n",
        t.files,
        plural(t.files),
        match t.files_failed {
            0 => String::new(),
            n => format!(" ({n} not scanned)"),
        },
        t.rows_total,
        plural(t.rows_total),
        t.rows_clean,
        q,
        match t.rows_baselined {
            Some(b) => format!(" ({} new, {b} in the baseline)", t.rows_new),
            None => String::new(),
        },
        match t.file_findings {
            0 => String::new(),
            n => format!(", {n} file-level finding{}", plural(n)),
        }
    )
}
