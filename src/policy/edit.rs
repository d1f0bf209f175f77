//! Writing keys into a policy file a person keeps: `calibrate --apply`
//! sets the `[detector]` keys it computed and leaves every comment, key
//! and blank line of the file as it was. toml_edit keeps the document's
//! formatting, which a round trip through `toml`'s values would lose.

use toml_edit::{Array, DocumentMut, Item, Table, value};

/// What `calibrate` sets in `[detector]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibratedKeys {
    /// blake3 of the model that scored the texts.
    pub model: String,
    /// That model's file, when it is not the built-in one (`model`),
    /// absolute: the policy reads a relative one from its own folder.
    pub model_file: Option<String>,
    /// The columns calibrated on, when the policy does not name them.
    pub text_columns: Option<Vec<String>>,
    pub threshold: f32,
    /// `None`: no review tier, so `sensitivity` becomes `strict` (the preset
    /// without one) and any `review_threshold` goes.
    pub review_threshold: Option<f32>,
}

/// `text` (a policy file's, or empty) with `keys` set in its `[detector]`
/// table, which is added at the end when there is none.
pub fn set_calibrated(text: &str, keys: &CalibratedKeys) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.message().trim().to_string())?;
    let detector = doc
        .entry("detector")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_mut()
        .ok_or("`detector` is not a table")?;
    if let Some(file) = &keys.model_file {
        detector["model"] = value(file.as_str());
    }
    detector["calibrated_model"] = value(keys.model.as_str());
    if let Some(columns) = &keys.text_columns {
        let mut list = Array::new();
        list.extend(columns.iter().map(String::as_str));
        detector["text_columns"] = value(list);
    }
    // As `{}` prints an f32: the fewest digits that read back as the same
    // number, so the policy compares against exactly this threshold.
    let exact = |x: f32| -> f64 { format!("{x}").parse().unwrap_or(x as f64) };
    detector["threshold"] = value(exact(keys.threshold));
    match keys.review_threshold {
        Some(r) => detector["review_threshold"] = value(exact(r)),
        None => {
            detector.remove("review_threshold");
            detector["sensitivity"] = value("strict");
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(review: Option<f32>, columns: Option<&[&str]>) -> CalibratedKeys {
        CalibratedKeys {
            model: "ab".repeat(32),
            model_file: None,
            text_columns: columns.map(|c| c.iter().map(|s| s.to_string()).collect()),
            threshold: 0.7595095,
            review_threshold: review,
        }
    }

    #[test]
    fn comments_and_other_keys_stay_and_the_keys_are_replaced() {
        let text = "# our policy\n[synthetic]\nallow = true # reviewed 2026-11\n\n\
                    [detector]\n# tuned by hand\nthreshold = 0.9\nreview_threshold = 0.8\n\
                    text_columns = [\"Body\"]\n";
        let out = set_calibrated(text, &keys(Some(0.6906049), None)).unwrap();
        assert!(out.starts_with("# our policy\n[synthetic]\nallow = true # reviewed 2026-11\n"));
        assert!(out.contains("# tuned by hand\n"), "{out}");
        assert!(out.contains("threshold = 0.7595095\n"), "{out}");
        assert!(out.contains("review_threshold = 0.6906049\n"), "{out}");
        assert!(out.contains("text_columns = [\"Body\"]\n"), "{out}");
        assert_eq!(out.matches("threshold =").count(), 2, "{out}");
        // Applied twice, the same file.
        assert_eq!(
            set_calibrated(&out, &keys(Some(0.6906049), None)).unwrap(),
            out
        );
    }

    #[test]
    fn no_review_tier_drops_the_key_and_picks_the_preset_without_one() {
        let text = "[detector]\nsensitivity = \"thorough\"\nreview_threshold = 0.8\n";
        let out = set_calibrated(text, &keys(None, Some(&["Description"]))).unwrap();
        assert!(!out.contains("review_threshold"), "{out}");
        assert!(out.contains("sensitivity = \"strict\""), "{out}");
        assert!(out.contains("text_columns = [\"Description\"]"), "{out}");
        let fresh = set_calibrated("", &keys(None, None)).unwrap();
        assert!(fresh.starts_with("[detector]\n"), "{fresh}");
        assert!(!fresh.lines().any(|l| l.starts_with("model ")), "{fresh}");
        let own = CalibratedKeys {
            model_file: Some("/models/ours.bin".into()),
            ..keys(None, None)
        };
        let text = "[detector]\nmodel = \"old.bin\"\n";
        let out = set_calibrated(text, &own).unwrap();
        assert!(
            out.starts_with("[detector]\nmodel = \"/models/ours.bin\"\n"),
            "{out}"
        );
    }

    #[test]
    fn a_file_that_is_not_toml_or_a_detector_key_that_is_not_a_table_is_refused() {
        assert!(set_calibrated("[detector\n", &keys(None, None)).is_err());
        assert!(set_calibrated("detector = 1\n", &keys(None, None)).is_err());
    }
}
