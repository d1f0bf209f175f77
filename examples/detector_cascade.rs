//! How many texts a cascade would have to walk a model's boosted trees for.
//!
//! The trees' part of the margin is `blend · forest log-odds`, and a forest's
//! log-odds lie between its base plus the sum of each tree's smallest leaf and
//! its base plus the sum of the largest. So the linear part alone bounds a
//! text's score from both sides; where no preset threshold falls inside those
//! bounds, walking the trees cannot change the text's decision. This prints,
//! per preset, the share of judged texts (and of their bytes) whose bounds hold
//! one of its thresholds: the texts a cascade would still rescore, and how
//! many full scores fell outside their bounds (none, f32 rounding apart).
//! Then the same with the bounds that the middle 98% of these texts' forest
//! log-odds span: a cheaper cascade, which could change the decision of the
//! texts it counts as outside. Both on the texts whole and cut into pieces of
//! 100–300 characters, the size of a CRM field.
//!
//! ```text
//! cargo run --release --example detector_cascade -- MODEL TEXTS.csv...
//! ```
//! MODEL is a `crmguard train --trees N` model; the CSVs need a `text` column.

// A developer's tool: it prints to the terminal it was run from, with
// none of the files or names crmguard escapes (src/terminal.rs).
#![allow(clippy::disallowed_macros)]

#[path = "shared/detector_corpus.rs"]
mod corpus;

use crmguard::detector::Detector;
use crmguard::detector::model::{Model, N_PRESETS, length_band};
use crmguard::detector::trees::LEAF;

const PRESETS: [&str; N_PRESETS] = ["strict", "balanced", "thorough"];

struct Ctx {
    full: Detector,
    /// The same model with the trees weighing nothing: its margin is the
    /// linear part alone, through the same length bands.
    linear: Detector,
}

impl Ctx {
    /// Prints the share of judged texts with a threshold inside their score
    /// bounds, for forest log-odds within `(t_min, t_max)`; returns each
    /// judged text's forest log-odds.
    fn measure(&self, label: &str, texts: &[String], (t_min, t_max): (f32, f32)) -> Vec<f32> {
        let model = self.full.model();
        let w = model.trees.as_ref().map_or(0.0, |f| f.blend);
        let (mut judged, mut judged_bytes) = (0usize, 0usize);
        let mut near = [(0usize, 0usize); N_PRESETS];
        let mut outside = 0usize;
        let mut forest = Vec::new();
        for text in texts {
            let lin = self.linear.score(text);
            if !lin.judged {
                continue;
            }
            judged += 1;
            judged_bytes += text.len();
            let p = lin.parts;
            let (a, c) = model.platt[length_band(p.words)];
            let full = self.full.score(text);
            // A band with no say (a = 0) gives every margin the same log-odds.
            let bounds = if a == 0.0 {
                (p.score(), p.score())
            } else {
                let l = (p.log_odds - c) / a;
                let m = (full.parts.log_odds - c) / a;
                forest.push((m - (1.0 - w) * l) / w);
                let at = |t: f32| p.score_with(a * ((1.0 - w) * l + w * t) + c);
                (at(t_min), at(t_max))
            };
            // f32 rounding apart, the full score lies within its bounds when
            // they are the leaf sums'.
            if full.score < bounds.0 - 1e-4 || full.score > bounds.1 + 1e-4 {
                outside += 1;
            }
            for (k, (q, r)) in model.presets.iter().enumerate() {
                let straddles = |t: f32| !t.is_nan() && bounds.0 <= t && t < bounds.1;
                if straddles(*q) || straddles(*r) {
                    near[k].0 += 1;
                    near[k].1 += text.len();
                }
            }
        }
        println!(
            "{label}: {judged} judged texts of {}, {outside} scored outside their bounds",
            texts.len()
        );
        for (k, name) in PRESETS.iter().enumerate() {
            println!(
                "  {name}: {:.1}% of judged texts ({:.1}% of their bytes) have a threshold within their bounds",
                100.0 * near[k].0 as f64 / judged.max(1) as f64,
                100.0 * near[k].1 as f64 / judged_bytes.max(1) as f64
            );
        }
        forest
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_path, files @ ..] = args.as_slice() else {
        anyhow::bail!("usage: detector_cascade MODEL TEXTS.csv...");
    };
    let full = Model::read(&std::fs::read(model_path)?)?;
    let Some(forest) = &full.trees else {
        anyhow::bail!("{model_path} has no boosted trees");
    };
    let (mut t_min, mut t_max) = (forest.base, forest.base);
    for tree in &forest.trees {
        let leaves = || tree.iter().filter(|n| n.feature == LEAF).map(|n| n.value);
        t_min += leaves().fold(f32::INFINITY, f32::min);
        t_max += leaves().fold(f32::NEG_INFINITY, f32::max);
    }
    let mut linear = full.clone();
    if let Some(f) = linear.trees.as_mut() {
        f.blend = 0.0;
    }
    let ctx = Ctx {
        full: Detector::from_model(full),
        linear: Detector::from_model(linear),
    };

    let texts = corpus::csv_texts(files);
    // The bounds that hold for every text, then those the middle 98% of
    // these texts' forest log-odds span: a cascade trusting the latter
    // could change the decision of a text whose trees fall outside them.
    let mut sorted = ctx.measure("whole texts, the leaf sums' bounds", &texts, (t_min, t_max));
    sorted.sort_by(f32::total_cmp);
    let pct = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let (p1, p99) = (pct(0.01), pct(0.99));
    println!(
        "forest log-odds of these texts: 1st percentile {p1:.2}, median {:.2}, 99th {p99:.2}",
        pct(0.5)
    );
    ctx.measure("whole texts, bounds of the middle 98%", &texts, (p1, p99));
    let pieces = corpus::crm_pieces(&texts);
    ctx.measure(
        "100-300-character pieces, the leaf sums' bounds",
        &pieces,
        (t_min, t_max),
    );
    ctx.measure(
        "100-300-character pieces, bounds of the middle 98%",
        &pieces,
        (p1, p99),
    );
    Ok(())
}
