//! `crmguard detect`: score text from arguments or stdin, with its reasons.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use serde::Serialize;

use crate::commands::judge::Judge;
use crate::detector::{MIN_WORDS, Sensitivity};
use crate::error::{exit, utf8_text};
use crate::outln;
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Texts to score; `-` or none: read one text from stdin
    #[arg(value_name = "TEXT")]
    pub texts: Vec<String>,
    /// With stdin: score each line as its own text
    #[arg(long)]
    pub lines: bool,
    /// A model from `crmguard train` [default: the policy's, else the built-in one]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Policy file, for its [detector] model, sensitivity and thresholds [default: $CRMGUARD_POLICY, else the nearest crmguard.toml up to the repository root]
    #[arg(short, long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Detector preset, instead of the policy's [detector] sensitivity
    #[arg(long, value_enum, value_name = "PRESET")]
    pub sensitivity: Option<Sensitivity>,
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

/// The texts to score, in the order given: `-` (or no text at all) reads stdin
/// there, as one text or, with `--lines`, one per line.
fn texts(args: &Args) -> anyhow::Result<Vec<String>> {
    if args.texts.is_empty() {
        return read_stdin(args.lines);
    }
    let stdin_count = args.texts.iter().filter(|t| *t == "-").count();
    if stdin_count > 1 {
        bail!("`-` (stdin) is given {stdin_count} times");
    }
    if args.lines && stdin_count == 0 {
        bail!("--lines splits stdin, and no `-` reads it: give `-` among the texts, or no text");
    }
    let mut out = Vec::with_capacity(args.texts.len());
    for t in &args.texts {
        if t == "-" {
            out.extend(read_stdin(args.lines)?);
        } else {
            out.push(t.clone());
        }
    }
    Ok(out)
}

/// Stdin as text. Read as bytes first so that invalid UTF-8 is reported where
/// it is, as every other input's is, not as a bare "stream did not contain
/// valid UTF-8".
fn read_stdin(lines: bool) -> anyhow::Result<Vec<String>> {
    let mut raw = Vec::new();
    std::io::stdin()
        .read_to_end(&mut raw)
        .context("reading stdin")?;
    let s = utf8_text(Path::new("stdin"), raw, "invalid UTF-8")?;
    Ok(if lines {
        s.lines().map(String::from).collect()
    } else {
        vec![s]
    })
}

/// Exit status: 1 when any text is flagged, as `scan` does for quarantine.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let policy = crate::policy::Policy::discover(args.policy.as_deref())?;
    let judge = Judge::load(&policy, args.model.as_deref(), args.sensitivity)?;
    let detector = judge.detector();
    let threshold = judge.thresholds.quarantine;
    let review_threshold = judge.thresholds.review;
    let texts = texts(&args)?;
    let mut any = false;
    let mut json = terminal::stdout_data();
    for text in &texts {
        let a = detector.assess(text, true);
        let flagged = a.judged && a.score > threshold;
        let review = a.judged && !flagged && review_threshold.is_some_and(|r| a.score > r);
        any |= flagged;
        if args.json {
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
            serde_json::to_writer(&mut json, &out)?;
            json.write_all(b"\n")?;
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
    }
    json.flush()?;
    Ok(if any { exit::FINDINGS } else { exit::CLEAN })
}
