//! Detector presets: how much machine text a scan quarantines or holds up
//! for review, traded against genuine rows held back.
//!
//! A preset gives two thresholds on the calibrated score. A row scoring
//! above `quarantine` is `UNDISCLOSED_AI_TEXT`; one scoring above `review`
//! but not above `quarantine` still goes to the clean file and is listed in
//! the report for an admin to look at.
//!
//! The values are measured, not chosen: `crmguard train` sets each from the
//! false-positive rates of human texts from sources left out of the fit, and
//! stores them in the model file.

use super::Detector;

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
#[repr(usize)]
pub enum Sensitivity {
    /// Quarantine only text the model is surest of; no review tier
    Strict,
    /// Quarantine a little more than `strict`, and list borderline rows for review
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

impl Detector {
    /// The thresholds a preset stands for with this model: measured by
    /// `crmguard train` on sources held out of the fit and stored in the model
    /// file (docs/detector.md, "Presets").
    pub fn thresholds(&self, s: Sensitivity) -> Thresholds {
        let (quarantine, review) = self.model().presets[s as usize];
        Thresholds {
            quarantine,
            review: (!review.is_nan()).then_some(review),
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
        assert_eq!(balanced.quarantine, d.shipped_threshold());
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
