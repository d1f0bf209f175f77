//! Deterministic training: featurise, weight, fit an L2-regularised logistic
//! regression with L-BFGS ([`super::fit`]), calibrate on held-out *sources* and
//! set the presets' thresholds from them ([`super::calibrate`]), quantise.
//!
//! Determinism: no randomness is involved except the seeded hash of group ids used for
//! k-fold splits; parallel sums are reduced over a fixed number of chunks in a fixed
//! order, so the same examples and options give byte-identical model files on any
//! number of threads.

use super::artefacts::strip_preamble;
use super::calibrate::{kfold, per_source_fpr, platt_per_band, preset_thresholds, source_folds};
use super::dense::N_DENSE;
use super::fit::fit;
use super::frequency;
use super::model::{
    FeatureConfig, Model, N_LEN_BANDS, N_PRESETS, Weights, length_band, probability,
};
use super::ngrams::{Block, bucket, for_each_ngram};
use super::normalize::{normalize_into, word_count};
use super::style::{N_STYLE, style_pass};
use super::tokens::{fmix, mix};
use super::{Example, components, dense_raw, noisy_or};
use rayon::prelude::*;

pub use super::corpus::{Balance, Calibration, Doc, Prepared, TrainOptions};

/// Text cleaning applied to training and evaluation text (not to scored text):
/// chat preambles go (the artefact rules cover them) and lines that are just "nan"
/// (a missing-field artefact of one corpus' conversion) are dropped.
pub fn prepare_training_text(text: &str, strip_preambles: bool) -> String {
    let t = if strip_preambles {
        strip_preamble(text)
    } else {
        text
    };
    if t.lines().any(|l| l.trim() == "nan") {
        t.lines()
            .filter(|l| l.trim() != "nan")
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        t.to_string()
    }
}

fn featurize_one(text: &str, cfg: &FeatureConfig, machine: bool, source: u16, group: u64) -> Doc {
    let comps = components();
    let mut norm = String::new();
    normalize_into(text, &mut norm);
    let art = comps.art.scan(text, &norm);
    let mut ch: Vec<(u32, f32)> = Vec::new();
    let mut wd: Vec<(u32, f32)> = Vec::new();
    let bits = cfg.hash.bits;
    let counts = for_each_ngram(&norm, &cfg.hash, |blk, h| {
        let (i, neg) = bucket(h, bits);
        let v = if neg { -1.0 } else { 1.0 };
        if blk == Block::Char {
            ch.push((i as u32, v))
        } else {
            wd.push((i as u32, v))
        }
    });
    let merge = |mut v: Vec<(u32, f32)>| {
        v.sort_unstable_by_key(|e| e.0);
        let mut out: Vec<(u32, f32)> = Vec::with_capacity(v.len());
        for (i, x) in v {
            match out.last_mut() {
                Some(l) if l.0 == i => l.1 += x,
                _ => out.push((i, x)),
            }
        }
        out.retain(|e| e.1 != 0.0);
        out
    };
    let ch = merge(ch);
    let wd = merge(wd);
    let mut dense = [0f32; N_DENSE];
    let all = FeatureConfig {
        use_style: true,
        use_lexicon: true,
        ..*cfg
    };
    let words = word_count(&norm);
    let (english, script) = dense_raw(text, &norm, &all, None, words, true, &mut dense);
    let mut slots = Vec::new();
    if english && cfg.use_freq {
        let mut tokens: Vec<u64> = Vec::new();
        let mut scratch = [0f32; N_STYLE];
        style_pass::<false, _>(&norm, &norm, &comps.style, &mut scratch, &mut tokens);
        slots = tokens.into_iter().map(frequency::slot).collect();
    }
    Doc {
        n_char_entries: ch.len() as u32,
        idx: ch.iter().chain(wd.iter()).map(|e| e.0).collect(),
        val: ch.iter().chain(wd.iter()).map(|e| e.1).collect(),
        n_chars: counts.chars,
        n_words_ngrams: counts.words,
        dense,
        slots,
        script: script as u8,
        english,
        p_dec: art.probability(),
        evidence: art.evidence(),
        words: words as u32,
        machine,
        source,
        group,
    }
}

fn hash_str(s: &str, seed: u64) -> u64 {
    let mut h = seed;
    for b in s.bytes() {
        h = mix(h, b as u64);
    }
    fmix(h)
}

/// Featurise examples (in parallel, order preserved). Style and lexicon features are
/// always computed so a `Prepared` serves any feature configuration with the same
/// hashing.
pub fn prepare(examples: &[Example], cfg: &FeatureConfig, strip_preambles: bool) -> Prepared {
    let mut sources: Vec<String> = examples.iter().map(|e| e.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let docs = examples
        .par_iter()
        .map(|e| {
            let text = prepare_training_text(&e.text, strip_preambles);
            let s = sources.binary_search(&e.source).expect("source listed") as u16;
            let g = hash_str(&format!("{}\u{1}{}", e.source, e.group), 0x9e37);
            featurize_one(&text, cfg, e.machine, s, g)
        })
        .collect();
    Prepared {
        docs,
        sources,
        hash: cfg.hash,
    }
}

/// Train on all examples (see [`train_prepared`]).
pub fn train(examples: &[Example], opts: &TrainOptions) -> Model {
    let prep = prepare(examples, &opts.features, opts.strip_preambles);
    let rows: Vec<usize> = (0..prep.docs.len()).collect();
    train_prepared(&prep, &rows, opts).0
}

/// What training learned about held-out data, for reports.
#[derive(Clone, Debug, Default)]
pub struct TrainReport {
    /// Held-out calibrated scores (artefacts included) for the training rows, in row order.
    pub oof_scores: Vec<f32>,
    /// The calibration fold that held each training row out, in row order.
    pub oof_fold: Vec<u16>,
    /// Per source with human rows: its held-out human false-positive rate at each
    /// preset's quarantine threshold.
    pub per_source_fpr: Vec<(String, [f64; N_PRESETS])>,
}

/// Fit on `rows` of `prep`: calibration and the presets' thresholds from fits that
/// hold whole sources out, then a final fit on all rows.
pub fn train_prepared(
    prep: &Prepared,
    rows: &[usize],
    opts: &TrainOptions,
) -> (Model, TrainReport) {
    assert_eq!(
        prep.hash, opts.features.hash,
        "prepared with a different hashing"
    );
    let mut report = TrainReport::default();
    let mut row_sources: Vec<u16> = rows.iter().map(|&r| prep.docs[r].source).collect();
    row_sources.sort();
    row_sources.dedup();

    let (platt, presets) = if opts.calibration == Calibration::None {
        (
            [(1.0f32, 0.0f32); N_LEN_BANDS],
            [(0.5f32, f32::NAN); N_PRESETS],
        )
    } else {
        let folds = calibration_folds(prep, rows, row_sources.len(), opts);
        calibrate(prep, rows, &folds, opts, &mut report)
    };

    let f = fit(prep, rows, opts);
    let hashed = if opts.quantize {
        Weights::quantize(&f.w_hashed)
    } else {
        Weights::F32(f.w_hashed.clone())
    };
    let meta = format!(
        "crmguard detector; trained on {} rows from sources [{}]; l2={} l2_dense={} balance={:?} calibration={:?}{}",
        rows.len(),
        row_sources
            .iter()
            .map(|s| prep.sources[*s as usize].as_str())
            .collect::<Vec<_>>()
            .join(", "),
        opts.l2,
        opts.l2_dense,
        opts.balance,
        opts.calibration,
        match &opts.trees {
            Some(t) => format!(
                " trees={}x{} leaves depth<={} lr={} blend={}",
                t.n_trees, t.max_leaves, t.max_depth, t.learning_rate, t.blend
            ),
            None => String::new(),
        },
    );
    let model = Model {
        cfg: opts.features,
        bias: f.bias,
        hashed,
        dense_w: f.w_dense.to_vec(),
        dense_mean: f.mean.clone(),
        dense_std: f.std.clone(),
        platt,
        presets,
        freq: f.freq,
        trees: f.trees,
        meta,
    };
    (model, report)
}

/// The calibration's held-out folds: whole sources (families together) where
/// there are at least two, else groups of rows.
fn calibration_folds(
    prep: &Prepared,
    rows: &[usize],
    n_sources: usize,
    opts: &TrainOptions,
) -> Vec<Vec<usize>> {
    match opts.calibration {
        Calibration::SourceFolds(k) if n_sources >= 2 => {
            source_folds(prep, rows, k.max(2), &opts.families)
        }
        // More folds than sources: the packing gives each source its own.
        Calibration::EachSource if n_sources >= 2 => {
            source_folds(prep, rows, usize::MAX, &opts.families)
        }
        Calibration::GroupKFold(k) => kfold(prep, rows, k.max(2), opts.seed),
        _ => kfold(prep, rows, 4, opts.seed),
    }
}

/// Each row's margin under the fit that held its fold out, and that fold.
fn out_of_fold_margins(
    prep: &Prepared,
    rows: &[usize],
    folds: &[Vec<usize>],
    opts: &TrainOptions,
) -> (Vec<f32>, Vec<u16>) {
    let mut oof_margin = vec![0f32; prep.docs.len()];
    let mut fold_of = vec![0u16; prep.docs.len()];
    for (fi, test) in folds.iter().enumerate() {
        let test_set: std::collections::HashSet<usize> = test.iter().copied().collect();
        let train_rows: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|r| !test_set.contains(r))
            .collect();
        if opts.verbose {
            crate::errln!(
                "  calibration fold {}/{}: train {} held-out {}",
                fi + 1,
                folds.len(),
                train_rows.len(),
                test.len()
            );
        }
        let mut fit = fit(prep, &train_rows, opts);
        if opts.quantize && opts.calibrate_quantized {
            // The shipped model's hashed weights are a 255-level codebook that
            // clips the largest ones; float weights spread held-out margins
            // about a tenth wider (docs/detector.md, "What the numbers say").
            let q = Weights::quantize(&fit.w_hashed);
            fit.w_hashed = (0..q.len()).map(|i| q.get(i)).collect();
        }
        for &r in test {
            oof_margin[r] = fit.margin(&prep.docs[r], &opts.features);
            fold_of[r] = fi as u16;
        }
    }
    (oof_margin, fold_of)
}

/// Platt's (a, b) per length band, and each preset's (quarantine, review)
/// thresholds: what calibration puts in the model.
type Calibrated = ([(f32, f32); N_LEN_BANDS], [(f32, f32); N_PRESETS]);

/// Platt scaling per length band and the presets' thresholds, from the
/// out-of-fold scores; the per-source rates and the scores go to `report`.
fn calibrate(
    prep: &Prepared,
    rows: &[usize],
    folds: &[Vec<usize>],
    opts: &TrainOptions,
    report: &mut TrainReport,
) -> Calibrated {
    let (oof_margin, fold_of) = out_of_fold_margins(prep, rows, folds, opts);
    let platt = platt_per_band(prep, rows, &oof_margin, opts.balance);
    let scores: Vec<f32> = rows
        .iter()
        .map(|&r| {
            let d = &prep.docs[r];
            let (a, b) = platt[length_band(d.words as usize)];
            let z = a * oof_margin[r] + b + d.evidence;
            noisy_or(probability(z), d.p_dec)
        })
        .collect();
    // Thresholds from the human texts `scan` would judge, each source equal.
    let humans: Vec<(u16, f32)> = rows
        .iter()
        .zip(&scores)
        .filter(|(r, _)| {
            let d = &prep.docs[**r];
            !d.machine && d.words as usize >= super::MIN_WORDS
        })
        .map(|(r, s)| (prep.docs[*r].source, *s))
        .collect();
    let presets = preset_thresholds(&humans);
    report.per_source_fpr = per_source_fpr(&humans, &presets)
        .into_iter()
        .map(|(s, f)| (prep.sources[s as usize].clone(), f))
        .collect();
    report.oof_scores = scores;
    report.oof_fold = rows.iter().map(|&r| fold_of[r]).collect();
    (platt, presets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::calibrate::{balance_weights, platt};
    use crate::detector::trees::{LEAF, N_TREE_BASE};
    use std::collections::{BTreeMap, BTreeSet};

    fn ex(text: &str, machine: bool, group: &str, source: &str) -> Example {
        Example {
            text: text.into(),
            machine,
            group: group.into(),
            source: source.into(),
        }
    }

    fn toy() -> Vec<Example> {
        let mut v = Vec::new();
        for i in 0..40 {
            v.push(ex(
                &format!("the room was ok i guess, bed {i} kinda small lol but staff nice enough"),
                false,
                &format!("h{i}"),
                "a",
            ));
            v.push(ex(
                &format!(
                    "The hotel offers a seamless blend of comfort and elegance, with room {i} meticulously appointed."
                ),
                true,
                &format!("h{i}"),
                "a",
            ));
            v.push(ex(
                &format!("ordered it twice, first one broke after {i} days. meh"),
                false,
                &format!("p{i}"),
                "b",
            ));
            v.push(ex(
                &format!("This product delivers exceptional quality and remarkable durability for {i} days of use."),
                true,
                &format!("p{i}"),
                "b",
            ));
        }
        v
    }

    fn small_opts() -> TrainOptions {
        let mut o = TrainOptions::default();
        o.features.hash.bits = 12;
        o.max_iter = 60;
        o
    }

    #[test]
    fn training_is_deterministic_and_separates_toy_data() {
        let data = toy();
        let o = small_opts();
        let m1 = train(&data, &o);
        let m2 = train(&data, &o);
        assert_eq!(m1.to_bytes(), m2.to_bytes());
        let det = super::super::Detector::from_model(m1);
        let h = det
            .score("the bed was kinda small lol but the staff were nice enough i guess")
            .score;
        let m = det.score("The hotel offers a seamless blend of comfort and elegance, meticulously appointed.").score;
        assert!(m > h, "{m} vs {h}");
    }

    #[test]
    fn a_model_with_trees_scores_texts_as_its_training_fit_does() {
        trees_score_as_trained(false);
    }

    #[test]
    fn trees_over_word_frequencies_score_texts_as_trained() {
        trees_score_as_trained(true);
    }

    /// Calibration off and float weights: the scorer's log-odds are then the
    /// fit's margin, so any difference between the trees' inputs at training
    /// and at scoring (a length, a style feature left NaN, the artefact
    /// evidence, a word-frequency feature) would show here.
    fn trees_score_as_trained(frequency: bool) {
        let mut data = toy();
        for (i, t) in [
            "Thanks so much!!! :) we'll def come back... the pool was GREAT",
            "I hope this message finds you well. Dear [First Name], as discussed; see below.",
            "Привет, это отзыв о гостинице: номер чистый, персонал вежливый, всё хорошо.",
            "ok",
        ]
        .iter()
        .enumerate()
        {
            data.push(ex(t, i % 2 == 0, &format!("x{i}"), "a"));
        }
        let mut o = small_opts();
        o.calibration = Calibration::None;
        o.quantize = false;
        o.features.use_freq = frequency;
        o.trees = Some(crate::detector::trees::TreeOptions {
            n_trees: 20,
            min_child: 5,
            ..Default::default()
        });
        let prep = prepare(&data, &o.features, false);
        let rows: Vec<usize> = (0..data.len()).collect();
        let fit = super::fit(&prep, &rows, &o);
        let forest = fit.trees.as_ref().expect("trees were asked for");
        assert!(forest.trees.iter().any(|t| t.len() > 1), "no tree split");
        let on_frequency = (forest.trees.iter().flatten())
            .any(|n| n.feature != LEAF && n.feature as usize >= N_TREE_BASE);
        assert_eq!(on_frequency, frequency, "a split on a word frequency");
        let (model, _) = train_prepared(&prep, &rows, &o);
        let det = super::super::Detector::from_model(model);
        let mut tree_part = 0f32;
        for (e, d) in data.iter().zip(&prep.docs) {
            let dense = super::super::fit::doc_dense(d, fit.freq.as_ref());
            let x = super::super::fit::doc_tree_features(d, &dense);
            tree_part = tree_part.max((forest.log_odds(&x) - forest.base).abs());
            let got = det.assess(&e.text, false);
            if got.judged {
                let want = fit.margin(d, &o.features);
                let diff = (got.parts.log_odds - want).abs();
                assert!(
                    diff < 1e-3,
                    "{}: scored {} trained {want}",
                    e.text,
                    got.parts.log_odds
                );
            }
        }
        assert!(tree_part > 0.1, "the trees said nothing: {tree_part}");
    }

    #[test]
    fn balance_weights_equalise_sources_and_classes() {
        let data = toy();
        let mut o = small_opts();
        o.features.hash.bits = 10;
        let prep = prepare(&data, &o.features, true);
        let rows: Vec<usize> = (0..data.len()).collect();
        for b in [Balance::SourceClass, Balance::SourceClassLength] {
            let w = balance_weights(&prep, &rows, b);
            let mut tot = [[0f64; 2]; 2];
            for (i, &r) in rows.iter().enumerate() {
                tot[prep.docs[r].source as usize][prep.docs[r].machine as usize] += w[i];
            }
            for s in tot {
                for c in s {
                    assert!((c - 0.25).abs() < 1e-9, "{b:?} {tot:?}");
                }
            }
        }
    }

    #[test]
    fn calibration_folds_keep_a_family_together() {
        let mut data = toy();
        for (i, e) in data.iter_mut().enumerate() {
            e.source = ["fam_x", "fam_y", "solo_a", "solo_b"][i % 4].into();
        }
        let o = small_opts();
        let prep = prepare(&data, &o.features, true);
        let rows: Vec<usize> = (0..data.len()).collect();
        let name = |r: usize| prep.sources[prep.docs[r].source as usize].as_str();
        let fam = vec![vec!["fam_".to_string()]];
        let folds = source_folds(&prep, &rows, 4, &fam);
        assert_eq!(folds.len(), 3, "fam_x and fam_y as one, solo_a, solo_b");
        for f in &folds {
            let n = f.iter().filter(|&&r| name(r).starts_with("fam_")).count();
            assert!(n == 0 || n == 80, "a fold split the family: {n} of 80 rows");
        }
        // Without families, the two sources may fall in different folds.
        assert_eq!(source_folds(&prep, &rows, 4, &[]).len(), 4);
    }

    #[test]
    fn each_source_calibration_holds_every_source_out_alone() {
        // Ten sources (two of them one family): eight folds would have to
        // hold some sources out beside others; one per source never does.
        let mut data = toy();
        let names = [
            "fam_x", "fam_y", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9",
        ];
        for (i, e) in data.iter_mut().enumerate() {
            e.source = names[(i / 2) % names.len()].into();
        }
        let mut o = small_opts();
        o.families = vec![vec!["fam_".to_string()]];
        let prep = prepare(&data, &o.features, true);
        let rows: Vec<usize> = (0..data.len()).collect();
        let folds_of = |o: &TrainOptions| {
            let (_, report) = train_prepared(&prep, &rows, o);
            let mut by: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
            for (&r, &f) in rows.iter().zip(&report.oof_fold) {
                let name = &prep.sources[prep.docs[r].source as usize];
                by.entry(f).or_default().insert(name.clone());
            }
            by.into_values().collect::<Vec<_>>()
        };
        o.calibration = Calibration::EachSource;
        let each = folds_of(&o);
        assert_eq!(each.len(), 9, "{each:?}");
        for f in &each {
            let fam = f.iter().all(|s| s.starts_with("fam_"));
            assert!(f.len() == 1 || fam && f.len() == 2, "{f:?}");
        }
        o.calibration = Calibration::SourceFolds(8);
        assert_eq!(folds_of(&o).len(), 8);
        // The same data gives the same model.
        o.calibration = Calibration::EachSource;
        let a = train_prepared(&prep, &rows, &o).0.to_bytes();
        assert_eq!(a, train_prepared(&prep, &rows, &o).0.to_bytes());
    }

    #[test]
    fn quantized_calibration_scores_what_the_quantized_model_would() {
        // Texts of many different words, so that the fits have far more
        // distinct weights than the codebook's 255 levels (the toy's few
        // templates would quantize exactly).
        let vocab: Vec<String> = (0..400u64)
            .map(|i| format!("w{:x}", fmix(i) % 100_000))
            .collect();
        let text = |seed: u64, shift: usize| -> String {
            (0..14u64)
                .map(|k| vocab[(fmix(seed * 31 + k) as usize % 300) + shift].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut data = Vec::new();
        for i in 0..120u64 {
            let src = ["a", "b", "c"][i as usize % 3];
            data.push(ex(&text(i, 0), false, &format!("h{i}"), src));
            data.push(ex(&text(i + 1000, 100), true, &format!("m{i}"), src));
        }
        let mut o = small_opts();
        let prep = prepare(&data, &o.features, true);
        let rows: Vec<usize> = (0..data.len()).collect();
        let float = train_prepared(&prep, &rows, &o).1.oof_scores;
        o.calibrate_quantized = true;
        let quant = train_prepared(&prep, &rows, &o).1.oof_scores;
        assert_eq!(float.len(), quant.len());
        assert_ne!(float, quant, "the held-out scores did not change");
        assert_eq!(quant, train_prepared(&prep, &rows, &o).1.oof_scores);
        // Without quantization there is nothing to mirror.
        o.quantize = false;
        assert_eq!(float, train_prepared(&prep, &rows, &o).1.oof_scores);
    }

    #[test]
    fn platt_is_stable_on_large_margins() {
        let m: Vec<f64> = (0..400).map(|i| (i as f64 - 200.0) * 0.5).collect();
        let y: Vec<bool> = (0..400).map(|i| (i * 7919) % 400 > 120 + i / 2).collect();
        let w = vec![1.0 / 400.0; 400];
        let (a, b) = platt(&m, &y, &w);
        assert!(a.is_finite() && b.is_finite() && a.abs() < 10.0, "{a} {b}");
    }

    #[test]
    fn platt_recovers_scale() {
        // Labels drawn deterministically from sigmoid(2m - 1).
        let m: Vec<f64> = (0..2000).map(|i| (i as f64 / 1000.0) - 1.0).collect();
        let mut y = Vec::new();
        let mut acc = 0.0;
        for &x in &m {
            acc += 1.0 / (1.0 + (-(2.0 * x - 1.0)).exp());
            y.push(if acc >= 1.0 {
                acc -= 1.0;
                true
            } else {
                false
            });
        }
        let w = vec![1.0 / 2000.0; 2000];
        let (a, b) = platt(&m, &y, &w);
        assert!((a - 2.0).abs() < 0.3 && (b + 1.0).abs() < 0.3, "{a} {b}");
    }

    #[test]
    fn training_text_cleanup() {
        assert_eq!(prepare_training_text("Good room.\nnan", true), "Good room.");
        assert_eq!(
            prepare_training_text("Sure, here is the review:\nGood room.", true),
            "Good room."
        );
        assert_eq!(
            prepare_training_text("Sure, here is the review:\nGood room.", false),
            "Sure, here is the review:\nGood room."
        );
    }
}
