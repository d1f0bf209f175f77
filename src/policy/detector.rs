//! `[detector]`: the detector's preset, thresholds, columns and model.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::PolicySource;
use crate::detector::{Sensitivity, Thresholds};
use crate::error::Located;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct DetectorSection {
    enabled: bool,
    sensitivity: Sensitivity,
    threshold: Option<f32>,
    review_threshold: Option<f32>,
    text_columns: Vec<String>,
    model: Option<PathBuf>,
    calibrated_model: Option<String>,
}

impl Default for DetectorSection {
    fn default() -> Self {
        DetectorSection {
            enabled: true,
            sensitivity: Sensitivity::default(),
            threshold: None,
            review_threshold: None,
            text_columns: Vec::new(),
            model: None,
            calibrated_model: None,
        }
    }
}

/// How the AI-text detector runs (`[detector]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DetectorPolicy {
    pub enabled: bool,
    /// The preset whose thresholds apply where the keys below do not.
    pub sensitivity: Sensitivity,
    /// `None`: the preset's quarantine threshold.
    pub threshold: Option<f32>,
    /// `None`: the preset's review threshold, if it has one below the
    /// quarantine threshold in force.
    pub review_threshold: Option<f32>,
    /// Where `review_threshold` is written (its message empty), for the
    /// error only the model can reveal: a review threshold that is not
    /// below the preset's quarantine threshold.
    review_threshold_at: Option<Located>,
    /// Columns to judge; empty: inferred per file.
    pub text_columns: Vec<String>,
    /// A retrained model file instead of the built-in one, resolved
    /// against the policy file's directory.
    pub model: Option<PathBuf>,
    /// The model (blake3 of its bytes, lower-case hex) the thresholds were
    /// set for by `crmguard calibrate`, and where the key is written: a
    /// threshold means a share of one model's scores, and nothing for
    /// another's.
    pub calibrated_model: Option<(String, Located)>,
}

/// Validates the section; `key_at` locates an error at a key of the file.
pub(super) fn resolve(
    d: &DetectorSection,
    source: &PolicySource,
    key_at: impl Fn(&str, String) -> Located,
) -> Result<DetectorPolicy, Located> {
    for (key, value) in [
        ("threshold", d.threshold),
        ("review_threshold", d.review_threshold),
    ] {
        if let Some(t) = value
            && !(0.0..=1.0).contains(&t)
        {
            return Err(key_at(
                key,
                format!("[detector] {key} {t} is not in [0, 1]"),
            ));
        }
    }
    if let (Some(q), Some(r)) = (d.threshold, d.review_threshold)
        && r >= q
    {
        return Err(key_at(
            "review_threshold",
            format!(
                "[detector] review_threshold {r} is not below threshold {q}: a row is listed \
                 for review when it scores above review_threshold but not above threshold"
            ),
        ));
    }
    let calibrated_model = match &d.calibrated_model {
        Some(id) if !is_model_id(id) => {
            return Err(key_at(
                "calibrated_model",
                format!(
                    "[detector] calibrated_model `{}` is not a model's blake3 (64 hex digits), \
                     as `crmguard calibrate` prints it",
                    crate::error::excerpt(id)
                ),
            ));
        }
        Some(id) => Some((
            id.to_ascii_lowercase(),
            key_at("calibrated_model", String::new()),
        )),
        None => None,
    };
    Ok(DetectorPolicy {
        calibrated_model,
        enabled: d.enabled,
        sensitivity: d.sensitivity,
        threshold: d.threshold,
        review_threshold: d.review_threshold,
        review_threshold_at: d
            .review_threshold
            .map(|_| key_at("review_threshold", String::new())),
        text_columns: d
            .text_columns
            .iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect(),
        model: d
            .model
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| match (&source, p.is_relative()) {
                (PolicySource::File(f), true) => f.parent().unwrap_or(Path::new("")).join(p),
                _ => p.clone(),
            }),
    })
}

fn is_model_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl DetectorPolicy {
    /// Refuses thresholds set for a model other than `id`, the one in use
    /// (`model`: how it was given, for the message).
    pub fn check_calibrated_for(&self, id: &str, model: &str) -> Result<(), Located> {
        match &self.calibrated_model {
            Some((want, at)) if want != id => {
                let mut e = at.clone();
                e.message = format!(
                    "[detector] calibrated_model: the thresholds were set for the model {}…, \
                     and this run's is {model}, {}…: run `crmguard calibrate` again with it, \
                     or delete calibrated_model to keep the thresholds anyway",
                    &want[..12],
                    &id[..12.min(id.len())]
                );
                Err(e)
            }
            _ => Ok(()),
        }
    }

    /// The thresholds in force: those of the preset `sensitivity` (the
    /// policy's, or the one `--sensitivity` names) with the policy's keys
    /// over them. A preset's review threshold that is not below a
    /// `threshold` the policy sets leaves no room for a review tier, and is
    /// dropped (the report records the thresholds used): a policy written
    /// before the presets keeps meaning what it meant. A `review_threshold`
    /// the policy sets that is not below the quarantine threshold is an
    /// error.
    pub fn thresholds(
        &self,
        sensitivity: Sensitivity,
        preset: Thresholds,
    ) -> Result<Thresholds, Located> {
        let quarantine = self.threshold.unwrap_or(preset.quarantine);
        let review = match self.review_threshold {
            Some(r) if r >= quarantine => {
                let mut e = self
                    .review_threshold_at
                    .clone()
                    .unwrap_or_else(|| Located::new(Path::new("<policy>"), 1, 1, String::new()));
                e.message = format!(
                    "[detector] review_threshold {r} is not below the quarantine threshold \
                     {quarantine} of sensitivity \"{sensitivity}\": lower it, or set threshold \
                     above it"
                );
                return Err(e);
            }
            Some(r) => Some(r),
            None => preset.review.filter(|r| *r < quarantine),
        };
        Ok(Thresholds { quarantine, review })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn parse(text: &str) -> Result<Policy, Located> {
        Policy::parse(text, PolicySource::File("p.toml".into()))
    }

    #[test]
    fn detector_keys_over_the_preset() {
        let preset = Thresholds {
            quarantine: 0.9,
            review: Some(0.7),
        };
        let t = |text: &str| {
            let p = parse(text).unwrap();
            p.detector.thresholds(p.detector.sensitivity, preset)
        };
        assert_eq!(t("").unwrap(), preset);
        let p = parse("[detector]\nsensitivity = \"thorough\"\n").unwrap();
        assert_eq!(p.detector.sensitivity, Sensitivity::Thorough);
        let over = t("[detector]\nthreshold = 0.8\nreview_threshold = 0.5\n").unwrap();
        assert_eq!((over.quarantine, over.review), (0.8, Some(0.5)));
        // A threshold at or under the preset's review threshold: no tier.
        let low = t("[detector]\nthreshold = 0.7\n").unwrap();
        assert_eq!((low.quarantine, low.review), (0.7, None));
        // A review threshold at or over the preset's quarantine threshold.
        let err = t("[detector]\nenabled = true\nreview_threshold = 0.9\n").unwrap_err();
        assert_eq!((err.line, err.column), (3, 1));
        assert!(err.message.contains("\"balanced\""), "{err}");
    }
}
