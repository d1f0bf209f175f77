//! Deterministic training: featurise, weight, fit an L2-regularised logistic
//! regression with L-BFGS, calibrate on held-out *sources*, pick the shipped
//! threshold, quantise.
//!
//! Determinism: no randomness is involved except the seeded hash of group ids used for
//! k-fold splits; parallel sums are reduced over a fixed number of chunks in a fixed
//! order, so the same examples and options give byte-identical model files on any
//! number of threads.

use super::artefacts::strip_preamble;
use super::metrics::threshold_at_fpr;
use super::model::{FeatureConfig, Model, N_DENSE, N_SCRIPTS, Weights};
use super::ngrams::{Block, HashConfig, bucket, for_each_ngram};
use super::normalize::{normalize_into, word_count};
use super::style::N_STYLE;
use super::tokens::{fmix, mix};
use super::{Example, components, dense_raw, neutral_mask, noisy_or, standardize};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// How training examples are weighted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Balance {
    /// Every row counts once (the baseline).
    None,
    /// Every source gets equal total weight, split equally between human and machine
    /// rows. Without this, MixSet (93% machine) teaches "emails and blogs are machine".
    SourceClass,
    /// As `SourceClass`, and within each source the length distributions of the two
    /// classes are matched (importance weights per length bin), so length itself —
    /// e.g. GPT-4 Michigan reviews being 1.8x longer — carries no label information.
    SourceClassLength,
}

/// How held-out scores for calibration and the threshold are produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Calibration {
    /// No calibration: platt = (1, 0), threshold 0.5.
    None,
    /// Each source scored by a model trained on the other sources (falls back to
    /// group k-fold when there is a single source). Calibrates for text from a source
    /// the model has not seen, which is what a new CRM's data is.
    LeaveOneSourceOut,
    /// Groups hashed into k folds.
    GroupKFold(usize),
}

#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub features: FeatureConfig,
    /// L2 penalty on hashed weights (objective = weighted mean log-loss + l2/2 |w|²).
    pub l2: f64,
    /// L2 penalty on dense (style, lexicon) weights.
    pub l2_dense: f64,
    pub max_iter: usize,
    pub tol: f64,
    pub balance: Balance,
    pub calibration: Calibration,
    /// Target false-positive rate for the shipped threshold.
    pub target_fpr: f64,
    /// Threshold = max over held-out sources of each source's threshold (every
    /// source stays within target_fpr) instead of one pooled over all human rows.
    pub threshold_per_source: bool,
    /// Dense features forced to zero (ablation).
    pub drop_dense: Vec<usize>,
    /// Drop dense features whose effect (machine − human, in SD units) points in
    /// opposite directions in different training sources by more than this much
    /// either way: such a feature describes how one corpus was made (MixSet's human
    /// texts are lowercased, its "humanize" attack adds emoji), not machine text.
    /// 0 disables the filter.
    pub consistency: f32,
    /// With the filter on: drop only when the minority direction carries more than
    /// this fraction of the majority's total effect (0 = any disagreement drops).
    pub consistency_ratio: f32,
    /// The same idea for hashed n-grams: a bucket whose per-source log-odds
    /// (machine vs human document frequency) exceed this in opposite directions in two
    /// training sources is zeroed. 0 disables.
    pub ngram_consistency: f32,
    /// Scale (0–1) for buckets seen in only one training source: topic and language
    /// n-grams of a single corpus (Korean hotel words, Amazon product names) can only
    /// teach that corpus' quirks. 1 disables.
    pub single_source_scale: f32,
    /// Extra weight multipliers for sources whose name contains the given string.
    pub source_weights: Vec<(String, f64)>,
    /// Store hashed weights as a u8 codebook instead of f32.
    pub quantize: bool,
    /// Strip chat preambles from training text (they are handled by the artefact rules).
    pub strip_preambles: bool,
    pub seed: u64,
    pub verbose: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            features: FeatureConfig::default(),
            l2: 1e-4,
            l2_dense: 1e-3,
            max_iter: 100,
            tol: 1e-7,
            balance: Balance::SourceClassLength,
            calibration: Calibration::LeaveOneSourceOut,
            target_fpr: 0.01,
            threshold_per_source: true,
            drop_dense: Vec::new(),
            consistency: 0.2,
            consistency_ratio: 0.0,
            ngram_consistency: 0.0,
            single_source_scale: 0.3,
            // GPT-2 fine-tuned to imitate Amazon reviewers is a different kind of
            // "machine" from chat-model text; at full weight it taught the other
            // sources the opposite of what transfers (LOSO, RESULTS.md).
            source_weights: vec![("salminen".to_string(), 0.3)],
            quantize: true,
            strip_preambles: true,
            seed: 0x5eed,
            verbose: false,
        }
    }
}

impl TrainOptions {
    /// The reference baseline: plain logistic regression on hashed char 3–5-grams and
    /// word 1–2-grams, every row weighted once, no style or lexicon features.
    pub fn baseline() -> Self {
        TrainOptions {
            features: FeatureConfig {
                hash: HashConfig {
                    bits: 20,
                    ..Default::default()
                },
                use_hashed: true,
                use_style: false,
                use_lexicon: false,
                per_script: false,
                norm_pow: 0.5,
                char_scale: 1.0,
                word_scale: 1.0,
            },
            balance: Balance::None,
            calibration: Calibration::None,
            consistency: 0.0,
            single_source_scale: 1.0,
            source_weights: Vec::new(),
            ..TrainOptions::default()
        }
    }
}

/// One featurised training text. Hashed entries hold signed counts per bucket; the
/// block normalisation (scale / count^norm_pow) is applied at fit time so that it
/// can be changed without featurising again.
pub struct Doc {
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
    /// Entries before this index are char n-grams, the rest word n-grams.
    pub n_char_entries: u32,
    pub n_chars: u32,
    pub n_words_ngrams: u32,
    pub dense: [f32; N_DENSE],
    pub script: u8,
    pub english: bool,
    pub p_art: f32,
    pub words: u32,
    pub machine: bool,
    pub source: u16,
    pub group: u64,
}

/// Featurised examples plus source names; reusable across many fits.
pub struct Prepared {
    pub docs: Vec<Doc>,
    pub sources: Vec<String>,
    pub hash: HashConfig,
}

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
    let art = comps.art.scan(text, &norm).probability();
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
    let (english, script) = dense_raw(text, &norm, &all, words, true, &mut dense);
    Doc {
        n_char_entries: ch.len() as u32,
        idx: ch.iter().chain(wd.iter()).map(|e| e.0).collect(),
        val: ch.iter().chain(wd.iter()).map(|e| e.1).collect(),
        n_chars: counts.chars,
        n_words_ngrams: counts.words,
        dense,
        script: script as u8,
        english,
        p_art: art,
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
    /// Per-source threshold that keeps that source's held-out human FPR ≤ target.
    pub per_source_threshold: Vec<(String, f32)>,
}

/// Fit on `rows` of `prep`: calibration/threshold from held-out fits, then a final fit
/// on all rows.
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

    let (platt_a, platt_b, threshold) = if opts.calibration == Calibration::None {
        (1.0f32, 0.0f32, 0.5f32)
    } else {
        // Held-out folds: whole sources when possible.
        let folds: Vec<Vec<usize>> = match opts.calibration {
            Calibration::LeaveOneSourceOut if row_sources.len() >= 2 => row_sources
                .iter()
                .map(|s| {
                    rows.iter()
                        .copied()
                        .filter(|&r| prep.docs[r].source == *s)
                        .collect()
                })
                .collect(),
            Calibration::GroupKFold(k) => kfold(prep, rows, k.max(2), opts.seed),
            _ => kfold(prep, rows, 4, opts.seed),
        };
        let mut oof_margin = vec![0f32; prep.docs.len()];
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
            let fit = fit(prep, &train_rows, opts);
            for &r in test {
                oof_margin[r] = fit.margin(&prep.docs[r], &opts.features);
            }
        }
        // Platt on held-out margins, every (source, class) with equal mass: the score
        // is P(machine) at even prior odds, not at the corpora's arbitrary class mix.
        let w = balance_weights(prep, rows, Balance::SourceClass);
        let m: Vec<f64> = rows.iter().map(|&r| oof_margin[r] as f64).collect();
        let y: Vec<bool> = rows.iter().map(|&r| prep.docs[r].machine).collect();
        let (a, b) = platt(&m, &y, &w);
        let scores: Vec<f32> = rows
            .iter()
            .map(|&r| {
                noisy_or(
                    super::model::calibrate(a as f32, b as f32, oof_margin[r]),
                    prep.docs[r].p_art,
                )
            })
            .collect();
        let mut per_source = Vec::new();
        for s in &row_sources {
            let (sc, lb): (Vec<f32>, Vec<bool>) = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    prep.docs[**r].source == *s && prep.docs[**r].words as usize >= super::MIN_WORDS
                })
                .map(|(i, r)| (scores[i], prep.docs[*r].machine))
                .unzip();
            if lb.iter().any(|l| !l) {
                per_source.push((
                    prep.sources[*s as usize].clone(),
                    threshold_at_fpr(&sc, &lb, opts.target_fpr),
                ));
            }
        }
        let t = if opts.threshold_per_source {
            per_source
                .iter()
                .map(|p| p.1)
                .fold(f32::NEG_INFINITY, f32::max)
        } else {
            let (sc, lb): (Vec<f32>, Vec<bool>) = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| prep.docs[**r].words as usize >= super::MIN_WORDS)
                .map(|(i, r)| (scores[i], prep.docs[*r].machine))
                .unzip();
            threshold_at_fpr(&sc, &lb, opts.target_fpr)
        };
        report.oof_scores = scores;
        report.per_source_threshold = per_source;
        (a as f32, b as f32, t.clamp(0.0, 0.9999))
    };

    let f = fit(prep, rows, opts);
    let hashed = if opts.quantize {
        Weights::quantize(&f.w_hashed)
    } else {
        Weights::F32(f.w_hashed.clone())
    };
    let mut meta = String::new();
    meta.push_str(&format!(
        "crmguard detector; trained on {} rows from sources [{}]; l2={} l2_dense={} balance={:?} calibration={:?} target_fpr={}",
        rows.len(),
        row_sources.iter().map(|s| prep.sources[*s as usize].as_str()).collect::<Vec<_>>().join(", "),
        opts.l2,
        opts.l2_dense,
        opts.balance,
        opts.calibration,
        opts.target_fpr
    ));
    let model = Model {
        cfg: opts.features,
        bias: f.bias,
        hashed,
        dense_w: f.w_dense.to_vec(),
        dense_mean: f.mean.clone(),
        dense_std: f.std.clone(),
        platt_a,
        platt_b,
        threshold,
        meta,
    };
    (model, report)
}

fn kfold(prep: &Prepared, rows: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut folds = vec![Vec::new(); k];
    for &r in rows {
        folds[(fmix(prep.docs[r].group ^ seed) % k as u64) as usize].push(r);
    }
    folds.retain(|f| !f.is_empty());
    folds
}

fn length_bin(words: u32) -> usize {
    (32 - words.max(1).leading_zeros()).min(12) as usize
}

/// Per-row weights (same order as `rows`), summing to 1.
pub fn balance_weights(prep: &Prepared, rows: &[usize], balance: Balance) -> Vec<f64> {
    let n_src = prep.sources.len();
    let mut w = vec![1f64; rows.len()];
    match balance {
        Balance::None => {}
        Balance::SourceClass => {
            let mut cnt = vec![[0usize; 2]; n_src];
            for &r in rows {
                cnt[prep.docs[r].source as usize][prep.docs[r].machine as usize] += 1;
            }
            for (i, &r) in rows.iter().enumerate() {
                let d = &prep.docs[r];
                w[i] = 1.0 / cnt[d.source as usize][d.machine as usize] as f64;
            }
        }
        Balance::SourceClassLength => {
            // Per (source, length bin): each class gets the bin's share of the source,
            // split equally; a bin where one class is rare is smoothed towards the
            // other class's count so a handful of rows are not blown up.
            let mut cnt: BTreeMap<(u16, usize), [f64; 2]> = BTreeMap::new();
            let mut src_tot = vec![0f64; n_src];
            for &r in rows {
                let d = &prep.docs[r];
                cnt.entry((d.source, length_bin(d.words))).or_default()[d.machine as usize] += 1.0;
                src_tot[d.source as usize] += 1.0;
            }
            for (i, &r) in rows.iter().enumerate() {
                let d = &prep.docs[r];
                let c = cnt[&(d.source, length_bin(d.words))];
                let own = c[d.machine as usize];
                let other = c[!d.machine as usize];
                // Matched mass of the bin = min(own, other) + a little slack so bins
                // without the other class still contribute (10%).
                let mass = own.min(other) + 0.1 * own.max(other);
                w[i] = mass / own / src_tot[d.source as usize].max(1.0);
            }
            // Re-balance classes within each source after the bin weighting.
            let mut tot = vec![[0f64; 2]; n_src];
            for (i, &r) in rows.iter().enumerate() {
                tot[prep.docs[r].source as usize][prep.docs[r].machine as usize] += w[i];
            }
            for (i, &r) in rows.iter().enumerate() {
                let d = &prep.docs[r];
                w[i] /= tot[d.source as usize][d.machine as usize].max(1e-12);
            }
        }
    }
    let s: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= s.max(1e-300));
    w
}

/// Weighted Platt scaling: P = sigmoid(a·m + b), by Newton's method with step
/// halving on the loss (plain Newton diverges when held-out margins are large and the
/// sigmoid saturates).
pub fn platt(m: &[f64], y: &[bool], w: &[f64]) -> (f64, f64) {
    let loss = |a: f64, b: f64| -> f64 {
        m.iter()
            .zip(y)
            .zip(w)
            .map(|((&x, &t), &wi)| {
                let z = a * x + b;
                let l = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                wi * (l - if t { z } else { 0.0 })
            })
            .sum()
    };
    let (mut a, mut b) = (1.0f64, 0.0f64);
    let mut f = loss(a, b);
    for _ in 0..200 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..m.len() {
            let p = 1.0 / (1.0 + (-(a * m[i] + b)).exp());
            let r = w[i] * (p - y[i] as u8 as f64);
            let h = w[i] * (p * (1.0 - p)).max(1e-12);
            ga += r * m[i];
            gb += r;
            haa += h * m[i] * m[i];
            hab += h * m[i];
            hbb += h;
        }
        // Small ridge keeps the 2x2 system invertible on separable data.
        haa += 1e-9;
        hbb += 1e-9;
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-300 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-6 {
            let (na, nb) = (a - step * da, b - step * db);
            let nf = loss(na, nb);
            if nf <= f {
                a = na;
                b = nb;
                improved = f - nf > 1e-15;
                f = nf;
                break;
            }
            step *= 0.5;
        }
        if !improved || (step * da).abs() < 1e-10 && (step * db).abs() < 1e-10 {
            break;
        }
    }
    (a, b)
}

/// A fitted linear model before quantisation.
pub struct Fit {
    pub w_hashed: Vec<f32>,
    pub w_dense: [f32; N_DENSE],
    pub bias: f32,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Fit {
    pub fn margin(&self, d: &Doc, cfg: &FeatureConfig) -> f32 {
        let (fc, fw) = block_factors(d, cfg);
        let nc = d.n_char_entries as usize;
        let mut m = self.bias as f64;
        if cfg.use_hashed {
            for k in 0..d.idx.len() {
                let f = if k < nc { fc } else { fw };
                m += (self.w_hashed[d.idx[k] as usize] * d.val[k] * f) as f64;
            }
        }
        let g = if cfg.per_script { d.script as usize } else { 0 };
        for j in 0..N_DENSE {
            if neutral_mask(j, d.english) {
                continue;
            }
            m += (self.w_dense[j]
                * standardize(
                    d.dense[j],
                    self.mean[g * N_DENSE + j],
                    self.std[g * N_DENSE + j],
                )) as f64;
        }
        m as f32
    }
}

fn block_factors(d: &Doc, cfg: &FeatureConfig) -> (f32, f32) {
    (
        cfg.char_scale / (d.n_chars.max(1) as f32).powf(cfg.norm_pow),
        cfg.word_scale / (d.n_words_ngrams.max(1) as f32).powf(cfg.norm_pow),
    )
}

fn dense_enabled(j: usize, opts: &TrainOptions) -> bool {
    let cfg = &opts.features;
    let on = if j < N_STYLE {
        cfg.use_style
    } else {
        cfg.use_lexicon
    };
    on && !opts.drop_dense.contains(&j)
}

/// Standardisation statistics (per script group when configured). A group with few
/// rows falls back to the pooled statistics rather than trusting a noisy estimate.
fn dense_stats(prep: &Prepared, rows: &[usize], opts: &TrainOptions) -> (Vec<f32>, Vec<f32>) {
    let groups = if opts.features.per_script {
        N_SCRIPTS
    } else {
        1
    };
    let mut sum = vec![[0f64; N_DENSE]; groups + 1];
    let mut sq = vec![[0f64; N_DENSE]; groups + 1];
    let mut n = vec![[0f64; N_DENSE]; groups + 1];
    let mut srcs: Vec<std::collections::BTreeSet<u16>> = vec![Default::default(); groups + 1];
    for &r in rows {
        let d = &prep.docs[r];
        let g = if opts.features.per_script {
            d.script as usize
        } else {
            0
        };
        for gg in [g, groups] {
            srcs[gg].insert(d.source);
            for j in 0..N_DENSE {
                if neutral_mask(j, d.english) || d.dense[j].is_nan() {
                    continue;
                }
                n[gg][j] += 1.0;
                sum[gg][j] += d.dense[j] as f64;
                sq[gg][j] += (d.dense[j] as f64).powi(2);
            }
        }
    }
    let mut mean = vec![0f32; groups * N_DENSE];
    let mut std = vec![1f32; groups * N_DENSE];
    for g in 0..groups {
        // A script seen in one corpus only (Cyrillic only from Wikipedia-style news)
        // would make every informal text in that script look extreme: use the pooled
        // statistics unless the script has rows from two sources.
        let own = srcs[g].len() >= 2 && n[g].iter().cloned().fold(0.0, f64::max) >= 100.0;
        let src = if own { g } else { groups };
        for j in 0..N_DENSE {
            if !dense_enabled(j, opts) || n[src][j] == 0.0 {
                mean[g * N_DENSE + j] = 0.0;
                std[g * N_DENSE + j] = 1.0;
                continue;
            }
            let mu = sum[src][j] / n[src][j];
            let var = (sq[src][j] / n[src][j] - mu * mu).max(0.0);
            mean[g * N_DENSE + j] = mu as f32;
            std[g * N_DENSE + j] = (var.sqrt() as f32).max(1e-3);
        }
    }
    (mean, std)
}

/// Fixed number of gradient partial sums: the reduction order, and so the model bytes,
/// must not depend on how many threads rayon happens to have.
const N_CHUNKS: usize = 4;

/// Per-bucket feature scale from cross-source agreement (all 1.0 when disabled).
fn ngram_scale(prep: &Prepared, rows: &[usize], opts: &TrainOptions, dim_h: usize) -> Vec<f32> {
    let mut scale = vec![1f32; dim_h];
    if dim_h == 0 || (opts.ngram_consistency <= 0.0 && opts.single_source_scale >= 1.0) {
        return scale;
    }
    let mut srcs: Vec<u16> = rows.iter().map(|&r| prep.docs[r].source).collect();
    srcs.sort();
    srcs.dedup();
    if srcs.len() < 2 {
        return scale;
    }
    // Document frequencies per (source, class, bucket).
    let ns = srcs.len();
    let mut df = vec![0u32; ns * 2 * dim_h];
    let mut n = vec![0f64; ns * 2];
    for &r in rows {
        let d = &prep.docs[r];
        let si = srcs.binary_search(&d.source).expect("listed");
        let base = (si * 2 + d.machine as usize) * dim_h;
        n[si * 2 + d.machine as usize] += 1.0;
        for &j in &d.idx {
            df[base + j as usize] += 1;
        }
    }
    const MIN_DF: u32 = 5;
    for j in 0..dim_h {
        let (mut present, mut hi, mut lo) = (0, f64::MIN, f64::MAX);
        for si in 0..ns {
            let (h, m) = (df[(si * 2) * dim_h + j], df[(si * 2 + 1) * dim_h + j]);
            if h + m < MIN_DF || n[si * 2] == 0.0 || n[si * 2 + 1] == 0.0 {
                continue;
            }
            present += 1;
            let lor = ((m as f64 + 0.5) / (n[si * 2 + 1] + 1.0)).ln()
                - ((h as f64 + 0.5) / (n[si * 2] + 1.0)).ln();
            hi = hi.max(lor);
            lo = lo.min(lor);
        }
        if present == 1 {
            scale[j] = opts.single_source_scale;
        } else if present >= 2
            && opts.ngram_consistency > 0.0
            && hi > opts.ngram_consistency as f64
            && lo < -opts.ngram_consistency as f64
        {
            scale[j] = 0.0;
        }
    }
    scale
}

/// Per-source effect sizes of the dense features on `rows` (sources lacking either
/// class, or with fewer than 20 rows of one, are skipped).
pub fn dense_effects(prep: &Prepared, rows: &[usize]) -> Vec<(u16, [f32; N_DENSE])> {
    let mut by: BTreeMap<u16, [Vec<usize>; 2]> = BTreeMap::new();
    for &r in rows {
        let d = &prep.docs[r];
        if d.words as usize >= super::MIN_WORDS {
            by.entry(d.source).or_default()[d.machine as usize].push(r);
        }
    }
    let mut out = Vec::new();
    for (s, cls) in by {
        if cls[0].len() < 20 || cls[1].len() < 20 {
            continue;
        }
        let mut eff = [0f32; N_DENSE];
        for (j, e) in eff.iter_mut().enumerate() {
            let ms = |rs: &Vec<usize>| {
                let vals: Vec<f64> = rs
                    .iter()
                    .filter(|&&r| {
                        !neutral_mask(j, prep.docs[r].english) && !prep.docs[r].dense[j].is_nan()
                    })
                    .map(|&r| prep.docs[r].dense[j] as f64)
                    .collect();
                let n = vals.len().max(1) as f64;
                let m = vals.iter().sum::<f64>() / n;
                let v = vals.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
                (m, v)
            };
            let (mh, vh) = ms(&cls[0]);
            let (mm, vm) = ms(&cls[1]);
            *e = ((mm - mh) / ((vh + vm) / 2.0).sqrt().max(1e-9)) as f32;
        }
        out.push((s, eff));
    }
    out
}

/// Dense features whose direction disagrees across training sources (see
/// [`TrainOptions::consistency`]).
pub fn inconsistent_features(prep: &Prepared, rows: &[usize], tau: f32, ratio: f32) -> Vec<usize> {
    if tau <= 0.0 {
        return Vec::new();
    }
    let eff = dense_effects(prep, rows);
    if eff.len() < 2 {
        return Vec::new();
    }
    (0..N_DENSE)
        .filter(|&j| {
            let pos: f32 = eff.iter().map(|e| e.1[j]).filter(|d| *d > tau).sum();
            let neg: f32 = eff.iter().map(|e| -e.1[j]).filter(|d| *d > tau).sum();
            pos > 0.0 && neg > 0.0 && pos.min(neg) > ratio * pos.max(neg)
        })
        .collect()
}

/// Fit the logistic regression on `rows` with L-BFGS.
pub fn fit(prep: &Prepared, rows: &[usize], opts: &TrainOptions) -> Fit {
    let mut eff = opts.clone();
    eff.drop_dense.extend(inconsistent_features(
        prep,
        rows,
        opts.consistency,
        opts.consistency_ratio,
    ));
    let opts = &eff;
    let cfg = &opts.features;
    let dim_h = if cfg.use_hashed {
        1usize << cfg.hash.bits
    } else {
        0
    };
    let dim = dim_h + N_DENSE + 1;
    let mut weights = balance_weights(prep, rows, opts.balance);
    if !opts.source_weights.is_empty() {
        for (i, &r) in rows.iter().enumerate() {
            let name = &prep.sources[prep.docs[r].source as usize];
            for (pat, m) in &opts.source_weights {
                if name.contains(pat.as_str()) {
                    weights[i] *= m;
                }
            }
        }
        let tot: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= tot);
    }
    let scale = ngram_scale(prep, rows, opts, dim_h);
    let (mean, std) = dense_stats(prep, rows, opts);
    // Standardised dense values and block factors, computed once per fit.
    let z: Vec<[f32; N_DENSE]> = rows
        .iter()
        .map(|&r| {
            let d = &prep.docs[r];
            let g = if cfg.per_script { d.script as usize } else { 0 };
            let mut out = [0f32; N_DENSE];
            for j in 0..N_DENSE {
                if dense_enabled(j, opts) && !neutral_mask(j, d.english) {
                    out[j] = standardize(d.dense[j], mean[g * N_DENSE + j], std[g * N_DENSE + j]);
                }
            }
            out
        })
        .collect();
    let bf: Vec<(f32, f32)> = rows
        .iter()
        .map(|&r| block_factors(&prep.docs[r], cfg))
        .collect();
    let chunk = rows.len().div_ceil(N_CHUNKS).max(1);

    // Per-chunk gradient buffers live across evaluations: re-allocating N_CHUNKS dense
    // vectors per evaluation cost more in page faults than the arithmetic.
    let mut bufs: Vec<Vec<f64>> = (0..N_CHUNKS).map(|_| vec![0f64; dim]).collect();
    let eval = |theta: &[f64], grad: &mut Vec<f64>| -> f64 {
        let losses: Vec<f64> = bufs
            .par_iter_mut()
            .enumerate()
            .map(|(c, g)| {
                g.iter_mut().for_each(|x| *x = 0.0);
                let lo = (c * chunk).min(rows.len());
                let hi = ((c + 1) * chunk).min(rows.len());
                let mut loss = 0f64;
                for i in lo..hi {
                    let d = &prep.docs[rows[i]];
                    let (fc, fw) = bf[i];
                    let nc = d.n_char_entries as usize;
                    let mut m = theta[dim - 1];
                    if dim_h > 0 {
                        for k in 0..d.idx.len() {
                            let f = if k < nc { fc } else { fw };
                            let j = d.idx[k] as usize;
                            m += theta[j] * (d.val[k] * f * scale[j]) as f64;
                        }
                    }
                    for j in 0..N_DENSE {
                        m += theta[dim_h + j] * z[i][j] as f64;
                    }
                    let y = d.machine as u8 as f64;
                    // log(1 + e^m) - y·m, computed stably.
                    let l = if m > 0.0 {
                        m + (-m).exp().ln_1p()
                    } else {
                        m.exp().ln_1p()
                    } - y * m;
                    loss += weights[i] * l;
                    let p = 1.0 / (1.0 + (-m).exp());
                    let r = weights[i] * (p - y);
                    if dim_h > 0 {
                        for k in 0..d.idx.len() {
                            let f = if k < nc { fc } else { fw };
                            let j = d.idx[k] as usize;
                            g[j] += r * (d.val[k] * f * scale[j]) as f64;
                        }
                    }
                    for j in 0..N_DENSE {
                        g[dim_h + j] += r * z[i][j] as f64;
                    }
                    g[dim - 1] += r;
                }
                loss
            })
            .collect();
        let loss: f64 = losses.iter().sum();
        grad.par_chunks_mut(1 << 14)
            .enumerate()
            .for_each(|(ci, out)| {
                let off = ci << 14;
                for (k, o) in out.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    for b in &bufs {
                        acc += b[off + k];
                    }
                    *o = acc;
                }
            });
        let mut loss = loss;
        for k in 0..dim - 1 {
            let lam = if k < dim_h { opts.l2 } else { opts.l2_dense };
            loss += 0.5 * lam * theta[k] * theta[k];
            grad[k] += lam * theta[k];
        }
        loss
    };

    let theta = lbfgs(dim, opts.max_iter, opts.tol, opts.verbose, eval);
    let mut w_dense = [0f32; N_DENSE];
    for j in 0..N_DENSE {
        w_dense[j] = theta[dim_h + j] as f32;
    }
    Fit {
        // The per-bucket scale is folded into the stored weights, so scoring is unchanged.
        w_hashed: theta[..dim_h]
            .iter()
            .zip(&scale)
            .map(|(x, c)| (*x as f32) * c)
            .collect(),
        w_dense,
        bias: theta[dim - 1] as f32,
        mean,
        std,
    }
}

/// Limited-memory BFGS (m = 8) with Armijo backtracking, from zero.
fn lbfgs(
    dim: usize,
    max_iter: usize,
    tol: f64,
    verbose: bool,
    mut eval: impl FnMut(&[f64], &mut Vec<f64>) -> f64,
) -> Vec<f64> {
    const M: usize = 8;
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut x = vec![0f64; dim];
    let mut g = vec![0f64; dim];
    let mut f = eval(&x, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let mut d = vec![0f64; dim];
    let mut x_new = vec![0f64; dim];
    let mut g_new = vec![0f64; dim];
    for it in 0..max_iter {
        // Two-loop recursion: d = -H g.
        d.copy_from_slice(&g);
        let k = s_hist.len();
        let mut alpha = vec![0f64; k];
        for i in (0..k).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &d);
            for (dj, yj) in d.iter_mut().zip(&y_hist[i]) {
                *dj -= alpha[i] * yj;
            }
        }
        if k > 0 {
            let gamma = dot(&s_hist[k - 1], &y_hist[k - 1]) / dot(&y_hist[k - 1], &y_hist[k - 1]);
            d.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..k {
            let beta = rho[i] * dot(&y_hist[i], &d);
            for (dj, sj) in d.iter_mut().zip(&s_hist[i]) {
                *dj += (alpha[i] - beta) * sj;
            }
        }
        d.iter_mut().for_each(|v| *v = -*v);
        let mut gd = dot(&g, &d);
        if gd >= 0.0 {
            d.iter_mut().zip(&g).for_each(|(dj, gj)| *dj = -gj);
            gd = dot(&g, &d);
            s_hist.clear();
            y_hist.clear();
            rho.clear();
        }
        let mut step = if k == 0 {
            1.0 / dot(&g, &g).sqrt().max(1e-12)
        } else {
            1.0
        };
        let mut f_new;
        let mut tries = 0;
        loop {
            for i in 0..dim {
                x_new[i] = x[i] + step * d[i];
            }
            f_new = eval(&x_new, &mut g_new);
            if f_new <= f + 1e-4 * step * gd || tries >= 30 {
                break;
            }
            step *= 0.5;
            tries += 1;
        }
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if s_hist.len() == M {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho.push(1.0 / sy);
        }
        let rel = (f - f_new).abs() / f.abs().max(1e-12);
        std::mem::swap(&mut x, &mut x_new);
        std::mem::swap(&mut g, &mut g_new);
        f = f_new;
        if verbose && (it % 25 == 0) {
            crate::errln!("    iter {it:4} loss {f:.6} |g| {:.3e}", dot(&g, &g).sqrt());
        }
        if rel < tol && it > 5 {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

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
