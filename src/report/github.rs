//! GitHub Actions annotations: workflow commands (`::error file=…::…`) on
//! stdout, one per file and reason (and per file-level finding), so the
//! run's page and the pull request show where rows were held back. Values
//! are escaped as the runner reads them: `%`, CR and LF in messages, and
//! also `:` and `,` in properties.

use std::fmt::Write;

use super::plural;
use super::run::RunReport;

pub fn render(run: &RunReport) -> String {
    let mut s = String::new();
    for f in &run.files {
        let file = f.input.display().to_string();
        let (Some(r), Some(samples)) = (&f.report, &f.samples) else {
            let msg = format!("not scanned: {}", f.error.as_deref().unwrap_or(""));
            let _ = writeln!(
                s,
                "::error file={},title=crmguard::{}",
                property(&file),
                data(&msg)
            );
            continue;
        };
        for (code, rows) in &r.reasons {
            let new = r.new_rows_with(code);
            let first = samples.reasons.get(code).and_then(|s| s.locations.first());
            let (line, col) = first.map_or((1, 1), |l| (l.line, l.column));
            let (level, msg) = match new {
                0 => (
                    "notice",
                    format!(
                        "{rows} row{} quarantined with {code}, all in the baseline",
                        plural(*rows)
                    ),
                ),
                n => {
                    let rows_list: Vec<String> = samples.reasons[code]
                        .locations
                        .iter()
                        .take(10)
                        .map(|l| l.row.to_string())
                        .collect();
                    (
                        "error",
                        format!(
                            "{n} row{} quarantined with {code}: {}\nfirst rows: {}",
                            plural(n),
                            crate::spec::Reason::from_code(code).map_or("", |r| r.description()),
                            rows_list.join(", ")
                        ),
                    )
                }
            };
            let _ = writeln!(
                s,
                "::{level} file={},line={line},col={col},title={}::{}",
                property(&file),
                property(&format!("crmguard {code}")),
                data(&msg)
            );
        }
        for x in &r.file_findings {
            let msg = match &x.fix {
                Some(fix) => format!("{}\nfix: {fix}", x.message),
                None => x.message.clone(),
            };
            let _ = writeln!(
                s,
                "::warning file={},line=1,title={}::{}",
                property(&file),
                property(&format!("crmguard {}", x.code)),
                data(&msg)
            );
        }
    }
    s
}

/// A command's message.
pub fn data(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '%' => "%25".to_string(),
            '\r' => "%0D".to_string(),
            '\n' => "%0A".to_string(),
            // Raw control characters would reach the log as they are.
            c if c.is_control() => '\u{fffd}'.to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// A command's property value.
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_runner() {
        assert_eq!(data("50%\r\nnext::x"), "50%25%0D%0Anext::x");
        assert_eq!(property("a,b:c%\n"), "a%2Cb%3Ac%25%0A");
        assert_eq!(data("\u{1b}[31m"), "\u{fffd}[31m");
    }
}
