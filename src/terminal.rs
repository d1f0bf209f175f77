//! What crmguard prints for people. File names, header names, JSON keys and
//! policy text come from whoever made the files: printed raw, an ANSI escape
//! in one would drive the terminal and a newline would forge a line of the
//! summary. Every message goes through [`escape`] (or [`path`]) and out
//! through [`errln!`]/[`outln!`], which report a failed write instead of
//! panicking as `println!` does: a full disk is exit 2, a closed pipe
//! (`crmguard audit show | head`) ends the output quietly, as ripgrep does.
//!
//! Data written to stdout (`hash`, `audit export`, `init -`, `--json`) is not
//! escaped: it goes through [`stdout_data`], which only records the errors.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Characters shown escaped: C0 and C1 controls and DEL (they drive the
/// terminal), and the bidirectional controls, which reorder what is shown
/// around them.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if is_unsafe(c) && (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if is_unsafe(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `s` with control characters shown as `\x1b`, `\n`, `\u{202e}`...; the
/// text itself when it has none. Escaping twice changes nothing more.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Bytes that may not be UTF-8 (a Unix file name): the valid parts escaped,
/// each invalid byte as `\xNN`, so `caf\xe9.csv` is named as it is.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A path for a message: see [`path`].
pub struct ShownPath<'a>(&'a Path);

impl fmt::Display for ShownPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            f.write_str(&escape_bytes(self.0.as_os_str().as_bytes()))
        }
        #[cfg(not(unix))]
        {
            f.write_str(&escape(&self.0.to_string_lossy()))
        }
    }
}

/// A path as messages show it: escaped, with the bytes of a name that is not
/// UTF-8 as `\xNN`.
pub fn path(p: &Path) -> ShownPath<'_> {
    ShownPath(p)
}

/// Set when a write to stdout or stderr failed other than by a closed pipe:
/// the run ends with exit 2 (`final_status` in error.rs).
static FAILED: AtomicBool = AtomicBool::new(false);
/// Set when the reader of stdout went away: nothing more is written there.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

impl Stream {
    fn closed(self) -> &'static AtomicBool {
        match self {
            Stream::Out => &STDOUT_CLOSED,
            Stream::Err => &STDERR_CLOSED,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Stream::Out => "stdout",
            Stream::Err => "stderr",
        }
    }
}

/// Notes a failed write: a closed pipe closes the stream quietly, anything
/// else fails the run (and is said on stderr when stdout failed).
fn record_failure(stream: Stream, e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        stream.closed().store(true, Ordering::SeqCst);
        return;
    }
    if !FAILED.swap(true, Ordering::SeqCst) && stream == Stream::Out {
        let _ = writeln!(
            io::stderr().lock(),
            "crmguard: error: cannot write to {}: {e}",
            stream.name()
        );
    }
}

fn write_to(stream: Stream, text: &str) {
    if stream.closed().load(Ordering::SeqCst) {
        return;
    }
    let result = match stream {
        Stream::Out => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
        Stream::Err => io::stderr().lock().write_all(text.as_bytes()),
    };
    if let Err(e) = result {
        record_failure(stream, &e);
    }
}

/// One message line, escaped whole (a newline inside it shows as `\n`).
fn line(stream: Stream, args: fmt::Arguments<'_>) {
    let text = args.to_string();
    let mut s = escape(&text).into_owned();
    s.push('\n');
    write_to(stream, &s);
}

#[doc(hidden)]
pub fn err_line(args: fmt::Arguments<'_>) {
    line(Stream::Err, args);
}

#[doc(hidden)]
pub fn out_line(args: fmt::Arguments<'_>) {
    line(Stream::Out, args);
}

/// Text of several lines built by crmguard (a summary, a table): each line
/// escaped, the line breaks kept. Untrusted pieces inside must already have
/// been escaped, or a newline in them would pass for one of ours.
fn text(stream: Stream, text: &str) {
    let mut s = String::with_capacity(text.len());
    for (i, l) in text.split('\n').enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(&escape(l));
    }
    write_to(stream, &s);
}

/// Notes a failed write to stderr made outside this module (the scan
/// summary, written through anstream for its colours).
pub fn stderr_failed(e: &io::Error) {
    record_failure(Stream::Err, e);
}

pub fn err_text(s: &str) {
    text(Stream::Err, s);
}

pub fn out_text(s: &str) {
    text(Stream::Out, s);
}

/// A message line on stderr, escaped; never panics.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::terminal::err_line(format_args!($($arg)*)) };
}

/// A message line on stdout, escaped; never panics.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::terminal::out_line(format_args!($($arg)*)) };
}

/// Stdout for data (CSV, JSON): bytes as given, buffered. A failed write is
/// an error the command returns, naming stdout; [`is_closed_stdout`] tells
/// a closed pipe (quiet, exit 0) from a real failure.
pub fn stdout_data() -> impl Write {
    io::BufWriter::with_capacity(64 * 1024, StdoutData)
}

struct StdoutData;

impl Write for StdoutData {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().lock().write(buf).map_err(stdout_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush().map_err(stdout_error)
    }
}

/// A failed write to stdout, named as such; a closed pipe is remembered, for
/// [`is_closed_stdout`].
pub fn stdout_error(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, Ordering::SeqCst);
        return e;
    }
    io::Error::new(e.kind(), format!("cannot write to stdout: {e}"))
}

/// Whether `e` is stdout's reader going away (`| head`): not worth a word.
pub fn is_closed_stdout(e: &anyhow::Error) -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
        && e.chain().any(|c| {
            c.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
        })
}

/// Whether stdout's reader has gone away (`| head`), so that a command
/// streaming an endless input (`detect --lines -`) can stop reading it.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Whether a write to stdout or stderr failed during the run (not a closed
/// pipe): the exit status must then say error (`final_status` in error.rs).
pub fn output_failed() -> bool {
    FAILED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_not_obeyed() {
        assert_eq!(escape("plain é"), "plain é");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[31mb\nc\r\t"), "a\\x1b[31mb\\nc\\r\\t");
        assert_eq!(escape("\x7f\u{9b}"), "\\x7f\\x9b");
        assert_eq!(escape("abc\u{202e}fdp.exe"), "abc\\u{202e}fdp.exe");
        let once = escape("x\x1by").into_owned();
        assert_eq!(escape(&once), once);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_named() {
        assert_eq!(escape_bytes(b"caf\xe9.csv"), "caf\\xe9.csv");
        assert_eq!(escape_bytes("é\n".as_bytes()), "é\\n");
    }

    #[cfg(unix)]
    #[test]
    fn paths_show_their_raw_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"dir/caf\xe9\x1b.csv"));
        assert_eq!(path(p).to_string(), "dir/caf\\xe9\\x1b.csv");
    }
}
