//! Thresholds from a team's own genuine texts (`crmguard calibrate`).
//!
//! The presets' thresholds are measured on sources the model never saw, and
//! they meet their target as a mean over those sources: formal prose such as
//! e-mail loses several times the target, casual reviews almost nothing
//! (docs/detector.md, "The false positives are uneven"). No one threshold is
//! right for both. A team that holds texts of its own that people wrote (an
//! export from before chat models) can see where they score and put the
//! threshold there: stricter where its genuine texts score high, looser where
//! they score low, which is where the model's ranking turns into recall.

use super::metrics::threshold_in_descending;

/// A threshold set so that at most `target` of the genuine texts score above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    /// Texts scoring strictly above it are held back, as `scan` compares.
    pub threshold: f32,
    /// Genuine texts above the threshold.
    pub above: usize,
    /// Genuine texts the threshold was set on.
    pub of: usize,
    /// One-sided 95% upper confidence bound on the rate at which genuine
    /// texts like these score above the threshold (Clopper–Pearson): what
    /// `above / of` can promise about texts not yet seen.
    pub upper_bound: f64,
}

impl Cut {
    pub fn rate(&self) -> f64 {
        self.above as f64 / self.of as f64
    }
}

/// Fewer genuine texts than this say too little about a rate under 1% to
/// set a threshold from: even none above would bound it only at 3%.
pub const MIN_GENUINE: usize = 100;

/// Genuine texts' scores, sorted once (highest first) for every threshold
/// set from them.
pub struct Genuine {
    desc: Vec<f32>,
}

impl Genuine {
    pub fn new(mut scores: Vec<f32>) -> Genuine {
        scores.sort_by(|a, b| b.total_cmp(a));
        Genuine { desc: scores }
    }

    pub fn len(&self) -> usize {
        self.desc.len()
    }

    pub fn is_empty(&self) -> bool {
        self.desc.is_empty()
    }

    pub fn scores(&self) -> &[f32] {
        &self.desc
    }

    /// The lowest threshold above which at most `target` (a fraction) of
    /// the scores lie, by the rule the presets are set by
    /// ([`threshold_in_descending`]). `None` when there are fewer than
    /// [`MIN_GENUINE`] of them, or the target lets every text above. Ties
    /// at the threshold are not above it, so the rate holds however many
    /// texts share a score.
    pub fn cut(&self, target: f64) -> Option<Cut> {
        if self.desc.len() < MIN_GENUINE {
            return None;
        }
        let threshold = threshold_in_descending(&self.desc, target);
        if threshold == f32::NEG_INFINITY {
            return None;
        }
        let above = self.desc.iter().take_while(|s| **s > threshold).count();
        Some(Cut {
            threshold,
            above,
            of: self.desc.len(),
            upper_bound: rate_upper_bound(above, self.desc.len(), 0.95),
        })
    }
}

/// The one-sided upper confidence bound on a rate seen as `k` in `n`
/// (Clopper–Pearson): the largest rate under which `k` or fewer would
/// still be seen with probability `1 - confidence`. Hand-rolled because it
/// is one bisection over a binomial tail, summed in log space so that a
/// million texts do not underflow; a statistics crate would bring far more
/// than this needs.
pub fn rate_upper_bound(k: usize, n: usize, confidence: f64) -> f64 {
    if n == 0 || k >= n {
        return 1.0;
    }
    let alpha = 1.0 - confidence;
    let (mut lo, mut hi) = (k as f64 / n as f64, 1.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if binomial_cdf(k, n, mid) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// P(X <= k) for X ~ Binomial(n, p), 0 < p < 1.
fn binomial_cdf(k: usize, n: usize, p: f64) -> f64 {
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    // log C(n, i) p^i q^(n-i), term by term from i = 0.
    let mut log_term = n as f64 * lq;
    let mut logs = Vec::with_capacity(k + 1);
    for i in 0..=k {
        if i > 0 {
            log_term += ((n - i + 1) as f64 / i as f64).ln() + lp - lq;
        }
        logs.push(log_term);
    }
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = logs.iter().map(|l| (l - max).exp()).sum();
    (max + sum.ln()).exp().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_holds_at_most_the_target_above_it() {
        // 1,000 distinct scores 0.000..0.999: 0.5% is 5 texts, so the
        // threshold is the sixth highest and exactly five lie above it.
        let scores: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let c = Genuine::new(scores.clone()).cut(0.005).unwrap();
        assert_eq!(c.above, 5);
        assert_eq!(c.of, 1000);
        assert_eq!(c.threshold, 994.0 / 1000.0);
        assert_eq!(scores.iter().filter(|s| **s > c.threshold).count(), 5);
        // A target of nothing puts it at the highest score.
        let none = Genuine::new(scores.clone()).cut(0.0).unwrap();
        assert_eq!((none.above, none.threshold), (0, 0.999));
    }

    #[test]
    fn ties_at_the_threshold_are_not_above_it() {
        // 20 texts share the top score: a threshold below it would hold
        // back 20, four times a 5-in-1,000 target, so it sits on the tie.
        let mut scores = vec![0.9f32; 20];
        scores.extend((0..980).map(|i| i as f32 / 10_000.0));
        let c = Genuine::new(scores.clone()).cut(0.005).unwrap();
        assert_eq!((c.threshold, c.above), (0.9, 0));
    }

    #[test]
    fn too_few_genuine_texts_set_nothing() {
        assert!(
            Genuine::new(vec![0.1; MIN_GENUINE - 1])
                .cut(0.005)
                .is_none()
        );
        assert!(Genuine::new(vec![0.1; MIN_GENUINE]).cut(0.005).is_some());
    }

    #[test]
    fn the_upper_bound_matches_known_values() {
        // None in n: the bound solves (1 - p)^n = 0.05, the "rule of three".
        let b = rate_upper_bound(0, 1000, 0.95);
        assert!((b - (1.0 - 0.05f64.powf(1.0 / 1000.0))).abs() < 1e-9, "{b}");
        // 5 in 1,000: 1.05% (the exact one-sided Clopper-Pearson value,
        // the 0.95 quantile of Beta(6, 995)).
        let b = rate_upper_bound(5, 1000, 0.95);
        assert!((b - 0.010_48).abs() < 2e-4, "{b}");
        // A million texts neither underflow nor lose the rate.
        let b = rate_upper_bound(5000, 1_000_000, 0.95);
        assert!(b > 0.005 && b < 0.0052, "{b}");
        assert_eq!(rate_upper_bound(3, 3, 0.95), 1.0);
    }
}
