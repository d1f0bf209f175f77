//! `crmguard detect`: score text from arguments or stdin, with its reasons.

use std::io::{BufRead, Read, Write};
use std::path::Path;

use anyhow::{Context, bail};

use serde::Serialize;

use crate::commands::judge::{self, Judge};
use crate::detector::{MIN_WORDS, Sensitivity};
use crate::error::{Located, exit, line_col, utf8_text};
use crate::outln;
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Texts to score; `-` or none: read one text from stdin (at most [limits] max_record_bytes)
    #[arg(value_name = "TEXT")]
    pub texts: Vec<String>,
    /// With stdin: score each line as its own text, printing each verdict as its line arrives
    #[arg(long)]
    pub lines: bool,
    #[command(flatten)]
    pub judge: judge::DetectorArgs,
    /// Print JSON (one object per text) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Scored<'a> {
    score: f32,
    judged: bool,
    flagged: bool,
    /// Above the review threshold, not flagged: `scan` would keep the row
    /// and list it for review.
    review: bool,
    sensitivity: Sensitivity,
    threshold: f32,
    review_threshold: Option<f32>,
    signals: Vec<SignalOut<'a>>,
}

#[derive(Serialize)]
struct SignalOut<'a> {
    family: &'a str,
    name: &'a str,
    detail: &'a str,
    /// Lexicon signals only: the phrases found, most specific first.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    phrases: &'a [&'static str],
    weight: f32,
}

/// Refuses `-` twice, and `--lines` with no `-` to split.
fn check_texts(args: &Args) -> anyhow::Result<()> {
    let stdin_count = args.texts.iter().filter(|t| *t == "-").count();
    if stdin_count > 1 {
        bail!("`-` (stdin) is given {stdin_count} times");
    }
    if args.lines && !args.texts.is_empty() && stdin_count == 0 {
        bail!("--lines splits stdin, and no `-` reads it: give `-` among the texts, or no text");
    }
    Ok(())
}

/// Stdin as one text, of at most `limit` bytes: read no further than one
/// byte past it, so that an endless stdin is refused, not held in memory.
/// Read as bytes first so that invalid UTF-8 is reported where it is, as
/// every other input's is, not as a bare "stream did not contain valid
/// UTF-8".
fn read_stdin(input: impl Read, limit: usize) -> anyhow::Result<String> {
    let limit_bytes = u64::try_from(limit).unwrap_or(u64::MAX);
    let read = crate::input::read_at_most(input, limit_bytes).context("reading stdin")?;
    let Some(raw) = read else {
        return Err(Located::new(
            Path::new("stdin"),
            1,
            1,
            format!(
                "the text starting here is over {limit} bytes ([limits] max_record_bytes); \
                 --lines scores each line as its own text"
            ),
        )
        .into());
    };
    Ok(utf8_text(Path::new("stdin"), raw, "invalid UTF-8")?)
}

/// Calls `each` on every line of `input` as soon as it is read, so that
/// `tail -f log | crmguard detect --lines -` shows each verdict as the line
/// comes and memory stays at one line, however long stdin runs. Lines are
/// split as `str::lines` splits them (`\n` or `\r\n`, no empty last line).
/// A line over `limit` bytes (its line ending not counted) or not UTF-8 is
/// an error at its line; the lines before it have been handed on already.
/// Stops early when `each` returns false.
fn each_line(
    mut input: impl BufRead,
    limit: usize,
    mut each: impl FnMut(&str) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    // Two bytes past the limit: a line of exactly `limit` bytes may still
    // end in `\r\n`.
    let take = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(2);
    let mut buf = Vec::new();
    let mut line_no: u64 = 0;
    loop {
        buf.clear();
        let n = (&mut input)
            .take(take)
            .read_until(b'\n', &mut buf)
            .context("reading stdin")?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        if buf.len() > limit {
            return Err(Located::new(
                Path::new("stdin"),
                line_no,
                1,
                format!("the line starting here is over {limit} bytes ([limits] max_record_bytes)"),
            )
            .into());
        }
        let line = std::str::from_utf8(&buf).map_err(|e| {
            let (_, column) = line_col(&buf, e.valid_up_to());
            Located::new(Path::new("stdin"), line_no, column, "invalid UTF-8")
        })?;
        if !each(line)? {
            return Ok(());
        }
    }
}

/// Scores texts and prints each verdict as it is made.
struct Scorer<'a, W> {
    judge: &'a Judge,
    json: Option<W>,
    /// Whether any text was flagged.
    any: bool,
}

impl<W: Write> Scorer<'_, W> {
    fn score(&mut self, text: &str) -> anyhow::Result<()> {
        let judge = self.judge;
        let threshold = judge.thresholds.quarantine;
        let review_threshold = judge.thresholds.review;
        let a = judge.detector().assess(text, true);
        let flagged = a.judged && a.score > threshold;
        let review = a.judged && !flagged && review_threshold.is_some_and(|r| a.score > r);
        self.any |= flagged;
        if let Some(json) = &mut self.json {
            let out = Scored {
                score: a.score,
                judged: a.judged,
                flagged,
                review,
                sensitivity: judge.sensitivity,
                threshold,
                review_threshold,
                signals: a
                    .signals
                    .iter()
                    .map(|s| SignalOut {
                        family: s.family,
                        name: s.name,
                        detail: &s.detail,
                        phrases: &s.phrases,
                        weight: s.weight,
                    })
                    .collect(),
            };
            // Back to the io::Error inside, for `unless_closed` to see a
            // closed pipe.
            let written = serde_json::to_writer(&mut *json, &out)
                .map_err(std::io::Error::from)
                .and_then(|()| json.write_all(b"\n"));
            unless_closed(written.map_err(Into::into))?;
        } else if !a.judged {
            outln!("not judged: fewer than {MIN_WORDS} words");
        } else {
            let verdict = match (flagged, review) {
                (true, _) => "machine-written",
                (false, true) => "for review",
                (false, false) => "not flagged",
            };
            let review = review_threshold.map_or(String::new(), |r| format!(", review {r:.3}"));
            outln!(
                "{:.3}  {verdict} ({}: threshold {threshold:.3}{review})",
                a.score,
                judge.sensitivity
            );
            for s in &a.signals {
                outln!("  {:+6.2}  {:<9} {}", s.weight, s.family, s.detail);
            }
        }
        Ok(())
    }

    /// A streamed line's verdict goes out now, not when the buffer fills:
    /// stdin may be a `tail -f` that sends the next line in an hour.
    fn flush(&mut self) -> anyhow::Result<()> {
        match &mut self.json {
            Some(json) => unless_closed(json.flush().map_err(Into::into)),
            None => Ok(()),
        }
    }
}

/// A closed stdout (`| head`) is no error: the run stops there, and its
/// status still says whether a text shown was flagged, as `outln!` leaves it.
fn unless_closed(r: anyhow::Result<()>) -> anyhow::Result<()> {
    match r {
        Err(e) if terminal::is_closed_stdout(&e) => Ok(()),
        r => r,
    }
}

/// Texts are scored in the order given: `-` (or no text at all) reads stdin
/// there, as one text or, with `--lines`, one per line, each scored and
/// printed as it arrives. Exit status: 1 when any text is flagged, as `scan`
/// does for quarantine.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let (policy, judge) = args.judge.load()?;
    check_texts(&args)?;
    let limit = policy.max_record_bytes;
    let dash = ["-".to_string()];
    let texts: &[String] = if args.texts.is_empty() {
        &dash
    } else {
        &args.texts
    };
    // Without --lines stdin is one text, read before anything is scored, so
    // that bad stdin still prints nothing. With --lines it cannot be: stdin
    // may never end.
    let mut whole = if !args.lines && texts.iter().any(|t| t == "-") {
        Some(read_stdin(std::io::stdin().lock(), limit)?)
    } else {
        None
    };
    let mut scorer = Scorer {
        judge: &judge,
        json: args.json.then(terminal::stdout_data),
        any: false,
    };
    // Once stdout's reader is gone (`| head`) nothing more can be shown, and
    // an endless stdin would otherwise be read for nothing.
    let stop = || terminal::stdout_closed() || terminal::output_failed();
    for t in texts {
        if t != "-" {
            scorer.score(t)?;
        } else if let Some(text) = whole.take() {
            scorer.score(&text)?;
        } else {
            each_line(std::io::stdin().lock(), limit, |line| {
                scorer.score(line)?;
                scorer.flush()?;
                Ok(!stop())
            })?;
        }
        if stop() {
            break;
        }
    }
    scorer.flush()?;
    Ok(if scorer.any {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], limit: usize) -> (Vec<String>, Option<String>) {
        let mut seen = Vec::new();
        let result = each_line(input, limit, |l| {
            seen.push(l.to_string());
            Ok(true)
        });
        (seen, result.err().map(|e| e.to_string()))
    }

    #[test]
    fn lines_split_as_str_lines_does() {
        for input in ["", "a", "a\n", "a\r\nb", "a\n\nb\n", "\n", "a\rb\r\n"] {
            let want: Vec<String> = input.lines().map(String::from).collect();
            assert_eq!(lines(input.as_bytes(), 100), (want, None), "{input:?}");
        }
    }

    #[test]
    fn a_line_over_the_limit_is_refused_at_its_line() {
        // Exactly the limit, with either line ending, is taken.
        assert_eq!(lines(b"abc\r\nabc\nabc", 3).1, None);
        let (seen, err) = lines(b"ab\nabcd\nab\n", 3);
        assert_eq!(seen, ["ab"]);
        assert_eq!(
            err.unwrap(),
            "stdin:2:1: the line starting here is over 3 bytes ([limits] max_record_bytes)"
        );
        // With no line ending at all, reading stops one byte past the limit.
        let mut endless = std::io::repeat(b'x');
        let err = each_line(std::io::BufReader::new(&mut endless), 10, |_| Ok(true));
        assert!(err.unwrap_err().to_string().starts_with("stdin:1:1: "));
    }

    #[test]
    fn bad_utf8_is_named_at_its_stdin_line_and_column() {
        let (seen, err) = lines(b"one\ntwo\nab\xff cd\nfour\n", 100);
        assert_eq!(seen, ["one", "two"]);
        assert_eq!(err.unwrap(), "stdin:3:3: invalid UTF-8");
    }

    #[test]
    fn lines_stop_when_asked() {
        let mut n = 0;
        each_line(std::io::BufReader::new(std::io::repeat(b'\n')), 10, |_| {
            n += 1;
            Ok(n < 5)
        })
        .unwrap();
        assert_eq!(n, 5);
    }

    #[test]
    fn stdin_as_one_text_is_bounded() {
        assert_eq!(read_stdin(&b"abc\n"[..], 4).unwrap(), "abc\n");
        let err = read_stdin(std::io::repeat(b'x'), 4).unwrap_err();
        assert_eq!(
            err.to_string(),
            "stdin:1:1: the text starting here is over 4 bytes ([limits] max_record_bytes); \
             --lines scores each line as its own text"
        );
    }
}
