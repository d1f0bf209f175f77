//! Tokens as the style pass hands them on (words and marks, as finalised hashes),
//! and the hash steps every feature is built from. Its own module so that the
//! lexicons, which consume tokens, and the style pass, which makes them, depend on
//! it and not on each other.

use super::chars::lower;

pub(crate) const MIX_K: u64 = 0x517c_c1b7_2722_0a95;

/// FxHash-style step: cheap, and good enough because every value is finalised by
/// [`fmix`] before it becomes a bucket index.
#[inline(always)]
pub fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(MIX_K)
}

/// MurmurHash3 64-bit finaliser: spreads the FxHash state over all bits so that both
/// the bucket index (low bits) and the sign (top bit) are well distributed.
#[inline(always)]
pub fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// Where phrases are taken from: what the style pass reports as it reads a text.
pub trait Tokens {
    /// The next token (a word or a mark) of the text, as its finalised hash.
    fn token(&mut self, h: u64);
}

/// The tokens of a text, in order.
impl Tokens for Vec<u64> {
    fn token(&mut self, h: u64) {
        self.push(h);
    }
}

/// For a style pass whose tokens nobody matches.
pub struct NoTokens;

impl Tokens for NoTokens {
    #[inline(always)]
    fn token(&mut self, _: u64) {}
}

pub(crate) const MARK_SEED: u64 = 0x2e;

/// The token of a char that is not part of a word (punctuation, symbols, CJK): a
/// hash of its own kind, so no mark is taken for a word.
#[inline(always)]
pub(crate) fn mark_token(c: char) -> u64 {
    fmix(mix(MARK_SEED, c as u64))
}

pub(crate) const WORD_HASH_SEED: u64 = 0x77;

pub(crate) fn hash_word_lower(w: &str) -> u64 {
    let mut h = WORD_HASH_SEED;
    for c in w.chars() {
        h = mix(h, lower(c) as u64);
    }
    fmix(h)
}
