//! What crmguard prints for people. File names, header names, JSON keys and
//! policy text come from whoever made the files: printed raw, an ANSI escape
//! in one would drive the terminal and a newline would forge a line of the
//! summary. Every message goes through [`escape`] (or [`path`]) and out
//! through [`errln!`]/[`outln!`], which report a failed write instead of
//! panicking as `println!` does: a full disk is exit 2, a closed pipe
//! (`crmguard audit show | head`) ends the output quietly, as ripgrep does.
//!
//! Data written to stdout (`hash`, `audit export`, `init -`, `--json`) goes
//! through [`stdout_data`]: bytes as given into a pipe or a file, and escaped
//! only when stdout is a terminal, where line breaks and tabs stay as they
//! are and any other control shows as in a message.

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
    push_escaped_bytes(&mut out, bytes, false);
    out
}

/// [`escape_bytes`] into `out`; with `keep_layout`, line breaks and tabs
/// stay as they are (data shown on a terminal, see [`escape_data`]).
fn push_escaped_bytes(out: &mut String, bytes: &[u8], keep_layout: bool) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' | '\r' | '\t' if keep_layout => out.push(c),
                c => push_escaped(out, c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
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

/// Stdout for data (CSV, JSON): bytes as given, buffered; on a terminal,
/// escaped (see [`escape_data`]), since an export of a hostile file's
/// values would otherwise drive the terminal of whoever looks at it. A
/// failed write is an error the command returns, naming stdout;
/// [`is_closed_stdout`] tells a closed pipe (quiet, exit 0) from a real
/// failure.
pub fn stdout_data() -> impl Write {
    use std::io::IsTerminal;
    let tty = io::stdout().is_terminal();
    io::BufWriter::with_capacity(
        64 * 1024,
        StdoutData {
            tty,
            pending: Vec::new(),
        },
    )
}

struct StdoutData {
    tty: bool,
    /// The start of a char that the last write cut short (terminal only).
    pending: Vec<u8>,
}

impl Write for StdoutData {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.tty {
            return io::stdout().lock().write(buf).map_err(stdout_error);
        }
        let mut data = std::mem::take(&mut self.pending);
        data.extend_from_slice(buf);
        let (shown, used) = escape_data(&data);
        self.pending = data[used..].to_vec();
        io::stdout()
            .lock()
            .write_all(shown.as_bytes())
            .map_err(stdout_error)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            // No more of the char is coming before the reader looks.
            let cut = escape_bytes(&std::mem::take(&mut self.pending));
            io::stdout()
                .lock()
                .write_all(cut.as_bytes())
                .map_err(stdout_error)?;
        }
        io::stdout().lock().flush().map_err(stdout_error)
    }
}

/// Data as a terminal shows it: line breaks and tabs as they are (a CSV
/// still reads as one), every other control escaped as in a message, and
/// bytes that are no UTF-8 as `\xNN`. Returns the text and how many bytes
/// of `data` it covers: a char cut short at the end is left for the next
/// write, which holds the rest of it.
fn escape_data(data: &[u8]) -> (String, usize) {
    let used = data.len() - cut_char_len(data);
    let mut out = String::with_capacity(used);
    push_escaped_bytes(&mut out, &data[..used], true);
    (out, used)
}

/// How many bytes at the end of `data` start a char that they do not finish
/// (0 to 3): those that more bytes could still make valid UTF-8.
fn cut_char_len(data: &[u8]) -> usize {
    (1..=data.len().min(3))
        .find(|&n| {
            std::str::from_utf8(&data[data.len() - n..])
                .is_err_and(|e| e.valid_up_to() == 0 && e.error_len().is_none())
        })
        .unwrap_or(0)
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

    #[test]
    fn data_on_a_terminal_keeps_its_lines_and_shows_its_controls() {
        let csv = "Id,Name\r\n1,\x1b[31mred\tdone\u{202e}\n2,caf\u{e9}\n".as_bytes();
        let (shown, used) = escape_data(csv);
        assert_eq!(used, csv.len());
        assert_eq!(
            shown,
            "Id,Name\r\n1,\\x1b[31mred\tdone\\u{202e}\n2,caf\u{e9}\n"
        );
        let (shown, used) = escape_data(b"ok\xff\x9b!");
        assert_eq!((shown.as_str(), used), ("ok\\xff\\x9b!", 5));
    }

    #[test]
    fn a_char_cut_between_writes_waits_for_its_end() {
        let text = "a\u{e9}\u{202e}";
        let bytes = text.as_bytes();
        // Cut inside the é and inside the bidi control.
        for cut in [2, 5] {
            let (first, used) = escape_data(&bytes[..cut]);
            let start = (0..=cut).rev().find(|&i| text.is_char_boundary(i));
            assert_eq!(Some(used), start, "cut at {cut}");
            assert!(used < cut, "cut at {cut}");
            let mut rest = bytes[used..cut].to_vec();
            rest.extend_from_slice(&bytes[cut..]);
            let (second, _) = escape_data(&rest);
            assert_eq!(first + &second, "a\u{e9}\\u{202e}", "cut at {cut}");
        }
    }
}
