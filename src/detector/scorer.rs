//! The detector's scorer: one pass over a text's chars for its n-grams, style
//! features and lexicon phrases, the linear margin, calibration, and the
//! artefact rules, without allocating per text.

use super::artefacts::ArtefactScan;
use super::dense::N_DENSE;
use super::explain;
use super::model::{self, Weights};
use super::ngrams::{self, CHUNK, NgramCounts, NgramSink, NgramWalker, walk_ngrams};
use super::normalize::normalize_counting;
use super::style;
use super::{
    Assessment, MIN_WORDS, Model, NoChars, ScoreParts, components, dense_raw, dense_walk,
    neutral_mask, standardize, style_pass_as,
};
use super::{fit, trees};
use std::cell::RefCell;
use std::path::Path;
use std::sync::OnceLock;

/// Bucket mask of the shipped models' 2^18 hashed weights.
const SHIPPED_MASK: usize = (1 << 18) - 1;

/// The shipped model, trained on all four training sources by the lab's `train`.
static EMBEDDED_MODEL: &[u8] = include_bytes!("../../assets/detector/model.bin");

/// Per-thread text buffers of the scorer, reused so scoring does not allocate.
struct Scratch {
    /// The text after [`normalize_into`].
    norm: String,
    /// `norm` ASCII-lowercased, for the artefact automaton.
    lower: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch {
        norm: String::with_capacity(4096),
        lower: String::with_capacity(4096),
    });
}

pub struct Detector {
    model: Model,
    /// blake3 of the model file's bytes: which model judged a scan.
    id: String,
    /// A codebook model's table followed by its negation, so that a signed lookup
    /// is one load at `code | sign << 8` (see [`signed_index`]) instead of a load and
    /// a sign flip; empty for other models.
    signed_table: Vec<f32>,
    /// Whether the style pass must compute [`style::LEAN_SKIPS`]: only
    /// when the model gives one of them a weight.
    all_style: bool,
    /// The dense features the model gives a weight, in order.
    weighted_dense: Vec<usize>,
    /// `n.powf(norm_pow)` for the n-gram counts of texts up to a few KB: two
    /// `powf` calls a text cost more than a CRM field's dense features.
    norm_divisors: Vec<f32>,
    /// Whether texts of a length band with no say skip the model's passes
    /// (always, but for the test that shows the skip changes nothing).
    skip_no_say: bool,
    /// The model's trees padded for a walk without branches, when they can be
    /// (see [`trees::FlatForest`]); otherwise scoring walks the nodes.
    flat_forest: Option<trees::FlatForest>,
}

/// Counts below which [`Detector::norm_divisor`] is a table lookup.
const NORM_TABLE: usize = 4096;

/// Index into [`Detector::signed_table`] of a hash's bucket code: the hash's top
/// bit (its sign, see [`ngrams::bucket`]) selects the negated half.
#[inline(always)]
fn signed_index(code: u8, h: u64) -> usize {
    code as usize | ((h >> 55) as usize & 0x100)
}

impl Detector {
    /// The model and lexicons compiled into the binary, built once per process.
    pub fn embedded() -> &'static Detector {
        static D: OnceLock<Detector> = OnceLock::new();
        D.get_or_init(|| {
            let model = Model::read(EMBEDDED_MODEL).expect("embedded detector model is valid");
            let mut d = Detector::from_model(model);
            d.id = blake3::hash(EMBEDDED_MODEL).to_hex().to_string();
            d
        })
    }

    /// Load a model written by `train` (e.g. one a user retrained on their own data).
    pub fn from_model_file(path: &Path) -> anyhow::Result<Detector> {
        // Bounded: a policy names this file, and a policy may be hostile.
        let bytes =
            crate::input::read_small_file(path, crate::input::MAX_MODEL_BYTES, "detector model")?;
        let mut d = Detector::from_model(Model::read(&bytes)?);
        d.id = blake3::hash(&bytes).to_hex().to_string();
        Ok(d)
    }

    pub fn from_model(model: Model) -> Detector {
        let _ = components();
        let signed_table = match &model.hashed {
            Weights::Codebook { table, .. } => table
                .iter()
                .copied()
                .chain(table.iter().map(|v| -v))
                .collect(),
            Weights::F32(_) => Vec::new(),
        };
        let weighted_dense: Vec<usize> = (0..N_DENSE)
            .filter(|&j| model.dense_w.get(j).is_some_and(|w| *w != 0.0))
            .collect();
        // Left out, those features are NaN, which standardises to 0: what a zero
        // weight makes of any value.
        // Trees may split on any feature.
        let all_style =
            model.trees.is_some() || style::LEAN_SKIPS.iter().any(|j| weighted_dense.contains(j));
        let flat_forest = model.trees.as_ref().and_then(trees::FlatForest::new);
        let norm_divisors = (0..NORM_TABLE)
            .map(|n| (n.max(1) as f32).powf(model.cfg.norm_pow))
            .collect();
        Detector {
            model,
            id: String::from("in-memory"),
            signed_table,
            all_style,
            weighted_dense,
            norm_divisors,
            skip_no_say: true,
            flat_forest,
        }
    }

    /// What an n-gram block's weight sum is divided by, for `n` n-grams.
    #[inline]
    fn norm_divisor(&self, n: u32) -> f32 {
        match self.norm_divisors.get(n as usize) {
            Some(d) => *d,
            None => (n as f32).powf(self.model.cfg.norm_pow),
        }
    }

    /// blake3 of the model's bytes (`in-memory` for a model never written).
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The default (balanced) quarantine threshold.
    pub fn shipped_threshold(&self) -> f32 {
        self.model.threshold()
    }

    /// Score one text. Safe to call from many threads; the only allocation is the
    /// signal list of the returned assessment (the text buffers are reused).
    pub fn score(&self, text: &str) -> Assessment {
        self.score_with(text, true, MIN_WORDS)
    }

    /// Scores one text, building the signal list only when asked: most rows
    /// of a scan need the score alone.
    pub fn assess(&self, text: &str, want_signals: bool) -> Assessment {
        self.score_with(text, want_signals, MIN_WORDS)
    }

    /// Like [`Detector::score`] but without building the signal list.
    pub fn score_only(&self, text: &str) -> f32 {
        self.score_with(text, false, MIN_WORDS).score
    }

    /// Score regardless of length (for measuring how scores behave on short texts;
    /// the product should use [`Detector::score`], which refuses to judge them).
    pub fn score_any_length(&self, text: &str) -> f32 {
        self.score_with(text, false, 0).score
    }

    /// The signed weight sums of a normalised text's char and word n-grams, and how
    /// many of each there are: the hashed part of the margin, before normalisation.
    /// Public so that benchmarks time exactly what scoring runs.
    pub fn ngram_sums(&self, norm: &str) -> (f32, f32, ngrams::NgramCounts) {
        if !self.model.cfg.use_hashed {
            return (0.0, 0.0, ngrams::NgramCounts::default());
        }
        struct Walk<'a>(&'a str, &'a ngrams::HashConfig);
        impl WithSum for Walk<'_> {
            type Out = (f32, f32, NgramCounts);
            #[inline(always)]
            fn run<W: Fn(u64) -> f32>(self, sink: WeightSum<W>) -> Self::Out {
                let (s, c) = walk_ngrams(self.0, self.1, sink);
                (s.char_sum(), s.word_sum, c)
            }
        }
        self.with_sum(Walk(norm, &self.model.cfg.hash))
    }

    /// Runs `job` with a sink that sums this model's n-gram weights, monomorphised
    /// per weight encoding so the inner loop has no branch on it.
    #[inline(always)]
    fn with_sum<J: WithSum>(&self, job: J) -> J::Out {
        let m = &self.model;
        let mask = (1usize << m.cfg.hash.bits) - 1;
        match &m.hashed {
            // Slices of exactly mask + 1 entries, so indexing needs no bounds check.
            Weights::F32(w) => {
                let w = &w[..=mask];
                job.run(WeightSum::new(|h| with_sign(w[h as usize & mask], h)))
            }
            // The shipped size as a constant: the mask becomes an immediate and the
            // index provably in bounds. With a runtime mask the n-gram loop kept a
            // bounds check per n-gram and spilled its window to the stack.
            Weights::Codebook { codes, .. } if mask == SHIPPED_MASK => {
                let codes: &[u8; SHIPPED_MASK + 1] =
                    codes[..=SHIPPED_MASK].try_into().expect("2^18 codes");
                let signed: &[f32; 512] = self.signed_table[..].try_into().expect("2 x 256");
                job.run(WeightSum::new(|h| {
                    signed[signed_index(codes[h as usize & SHIPPED_MASK], h)]
                }))
            }
            Weights::Codebook { codes, .. } => {
                let codes = &codes[..=mask];
                let signed: &[f32; 512] = self.signed_table[..].try_into().expect("2 x 256");
                job.run(WeightSum::new(|h| {
                    signed[signed_index(codes[h as usize & mask], h)]
                }))
            }
        }
    }

    /// The n-gram sums and counts ([`Detector::ngram_sums`]) and the raw dense
    /// features ([`dense_raw`]) of a text, in one pass over its chars.
    fn ngrams_and_dense(
        &self,
        raw: &str,
        norm: &str,
        words: usize,
        dense: &mut [f32; N_DENSE],
    ) -> ((f32, f32, NgramCounts), (bool, usize)) {
        struct Both<'a> {
            d: &'a Detector,
            raw: &'a str,
            norm: &'a str,
            words: usize,
            dense: &'a mut [f32; N_DENSE],
        }
        impl WithSum for Both<'_> {
            type Out = ((f32, f32, NgramCounts), (bool, usize));
            #[inline(always)]
            fn run<W: Fn(u64) -> f32>(self, sink: WeightSum<W>) -> Self::Out {
                let cfg = &self.d.model.cfg;
                let mut buf = [0u32; CHUNK];
                let walker = NgramWalker::new(&cfg.hash, sink, &mut buf);
                let (english, script, walker) = dense_walk(
                    self.raw,
                    self.norm,
                    cfg,
                    self.d.model.freq.as_ref(),
                    self.words,
                    self.d.all_style,
                    self.dense,
                    walker,
                );
                let (s, c) = walker.finish();
                ((s.char_sum(), s.word_sum, c), (english, script))
            }
        }
        self.with_sum(Both {
            d: self,
            raw,
            norm,
            words,
            dense,
        })
    }

    /// The style features of a normalised text as this detector's scoring computes
    /// them: without those its model gives no weight (NaN, see
    /// [`style::LEAN_SKIPS`]), and with the lexicon phrases matched on the way
    /// (the counts are dropped). Returns whether the text reads as English.
    /// Public so that benchmarks time exactly what scoring runs.
    pub fn style_features(&self, raw: &str, norm: &str, out: &mut [f32]) -> bool {
        let mut lex = components().lex.run();
        let english = style_pass_as(self.all_style, raw, norm, out, &mut lex, NoChars).0;
        std::hint::black_box(lex.finish());
        english
    }

    fn score_with(&self, text: &str, want_signals: bool, min_words: usize) -> Assessment {
        SCRATCH.with(|b| {
            let Scratch { norm, lower } = &mut *b.borrow_mut();
            let words = normalize_counting(text, norm);
            self.score_inner(text, norm, words, lower, want_signals, min_words)
        })
    }

    fn score_inner(
        &self,
        raw: &str,
        norm: &str,
        words: usize,
        lower: &mut String,
        want_signals: bool,
        min_words: usize,
    ) -> Assessment {
        if words < min_words {
            return Assessment {
                score: 0.0,
                judged: false,
                signals: Vec::new(),
                parts: ScoreParts::default(),
            };
        }
        let comps = components();
        let m = &self.model;
        lower.clear();
        lower.push_str(norm);
        lower.make_ascii_lowercase();
        let art = comps.art.scan_lowered(raw, lower);

        let a = m.platt[model::length_band(words)].0;
        // A length band with no say (`calibrate::fit_recalibration`) multiplies
        // the margin by 0: its texts are judged by the artefact rules alone, and
        // the n-gram and style passes, most of scoring's time, would be thrown
        // away. Skipping them changes no score and no signal (a test compares).
        let Contributions {
            margin,
            char_c,
            word_c,
            dense_c,
            trees_c,
        } = if a == 0.0 && self.skip_no_say {
            Contributions::default()
        } else {
            self.model_part(raw, norm, words, &art)
        };
        // The evidence rules add to the model's log-odds; decisive ones combine
        // with the result noisy-OR.
        let parts = ScoreParts {
            words,
            log_odds: m.log_odds(margin, words),
            evidence: art.evidence(),
            decisive: art.probability(),
        };
        let score = parts.score();
        let signals = if want_signals {
            let mut dense = [0f32; N_DENSE];
            for (d, c) in dense.iter_mut().zip(&dense_c) {
                *d = a * c;
            }
            let parts = explain::Parts {
                art: &art,
                char_ngrams: a * char_c,
                word_ngrams: a * word_c,
                dense: &dense,
                trees: a * trees_c,
            };
            explain::signals(&parts, &comps.lex, raw, norm, m.freq.as_ref())
        } else {
            Vec::new()
        };
        Assessment {
            score: score.clamp(0.0, 1.0),
            judged: true,
            signals,
            parts,
        }
    }

    /// The model's margin of a text, and the contributions of its n-gram blocks,
    /// dense features and trees (before calibration), in one pass over its chars.
    fn model_part(&self, raw: &str, norm: &str, words: usize, art: &ArtefactScan) -> Contributions {
        let m = &self.model;
        let mut raw_dense = [0f32; N_DENSE];
        // A model trained without style and lexicons has all-zero dense weights:
        // skipping the style pass leaves the margin as it was and halves the work.
        let dense = m.cfg.use_style || m.cfg.use_lexicon || m.freq.is_some();
        let ((char_sum, word_sum, counts), (english, script)) = if dense && m.cfg.use_hashed {
            self.ngrams_and_dense(raw, norm, words, &mut raw_dense)
        } else if dense {
            let (e, s) = dense_raw(
                raw,
                norm,
                &m.cfg,
                m.freq.as_ref(),
                words,
                self.all_style,
                &mut raw_dense,
            );
            (self.ngram_sums(norm), (e, s))
        } else {
            (self.ngram_sums(norm), (false, 0))
        };
        let char_c = m.cfg.char_scale * char_sum / self.norm_divisor(counts.chars);
        let word_c = m.cfg.word_scale * word_sum / self.norm_divisor(counts.words);

        let mut dense_c = [0f32; N_DENSE];
        let mut margin = m.bias + char_c + word_c;
        if dense {
            let g = if m.cfg.per_script { script } else { 0 };
            let (mean, std) = (of_group(&m.dense_mean, g), of_group(&m.dense_std, g));
            // Features of zero weight would add 0 (or -0) to the margin: skipped.
            for &j in &self.weighted_dense {
                if neutral_mask(j, english) {
                    continue;
                }
                let z = standardize(raw_dense[j], mean[j], std[j]);
                dense_c[j] = m.dense_w[j] * z;
                margin += dense_c[j];
            }
        }
        let Some(forest) = &m.trees else {
            return Contributions {
                margin,
                char_c,
                word_c,
                dense_c,
                trees_c: 0.0,
            };
        };
        // The same inputs as training's (`fit::doc_tree_features`): the raw
        // dense features with every style feature computed (`all_style`).
        let x = trees::features(
            &raw_dense,
            words as u32,
            counts.chars,
            english,
            art.evidence(),
            art.probability(),
        );
        let keep = 1.0 - forest.blend;
        dense_c.iter_mut().for_each(|c| *c *= keep);
        let forest_log_odds = match &self.flat_forest {
            Some(flat) => flat.log_odds(&x),
            None => forest.log_odds(&x),
        };
        let trees_c = forest.blend * (forest_log_odds - forest.base);
        Contributions {
            margin: fit::blend_log_odds(margin, forest.blend, forest_log_odds),
            char_c: keep * char_c,
            word_c: keep * word_c,
            dense_c,
            trees_c,
        }
    }
}

/// A text's margin and what each part of the model added to it.
struct Contributions {
    margin: f32,
    char_c: f32,
    word_c: f32,
    dense_c: [f32; N_DENSE],
    /// The trees' log-odds above their base, times their blend weight.
    trees_c: f32,
}

impl Default for Contributions {
    fn default() -> Self {
        Contributions {
            margin: 0.0,
            char_c: 0.0,
            word_c: 0.0,
            dense_c: [0.0; N_DENSE],
            trees_c: 0.0,
        }
    }
}

/// The dense values (means or deviations) of script group `g`, as an array so that
/// indexing it by feature needs no bounds check.
#[inline]
fn of_group(v: &[f32], g: usize) -> &[f32; N_DENSE] {
    v[g * N_DENSE..][..N_DENSE]
        .try_into()
        .expect("N_DENSE values per group")
}

/// `v` negated when the hash's top bit is set (signed hashing, see
/// [`ngrams::bucket`]). The sign bit is flipped arithmetically, exactly as `-v`
/// would: half of all n-grams are negative at random, so a branch here would be
/// mispredicted about every other n-gram.
#[inline(always)]
fn with_sign(v: f32, h: u64) -> f32 {
    f32::from_bits(v.to_bits() ^ (((h >> 63) as u32) << 31))
}

/// A job that needs the model's [`WeightSum`] sink, whatever its weight encoding
/// (see [`Detector::with_sum`]).
trait WithSum {
    type Out;
    fn run<W: Fn(u64) -> f32>(self, sink: WeightSum<W>) -> Self::Out;
}

/// Sums the signed weights of a text's n-grams per block.
struct WeightSum<W> {
    /// Signed weight of the bucket of a hash (its low bits; the sign from its top bit).
    weight: W,
    /// Char n-gram sums by length, shortest first (n-grams fed one by one go to the
    /// first): independent additions per char instead of one chain.
    char_sums: [f32; 3],
    word_sum: f32,
}

impl<W: Fn(u64) -> f32> WeightSum<W> {
    fn new(weight: W) -> Self {
        WeightSum {
            weight,
            char_sums: [0.0; 3],
            word_sum: 0.0,
        }
    }

    fn char_sum(&self) -> f32 {
        self.char_sums[0] + self.char_sums[1] + self.char_sums[2]
    }

    #[inline(always)]
    fn get(&self, h: u64) -> f32 {
        (self.weight)(h)
    }
}

impl<W: Fn(u64) -> f32> NgramSink for WeightSum<W> {
    #[inline(always)]
    fn char_ngram(&mut self, h: u64) {
        self.char_sums[0] += self.get(h);
    }
    #[inline(always)]
    fn char_ngram_nth(&mut self, k: usize, h: u64) {
        self.char_sums[k] += self.get(h);
    }
    #[inline(always)]
    fn word_ngram(&mut self, h: u64) {
        self.word_sum += self.get(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::{MAX_SIGNALS, script_of};

    fn is_sync<T: Sync + Send>() {}

    #[test]
    fn a_band_with_no_say_skips_the_model_and_changes_nothing() {
        let shipped = Detector::embedded();
        let band = model::length_band(10);
        assert_eq!(
            shipped.model().platt[band].0,
            0.0,
            "the shipped model gives texts under 20 words no say"
        );
        let skip = Detector::from_model(shipped.model().clone());
        let mut full = Detector::from_model(shipped.model().clone());
        full.skip_no_say = false;
        // Runs of 8 to 59 words of the samples' text (the longer ones in bands
        // that have a say, which must not skip), and short texts that the
        // artefact rules speak on.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples");
        let mut words = Vec::new();
        for f in ["leads.csv", "cases.ndjson", "reviews.json"] {
            let bytes = std::fs::read(root.join(f)).unwrap();
            words.extend(
                String::from_utf8_lossy(&bytes)
                    .split_whitespace()
                    .map(String::from),
            );
        }
        let mut texts: Vec<String> = (8..60)
            .flat_map(|n| words.chunks(n).map(|c| c.join(" ")).collect::<Vec<_>>())
            .collect();
        texts.extend(
            [
                "As an AI language model, I cannot visit the hotel, but here is a review.",
                "Hi [First Name], thanks for your order! Any questions, just reply. Cheers, [Your Name]",
                "I hope this message finds you well. Following up on the quote we sent Tuesday.",
                "Certainly! Here is a polished version of your review: great stay, lovely staff.",
            ]
            .map(String::from),
        );
        let mut judged = 0;
        for t in &texts {
            let (a, b) = (skip.assess(t, true), full.assess(t, true));
            assert_eq!(a.score.to_bits(), b.score.to_bits(), "{t}");
            assert_eq!(
                a.parts.log_odds.to_bits(),
                b.parts.log_odds.to_bits(),
                "{t}"
            );
            assert_eq!(a, b, "{t}");
            judged += usize::from(a.judged && model::length_band(a.parts.words) == band);
        }
        assert!(judged > 1000, "{judged} texts in the band");
    }

    #[test]
    fn detector_is_sync() {
        is_sync::<Detector>();
    }

    #[test]
    fn short_texts_are_not_judged() {
        let d = Detector::embedded();
        let a = d.score("Great hotel, friendly staff!");
        assert!(!a.judged);
        assert_eq!(a.score, 0.0);
        assert!(
            d.score("The hotel was in a great location and the staff were friendly.")
                .judged
        );
    }

    #[test]
    fn artefact_alone_pushes_score_near_one() {
        let d = Detector::embedded();
        let a = d.score(
            "As an AI language model, I cannot stay in hotels, but here is a review of the room.",
        );
        assert!(a.score > 0.99, "{a:?}");
        assert_eq!(a.signals[0].family, "artefact");
        assert!(a.signals.len() <= MAX_SIGNALS);
    }

    #[test]
    fn scores_are_probabilities_and_deterministic() {
        let d = Detector::embedded();
        let t = "we stayed 3 nights, room was ok but the breakfast was cold and the lift broke twice lol";
        let a = d.score(t);
        assert!(a.judged && (0.0..=1.0).contains(&a.score));
        assert_eq!(a, d.score(t));
        assert_eq!(a.score, d.score_only(t));
        assert!(d.shipped_threshold() > 0.0 && d.shipped_threshold() < 1.0);
    }

    #[test]
    fn a_model_without_dense_features_scores_as_with_zero_dense_weights() {
        // Such a model skips the style pass; that must be the only difference.
        let mut m = Model::read(EMBEDDED_MODEL).unwrap();
        m.dense_w.fill(0.0);
        let with_pass = Detector::from_model(m.clone());
        m.cfg.use_style = false;
        m.cfg.use_lexicon = false;
        let without = Detector::from_model(m);
        for t in [
            "we stayed 3 nights, room was ok but the breakfast was cold and the lift broke twice lol",
            "Certainly! Here is a review: the hotel offers a seamless blend of comfort and style.",
            "Das Hotel war sauber, das Personal freundlich und das Frühstück reichhaltig und gut.",
        ] {
            let (a, b) = (with_pass.score(t), without.score(t));
            assert!(a.judged && a.score > 0.0);
            assert_eq!(a.score.to_bits(), b.score.to_bits(), "{t}");
            assert!(
                !b.signals
                    .iter()
                    .any(|s| s.family == "style" || s.family == "phrase")
            );
        }
    }

    /// Texts of every kind of char the two walks treat differently: words broken by
    /// apostrophes ("it''s", "dogs'"), capitals, digits, CJK, Cyrillic, sentence ends,
    /// and lowercase runs longer than the n-gram chunk.
    fn mixed_texts(n: usize) -> Vec<String> {
        let long = "x".repeat(300);
        let pieces: &[&str] = &[
            "the",
            "room",
            "was",
            "clean",
            "It's",
            "it''s",
            "dogs'",
            "'quoted'",
            "O'Neil",
            "NASA",
            "Überraschung",
            "café",
            "3.5",
            "2024",
            "42nd",
            "酒店很好",
            "服务",
            "отель",
            "Москва",
            "!",
            "?!",
            ".",
            "...",
            ",",
            ";",
            ":",
            "—",
            "–",
            "(",
            ")",
            "\"",
            "\n",
            "seamless",
            "delve",
            "a testament to",
            "well-being",
            &long,
            "i",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |k: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % k as u64) as usize
        };
        (0..n)
            .map(|_| {
                let len = 1 + next(120);
                let mut t = String::new();
                for _ in 0..len {
                    t.push_str(pieces[next(pieces.len())]);
                    t.push_str([" ", " ", " ", "", "  "][next(5)]);
                }
                t
            })
            .collect()
    }

    #[test]
    fn one_pass_for_ngrams_and_style_gives_what_the_separate_passes_give() {
        let mut checked = 0;
        for all_style in [false, true] {
            let mut d = Detector::from_model(Model::read(EMBEDDED_MODEL).unwrap());
            d.all_style = all_style;
            for t in mixed_texts(600) {
                let mut norm = String::new();
                let words = normalize_counting(&t, &mut norm);
                let mut apart = [0f32; N_DENSE];
                let (english, script) = dense_raw(
                    &t,
                    &norm,
                    &d.model.cfg,
                    d.model.freq.as_ref(),
                    words,
                    all_style,
                    &mut apart,
                );
                let (c, w, counts) = d.ngram_sums(&norm);
                let mut fused = [0f32; N_DENSE];
                let ((fc, fw, fcounts), (fe, fs)) =
                    d.ngrams_and_dense(&t, &norm, words, &mut fused);
                assert_eq!(
                    (c.to_bits(), w.to_bits()),
                    (fc.to_bits(), fw.to_bits()),
                    "{t:?}"
                );
                assert_eq!(
                    (counts.chars, counts.words),
                    (fcounts.chars, fcounts.words),
                    "{t:?}"
                );
                assert_eq!((english, script), (fe, fs), "{t:?}");
                assert_eq!(apart.map(f32::to_bits), fused.map(f32::to_bits), "{t:?}");
                checked += usize::from(counts.chars as usize > ngrams::CHUNK);
            }
        }
        // Some texts span several chunks of the n-gram walk.
        assert!(checked > 100, "{checked}");
    }

    #[test]
    fn the_lean_style_pass_scores_as_the_full_one_under_zero_weights() {
        let texts = [
            "we stayed 3 nights,room was ok but i think the breakfast was cold and the lift broke twice",
            "Certainly! Here is a review: the Hotel offers a seamless blend of comfort and style. \
             The STAFF were great, the pool was lovely, and we will come back next year for sure.",
            "Das Hotel war sauber, das Personal freundlich und das Frühstück reichhaltig und gut.",
            "酒店很好，服务也很好。房间干净，早餐丰富，位置方便，下次还会再来。",
            "Location: great for the beach\nRoom | dirty, the carpet had stains\nStaff friendly \
             and helpful at the desk.\nWould come back",
        ];
        let mut m = Model::read(EMBEDDED_MODEL).unwrap();
        // Trees may split on any style feature: only a linear model can skip.
        assert!(Detector::from_model(m.clone()).all_style);
        m.trees = None;
        for j in style::LEAN_SKIPS {
            m.dense_w[j] = 0.0;
        }
        let lean = Detector::from_model(m.clone());
        assert!(!lean.all_style);
        let mut full = Detector::from_model(m.clone());
        full.all_style = true;
        for t in texts {
            let (a, b) = (lean.score(t), full.score(t));
            assert!(a.judged, "{t}");
            assert_eq!(a.score.to_bits(), b.score.to_bits(), "{t}");
        }
        // Any weight on one of them, and the pass computes them all.
        m.dense_w[style::LEAN_SKIPS[2]] = 0.5;
        assert!(Detector::from_model(m).all_style);
    }

    #[test]
    fn signed_lookups_match_the_sign_flip() {
        let d = Detector::embedded();
        let Weights::Codebook { table, .. } = &d.model().hashed else {
            panic!("the shipped model has a codebook");
        };
        for code in [0u8, 1, 127, 200, 255] {
            for h in [0u64, 1 << 62, 1 << 63, u64::MAX] {
                let v = d.signed_table[signed_index(code, h)];
                let want = if h >> 63 == 1 {
                    -table[code as usize]
                } else {
                    table[code as usize]
                };
                assert_eq!(v.to_bits(), want.to_bits());
            }
        }
    }

    #[test]
    fn script_detection() {
        assert_eq!(script_of("Hello world"), 0);
        assert_eq!(script_of("Привет мир"), 1);
        assert_eq!(script_of("酒店很好"), 2);
        assert_eq!(script_of("호텔 좋아요"), 3);
        assert_eq!(script_of("Çok güzel"), 0);
    }
}
