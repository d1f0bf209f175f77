//! The labelled training files as the detector's lab examples read them
//! (`detector_dump`, `detector_trees_oof`): `text`, `label` (`machine` or
//! not) and `group_id` columns, each file a source, cleaned and featurised as
//! `crmguard train` does. `bench/research.py` lines up their outputs row by
//! row, so they must read the same rows in the same order.

use crmguard::commands::labelled;
use crmguard::detector::Example;
use crmguard::detector::model::FeatureConfig;
use crmguard::detector::train::{Prepared, prepare};
use std::path::PathBuf;

/// The examples of `files`, in order, and their features.
pub fn load(files: &[PathBuf]) -> anyhow::Result<(Vec<Example>, Prepared)> {
    let cols = labelled::Columns {
        text_column: "text".into(),
        label_column: "label".into(),
        positive: "machine".into(),
    };
    let examples = labelled::load(files, &cols, Some("group_id"), None)?;
    let prep = prepare(&examples, &FeatureConfig::default(), true);
    Ok((examples, prep))
}
