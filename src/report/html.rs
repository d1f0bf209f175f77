//! `--report html=PATH`: one self-contained page a person opens: totals, a
//! chart of reasons, the AI scores' distribution with its thresholds,
//! per-column findings, the first quarantined rows of each reason with the
//! offending cells marked, and what each code means.
//!
//! The page fetches nothing: styles and charts (SVG) are inline, and it has
//! no script at all. Its Content-Security-Policy says so to the browser, so
//! even markup that slipped through could load and run nothing. Every
//! value that comes from an input (cells, column names, file names,
//! messages) goes through [`esc`].

use std::fmt::Write;

use super::Report;
use super::codes;
use super::escape_markup as esc;
use super::run::{FileEntry, RunReport};
use super::samples::{CELL_CHARS, CELLS_PER_ROW, ROWS_PER_REASON, Samples};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   base-uri 'none'; form-action 'none'";

pub fn render(run: &RunReport) -> Vec<u8> {
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>crmguard report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
    );
    header(run, &mut s);
    totals(run, &mut s);
    reasons_chart(run, &mut s);
    for f in &run.files {
        file_section(f, &mut s);
    }
    glossary(run, &mut s);
    s.push_str("</body>\n</html>\n");
    s.into_bytes()
}

fn header(run: &RunReport, s: &mut String) {
    let _ = write!(
        s,
        "<header><h1>crmguard report</h1><p>crmguard {} · run started {} · \
         exit status <b data-count=\"exit_status\">{}</b> (fail on {})",
        esc(run.crmguard_version),
        esc(&run.started_at),
        run.exit_status,
        run.fail_on
    );
    if let Some(b) = &run.baseline {
        let _ = write!(
            s,
            " · baseline {} ({} rows)",
            esc(&b.path.display().to_string()),
            b.rows
        );
    }
    s.push_str("</p></header>\n");
}

fn totals(run: &RunReport, s: &mut String) {
    let t = &run.totals;
    s.push_str("<section id=\"totals\"><h2>Totals</h2><div class=\"kpis\">\n");
    let mut kpi = |key: &str, label: &str, n: u64, class: &str| {
        let _ = writeln!(
            s,
            "<div class=\"kpi {class}\"><span class=\"n\" data-count=\"{key}\">{n}</span><span class=\"l\">{label}</span></div>"
        );
    };
    kpi("files", "files", t.files, "");
    if t.files_failed > 0 {
        kpi("files_failed", "not scanned", t.files_failed, "bad");
    }
    kpi("rows_total", "rows", t.rows_total, "");
    kpi("rows_clean", "clean", t.rows_clean, "good");
    kpi(
        "rows_quarantined",
        "quarantined",
        t.rows_quarantined,
        if t.rows_quarantined > 0 { "bad" } else { "" },
    );
    if let Some(b) = t.rows_baselined {
        kpi(
            "rows_new",
            "new",
            t.rows_new,
            if t.rows_new > 0 { "bad" } else { "" },
        );
        kpi("rows_baselined", "in the baseline", b, "");
    }
    kpi(
        "file_findings",
        "file-level findings",
        t.file_findings,
        if t.file_findings > 0 { "warn" } else { "" },
    );
    s.push_str("</div></section>\n");
}

/// A horizontal bar per reason code, longest first.
fn reasons_chart(run: &RunReport, s: &mut String) {
    s.push_str("<section id=\"reasons\"><h2>Reasons</h2>\n");
    let mut reasons: Vec<(&str, u64)> = run.totals.reasons.iter().map(|(c, n)| (*c, *n)).collect();
    if reasons.is_empty() {
        s.push_str("<p>No row was quarantined.</p></section>\n");
        return;
    }
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let max = reasons[0].1.max(1) as f64;
    let (label_w, bar_w, row_h) = (230.0, 480.0, 24.0);
    let height = row_h * reasons.len() as f64 + 8.0;
    let _ = writeln!(
        s,
        "<svg class=\"chart\" role=\"img\" aria-label=\"quarantined rows per reason\" viewBox=\"0 0 {} {height}\" width=\"{}\" height=\"{height}\">",
        label_w + bar_w + 80.0,
        label_w + bar_w + 80.0
    );
    for (i, (code, n)) in reasons.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let w = (*n as f64 / max * bar_w).max(2.0);
        let _ = writeln!(
            s,
            "<g data-reason=\"{code}\" data-count=\"{n}\"><a href=\"#code-{code}\"><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{code}</text></a>\
             <rect x=\"{label_w}\" y=\"{}\" width=\"{w:.1}\" height=\"{}\"/><text x=\"{:.1}\" y=\"{}\">{n}</text></g>",
            label_w - 8.0,
            y + 16.0,
            y + 3.0,
            row_h - 6.0,
            label_w + w + 6.0,
            y + 16.0
        );
    }
    s.push_str("</svg></section>\n");
}

fn file_section(f: &FileEntry, s: &mut String) {
    let name = esc(&f.input.display().to_string());
    let (Some(r), Some(samples)) = (&f.report, &f.samples) else {
        let _ = writeln!(
            s,
            "<section class=\"file failed\"><h2>{name}</h2><p class=\"bad\">Not scanned: {}</p></section>",
            esc(f.error.as_deref().unwrap_or(""))
        );
        return;
    };
    let _ = writeln!(
        s,
        "<section class=\"file\" data-file=\"{name}\"><h2>{name}</h2>\n<p>{} rows: \
         <span data-file-count=\"rows_clean\">{}</span> clean, \
         <span data-file-count=\"rows_quarantined\">{}</span> quarantined{} · {}{}</p>",
        r.rows_total,
        r.rows_clean,
        r.rows_quarantined,
        match r.rows_baselined {
            Some(b) => format!(" ({} new, {b} in the baseline)", f.rows_new()),
            None => String::new(),
        },
        esc(r.input.format),
        r.input
            .transcoded_from
            .map(|e| format!(" · transcoded from {}", esc(e)))
            .unwrap_or_default()
    );
    findings(r, s);
    scores(r, s);
    columns(r, s);
    sample_rows(samples, s);
    s.push_str("</section>\n");
}

fn findings(r: &Report, s: &mut String) {
    if r.file_findings.is_empty() {
        return;
    }
    s.push_str("<h3>File-level findings</h3><ul class=\"findings\">\n");
    for f in &r.file_findings {
        let _ = write!(
            s,
            "<li><a href=\"#code-{0}\"><code>{0}</code></a> {1}",
            f.code,
            esc(&f.message)
        );
        if let Some(fix) = &f.fix {
            let _ = write!(
                s,
                "<br><span class=\"fix\">Fix: <code>{}</code></span>",
                esc(fix)
            );
        }
        s.push_str("</li>\n");
    }
    s.push_str("</ul>\n");
}

/// What the detector did on this file: its counts, the distribution of
/// the judged rows' scores with the thresholds and the review tier marked,
/// and the first rows listed for review.
fn scores(r: &Report, s: &mut String) {
    let Some(ai) = &r.ai_text else {
        return;
    };
    let _ = writeln!(
        s,
        "<h3>AI-text detector ({})</h3><p>{} rows judged in {}; <span data-file-count=\"rows_flagged\">{}</span> \
         flagged above {:.3} (<code>UNDISCLOSED_AI_TEXT</code>){}; {} too short, {} disclosed, {} without text.</p>",
        ai.sensitivity,
        ai.rows_judged,
        esc(&ai.text_columns.join(", ")),
        ai.rows_flagged,
        ai.threshold,
        match ai.review_threshold {
            Some(t) => format!(
                ", <span data-file-count=\"rows_review\">{}</span> kept but listed for review above {t:.3}",
                ai.rows_review
            ),
            None => String::new(),
        },
        ai.rows_too_short,
        ai.rows_disclosed,
        ai.rows_without_text
    );
    if ai.rows_judged > 0 {
        histogram(
            &ai.score_histogram.counts,
            ai.score_histogram.bin_width,
            ai.threshold,
            ai.review_threshold,
            s,
        );
    }
    if !ai.review.is_empty() {
        s.push_str("<table class=\"review\"><caption>First rows for review (clean, borderline)</caption><tr><th>row</th><th>line</th><th>column</th><th>score</th><th>strongest signal</th></tr>\n");
        for row in ai.review.iter().take(REVIEW_SHOWN) {
            let _ = writeln!(
                s,
                "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{:.3}</td><td>{}</td></tr>",
                row.row,
                row.line,
                esc(&row.column),
                row.score,
                esc(row.signals.first().map_or("", |x| x.signal.as_str()))
            );
        }
        s.push_str("</table>\n");
    }
}

/// Review rows shown in the page (the JSON report lists more).
const REVIEW_SHOWN: usize = 20;

/// Judged rows per score bin, on a square-root scale so the few rows near
/// the thresholds stay visible beside the many near 0; the quarantine
/// threshold and the review band are marked.
fn histogram(counts: &[u64], bin_width: f32, threshold: f32, review: Option<f32>, s: &mut String) {
    let (w, h, left, bottom) = (640.0, 170.0, 40.0, 28.0);
    let plot_h = h - bottom - 10.0;
    let bar_w = (w - left - 10.0) / counts.len().max(1) as f64;
    let x_of = |score: f64| left + score / bin_width as f64 * bar_w;
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let _ = writeln!(
        s,
        "<svg class=\"hist\" role=\"img\" aria-label=\"judged rows per AI score\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">"
    );
    if let Some(rv) = review {
        let _ = writeln!(
            s,
            "<rect class=\"band\" x=\"{:.1}\" y=\"10\" width=\"{:.1}\" height=\"{plot_h}\"/>",
            x_of(rv as f64),
            (x_of(threshold as f64) - x_of(rv as f64)).max(0.0)
        );
    }
    for (i, n) in counts.iter().enumerate() {
        let lo = i as f64 * bin_width as f64;
        let class = if lo >= threshold as f64 {
            "flag"
        } else if review.is_some_and(|r| lo + bin_width as f64 > r as f64) {
            "rev"
        } else {
            "low"
        };
        let bh = (*n as f64 / top).sqrt() * plot_h;
        let _ = writeln!(
            s,
            "<rect class=\"{class}\" data-bin=\"{i}\" data-count=\"{n}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{:.2}–{:.2}: {n} rows</title></rect>",
            left + i as f64 * bar_w + 1.0,
            10.0 + plot_h - bh,
            bar_w - 2.0,
            lo,
            lo + bin_width as f64
        );
    }
    let axis_y = 10.0 + plot_h;
    let _ = writeln!(
        s,
        "<line class=\"axis\" x1=\"{left}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\"/>",
        w - 10.0
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{tick}</text>",
            x_of(tick),
            axis_y + 16.0
        );
    }
    let mut mark = |at: f32, class: &str, label: &str| {
        let x = x_of(at as f64);
        let _ = writeln!(
            s,
            "<line class=\"{class}\" x1=\"{x:.1}\" y1=\"6\" x2=\"{x:.1}\" y2=\"{axis_y}\"/><text class=\"{class}\" x=\"{:.1}\" y=\"18\" text-anchor=\"end\">{label} {at:.3}</text>",
            x - 3.0
        );
    };
    if let Some(rv) = review {
        mark(rv, "mrev", "review");
    }
    mark(threshold, "mflag", "quarantine");
    s.push_str(
        "</svg>\n<p class=\"note\">Judged rows per score (bar heights on a square-root scale). \
                Red: above the quarantine threshold",
    );
    if review.is_some() {
        s.push_str("; amber: the review tier, kept in the clean file but listed for review");
    }
    s.push_str(".</p>\n");
}

/// Column → reason → rows, plus the disclosure fields rows lacked.
fn columns(r: &Report, s: &mut String) {
    if r.column_findings.is_empty() && r.missing_fields.is_empty() {
        return;
    }
    s.push_str("<h3>Per column</h3><p class=\"note\">Quarantined rows whose reason points at a cell of the column.</p><table class=\"cols\"><thead><tr><th>column</th><th>reasons (rows)</th></tr></thead><tbody>\n");
    let badge = |code: &str, n: u64| {
        format!("<a class=\"badge\" href=\"#code-{code}\">{code} <b>{n}</b></a>")
    };
    for (col, reasons) in &r.column_findings {
        let badges: Vec<String> = reasons.iter().map(|(c, n)| badge(c, *n)).collect();
        let _ = writeln!(
            s,
            "<tr data-column=\"{}\"><td>{}</td><td>{}</td></tr>",
            esc(col),
            esc(col),
            badges.join(" ")
        );
    }
    for (field, n) in &r.missing_fields {
        let _ = writeln!(
            s,
            "<tr><td>{field} <i>(absent or blank)</i></td><td>{}</td></tr>",
            badge("MISSING_DISCLOSURE", *n)
        );
    }
    s.push_str("</tbody></table>\n");
}

/// The first rows of each reason, offending cells marked.
fn sample_rows(samples: &Samples, s: &mut String) {
    if samples.reasons.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "<h3>First quarantined rows</h3><p class=\"note\">Up to {ROWS_PER_REASON} rows per reason; \
         cells over {CELL_CHARS} characters are cut (…), and a row shows at most {CELLS_PER_ROW} cells, \
         the offending ones first. Offending cells are <mark>marked</mark>.</p>"
    );
    for (code, r) in &samples.reasons {
        let _ = writeln!(
            s,
            "<h4><a href=\"#code-{code}\">{code}</a></h4><div class=\"rows\" data-samples=\"{code}\">"
        );
        for row in &r.rows {
            let _ = write!(
                s,
                "<table class=\"row\"><caption>row {} (line {}) · {}{}</caption><tr>",
                row.row,
                row.line,
                row.reasons.join(", "),
                if row.missing_fields.is_empty() {
                    String::new()
                } else {
                    format!(" · lacks {}", row.missing_fields.join(", "))
                }
            );
            for c in &row.cells {
                let _ = write!(s, "<th>{}</th>", esc(&c.name));
            }
            if row.cells_omitted > 0 {
                let _ = write!(s, "<th>+{} more</th>", row.cells_omitted);
            }
            s.push_str("</tr><tr>");
            for c in &row.cells {
                let ell = if c.truncated { "…" } else { "" };
                match c.offending {
                    true => {
                        let _ = write!(s, "<td><mark>{}{ell}</mark></td>", esc(&c.value));
                    }
                    false => {
                        let _ = write!(s, "<td>{}{ell}</td>", esc(&c.value));
                    }
                }
            }
            if row.cells_omitted > 0 {
                s.push_str("<td></td>");
            }
            s.push_str("</tr></table>\n");
        }
        s.push_str("</div>\n");
    }
}

/// What each code that occurs means, from docs/reason-codes.md.
fn glossary(run: &RunReport, s: &mut String) {
    s.push_str("<section id=\"codes\"><h2>What the codes mean</h2><p class=\"note\">From docs/reason-codes.md in the crmguard repository.</p><dl>\n");
    for code in codes::all_codes() {
        let _ = writeln!(
            s,
            "<dt id=\"code-{code}\"><code>{code}</code></dt><dd>{}</dd>",
            esc(&codes::help(code).unwrap_or_default())
        );
    }
    s.push_str("</dl></section>\n");
    let _ = run;
}

const STYLE: &str = "
:root{--bad:#b3261e;--good:#1e6b34;--warn:#8a5a00;--ink:#1f2328;--mute:#59636e;--line:#d1d9e0}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);margin:0 auto;max-width:1100px;padding:1.5rem}
h1{margin:.2rem 0}h2{border-bottom:1px solid var(--line);padding-bottom:.2rem;margin-top:2rem}
header p,.note{color:var(--mute)}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem}
.kpi{border:1px solid var(--line);border-radius:6px;padding:.6rem 1rem;min-width:7rem}
.kpi .n{display:block;font-size:1.6rem;font-weight:600}.kpi .l{color:var(--mute)}
.kpi.bad .n,.bad{color:var(--bad)}.kpi.good .n{color:var(--good)}.kpi.warn .n{color:var(--warn)}
svg.chart{max-width:100%;height:auto;font-size:13px;font-family:ui-monospace,monospace}
svg.chart rect{fill:var(--bad);opacity:.8}svg.chart a text{fill:#0969da}
table{border-collapse:collapse;margin:.4rem 0}
td,th{border:1px solid var(--line);padding:.2rem .45rem;vertical-align:top;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.rows{overflow-x:auto}
table.row{font-size:12.5px;margin-bottom:.8rem}
table.row caption{text-align:left;color:var(--mute);padding:.2rem 0}
table.row td,table.row th{min-width:4.5rem;max-width:22rem;overflow-wrap:break-word;white-space:pre-wrap}
a.badge{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 .5rem;margin:.1rem;font-size:12.5px;text-decoration:none;color:var(--ink)}
a.badge b{color:var(--bad)}
mark{background:#ffd8d3;color:var(--bad);font-weight:600}
.findings .fix code{background:#f6f8fa;padding:0 .2rem}
dt{margin-top:.5rem}dd{margin-left:1.5rem;color:var(--mute)}
svg.hist{max-width:100%;height:auto;font-size:11px;font-family:ui-monospace,monospace}
svg.hist rect.low{fill:#8c959f}svg.hist rect.rev{fill:#d4a72c}svg.hist rect.flag{fill:var(--bad)}
svg.hist rect.band{fill:#fff8c5}svg.hist line.axis{stroke:var(--mute)}
svg.hist line.mflag{stroke:var(--bad);stroke-dasharray:4 3}svg.hist text.mflag{fill:var(--bad)}
svg.hist line.mrev{stroke:#9a6700;stroke-dasharray:4 3}svg.hist text.mrev{fill:#9a6700}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_marks_both_thresholds_and_colours_the_tiers() {
        let mut s = String::new();
        let mut counts = [0u64; 20];
        counts[2] = 100;
        counts[14] = 3;
        counts[19] = 4;
        histogram(&counts, 0.05, 0.868, Some(0.645), &mut s);
        assert!(
            s.contains("quarantine 0.868") && s.contains("review 0.645"),
            "{s}"
        );
        assert!(s.contains("class=\"low\" data-bin=\"2\" data-count=\"100\""));
        assert!(s.contains("class=\"rev\" data-bin=\"14\" data-count=\"3\""));
        assert!(s.contains("class=\"flag\" data-bin=\"19\" data-count=\"4\""));
        let mut s = String::new();
        histogram(&counts, 0.05, 0.95, None, &mut s);
        assert!(!s.contains("review") && !s.contains("class=\"rev\""));
    }

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            esc("<img src=x onerror=\"alert(1)\">'</script>&\u{1b}"),
            "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&lt;/script&gt;&amp;\u{241b}"
        );
    }
}
