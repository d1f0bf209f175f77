//! What training works on, shared by train.rs, fit.rs and calibrate.rs:
//! the options a model is trained with and the
//! featurised examples. Kept apart from the three so that none of them has
//! to import another's types.

use super::dense::N_DENSE;
use super::model::FeatureConfig;
use super::ngrams::HashConfig;
use super::trees::TreeOptions;

/// How training examples are weighted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Balance {
    /// Every row counts once (the baseline).
    None,
    /// Every source gets equal total weight, split equally between human and machine
    /// rows. Without this, MixSet (93% machine) teaches "emails and blogs are machine".
    SourceClass,
    /// As `SourceClass`, and within each source the length distributions of the two
    /// classes are matched (importance weights per length bin), so length itself —
    /// e.g. GPT-4 Michigan reviews being 1.8x longer — carries no label information.
    SourceClassLength,
    /// For data where most sources hold one class (human tickets here, generated
    /// reviews there): the two classes get equal weight, each source within its
    /// class a share growing with the square root of its size, and the classes'
    /// length distributions are matched across all sources, so that neither a
    /// source's size nor length (short texts lean human) carries the label.
    ClassSourceLength,
}

/// A multiplier on the training weight of the rows of some sources: those
/// whose name contains `pattern`, of one class or both.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceWeight {
    pub pattern: String,
    /// `Some(true)`: machine rows only; `Some(false)`: human rows only.
    pub machine: Option<bool>,
    pub weight: f64,
}

impl SourceWeight {
    pub fn new(pattern: &str, machine: Option<bool>, weight: f64) -> SourceWeight {
        SourceWeight {
            pattern: pattern.to_string(),
            machine,
            weight,
        }
    }

    pub fn applies(&self, source: &str, machine: bool) -> bool {
        self.machine.is_none_or(|m| m == machine) && source.contains(self.pattern.as_str())
    }

    /// `w`, the weight of a row of `source` and class, times every entry of
    /// `list` that applies to it. Training and `train`'s check of the flags
    /// both weigh rows by this.
    pub fn weigh(list: &[SourceWeight], source: &str, machine: bool, w: f64) -> f64 {
        (list.iter())
            .filter(|sw| sw.applies(source, machine))
            .fold(w, |w, sw| w * sw.weight)
    }

    /// Adds `w` to `list`, replacing an entry for the same sources and class,
    /// so that a flag can override a default.
    pub fn set(list: &mut Vec<SourceWeight>, w: SourceWeight) {
        match (list.iter_mut()).find(|e| e.pattern == w.pattern && e.machine == w.machine) {
            Some(e) => e.weight = w.weight,
            None => list.push(w),
        }
    }
}

/// As the flag spells it: `NAME=W`, `NAME/human=W` or `NAME/machine=W`.
impl std::fmt::Display for SourceWeight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let class = match self.machine {
            Some(true) => "/machine",
            Some(false) => "/human",
            None => "",
        };
        write!(f, "{}{class}={}", self.pattern, self.weight)
    }
}

/// How held-out scores for calibration and the thresholds are produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Calibration {
    /// No calibration: platt = (1, 0), thresholds 0.5.
    None,
    /// Whole sources held out, in at most this many folds (one source per fold
    /// when there are no more sources than that). Calibrates for text from a source
    /// the model has not seen, which is what a new CRM's data is.
    SourceFolds(usize),
    /// Each source (or family, see [`TrainOptions::families`]) held out on its
    /// own, one fit per source: every held-out score comes from a fit that saw
    /// all the other sources, as the final model will when it meets a new one.
    /// With fewer folds, which sources happen to be held out beside a source
    /// moves its scores (see docs/detector.md, "Presets").
    EachSource,
    /// Groups hashed into k folds (for data from a single source).
    GroupKFold(usize),
}

#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub features: FeatureConfig,
    /// L2 penalty on hashed weights (objective = weighted mean log-loss + l2/2 |w|²).
    pub l2: f64,
    /// L2 penalty on dense (style, lexicon, frequency) weights.
    pub l2_dense: f64,
    pub max_iter: usize,
    pub tol: f64,
    pub balance: Balance,
    pub calibration: Calibration,
    /// Dense features forced to zero (ablation).
    pub drop_dense: Vec<usize>,
    /// Drop dense features whose effect (machine − human, in SD units) points in
    /// opposite directions in different training sources by more than this much
    /// either way: such a feature describes how one corpus was made (MixSet's human
    /// texts are lowercased, its "humanize" attack adds emoji), not machine text.
    /// 0 disables the filter.
    pub consistency: f32,
    /// With the filter on: drop only when the minority direction carries more than
    /// this fraction of the majority's total effect (0 = any disagreement drops).
    pub consistency_ratio: f32,
    /// The same idea for hashed n-grams: a bucket whose per-source log-odds
    /// (machine vs human document frequency) exceed this in opposite directions in two
    /// training sources is zeroed. 0 disables.
    pub ngram_consistency: f32,
    /// Scale (0–1) for buckets seen in only one training source: topic and language
    /// n-grams of a single corpus (Korean hotel words, Amazon product names) can only
    /// teach that corpus' quirks. 1 disables.
    pub single_source_scale: f32,
    /// Source-name prefixes whose sources calibration holds out together (one
    /// list per family): sources that share items or one prompt design would
    /// otherwise make each other's held-out scores look better than a new
    /// source's.
    pub families: Vec<Vec<String>>,
    /// Extra weight multipliers for the rows of sources whose name contains a
    /// given string, in order: every entry that matches a row multiplies it.
    pub source_weights: Vec<SourceWeight>,
    /// Store hashed weights as a u8 codebook instead of f32.
    pub quantize: bool,
    /// With `quantize`: score each calibration fit's held-out rows with its
    /// hashed weights quantized as the final model's are, so that the
    /// thresholds are set on the scores of the kind of model that ships.
    pub calibrate_quantized: bool,
    /// Strip chat preambles from training text (they are handled by the artefact rules).
    pub strip_preambles: bool,
    pub seed: u64,
    /// A forest of boosted trees beside the linear model ([`super::trees`]).
    pub trees: Option<TreeOptions>,
    pub verbose: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            features: FeatureConfig::default(),
            l2: 1e-4,
            l2_dense: 1e-3,
            max_iter: 60,
            tol: 1e-6,
            balance: Balance::ClassSourceLength,
            // Each calibration fit leaves out about 1/k of the sources: with 3, the
            // held-out scores came from models trained on 2/3 of the data and the
            // thresholds landed far stricter than their targets on new sources.
            calibration: Calibration::SourceFolds(8),
            families: Vec::new(),
            drop_dense: Vec::new(),
            consistency: 0.2,
            consistency_ratio: 0.0,
            ngram_consistency: 0.0,
            single_source_scale: 0.3,
            // GPT-2 fine-tuned to imitate Amazon reviewers is a different kind of
            // "machine" from chat-model text; at full weight it taught the other
            // sources the opposite of what transfers (LOSO, docs/detector.md).
            source_weights: vec![SourceWeight::new("salminen", None, 0.3)],
            quantize: true,
            calibrate_quantized: false,
            strip_preambles: true,
            seed: 0x5eed,
            trees: None,
            verbose: false,
        }
    }
}

impl TrainOptions {
    /// The reference baseline: plain logistic regression on hashed char 3–5-grams and
    /// word 1–2-grams, every row weighted once, no style or lexicon features.
    pub fn baseline() -> Self {
        TrainOptions {
            features: FeatureConfig {
                hash: HashConfig {
                    bits: 20,
                    ..Default::default()
                },
                use_hashed: true,
                use_style: false,
                use_lexicon: false,
                use_freq: false,
                per_script: false,
                norm_pow: 0.5,
                char_scale: 1.0,
                word_scale: 1.0,
            },
            balance: Balance::None,
            calibration: Calibration::None,
            consistency: 0.0,
            single_source_scale: 1.0,
            source_weights: Vec::new(),
            ..TrainOptions::default()
        }
    }
}

/// One featurised training text. Hashed entries hold signed counts per bucket; the
/// block normalisation (scale / count^norm_pow) is applied at fit time so that it
/// can be changed without featurising again.
pub struct Doc {
    pub idx: Vec<u32>,
    pub val: Vec<f32>,
    /// Entries before this index are char n-grams, the rest word n-grams.
    pub n_char_entries: u32,
    pub n_chars: u32,
    pub n_words_ngrams: u32,
    /// Style and lexicon features; the frequency features are NaN here, since they
    /// depend on the table each fit builds (see `doc_dense` in fit.rs).
    pub dense: [f32; N_DENSE],
    /// The text's tokens as `frequency::slot`s (English texts only).
    pub slots: Vec<u16>,
    pub script: u8,
    pub english: bool,
    /// Noisy-OR of the decisive artefacts.
    pub p_dec: f32,
    /// Log-odds the evidence artefacts add.
    pub evidence: f32,
    pub words: u32,
    pub machine: bool,
    pub source: u16,
    pub group: u64,
}

/// Featurised examples plus source names; reusable across many fits.
pub struct Prepared {
    pub docs: Vec<Doc>,
    pub sources: Vec<String>,
    pub hash: HashConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_weight_applies_to_its_sources_and_class() {
        let both = SourceWeight::new("salminen", None, 0.3);
        let machine = SourceWeight::new("salminen", Some(true), 0.0);
        assert!(both.applies("salminen2022_fake_reviews", false));
        assert!(both.applies("salminen2022_fake_reviews", true));
        assert!(!both.applies("mixset", true));
        assert!(machine.applies("salminen2022_fake_reviews", true));
        assert!(!machine.applies("salminen2022_fake_reviews", false));
        // Every entry that applies multiplies the row's weight.
        let list = [both, machine, SourceWeight::new("2022", None, 2.0)];
        assert_eq!(SourceWeight::weigh(&list, "salminen2022", false, 1.0), 0.6);
        assert_eq!(SourceWeight::weigh(&list, "salminen2022", true, 1.0), 0.0);
        assert_eq!(SourceWeight::weigh(&list, "mixset", true, 0.5), 0.5);
    }

    #[test]
    fn setting_a_source_weight_replaces_only_the_same_sources_and_class() {
        let mut list = TrainOptions::default().source_weights;
        SourceWeight::set(&mut list, SourceWeight::new("salminen", Some(true), 0.0));
        SourceWeight::set(&mut list, SourceWeight::new("salminen", None, 1.0));
        SourceWeight::set(&mut list, SourceWeight::new("mixset", None, 2.0));
        assert_eq!(
            list,
            [
                SourceWeight::new("salminen", None, 1.0),
                SourceWeight::new("salminen", Some(true), 0.0),
                SourceWeight::new("mixset", None, 2.0),
            ]
        );
    }
}
