//! Detector presets: how much machine text a scan quarantines or holds up
//! for review, traded against genuine rows held back.
//!
//! A preset gives two thresholds on the calibrated score. A row scoring
//! above `quarantine` is `UNDISCLOSED_AI_TEXT`; one scoring above `review`
//! but not above `quarantine` still goes to the clean file and is listed in
//! the report for an admin to look at.
//!
//! PROVISIONAL: the values below are derived from the model shipped before
//! the presets existed, which stores a single threshold. The detector's
//! redesign replaces the body of [`Detector::thresholds`] with values
//! measured on held-out sources and stored in the model file; callers keep
//! this signature.

use super::Detector;
use super::model::sigmoid;

/// How eagerly the detector holds rows back (`[detector] sensitivity`,
/// `--sensitivity`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[clap(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Quarantine only text the model is surest of; no review tier
    Strict,
    /// Quarantine as `strict` does, and list borderline rows for review
    #[default]
    Balanced,
    /// Quarantine more machine text, at more risk to genuine rows
    Thorough,
}

impl Sensitivity {
    /// The name used in the policy, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Sensitivity::Strict => "strict",
            Sensitivity::Balanced => "balanced",
            Sensitivity::Thorough => "thorough",
        }
    }
}

impl std::fmt::Display for Sensitivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The scores from which a row is quarantined or listed for review; both
/// tiers start strictly above their threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub quarantine: f32,
    /// `None`: no review tier.
    pub review: Option<f32>,
}

/// Provisional shifts, in log-odds, from the model's single threshold `t`.
/// Relative rather than absolute so that a retrained model, whose `t` may
/// sit anywhere, gets presets that keep their order. On the shipped model
/// (`t` = 0.8683):
/// - `-1.29` gives 0.645, about the loosest of the four per-source
///   thresholds `crmguard train` chose for 1% human false positives on a
///   held-out source (m4 0.868, salminen 0.847, michigan 0.754, mixset
///   0.646). On two sources that model never saw (989 Amazon reviews from
///   2017, 120 gemini-2.5-flash support tickets; `crmguard eval
///   --sensitivity thorough`) it flags 0.2% of the human texts and 57.5% of
///   the machine ones, against 0.2% and 24.2% at `t`.
/// - `-1.89` gives 0.499: 1.5% of those human texts, 93.3% of the machine
///   ones.
const LOOSE_SHIFT: f32 = -1.29;
const LOOSER_SHIFT: f32 = -1.89;

fn shifted(t: f32, by: f32) -> f32 {
    let t = t.clamp(1e-6, 1.0 - 1e-6);
    sigmoid((t / (1.0 - t)).ln() + by)
}

impl Detector {
    /// The thresholds a preset stands for with this model.
    pub fn thresholds(&self, s: Sensitivity) -> Thresholds {
        let t = self.shipped_threshold();
        match s {
            Sensitivity::Strict => Thresholds {
                quarantine: t,
                review: None,
            },
            Sensitivity::Balanced => Thresholds {
                quarantine: t,
                review: Some(shifted(t, LOOSE_SHIFT)),
            },
            Sensitivity::Thorough => Thresholds {
                quarantine: shifted(t, LOOSE_SHIFT),
                review: Some(shifted(t, LOOSER_SHIFT)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_ordered_and_review_sits_below_quarantine() {
        let d = Detector::embedded();
        let strict = d.thresholds(Sensitivity::Strict);
        let balanced = d.thresholds(Sensitivity::Balanced);
        let thorough = d.thresholds(Sensitivity::Thorough);
        assert_eq!(strict.quarantine, d.shipped_threshold());
        assert!(strict.review.is_none());
        assert!(balanced.quarantine <= strict.quarantine);
        assert!(thorough.quarantine < balanced.quarantine);
        for t in [balanced, thorough] {
            let r = t.review.expect("a review tier");
            assert!((0.0..t.quarantine).contains(&r), "{t:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in [
            Sensitivity::Strict,
            Sensitivity::Balanced,
            Sensitivity::Thorough,
        ] {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<Sensitivity>(&json).unwrap(), s);
        }
        assert_eq!(Sensitivity::default(), Sensitivity::Balanced);
    }
}
