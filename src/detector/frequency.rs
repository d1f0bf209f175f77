//! Word-frequency "surprise" features, in the spirit of GLTR: a language model
//! picks likely words, so its text keeps to the common part of the vocabulary
//! and rarely strays into the long tail where typos, slang, names and jargon
//! live. GLTR ranks each word under the generating model; a detector that must
//! score 50 MB/s per core ranks it in a unigram table instead.
//!
//! The table is built by `crmguard train` from the *human* training texts
//! (English tokens, words and marks as the style pass finds them), and stored in
//! the model file: no outside word list, and a model evaluated on a held-out
//! source never saw that source's words. Tokens are hashed into
//! [`SLOTS`] slots; each slot holds its frequency band.

use super::tokens::Tokens;

/// Slots of the table: a token's slot is the top 16 bits of its hash.
pub const SLOTS: usize = 1 << 16;
/// Upper rank of each band, commonest first: band 1 holds the 10 commonest
/// tokens, band 2 the next 90, ... Band 0 is "not in the table".
const BAND_RANKS: [usize; 5] = [10, 100, 1_000, 5_000, 20_000];
pub const N_BANDS: usize = BAND_RANKS.len() + 1;
/// A token seen fewer times than this in the human texts is not ranked.
const MIN_COUNT: u32 = 3;

pub const FREQ_NAMES: [&str; 6] = [
    "share of the 10 commonest tokens",
    "share of the 100 commonest tokens",
    "share of the 1,000 commonest tokens",
    "share of the 5,000 commonest tokens",
    "share of rare or unseen words",
    "spread of word frequency",
];
pub const N_FREQ: usize = FREQ_NAMES.len();

/// Below this many tokens the shares are too coarse to mean anything (NaN).
const MIN_TOKENS: u32 = 5;

#[inline(always)]
pub fn slot(token: u64) -> u16 {
    (token >> 48) as u16
}

/// Frequency band per slot.
#[derive(Clone, Debug, PartialEq)]
pub struct FreqTable {
    pub bands: Vec<u8>,
}

impl FreqTable {
    /// Ranks the slots by how often their tokens occur in `texts` (each a list
    /// of slots), commonest first, ties by slot: the same texts give the same
    /// table whatever their order.
    pub fn build<'a>(texts: impl Iterator<Item = &'a [u16]>) -> FreqTable {
        let mut count = vec![0u32; SLOTS];
        for t in texts {
            for &s in t {
                count[s as usize] += 1;
            }
        }
        let mut order: Vec<usize> = (0..SLOTS).filter(|&s| count[s] >= MIN_COUNT).collect();
        order.sort_by(|&a, &b| count[b].cmp(&count[a]).then(a.cmp(&b)));
        let mut bands = vec![0u8; SLOTS];
        for (rank, &s) in order.iter().enumerate() {
            if let Some(b) = BAND_RANKS.iter().position(|&r| rank < r) {
                bands[s] = b as u8 + 1;
            }
        }
        FreqTable { bands }
    }

    #[inline(always)]
    pub fn band(&self, slot: u16) -> u8 {
        self.bands[slot as usize]
    }

    /// Tokens per band of a text given as slots.
    pub fn counts(&self, slots: &[u16]) -> [u32; N_BANDS] {
        let mut c = [0u32; N_BANDS];
        for &s in slots {
            c[self.band(s) as usize] += 1;
        }
        c
    }
}

/// Counts the bands of the tokens going by, and hands them on to `inner`.
pub struct FreqRun<'t, T> {
    table: &'t FreqTable,
    pub inner: T,
    pub counts: [u32; N_BANDS],
}

impl<'t, T> FreqRun<'t, T> {
    pub fn new(table: &'t FreqTable, inner: T) -> Self {
        FreqRun {
            table,
            inner,
            counts: [0; N_BANDS],
        }
    }
}

impl<T: Tokens> Tokens for FreqRun<'_, T> {
    #[inline(always)]
    fn token(&mut self, h: u64) {
        self.counts[self.table.band(slot(h)) as usize] += 1;
        self.inner.token(h);
    }
}

/// The [`FREQ_NAMES`] features of a text's band counts into `out`.
pub fn features(counts: &[u32; N_BANDS], out: &mut [f32]) {
    let n: u32 = counts.iter().sum();
    if n < MIN_TOKENS {
        out[..N_FREQ].fill(f32::NAN);
        return;
    }
    let n = n as f32;
    let mut cum = 0u32;
    for (b, o) in out.iter_mut().take(4).enumerate() {
        cum += counts[b + 1];
        *o = cum as f32 / n;
    }
    // Unseen (band 0) and the rarest band together: the long tail.
    out[4] = (counts[0] + counts[N_BANDS - 1]) as f32 / n;
    // Spread of the band index, unseen counting as the rarest of all.
    let level = |b: usize| if b == 0 { N_BANDS as f32 } else { b as f32 };
    let mean: f32 = (0..N_BANDS)
        .map(|b| counts[b] as f32 * level(b))
        .sum::<f32>()
        / n;
    let var: f32 = (0..N_BANDS)
        .map(|b| counts[b] as f32 * (level(b) - mean).powi(2))
        .sum::<f32>()
        / n;
    out[5] = var.sqrt();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_rank_and_ties_break_by_slot() {
        // Slot k appears 1000 - k times: slot 0 is the commonest.
        let texts: Vec<Vec<u16>> = (0..200u16).map(|k| vec![k; 1000 - k as usize]).collect();
        let t = FreqTable::build(texts.iter().map(Vec::as_slice));
        assert_eq!(t.band(0), 1);
        assert_eq!(t.band(9), 1);
        assert_eq!(t.band(10), 2);
        assert_eq!(t.band(150), 3);
        assert_eq!(t.band(60_000), 0);
        let rev = FreqTable::build(texts.iter().rev().map(Vec::as_slice));
        assert_eq!(t, rev);
    }

    #[test]
    fn shares_are_cumulative_and_short_texts_undefined() {
        let mut out = [0f32; N_FREQ];
        features(&[1, 4, 3, 1, 1, 0], &mut out);
        assert_eq!(out[0], 0.4);
        assert_eq!(out[1], 0.7);
        assert_eq!(out[3], 0.9);
        assert_eq!(out[4], 0.1);
        assert!(out[5] > 0.0);
        features(&[1, 1, 0, 0, 0, 0], &mut out);
        assert!(out.iter().all(|x| x.is_nan()));
    }
}
