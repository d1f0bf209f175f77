//! The learned part of the detector: a logistic regression over hashed n-grams plus
//! dense (style, lexicon, word-frequency) features, Platt calibration per length
//! band, and the presets' thresholds, with a compact versioned binary format.
//!
//! # File format (little-endian)
//! ```text
//! magic        8 bytes  "CRMGDET1"
//! version      u32      = 3 (2: one Platt pair and one threshold, no frequency table;
//!                        1: char n-grams hashed by a per-char mix chain)
//! bits         u8       log2(number of hash buckets)
//! char_min/max u8, u8   char n-gram range; 0, 0 = none (`train --char-ngrams none`)
//! word_min/max u8, u8   word n-gram range
//! flags        u8       bit0 hashed n-grams, bit1 style, bit2 lexicons, bit3 per-script
//!                       standardisation, bit4 word-frequency table, bit5 boosted trees
//! reserved     u16      = 0
//! seed         u64      hash seed
//! norm_pow     f32      each n-gram block is divided by (n-grams in block)^norm_pow
//! char_scale   f32      block multipliers
//! word_scale   f32
//! bias         f32
//! platt        3 × (a f32, b f32)   P(machine) = sigmoid(a * margin + b), per length
//!                       band (see [`length_band`])
//! presets      3 × (quarantine f32, review f32)   strict, balanced, thorough; a NaN
//!                       review means no review tier
//! n_dense      u32      number of dense features (style + lexicon + frequency)
//! n_groups     u32      standardisation groups (1, or one per script)
//! dense_w      n_dense × f32
//! dense_mean   n_groups × n_dense × f32
//! dense_std    n_groups × n_dense × f32
//! encoding     u8       0 = f32 weights, 1 = u8 codes into a 256-entry f32 codebook
//! [encoding 1] codebook 256 × f32, then 2^bits × u8 codes
//! [encoding 0] 2^bits × f32
//! [bit4]       65,536 × u8 frequency band per token slot (see `frequency`)
//! [bit5]       blend f32, base f32, n_trees u32, then per tree n_nodes u16 and
//!              n_nodes × (feature u16, left u16, right u16, value f32) (see `trees`)
//! meta_len     u32, then meta_len bytes of UTF-8 (how the model was trained)
//! checksum     u64      FNV-1a 64 of every byte before it
//! ```
//! The codebook holds weight quantiles, so the many small weights keep distinct values
//! (a linear int8 scale would flush most of them to zero), and 0 maps exactly to 0.

use super::dense::N_DENSE;
use super::frequency::{FreqTable, SLOTS};
use super::ngrams::HashConfig;
use super::trees::{Forest, Node};
use anyhow::{Context, Result, bail, ensure};
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"CRMGDET1";
/// Bumped whenever the same bytes would score differently: version 3 adds style and
/// word-frequency features, calibration per length band and the presets' thresholds.
pub const VERSION: u32 = 3;
/// Length bands of the calibration: texts of fewer than 20 words, of 20–49, of 50+.
pub const N_LEN_BANDS: usize = 3;
/// The presets in file order: strict, balanced, thorough.
pub const N_PRESETS: usize = 3;

/// The length bands, as the terminal and the docs name them.
pub const LEN_BAND_NAMES: [&str; N_LEN_BANDS] =
    ["under 20 words", "20 to 49 words", "50 words or more"];

/// The calibration band of a text of `words` words. Short texts carry less
/// evidence, so the same margin means less there: one Platt pair for all
/// lengths made every short text's score too confident or too timid.
#[inline]
pub fn length_band(words: usize) -> usize {
    match words {
        0..20 => 0,
        20..50 => 1,
        _ => 2,
    }
}
pub use super::chars::N_SCRIPTS;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeatureConfig {
    pub hash: HashConfig,
    pub use_hashed: bool,
    pub use_style: bool,
    pub use_lexicon: bool,
    /// Word-frequency features, from a table built of the human training texts.
    pub use_freq: bool,
    /// Standardise dense features per script, so that e.g. "CJK has short words" or
    /// "Cyrillic has few capitals" cannot act as evidence either way.
    pub per_script: bool,
    pub norm_pow: f32,
    pub char_scale: f32,
    pub word_scale: f32,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            hash: HashConfig::default(),
            use_hashed: true,
            use_style: true,
            use_lexicon: true,
            // Measured without gain on held-out sources (docs/detector.md):
            // `train --frequency` adds them.
            use_freq: false,
            per_script: true,
            // Between mean (1.0) and L2-style (0.5) normalisation: evidence still grows
            // with length, but a long Wikipedia article can no longer pile up an
            // n-gram margin that swamps every other signal.
            norm_pow: 0.75,
            char_scale: 5.0,
            word_scale: 5.0,
        }
    }
}

impl FeatureConfig {
    /// Whether boosted trees can be grown: they split on the style and
    /// lexicon features, and a model without them would score texts on zeros
    /// that training never saw.
    pub fn feeds_trees(&self) -> bool {
        self.use_style && self.use_lexicon
    }
}

/// Hashed weights as stored and scored.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    F32(Vec<f32>),
    Codebook {
        table: Box<[f32; 256]>,
        codes: Vec<u8>,
    },
}

impl Weights {
    #[inline(always)]
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Weights::F32(w) => w[i],
            Weights::Codebook { table, codes } => table[codes[i] as usize],
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Weights::F32(w) => w.len(),
            Weights::Codebook { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Quantise to a 256-entry codebook: code 0 is exactly 0.0, the other 255 codes
    /// are medians of equal-count slices of the sorted non-zero weights.
    pub fn quantize(w: &[f32]) -> Weights {
        let mut nz: Vec<f32> = w.iter().copied().filter(|x| *x != 0.0).collect();
        let mut table = Box::new([0f32; 256]);
        if nz.is_empty() {
            return Weights::Codebook {
                table,
                codes: vec![0; w.len()],
            };
        }
        nz.sort_by(|a, b| a.total_cmp(b));
        let k = 255usize;
        let mut cents: Vec<f32> = (0..k)
            .map(|j| {
                let lo = j * nz.len() / k;
                let hi = ((j + 1) * nz.len() / k).max(lo + 1).min(nz.len());
                nz[(lo + hi - 1) / 2]
            })
            .collect();
        cents.dedup();
        for (i, c) in cents.iter().enumerate() {
            table[i + 1] = *c;
        }
        let n_c = cents.len();
        let codes = w
            .iter()
            .map(|&x| {
                if x == 0.0 {
                    return 0u8;
                }
                let pos = cents.partition_point(|c| *c < x);
                let best = if pos == 0 {
                    0
                } else if pos >= n_c {
                    n_c - 1
                } else if (x - cents[pos - 1]).abs() <= (cents[pos] - x).abs() {
                    pos - 1
                } else {
                    pos
                };
                (best + 1) as u8
            })
            .collect();
        Weights::Codebook { table, codes }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub cfg: FeatureConfig,
    pub bias: f32,
    pub hashed: Weights,
    pub dense_w: Vec<f32>,
    pub dense_mean: Vec<f32>,
    pub dense_std: Vec<f32>,
    /// Platt (a, b) per [`length_band`].
    pub platt: [(f32, f32); N_LEN_BANDS],
    /// (quarantine, review) per preset; review NaN: no review tier.
    pub presets: [(f32, f32); N_PRESETS],
    /// Word-frequency bands per token slot; `None`: no frequency features.
    pub freq: Option<FreqTable>,
    /// Boosted trees blended into the margin; `None`: the linear model alone.
    pub trees: Option<Forest>,
    pub meta: String,
}

#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Probability from calibrated log-odds `z`. The log-odds are soft-clipped to ±12
/// (tanh, monotone): in f32, sigmoid(z) is exactly 1.0 from z ≈ 17, and long texts
/// reach such margins, so without the clip many rows would tie at 1.0 and the ranking
/// at the strict end (which sets TPR at 1% FPR) would be lost. Below |z| ≈ 5 the clip
/// changes probabilities by less than 0.002.
#[inline]
pub fn probability(z: f32) -> f32 {
    const LIM: f32 = 12.0;
    sigmoid(LIM * (z / LIM).tanh())
}

impl Model {
    pub fn n_groups(&self) -> usize {
        if self.cfg.per_script { N_SCRIPTS } else { 1 }
    }

    /// Calibrated log-odds of a margin, for a text of `words` words.
    #[inline]
    pub fn log_odds(&self, margin: f32, words: usize) -> f32 {
        let (a, b) = self.platt[length_band(words)];
        a * margin + b
    }

    /// The balanced preset's quarantine threshold: the default.
    pub fn threshold(&self) -> f32 {
        self.presets[1].0
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.hashed.len() + 4096);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        let h = &self.cfg.hash;
        b.extend_from_slice(&[h.bits, h.char_min, h.char_max, h.word_min, h.word_max]);
        let flags = (self.cfg.use_hashed as u8)
            | (self.cfg.use_style as u8) << 1
            | (self.cfg.use_lexicon as u8) << 2
            | (self.cfg.per_script as u8) << 3
            | (self.freq.is_some() as u8) << 4
            | (self.trees.is_some() as u8) << 5;
        b.push(flags);
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&h.seed.to_le_bytes());
        let pairs = self.platt.iter().chain(&self.presets);
        for f in [
            self.cfg.norm_pow,
            self.cfg.char_scale,
            self.cfg.word_scale,
            self.bias,
        ]
        .into_iter()
        .chain(pairs.flat_map(|p| [p.0, p.1]))
        {
            b.extend_from_slice(&f.to_le_bytes());
        }
        b.extend_from_slice(&(self.dense_w.len() as u32).to_le_bytes());
        b.extend_from_slice(&(self.n_groups() as u32).to_le_bytes());
        for v in self
            .dense_w
            .iter()
            .chain(&self.dense_mean)
            .chain(&self.dense_std)
        {
            b.extend_from_slice(&v.to_le_bytes());
        }
        match &self.hashed {
            Weights::F32(w) => {
                b.push(0);
                for v in w {
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
            Weights::Codebook { table, codes } => {
                b.push(1);
                for v in table.iter() {
                    b.extend_from_slice(&v.to_le_bytes());
                }
                b.extend_from_slice(codes);
            }
        }
        if let Some(f) = &self.freq {
            b.extend_from_slice(&f.bands);
        }
        if let Some(f) = &self.trees {
            write_forest(f, &mut b);
        }
        b.extend_from_slice(&(self.meta.len() as u32).to_le_bytes());
        b.extend_from_slice(self.meta.as_bytes());
        let sum = fnv1a(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_bytes())
            .with_context(|| format!("writing model {}", path.display()))
    }

    pub fn read(bytes: &[u8]) -> Result<Model> {
        let body = checked_body(bytes)?;
        let mut r = Reader { b: body, pos: 8 };
        let version = r.u32()?;
        ensure!(
            version == VERSION,
            "detector model version {version} is not supported by this crmguard (it reads \
             version {VERSION}); retrain it with `crmguard train`"
        );
        let (cfg, f, flags) = r.header()?;
        let pair = |i: usize| (f[4 + 2 * i], f[5 + 2 * i]);
        let platt: [(f32, f32); N_LEN_BANDS] = std::array::from_fn(pair);
        let presets: [(f32, f32); N_PRESETS] = std::array::from_fn(|i| pair(N_LEN_BANDS + i));
        let n_dense = r.u32()? as usize;
        let n_groups = r.u32()? as usize;
        ensure!(
            n_dense == N_DENSE,
            "model has {n_dense} dense features, this build computes {N_DENSE}"
        );
        let expect_groups = if cfg.per_script { N_SCRIPTS } else { 1 };
        ensure!(
            n_groups == expect_groups,
            "model has {n_groups} standardisation groups, expected {expect_groups}"
        );
        let dense_w = r.f32s(n_dense)?;
        let dense_mean = r.f32s(n_dense * n_groups)?;
        let dense_std = r.f32s(n_dense * n_groups)?;
        let hashed = r.hashed_weights(1usize << cfg.hash.bits)?;
        let freq = if flags & 16 != 0 {
            Some(FreqTable {
                bands: r.take(SLOTS)?.to_vec(),
            })
        } else {
            None
        };
        let trees = if flags & 32 != 0 {
            Some(r.forest()?)
        } else {
            None
        };
        let meta_len = r.u32()? as usize;
        let meta =
            String::from_utf8(r.take(meta_len)?.to_vec()).context("model meta is not UTF-8")?;
        ensure!(r.pos == body.len(), "trailing bytes in model file");
        Ok(Model {
            cfg,
            bias: f[3],
            hashed,
            dense_w,
            dense_mean,
            dense_std,
            platt,
            presets,
            freq,
            trees,
            meta,
        })
    }
}

fn write_forest(f: &Forest, b: &mut Vec<u8>) {
    b.extend_from_slice(&f.blend.to_le_bytes());
    b.extend_from_slice(&f.base.to_le_bytes());
    b.extend_from_slice(&(f.trees.len() as u32).to_le_bytes());
    for t in &f.trees {
        b.extend_from_slice(&(t.len() as u16).to_le_bytes());
        for n in t {
            for v in [n.feature, n.left, n.right] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&n.value.to_le_bytes());
        }
    }
}

/// A model file's bytes without their checksum, once the magic and the
/// checksum are checked.
fn checked_body(bytes: &[u8]) -> Result<&[u8]> {
    ensure!(
        bytes.len() > 8 + 8 && &bytes[..8] == MAGIC,
        "not a crmguard detector model (bad magic)"
    );
    let (body, tail) = bytes.split_at(bytes.len() - 8);
    let stored = u64::from_le_bytes(tail.try_into().expect("8 bytes"));
    ensure!(
        stored == fnv1a(body),
        "detector model is corrupt (checksum mismatch)"
    );
    Ok(body)
}

/// The floats of a model file's header: the feature scales, the bias, then
/// the Platt pairs of the length bands and the presets' thresholds.
type HeaderFloats = [f32; 4 + 2 * (N_LEN_BANDS + N_PRESETS)];

impl Reader<'_> {
    /// The header after the version: the feature configuration, its floats
    /// and its flags.
    fn header(&mut self) -> Result<(FeatureConfig, HeaderFloats, u8)> {
        let hb = self.take(6)?;
        let (bits, char_min, char_max, word_min, word_max, flags) =
            (hb[0], hb[1], hb[2], hb[3], hb[4], hb[5]);
        ensure!((8..=26).contains(&bits), "bad bucket bits {bits}");
        ensure!(
            char_min <= char_max
                && char_max as usize <= super::ngrams::CHAR_MAX_N
                && word_min <= word_max,
            "bad n-gram ranges"
        );
        self.take(2)?;
        let seed = self.u64()?;
        let mut f: HeaderFloats = [0f32; 4 + 2 * (N_LEN_BANDS + N_PRESETS)];
        for x in f.iter_mut() {
            *x = self.f32()?;
        }
        let cfg = FeatureConfig {
            hash: HashConfig {
                bits,
                char_min,
                char_max,
                word_min,
                word_max,
                seed,
            },
            use_hashed: flags & 1 != 0,
            use_style: flags & 2 != 0,
            use_lexicon: flags & 4 != 0,
            use_freq: flags & 16 != 0,
            per_script: flags & 8 != 0,
            norm_pow: f[0],
            char_scale: f[1],
            word_scale: f[2],
        };
        Ok((cfg, f, flags))
    }

    /// The boosted trees, checked so that scoring cannot index out of a tree
    /// or loop.
    fn forest(&mut self) -> Result<Forest> {
        let blend = self.f32()?;
        let base = self.f32()?;
        let n_trees = self.u32()? as usize;
        ensure!(
            (0.0..=1.0).contains(&blend) && n_trees <= 100_000,
            "bad boosted trees header"
        );
        let mut trees = Vec::with_capacity(n_trees.min(4096));
        for _ in 0..n_trees {
            let n = self.u16()? as usize;
            let mut t = Vec::with_capacity(n);
            for _ in 0..n {
                let (feature, left, right) = (self.u16()?, self.u16()?, self.u16()?);
                let value = self.f32()?;
                t.push(Node {
                    feature,
                    left,
                    right,
                    value,
                });
            }
            trees.push(t);
        }
        let f = Forest { blend, base, trees };
        ensure!(
            f.is_well_formed(),
            "malformed boosted trees in detector model"
        );
        Ok(f)
    }

    /// The `n` hashed weights, as floats or as a codebook and its codes.
    fn hashed_weights(&mut self, n: usize) -> Result<Weights> {
        Ok(match self.take(1)?[0] {
            0 => Weights::F32(self.f32s(n)?),
            1 => {
                let mut table = Box::new([0f32; 256]);
                for t in table.iter_mut() {
                    *t = self.f32()?;
                }
                Weights::Codebook {
                    table,
                    codes: self.take(n)?.to_vec(),
                }
            }
            e => bail!("unknown weight encoding {e}"),
        })
    }
}

fn fnv1a(b: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &x in b {
        h ^= x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        ensure!(
            self.pos + n <= self.b.len(),
            "detector model file is truncated"
        );
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into()?))
    }
    fn f32(&mut self) -> Result<f32> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into()?))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        let raw = self.take(n.checked_mul(4).context("size overflow")?)?;
        Ok(raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::trees::LEAF;

    fn tiny(encoding_codebook: bool) -> Model {
        let cfg = FeatureConfig {
            hash: HashConfig {
                bits: 10,
                ..HashConfig::default()
            },
            ..FeatureConfig::default()
        };
        let w: Vec<f32> = (0..1024)
            .map(|i| ((i as f32) * 0.37).sin() * if i % 7 == 0 { 0.0 } else { 1.0 })
            .collect();
        let g = if cfg.per_script { N_SCRIPTS } else { 1 };
        Model {
            cfg,
            bias: -0.25,
            hashed: if encoding_codebook {
                Weights::quantize(&w)
            } else {
                Weights::F32(w)
            },
            dense_w: (0..N_DENSE).map(|i| i as f32 * 0.1).collect(),
            dense_mean: vec![0.5; N_DENSE * g],
            dense_std: vec![2.0; N_DENSE * g],
            platt: [(1.5, -0.1), (1.2, 0.0), (1.0, 0.3)],
            presets: [(0.95, f32::NAN), (0.9, 0.6), (0.7, 0.4)],
            freq: Some(FreqTable {
                bands: (0..SLOTS).map(|i| (i % 7) as u8).collect(),
            }),
            // One encoding with trees, one without: both layouts round-trip.
            trees: encoding_codebook.then(|| Forest {
                blend: 0.5,
                base: -0.1,
                trees: vec![vec![
                    Node {
                        feature: 3,
                        left: 1,
                        right: 2,
                        value: 0.25,
                    },
                    Node {
                        feature: LEAF,
                        left: 0,
                        right: 0,
                        value: -0.5,
                    },
                    Node {
                        feature: LEAF,
                        left: 0,
                        right: 0,
                        value: 0.75,
                    },
                ]],
            }),
            meta: "test model".into(),
        }
    }

    #[test]
    fn round_trip_both_encodings() {
        for cb in [false, true] {
            let m = tiny(cb);
            let bytes = m.to_bytes();
            let back = Model::read(&bytes).unwrap();
            // NaN != NaN: compare the bytes, and the fields NaN cannot hide.
            assert_eq!(bytes, back.to_bytes());
            assert_eq!(
                (&m.hashed, &m.freq, &m.platt, &m.trees),
                (&back.hashed, &back.freq, &back.platt, &back.trees)
            );
            assert!(back.presets[0].1.is_nan());
        }
    }

    #[test]
    fn rejects_corruption_truncation_and_bad_magic() {
        let bytes = tiny(true).to_bytes();
        let mut bad = bytes.clone();
        bad[100] ^= 1;
        assert!(
            Model::read(&bad)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
        assert!(Model::read(&bytes[..bytes.len() - 20]).is_err());
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(
            Model::read(&magic)
                .unwrap_err()
                .to_string()
                .contains("magic")
        );
    }

    #[test]
    fn a_tree_that_could_loop_or_give_nan_is_refused() {
        let mut m = tiny(true);
        // The root's right child pointing back at the root.
        m.trees.as_mut().unwrap().trees[0][0].right = 0;
        let err = Model::read(&m.to_bytes()).unwrap_err().to_string();
        assert!(err.contains("malformed boosted trees"), "{err}");
        // A leaf that would make every score NaN.
        let mut m = tiny(true);
        m.trees.as_mut().unwrap().trees[0][2].value = f32::NAN;
        assert!(Model::read(&m.to_bytes()).is_err());
    }

    #[test]
    fn an_older_version_is_refused_with_advice() {
        let mut bytes = tiny(true).to_bytes();
        bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
        let n = bytes.len() - 8;
        let sum = fnv1a(&bytes[..n]);
        bytes[n..].copy_from_slice(&sum.to_le_bytes());
        let err = Model::read(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("version 2") && err.contains("retrain"),
            "{err}"
        );
    }

    #[test]
    fn quantisation_keeps_zero_and_is_close() {
        let w: Vec<f32> = (0..5000)
            .map(|i| {
                if i % 3 == 0 {
                    0.0
                } else {
                    ((i as f32) * 0.013).sin().powi(3)
                }
            })
            .collect();
        let q = Weights::quantize(&w);
        let mut max_err = 0f32;
        for (i, &x) in w.iter().enumerate() {
            if x == 0.0 {
                assert_eq!(q.get(i), 0.0);
            }
            max_err = max_err.max((q.get(i) - x).abs());
        }
        assert!(max_err < 0.05, "{max_err}");
    }
}
