//! The logistic regression itself: standardisation, the cross-source filters,
//! and an L-BFGS fit whose result does not depend on the number of threads.

use super::calibrate::balance_weights;
use super::corpus::{Doc, Prepared, SourceWeight, TrainOptions};
use super::dense::N_DENSE;
use super::frequency::{self, FreqTable};
use super::lexicon::N_LEX;
use super::model::{FeatureConfig, N_SCRIPTS};
use super::style::N_STYLE;
use super::trees::{self, Forest, N_TREE_FEATURES};
use super::{neutral_mask, standardize};
use rayon::prelude::*;
use std::collections::BTreeMap;

pub struct Fit {
    /// The word-frequency table built from this fit's human rows, if used.
    pub freq: Option<FreqTable>,
    pub w_hashed: Vec<f32>,
    pub w_dense: [f32; N_DENSE],
    pub bias: f32,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub trees: Option<Forest>,
}

impl Fit {
    pub fn margin(&self, d: &Doc, cfg: &FeatureConfig) -> f32 {
        let dense = doc_dense(d, self.freq.as_ref());
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
        for (j, x) in dense.iter().enumerate() {
            if neutral_mask(j, d.english) {
                continue;
            }
            let z = standardize(*x, self.mean[g * N_DENSE + j], self.std[g * N_DENSE + j]);
            m += (self.w_dense[j] * z) as f64;
        }
        let m = m as f32;
        match &self.trees {
            Some(f) => blend(m, f, &doc_tree_features(d, &dense)),
            None => m,
        }
    }
}

/// The model's margin from its linear margin and its forest's view.
#[inline]
pub fn blend(linear: f32, forest: &Forest, x: &[f32; N_TREE_FEATURES]) -> f32 {
    blend_log_odds(linear, forest.blend, forest.log_odds(x))
}

/// [`blend`] of a forest's log-odds already walked: the scorer walks once for
/// both the margin and the trees' part of the explanation.
#[inline]
pub fn blend_log_odds(linear: f32, blend: f32, forest_log_odds: f32) -> f32 {
    (1.0 - blend) * linear + blend * forest_log_odds
}

/// The trees' input for a training document (what the scorer computes of the
/// same text), from its [`doc_dense`] features.
pub fn doc_tree_features(d: &Doc, dense: &[f32; N_DENSE]) -> [f32; N_TREE_FEATURES] {
    trees::features(dense, d.words, d.n_chars, d.english, d.evidence, d.p_dec)
}

/// A document's dense features, the word-frequency ones from `freq` (NaN without
/// a table, or for a text not in English: no evidence either way).
pub fn doc_dense(d: &Doc, freq: Option<&FreqTable>) -> [f32; N_DENSE] {
    let mut out = d.dense;
    let f = &mut out[N_STYLE + N_LEX..];
    match freq {
        Some(t) if d.english => frequency::features(&t.counts(&d.slots), f),
        _ => f.fill(f32::NAN),
    }
    out
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
    } else if j < N_STYLE + N_LEX {
        cfg.use_lexicon
    } else {
        cfg.use_freq
    };
    on && !opts.drop_dense.contains(&j)
}

/// Standardisation statistics (per script group when configured). A group with few
/// rows falls back to the pooled statistics rather than trusting a noisy estimate.
fn dense_stats(
    prep: &Prepared,
    rows: &[usize],
    dense: &[[f32; N_DENSE]],
    opts: &TrainOptions,
) -> (Vec<f32>, Vec<f32>) {
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
                let x = dense[r][j];
                if neutral_mask(j, d.english) || x.is_nan() {
                    continue;
                }
                n[gg][j] += 1.0;
                sum[gg][j] += x as f64;
                sq[gg][j] += (x as f64).powi(2);
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
            if h + m < MIN_DF {
                continue;
            }
            // Present in a source of one class counts too: banking words seen
            // only in a human banking corpus can teach nothing but that corpus.
            present += 1;
            if n[si * 2] == 0.0 || n[si * 2 + 1] == 0.0 {
                continue;
            }
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
pub fn dense_effects(
    prep: &Prepared,
    rows: &[usize],
    dense: &[[f32; N_DENSE]],
) -> Vec<(u16, [f32; N_DENSE])> {
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
                    .filter(|&&r| !neutral_mask(j, prep.docs[r].english) && !dense[r][j].is_nan())
                    .map(|&r| dense[r][j] as f64)
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
pub fn inconsistent_features(
    prep: &Prepared,
    rows: &[usize],
    dense: &[[f32; N_DENSE]],
    tau: f32,
    ratio: f32,
) -> Vec<usize> {
    if tau <= 0.0 {
        return Vec::new();
    }
    let eff = dense_effects(prep, rows, dense);
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
    // The frequency table of this fit's human rows: a held-out source's words
    // never rank in the table it is scored with.
    let freq = opts.features.use_freq.then(|| {
        FreqTable::build(
            rows.iter()
                .map(|&r| &prep.docs[r])
                .filter(|d| !d.machine)
                .map(|d| d.slots.as_slice()),
        )
    });
    let dense: Vec<[f32; N_DENSE]> = (prep.docs.par_iter())
        .map(|d| doc_dense(d, freq.as_ref()))
        .collect();
    let mut eff = opts.clone();
    eff.drop_dense.extend(inconsistent_features(
        prep,
        rows,
        &dense,
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
    let scale = ngram_scale(prep, rows, opts, dim_h);
    let (mean, std) = dense_stats(prep, rows, &dense, opts);
    let chunk = rows.len().div_ceil(N_CHUNKS).max(1);
    let objective = Objective {
        prep,
        rows,
        weights: row_weights(prep, rows, opts),
        z: standardised(prep, rows, &dense, (&mean, &std), opts),
        x: ngram_values(prep, rows, cfg, &scale, dim_h),
        dim_h,
        chunk,
        by_len: by_length(prep, rows, chunk),
    };

    // Per-chunk gradient buffers live across evaluations: re-allocating N_CHUNKS dense
    // vectors per evaluation cost more in page faults than the arithmetic.
    let mut bufs: Vec<Vec<f64>> = (0..N_CHUNKS).map(|_| vec![0f64; dim]).collect();
    let eval = |theta: &[f64], grad: &mut Vec<f64>| -> f64 {
        let losses: Vec<f64> = bufs
            .par_iter_mut()
            .enumerate()
            .map(|(c, g)| objective.chunk_loss(c, theta, g))
            .collect();
        let loss: f64 = losses.iter().sum();
        sum_gradients(&bufs, grad);
        regularise(loss, theta, grad, dim_h, opts)
    };

    let theta = lbfgs(dim, opts.max_iter, opts.tol, opts.verbose, eval);
    let mut w_dense = [0f32; N_DENSE];
    for j in 0..N_DENSE {
        w_dense[j] = theta[dim_h + j] as f32;
    }
    let weights = &objective.weights;
    let trees = opts.trees.filter(|_| cfg.feeds_trees()).map(|t| {
        let x: Vec<_> = rows
            .iter()
            .map(|&r| doc_tree_features(&prep.docs[r], &dense[r]))
            .collect();
        let y: Vec<bool> = rows.iter().map(|&r| prep.docs[r].machine).collect();
        trees::train(&x, &y, weights, &t)
    });
    Fit {
        freq,
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
        trees,
    }
}

/// Each row's weight in the loss: balanced by source and class, then
/// multiplied by `source_weights` for the sources they name, and normalised.
fn row_weights(prep: &Prepared, rows: &[usize], opts: &TrainOptions) -> Vec<f64> {
    let mut weights = balance_weights(prep, rows, opts.balance);
    if !opts.source_weights.is_empty() {
        for (i, &r) in rows.iter().enumerate() {
            let doc = &prep.docs[r];
            let name = &prep.sources[doc.source as usize];
            weights[i] = SourceWeight::weigh(&opts.source_weights, name, doc.machine, weights[i]);
        }
        let tot: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= tot);
    }
    weights
}

/// Standardised dense values of `rows`, computed once per fit: 0 for a
/// feature dropped or neutral for the row's language.
fn standardised(
    prep: &Prepared,
    rows: &[usize],
    dense: &[[f32; N_DENSE]],
    (mean, std): (&[f32], &[f32]),
    opts: &TrainOptions,
) -> Vec<[f32; N_DENSE]> {
    let cfg = &opts.features;
    rows.iter()
        .map(|&r| {
            let d = &prep.docs[r];
            let g = if cfg.per_script { d.script as usize } else { 0 };
            let mut out = [0f32; N_DENSE];
            for j in 0..N_DENSE {
                if dense_enabled(j, opts) && !neutral_mask(j, d.english) {
                    out[j] = standardize(dense[r][j], mean[g * N_DENSE + j], std[g * N_DENSE + j]);
                }
            }
            out
        })
        .collect()
}

/// The weighted logistic loss of a fit's rows, by chunks of rows whose
/// gradients are added up in a fixed order: the result does not depend on
/// the number of threads.
struct Objective<'a> {
    prep: &'a Prepared,
    rows: &'a [usize],
    weights: Vec<f64>,
    /// Standardised dense values, per row.
    z: Vec<[f32; N_DENSE]>,
    /// Each row's n-gram values times their block factor and bucket scale,
    /// in the order of its entries (none without hashed n-grams).
    x: Vec<Vec<f32>>,
    /// Hashed weights (0 without hashed n-grams); the dense ones and the
    /// bias follow them in theta.
    dim_h: usize,
    /// Rows per chunk.
    chunk: usize,
    /// Each chunk's row positions, shortest n-gram list first: the order
    /// in which [`Objective::chunk_margins`] takes them, `LANES` at a time.
    by_len: Vec<usize>,
}

/// Margins summed side by side. Each margin is one chain of dependent
/// additions, so one row alone waits on the adder's latency at every term;
/// four independent chains keep it busy. Each chain still adds its terms in
/// the order one row alone would, so every margin, and the model, is
/// bit-identical to summing the rows one by one.
const LANES: usize = 4;

/// The values [`Objective`] multiplies by the hashed weights, computed once
/// per fit rather than at each of its hundreds of evaluations: there the
/// bucket scale was a second random read per entry, beside the weight's.
/// The same products in the same order, so the fit is bit-identical.
fn ngram_values(
    prep: &Prepared,
    rows: &[usize],
    cfg: &FeatureConfig,
    scale: &[f32],
    dim_h: usize,
) -> Vec<Vec<f32>> {
    if dim_h == 0 {
        return Vec::new();
    }
    rows.par_iter()
        .map(|&r| {
            let d = &prep.docs[r];
            let (fc, fw) = block_factors(d, cfg);
            let nc = d.n_char_entries as usize;
            (d.idx.iter().zip(&d.val).enumerate())
                .map(|(k, (&j, &v))| {
                    let f = if k < nc { fc } else { fw };
                    v * f * scale[j as usize]
                })
                .collect()
        })
        .collect()
}

/// Each chunk's row positions sorted by their number of n-gram entries
/// (stable), so that rows summed side by side end at about the same term.
fn by_length(prep: &Prepared, rows: &[usize], chunk: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    for part in order.chunks_mut(chunk) {
        part.sort_by_key(|&i| prep.docs[rows[i]].idx.len());
    }
    order
}

impl Objective<'_> {
    /// The loss of chunk `c`'s rows at `theta`, its gradient written to `g`.
    fn chunk_loss(&self, c: usize, theta: &[f64], g: &mut [f64]) -> f64 {
        g.iter_mut().for_each(|x| *x = 0.0);
        let rows = self.rows;
        let lo = (c * self.chunk).min(rows.len());
        let hi = ((c + 1) * self.chunk).min(rows.len());
        let margins = self.chunk_margins(lo, hi, theta);
        let mut loss = 0f64;
        for (i, &r) in rows.iter().enumerate().take(hi).skip(lo) {
            let m = margins[i - lo];
            let y = self.prep.docs[r].machine as u8 as f64;
            // log(1 + e^m) - y·m, computed stably.
            let l = if m > 0.0 {
                m + (-m).exp().ln_1p()
            } else {
                m.exp().ln_1p()
            } - y * m;
            loss += self.weights[i] * l;
            let p = 1.0 / (1.0 + (-m).exp());
            self.add_gradient(i, self.weights[i] * (p - y), g);
        }
        loss
    }

    /// The margins of the rows at positions `lo..hi`, in that order.
    fn chunk_margins(&self, lo: usize, hi: usize, theta: &[f64]) -> Vec<f64> {
        let mut out = vec![0f64; hi - lo];
        let mut groups = self.by_len[lo..hi].chunks_exact(LANES);
        for group in &mut groups {
            let is: [usize; LANES] = group.try_into().expect("LANES rows");
            for (i, m) in is.into_iter().zip(self.margins(is, theta)) {
                out[i - lo] = m;
            }
        }
        for &i in groups.remainder() {
            out[i - lo] = self.margins([i], theta)[0];
        }
        out
    }

    /// The margins of the rows at positions `is` at `theta`, their terms
    /// added side by side while every row has one, then each row's rest.
    fn margins<const N: usize>(&self, is: [usize; N], theta: &[f64]) -> [f64; N] {
        let (dim_h, dim) = (self.dim_h, theta.len());
        let docs = is.map(|i| &self.prep.docs[self.rows[i]]);
        let mut m = [theta[dim - 1]; N];
        if dim_h > 0 {
            let common = docs.iter().map(|d| d.idx.len()).min().unwrap_or(0);
            for k in 0..common {
                for t in 0..N {
                    m[t] += self.term(docs[t], is[t], k, theta);
                }
            }
            for t in 0..N {
                for k in common..docs[t].idx.len() {
                    m[t] += self.term(docs[t], is[t], k, theta);
                }
            }
        }
        for t in 0..N {
            for j in 0..N_DENSE {
                m[t] += theta[dim_h + j] * self.z[is[t]][j] as f64;
            }
        }
        m
    }

    /// The `k`-th n-gram entry of `d`, the row at position `i`, times its weight.
    #[inline(always)]
    fn term(&self, d: &Doc, i: usize, k: usize, theta: &[f64]) -> f64 {
        theta[d.idx[k] as usize] * self.x[i][k] as f64
    }

    /// Adds the `i`-th row's gradient, `r` times its features, to `g`.
    fn add_gradient(&self, i: usize, r: f64, g: &mut [f64]) {
        let d = &self.prep.docs[self.rows[i]];
        let (dim_h, dim) = (self.dim_h, g.len());
        if dim_h > 0 {
            for (&j, &x) in d.idx.iter().zip(&self.x[i]) {
                g[j as usize] += r * x as f64;
            }
        }
        for j in 0..N_DENSE {
            g[dim_h + j] += r * self.z[i][j] as f64;
        }
        g[dim - 1] += r;
    }
}

/// The chunks' gradients added up, in chunk order, into `grad`.
fn sum_gradients(bufs: &[Vec<f64>], grad: &mut [f64]) {
    grad.par_chunks_mut(1 << 14)
        .enumerate()
        .for_each(|(ci, out)| {
            let off = ci << 14;
            for (k, o) in out.iter_mut().enumerate() {
                let mut acc = 0.0;
                for b in bufs {
                    acc += b[off + k];
                }
                *o = acc;
            }
        });
}

/// Adds the L2 penalty of every weight but the bias to `loss` and `grad`
/// (hashed and dense weights each with their own strength).
fn regularise(
    mut loss: f64,
    theta: &[f64],
    grad: &mut [f64],
    dim_h: usize,
    opts: &TrainOptions,
) -> f64 {
    for k in 0..theta.len() - 1 {
        let lam = if k < dim_h { opts.l2 } else { opts.l2_dense };
        loss += 0.5 * lam * theta[k] * theta[k];
        grad[k] += lam * theta[k];
    }
    loss
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>()
}

/// The last steps of L-BFGS and their gradient changes.
#[derive(Default)]
struct History {
    s: Vec<Vec<f64>>,
    y: Vec<Vec<f64>>,
    rho: Vec<f64>,
}

impl History {
    /// Steps kept.
    const M: usize = 8;

    fn len(&self) -> usize {
        self.s.len()
    }

    fn clear(&mut self) {
        self.s.clear();
        self.y.clear();
        self.rho.clear();
    }

    /// The two-loop recursion: `d = -H g`.
    fn direction(&self, g: &[f64], d: &mut [f64]) {
        let (s, y, rho) = (&self.s, &self.y, &self.rho);
        d.copy_from_slice(g);
        let k = s.len();
        let mut alpha = vec![0f64; k];
        for i in (0..k).rev() {
            alpha[i] = rho[i] * dot(&s[i], d);
            for (dj, yj) in d.iter_mut().zip(&y[i]) {
                *dj -= alpha[i] * yj;
            }
        }
        if k > 0 {
            let gamma = dot(&s[k - 1], &y[k - 1]) / dot(&y[k - 1], &y[k - 1]);
            d.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..k {
            let beta = rho[i] * dot(&y[i], d);
            for (dj, sj) in d.iter_mut().zip(&s[i]) {
                *dj += (alpha[i] - beta) * sj;
            }
        }
        d.iter_mut().for_each(|v| *v = -*v);
    }

    /// Keeps a step `s` and its gradient change `y` when the curvature is
    /// positive, forgetting the oldest beyond [`History::M`].
    fn push(&mut self, s: Vec<f64>, y: Vec<f64>) {
        let sy = dot(&s, &y);
        if sy > 1e-12 {
            if self.s.len() == Self::M {
                self.s.remove(0);
                self.y.remove(0);
                self.rho.remove(0);
            }
            self.s.push(s);
            self.y.push(y);
            self.rho.push(1.0 / sy);
        }
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
    let mut x = vec![0f64; dim];
    let mut g = vec![0f64; dim];
    let mut f = eval(&x, &mut g);
    let mut hist = History::default();
    let mut d = vec![0f64; dim];
    let mut x_new = vec![0f64; dim];
    let mut g_new = vec![0f64; dim];
    for it in 0..max_iter {
        let k = hist.len();
        hist.direction(&g, &mut d);
        let mut gd = dot(&g, &d);
        if gd >= 0.0 {
            d.iter_mut().zip(&g).for_each(|(dj, gj)| *dj = -gj);
            gd = dot(&g, &d);
            hist.clear();
        }
        let step = if k == 0 {
            1.0 / dot(&g, &g).sqrt().max(1e-12)
        } else {
            1.0
        };
        let f_new = line_search(&x, &d, (f, gd), step, &mut eval, (&mut x_new, &mut g_new));
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        hist.push(s, y);
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

/// Armijo backtracking along `d` from `x` (loss `f`, slope `gd`): halves the
/// step from `step` until the loss falls enough, at most 30 times. Leaves
/// the point and its gradient in `x_new` and `g_new`; returns its loss.
fn line_search(
    x: &[f64],
    d: &[f64],
    (f, gd): (f64, f64),
    mut step: f64,
    eval: &mut impl FnMut(&[f64], &mut Vec<f64>) -> f64,
    (x_new, g_new): (&mut [f64], &mut Vec<f64>),
) -> f64 {
    let mut tries = 0;
    loop {
        for i in 0..x.len() {
            x_new[i] = x[i] + step * d[i];
        }
        let f_new = eval(x_new, g_new);
        if f_new <= f + 1e-4 * step * gd || tries >= 30 {
            return f_new;
        }
        step *= 0.5;
        tries += 1;
    }
}
