//! `crmguard eval`: how the detector does on labelled data, yours or ours.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use rayon::prelude::*;
use serde::Serialize;

use crate::commands::judge;
use crate::commands::labelled;
use crate::detector::metrics::{Confusion, at_threshold, auroc, tpr_at_fpr};
use crate::detector::{ScoreParts, Sensitivity};
use crate::error::exit;
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV, JSON, JSON Lines or Parquet file (or a folder of them) with a text and a label column
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub columns: labelled::Columns,
    #[command(flatten)]
    pub judge: judge::DetectorArgs,
    /// Quarantine threshold to report precision/recall/FPR at [default: the preset's]
    #[arg(long, value_name = "SCORE", value_parser = score)]
    pub threshold: Option<f32>,
    /// Review threshold to report precision/recall/FPR at [default: the preset's]
    #[arg(long, value_name = "SCORE", value_parser = score)]
    pub review_threshold: Option<f32>,
    /// Leave texts too short to judge out of the metrics (research
    /// comparisons), instead of scoring them 0 as `scan` does
    #[arg(long)]
    pub judged_only: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
    /// Also write each row's score to this CSV (`row,score,judged,label`,
    /// then what the score is made of: `words,log_odds,evidence,decisive`;
    /// rows numbered from 1 in the order read), for tables by any column of
    /// the input (bench/loso.sh makes them) and for `train --thresholds-from`
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
}

/// The numbers `eval` prints. Metrics are over every row, as `scan` would
/// treat it: a text too short to judge scores 0 and is never flagged
/// (unless `--judged-only` leaves such rows out).
#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub n: usize,
    pub positives: usize,
    pub negatives: usize,
    /// Rows too short to judge (scored 0).
    pub not_judged: usize,
    /// `None` (JSON null) where undefined: one class missing, or nothing
    /// flagged for precision.
    pub auroc: Option<f64>,
    pub tpr_at_1pct_fpr: Option<f64>,
    pub tpr_at_5pct_fpr: Option<f64>,
    /// The preset the thresholds came from.
    pub sensitivity: Sensitivity,
    /// Quarantine threshold; the counts below are of texts above it.
    pub threshold: f32,
    #[serde(flatten)]
    pub quarantine: Rates,
    /// `None` (null) when the preset has no review tier.
    pub review_threshold: Option<f32>,
    /// Texts above the review threshold: those `scan` quarantines or lists
    /// for review.
    pub at_review_threshold: Option<Rates>,
}

/// Precision, recall and false-positive rate of flagging the texts above a
/// threshold.
#[derive(Debug, Serialize)]
pub struct Rates {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub fpr: Option<f64>,
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl From<Confusion> for Rates {
    fn from(c: Confusion) -> Rates {
        Rates {
            precision: defined(c.precision),
            recall: defined(c.recall),
            fpr: defined(c.fpr),
            tp: c.tp,
            fp: c.fp,
            tn: c.tn,
            fn_: c.fn_,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let (_, judge) = args.judge.load()?;
    let detector = judge.detector();
    let threshold = args.threshold.unwrap_or(judge.thresholds.quarantine);
    let review_threshold = args
        .review_threshold
        .or(judge.thresholds.review.filter(|r| *r < threshold));
    if let Some(r) = review_threshold
        && r >= threshold
    {
        bail!("--review-threshold {r} is not below the quarantine threshold {threshold}");
    }
    let examples = load(&args)?;
    let assessed: Vec<(f32, bool, ScoreParts)> = examples
        .par_iter()
        .map(|e| {
            let a = detector.assess(&e.text, false);
            (a.score, a.judged, a.parts)
        })
        .collect();
    if let Some(path) = &args.scores {
        let mut out = String::from("row,score,judged,label,words,log_odds,evidence,decisive\n");
        for (i, ((score, judged, p), e)) in assessed.iter().zip(&examples).enumerate() {
            let label = if e.machine { "machine" } else { "human" };
            out.push_str(&format!(
                "{},{score},{judged},{label},{},{},{},{}\n",
                i + 1,
                p.words,
                p.log_odds,
                p.evidence,
                p.decisive
            ));
        }
        let cannot = || crate::output::cannot_write(path, "the scores");
        let mut file = crate::output::OutputFile::create(path, crate::output::Mode::Shared)
            .with_context(cannot)?;
        file.write_all(out.as_bytes()).with_context(cannot)?;
        file.commit().with_context(cannot)?;
    }
    // Usually `--positive` is not the file's word for machine text: the
    // numbers below would measure nothing, in silence.
    if !examples.iter().any(|e| e.machine) {
        crate::errln!(
            "crmguard: warning: no row's `{}` is `{}`: every row was counted human; --positive names the machine label",
            args.columns.label_column,
            args.columns.positive
        );
    }
    let kept = |i: &usize| !args.judged_only || assessed[*i].1;
    let scores: Vec<f32> = (0..examples.len())
        .filter(kept)
        .map(|i| assessed[i].0)
        .collect();
    let labels: Vec<bool> = (0..examples.len())
        .filter(kept)
        .map(|i| examples[i].machine)
        .collect();
    let e = Evaluation {
        n: scores.len(),
        positives: labels.iter().filter(|l| **l).count(),
        negatives: labels.iter().filter(|l| !**l).count(),
        not_judged: assessed.iter().filter(|a| !a.1).count(),
        auroc: defined(auroc(&scores, &labels)),
        tpr_at_1pct_fpr: defined(tpr_at_fpr(&scores, &labels, 0.01)),
        tpr_at_5pct_fpr: defined(tpr_at_fpr(&scores, &labels, 0.05)),
        sensitivity: judge.sensitivity,
        threshold,
        quarantine: at_threshold(&scores, &labels, threshold).into(),
        review_threshold,
        at_review_threshold: review_threshold.map(|r| at_threshold(&scores, &labels, r).into()),
    };
    if args.json {
        let mut out = terminal::stdout_data();
        serde_json::to_writer_pretty(&mut out, &e)?;
        out.write_all(b"\n")?;
        out.flush()?;
    } else {
        terminal::out_text(&text(&e));
    }
    Ok(exit::CLEAN)
}

fn defined(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{:.1}%", x * 100.0))
}

fn text(e: &Evaluation) -> String {
    let num = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.4}"));
    let mut s = format!(
        "n                 {}  ({} machine, {} human; {} too short to judge, scored 0)\n\
         auroc             {}\n\
         tpr_at_1pct_fpr   {}\n\
         tpr_at_5pct_fpr   {}\n\
         sensitivity       {}\n\
         threshold         {:.4}  (quarantine)\n",
        e.n,
        e.positives,
        e.negatives,
        e.not_judged,
        num(e.auroc),
        pct(e.tpr_at_1pct_fpr),
        pct(e.tpr_at_5pct_fpr),
        e.sensitivity,
        e.threshold,
    );
    s.push_str(&rates(&e.quarantine, e.negatives, "", "flagged"));
    match (e.review_threshold, &e.at_review_threshold) {
        (Some(r), Some(rates_r)) => {
            s.push_str(&format!(
                "review_threshold  {r:.4}  (quarantined or listed for review)\n"
            ));
            s.push_str(&rates(rates_r, e.negatives, "  ", "quarantined or listed"));
        }
        _ => s.push_str("review_threshold  none  (no review tier)\n"),
    }
    s
}

fn rates(r: &Rates, negatives: usize, indent: &str, held: &str) -> String {
    let w = 18 - indent.len();
    format!(
        "{indent}{:<w$}{}\n{indent}{:<w$}{}\n{indent}{:<w$}{}  ({} of {negatives} human texts {held})\n",
        "precision",
        pct(r.precision),
        "recall",
        pct(r.recall),
        "fpr",
        pct(r.fpr),
        r.fp,
    )
}

/// The labelled rows, once `--scores` is known not to replace a file read.
fn load(args: &Args) -> anyhow::Result<Vec<crate::detector::Example>> {
    if let Some(scores) = &args.scores {
        let mut reads = args.files.clone();
        reads.extend(args.judge.model.iter().cloned());
        labelled::check_outputs(&[("--scores", scores)], &reads)?;
    }
    let examples = labelled::load(&args.files, &args.columns, None, None)?;
    if examples.is_empty() {
        bail!("{}: no rows to evaluate", labelled::shown(&args.files));
    }
    Ok(examples)
}

/// A threshold is a score: a number from 0 to 1, as in the policy.
fn score(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(t) if (0.0..=1.0).contains(&t) => Ok(t),
        _ => Err(format!("`{s}` is not a score from 0 to 1")),
    }
}
