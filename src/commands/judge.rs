//! The detector a command judges with, and its thresholds. `scan`, `detect`
//! and `eval` resolve them here, so one policy means the same to all three:
//! the model from `--model` or the policy, the preset from `--sensitivity`
//! or the policy, and the policy's `threshold` and `review_threshold` over
//! the preset's values.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::detector::{Detector, Sensitivity, Thresholds};
use crate::policy::Policy;
use crate::rules::AiSettings;

/// The flags that choose the detector, for the commands that judge text as
/// `scan` would (`detect`, `eval`): declared once, so that they read the
/// same in both.
#[derive(clap::Args, Debug)]
pub struct DetectorArgs {
    /// A model from `crmguard train` [default: the policy's, else the built-in one]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Policy file, for its [detector] model, sensitivity and thresholds [default: $CRMGUARD_POLICY, else the nearest crmguard.toml up to the repository root]
    #[arg(short, long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Detector preset, instead of the policy's [detector] sensitivity
    #[arg(long, value_enum, value_name = "PRESET")]
    pub sensitivity: Option<Sensitivity>,
}

impl DetectorArgs {
    /// The policy in force and the judge it and the flags make.
    pub fn load(&self) -> anyhow::Result<(Policy, Judge)> {
        let policy = Policy::discover(self.policy.as_deref())?;
        let judge = Judge::load(&policy, self.model.as_deref(), self.sensitivity)?;
        Ok((policy, judge))
    }
}

pub struct Judge {
    detector: Loaded,
    pub sensitivity: Sensitivity,
    pub thresholds: Thresholds,
}

enum Loaded {
    Embedded(&'static Detector),
    Own(Box<Detector>),
}

impl Judge {
    /// `model` and `sensitivity` are the command line's, over the policy's.
    /// Thresholds the policy says were calibrated for another model are
    /// refused.
    pub fn load(
        policy: &Policy,
        model: Option<&Path>,
        sensitivity: Option<Sensitivity>,
    ) -> anyhow::Result<Judge> {
        let judge = Judge::load_any(policy, model, sensitivity)?;
        let shown = match model.or(policy.detector.model.as_deref()) {
            Some(path) => format!("the model file {}", crate::terminal::path(path)),
            None => "the built-in model".to_string(),
        };
        (policy.detector).check_calibrated_for(judge.detector().id(), &shown)?;
        Ok(judge)
    }

    /// As [`Judge::load`], whatever model the thresholds were calibrated
    /// for: `calibrate` sets them anew.
    pub fn load_any(
        policy: &Policy,
        model: Option<&Path>,
        sensitivity: Option<Sensitivity>,
    ) -> anyhow::Result<Judge> {
        // The loader's errors name the model's path; this says where it
        // was given, since a policy's relative path is not the working
        // directory's.
        let from = match model {
            Some(_) => "--model".to_string(),
            None => policy.key_in("[detector] model"),
        };
        let detector = match model.or(policy.detector.model.as_deref()) {
            Some(path) => Loaded::Own(Box::new(
                Detector::from_model_file(path)
                    .with_context(|| format!("{from}: cannot load the detector model"))?,
            )),
            None => Loaded::Embedded(Detector::embedded()),
        };
        let sensitivity = sensitivity.unwrap_or(policy.detector.sensitivity);
        let preset = match &detector {
            Loaded::Embedded(d) => d.thresholds(sensitivity),
            Loaded::Own(d) => d.thresholds(sensitivity),
        };
        let thresholds = policy.detector.thresholds(sensitivity, preset)?;
        Ok(Judge {
            detector,
            sensitivity,
            thresholds,
        })
    }

    pub fn detector(&self) -> &Detector {
        match &self.detector {
            Loaded::Embedded(d) => d,
            Loaded::Own(d) => d,
        }
    }

    pub fn settings(&self) -> AiSettings<'_> {
        AiSettings {
            detector: self.detector(),
            sensitivity: self.sensitivity,
            thresholds: self.thresholds,
        }
    }
}
