//! A second view of a text beside the linear margin: gradient-boosted
//! regression trees over its dense features (style, lexicon rates, length and
//! the artefact rules' evidence). Trees see interactions a linear model cannot
//! ("short *and* no contractions *and* no typos"), which is where short and
//! casual machine text differs from human text (docs/detector-research.md,
//! "What a second stage could add"). A model with a forest scores
//! `(1 - blend) * linear margin + blend * forest log-odds`, and calibration
//! fits its length bands on that blended margin.
//!
//! Hand-written rather than taken from a crate: `crmguard train` must rebuild
//! the shipped model byte for byte on any number of threads, so every sum here
//! has a fixed order (a histogram is built per feature, sequentially over the
//! rows), subsampling is a hash of (seed, tree, row) instead of a random
//! generator's stream, and ties break towards the lowest feature and bin.
//! The learner is the usual histogram one (LightGBM's): at most 254 cut points
//! per feature, leaves split best-first, a child's histogram is its parent's
//! minus its sibling's.

use super::dense::N_DENSE;
use super::frequency::N_FREQ;
use super::lexicon::N_LEX;
use super::style::N_STYLE;
use super::tokens::fmix;
use rayon::prelude::*;

/// The trees' inputs: the style and lexicon features as computed (not
/// standardised: a split does not care about scale), then the text's words,
/// its char n-grams (a length in chars), whether it is English, and the
/// artefact rules' evidence and decisive probability, then the word-frequency
/// features (NaN for a model without a frequency table).
pub const N_TREE_FEATURES: usize = N_TREE_BASE + N_FREQ;
/// The inputs before the word-frequency ones, which came later: a forest
/// grown without a table draws its columns from these alone, so that the
/// models grown before the frequency columns existed are grown the same.
pub const N_TREE_BASE: usize = N_STYLE + N_LEX + 5;

/// A node's `feature` when the node is a leaf.
pub const LEAF: u16 = u16::MAX;

/// One node of a tree, in a flat array whose first entry is the root.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Node {
    /// The feature split on, or [`LEAF`].
    pub feature: u16,
    pub left: u16,
    pub right: u16,
    /// An inner node's threshold (a value above it goes right; a missing
    /// value, NaN, goes left), or a leaf's log-odds.
    pub value: f32,
}

/// The trees and the log-odds they start from.
#[derive(Clone, Debug, PartialEq)]
pub struct Forest {
    /// The weight of the forest's log-odds in the model's margin (0–1).
    pub blend: f32,
    pub base: f32,
    pub trees: Vec<Vec<Node>>,
}

impl Forest {
    /// The forest's log-odds for one text's features.
    pub fn log_odds(&self, x: &[f32; N_TREE_FEATURES]) -> f32 {
        let mut s = self.base;
        for t in &self.trees {
            let mut i = 0usize;
            loop {
                let n = t[i];
                if n.feature == LEAF {
                    s += n.value;
                    break;
                }
                // `>` sends NaN left, as training's bin 0 does.
                i = if x[n.feature as usize] > n.value {
                    n.right
                } else {
                    n.left
                } as usize;
            }
        }
        s
    }

    /// Whether every node is well formed: children inside the tree and after
    /// their parent (so a walk always ends), features in range, and numbers
    /// that keep a score a number (a NaN would reach the reports' JSON).
    pub fn is_well_formed(&self) -> bool {
        self.base.is_finite()
            && self.trees.iter().all(|t| {
                !t.is_empty()
                    && t.iter().enumerate().all(|(i, n)| {
                        if n.feature == LEAF {
                            return n.value.is_finite();
                        }
                        (n.feature as usize) < N_TREE_FEATURES
                            && !n.value.is_nan()
                            && (n.left as usize) > i
                            && (n.left as usize) < t.len()
                            && (n.right as usize) > i
                            && (n.right as usize) < t.len()
                    })
            })
    }
}

/// The forest laid out for scoring: every tree a complete binary tree of the
/// forest's depth, in arrays, so that a walk is `depth` steps of index
/// arithmetic with no branch on the data. The node walk of [`Forest::log_odds`]
/// mispredicts about one branch in two and walked the 50 shipped trees in about
/// as long as the rest of scoring took for a CRM-sized text. A leaf above the
/// bottom is padded with splits that lead to it on both sides, so every walk
/// ends at the same leaf with the same comparisons, and the sum adds the leaves
/// in the same order: the log-odds are bit for bit those of the node walk.
#[derive(Clone, Debug)]
pub struct FlatForest {
    depth: u32,
    base: f32,
    /// Per tree, `2^depth - 1` inner nodes in breadth-first order.
    feature: Vec<u16>,
    threshold: Vec<f32>,
    /// Per tree, `2^depth` leaves.
    leaf: Vec<f32>,
}

/// Deeper forests (only a hand-made model file has them) keep the node walk:
/// the padding doubles with every level.
const MAX_FLAT_DEPTH: u32 = 8;
/// And so do forests whose padded trees would take more than this many slots.
const MAX_FLAT_SLOTS: usize = 1 << 20;
/// Trees walked side by side (see [`FlatForest::log_odds`]).
const LANES: usize = 8;

impl FlatForest {
    /// `None` when the forest is too deep or too large to pad (see above).
    pub fn new(f: &Forest) -> Option<FlatForest> {
        // A forest of lone leaves still walks one (padded) step.
        let deepest = f.trees.iter().map(|t| tree_depth(t)).max();
        let depth = deepest.unwrap_or(0).max(1);
        if depth > MAX_FLAT_DEPTH || f.trees.len() << depth > MAX_FLAT_SLOTS {
            return None;
        }
        let inner = (1usize << depth) - 1;
        let mut flat = FlatForest {
            depth,
            base: f.base,
            feature: vec![0; f.trees.len() * inner],
            threshold: vec![0.0; f.trees.len() * inner],
            leaf: vec![0.0; f.trees.len() * (inner + 1)],
        };
        let slots = (flat.feature.chunks_exact_mut(inner))
            .zip(flat.threshold.chunks_exact_mut(inner))
            .zip(flat.leaf.chunks_exact_mut(inner + 1));
        for (t, ((feature, threshold), leaf)) in f.trees.iter().zip(slots) {
            let mut out = Padded {
                depth,
                feature,
                threshold,
                leaf,
            };
            out.fill(t, 0, 0, 0);
        }
        Some(flat)
    }

    /// What [`Forest::log_odds`] gives, bit for bit.
    #[inline]
    pub fn log_odds(&self, x: &[f32; N_TREE_FEATURES]) -> f32 {
        let inner = (1usize << self.depth) - 1;
        let n_trees = self.leaf.len() / (inner + 1);
        let mut s = self.base;
        // A step of one tree's walk waits on the step before it (two loads and
        // a compare): LANES trees walk side by side so that their steps overlap.
        let mut first = 0;
        while first < n_trees {
            let lanes = LANES.min(n_trees - first);
            let mut at = [0usize; LANES];
            for _ in 0..self.depth {
                for (k, i) in at.iter_mut().enumerate().take(lanes) {
                    let node = (first + k) * inner + *i;
                    let f = self.feature[node] as usize;
                    // `>` sends NaN left, as the node walk does.
                    *i = 2 * *i + 1 + usize::from(x[f] > self.threshold[node]);
                }
            }
            // In tree order, as the node walk adds them.
            for (k, i) in at.iter().enumerate().take(lanes) {
                s += self.leaf[(first + k) * (inner + 1) + i - inner];
            }
            first += lanes;
        }
        s
    }
}

/// The deepest leaf's depth (the root's is 0). Children come after their
/// parent (`Forest::is_well_formed`), so one pass in index order sees every
/// parent's depth before its children's, without recursion.
fn tree_depth(t: &[Node]) -> u32 {
    let mut depth = vec![0u32; t.len()];
    let mut deepest = 0;
    for (i, n) in t.iter().enumerate() {
        if n.feature == LEAF {
            deepest = deepest.max(depth[i]);
        } else {
            for c in [n.left, n.right] {
                depth[c as usize] = depth[c as usize].max(depth[i] + 1);
            }
        }
    }
    deepest
}

/// One tree's slots in a [`FlatForest`], being filled.
struct Padded<'a> {
    depth: u32,
    feature: &'a mut [u16],
    threshold: &'a mut [f32],
    leaf: &'a mut [f32],
}

impl Padded<'_> {
    /// Puts `node` (of `t`) at breadth-first position `pos`, `level` deep.
    fn fill(&mut self, t: &[Node], node: usize, pos: usize, level: u32) {
        let n = t[node];
        if level == self.depth {
            // The depth is the deepest leaf's, so a walk this deep is at one.
            self.leaf[pos - self.feature.len()] = n.value;
            return;
        }
        let (left, right) = if n.feature == LEAF {
            // Either way leads to this leaf: any feature, any threshold.
            self.feature[pos] = 0;
            self.threshold[pos] = f32::NAN;
            (node, node)
        } else {
            self.feature[pos] = n.feature;
            self.threshold[pos] = n.value;
            (n.left as usize, n.right as usize)
        };
        self.fill(t, left, 2 * pos + 1, level + 1);
        self.fill(t, right, 2 * pos + 2, level + 1);
    }
}

/// The trees' input for one text.
pub fn features(
    dense: &[f32; N_DENSE],
    words: u32,
    chars: u32,
    english: bool,
    evidence: f32,
    p_dec: f32,
) -> [f32; N_TREE_FEATURES] {
    let mut x = [0f32; N_TREE_FEATURES];
    x[..N_STYLE + N_LEX].copy_from_slice(&dense[..N_STYLE + N_LEX]);
    x[N_STYLE + N_LEX..N_TREE_BASE].copy_from_slice(&[
        words as f32,
        chars as f32,
        f32::from(u8::from(english)),
        evidence,
        p_dec,
    ]);
    x[N_TREE_BASE..].copy_from_slice(&dense[N_STYLE + N_LEX..]);
    x
}

/// How the forest is grown. The defaults are the ensemble measured in
/// docs/detector-research.md ("What a second stage could add").
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TreeOptions {
    pub n_trees: u16,
    pub max_leaves: u16,
    pub max_depth: u8,
    pub learning_rate: f32,
    /// The share of rows each tree is grown on.
    pub subsample: f32,
    /// The share of features each tree may split on.
    pub colsample: f32,
    /// The fewest rows a leaf may hold.
    pub min_child: u32,
    pub blend: f32,
    pub seed: u64,
}

impl Default for TreeOptions {
    fn default() -> Self {
        TreeOptions {
            n_trees: 300,
            max_leaves: 31,
            max_depth: 6,
            learning_rate: 0.05,
            subsample: 0.8,
            colsample: 0.8,
            min_child: 40,
            // Half and half, fixed before it was measured, not fitted.
            blend: 0.5,
            seed: 0x7265_6573,
        }
    }
}

/// A smallest hessian per leaf, as LightGBM's `min_sum_hessian_in_leaf`.
const MIN_HESS: f64 = 1e-3;
/// L2 on leaf values: just enough that a leaf of tiny hessian stays finite.
const LAMBDA: f64 = 1e-6;

/// Grow a forest on rows `x` with labels `y` and weights `w`.
pub fn train(x: &[[f32; N_TREE_FEATURES]], y: &[bool], w: &[f64], o: &TreeOptions) -> Forest {
    assert!(x.len() == y.len() && y.len() == w.len());
    let n = x.len();
    // Weights to a mean of 1, so that `MIN_HESS` means the same at any size.
    let tot: f64 = w.iter().sum();
    let w: Vec<f64> = w.iter().map(|v| v * n as f64 / tot.max(1e-300)).collect();
    let pos: f64 = (w.iter().zip(y)).filter(|p| *p.1).map(|p| p.0).sum();
    let neg: f64 = (w.iter().zip(y)).filter(|p| !*p.1).map(|p| p.0).sum();
    let base = if pos > 0.0 && neg > 0.0 {
        (pos / neg).ln()
    } else {
        0.0
    };
    let binned = Binned::new(x);
    let mut f = vec![base; n];
    let mut gh = vec![(0f64, 0f64); n];
    let mut trees = Vec::with_capacity(o.n_trees as usize);
    // Without a frequency table those columns are NaN on every row: they
    // could never split, and drawing among them would change which of the
    // others each tree gets.
    let n_features = if x
        .iter()
        .any(|r| r[N_TREE_BASE..].iter().any(|v| !v.is_nan()))
    {
        N_TREE_FEATURES
    } else {
        N_TREE_BASE
    };
    let n_cols = ((o.colsample * n_features as f32).ceil() as usize).clamp(1, n_features);
    for t in 0..o.n_trees as u64 {
        gh.par_iter_mut().enumerate().for_each(|(i, gh)| {
            let p = 1.0 / (1.0 + (-f[i]).exp());
            let yi = if y[i] { 1.0 } else { 0.0 };
            *gh = (w[i] * (p - yi), w[i] * p * (1.0 - p));
        });
        let rows: Vec<u32> = (0..n as u32)
            .filter(|&i| unit(o.seed, t, i as u64) < o.subsample as f64)
            .collect();
        let mut cols: Vec<usize> = (0..n_features).collect();
        cols.sort_by_key(|&c| fmix(o.seed ^ fmix(t << 20 | c as u64)));
        cols.truncate(n_cols);
        cols.sort_unstable();
        let (nodes, bins) = grow(&binned, &gh, rows, &cols, o);
        f.par_iter_mut().enumerate().for_each(|(i, fi)| {
            *fi += leaf_of(&nodes, &bins, &binned, i) as f64;
        });
        trees.push(nodes);
    }
    Forest {
        blend: o.blend,
        base: base as f32,
        trees,
    }
}

/// A uniform number in [0, 1) from (seed, tree, row).
fn unit(seed: u64, tree: u64, row: u64) -> f64 {
    (fmix(seed ^ fmix(tree.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ row)) >> 11) as f64
        / (1u64 << 53) as f64
}

/// The features as bin codes, one column per feature. Bin 0 holds missing
/// values (NaN); a value `v` is in bin `1 + (cuts below v)`.
struct Binned {
    cuts: Vec<Vec<f32>>,
    codes: Vec<Vec<u8>>,
}

/// The most cut points a feature gets: bins 0 (missing) to 255.
const MAX_CUTS: usize = 254;

impl Binned {
    fn new(x: &[[f32; N_TREE_FEATURES]]) -> Binned {
        let (cuts, codes) = (0..N_TREE_FEATURES)
            .into_par_iter()
            .map(|j| {
                let mut v: Vec<f32> = x.iter().map(|r| r[j]).filter(|v| !v.is_nan()).collect();
                v.sort_by(f32::total_cmp);
                let cuts = cut_points(&v);
                let codes = x.iter().map(|r| bin_of(&cuts, r[j])).collect();
                (cuts, codes)
            })
            .unzip();
        Binned { cuts, codes }
    }

    fn n_bins(&self, j: usize) -> usize {
        self.cuts[j].len() + 2
    }
}

fn bin_of(cuts: &[f32], v: f32) -> u8 {
    if v.is_nan() {
        0
    } else {
        1 + cuts.partition_point(|c| *c < v) as u8
    }
}

/// Cut points of a sorted column: midway between neighbouring distinct values
/// where there are few of them, else quantiles.
fn cut_points(sorted: &[f32]) -> Vec<f32> {
    let mut distinct = sorted.to_vec();
    distinct.dedup();
    let mut cuts: Vec<f32> = if distinct.len() <= MAX_CUTS + 1 {
        distinct
            .windows(2)
            .map(|p| p[0] + (p[1] - p[0]) / 2.0)
            .collect()
    } else {
        (1..=MAX_CUTS)
            .map(|k| sorted[k * sorted.len() / (MAX_CUTS + 1)])
            .collect()
    };
    cuts.dedup();
    // Whatever lies above the last cut shares the last bin: a cut at +inf
    // would leave it empty.
    cuts.retain(|c| c.is_finite());
    cuts
}

#[derive(Clone, Copy, Default)]
struct Stat {
    g: f64,
    h: f64,
    n: u32,
}

impl Stat {
    fn add(&mut self, o: &Stat) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }
}

/// Per allowed feature (in `cols` order), the gradient statistics of each bin.
type Hist = Vec<Vec<Stat>>;

fn histogram(b: &Binned, gh: &[(f64, f64)], rows: &[u32], cols: &[usize]) -> Hist {
    let local: Vec<(f64, f64)> = rows.iter().map(|&r| gh[r as usize]).collect();
    cols.par_iter()
        .map(|&j| {
            let mut h = vec![Stat::default(); b.n_bins(j)];
            let codes = &b.codes[j];
            for (&r, &(g, hh)) in rows.iter().zip(&local) {
                let s = &mut h[codes[r as usize] as usize];
                s.g += g;
                s.h += hh;
                s.n += 1;
            }
            h
        })
        .collect()
}

fn subtract(parent: &mut Hist, child: &Hist) {
    for (p, c) in parent.iter_mut().zip(child) {
        for (p, c) in p.iter_mut().zip(c) {
            p.g -= c.g;
            p.h -= c.h;
            p.n -= c.n;
        }
    }
}

#[derive(Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    /// Bins up to this one go left.
    bin: u8,
}

fn score(s: &Stat) -> f64 {
    s.g * s.g / (s.h + LAMBDA)
}

/// The best split of a leaf, if any gains.
fn best_split(hist: &Hist, cols: &[usize], o: &TreeOptions) -> Option<Split> {
    let mut best: Option<Split> = None;
    for (h, &j) in hist.iter().zip(cols) {
        let mut tot = Stat::default();
        h.iter().for_each(|s| tot.add(s));
        let parent = score(&tot);
        let mut left = Stat::default();
        for (b, s) in h[..h.len() - 1].iter().enumerate() {
            left.add(s);
            let right = Stat {
                g: tot.g - left.g,
                h: tot.h - left.h,
                n: tot.n - left.n,
            };
            if left.n < o.min_child || right.n < o.min_child {
                continue;
            }
            if left.h < MIN_HESS || right.h < MIN_HESS {
                continue;
            }
            let gain = score(&left) + score(&right) - parent;
            if gain > 1e-12 && best.is_none_or(|x| gain > x.gain) {
                best = Some(Split {
                    gain,
                    feature: j,
                    bin: b as u8,
                });
            }
        }
    }
    best
}

struct Leaf {
    node: usize,
    depth: u8,
    rows: Vec<u32>,
    hist: Hist,
    split: Option<Split>,
}

/// One tree, best-first, and each inner node's split bin (for walking the
/// binned rows).
fn grow(
    b: &Binned,
    gh: &[(f64, f64)],
    rows: Vec<u32>,
    cols: &[usize],
    o: &TreeOptions,
) -> (Vec<Node>, Vec<u8>) {
    let leaf_node = Node {
        feature: LEAF,
        left: 0,
        right: 0,
        value: 0.0,
    };
    let mut nodes = vec![leaf_node];
    let mut bins = vec![0u8];
    let hist = histogram(b, gh, &rows, cols);
    let can_split = |depth: u8, hist: &Hist| {
        if depth < o.max_depth {
            best_split(hist, cols, o)
        } else {
            None
        }
    };
    let split = can_split(0, &hist);
    let mut leaves = vec![Leaf {
        node: 0,
        depth: 0,
        rows,
        hist,
        split,
    }];
    while leaves.len() < o.max_leaves as usize {
        let Some((k, s)) = best_leaf(&leaves) else {
            break;
        };
        let parent = leaves.swap_remove(k);
        let codes = &b.codes[s.feature];
        let (l_rows, r_rows): (Vec<u32>, Vec<u32>) =
            (parent.rows.iter()).partition(|&&r| codes[r as usize] <= s.bin);
        let mut big = parent.hist;
        let small_is_left = l_rows.len() <= r_rows.len();
        let small = histogram(b, gh, if small_is_left { &l_rows } else { &r_rows }, cols);
        subtract(&mut big, &small);
        let (l_hist, r_hist) = if small_is_left {
            (small, big)
        } else {
            (big, small)
        };
        let (li, ri) = (nodes.len(), nodes.len() + 1);
        nodes[parent.node] = Node {
            feature: s.feature as u16,
            left: li as u16,
            right: ri as u16,
            value: if s.bin == 0 {
                f32::NEG_INFINITY
            } else {
                b.cuts[s.feature][s.bin as usize - 1]
            },
        };
        bins[parent.node] = s.bin;
        nodes.extend([leaf_node, leaf_node]);
        bins.extend([0, 0]);
        let depth = parent.depth + 1;
        for (node, rows, hist) in [(li, l_rows, l_hist), (ri, r_rows, r_hist)] {
            let split = can_split(depth, &hist);
            leaves.push(Leaf {
                node,
                depth,
                rows,
                hist,
                split,
            });
        }
        // `swap_remove` reordered the leaves: back to the order of their
        // nodes, so that ties between leaves do not depend on it.
        leaves.sort_by_key(|l| l.node);
    }
    for l in &leaves {
        let mut tot = Stat::default();
        l.hist[0].iter().for_each(|s| tot.add(s));
        let v = -tot.g / (tot.h + LAMBDA) * o.learning_rate as f64;
        nodes[l.node].value = v as f32;
    }
    (nodes, bins)
}

/// The leaf whose split gains most (the first of equals), and that split.
fn best_leaf(leaves: &[Leaf]) -> Option<(usize, Split)> {
    (leaves.iter().enumerate())
        .filter_map(|(k, l)| l.split.map(|s| (k, s)))
        .fold(None, |best, (k, s)| match best {
            Some((_, b)) if b.gain >= s.gain => best,
            _ => Some((k, s)),
        })
}

/// The leaf value row `i` lands in, walking the binned columns.
fn leaf_of(nodes: &[Node], bins: &[u8], b: &Binned, i: usize) -> f32 {
    let mut k = 0usize;
    loop {
        let n = nodes[k];
        if n.feature == LEAF {
            return n.value;
        }
        k = if b.codes[n.feature as usize][i] <= bins[k] {
            n.left
        } else {
            n.right
        } as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows where the label is an interaction no single feature shows: machine
    /// when feature 0 and feature 1 are both high or both low.
    fn xor_data(n: usize) -> (Vec<[f32; N_TREE_FEATURES]>, Vec<bool>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n as u64 {
            let a = unit(1, 0, i) as f32;
            let b = unit(2, 0, i) as f32;
            let mut r = [0f32; N_TREE_FEATURES];
            r[0] = a;
            r[1] = b;
            r[2] = if i % 7 == 0 {
                f32::NAN
            } else {
                unit(3, 0, i) as f32
            };
            x.push(r);
            y.push((a > 0.5) == (b > 0.5));
        }
        (x, y)
    }

    #[test]
    fn learns_an_interaction_and_walks_as_it_trained() {
        let (x, y) = xor_data(4000);
        let o = TreeOptions {
            n_trees: 40,
            colsample: 1.0,
            ..TreeOptions::default()
        };
        let f = train(&x, &y, &vec![1.0; x.len()], &o);
        assert!(f.is_well_formed());
        let right = (x.iter().zip(&y))
            .filter(|(r, y)| (f.log_odds(r) > 0.0) == **y)
            .count();
        assert!(right > 3800, "{right} of 4000");
    }

    #[test]
    fn the_same_data_gives_the_same_forest_on_any_number_of_threads() {
        let (x, y) = xor_data(1500);
        let w: Vec<f64> = (0..x.len()).map(|i| 1.0 + (i % 3) as f64).collect();
        let o = TreeOptions {
            n_trees: 15,
            ..TreeOptions::default()
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let a = one.install(|| train(&x, &y, &w, &o));
        let b = three.install(|| train(&x, &y, &w, &o));
        assert_eq!(a, b);
        let c = train(&x, &y, &w, &TreeOptions { seed: 9, ..o });
        assert_ne!(a, c, "the seed picks the rows and features");
    }

    #[test]
    fn leaves_respect_the_limits() {
        let (x, y) = xor_data(3000);
        let o = TreeOptions {
            n_trees: 5,
            max_leaves: 7,
            max_depth: 2,
            min_child: 200,
            ..TreeOptions::default()
        };
        let f = train(&x, &y, &vec![1.0; x.len()], &o);
        for t in &f.trees {
            let leaves = t.iter().filter(|n| n.feature == LEAF).count();
            assert!(leaves <= 4, "depth 2 allows 4 leaves, got {leaves}");
        }
        let one_leaf = TreeOptions {
            min_child: 3000,
            ..o
        };
        let f = train(&x, &y, &vec![1.0; x.len()], &one_leaf);
        assert!(
            f.trees.iter().all(|t| t.len() == 1),
            "no split can keep 3000 rows a side"
        );
    }

    fn leaf(value: f32) -> Node {
        Node {
            feature: LEAF,
            left: 0,
            right: 0,
            value,
        }
    }

    /// Inputs that reach every kind of branch: the training rows, NaN
    /// everywhere, infinities, and values on the cut points themselves.
    fn probes(f: &Forest, x: &[[f32; N_TREE_FEATURES]]) -> Vec<[f32; N_TREE_FEATURES]> {
        let mut out = x.to_vec();
        for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0] {
            out.push([v; N_TREE_FEATURES]);
        }
        for n in f.trees.iter().flatten().filter(|n| n.feature != LEAF) {
            let mut r = x[0];
            r[n.feature as usize] = n.value;
            out.push(r);
        }
        out
    }

    #[test]
    fn the_flat_forest_walks_as_the_nodes_do() {
        let (x, y) = xor_data(2000);
        let mut x2 = x.clone();
        for (i, r) in x2.iter_mut().enumerate() {
            for (j, v) in r.iter_mut().enumerate().skip(3) {
                *v = unit(4, j as u64, i as u64) as f32;
            }
        }
        let y2: Vec<bool> = (0..x2.len()).map(|i| unit(5, 0, i as u64) < 0.5).collect();
        for (x, y, depth) in [(&x, &y, 6), (&x2, &y2, 3), (&x, &y, 1)] {
            let o = TreeOptions {
                n_trees: 30,
                max_depth: depth,
                ..TreeOptions::default()
            };
            let f = train(x, y, &vec![1.0; x.len()], &o);
            let flat = FlatForest::new(&f).unwrap();
            assert!(flat.depth <= u32::from(depth));
            for r in probes(&f, x) {
                assert_eq!(f.log_odds(&r).to_bits(), flat.log_odds(&r).to_bits());
            }
        }
        // Leaves at every depth, a leaf for a root and a child two parents
        // share: what training never makes, but a model file may hold.
        let split = |feature, left, right, value| Node {
            feature,
            left,
            right,
            value,
        };
        let f = Forest {
            blend: 0.5,
            base: 0.25,
            trees: vec![
                vec![leaf(1.5)],
                vec![
                    split(0, 1, 2, 0.5),
                    leaf(-1.0),
                    split(1, 3, 3, 0.25),
                    split(2, 4, 5, 0.75),
                    leaf(2.0),
                    leaf(-3.0),
                ],
            ],
        };
        assert!(f.is_well_formed());
        let flat = FlatForest::new(&f).unwrap();
        assert_eq!(flat.depth, 3);
        for r in probes(&f, &x) {
            assert_eq!(f.log_odds(&r).to_bits(), flat.log_odds(&r).to_bits());
        }
    }

    /// Forests of any well-formed shape, as a hand-made or damaged model file
    /// may hold: shared children, unreachable nodes, leaves at every depth,
    /// infinite thresholds.
    #[test]
    fn the_flat_forest_walks_as_the_nodes_do_on_random_shapes() {
        let pick = |seed: u64, t: u64, i: u64, n: usize| (unit(seed, t, i) * n as f64) as usize;
        let mut checked = 0;
        for seed in 0..400u64 {
            let mut trees = Vec::new();
            for t in 0..1 + pick(seed, 0, 0, 4) as u64 {
                let len = 1 + pick(seed, t, 1, 24);
                let tree: Vec<Node> = (0..len)
                    .map(|i| {
                        let k = (t << 8) | i as u64;
                        if i + 1 == len || unit(seed ^ 7, k, 2) < 0.35 {
                            return leaf(unit(seed, k, 3) as f32 - 0.5);
                        }
                        let child = |salt| (i + 1 + pick(seed ^ salt, k, 4, len - i - 1)) as u16;
                        let value = match pick(seed, k, 5, 8) {
                            0 => f32::INFINITY,
                            1 => f32::NEG_INFINITY,
                            _ => unit(seed, k, 6) as f32,
                        };
                        Node {
                            feature: pick(seed, k, 7, N_TREE_FEATURES) as u16,
                            left: child(11),
                            right: child(13),
                            value,
                        }
                    })
                    .collect();
                trees.push(tree);
            }
            let f = Forest {
                blend: 0.5,
                base: unit(seed, 9, 9) as f32,
                trees,
            };
            assert!(f.is_well_formed());
            let Some(flat) = FlatForest::new(&f) else {
                continue;
            };
            for r in 0..20u64 {
                let x: [f32; N_TREE_FEATURES] =
                    std::array::from_fn(|j| match pick(seed, r, j as u64, 10) {
                        0 => f32::NAN,
                        1 => f32::INFINITY,
                        _ => unit(seed ^ 3, r, j as u64) as f32,
                    });
                assert_eq!(
                    f.log_odds(&x).to_bits(),
                    flat.log_odds(&x).to_bits(),
                    "seed {seed}"
                );
            }
            checked += 1;
        }
        assert!(checked > 300, "{checked} forests padded");
    }

    #[test]
    fn forests_too_deep_or_large_to_pad_keep_the_node_walk() {
        // A chain ten splits deep: 2^10 leaves a tree if padded.
        let mut chain: Vec<Node> = (0..10)
            .map(|i| Node {
                feature: 0,
                left: i + 1,
                right: 11,
                value: f32::from(i),
            })
            .collect();
        chain.extend([leaf(1.0), leaf(2.0)]);
        let deep = Forest {
            blend: 0.5,
            base: 0.0,
            trees: vec![chain],
        };
        assert!(deep.is_well_formed());
        assert!(FlatForest::new(&deep).is_none());
        let (x, y) = xor_data(500);
        let o = TreeOptions {
            n_trees: 1,
            max_depth: 6,
            ..TreeOptions::default()
        };
        let one = train(&x, &y, &vec![1.0; x.len()], &o);
        let fit = MAX_FLAT_SLOTS >> tree_depth(&one.trees[0]);
        let mut many = Forest {
            trees: vec![one.trees[0].clone(); fit],
            ..one
        };
        assert!(FlatForest::new(&many).is_some());
        many.trees.push(many.trees[0].clone());
        assert!(FlatForest::new(&many).is_none());
    }

    #[test]
    fn cuts_fall_between_values_and_nan_goes_left() {
        assert_eq!(cut_points(&[1.0, 1.0, 2.0, 4.0]), vec![1.5, 3.0]);
        let cuts = cut_points(&[1.0, 2.0, 4.0]);
        assert_eq!(
            [f32::NAN, 0.0, 1.0, 1.6, 2.0, 3.5, 9.0].map(|v| bin_of(&cuts, v)),
            [0, 1, 1, 2, 2, 3, 3]
        );
        let many: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        assert!(cut_points(&many).len() <= MAX_CUTS);
    }
}
