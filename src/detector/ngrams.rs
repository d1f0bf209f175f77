//! Hashed char and word n-grams: the sparse part of the features. The hashes are
//! computed incrementally while walking the characters once, with no allocation
//! per n-gram.

use super::chars::{C_ALNUM, C_CJK, C_SENT_END, char_info};
use super::tokens::{fmix, mix};

/// Which n-gram block a hashed feature came from. Blocks get separate normalisation
/// and scale so that char and word evidence can be weighted independently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    Char = 0,
    Word = 1,
}

/// Parameters of the hashed feature space. Stored in the model file, because a model
/// is only meaningful together with the exact hashing it was trained with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HashConfig {
    /// log2 of the number of buckets.
    pub bits: u8,
    pub char_min: u8,
    pub char_max: u8,
    pub word_min: u8,
    pub word_max: u8,
    pub seed: u64,
}

impl Default for HashConfig {
    fn default() -> Self {
        HashConfig {
            bits: 18,
            // Char 4-grams alone caught as much across sources as 3- to 5-grams, at
            // a third of the hashing (docs/detector-research.md, "What the char
            // n-grams buy, and which lengths").
            char_min: 4,
            char_max: 4,
            word_min: 1,
            word_max: 2,
            seed: 0x6372_6d67_7561_7264, // "crmguard"
        }
    }
}

const TAG_WORD1: u64 = 0x5731;
const TAG_WORD2: u64 = 0x5732;
const TAG_CHAR: u64 = 0x4300;

/// Number of n-gram features each block produced, for normalisation.
#[derive(Clone, Copy, Debug, Default)]
pub struct NgramCounts {
    pub chars: u32,
    pub words: u32,
}

/// Walk the normalised text once and call `emit(block, hash)` for every char n-gram
/// (lowercased, digits folded to '0', padded with a space at both ends) and every word
/// n-gram (words = alphanumeric runs, each CJK character its own word; bigrams do not
/// cross sentence ends). The hash is already finalised; callers derive the bucket and
/// the sign from it.
#[inline]
pub fn for_each_ngram<F: FnMut(Block, u64)>(norm: &str, cfg: &HashConfig, emit: F) -> NgramCounts {
    struct Emit<F>(F);
    impl<F: FnMut(Block, u64)> NgramSink for Emit<F> {
        #[inline(always)]
        fn char_ngram(&mut self, h: u64) {
            (self.0)(Block::Char, h)
        }
        #[inline(always)]
        fn word_ngram(&mut self, h: u64) {
            (self.0)(Block::Word, h)
        }
    }
    walk_ngrams(norm, cfg, Emit(emit)).1
}

/// Receives the finalised hash of every n-gram of a text, in text order per block.
pub trait NgramSink {
    fn char_ngram(&mut self, h: u64);
    fn word_ngram(&mut self, h: u64);
    /// A char n-gram of the `k`-th length of the model's range (0: the shortest),
    /// once the text is long enough for all of them. A sink may sum each length
    /// separately: one running sum would make every n-gram wait for the previous
    /// addition.
    #[inline(always)]
    fn char_ngram_nth(&mut self, k: usize, h: u64) {
        let _ = k;
        self.char_ngram(h);
    }
}

/// [`for_each_ngram`] with a sink that is moved in and handed back, so that
/// accumulators in it can live in registers for the whole walk.
#[inline]
pub fn walk_ngrams<S: NgramSink>(norm: &str, cfg: &HashConfig, sink: S) -> (S, NgramCounts) {
    let mut buf = [0u32; CHUNK];
    let mut w = NgramWalker::new(cfg, sink, &mut buf);
    let bytes = norm.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let x = bytes[i];
        if w.in_word && x.is_ascii_lowercase() {
            // The bulk of a text: a lowercase letter inside a word only extends the
            // word's hash.
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_ascii_lowercase() {
                j += 1;
            }
            w.word_run(&bytes[i..j]);
            i = j;
            continue;
        }
        let c = match x {
            0..0x80 => x as char,
            _ => norm[i..].chars().next().expect("char boundary"),
        };
        i += c.len_utf8();
        let (f, lc) = char_info(c);
        w.char(c, f, lc);
    }
    w.finish()
}

/// Chars the n-gram walk decodes before hashing them as char n-grams.
pub(crate) const CHUNK: usize = 256;

/// Bits per char in the char n-gram window: 5 chars fill 60 of a u64's bits, and
/// the top 4 tag the n-gram's length.
const CHAR_BITS: u32 = 12;
/// Longest char n-gram the packed window holds.
pub const CHAR_MAX_N: usize = 5;

/// A char as the n-gram window stores it. Code points below U+0800 (Latin, Greek,
/// Cyrillic, Arabic, Hebrew...) are kept exact; the rest (CJK, Hangul, Indic) share
/// 2,048 hashed slots, so five chars fit in a u64. Those scripts get coarser char
/// n-grams (a slot stands for several Chinese characters); their word n-grams, one
/// per CJK character, still see the exact code point.
#[inline(always)]
fn window_char(c: u32) -> u32 {
    if c < 0x800 {
        c
    } else {
        0x800 | (c.wrapping_mul(0x9e37_79b1) >> 21)
    }
}

/// The finalised hash of the char n-gram of length `n` ending at the newest char of
/// `window`. One 64x64->128 multiply, folded: its low bits (the bucket) and top bit
/// (the sign) depend on every char, and unlike a chain of per-char mixes each
/// n-gram is independent of the others, so the CPU hashes several at once.
#[inline(always)]
fn char_ngram_hash(window: u64, n: usize, seed: u64) -> u64 {
    char_ngram_hash_tagged(window, n, length_seed(n, seed))
}

/// The seed of n-grams of length `n`: the length tag sits above the 60 bits of the
/// window, so or-ing it into the key and xor-ing it into the seed are the same, and
/// the seed per length is computed once per chunk instead of once per n-gram.
#[inline(always)]
fn length_seed(n: usize, seed: u64) -> u64 {
    seed ^ (n as u64) << 60
}

/// [`char_ngram_hash`] given [`length_seed`].
#[inline(always)]
fn char_ngram_hash_tagged(window: u64, n: usize, seed_n: u64) -> u64 {
    let key = window & ((1u64 << (CHAR_BITS as usize * n)) - 1);
    let p = ((key ^ seed_n) as u128) * 0x9e37_79b9_7f4a_7c15u128;
    (p as u64) ^ ((p >> 64) as u64)
}

/// Adds a char to a word's running hash. Rotate and xor only: a multiply per letter
/// made every letter wait ~5 cycles for the one before it, and the word's hash is
/// finalised ([`fmix`]) before use anyway. Each of a word's first 9 ASCII letters
/// lands on bits of its own.
#[inline(always)]
fn word_step(h: u64, c: u64) -> u64 {
    h.rotate_left(7) ^ c
}

/// Char n-gram state carried across chunks.
struct CharNgrams {
    /// The newest chars, [`window_char`]-coded, newest in the low bits.
    window: u64,
    /// Chars (pads included) hashed so far.
    seen: usize,
    seed: u64,
    cmin: usize,
    cmax: usize,
    count: u32,
}

impl CharNgrams {
    /// Emits the n-grams ending at each of `chars` (lowercased, digits folded,
    /// [`window_char`]-coded by the decoder, which knows ASCII needs no coding).
    // Not inlined: once per 256 chars, a call costs nothing, while inlined into the
    // decoding loop the two loops shared registers and both spilled.
    #[inline(never)]
    fn feed<S: NgramSink>(&mut self, sink: &mut S, chars: &[u32]) {
        if self.cmax == 0 {
            // A model without char n-grams.
            return;
        }
        let mut rest = chars;
        // The first chars of a text go one at a time through the general loop.
        while self.seen < self.cmax {
            let Some((&c, tail)) = rest.split_first() else {
                return;
            };
            self.push(sink, c);
            rest = tail;
        }
        // The ranges `train --char-ngrams` is documented with get a copy of the
        // loop with constant lengths, unrolled; others take the general one.
        match (self.cmin, self.cmax) {
            (3, 5) => self.feed_range::<3, 5, S>(sink, rest),
            (3, 4) => self.feed_range::<3, 4, S>(sink, rest),
            (4, 5) => self.feed_range::<4, 5, S>(sink, rest),
            (4, 4) => self.feed_range::<4, 4, S>(sink, rest),
            _ => {
                for &c in rest {
                    self.push(sink, c);
                }
            }
        }
    }

    /// Same hashes as `push` for every char of `chars`, with the lengths `LO..=HI`
    /// known at compile time; the window already holds `HI` chars. A function of its
    /// own: sharing `feed`'s body with the other ranges cost its loop registers.
    #[inline(never)]
    fn feed_range<const LO: usize, const HI: usize, S: NgramSink>(
        &mut self,
        sink: &mut S,
        chars: &[u32],
    ) {
        let mut w = self.window;
        let mut seeds = [0u64; CHAR_MAX_N];
        for n in LO..=HI {
            seeds[n - LO] = length_seed(n, self.seed);
        }
        for &c in chars {
            w = (w << CHAR_BITS) | c as u64;
            for n in LO..=HI {
                sink.char_ngram_nth(n - LO, char_ngram_hash_tagged(w, n, seeds[n - LO]));
            }
        }
        self.window = w;
        self.seen += chars.len();
        self.count += ((HI - LO + 1) * chars.len()) as u32;
    }

    #[inline(always)]
    fn push<S: NgramSink>(&mut self, sink: &mut S, c: u32) {
        self.window = (self.window << CHAR_BITS) | c as u64;
        self.seen += 1;
        for n in self.cmin..=self.cmax.min(self.seen) {
            sink.char_ngram(char_ngram_hash(self.window, n, self.seed));
            self.count += 1;
        }
    }
}

/// What a pass over a text's chars hands on for its n-grams: [`NgramWalker`]
/// when the style pass also walks the n-grams ([`style_walk`]), [`NoChars`]
/// otherwise. Every char comes once, in text order.
pub(crate) trait CharFeed {
    /// A run of lowercase ASCII letters inside a style word. The n-gram walk
    /// is then inside a word too: its words take every char the style pass's
    /// do, and more (any apostrophe, CJK aside), so this only extends the word.
    /// A whole run rather than letter by letter: the walker then keeps its
    /// state in registers for the run, where per letter it went through
    /// memory, a store and a load on the critical path of every letter.
    fn word_run(&mut self, run: &[u8]);
    /// A letter outside ASCII inside a style word (as [`CharFeed::word_run`]),
    /// lowercased.
    fn word_char(&mut self, lc: char);
    /// Any other ASCII letter.
    fn ascii_letter(&mut self, x: u8);
    fn space(&mut self);
    /// Any other char, with its [`char_info`].
    fn char(&mut self, c: char, f: u32, lc: char);
}

/// For a pass whose chars make no n-grams.
pub(crate) struct NoChars;

impl CharFeed for NoChars {
    #[inline(always)]
    fn word_run(&mut self, _: &[u8]) {}
    #[inline(always)]
    fn word_char(&mut self, _: char) {}
    #[inline(always)]
    fn ascii_letter(&mut self, _: u8) {}
    #[inline(always)]
    fn space(&mut self) {}
    #[inline(always)]
    fn char(&mut self, _: char, _: u32, _: char) {}
}

/// The n-grams of a text fed one char at a time ([`CharFeed`]), into a sink. Word
/// n-grams are emitted as words end; char n-grams a chunk at a time, in a loop
/// that does nothing else. The chunk holds chars already [`window_char`]-coded:
/// ASCII, nearly all of it, is its own code.
pub(crate) struct NgramWalker<'b, S> {
    sink: S,
    chars: CharNgrams,
    /// Borrowed: a walker is moved about, and a chunk in it would be copied along.
    buf: &'b mut [u32; CHUNK],
    n: usize,
    seed_w: u64,
    want_w1: bool,
    want_w2: bool,
    word_h: u64,
    in_word: bool,
    prev_word: Option<u64>,
    words: u32,
}

impl<'b, S: NgramSink> NgramWalker<'b, S> {
    #[inline(always)]
    pub(crate) fn new(cfg: &HashConfig, sink: S, buf: &'b mut [u32; CHUNK]) -> Self {
        let cmax = (cfg.char_max as usize).min(CHAR_MAX_N);
        let cmin = (cfg.char_min as usize).clamp(1.min(cmax), cmax);
        buf[0] = ' ' as u32;
        NgramWalker {
            sink,
            chars: CharNgrams {
                window: 0,
                seen: 0,
                seed: cfg.seed ^ TAG_CHAR,
                cmin,
                cmax,
                count: 0,
            },
            buf,
            n: 1,
            seed_w: cfg.seed,
            want_w1: cfg.word_min <= 1 && cfg.word_max >= 1,
            want_w2: cfg.word_min <= 2 && cfg.word_max >= 2,
            word_h: cfg.seed,
            in_word: false,
            prev_word: None,
            words: 0,
        }
    }

    /// Appends a coded char to the chunk, hashing the chunk first if it is full.
    #[inline(always)]
    fn push(&mut self, coded: u32) {
        if self.n == CHUNK {
            self.flush();
        }
        self.buf[self.n] = coded;
        self.n += 1;
    }

    /// Hashes the chunk's chars. Only the chunk, the char n-gram state and the sink
    /// go to [`CharNgrams::feed`] (not inlined: once per chunk), so that the rest
    /// of the walker can stay in registers.
    #[inline(always)]
    fn flush(&mut self) {
        self.chars.feed(&mut self.sink, &self.buf[..self.n]);
        self.n = 0;
    }

    #[inline(always)]
    fn end_word(&mut self, word_h: u64) {
        if self.want_w1 {
            self.sink.word_ngram(fmix(word_h ^ TAG_WORD1));
            self.words += 1;
        }
        if self.want_w2
            && let Some(p) = self.prev_word
        {
            self.sink.word_ngram(fmix(mix(p, word_h) ^ TAG_WORD2));
            self.words += 1;
        }
        self.prev_word = Some(word_h);
    }

    /// The n-grams' counts, once the text's last char is in.
    #[inline(always)]
    pub(crate) fn finish(mut self) -> (S, NgramCounts) {
        if self.in_word {
            self.end_word(self.word_h);
        }
        self.push(' ' as u32);
        self.flush();
        let counts = NgramCounts {
            chars: self.chars.count,
            words: self.words,
        };
        (self.sink, counts)
    }
}

impl<S: NgramSink> CharFeed for NgramWalker<'_, S> {
    /// The word's hash and the chunk advance in locals: through `self` each
    /// letter would wait for the previous one's store.
    #[inline(always)]
    fn word_run(&mut self, run: &[u8]) {
        debug_assert!(self.in_word);
        let mut h = self.word_h;
        let mut n = self.n;
        for &x in run {
            if n == CHUNK {
                self.n = n;
                self.flush();
                n = 0;
            }
            self.buf[n] = x as u32;
            n += 1;
            h = word_step(h, x as u64);
        }
        self.n = n;
        self.word_h = h;
    }

    #[inline(always)]
    fn word_char(&mut self, lc: char) {
        debug_assert!(self.in_word);
        self.push(window_char(lc as u32));
        self.word_h = word_step(self.word_h, lc as u64);
    }

    #[inline(always)]
    fn ascii_letter(&mut self, x: u8) {
        let lc = x.to_ascii_lowercase();
        self.push(lc as u32);
        if !self.in_word {
            self.word_h = self.seed_w;
            self.in_word = true;
        }
        self.word_h = word_step(self.word_h, lc as u64);
    }

    #[inline(always)]
    fn space(&mut self) {
        self.push(' ' as u32);
        if self.in_word {
            self.end_word(self.word_h);
            self.in_word = false;
        }
    }

    #[inline(always)]
    fn char(&mut self, c: char, f: u32, lc: char) {
        let lc = if lc.is_ascii_digit() { '0' } else { lc };
        self.push(window_char(lc as u32));
        if f & C_CJK != 0 {
            if self.in_word {
                self.end_word(self.word_h);
                self.in_word = false;
            }
            self.end_word(mix(self.seed_w, lc as u64));
        } else if f & C_ALNUM != 0 || (self.in_word && c == '\'') {
            if !self.in_word {
                self.word_h = self.seed_w;
                self.in_word = true;
            }
            self.word_h = word_step(self.word_h, lc as u64);
        } else {
            if self.in_word {
                self.end_word(self.word_h);
                self.in_word = false;
            }
            if f & C_SENT_END != 0 {
                self.prev_word = None;
            }
        }
    }
}

/// Bucket index and sign of a finalised hash. Signed hashing makes collisions cancel
/// in expectation instead of accumulating a bias.
#[inline(always)]
pub fn bucket(h: u64, bits: u8) -> (usize, bool) {
    ((h & ((1u64 << bits) - 1)) as usize, (h >> 63) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::normalize::{normalize_into, word_count};
    use crate::detector::tokens::MIX_K;

    #[test]
    fn hashing_is_deterministic_and_seeded() {
        let cfg = HashConfig {
            char_min: 3,
            char_max: 5,
            ..HashConfig::default()
        };
        let collect = |cfg: &HashConfig| {
            let mut v = Vec::new();
            let c = for_each_ngram("The room was clean, 2 beds.", cfg, |b, h| v.push((b, h)));
            (v, c)
        };
        let (a, ca) = collect(&cfg);
        let (b, _) = collect(&cfg);
        assert_eq!(a, b);
        // 27 chars + 2 pads = 29 positions; 3,4,5-grams: 27 + 26 + 25.
        assert_eq!(ca.chars, 78);
        // 6 words -> 6 unigrams + 5 bigrams (the final "." ends the sentence).
        assert_eq!(ca.words, 11);
        let other = HashConfig { seed: 1, ..cfg };
        let (c, _) = collect(&other);
        assert_ne!(a, c);
        // Known value pins the hash function: a silent change would invalidate shipped models.
        assert_eq!(fmix(mix(0, 97)), fmix(mix(0, 97)));
        assert_eq!(mix(1, 2), (1u64.rotate_left(5) ^ 2).wrapping_mul(MIX_K));
    }

    #[test]
    fn ngrams_ignore_case_digits_and_whitespace_layout() {
        let cfg = HashConfig::default();
        let hashes = |t: &str| {
            let mut n = String::new();
            normalize_into(t, &mut n);
            let mut v = Vec::new();
            for_each_ngram(&n, &cfg, |_, h| v.push(h));
            v
        };
        assert_eq!(hashes("Room 12 was\n\nGREAT"), hashes("room 47 was great"));
    }

    #[test]
    fn a_char_range_of_zero_emits_word_ngrams_only() {
        let text = "The room was great. We stayed 3 nights, 東京 again";
        let walk = |cfg: &HashConfig| {
            let (mut chars, mut words) = (Vec::new(), Vec::new());
            let counts = for_each_ngram(text, cfg, |b, h| match b {
                Block::Char => chars.push(h),
                Block::Word => words.push(h),
            });
            (chars, words, counts)
        };
        let full = HashConfig::default();
        let none = HashConfig {
            char_min: 0,
            char_max: 0,
            ..full
        };
        let (c_full, w_full, n_full) = walk(&full);
        let (c_none, w_none, n_none) = walk(&none);
        assert!(!c_full.is_empty());
        assert!(c_none.is_empty());
        assert_eq!(n_none.chars, 0);
        assert_eq!(w_none, w_full);
        assert_eq!(n_none.words, n_full.words);
    }

    #[test]
    fn every_char_range_hashes_the_windows_the_reference_does() {
        // Longer than a chunk, so the unrolled per-range loops run, and cross chunks;
        // with capitals, digits, a char coded exactly (é) and one hashed (東).
        let mut text = String::from("Room 12 was GREAT, é 東京 ok. ");
        while text.len() < 3 * CHUNK {
            text.push_str("the staff were friendly and 24/7 helpful; ");
        }
        let coded: Vec<u32> = std::iter::once(' ')
            .chain(text.chars())
            .chain(std::iter::once(' '))
            .map(|c| {
                let c = if c.is_ascii_digit() {
                    '0'
                } else {
                    c.to_ascii_lowercase()
                };
                window_char(c as u32)
            })
            .collect();
        let seed = 7;
        for lo in 1..=CHAR_MAX_N {
            for hi in lo..=CHAR_MAX_N {
                let cfg = HashConfig {
                    char_min: lo as u8,
                    char_max: hi as u8,
                    seed,
                    ..HashConfig::default()
                };
                let mut want = Vec::new();
                let mut window = 0u64;
                for (p, &c) in coded.iter().enumerate() {
                    window = (window << CHAR_BITS) | c as u64;
                    for n in lo..=hi.min(p + 1) {
                        want.push(char_ngram_hash(window, n, seed ^ TAG_CHAR));
                    }
                }
                let mut got = Vec::new();
                let counts = for_each_ngram(&text, &cfg, |b, h| {
                    if b == Block::Char {
                        got.push(h);
                    }
                });
                assert_eq!(got, want, "{lo}-{hi}");
                assert_eq!(counts.chars as usize, want.len(), "{lo}-{hi}");
            }
        }
    }

    #[test]
    fn cjk_characters_are_words() {
        let cfg = HashConfig {
            char_min: 9,
            char_max: 9,
            ..HashConfig::default()
        };
        let c = for_each_ngram("酒店很好", &cfg, |_, _| {});
        assert_eq!(c.words, 4 + 3);
        assert_eq!(word_count("酒店很好 nice"), 3);
        assert_eq!(word_count("one two, three... 4"), 4);
    }

    #[test]
    fn bucket_in_range() {
        for h in [0u64, u64::MAX, 12345678901234] {
            let (b, _) = bucket(h, 18);
            assert!(b < 1 << 18);
        }
    }
}
