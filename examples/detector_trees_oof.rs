//! The boosted trees of `crmguard train --trees` (src/detector/trees.rs),
//! held out by source: for each fold of bench/loso.sh's `folds.txt`, a forest
//! grown on every other fold's texts, with the weights the linear model
//! trains with, scores the fold's texts. Writes one log-odds per text, in the
//! input's row order, for `bench/research.py --trees-oof` to put beside the
//! held-out linear scores, so that the learner that would ship is measured
//! and not only LightGBM.
//!
//! ```text
//! cargo run --release --example detector_trees_oof -- FOLDS.txt OUT.txt N_TREES TRAIN.csv...
//! ```

// A developer's tool: it prints to the terminal it was run from, with
// none of the files or names crmguard escapes (src/terminal.rs).
#![allow(clippy::disallowed_macros)]

#[path = "shared/training_set.rs"]
mod training_set;

use crmguard::detector::calibrate::balance_weights;
use crmguard::detector::fit::{doc_dense, doc_tree_features};
use crmguard::detector::train::TrainOptions;
use crmguard::detector::trees::{self, TreeOptions};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [folds, out, n_trees, files @ ..] = args.as_slice() else {
        anyhow::bail!("usage: detector_trees_oof FOLDS.txt OUT.txt N_TREES TRAIN.csv...");
    };
    let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    let (_, prep) = training_set::load(&files)?;
    // Each source (a file's stem) to its fold.
    let mut fold_of: HashMap<String, usize> = HashMap::new();
    let text = std::fs::read_to_string(folds)?;
    let n_folds = text.lines().count();
    for (k, line) in text.lines().enumerate() {
        let (_, held) = line.split_once(' ').unwrap_or((line, ""));
        for f in held.split(',') {
            fold_of.insert(f.trim_end_matches(".csv").to_string(), k);
        }
    }
    let fold: Vec<usize> = (prep.docs.iter())
        .map(|d| fold_of[&prep.sources[d.source as usize]])
        .collect();
    let o = TreeOptions {
        n_trees: n_trees.parse()?,
        ..TreeOptions::default()
    };
    let balance = TrainOptions::default().balance;
    // Without a frequency table, as the default `crmguard train` grows them.
    let x: Vec<_> = (prep.docs.iter())
        .map(|d| doc_tree_features(d, &doc_dense(d, None)))
        .collect();
    let mut oof = vec![f32::NAN; prep.docs.len()];
    for k in 0..n_folds {
        let rows: Vec<usize> = (0..prep.docs.len()).filter(|&r| fold[r] != k).collect();
        if rows.len() == prep.docs.len() {
            continue;
        }
        let started = Instant::now();
        let w = balance_weights(&prep, &rows, balance);
        let xs: Vec<_> = rows.iter().map(|&r| x[r]).collect();
        let ys: Vec<bool> = rows.iter().map(|&r| prep.docs[r].machine).collect();
        let forest = trees::train(&xs, &ys, &w, &o);
        for r in (0..prep.docs.len()).filter(|&r| fold[r] == k) {
            oof[r] = forest.log_odds(&x[r]);
        }
        eprintln!(
            "fold {}/{n_folds}: {} training rows, {:.1} s",
            k + 1,
            rows.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let mut s = String::new();
    for v in &oof {
        writeln!(s, "{v}")?;
    }
    std::fs::write(out, s)?;
    Ok(())
}
