//! AI-text detector: flags free text (reviews, case notes, lead descriptions) that an
//! LLM wrote, rewrote or polished.
//!
//! One calibrated score per text combines
//! 1. chat-model artefacts ([`artefacts`]): rules, each strong evidence on its own;
//! 2. a logistic regression ([`model`]) over hashed char/word n-grams, LLM-lexicon
//!    rates ([`lexicon`]) and length-normalised style features ([`style`]),
//!    trained by [`train`] and calibrated on sources it was not fitted on.
//!
//! The module depends on nothing else in its crate; assets (model, lexicons) are
//! embedded from `assets/` at compile time.

pub mod artefacts;
pub mod calibrate;
pub mod chars;
pub mod corpus;
pub mod dense;
pub mod explain;
pub mod fit;
pub mod frequency;
pub mod lexicon;
pub mod metrics;
pub mod model;
pub mod ngrams;
pub mod normalize;
pub mod own_thresholds;
pub mod scorer;
pub mod sensitivity;
pub mod style;
mod style_counts;
pub mod tokens;
pub mod train;
pub mod trees;
pub mod words;

pub use model::Model;
pub use scorer::Detector;
pub use sensitivity::{Sensitivity, Thresholds};

use artefacts::Artefacts;
use dense::N_DENSE;
use frequency::{FreqRun, FreqTable};
use lexicon::{Lexicons, N_LEX};
use ngrams::{CharFeed, NoChars};
use std::sync::OnceLock;
use style::{N_STYLE, style_walk};
use words::StyleTables;

/// Texts with fewer words than this are not judged. Below ~8 words even the in-source
/// AUROC of every model we tried drops towards chance and the false-positive rate on
/// short human reviews ("Great location, friendly staff!") rises sharply (see
/// RESULTS.md, "short texts"); a CRM would quarantine exactly the terse genuine rows.
pub const MIN_WORDS: usize = 8;

pub fn min_words() -> usize {
    MIN_WORDS
}

/// A labelled text for training and evaluation.
#[derive(Clone, Debug)]
pub struct Example {
    pub text: String,
    pub machine: bool,
    /// Rows about the same item (hotel, prompt, product) share a group; held-out
    /// splits are made by group so the same item never sits on both sides.
    pub group: String,
    /// Which corpus the row came from; calibration holds out whole sources.
    pub source: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    /// "artefact", "phrase", "ngram", "style", "frequency" or "trees".
    pub family: &'static str,
    /// What the signal is: the artefact rule, lexicon, n-gram block or style feature.
    pub name: &'static str,
    /// `name`, followed for a lexicon by the phrases found (see [`Signal::phrases`]).
    pub detail: String,
    /// For a lexicon, the distinct phrases found, most specific first, at most
    /// [`MAX_PHRASES`]; empty for every other family.
    pub phrases: Vec<&'static str>,
    /// Contribution in calibrated log-odds; positive = evidence for machine text.
    pub weight: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// Calibrated P(machine) in [0, 1]; 0 when not judged.
    pub score: f32,
    /// False when the text is too short to judge (fewer than [`MIN_WORDS`] words).
    pub judged: bool,
    /// Strongest contributions first, at most [`MAX_SIGNALS`].
    pub signals: Vec<Signal>,
    /// What the score is made of; all zero when not judged.
    pub parts: ScoreParts,
}

/// A judged text's score, taken apart:
/// `score = noisy_or(probability(log_odds + evidence), decisive)`.
/// `crmguard eval --scores` writes them so that `train --thresholds-from` can
/// recalibrate a model's length bands from held-out scores
/// (src/detector/calibrate.rs, `fit_recalibration`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScoreParts {
    /// Words as the detector counts them (they pick the length band).
    pub words: usize,
    /// The model's calibrated log-odds, before the artefact rules.
    pub log_odds: f32,
    /// What the evidence rules add to the log-odds.
    pub evidence: f32,
    /// The decisive rules' probability, combined noisy-OR.
    pub decisive: f32,
}

pub const MAX_SIGNALS: usize = 5;
/// Phrases listed per lexicon signal.
pub const MAX_PHRASES: usize = 3;

/// Compiled phrase sets shared by every detector in the process.
pub(crate) struct Components {
    pub art: Artefacts,
    pub lex: Lexicons,
    pub style: StyleTables,
}

pub(crate) fn components() -> &'static Components {
    static C: OnceLock<Components> = OnceLock::new();
    C.get_or_init(|| Components {
        art: Artefacts::new(),
        lex: Lexicons::new(),
        style: StyleTables::new(),
    })
}

/// Dominant script of a text's letters: 0 Latin, 1 Cyrillic, 2 CJK, 3 Hangul, 4 other.
pub fn script_of(norm: &str) -> usize {
    chars::dominant_script(norm)
}

/// Raw (unstandardised) dense features of a normalised text: style, lexicons, then
/// word frequency (with `freq`, a model's table; NaN without). Also returns whether
/// the text is English (English-only features of other texts are neutralised at
/// standardisation, see [`neutral_mask`]) and its [`script_of`]. Without
/// `all_style` the style features in [`style::LEAN_SKIPS`] are not computed (NaN),
/// for a model that gives them no weight.
pub(crate) fn dense_raw(
    raw: &str,
    norm: &str,
    cfg: &model::FeatureConfig,
    freq: Option<&FreqTable>,
    words: usize,
    all_style: bool,
    out: &mut [f32; N_DENSE],
) -> (bool, usize) {
    let (english, script, NoChars) =
        dense_walk(raw, norm, cfg, freq, words, all_style, out, NoChars);
    (english, script)
}

/// [`dense_raw`], handing the text's chars on to `feed` as the style pass reads
/// them (see [`style::style_walk`]).
#[allow(clippy::too_many_arguments)]
fn dense_walk<G: CharFeed>(
    raw: &str,
    norm: &str,
    cfg: &model::FeatureConfig,
    freq: Option<&FreqTable>,
    words: usize,
    all_style: bool,
    out: &mut [f32; N_DENSE],
    feed: G,
) -> (bool, usize, G) {
    out.fill(0.0);
    let (style, rest) = out.split_at_mut(N_STYLE);
    let (lexicons, freqs) = rest.split_at_mut(N_LEX);
    freqs.fill(f32::NAN);
    // The phrases are matched and the frequencies looked up on the style pass's
    // tokens, only for a model that weighs them: one without keeps its speed.
    let (english, script, feed) = match (cfg.use_lexicon, freq) {
        (true, Some(table)) => {
            let mut run = FreqRun::new(table, components().lex.run());
            let r = style_pass_as(all_style, raw, norm, style, &mut run, feed);
            if r.0 {
                Lexicons::features(&run.inner.finish(), words, lexicons);
                frequency::features(&run.counts, freqs);
            }
            r
        }
        (true, None) => {
            let mut lex = components().lex.run();
            let r = style_pass_as(all_style, raw, norm, style, &mut lex, feed);
            if r.0 {
                Lexicons::features(&lex.finish(), words, lexicons);
            }
            r
        }
        (false, Some(table)) => {
            let mut run = FreqRun::new(table, tokens::NoTokens);
            let r = style_pass_as(all_style, raw, norm, style, &mut run, feed);
            if r.0 {
                frequency::features(&run.counts, freqs);
            }
            r
        }
        (false, None) => style_pass_as(all_style, raw, norm, style, &mut tokens::NoTokens, feed),
    };
    if !cfg.use_style {
        style.fill(0.0);
    }
    (english, script, feed)
}

/// The style pass, with every feature (`all`) or without the
/// [`style::LEAN_SKIPS`].
fn style_pass_as<T: tokens::Tokens, G: CharFeed>(
    all: bool,
    raw: &str,
    norm: &str,
    out: &mut [f32],
    tokens: &mut T,
    feed: G,
) -> (bool, usize, G) {
    let tables = &components().style;
    if all {
        style_walk::<true, _, _>(raw, norm, tables, out, tokens, feed)
    } else {
        style_walk::<false, _, _>(raw, norm, tables, out, tokens, feed)
    }
}

/// Dense features that carry no information for a non-English text: the lexicons are
/// English phrase lists (Italian "aria condizionata" is not slop) and contractions or
/// lowercase "i" are English habits. Their standardised value is set to 0, so absence
/// is not read as evidence either way.
#[inline]
pub(crate) fn neutral_mask(j: usize, english: bool) -> bool {
    !english && (j >= N_STYLE || style::ENGLISH_ONLY_STYLE.contains(&j))
}

/// Standardised dense value, clipped: one emoji in a ten-word review must not
/// outweigh everything else.
#[inline]
pub(crate) fn standardize(x: f32, mean: f32, std: f32) -> f32 {
    if x.is_nan() {
        // Undefined for this text (see style::STYLE_NAMES): no evidence.
        return 0.0;
    }
    ((x - mean) / std.max(1e-6)).clamp(-4.0, 4.0)
}

pub(crate) fn noisy_or(p_model: f32, p_art: f32) -> f32 {
    1.0 - (1.0 - p_model) * (1.0 - p_art)
}

impl ScoreParts {
    /// The score these parts make, as the scorer combines them.
    pub fn score(&self) -> f32 {
        self.score_with(self.log_odds)
    }

    /// The score with the model's log-odds replaced by `log_odds` (a
    /// recalibration of them): the artefact rules combine as they always do.
    pub fn score_with(&self, log_odds: f32) -> f32 {
        noisy_or(model::probability(log_odds + self.evidence), self.decisive)
    }
}

const _: () = assert!(N_LEX == 6);
