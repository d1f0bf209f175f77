//! Sample weights, Platt calibration and the presets' thresholds: how training
//! turns held-out scores into probabilities and decisions.

use super::ScoreParts;
use super::corpus::{Balance, Prepared};
use super::model::{N_LEN_BANDS, N_PRESETS, length_band};
use super::tokens::fmix;
use std::collections::BTreeMap;

/// The presets' targets: the share of genuine texts each may hold back, as the
/// mean over held-out sources of each source's false-positive rate, for the
/// quarantine and the review threshold (`None`: no review tier). Strict,
/// balanced (the default), thorough.
pub const PRESET_FPR: [(f64, Option<f64>); N_PRESETS] =
    [(0.001, None), (0.005, Some(0.02)), (0.02, Some(0.05))];

/// Sources into at most `k` folds of about equal rows, each source whole and
/// each family whole (`families`: lists of source-name prefixes that share
/// items or a prompt design, so that one must not calibrate the other): the
/// largest first, each to the fold with the fewest rows so far (ties to the
/// first), so the folds depend on the data alone.
pub fn source_folds(
    prep: &Prepared,
    rows: &[usize],
    k: usize,
    families: &[Vec<String>],
) -> Vec<Vec<usize>> {
    let n_src = prep.sources.len();
    // A family's key is past every source index, so it never meets one.
    let key = |s: u16| -> usize {
        let name = &prep.sources[s as usize];
        (families.iter())
            .position(|f| f.iter().any(|p| name.starts_with(p.as_str())))
            .map_or(s as usize, |i| n_src + i)
    };
    let mut by_source: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &r in rows {
        by_source
            .entry(key(prep.docs[r].source))
            .or_default()
            .push(r);
    }
    let mut sources: Vec<(usize, Vec<usize>)> = by_source.into_iter().collect();
    sources.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    let mut folds: Vec<Vec<usize>> = vec![Vec::new(); k.min(sources.len())];
    for (_, rs) in sources {
        let f = (0..folds.len())
            .min_by_key(|&f| folds[f].len())
            .expect("a fold");
        folds[f].extend(rs);
    }
    for f in &mut folds {
        f.sort_unstable();
    }
    folds
}

/// Groups hashed into `k` folds.
pub fn kfold(prep: &Prepared, rows: &[usize], k: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut folds = vec![Vec::new(); k];
    for &r in rows {
        folds[(fmix(prep.docs[r].group ^ seed) % k as u64) as usize].push(r);
    }
    folds.retain(|f| !f.is_empty());
    folds
}

pub(crate) fn length_bin(words: u32) -> usize {
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
        Balance::ClassSourceLength => class_source_length(prep, rows, &mut w),
    }
    let s: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= s.max(1e-300));
    w
}

/// [`Balance::ClassSourceLength`] into `w` (aligned with `rows`).
fn class_source_length(prep: &Prepared, rows: &[usize], w: &mut [f64]) {
    let n_src = prep.sources.len();
    let mut cnt = vec![[0f64; 2]; n_src];
    for &r in rows {
        cnt[prep.docs[r].source as usize][prep.docs[r].machine as usize] += 1.0;
    }
    // Each (source, class) a mass of sqrt(rows): a 10,000-row corpus counts
    // ten times a 100-row one, not a hundred times.
    for (i, &r) in rows.iter().enumerate() {
        let d = &prep.docs[r];
        let n = cnt[d.source as usize][d.machine as usize];
        w[i] = n.sqrt() / n;
    }
    let class_norm = |w: &mut [f64]| {
        let mut tot = [0f64; 2];
        for (i, &r) in rows.iter().enumerate() {
            tot[prep.docs[r].machine as usize] += w[i];
        }
        for (i, &r) in rows.iter().enumerate() {
            w[i] /= tot[prep.docs[r].machine as usize].max(1e-300);
        }
    };
    class_norm(w);
    // Match the classes' length distributions: each bin gets the mean of the two
    // classes' mass in it, a class's rows in the bin scaled to that (at most
    // tenfold either way, so a bin one class barely has is not blown up).
    let mut bins: BTreeMap<usize, [f64; 2]> = BTreeMap::new();
    for (i, &r) in rows.iter().enumerate() {
        let d = &prep.docs[r];
        bins.entry(length_bin(d.words)).or_default()[d.machine as usize] += w[i];
    }
    for (i, &r) in rows.iter().enumerate() {
        let d = &prep.docs[r];
        let m = bins[&length_bin(d.words)];
        let own = m[d.machine as usize];
        w[i] *= ((m[0] + m[1]) / 2.0 / own.max(1e-300)).clamp(0.1, 10.0);
    }
    class_norm(w);
}

/// Platt (a, b) per length band on held-out margins, the classes at equal
/// weight within each band (their balance weights otherwise): a band's score is
/// P(machine) at even odds for texts of that length.
pub fn platt_per_band(
    prep: &Prepared,
    rows: &[usize],
    oof_margin: &[f32],
    balance: Balance,
) -> [(f32, f32); N_LEN_BANDS] {
    let w = balance_weights(prep, rows, balance);
    let mut all = (Vec::new(), Vec::new(), Vec::new());
    let mut per: Vec<(Vec<f64>, Vec<bool>, Vec<f64>)> =
        (0..N_LEN_BANDS).map(|_| Default::default()).collect();
    for (i, &r) in rows.iter().enumerate() {
        let d = &prep.docs[r];
        let b = &mut per[length_band(d.words as usize)];
        b.0.push(oof_margin[r] as f64);
        b.1.push(d.machine);
        b.2.push(w[i]);
        all.0.push(oof_margin[r] as f64);
        all.1.push(d.machine);
        all.2.push(w[i]);
    }
    let fit_band = |(m, y, w): &(Vec<f64>, Vec<bool>, Vec<f64>)| platt_balanced(m, y, w);
    // A band without both classes takes the calibration of all lengths.
    let pooled = fit_band(&all).unwrap_or((1.0, 0.0));
    std::array::from_fn(|b| {
        let (a, c) = fit_band(&per[b]).unwrap_or(pooled);
        (a as f32, c as f32)
    })
}

/// [`platt`] with the two classes at equal total weight (each row keeping its
/// share of its class's weight `w`); `None` without both classes.
fn platt_balanced(m: &[f64], y: &[bool], w: &[f64]) -> Option<(f64, f64)> {
    let mut tot = [0f64; 2];
    for (yi, wi) in y.iter().zip(w) {
        tot[*yi as usize] += wi;
    }
    let w: Vec<f64> = (y.iter().zip(w))
        .map(|(yi, wi)| wi / tot[*yi as usize].max(1e-300) / 2.0)
        .collect();
    (tot[0] > 0.0 && tot[1] > 0.0).then(|| platt(m, y, &w))
}

/// The lowest threshold `t` at which flagging `score > t` holds back at most
/// `target` of the human texts, as the mean over sources of each source's share:
/// every source counts the same, however many rows it has. `humans` holds
/// (source, held-out score). Ties at `t` are not flagged.
pub fn threshold_at_mean_fpr(humans: &[(u16, f32)], target: f64) -> f32 {
    let mut n: BTreeMap<u16, f64> = BTreeMap::new();
    for (s, _) in humans {
        *n.entry(*s).or_default() += 1.0;
    }
    if n.is_empty() {
        return 0.5;
    }
    let n_src = n.len() as f64;
    let mut sorted: Vec<(f32, f64)> = humans.iter().map(|(s, x)| (*x, 1.0 / n[s])).collect();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    // Walking down the scores: `above` is the mean FPR of flagging every score
    // strictly above the current one.
    let mut above = 0.0;
    let mut t = f32::INFINITY;
    let mut i = 0;
    while i < sorted.len() {
        let x = sorted[i].0;
        if above / n_src > target + 1e-12 {
            break;
        }
        t = x;
        while i < sorted.len() && sorted[i].0 == x {
            above += sorted[i].1;
            i += 1;
        }
    }
    if i == sorted.len() && above / n_src <= target + 1e-12 {
        // Flagging everything stays within the target.
        return 0.0;
    }
    t.min(0.9999)
}

/// The log-odds of a length band that [`fit_recalibration`] gives no say: the
/// evidence rules (at most +2.5) keep it under any threshold a preset sets.
pub const NO_SAY: f32 = -12.0;

/// One judged text of a source a whole training run left out: what `crmguard
/// eval --scores` wrote for it.
#[derive(Clone, Copy, Debug)]
pub struct HeldRow {
    pub source: u16,
    pub machine: bool,
    pub parts: ScoreParts,
}

/// Per length band, `(a, b)` such that `a · log_odds + b` is the log-odds
/// that held-out texts of that band bear out: Platt scaling of the held-out
/// model log-odds, each class weighing the same within a band.
///
/// A model's own calibration fits its bands on sources its calibration folds
/// leave out; leave-one-source-out showed that texts of under 20 words rank
/// below chance on sources a whole run never saw (docs/detector.md), while
/// that calibration still lets them score as high as long ones. Thresholds on
/// one score then spend the false-positive budget on short human texts and
/// catch no short machine text for it. Recalibrated per band, a score means
/// the same odds whatever the length, and one threshold per preset divides the
/// budget where it buys recall. A band whose held-out log-odds rank worse than
/// chance gets no say, `(0, NO_SAY)`: its texts are flagged by the decisive
/// artefact rules alone. Never a negative slope, which would rank its texts
/// backwards on the strength of one data set; nor the class balance (`b = 0`,
/// a probability of 0.5), on which the evidence rules alone would quarantine
/// a short human template ("[First Name]" adds 1.5), which they must not. A
/// band without both classes keeps its log-odds (`(1, 0)`).
pub fn fit_recalibration(rows: &[HeldRow]) -> [(f32, f32); N_LEN_BANDS] {
    std::array::from_fn(|band| {
        let of_band: Vec<&HeldRow> = (rows.iter())
            .filter(|r| length_band(r.parts.words) == band)
            .collect();
        let m: Vec<f64> = of_band
            .iter()
            .map(|r| f64::from(r.parts.log_odds))
            .collect();
        let y: Vec<bool> = of_band.iter().map(|r| r.machine).collect();
        match platt_balanced(&m, &y, &vec![1.0; y.len()]) {
            None => (1.0, 0.0),
            Some((a, b)) if a > 0.0 => (a as f32, b as f32),
            Some(_) => (0.0, NO_SAY),
        }
    })
}

/// A held-out row's score after [`fit_recalibration`]'s `recal`, the artefact
/// rules combined as the scorer combines them.
pub fn recalibrated_score(row: &HeldRow, recal: &[(f32, f32); N_LEN_BANDS]) -> f32 {
    let (a, b) = recal[length_band(row.parts.words)];
    row.parts.score_with(a * row.parts.log_odds + b)
}

/// The presets' (quarantine, review) thresholds from held-out human scores (see
/// [`PRESET_FPR`]); a review threshold is kept only below its quarantine one.
pub fn preset_thresholds(humans: &[(u16, f32)]) -> [(f32, f32); N_PRESETS] {
    PRESET_FPR.map(|(q, r)| {
        let tq = threshold_at_mean_fpr(humans, q);
        let tr = r.map_or(f32::NAN, |r| threshold_at_mean_fpr(humans, r));
        (tq, if tr < tq { tr } else { f32::NAN })
    })
}

/// Each source's held-out human false-positive rate at each preset's quarantine
/// threshold.
pub fn per_source_fpr(
    humans: &[(u16, f32)],
    presets: &[(f32, f32); N_PRESETS],
) -> Vec<(u16, [f64; N_PRESETS])> {
    let mut by: BTreeMap<u16, (f64, [f64; N_PRESETS])> = BTreeMap::new();
    for (s, x) in humans {
        let e = by.entry(*s).or_default();
        e.0 += 1.0;
        for (k, p) in presets.iter().enumerate() {
            e.1[k] += f64::from(u8::from(*x > p.0));
        }
    }
    by.into_iter()
        .map(|(s, (n, f))| (s, f.map(|x| x / n)))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_fpr_threshold_counts_every_source_equally() {
        // Source 0: 1,000 texts scored 0.000..0.999; source 1: 10 texts scored 0.9.
        let mut h: Vec<(u16, f32)> = (0..1000).map(|i| (0, i as f32 / 1000.0)).collect();
        h.extend((0..10).map(|_| (1u16, 0.9f32)));
        // 1% mean FPR: source 1 all flagged would be 50% alone, so t >= 0.9; then
        // source 0 may lose 2% of its texts: those above 0.979 (0.980..0.999).
        let t = threshold_at_mean_fpr(&h, 0.01);
        assert_eq!(t, 0.979);
        let f = per_source_fpr(&h, &[(t, f32::NAN); N_PRESETS]);
        assert_eq!(f[1].1[0], 0.0);
        assert!((f[0].1[0] - 0.02).abs() < 1e-9);
        // Nothing may be flagged: the threshold is the top score.
        assert_eq!(threshold_at_mean_fpr(&h, 0.0), 0.999);
    }

    #[test]
    fn presets_are_ordered() {
        let h: Vec<(u16, f32)> = (0..5000)
            .map(|i| ((i % 3) as u16, (i as f32 * 0.618).fract()))
            .collect();
        let p = preset_thresholds(&h);
        assert!(p[0].1.is_nan());
        assert!(p[0].0 >= p[1].0 && p[1].0 >= p[2].0);
        assert!(p[1].1 < p[1].0 && p[2].1 < p[2].0);
    }

    fn held(machine: bool, words: usize, log_odds: f32) -> HeldRow {
        HeldRow {
            source: u16::from(machine),
            machine,
            parts: ScoreParts {
                words,
                log_odds,
                evidence: 0.0,
                decisive: 0.0,
            },
        }
    }

    #[test]
    fn recalibration_follows_each_bands_held_out_ranking() {
        let mut rows = Vec::new();
        for k in 0..200 {
            let x = (k as f32 * 0.618).fract() * 4.0 - 2.0;
            // Short texts: machine rows score lower than human ones.
            rows.push(held(false, 10, x + 1.0));
            rows.push(held(true, 10, x - 1.0));
            // 20-49 words: machine rows score higher, overlapping.
            rows.push(held(false, 30, x - 1.0));
            rows.push(held(true, 30, x + 1.0));
            // 50+ words: human rows only.
            rows.push(held(false, 80, x));
        }
        let r = fit_recalibration(&rows);
        assert_eq!(r[0], (0.0, NO_SAY), "a band ranked backwards has no say");
        assert!(r[1].0 > 0.0, "{r:?}");
        assert!(r[1].1.abs() < 0.05, "classes mirror each other: {r:?}");
        assert_eq!(r[2], (1.0, 0.0), "one class only: left as it is");
        // Within a band the order of scores is kept.
        let s = |w, x| recalibrated_score(&held(false, w, x), &r);
        assert!(s(30, 1.0) > s(30, 0.5));
        assert_eq!(s(10, 3.0), s(10, -3.0));
        for row in &rows[..5] {
            assert!((0.0..=1.0).contains(&recalibrated_score(row, &r)));
        }
        // Left as it is, a row scores what the scorer gave it.
        let row = held(true, 80, 1.7);
        assert_eq!(recalibrated_score(&row, &r), row.parts.score());
    }
}
