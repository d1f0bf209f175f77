//! Evaluation metrics. `labels[i]` is true for machine text (the positive class).

/// Area under the ROC curve via the rank-sum statistic, ties counted half. Returns
/// NaN when one class is missing.
pub fn auroc(scores: &[f32], labels: &[bool]) -> f64 {
    assert_eq!(scores.len(), labels.len());
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum_pos, mut n_pos) = (0f64, 0usize);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += avg_rank;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = scores.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return f64::NAN;
    }
    (rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0) / (n_pos as f64 * n_neg as f64)
}

/// The lowest threshold `t` such that flagging `score > t` keeps the false-positive
/// rate at or below `fpr`. Ties at `t` are never flagged, so the bound holds even
/// when many human texts share a score.
pub fn threshold_at_fpr(scores: &[f32], labels: &[bool], fpr: f64) -> f32 {
    let mut neg: Vec<f32> = scores
        .iter()
        .zip(labels)
        .filter(|(_, l)| !**l)
        .map(|(s, _)| *s)
        .collect();
    neg.sort_by(|a, b| b.total_cmp(a));
    threshold_in_descending(&neg, fpr)
}

/// [`threshold_at_fpr`] on human scores sorted highest first: the score
/// at which at most `fpr` of them lie strictly above. The tolerance keeps
/// 0.5% of 1,000 at 5, not 4, for a product that rounds just under.
pub fn threshold_in_descending(neg: &[f32], fpr: f64) -> f32 {
    let allowed = (fpr * neg.len() as f64 + 1e-9).floor() as usize;
    neg.get(allowed).copied().unwrap_or(f32::NEG_INFINITY)
}

/// True-positive rate at the strictest threshold whose FPR is at most `fpr`.
/// NaN when there is no human text: no rate of false positives can be held
/// to, and the threshold of no human scores flags every text, which would
/// read as a perfect detector.
pub fn tpr_at_fpr(scores: &[f32], labels: &[bool], fpr: f64) -> f64 {
    if labels.iter().all(|l| *l) {
        return f64::NAN;
    }
    let t = threshold_at_fpr(scores, labels, fpr);
    at_threshold(scores, labels, t).recall
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    pub fn_: usize,
    /// NaN when nothing was flagged.
    pub precision: f64,
    /// NaN when there is no machine text.
    pub recall: f64,
    /// NaN when there is no human text.
    pub fpr: f64,
}

/// Confusion counts when texts with `score > t` are flagged as machine.
pub fn at_threshold(scores: &[f32], labels: &[bool], t: f32) -> Confusion {
    let mut c = Confusion::default();
    for (s, l) in scores.iter().zip(labels) {
        match (*s > t, *l) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    let div = |a: usize, b: usize| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    c.precision = div(c.tp, c.tp + c.fp);
    c.recall = div(c.tp, c.tp + c.fn_);
    c.fpr = div(c.fp, c.fp + c.tn);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_known_values() {
        assert_eq!(
            auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            1.0
        );
        assert_eq!(
            auroc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            0.0
        );
        // One of four positive/negative pairs misordered.
        assert_eq!(
            auroc(&[0.1, 0.6, 0.5, 0.9], &[false, false, true, true]),
            0.75
        );
        // All tied: chance.
        assert_eq!(auroc(&[0.5; 4], &[false, true, false, true]), 0.5);
        assert!(auroc(&[0.5, 0.6], &[true, true]).is_nan());
    }

    #[test]
    fn tpr_at_fpr_known_values() {
        // 10 negatives 0.0..0.9, positives at 0.35, 0.85, 0.95, 0.99.
        let mut s: Vec<f32> = (0..10).map(|i| i as f32 / 10.0).collect();
        let mut l = vec![false; 10];
        s.extend([0.35, 0.85, 0.95, 0.99]);
        l.extend([true; 4]);
        // FPR 0: threshold = max negative 0.9 -> positives above: 0.95, 0.99.
        assert_eq!(threshold_at_fpr(&s, &l, 0.0), 0.9);
        assert_eq!(tpr_at_fpr(&s, &l, 0.0), 0.5);
        // FPR 10% allows one negative above: t = 0.8 -> 0.85, 0.95, 0.99.
        assert_eq!(tpr_at_fpr(&s, &l, 0.1), 0.75);
        // 5% of 10 negatives rounds down to zero allowed.
        assert_eq!(tpr_at_fpr(&s, &l, 0.05), 0.5);
        assert!(tpr_at_fpr(&[0.1, 0.2], &[true, true], 0.01).is_nan());
    }

    #[test]
    fn threshold_ties_are_not_flagged() {
        let s = [0.5f32, 0.5, 0.5, 0.9];
        let l = [false, false, false, true];
        let t = threshold_at_fpr(&s, &l, 0.34);
        let c = at_threshold(&s, &l, t);
        assert!(c.fpr <= 0.34);
    }

    #[test]
    fn confusion_at_threshold() {
        let c = at_threshold(&[0.2, 0.7, 0.9, 0.4], &[false, false, true, true], 0.5);
        assert_eq!((c.tp, c.fp, c.tn, c.fn_), (1, 1, 1, 1));
        assert_eq!(c.precision, 0.5);
        assert_eq!(c.recall, 0.5);
        assert_eq!(c.fpr, 0.5);
    }
}
