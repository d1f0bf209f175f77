//! `crmguard calibrate`: the detector's thresholds from genuine texts of
//! your own, written out as the policy lines that apply them.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use rayon::prelude::*;
use serde::Serialize;

use crate::commands::judge::Judge;
use crate::commands::labelled::{self, Labels};
use crate::detector::Sensitivity;
use crate::detector::own_thresholds::{Cut, MIN_GENUINE, cut};
use crate::error::exit;
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV file (or folder of CSV files) of texts people wrote, e.g. an
    /// export from before chat models
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Column holding the text; repeat it for several, and a row scores
    /// the highest of its texts, as in `scan`
    #[arg(long, value_name = "NAME", default_value = "text")]
    pub text_column: Vec<String>,
    /// Column labelling each row; rows whose label is `--positive` are
    /// machine text, measured but not calibrated on. Without it every row
    /// is genuine, unless the file has a `label` column
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,
    /// Label value meaning machine-written (case-insensitive)
    #[arg(long, value_name = "VALUE", default_value = "machine")]
    pub positive: String,
    /// Share of the genuine texts the quarantine threshold may hold back
    #[arg(long, value_name = "PERCENT", default_value = "0.5%", value_parser = percent)]
    pub fpr: f64,
    /// Share of the genuine texts the review threshold may list (those
    /// quarantined included)
    #[arg(long, value_name = "PERCENT", default_value = "2%", value_parser = percent)]
    pub review_fpr: f64,
    /// A model from `crmguard train` [default: the policy's, else the built-in one]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Policy file, for its [detector] model and the thresholds in force to
    /// compare with [default: $CRMGUARD_POLICY, else the nearest crmguard.toml
    /// up to the repository root]
    #[arg(short, long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

/// What `calibrate` prints.
#[derive(Debug, Serialize)]
pub struct Calibration {
    /// Rows read, of either label.
    pub rows: usize,
    /// Genuine (human) rows, and of them those long enough to judge: the
    /// thresholds are set on the judged ones, since a text too short to
    /// judge is never held back.
    pub genuine: usize,
    pub genuine_judged: usize,
    /// Rows labelled machine, and of them those long enough to judge.
    pub machine: usize,
    pub machine_judged: usize,
    pub quarantine: Level,
    /// `None` when the review threshold would not sit below the quarantine
    /// one (the genuine texts tie there), so there is no review tier.
    pub review: Option<Level>,
    /// The thresholds in force before, on the same texts.
    pub in_force: InForce,
}

#[derive(Debug, Serialize)]
pub struct Level {
    /// The share of genuine texts asked for (a fraction).
    pub target: f64,
    pub threshold: f32,
    pub genuine_above: usize,
    pub genuine_rate: f64,
    /// One-sided 95% upper confidence bound on `genuine_rate`.
    pub genuine_rate_upper_95: f64,
    /// Share of the judged machine texts above the threshold; `None`
    /// (null) without any.
    pub machine_caught: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct InForce {
    pub sensitivity: Sensitivity,
    pub threshold: f32,
    pub genuine_rate: f64,
    pub machine_caught: Option<f64>,
    pub review_threshold: Option<f32>,
    pub review_genuine_rate: Option<f64>,
    pub review_machine_caught: Option<f64>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if args.review_fpr <= args.fpr {
        bail!(
            "--review-fpr {} is not above --fpr {}: the review tier lists what scores above \
             the review threshold, quarantined rows included",
            show_percent(args.review_fpr),
            show_percent(args.fpr)
        );
    }
    let policy = crate::policy::Policy::discover(args.policy.as_deref())?;
    let judge = Judge::load(&policy, args.model.as_deref(), None)?;
    let c = calibrate(&args, &judge)?;
    if args.json {
        let mut out = terminal::stdout_data();
        serde_json::to_writer_pretty(&mut out, &c)?;
        out.write_all(b"\n")?;
        out.flush()?;
    } else {
        terminal::out_text(&text(&c, args.model.as_ref()));
    }
    if c.quarantine.genuine_rate_upper_95 > 2.0 * args.fpr {
        crate::errln!(
            "crmguard: warning: {} genuine texts bound the rate above the threshold only at {} \
             (95% confidence), over twice the {} asked for: more genuine texts give a \
             tighter bound",
            c.genuine_judged,
            show_percent(c.quarantine.genuine_rate_upper_95),
            show_percent(args.fpr)
        );
    }
    Ok(exit::CLEAN)
}

/// Scores the files' texts and sets the thresholds from the genuine ones.
fn calibrate(args: &Args, judge: &Judge) -> anyhow::Result<Calibration> {
    let labels = Labels {
        column: args.label_column.as_deref().unwrap_or("label"),
        positive: &args.positive,
        required: args.label_column.is_some(),
    };
    // One read per column, each in the files' row order, so that row i of
    // every read is the same row.
    let mut columns = Vec::new();
    for c in &args.text_column {
        columns.push(labelled::load_texts(&args.files, c, labels)?);
    }
    let examples = &columns[0];
    let detector = judge.detector();
    let assessed: Vec<(f32, bool)> = (0..examples.len())
        .into_par_iter()
        .map(|i| {
            columns.iter().fold((0.0f32, false), |(score, judged), c| {
                let a = detector.assess(&c[i].text, false);
                match a.judged {
                    true => (score.max(a.score), true),
                    false => (score, judged),
                }
            })
        })
        .collect();
    let judged = |machine: bool| -> Vec<f32> {
        assessed
            .iter()
            .zip(examples)
            .filter(|((_, judged), e)| *judged && e.machine == machine)
            .map(|((s, _), _)| *s)
            .collect()
    };
    let (genuine, machine) = (judged(false), judged(true));
    let Some(q) = cut(&genuine, args.fpr) else {
        bail!(
            "{}: {} genuine texts long enough to judge (8 words or more); at least {MIN_GENUINE} \
             are needed to set a threshold from",
            files(&args.files),
            genuine.len()
        );
    };
    let review = cut(&genuine, args.review_fpr)
        .filter(|r| r.threshold < q.threshold)
        .map(|r| level(r, args.review_fpr, &machine));
    let t = judge.thresholds;
    Ok(Calibration {
        rows: examples.len(),
        genuine: examples.iter().filter(|e| !e.machine).count(),
        genuine_judged: genuine.len(),
        machine: examples.iter().filter(|e| e.machine).count(),
        machine_judged: machine.len(),
        quarantine: level(q, args.fpr, &machine),
        review,
        in_force: InForce {
            sensitivity: judge.sensitivity,
            threshold: t.quarantine,
            genuine_rate: share_above(&genuine, t.quarantine).unwrap_or(0.0),
            machine_caught: share_above(&machine, t.quarantine),
            review_threshold: t.review,
            review_genuine_rate: t.review.and_then(|r| share_above(&genuine, r)),
            review_machine_caught: t.review.and_then(|r| share_above(&machine, r)),
        },
    })
}

fn level(c: Cut, target: f64, machine: &[f32]) -> Level {
    Level {
        target,
        threshold: c.threshold,
        genuine_above: c.above,
        genuine_rate: c.rate(),
        genuine_rate_upper_95: c.upper_bound,
        machine_caught: share_above(machine, c.threshold),
    }
}

fn share_above(scores: &[f32], t: f32) -> Option<f64> {
    (!scores.is_empty())
        .then(|| scores.iter().filter(|s| **s > t).count() as f64 / scores.len() as f64)
}

fn files(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|f| terminal::path(f).to_string())
        .collect();
    names.join(", ")
}

/// `0.5%` is a share of 0.005. The `%` is required: a bare `0.5` could be
/// either, and a threshold set at fifty times the meant rate loses rows.
fn percent(s: &str) -> Result<f64, String> {
    let Some(number) = s.trim().strip_suffix('%') else {
        return Err(format!(
            "`{s}` is not a percentage: write it with a %, e.g. 0.5%"
        ));
    };
    match number.trim().parse::<f64>() {
        Ok(p) if p > 0.0 && p < 50.0 => Ok(p / 100.0),
        _ => Err(format!("`{s}` is not a percentage above 0% and below 50%")),
    }
}

fn show_percent(x: f64) -> String {
    let p = x * 100.0;
    if p >= 10.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.2}%")
    }
}

fn caught(x: Option<f64>) -> String {
    x.map_or("-".into(), show_percent)
}

fn text(c: &Calibration, model: Option<&PathBuf>) -> String {
    let mut s = format!(
        "{} genuine texts judged (of {} rows; {} too short to judge, never held back)\n",
        c.genuine_judged,
        c.genuine,
        c.genuine - c.genuine_judged
    );
    let with_machine = c.machine_judged > 0;
    if c.machine > 0 {
        s.push_str(&format!(
            "{} machine texts judged (of {} rows labelled machine: measured, not calibrated on)\n",
            c.machine_judged, c.machine
        ));
    }
    let row = |name: String, t: f32, rate: f64, bound: Option<f64>, caught: Option<f64>| {
        let mut r = format!(
            "{name:<22}{:<12}{:<15}{:<12}",
            t.to_string(),
            show_percent(rate),
            bound.map_or(String::new(), show_percent)
        );
        if with_machine {
            r.push_str(&self::caught(caught));
        }
        r.trim_end().to_string() + "\n"
    };
    s.push_str(&format!(
        "\n{:<22}{:<12}{:<15}{:<12}{}\n",
        "",
        "threshold",
        "genuine above",
        "at most",
        if with_machine { "machine caught" } else { "" }
    ));
    let mut level = |name: &str, l: &Level| {
        s.push_str(&row(
            format!("{name} ({})", show_percent(l.target)),
            l.threshold,
            l.genuine_rate,
            Some(l.genuine_rate_upper_95),
            l.machine_caught,
        ));
    };
    level("quarantine", &c.quarantine);
    if let Some(r) = &c.review {
        level("review", r);
    }
    let f = &c.in_force;
    s.push_str(&row(
        format!("{}, in force", f.sensitivity),
        f.threshold,
        f.genuine_rate,
        None,
        f.machine_caught,
    ));
    if let (Some(r), Some(g)) = (f.review_threshold, f.review_genuine_rate) {
        s.push_str(&row(
            format!("{}, review", f.sensitivity),
            r,
            g,
            None,
            f.review_machine_caught,
        ));
    }
    s.push_str("(\"at most\": the rate's 95% upper confidence bound for texts like these)\n");
    if c.review.is_none() {
        s.push_str(
            "no review tier: the genuine texts tie at the quarantine threshold, leaving no room \
             below it\n",
        );
    }
    s + &policy_lines(c, model)
}

/// The `[detector]` lines that put the thresholds in force.
fn policy_lines(c: &Calibration, model: Option<&PathBuf>) -> String {
    let mut s = String::new();
    s.push_str("\nTo scan with these thresholds, put them in the policy (crmguard.toml):\n\n");
    s.push_str("[detector]\n");
    if let Some(m) = model {
        s.push_str(&format!(
            "# set for the model {}: name it in `model` too\n",
            terminal::path(m)
        ));
    }
    // `{}` prints an f32 with the fewest digits that read back as the same
    // number, so the policy compares against exactly this threshold.
    s.push_str(&format!("threshold = {}\n", c.quarantine.threshold));
    if let Some(r) = &c.review {
        s.push_str(&format!("review_threshold = {}\n", r.threshold));
    }
    s
}
