//! `crmguard eval`: how the detector does on labelled data, yours or ours.

use std::path::PathBuf;

use anyhow::bail;
use rayon::prelude::*;
use serde::Serialize;

use crate::commands::labelled;
use crate::detector::Detector;
use crate::detector::metrics::{at_threshold, auroc, tpr_at_fpr};
use crate::error::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV file (or folder of CSV files) with a text and a label column
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub columns: labelled::Columns,
    /// A model from `crmguard train` instead of the built-in one
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Threshold to report precision/recall/FPR at [default: the model's shipped threshold]
    #[arg(long, value_name = "SCORE")]
    pub threshold: Option<f32>,
    /// Leave texts too short to judge out of the metrics (research
    /// comparisons), instead of scoring them 0 as `scan` does
    #[arg(long)]
    pub judged_only: bool,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
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
    pub threshold: f32,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub fpr: Option<f64>,
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let examples = labelled::load(&args.files, &args.columns, None, None)?;
    if examples.is_empty() {
        bail!("no rows to evaluate");
    }
    let own;
    let detector = match &args.model {
        Some(p) => {
            own = Detector::from_model_file(p)?;
            &own
        }
        None => Detector::embedded(),
    };
    let threshold = args.threshold.unwrap_or(detector.shipped_threshold());
    let assessed: Vec<(f32, bool)> = examples
        .par_iter()
        .map(|e| {
            let a = detector.assess(&e.text, false);
            (a.score, a.judged)
        })
        .collect();
    let kept = |i: &usize| !args.judged_only || assessed[*i].1;
    let scores: Vec<f32> = (0..examples.len())
        .filter(kept)
        .map(|i| assessed[i].0)
        .collect();
    let labels: Vec<bool> = (0..examples.len())
        .filter(kept)
        .map(|i| examples[i].machine)
        .collect();
    let c = at_threshold(&scores, &labels, threshold);
    let e = Evaluation {
        n: scores.len(),
        positives: labels.iter().filter(|l| **l).count(),
        negatives: labels.iter().filter(|l| !**l).count(),
        not_judged: assessed.iter().filter(|a| !a.1).count(),
        auroc: defined(auroc(&scores, &labels)),
        tpr_at_1pct_fpr: defined(tpr_at_fpr(&scores, &labels, 0.01)),
        tpr_at_5pct_fpr: defined(tpr_at_fpr(&scores, &labels, 0.05)),
        threshold,
        precision: defined(c.precision),
        recall: defined(c.recall),
        fpr: defined(c.fpr),
        tp: c.tp,
        fp: c.fp,
        tn: c.tn,
        fn_: c.fn_,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print!("{}", text(&e));
    }
    Ok(exit::CLEAN)
}

fn defined(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

fn text(e: &Evaluation) -> String {
    let pct = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{:.1}%", x * 100.0));
    let num = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{x:.4}"));
    format!(
        "n                 {}  ({} machine, {} human; {} too short to judge, scored 0)\n\
         auroc             {}\n\
         tpr_at_1pct_fpr   {}\n\
         tpr_at_5pct_fpr   {}\n\
         threshold         {:.4}\n\
         precision         {}\n\
         recall            {}\n\
         fpr               {}  ({} of {} human texts flagged)\n",
        e.n,
        e.positives,
        e.negatives,
        e.not_judged,
        num(e.auroc),
        pct(e.tpr_at_1pct_fpr),
        pct(e.tpr_at_5pct_fpr),
        e.threshold,
        pct(e.precision),
        pct(e.recall),
        pct(e.fpr),
        e.fp,
        e.negatives
    )
}
