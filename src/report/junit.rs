//! `--report junit=PATH`: JUnit XML, as CI systems read test results
//! (GitLab's `artifacts:reports:junit`, Jenkins, Azure Pipelines). A
//! testsuite per input file, a testcase per check: every row-level reason
//! code and every file-level finding code. A testcase fails exactly when
//! it makes the run exit 1: new quarantined rows, or a file-level finding
//! under `--fail-on warning`. A file that could not be scanned is a
//! testsuite with one errored testcase.

use std::fmt::Write;

use super::Report;
use super::escape_markup as xml;
use super::plural;
use super::run::{FileEntry, RunReport};
use super::samples::Samples;
use crate::spec::{FileCode, Reason};

pub fn render(run: &RunReport) -> Vec<u8> {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for f in &run.files {
        let (s, t, fl, e) = match (&f.report, &f.samples) {
            (Some(r), Some(samples)) => suite(f, r, samples, run.fail_on == "warning"),
            _ => failed_suite(f),
        };
        suites.push_str(&s);
        tests += t;
        failures += fl;
        errors += e;
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"crmguard\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out.into_bytes()
}

/// One scanned file: (xml, tests, failures, errors).
fn suite(
    f: &FileEntry,
    r: &Report,
    samples: &Samples,
    warnings_fail: bool,
) -> (String, usize, usize, usize) {
    let name = xml(&f.input.display().to_string());
    let class = format!("crmguard.{name}");
    let mut cases = String::new();
    let mut failures = 0;
    for reason in Reason::ALL {
        failures += reason_case(&class, *reason, r, samples, &mut cases);
    }
    // HEADER_DUPLICATE and HEADER_UNSAFE are errors, not findings: such a
    // file has no report, only the errored suite below.
    let checks = FileCode::ALL
        .iter()
        .filter(|fc| !matches!(fc, FileCode::HeaderDuplicate | FileCode::HeaderUnsafe));
    for fc in checks.clone() {
        failures += finding_case(&class, *fc, r, warnings_fail, &mut cases);
    }
    let tests = Reason::ALL.len() + checks.count();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" timestamp=\"{}\" time=\"{:.3}\">",
        xml(&r.started_at),
        r.elapsed_ms as f64 / 1000.0
    );
    s.push_str("    <properties>\n");
    for (k, v) in [
        ("rows_total", r.rows_total),
        ("rows_clean", r.rows_clean),
        ("rows_quarantined", r.rows_quarantined),
        ("rows_new", f.rows_new()),
    ] {
        let _ = writeln!(s, "      <property name=\"{k}\" value=\"{v}\"/>");
    }
    s.push_str("    </properties>\n");
    s.push_str(&cases);
    s.push_str("  </testsuite>\n");
    (s, tests, failures, 0)
}

/// The testcase of one row-level code; 1 when it fails.
fn reason_case(
    class: &str,
    reason: Reason,
    r: &Report,
    samples: &Samples,
    cases: &mut String,
) -> usize {
    let code = reason.code();
    let rows = r.reasons.get(code).copied().unwrap_or(0);
    let _ = write!(
        cases,
        "    <testcase classname=\"{class}\" name=\"{code}\" time=\"0\""
    );
    let locations = samples
        .reasons
        .get(code)
        .map(|s| s.locations.as_slice())
        .unwrap_or_default();
    let new = r.new_rows_with(code);
    if rows == 0 {
        cases.push_str("/>\n");
        return 0;
    }
    if new == 0 {
        let _ = write!(
            cases,
            ">\n      <system-out>{rows} row{} quarantined, all in the baseline</system-out>\n    </testcase>\n",
            plural(rows)
        );
        return 0;
    }
    let first: Vec<String> = locations
        .iter()
        .map(|l| format!("row {} (line {}, column {})", l.row, l.line, l.column))
        .collect();
    let _ = write!(
        cases,
        ">\n      <failure type=\"{code}\" message=\"{new}{} row{} quarantined with {code}{}\">{}\nFirst rows: {}{}</failure>\n    </testcase>\n",
        if r.rows_baselined.is_some() {
            " new"
        } else {
            ""
        },
        plural(new),
        match rows - new {
            0 => String::new(),
            known => format!(" ({known} more in the baseline)"),
        },
        xml(reason.description()),
        first.join(", "),
        if new > locations.len() as u64 {
            ", …"
        } else {
            ""
        }
    );
    1
}

/// The testcase of one file-level code; 1 when it fails (only under
/// `--fail-on warning`: otherwise a finding is a warning in `system-out`).
fn finding_case(
    class: &str,
    fc: FileCode,
    r: &Report,
    warnings_fail: bool,
    cases: &mut String,
) -> usize {
    let code = fc.code();
    let _ = write!(
        cases,
        "    <testcase classname=\"{class}\" name=\"{code}\" time=\"0\""
    );
    let found: Vec<_> = r.file_findings.iter().filter(|x| x.code == fc).collect();
    if found.is_empty() {
        cases.push_str("/>\n");
        return 0;
    }
    let text: Vec<String> = found
        .iter()
        .map(|x| match &x.fix {
            Some(fix) => format!("{}\nFix: {fix}", x.message),
            None => x.message.clone(),
        })
        .collect();
    let text = xml(&text.join("\n"));
    if warnings_fail {
        let _ = write!(
            cases,
            ">\n      <failure type=\"{code}\" message=\"{}\">{text}</failure>\n    </testcase>\n",
            xml(&found[0].message)
        );
        1
    } else {
        let _ = write!(
            cases,
            ">\n      <system-out>warning: {text}</system-out>\n    </testcase>\n"
        );
        0
    }
}

fn failed_suite(f: &FileEntry) -> (String, usize, usize, usize) {
    let name = xml(&f.input.display().to_string());
    let msg = xml(f.error.as_deref().unwrap_or("not scanned"));
    let s = format!(
        "  <testsuite name=\"{name}\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <testcase classname=\"crmguard.{name}\" name=\"scan\" time=\"0\">\n      <error type=\"error\" message=\"{msg}\">{msg}</error>\n    </testcase>\n  </testsuite>\n"
    );
    (s, 1, 0, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            xml("a<b>&\"'\u{1b}[31m\u{ffff}"),
            "a&lt;b&gt;&amp;&quot;&#39;\u{241b}[31m\u{fffd}"
        );
    }
}
