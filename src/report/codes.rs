//! What each code means, as docs/reason-codes.md says it: the SARIF rules'
//! help and the HTML report's glossary come from that one page, embedded at
//! build time, so that the docs and the reports cannot drift apart (a test
//! checks that every code has its row).

use crate::spec::{FileCode, Reason};

const REASON_CODES_MD: &str = include_str!("../../docs/reason-codes.md");

/// The page's row for `code`: its description and, for file-level codes,
/// its effect. Markdown links are reduced to their text and code spans to
/// their content.
pub fn help(code: &str) -> Option<String> {
    let needle = format!("| `{code}` |");
    let line = REASON_CODES_MD.lines().find(|l| l.starts_with(&needle))?;
    let cells: Vec<&str> = line
        .trim()
        .trim_matches('|')
        .split(" | ")
        .map(str::trim)
        .collect();
    let text = match FileCode::ALL.iter().any(|f| f.code() == code) {
        // | code | meaning | effect |
        true => format!("{}. Effect: {}.", cells.get(1)?, cells.get(2)?),
        // | code | the row is quarantined when | fixture |
        false => format!("The row is quarantined when {}.", cells.get(1)?),
    };
    Some(plain(&text))
}

/// Markdown links `[text](target)` become `text`; backticks go.
fn plain(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else {
            break;
        };
        let Some(end) = rest[close..].find(')').map(|i| close + i) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace('`', "")
}

/// Every code a report can name: row-level, then file-level.
pub fn all_codes() -> impl Iterator<Item = &'static str> {
    Reason::ALL
        .iter()
        .map(|r| r.code())
        .chain(FileCode::ALL.iter().map(|f| f.code()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_row_in_the_docs() {
        for code in all_codes() {
            let h = help(code).unwrap_or_else(|| panic!("docs/reason-codes.md lacks `{code}`"));
            assert!(
                h.len() > 30 && !h.contains('`') && !h.contains("]("),
                "{code}: {h}"
            );
        }
        assert_eq!(help("NOT_A_CODE"), None);
        assert_eq!(
            help("CONTROL_CHARACTER").unwrap(),
            "The row is quarantined when a value holds NUL or another C0 control character other than tab, CR, LF."
        );
    }

    #[test]
    fn links_become_their_text() {
        assert_eq!(
            plain("see [disclosure.md](disclosure.md#x) and `A`"),
            "see disclosure.md and A"
        );
    }
}
