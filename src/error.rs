//! Errors that point at a place in a file. Every input error a user sees is
//! one line, `FILE:LINE:COL: message`, so editors and CI logs can jump to it.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    pub line: u64,
    /// 1-based, counted in characters on the line (bytes where the line is not UTF-8).
    pub column: u64,
    pub message: String,
}

impl Located {
    pub fn new(path: &Path, line: u64, column: u64, message: impl Into<String>) -> Located {
        Located {
            path: path.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            crate::terminal::path(&self.path),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for Located {}

impl Located {
    /// A read error met at `line`, or, when the reader underneath could
    /// say where it was (a byte the `--encoding` cannot read), that place.
    pub fn read_error(path: &Path, line: u64, column: u64, e: std::io::Error) -> Located {
        match Located::carried_by(&e) {
            Some(at) => at.clone(),
            None => Located::new(path, line, column, format!("read error: {e}")),
        }
    }

    /// The place a reader underneath put into a read error (the
    /// `--encoding` transcoder does), if any.
    pub fn carried_by(e: &std::io::Error) -> Option<&Located> {
        e.get_ref().and_then(|e| e.downcast_ref::<Located>())
    }
}

/// The run stopped because of Ctrl-C (or SIGTERM, SIGHUP): the file being
/// scanned got no outputs and no audit record.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted: no outputs written")
    }
}

impl std::error::Error for Interrupted {}

/// How much of an untrusted string a message echoes: a key, a value, a
/// column name or a line of a file can be megabytes long, and an error must
/// stay one readable line.
pub const EXCERPT_CHARS: usize = 200;

/// The first [`EXCERPT_CHARS`] characters of `s`, with an ellipsis when
/// that is not all of it.
pub fn excerpt(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(EXCERPT_CHARS) {
        None => std::borrow::Cow::Borrowed(s),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..end])),
    }
}

/// A serde_json error in the file at `path` as a [`Located`] saying `what`
/// ("not a crmguard baseline"): its position said once (serde_json's own
/// message ends with "at line L column C" too), and 1-based, where
/// serde_json says column 0 at the start of a line, as in an empty file.
pub fn json_error(path: &Path, e: &serde_json::Error, what: &str) -> Located {
    Located::new(
        path,
        e.line().max(1) as u64,
        e.column().max(1) as u64,
        format!("{what}: {}", json_message(e)),
    )
}

/// serde_json's message without the " at line L column C" it ends with:
/// a message that gives a place gives it once, its own way.
pub fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&at) {
        Some(message) => message.to_string(),
        None => text,
    }
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &[u8], offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, column(&before[line_start..]))
}

/// As [`line_col`], where a lone CR ends a line too, as it ends a CSV
/// record (an old Mac export): counting line feeds alone, every line of
/// such a file was line 1.
pub fn csv_line_col(text: &[u8], offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let (mut line, mut line_start) = (1, 0);
    for (i, &b) in before.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && text.get(i + 1) != Some(&b'\n')) {
            line += 1;
            line_start = i + 1;
        }
    }
    (line, column(&before[line_start..]))
}

fn column(tail: &[u8]) -> u64 {
    (match std::str::from_utf8(tail) {
        Ok(s) => s.chars().count(),
        Err(_) => tail.len(),
    }) as u64
        + 1
}

/// `bytes` of the file at `path` as text; invalid UTF-8 is an error at its
/// line and column, saying `message`.
pub fn utf8_text(path: &Path, bytes: Vec<u8>, message: &str) -> Result<String, Located> {
    String::from_utf8(bytes).map_err(|e| {
        let (line, col) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
        Located::new(path, line, col, message)
    })
}

/// Exit statuses (README "Exit status").
pub mod exit {
    /// Nothing was quarantined.
    pub const CLEAN: u8 = 0;
    /// Rows were quarantined (or, with `--fail-on warning`, a file finding).
    pub const FINDINGS: u8 = 1;
    /// An error: bad input, bad policy, missing file, I/O.
    pub const ERROR: u8 = 2;
    /// Ctrl-C.
    pub const INTERRUPTED: u8 = 130;
}

/// The exit status once the command is done: a failed write to stdout or
/// stderr turns success or findings into an error (2).
pub fn final_status(code: u8) -> u8 {
    if crate::terminal::output_failed() && code < exit::ERROR {
        exit::ERROR
    } else {
        code
    }
}

/// Prints an error and its causes on one line, escaped (a file name or a
/// header name in it may hold control characters).
pub fn print_error(e: &anyhow::Error) {
    crate::errln!("crmguard: error: {}", one_line(e));
}

/// An error and its causes as one line, as `crmguard` prints it (without its
/// `crmguard: error: ` prefix, and before `errln!` escapes it for a
/// terminal): the Python package raises the same text.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    let mut first = true;
    for cause in e.chain() {
        let text = cause.to_string();
        if !first {
            // Causes often repeat their parent's text; skip the echo.
            if line.ends_with(&text) {
                continue;
            }
            line.push_str(": ");
        }
        first = false;
        line.push_str(&text);
    }
    line
}

#[cfg(any(feature = "c2pa", feature = "parquet"))]
pub mod quiet {
    //! Catching a panic in a dependency's decoder (the C2PA reader, the
    //! Parquet reader) without the default hook printing it: a malformed
    //! input file is an error naming the file, not a crash.
    use std::cell::Cell;
    use std::panic::{self, AssertUnwindSafe};
    use std::sync::Once;

    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }

    pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
        static HOOK: Once = Once::new();
        HOOK.call_once(|| {
            let previous = panic::take_hook();
            panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    previous(info);
                }
            }));
        });
        QUIET.with(|q| q.set(true));
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        QUIET.with(|q| q.set(false));
        result.map_err(|payload| {
            payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_lines_and_characters() {
        assert_eq!(line_col(b"abc", 0), (1, 1));
        assert_eq!(line_col(b"abc\nde", 5), (2, 2));
        assert_eq!(line_col("é\néx".as_bytes(), 5), (2, 2));
        assert_eq!(line_col(b"a\n", 99), (2, 1));
        assert_eq!(line_col(b"a\rb", 2), (1, 3));
        assert_eq!(csv_line_col(b"a\rb", 2), (2, 1));
        assert_eq!(csv_line_col(b"a\r\nb\r\rcd", 7), (4, 2));
        assert_eq!(csv_line_col("é\réx".as_bytes(), 5), (2, 2));
    }

    #[test]
    fn excerpts_keep_200_characters() {
        assert_eq!(excerpt("short"), "short");
        let exact = "é".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
        let long = "é".repeat(EXCERPT_CHARS + 1);
        assert_eq!(excerpt(&long), format!("{exact}…"));
    }

    #[test]
    fn display_is_one_line() {
        let e = Located::new(Path::new("in.csv"), 3, 7, "bad quote");
        assert_eq!(e.to_string(), "in.csv:3:7: bad quote");
    }
}
