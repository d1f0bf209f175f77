//! `crmguard calibrate`: the detector's thresholds from genuine texts of
//! your own, written out as the policy lines that apply them.

use std::io::Write;
use std::ops::Not;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use rayon::prelude::*;
use serde::Serialize;

use crate::commands::judge::Judge;
use crate::commands::labelled::{self, LabelledRow, Labels};
use crate::detector::Sensitivity;
use crate::detector::own_thresholds::{Cut, Genuine, MIN_GENUINE};
use crate::error::exit;
use crate::terminal;

/// The review rate when `--review-fpr` is not given.
const DEFAULT_REVIEW: f64 = 0.02;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV, JSON, JSON Lines or Parquet file (or a folder of them) of texts people
    /// wrote, e.g. an export from before chat models
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Column holding the text; repeat it for several, and a row scores
    /// the highest of its texts, as in `scan` [default: the policy's
    /// `[detector] text_columns`, else `text`]
    #[arg(long, value_name = "NAME")]
    pub text_column: Vec<String>,
    /// Column labelling each row; rows whose label is `--positive` are
    /// machine text, measured but not calibrated on. Without it every row
    /// is genuine, unless the file has a `label` column
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,
    /// Label value meaning machine-written (case-insensitive)
    #[arg(long, value_name = "VALUE", default_value = "machine", value_parser = labelled::not_blank)]
    pub positive: String,
    /// Share of the genuine texts the quarantine threshold may hold back
    #[arg(long, value_name = "PERCENT", default_value = "0.5%", value_parser = percent)]
    pub fpr: f64,
    /// Share of the genuine texts the review threshold may list (those
    /// quarantined included), or `none` for no review tier [default: 2%]
    #[arg(long, value_name = "PERCENT", value_parser = review_rate)]
    pub review_fpr: Option<ReviewRate>,
    /// A model from `crmguard train` [default: the policy's, else the built-in one]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Policy file, for its [detector] model and text columns, and the
    /// thresholds in force to compare with [default: $CRMGUARD_POLICY, else
    /// the nearest crmguard.toml up to the repository root]
    #[arg(short, long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Write the thresholds into the policy file in force (--policy's, or
    /// the crmguard.toml found), keeping its comments and other keys;
    /// without one, create ./crmguard.toml
    #[arg(long)]
    pub apply: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum ReviewRate {
    None,
    Share(f64),
}

/// What `calibrate` prints.
#[derive(Debug, Serialize)]
pub struct Calibration {
    /// The model that scored the texts (blake3 of its bytes): the
    /// thresholds are shares of its scores, and hold for it alone.
    pub model: String,
    /// The columns judged; a row scores the highest of its texts.
    pub text_columns: Vec<String>,
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
    /// Rows disclosed as synthetic (`is_synthetic` true): `scan` does not
    /// judge them, so they are left out, of either label.
    pub disclosed: usize,
    pub quarantine: Level,
    /// `None` when there is no review tier: `--review-fpr none`, or a
    /// review threshold that would not sit below the quarantine one.
    pub review: Option<Level>,
    /// Why there is no review tier; `None` when there is one.
    pub no_review: Option<String>,
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
    let review = match args.review_fpr {
        Some(ReviewRate::None) => None,
        Some(ReviewRate::Share(r)) if r <= args.fpr => bail!(
            "--review-fpr {} is not above --fpr {}: the review tier lists what scores above \
             the review threshold, quarantined rows included (`--review-fpr none`: no tier)",
            show_target(r),
            show_target(args.fpr)
        ),
        Some(ReviewRate::Share(r)) => Some(r),
        None if DEFAULT_REVIEW <= args.fpr => bail!(
            "--fpr {} is not below the review tier's default rate of {}: give --review-fpr \
             above it, or `--review-fpr none` for no review tier",
            show_target(args.fpr),
            show_target(DEFAULT_REVIEW)
        ),
        None => Some(DEFAULT_REVIEW),
    };
    let policy = crate::policy::Policy::discover(args.policy.as_deref())?;
    let judge = Judge::load_any(&policy, args.model.as_deref(), None)?;
    let mut columns: Vec<String> = (args.text_column.iter())
        .map(|c| c.trim().to_string())
        .collect();
    if columns.is_empty() {
        columns = policy.detector.text_columns.clone();
    }
    if columns.is_empty() {
        columns.push("text".into());
    }
    let scored = score(&args, &judge, &policy, &columns)?;
    let c = calibrate(&args, &judge, scored, review, &columns)?;
    // Before the output, so that a failed write of it is the last word.
    if c.quarantine.genuine_rate_upper_95 > 2.0 * args.fpr {
        crate::errln!(
            "crmguard: warning: {} genuine texts bound the rate above the threshold only at {} \
             (95% confidence), over twice the {} asked for: more genuine texts give a \
             tighter bound",
            c.genuine_judged,
            show_percent(c.quarantine.genuine_rate_upper_95),
            show_target(args.fpr)
        );
    }
    // Columns the policy does not name are pinned, or scan would judge
    // every prose column it finds and hold back more than counted here.
    let pin = (args.text_column.is_empty() && !policy.detector.text_columns.is_empty())
        .not()
        .then_some(columns.as_slice());
    let keys = calibrated_keys(&c, args.model.as_ref(), pin);
    let applied = match args.apply {
        true => Some(apply(&keys, &policy)?),
        false => None,
    };
    if args.json {
        let mut out = terminal::stdout_data();
        serde_json::to_writer_pretty(&mut out, &c)?;
        out.write_all(b"\n")?;
        out.flush()?;
    } else if let Some(path) = applied {
        terminal::out_text(&format!(
            "{}\nWrote the thresholds into {}'s [detector] table.\n",
            text(&c),
            terminal::path(&path)
        ));
    } else {
        let lines = policy_lines(&keys, &policy);
        terminal::out_text(&(text(&c) + &lines));
    }
    Ok(exit::CLEAN)
}

/// Rows scored in parallel at a time: enough to keep the cores busy, few
/// enough that only the batch's texts are held.
const BATCH: usize = 4096;

/// The rows' judged scores by label, and what else a report needs. Only
/// the scores are kept, 4 bytes a text, so years of history fit.
#[derive(Default)]
struct Scored {
    genuine: Vec<f32>,
    machine: Vec<f32>,
    genuine_rows: usize,
    machine_rows: usize,
    /// Rows disclosed as synthetic, which `scan` does not judge either.
    disclosed_rows: usize,
    /// A few of the labels seen, for the warning when none is `--positive`.
    labels: std::collections::BTreeSet<String>,
}

impl Scored {
    /// Scores a batch; a row scores the highest of its judged texts, as in
    /// `scan`.
    fn add(&mut self, detector: &crate::detector::Detector, batch: &mut Vec<LabelledRow>) {
        let assessed: Vec<(f32, bool)> = batch
            .par_iter()
            .map(|r| {
                // Left out below, as `scan` leaves them: not worth scoring.
                if r.disclosed {
                    return (0.0, false);
                }
                r.texts.iter().fold((0.0f32, false), |(score, judged), t| {
                    let a = detector.assess(t, false);
                    match a.judged {
                        true => (score.max(a.score), true),
                        false => (score, judged),
                    }
                })
            })
            .collect();
        for (r, (score, judged)) in batch.drain(..).zip(assessed) {
            let label = r.label.as_deref().map(str::trim).unwrap_or_default();
            if !label.is_empty() && self.labels.len() <= 5 {
                // Cut short: a text column named as the label would
                // otherwise fill the warning with whole reviews.
                self.labels.insert(label.chars().take(24).collect());
            }
            if r.disclosed {
                self.disclosed_rows += 1;
                continue;
            }
            match r.machine {
                true => self.machine_rows += 1,
                false => self.genuine_rows += 1,
            }
            if judged {
                match r.machine {
                    true => self.machine.push(score),
                    false => self.genuine.push(score),
                }
            }
        }
    }
}

/// Reads and scores the rows, each file once; warns when a label column is
/// there but no row carries the machine label, which usually means
/// `--positive` is not the file's word for it.
fn score(
    args: &Args,
    judge: &Judge,
    policy: &crate::policy::Policy,
    columns: &[String],
) -> anyhow::Result<Scored> {
    let labels = Labels {
        column: args.label_column.as_deref().unwrap_or("label"),
        positive: &args.positive,
        required: args.label_column.is_some(),
        blank_refused: false,
        disclosure: Some(policy),
    };
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let detector = judge.detector();
    let mut scored = Scored::default();
    let mut batch = Vec::with_capacity(BATCH);
    labelled::for_each_row(&args.files, &names, labels, |r| {
        batch.push(r);
        if batch.len() == BATCH {
            scored.add(detector, &mut batch);
        }
    })?;
    scored.add(detector, &mut batch);
    let all_human = scored
        .labels
        .iter()
        .all(|l| l.eq_ignore_ascii_case("human"));
    if scored.machine_rows == 0 && !all_human {
        let shown: Vec<String> = (scored.labels.iter().take(5))
            .map(|l| format!("`{l}`"))
            .collect();
        crate::errln!(
            "crmguard: warning: no row's `{}` is `{}` (it holds {}{}): every row was counted \
             genuine; --positive names the machine label",
            labels.column,
            args.positive,
            shown.join(", "),
            if scored.labels.len() > 5 { ", ..." } else { "" }
        );
    }
    Ok(scored)
}

/// Sets the thresholds from the genuine scores.
fn calibrate(
    args: &Args,
    judge: &Judge,
    scored: Scored,
    review_rate: Option<f64>,
    columns: &[String],
) -> anyhow::Result<Calibration> {
    let machine = &scored.machine;
    let genuine = Genuine::new(scored.genuine);
    let machine_rows = scored.machine_rows;
    let Some(q) = genuine.cut(args.fpr) else {
        bail!(
            "{}: setting a threshold needs at least {MIN_GENUINE} genuine texts of 8 words or \
             more; these hold {}{}",
            labelled::shown(&args.files),
            genuine.len(),
            match machine_rows {
                0 => String::new(),
                n => format!(" (and {n} rows labelled machine, which are not calibrated on)"),
            }
        );
    };
    let mut no_review = None;
    let review = match review_rate {
        None => {
            no_review = Some("--review-fpr none".to_string());
            None
        }
        Some(rate) => match genuine.cut(rate) {
            Some(r) if r.threshold < q.threshold => Some(level(r, rate, machine)),
            _ => {
                no_review = Some(format!(
                    "at {} the review threshold comes out at the quarantine threshold: \
                     among {} genuine texts both rates let the same ones above",
                    show_target(rate),
                    genuine.len()
                ));
                None
            }
        },
    };
    let t = judge.thresholds;
    Ok(Calibration {
        model: judge.detector().id().to_string(),
        text_columns: columns.to_vec(),
        rows: scored.genuine_rows + machine_rows + scored.disclosed_rows,
        genuine: scored.genuine_rows,
        genuine_judged: genuine.len(),
        machine: machine_rows,
        machine_judged: machine.len(),
        disclosed: scored.disclosed_rows,
        quarantine: level(q, args.fpr, machine),
        review,
        no_review,
        in_force: InForce {
            sensitivity: judge.sensitivity,
            threshold: t.quarantine,
            genuine_rate: share_above(genuine.scores(), t.quarantine).unwrap_or(0.0),
            machine_caught: share_above(machine, t.quarantine),
            review_threshold: t.review,
            review_genuine_rate: t.review.and_then(|r| share_above(genuine.scores(), r)),
            review_machine_caught: t.review.and_then(|r| share_above(machine, r)),
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

fn review_rate(s: &str) -> Result<ReviewRate, String> {
    match s.trim() {
        "none" => Ok(ReviewRate::None),
        _ => percent(s).map(ReviewRate::Share),
    }
}

/// A rate asked for, as it was written: `0.5%`, `49.99%`, `0.000000001%`
/// (twelve significant digits, trailing zeros dropped).
fn show_target(x: f64) -> String {
    let p = x * 100.0;
    let decimals = (11 - p.abs().log10().floor() as i32).clamp(0, 24) as usize;
    let s = format!("{p:.decimals$}");
    match s.trim_end_matches('0').trim_end_matches('.') {
        // Under 24 decimals (`--fpr 1e-30%`): not the 0% nobody can ask for.
        "0" => format!("{p:e}%"),
        s => format!("{s}%"),
    }
}

/// A measured rate: two decimals, one from 10%, and two significant
/// digits under 0.01%, so that no rate but none prints as 0.
fn show_percent(x: f64) -> String {
    let p = x * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 0.01 {
        let decimals = (1 - p.log10().floor() as i32).max(2) as usize;
        format!("{p:.decimals$}%")
    } else if p < 10.0 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

fn caught(x: Option<f64>) -> String {
    x.map_or("-".into(), show_percent)
}

fn text(c: &Calibration) -> String {
    let mut s = format!(
        "{} genuine texts judged (of {} rows; {} too short to judge, never held back)\n",
        c.genuine_judged,
        c.genuine,
        c.genuine - c.genuine_judged
    );
    if c.disclosed > 0 {
        s.push_str(&format!(
            "{} rows disclosed as synthetic left out (scan does not judge them either)\n",
            c.disclosed
        ));
    }
    let with_machine = c.machine > 0;
    if with_machine {
        s.push_str(&format!(
            "{} machine texts judged (of {} rows labelled machine: measured, not calibrated on)\n",
            c.machine_judged, c.machine
        ));
    }
    // Each line of the table: its label, threshold, genuine rate, the
    // rate's bound and the machine texts caught.
    let level = |name: &str, l: &Level| {
        (
            format!("{name} ({})", show_target(l.target)),
            l.threshold,
            l.genuine_rate,
            Some(l.genuine_rate_upper_95),
            l.machine_caught,
        )
    };
    let mut lines = vec![level("quarantine", &c.quarantine)];
    lines.extend(c.review.as_ref().map(|r| level("review", r)));
    let f = &c.in_force;
    lines.push((
        format!("{}, in force", f.sensitivity),
        f.threshold,
        f.genuine_rate,
        None,
        f.machine_caught,
    ));
    if let (Some(r), Some(g)) = (f.review_threshold, f.review_genuine_rate) {
        lines.push((
            format!("{}, review", f.sensitivity),
            r,
            g,
            None,
            f.review_machine_caught,
        ));
    }
    // 22 characters, or more for a rate asked for with many digits (`--fpr
    // 0.0000001%`), whose label would otherwise run into the threshold.
    let w = (lines.iter())
        .map(|l| l.0.chars().count() + 2)
        .fold(22, usize::max);
    let header = format!(
        "\n{:<w$}{:<12}{:<15}{:<12}{}",
        "",
        "threshold",
        "genuine above",
        "at most",
        if with_machine { "machine caught" } else { "" }
    );
    s.push_str(header.trim_end());
    s.push('\n');
    for (name, t, rate, bound, caught) in lines {
        let mut r = format!(
            "{name:<w$}{:<12}{:<15}{:<12}",
            t.to_string(),
            show_percent(rate),
            bound.map_or(String::new(), show_percent)
        );
        if with_machine {
            r.push_str(&self::caught(caught));
        }
        s.push_str(r.trim_end());
        s.push('\n');
    }
    s.push_str("(\"at most\": the rate's 95% upper confidence bound for texts like these)\n");
    if let Some(why) = &c.no_review {
        s.push_str(&format!("no review tier: {why}\n"));
    }
    s
}

/// The `[detector]` keys that put the thresholds in force: both the
/// printed lines and `--apply` write these. `model`: `--model`'s file;
/// `pin`: the text columns, when the policy does not already name them.
fn calibrated_keys(
    c: &Calibration,
    model: Option<&PathBuf>,
    pin: Option<&[String]>,
) -> crate::policy::CalibratedKeys {
    crate::policy::CalibratedKeys {
        model: c.model.clone(),
        // Absolute: the policy reads a relative `model` from its own folder.
        model_file: model.map(|m| {
            let m = std::path::absolute(m).unwrap_or_else(|_| m.clone());
            m.to_string_lossy().into_owned()
        }),
        text_columns: pin.map(<[String]>::to_vec),
        threshold: c.quarantine.threshold,
        review_threshold: c.review.as_ref().map(|r| r.threshold),
    }
}

/// Writes `keys` into the policy file in force, or a new ./crmguard.toml;
/// returns its path. The file is checked as a policy before it replaces
/// the old one.
fn apply(
    keys: &crate::policy::CalibratedKeys,
    policy: &crate::policy::Policy,
) -> anyhow::Result<PathBuf> {
    use crate::policy::{Policy, PolicySource, set_calibrated};
    let path = match &policy.source {
        PolicySource::File(p) => p.clone(),
        PolicySource::BuiltIn => PathBuf::from(crate::policy::POLICY_FILE),
    };
    let shown = terminal::path(&path);
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => bail!("{shown}: cannot read the policy: {e}"),
    };
    let new = set_calibrated(&old, keys).map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
    Policy::parse(&new, PolicySource::File(path.clone()))
        .map_err(|e| anyhow::anyhow!("{e} (in the policy --apply would write; left as it was)"))?;
    crate::output::OutputFile::create(&path, crate::output::Mode::Shared)
        .and_then(|mut f| f.write_all(new.as_bytes()).and_then(|()| f.commit()))
        .with_context(|| format!("{shown}: cannot write the policy"))?;
    Ok(path)
}

/// `keys` as lines to paste into the policy's `[detector]` table, each
/// with why it is there.
fn policy_lines(keys: &crate::policy::CalibratedKeys, policy: &crate::policy::Policy) -> String {
    // Strings as JSON writes them, which TOML reads alike: quoted, and
    // no control character left raw.
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let mut s = String::from(
        "\nTo scan with these thresholds, put these lines in the policy's [detector] table\n\
         (crmguard.toml), in place of any keys of the same name:\n\n[detector]\n",
    );
    if let Some(m) = &keys.model_file {
        s.push_str(&format!(
            "# the model file the texts were scored with\nmodel = {}\n",
            quoted(m)
        ));
    }
    s.push_str(&format!(
        "# the model these thresholds hold for: scan refuses them with another\n\
         calibrated_model = {}\n",
        quoted(&keys.model)
    ));
    if let Some(columns) = &keys.text_columns {
        let names: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
        s.push_str(&format!(
            "# the columns calibrated on: without this line scan judges every prose column\n\
             text_columns = [{}]\n",
            names.join(", ")
        ));
    }
    // `{}` prints an f32 with the fewest digits that read back as the same
    // number, so the policy compares against exactly this threshold.
    s.push_str(&format!("threshold = {}\n", keys.threshold));
    match keys.review_threshold {
        Some(r) => s.push_str(&format!("review_threshold = {r}\n")),
        // Without a review_threshold the preset's would apply: `strict` is
        // the preset without a review tier, and `threshold` overrides its
        // quarantine threshold.
        None => {
            s.push_str("sensitivity = \"strict\"  # the preset without a review tier\n");
            if policy.detector.review_threshold.is_some() {
                s.push_str("# and delete the table's review_threshold, or its review tier stays\n");
            }
        }
    }
    s
}
