//! `--report markdown=PATH`: a short summary that fits a GitHub step
//! summary (`$GITHUB_STEP_SUMMARY`) or a merge-request comment: the totals,
//! a table per file, the reasons with their first rows, and the findings.
//! Every value from the input is escaped, so a file name cannot inject
//! markup.

use std::fmt::Write;

use super::plural;
use super::run::RunReport;

pub fn render(run: &RunReport) -> Vec<u8> {
    let mut s = String::new();
    let t = &run.totals;
    let _ = writeln!(
        s,
        "### crmguard: {} of {} rows quarantined{}",
        t.rows_quarantined,
        t.rows_total,
        match t.rows_baselined {
            Some(b) => format!(" ({} new, {b} in the baseline)", t.rows_new),
            None => String::new(),
        }
    );
    s.push('\n');
    let _ = writeln!(
        s,
        "{} file{} scanned{}; exit status {}.\n",
        t.files_scanned,
        plural(t.files_scanned),
        match t.files_failed {
            0 => String::new(),
            n => format!(", **{n} could not be scanned**"),
        },
        run.exit_status
    );
    s.push_str("| file | rows | clean | quarantined | new | file findings |\n");
    s.push_str("|---|---:|---:|---:|---:|---|\n");
    for f in &run.files {
        match &f.report {
            Some(r) => {
                let findings: Vec<&str> = r.file_findings.iter().map(|x| x.code.code()).collect();
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    escape(&f.input.display().to_string()),
                    r.rows_total,
                    r.rows_clean,
                    r.rows_quarantined,
                    f.rows_new(),
                    findings.join(", ")
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "| {} | – | – | – | – | error: {} |",
                    escape(&f.input.display().to_string()),
                    escape(f.error.as_deref().unwrap_or(""))
                );
            }
        }
    }
    if !t.reasons.is_empty() {
        s.push_str("\n| reason | rows | first rows |\n|---|---:|---|\n");
        for (code, n) in &t.reasons {
            let _ = writeln!(s, "| `{code}` | {n} | {} |", first_rows(run, code));
        }
    }
    findings(run, &mut s);
    s.into_bytes()
}

/// The file-level findings, one item each, with their fix.
fn findings(run: &RunReport, s: &mut String) {
    let findings: Vec<String> = run
        .reports()
        .flat_map(|(r, _)| {
            r.file_findings.iter().map(move |f| {
                let fix = f
                    .fix
                    .as_deref()
                    .map(|x| format!(" Fix: {}", escape(x)))
                    .unwrap_or_default();
                format!(
                    "- {}: `{}` {}{fix}",
                    escape(&r.input.path.display().to_string()),
                    f.code,
                    escape(&f.message)
                )
            })
        })
        .collect();
    if !findings.is_empty() {
        s.push_str("\n**File findings**\n\n");
        for f in findings {
            s.push_str(&f);
            s.push('\n');
        }
    }
}

/// `leads.csv` rows 4, 10 · `cases.ndjson` row 2 (at most five per reason).
fn first_rows(run: &RunReport, code: &str) -> String {
    let mut parts = Vec::new();
    for (r, samples) in run.reports() {
        if let Some(s) = samples.reasons.get(code) {
            let rows: Vec<String> = s
                .locations
                .iter()
                .take(5)
                .map(|l| l.row.to_string())
                .collect();
            if !rows.is_empty() {
                parts.push(format!(
                    "{} row{} {}",
                    escape(&r.input.path.display().to_string()),
                    if rows.len() == 1 { "" } else { "s" },
                    rows.join(", ")
                ));
            }
        }
        if parts.len() == 3 {
            parts.push("…".into());
            break;
        }
    }
    parts.join(" · ")
}

/// Escapes text for a Markdown table cell: HTML is entity-escaped (GitHub
/// renders some raw HTML), Markdown punctuation is backslash-escaped, and
/// line breaks, which would end the row, become spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_html() {
        assert_eq!(escape("a|b\n<img src=x>"), "a\\|b &lt;img src=x&gt;");
        assert_eq!(escape("[x](javascript:y)"), "\\[x\\]\\(javascript:y\\)");
        assert_eq!(escape("leads_2026.csv"), "leads\\_2026.csv");
    }
}
