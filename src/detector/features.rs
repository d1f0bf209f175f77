//! Text normalisation, hashed n-gram features and language-agnostic style features.
//!
//! Everything here runs in the scoring hot path, so it works on `&str` slices and a
//! caller-provided buffer: no per-call heap allocation, no `String` per n-gram. The
//! n-gram hashes are computed incrementally while walking the characters once.

use std::sync::OnceLock;

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
            // a third of the hashing (docs/detector.md, "What the char n-grams buy,
            // and which lengths").
            char_min: 4,
            char_max: 4,
            word_min: 1,
            word_max: 2,
            seed: 0x6372_6d67_7561_7264, // "crmguard"
        }
    }
}

const MIX_K: u64 = 0x517c_c1b7_2722_0a95;

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

/// Collapse every whitespace run (including newlines, NBSP and zero-width spaces) to a
/// single ASCII space and unify typographic apostrophes. Sources format line breaks
/// and quotes differently (Michigan rows are "positive\nnegative"; phones emit curly
/// apostrophes), and those are provenance artefacts, not authorship evidence.
pub fn normalize_into(text: &str, out: &mut String) {
    normalize_counting(text, out);
}

/// [`normalize_into`], returning the [`word_count`] of the normalised text, counted
/// on the way: every text needs both, and this is the only pass that must look at
/// each byte anyway.
pub fn normalize_counting(text: &str, out: &mut String) -> usize {
    out.clear();
    out.reserve(text.len());
    let b = text.as_bytes();
    // Most of a text is copied verbatim: `text[start..i]` is kept and not yet pushed,
    // so plain runs cost one `push_str` instead of a push per char. A pending space
    // means the run is empty (`start == i`).
    let mut start = 0;
    let mut i = 0;
    let mut pending_space = false;
    // Word counting as [`word_count`] does it on the output.
    let (mut words, mut cjk, mut in_word) = (0usize, 0usize, false);
    while i < b.len() {
        let x = b[i];
        if (0x21..0x7f).contains(&x) {
            if pending_space {
                if !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
            }
            (i, in_word) = ascii_run(b, i, in_word, &mut words);
            continue;
        }
        // A single space between a kept char and a printable ASCII one (the spaces
        // `ascii_run` leaves, after a non-ASCII char) is already normal.
        if x == b' '
            && !pending_space
            && (i > start || !out.is_empty())
            && b.get(i + 1).is_some_and(|n| (0x21..0x7f).contains(n))
        {
            in_word = false;
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().expect("char boundary");
        let len = c.len_utf8();
        let f = class_of(c);
        // Letters and digits, most non-ASCII chars, are never spaces, controls or
        // apostrophes (U+02BC, a letter, is the one apostrophe among them): their
        // class answers before the Unicode predicates are asked.
        let kept = f & C_ALNUM != 0 && c != '\u{02bc}';
        if !kept && (c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' || c.is_control()) {
            out.push_str(&text[start..i]);
            pending_space = true;
            start = i + len;
            in_word = false;
        } else if !kept && matches!(c, '\u{2019}' | '\u{2018}' | '\u{02bc}') {
            // Written as '\'', which (unlike U+02BC, a letter) is no word char.
            out.push_str(&text[start..i]);
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push('\'');
            start = i + len;
        } else {
            if pending_space {
                if !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
            }
            if f & C_CJK != 0 {
                cjk += 1;
                in_word = false;
            } else if f & C_ALNUM != 0 {
                words += !in_word as usize;
                in_word = true;
            }
        }
        i += len;
    }
    out.push_str(&text[start..]);
    words + cjk.div_ceil(2)
}

/// Skips the already-normal run that starts at the printable ASCII byte `b[i]`:
/// printable ASCII and single spaces between two of them, i.e. most of a text.
/// Returns where the run ends and the word state there, counting words as
/// [`normalize_counting`] does. Spaces are classified without a branch: a branch on
/// them was mispredicted at every word end and made the old byte loop cost ~4 ns/byte.
#[inline(always)]
fn ascii_run(b: &[u8], mut i: usize, mut in_word: bool, words: &mut usize) -> (usize, bool) {
    let mut n = 0usize;
    // Eight bytes at a time while they are all kept; the byte loop below finishes
    // the run (a chunk it cannot keep whole, and the last bytes of the text).
    while let Some(chunk) = b.get(i..i + 9) {
        let x = u64::from_le_bytes(chunk[..8].try_into().expect("8 bytes"));
        let Some((starts, word_after)) = swar_run(x, chunk[8], in_word) else {
            break;
        };
        n += starts;
        in_word = word_after;
        i += 8;
    }
    // A space is kept only when a printable byte follows. The byte before it is always
    // printable: the run starts on one, and a kept space is followed by one. The test
    // is branch-free (a branch on spaces is mispredicted at every word end).
    while i + 1 < b.len() {
        let (t, u) = (RUN_CLASS[b[i] as usize], RUN_CLASS[b[i + 1] as usize]);
        // R_SPACE >> 1 == R_PRINT: a space followed by a printable byte.
        if (t | ((t >> 1) & u)) & R_PRINT == 0 {
            break;
        }
        // Printable ASCII is never a space or CJK: a word char starts or continues a
        // word, anything else leaves the state alone.
        let alnum = t & R_ALNUM != 0;
        n += (alnum & !in_word) as usize;
        in_word = (in_word | alnum) & (t & R_SPACE == 0);
        i += 1;
    }
    // The last byte of the text is kept only if printable (a trailing space is not).
    if i + 1 == b.len() && RUN_CLASS[b[i] as usize] & R_PRINT != 0 {
        let alnum = RUN_CLASS[b[i] as usize] & R_ALNUM != 0;
        n += (alnum & !in_word) as usize;
        in_word |= alnum;
        i += 1;
    }
    *words += n;
    (i, in_word)
}

const LANES_01: u64 = 0x0101_0101_0101_0101;
const LANES_80: u64 = 0x8080_8080_8080_8080;

/// High bit of each byte lane of `x` (all bytes below 0x80) that is at least `lo`.
/// Adding `0x80 - lo` carries into bit 7 exactly then, and never out of the lane.
#[inline(always)]
fn lanes_at_least(x: u64, lo: u8) -> u64 {
    x.wrapping_add(LANES_01 * (0x80 - lo as u64)) & LANES_80
}

/// High bit of each byte lane of `x` (all bytes below 0x80) that is at most `hi`.
#[inline(always)]
fn lanes_at_most(x: u64, hi: u8) -> u64 {
    (LANES_01 * (0x80 + hi as u64)).wrapping_sub(x) & LANES_80
}

/// High bit of each byte lane of `x` (all bytes below 0x80) equal to `v`.
#[inline(always)]
fn lanes_equal(x: u64, v: u8) -> u64 {
    !(x ^ (LANES_01 * v as u64)).wrapping_add(LANES_01 * 0x7f) & LANES_80
}

/// [`ascii_run`] over the 8 bytes of `x` (first byte lowest) followed by `next`:
/// `None` unless all 8 are kept (printable, or a space before a printable byte).
/// Otherwise the words started in them and whether a word is open after them:
/// a word starts at an alphanumeric byte when the last space or alphanumeric
/// byte before it, `in_word` standing for those before the chunk, is a space.
#[inline(always)]
fn swar_run(x: u64, next: u8, in_word: bool) -> Option<(usize, bool)> {
    if x & LANES_80 != 0 {
        return None;
    }
    let print = lanes_at_least(x, 0x21) & !lanes_equal(x, 0x7f);
    let space = lanes_equal(x, b' ');
    let next_print = (print >> 8) | (((RUN_CLASS[next as usize] & R_PRINT) as u64) << 62);
    if (print | space) != LANES_80 || space & !next_print != 0 {
        return None;
    }
    let folded = x | (LANES_01 * 0x20);
    let alnum = (lanes_at_least(folded, b'a') & lanes_at_most(folded, b'z'))
        | (lanes_at_least(x, b'0') & lanes_at_most(x, b'9'));
    // Lanes of 1 (0xff for the neutral ones, neither space nor alphanumeric).
    let (alnum1, space1) = (alnum >> 7, space >> 7);
    let neutral = ((alnum | space) >> 7 ^ LANES_01) * 0xff;
    // A 1 added to the lane after each space (and to the first lane when no word is
    // open) carries through neutral lanes and stops in the next space or alphanumeric
    // lane, which it sets to 1: exactly the lanes whose previous event is a space.
    let after_space = (space1 << 8)
        .wrapping_add(!in_word as u64)
        .wrapping_add(neutral);
    let starts = after_space & alnum1;
    let events = alnum | space;
    let word_after = if events == 0 {
        in_word
    } else {
        alnum & (1u64 << (63 - events.leading_zeros())) != 0
    };
    // Sum of the 0/1 lanes: the top byte of the product.
    Some(((starts.wrapping_mul(LANES_01) >> 56) as usize, word_after))
}

const R_ALNUM: u8 = 1;
/// Printable ASCII other than space (0x21..0x7f).
const R_PRINT: u8 = 2;
const R_SPACE: u8 = 4;

/// Byte classes of [`ascii_run`].
static RUN_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() {
            t[i] |= R_ALNUM;
        }
        if b.is_ascii_graphic() {
            t[i] |= R_PRINT;
        }
        if b == b' ' {
            t[i] |= R_SPACE;
        }
        i += 1;
    }
    t
};

// Character classes. Every per-char test of the scoring path goes through
// [`class_of`]: a table for ASCII (nearly all CRM text) and the Unicode predicates
// for the rest, so fast and slow paths cannot disagree about what a letter is.
const C_ALPHA: u32 = 1;
const C_UPPER: u32 = 1 << 1;
const C_LOWER: u32 = 1 << 2;
const C_NUMERIC: u32 = 1 << 3;
const C_SPACE: u32 = 1 << 4;
const C_CJK: u32 = 1 << 5;
const C_SENT_END: u32 = 1 << 6;
const C_ALNUM: u32 = C_ALPHA | C_NUMERIC;
/// Script of a letter for [`super::script_of`], in bits 8..; 7 = not counted.
const SCRIPT_SHIFT: u32 = 8;
const SCRIPT_NONE: u32 = 7;

/// The ASCII part of [`unicode_class`], as a constant table: the Unicode predicates
/// are not `const`, and ASCII is most of the text, so it must not pay a lazy-init
/// check per char. ASCII letters count as Latin (script 0), which `unicode_class`
/// reserves for accented Latin; the `ascii_table_agrees_with_unicode_class` test pins
/// every other bit.
const fn ascii_classes() -> [u32; 128] {
    let mut t = [0u32; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        let mut f = SCRIPT_NONE << SCRIPT_SHIFT;
        if b.is_ascii_alphabetic() {
            f = C_ALPHA;
        }
        if b.is_ascii_uppercase() {
            f |= C_UPPER;
        }
        if b.is_ascii_lowercase() {
            f |= C_LOWER;
        }
        if b.is_ascii_digit() {
            f |= C_NUMERIC;
        }
        if matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
            f |= C_SPACE;
        }
        if matches!(b, b'.' | b'!' | b'?') {
            f |= C_SENT_END;
        }
        t[i] = f;
        i += 1;
    }
    t
}

static ASCII_CLASS: [u32; 128] = ascii_classes();

use super::lexicon::Tokens;
use super::model::N_SCRIPTS;

/// Dominant script of a text's letters; see [`super::script_of`].
pub(crate) fn dominant_script(norm: &str) -> usize {
    let mut counts = [0u32; 8];
    for c in norm.chars() {
        counts[(class_of(c) >> SCRIPT_SHIFT) as usize & 7] += 1;
    }
    let mut best = 0;
    for s in 1..N_SCRIPTS {
        if counts[s] > counts[best] {
            best = s;
        }
    }
    best
}

#[inline(always)]
fn class_of(c: char) -> u32 {
    char_info(c).0
}

/// Class bits and lowercase ([`lower`]) of a char.
#[inline(always)]
fn char_info(c: char) -> (u32, char) {
    match ASCII_CLASS.get(c as usize) {
        Some(f) => (*f, c.to_ascii_lowercase()),
        None => unicode_info(c),
    }
}

/// Class and lowercase of the Basic Multilingual Plane, filled 128 chars at a time
/// on first use: the Unicode predicates each cost a table search, and a text keeps
/// to a few blocks of one script.
struct CharBlock {
    class: [u32; 128],
    lower: [char; 128],
}

static BMP_BLOCKS: [OnceLock<Box<CharBlock>>; 0x10000 / 128] =
    [const { OnceLock::new() }; 0x10000 / 128];

fn char_block(base: u32) -> Box<CharBlock> {
    let mut b = Box::new(CharBlock {
        class: [0; 128],
        lower: ['\0'; 128],
    });
    for i in 0..128 {
        // Surrogate code points are not chars and never looked up.
        if let Some(c) = char::from_u32(base + i as u32) {
            b.class[i] = unicode_class(c);
            b.lower[i] = lower(c);
        }
    }
    b
}

#[inline]
fn unicode_info(c: char) -> (u32, char) {
    let cp = c as u32;
    match BMP_BLOCKS.get((cp >> 7) as usize) {
        Some(slot) => {
            let b = slot.get_or_init(|| char_block(cp & !127));
            (b.class[(cp & 127) as usize], b.lower[(cp & 127) as usize])
        }
        None => (unicode_class(c), lower(c)),
    }
}

#[inline(never)]
fn unicode_class(c: char) -> u32 {
    let mut f = 0;
    if c.is_alphabetic() {
        f |= C_ALPHA;
    }
    if c.is_uppercase() {
        f |= C_UPPER;
    }
    if c.is_lowercase() {
        f |= C_LOWER;
    }
    if c.is_numeric() {
        f |= C_NUMERIC;
    }
    if c.is_whitespace() {
        f |= C_SPACE;
    }
    if is_cjk(c) {
        f |= C_CJK;
    }
    if is_sentence_end(c) {
        f |= C_SENT_END;
    }
    let script = match c as u32 {
        0x00c0..=0x024f | 0x1e00..=0x1eff => 0,
        0x0400..=0x052f => 1,
        0xac00..=0xd7af | 0x1100..=0x11ff | 0x3130..=0x318f => 3,
        _ if f & C_CJK != 0 => 2,
        _ if f & C_ALPHA != 0 => 4,
        _ => SCRIPT_NONE,
    };
    f | script << SCRIPT_SHIFT
}

/// Han, kana: scripts written without spaces, where a character is the nearest thing
/// to a word. Hangul uses spaces and is not included.
#[inline]
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff | 0x20000..=0x2a6df)
}

#[inline]
fn lower(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if c.is_uppercase() {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

#[inline]
fn is_sentence_end(c: char) -> bool {
    matches!(
        c,
        '.' | '!' | '?' | '\u{2026}' | '\u{3002}' | '\u{ff01}' | '\u{ff1f}'
    )
}

/// Number of words as the product counts them for the "too short to judge" rule:
/// whitespace-separated tokens containing a letter or digit, plus one word per two
/// CJK characters (Chinese words average 1.5–2 characters).
pub fn word_count(text: &str) -> usize {
    let mut words = 0usize;
    let mut cjk = 0usize;
    let mut in_word = false;
    for c in text.chars() {
        let f = class_of(c);
        if f & C_CJK != 0 {
            cjk += 1;
            in_word = false;
        } else {
            let alnum = f & C_ALNUM != 0;
            words += (alnum && !in_word) as usize;
            in_word = alnum || (in_word && f & C_SPACE == 0);
        }
    }
    words + cjk.div_ceil(2)
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

/// Style features, in this order. All are rates (per word, per sentence, per letter)
/// so that they do not grow with length; none of them is a length. A feature that is
/// undefined for a text (burstiness of one sentence, capitals in Chinese) is NaN,
/// which the model reads as "no evidence" rather than as an extreme value.
pub const STYLE_NAMES: [&str; 27] = [
    "mean word length",
    "type/token ratio (25-word segments)",
    "mean sentence length",
    "sentence-length burstiness",
    "comma rate",
    "exclamation rate",
    "question rate",
    "semicolon/colon rate",
    "quote rate",
    "parenthesis rate",
    "em/en dash rate",
    "ellipsis rate",
    "repeated punctuation",
    "uppercase ratio",
    "all-caps words",
    "lowercase sentence starts",
    "lowercase 'i'",
    "contractions",
    "first-person pronouns",
    "second-person pronouns",
    "digit rate",
    "no space after punctuation",
    "space before punctuation",
    "letter repeats (sooo)",
    "unterminated lines",
    "capitalised words mid-sentence",
    "short comma segments",
];
pub const N_STYLE: usize = STYLE_NAMES.len();

const SEG: usize = 25;

const WORD_HASH_SEED: u64 = 0x77;

fn hash_word_lower(w: &str) -> u64 {
    let mut h = WORD_HASH_SEED;
    for c in w.chars() {
        h = mix(h, lower(c) as u64);
    }
    fmix(h)
}

const FIRST_PERSON: &[&str] = &[
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "i'm", "i've", "i'd", "i'll",
    "we're", "we've", "ich", "mich", "mir", "mein", "meine", "wir", "uns", "unser", "unsere", "je",
    "j'ai", "moi", "mon", "ma", "mes", "nous", "notre", "nos", "yo", "mí", "mío", "nosotros",
    "nuestro", "nuestra", "io", "mio", "mia", "noi", "nostro", "nostra", "eu", "meu", "minha",
    "nós", "я", "меня", "мне", "мой", "моя", "мы", "нас", "нам", "наш", "наша", "ben", "biz",
    "benim", "bizim", "eu", "noi", "meu", "mea", "saya", "aku", "kami", "kita", "我", "我们", "나",
    "저", "우리", "제",
];
const SECOND_PERSON: &[&str] = &[
    "you", "your", "yours", "yourself", "you're", "you'll", "you've", "du", "dich", "dir", "ihr",
    "euch", "sie", "vous", "tu", "te", "votre", "vos", "usted", "ustedes", "su", "voi", "vostro",
    "ты", "вы", "вас", "вам", "ваш", "siz", "sen", "anda", "kamu", "你", "您",
];

fn sorted_hashes(words: &[&str]) -> Vec<u64> {
    let mut v: Vec<u64> = words.iter().map(|w| hash_word_lower(w)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Very common English function words: a text where they make up a fair share of the
/// words is English enough for the English-only features (lexicons, contractions).
const ENGLISH_FUNCTION: &[&str] = &[
    "the", "and", "is", "was", "of", "to", "in", "it", "for", "with", "this", "that", "we", "i",
    "you", "my", "but", "not", "are", "on", "at", "very", "were", "have", "had", "be", "a", "an",
    "they", "our", "there",
];

/// Share of function words above which a text counts as English.
pub const ENGLISH_MIN_SHARE: f32 = 0.12;

const FLAG_FIRST: u8 = 1;
const FLAG_SECOND: u8 = 2;
const FLAG_ENGLISH: u8 = 4;
/// A word's first/second-person flags as increments of the two 32-bit lanes of
/// `StyleAcc::person`. Three separate counters were compiled into a dozen vector
/// shuffles per word.
const PERSON_LANES: [u64; 4] = [0, 1, 1 << 32, 1 | 1 << 32];
const WORD_TABLE: usize = 1024;

/// Word sets, hashed once into a small table (word hash -> flags), so each word of a
/// scored text costs two compares instead of three binary searches. Every word sits
/// in its home slot or the next one (the slot bits of the hash are chosen so), so a
/// lookup reads both without branching: a probe loop's exit is data-dependent and
/// mispredicted often.
pub struct StyleTables {
    keys: Box<[u64; WORD_TABLE + 1]>,
    flags: Box<[u8; WORD_TABLE + 1]>,
    /// Which bits of the hash pick the slot.
    shift: u32,
}

impl StyleTables {
    pub fn new() -> Self {
        let lists = [
            (FIRST_PERSON, FLAG_FIRST),
            (SECOND_PERSON, FLAG_SECOND),
            (ENGLISH_FUNCTION, FLAG_ENGLISH),
        ]
        .map(|(words, flag)| (sorted_hashes(words), flag));
        'shift: for shift in 0..=(64 - WORD_TABLE.trailing_zeros()) {
            let mut t = StyleTables {
                keys: Box::new([0; WORD_TABLE + 1]),
                flags: Box::new([0; WORD_TABLE + 1]),
                shift,
            };
            for (hashes, flag) in &lists {
                for &h in hashes {
                    let home = t.slot(h);
                    let Some(i) = (home..=home + 1).find(|&i| t.flags[i] == 0 || t.keys[i] == h)
                    else {
                        continue 'shift;
                    };
                    t.keys[i] = h;
                    t.flags[i] |= *flag;
                }
            }
            return t;
        }
        panic!("no slot bits keep every word within one slot of home: grow WORD_TABLE");
    }

    #[inline(always)]
    fn slot(&self, h: u64) -> usize {
        (h >> self.shift) as usize & (WORD_TABLE - 1)
    }

    #[inline(always)]
    fn lookup(&self, h: u64) -> u8 {
        let i = self.slot(h);
        // A mask, not an `if`, which the compiler kept as a branch.
        let at = |i: usize| self.flags[i] & 0u8.wrapping_sub((self.keys[i] == h) as u8);
        at(i) | at(i + 1)
    }
}

impl Default for StyleTables {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Default)]
struct StyleAcc {
    words: u32,
    word_chars: u32,
    letters: u32,
    cased: u32,
    upper: u32,
    digits: u32,
    nonspace: u32,
    commas: u32,
    excl: u32,
    quest: u32,
    semi: u32,
    quotes: u32,
    parens: u32,
    dashes: u32,
    ellipsis: u32,
    rep_punct: u32,
    allcaps: u32,
    sentences: u32,
    sent_len_sum: f64,
    sent_len_sq: f64,
    cur_sent_words: u32,
    sent_cased_start: u32,
    sent_lower_start: u32,
    lower_i: u32,
    contractions: u32,
    /// First-person pronouns in the low 32 bits, second-person in the high 32:
    /// one table load and add per word (see [`PERSON_LANES`]).
    person: u64,
    english: u32,
    no_space_after: u32,
    space_before: u32,
    rep_letters: u32,
    midcap: u32,
    seg: [u64; SEG],
    seg_len: usize,
    /// Distinct words among `seg[..seg_len]`.
    seg_distinct: u32,
    /// Bit `h % 64` set for every word `h` in the segment: a clear bit proves a word
    /// new without searching the segment, and most words are new.
    seg_seen: u64,
    seg_ttr_sum: f64,
    seg_count: u32,
    comma_segs: u32,
    short_comma_segs: u32,
    seg_after_comma: bool,
    /// Words in the current comma segment, CJK characters counting half.
    seg_half_words: u32,
}

impl StyleAcc {
    /// Close a clause segment. Segments that follow a comma and have at most two
    /// words are list items ("Location, cleanliness, staff"): how people jot reviews,
    /// while models join full clauses with commas.
    fn close_segment(&mut self, after_comma: bool) {
        if self.seg_after_comma && self.seg_half_words > 0 {
            self.comma_segs += 1;
            if self.seg_half_words <= 4 {
                self.short_comma_segs += 1;
            }
        }
        self.seg_after_comma = after_comma;
        self.seg_half_words = 0;
    }

    fn end_sentence(&mut self) {
        if self.cur_sent_words > 0 {
            let l = self.cur_sent_words as f64;
            self.sentences += 1;
            self.sent_len_sum += l;
            self.sent_len_sq += l * l;
        }
        self.cur_sent_words = 0;
    }

    /// Adds a word (its hash) to the current 25-word segment, after closing the
    /// segment if it is full. Distinct words are counted as they arrive rather than
    /// by comparing all pairs when the segment closes.
    #[inline(always)]
    fn push_seg(&mut self, h: u64) {
        if self.seg_len == SEG {
            self.seg_ttr_sum += self.seg_distinct as f64 / SEG as f64;
            self.seg_count += 1;
            self.seg_len = 0;
            self.seg_distinct = 0;
            self.seg_seen = 0;
        }
        let bit = 1u64 << (h & 63);
        if self.seg_seen & bit == 0 || !self.seg[..self.seg_len].contains(&h) {
            self.seg_distinct += 1;
        }
        self.seg_seen |= bit;
        self.seg[self.seg_len] = h;
        self.seg_len += 1;
    }
}

/// Share of non-final lines that do not end like a sentence. Humans type fragments
/// on separate lines ("Location | Dirty room"); chat models close every line. The
/// last line is excluded because some corpora cut generated text mid-sentence, which
/// would teach the opposite. Emoji or nothing at the end counts as unterminated.
pub fn unterminated_lines(raw: &str) -> f32 {
    // Most CRM fields are one line, and one line is undefined.
    if memchr::memchr(b'\n', raw.as_bytes()).is_none() {
        return f32::NAN;
    }
    let (mut lines, mut open) = (0u32, 0u32);
    let mut last_open = false;
    for line in raw.split('\n') {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        lines += 1;
        last_open = !l.ends_with([
            '.', '!', '?', '\u{2026}', '\u{3002}', '\u{ff01}', '\u{ff1f}', ')', '"', '\u{201d}',
            ':', ';',
        ]);
        open += last_open as u32;
    }
    if lines < 2 {
        return f32::NAN;
    }
    let open_nonfinal = open - last_open as u32;
    (open_nonfinal as f32 / (lines - 1) as f32).sqrt()
}

/// English clitics only ("don't", "we're", "I'll"): French/Italian elision ("l'hôtel",
/// "dell'albergo") and Turkish suffixes ("Ankara'da") are grammar, not informality,
/// and counting them made every French review look human.
fn is_english_contraction(w: &str) -> bool {
    let Some(pos) = w.rfind('\'') else {
        return false;
    };
    let (head, tail) = (&w[..pos], &w[pos + 1..]);
    !head.is_empty()
        && ["t", "s", "re", "ve", "ll", "m", "d"]
            .iter()
            .any(|t| tail.eq_ignore_ascii_case(t))
        && head
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphabetic())
}

/// Style features whose meaning is English-specific; for other languages the model
/// sees them as neutral (standardised value 0) rather than as "absent".
pub const ENGLISH_ONLY_STYLE: [usize; 2] = [16, 17];

/// Compute the style vector of a normalised text into `out` (length [`N_STYLE`]).
/// Values are transformed (sqrt of rates, logs) so a linear model sees roughly
/// symmetric distributions; standardisation happens in the model. Returns whether
/// the text looks English (share of English function words).
pub fn style_features(raw: &str, norm: &str, tables: &StyleTables, out: &mut [f32]) -> bool {
    style_pass::<true, _>(raw, norm, tables, out, &mut NoTokens).0
}

/// For a style pass whose tokens nobody matches.
pub struct NoTokens;

impl Tokens for NoTokens {
    #[inline(always)]
    fn token(&mut self, _: u64) {}
}

const MARK_SEED: u64 = 0x2e;

/// The token of a char that is not part of a word (punctuation, symbols, CJK): a
/// hash of its own kind, so no mark is taken for a word.
#[inline(always)]
fn mark_token(c: char) -> u64 {
    fmix(mix(MARK_SEED, c as u64))
}

/// Style features that cost per-word bookkeeping (the 25-word segments of the
/// type/token ratio, the case of each word, the byte before each word) or a pass
/// of their own over the raw text (unterminated lines: a line search, then a trim
/// per line, about 330 instructions per CRM field), and that a model may give no
/// weight: the consistency filter in training drops features whose effect flips
/// between sources, and it dropped all five from the shipped model. A model whose
/// weights for all of them are zero gets the style pass without them
/// ([`style_pass`] with `ALL = false`), which leaves them undefined (NaN): exactly
/// what a zero weight makes of any value.
pub const LEAN_SKIPS: [usize; 5] = [1, 14, 21, 24, 25];

/// A word of the style pass, accumulated while its chars go by.
struct StyleWord {
    start: usize,
    upper: u32,
    letters: u32,
    has_apos: bool,
    /// [`hash_word_lower`] of the word so far, before finalisation.
    hash: u64,
}

/// The char that ends at byte `i` of `s`, or a space at the start. The style pass
/// looks back at the text instead of carrying the previous chars and the current
/// letter run along: that state, live across the whole char loop, pushed the state
/// it does need out of registers, and most chars never look at it.
#[inline(always)]
fn char_before(s: &str, i: usize) -> char {
    match s.as_bytes()[..i].last() {
        None => ' ',
        Some(&b) if b < 0x80 => b as char,
        Some(_) => s[..i].chars().next_back().expect("char boundary"),
    }
}

#[inline(always)]
fn is_numeric(c: char) -> bool {
    class_of(c) & C_NUMERIC != 0
}

/// Whether the letter `c` at byte `i` makes a run of one letter exactly three long
/// ("sooo" counts once): the two chars before it are `c`, the third is not.
/// Compared as bytes: UTF-8 is self-synchronising, so the bytes before a char
/// boundary spell `c` exactly when the char before it is `c`.
#[inline(always)]
fn run_of_three(b: &[u8], i: usize, c: char) -> bool {
    let mut e = [0u8; 4];
    let e = c.encode_utf8(&mut e).as_bytes();
    let n = e.len();
    // Byte by byte from the last: a slice comparison is a call to memcmp, and the
    // last byte already tells nearly every char apart.
    let spelt = |end: usize| end >= n && b[end - n..end].iter().rev().eq(e.iter().rev());
    spelt(i) && spelt(i - n) && !spelt(i - 2 * n)
}

/// [`run_of_three`] for an ASCII letter `x`, on bytes: the bytes before it equal
/// `x` exactly when the chars do.
#[inline(always)]
fn ascii_run_of_three(b: &[u8], i: usize, x: u8) -> bool {
    i >= 2 && b[i - 1] == x && b[i - 2] == x && (i < 3 || b[i - 3] != x)
}

/// Whether a word starts with a capital; read off the text at the word's end rather
/// than carried through it.
#[inline(always)]
fn starts_upper(w: &str) -> bool {
    match w.as_bytes()[0] {
        b if b < 0x80 => b.is_ascii_uppercase(),
        _ => class_of(w.chars().next().expect("word")) & C_UPPER != 0,
    }
}

/// [`style_features`], plus the dominant script of the text's letters (see
/// [`super::script_of`]), counted in the same pass over the chars. Without `ALL`,
/// the [`LEAN_SKIPS`] are left out (NaN). Each word and each mark (a char outside
/// words other than a space) goes to `tokens` as it ends, for the phrase lexicons.
pub(crate) fn style_pass<const ALL: bool, T: Tokens>(
    raw: &str,
    norm: &str,
    tables: &StyleTables,
    out: &mut [f32],
    tokens: &mut T,
) -> (bool, usize) {
    let (english, script, NoChars) =
        style_walk::<ALL, T, NoChars>(raw, norm, tables, out, tokens, NoChars);
    (english, script)
}

/// [`style_pass`] that also hands every char to `feed`: with an [`NgramWalker`],
/// one pass over the text yields the style features and the n-grams. The feed is
/// moved in and handed back so that its state can live in registers.
pub(crate) fn style_walk<const ALL: bool, T: Tokens, G: CharFeed>(
    raw: &str,
    norm: &str,
    tables: &StyleTables,
    out: &mut [f32],
    tokens: &mut T,
    mut feed: G,
) -> (bool, usize, G) {
    let mut a = StyleAcc::default();
    let mut in_word = false;
    let mut word = StyleWord {
        start: 0,
        upper: 0,
        letters: 0,
        has_apos: false,
        hash: 0,
    };
    let mut at_sentence_start = true;
    // Letters per script, indexed by the script bits of the char class (7 = none).
    let mut scripts = [0u32; 8];

    let bytes = norm.as_bytes();
    // A function inlined into the char loop rather than a closure: the closure was
    // an out-of-line call per word, whose prologue and epilogue cost more
    // instructions than half its body.
    #[inline(always)]
    fn finish_word<const ALL: bool, T: Tokens>(
        a: &mut StyleAcc,
        wd: &StyleWord,
        end: usize,
        sentence_first: bool,
        norm: &str,
        tables: &StyleTables,
        tokens: &mut T,
    ) {
        a.words += 1;
        a.cur_sent_words += 1;
        a.seg_half_words += 2;
        let h = fmix(wd.hash);
        tokens.token(h);
        if ALL {
            a.push_seg(h);
        }
        let flags = tables.lookup(h);
        a.person += PERSON_LANES[(flags & (FLAG_FIRST | FLAG_SECOND)) as usize];
        a.english += u32::from(flags & FLAG_ENGLISH != 0);
        // On bytes: the lean pass needs the word as a `&str` only for the rare
        // word with an apostrophe, and slicing it checks both ends.
        if end - wd.start == 1 && norm.as_bytes()[wd.start] == b'i' {
            a.lower_i += 1;
        }
        if wd.has_apos && is_english_contraction(&norm[wd.start..end]) {
            a.contractions += 1;
        }
        if !ALL {
            return;
        }
        if wd.letters >= 2 && wd.upper == wd.letters {
            a.allcaps += 1;
        }
        let w = &norm[wd.start..end];
        if !sentence_first
            && starts_upper(w)
            && wd.upper < wd.letters.max(2)
            && w != "I"
            && !w.starts_with("I'")
        {
            a.midcap += 1;
        }
    }

    let mut sentence_first_word = true;
    let mut i = 0;
    while i < bytes.len() {
        if in_word {
            // Lowercase ASCII letters continuing a word, most of any text: only the
            // word hash and the letter-repeat run change per char; the counters
            // they would bump one by one move in bulk.
            let mut j = i;
            while j < bytes.len() {
                let x = bytes[j];
                if !x.is_ascii_lowercase() {
                    break;
                }
                if ascii_run_of_three(bytes, j, x) {
                    a.rep_letters += 1;
                }
                word.hash = mix(word.hash, x as u64);
                j += 1;
            }
            if j > i {
                feed.word_run(&bytes[i..j]);
                let k = (j - i) as u32;
                scripts[0] += k;
                a.nonspace += k;
                a.letters += k;
                a.cased += k;
                word.letters += k;
                a.word_chars += k;
                i = j;
                // The byte that ended the run is handled below, without going round
                // the loop to find again that it is not a lowercase letter.
                if i == bytes.len() {
                    break;
                }
            }
        }
        let x = bytes[i];
        if x == b' ' {
            // A space can only end a word: every other check needs a letter, a
            // digit or punctuation.
            feed.space();
            if in_word {
                finish_word::<ALL, T>(&mut a, &word, i, sentence_first_word, norm, tables, tokens);
                sentence_first_word = false;
                in_word = false;
            }
            i += 1;
            continue;
        }
        if x.is_ascii_alphabetic() {
            // An ASCII letter that starts a word or is a capital inside one: the
            // general path below, minus what cannot apply to a letter.
            let upper = x.is_ascii_uppercase();
            feed.ascii_letter(x);
            scripts[0] += 1;
            a.nonspace += 1;
            if ascii_run_of_three(bytes, i, x) {
                a.rep_letters += 1;
            }
            if !in_word {
                in_word = true;
                word = StyleWord {
                    start: i,
                    upper: 0,
                    letters: 0,
                    has_apos: false,
                    hash: WORD_HASH_SEED,
                };
                if at_sentence_start {
                    if !upper {
                        a.sent_lower_start += 1;
                    }
                    a.sent_cased_start += 1;
                }
                at_sentence_start = false;
            }
            a.word_chars += 1;
            word.hash = mix(word.hash, x.to_ascii_lowercase() as u64);
            a.letters += 1;
            a.cased += 1;
            if upper {
                a.upper += 1;
                word.upper += 1;
            }
            word.letters += 1;
            if ALL
                && i > 0
                && matches!(bytes[i - 1], b',' | b'.' | b'!' | b'?' | b';')
                && !is_numeric(char_before(norm, i - 1))
            {
                a.no_space_after += 1;
            }
            i += 1;
            continue;
        }
        let c = match x {
            0..0x80 => x as char,
            _ => norm[i..].chars().next().expect("char boundary"),
        };
        let next_i = i + c.len_utf8();
        let (f, lc) = char_info(c);
        if in_word && f & (C_ALPHA | C_LOWER | C_CJK) == C_ALPHA | C_LOWER {
            // A lowercase letter continuing a word, outside ASCII (Cyrillic, Greek,
            // accented Latin): the general path below, minus what cannot apply.
            // The char before it is a word char, so no punctuation rule looks at it.
            scripts[(f >> SCRIPT_SHIFT) as usize & 7] += 1;
            a.nonspace += 1;
            if run_of_three(bytes, i, c) {
                a.rep_letters += 1;
            }
            a.word_chars += 1;
            word.hash = mix(word.hash, lc as u64);
            a.letters += 1;
            a.cased += 1;
            word.letters += 1;
            feed.word_char(lc);
            i = next_i;
            continue;
        }
        feed.char(c, f, lc);
        let alpha = f & C_ALPHA != 0;
        let numeric = f & C_NUMERIC != 0;
        scripts[(f >> SCRIPT_SHIFT) as usize & 7] += 1;
        if c != ' ' {
            a.nonspace += 1;
        }
        if alpha && run_of_three(bytes, i, c) {
            a.rep_letters += 1;
        }
        let prev = char_before(norm, i);
        let wordish = f & C_ALNUM != 0 && f & C_CJK == 0;
        if wordish
            || (in_word && c == '\'' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic()))
        {
            if !in_word {
                in_word = true;
                word = StyleWord {
                    start: i,
                    upper: 0,
                    letters: 0,
                    has_apos: false,
                    hash: WORD_HASH_SEED,
                };
                if at_sentence_start && alpha {
                    if f & C_LOWER != 0 {
                        a.sent_lower_start += 1;
                        a.sent_cased_start += 1;
                    } else if f & C_UPPER != 0 {
                        a.sent_cased_start += 1;
                    }
                }
                at_sentence_start = false;
            }
            if c == '\'' {
                word.has_apos = true;
            }
            a.word_chars += 1;
            word.hash = mix(word.hash, lc as u64);
        } else {
            if in_word {
                finish_word::<ALL, T>(&mut a, &word, i, sentence_first_word, norm, tables, tokens);
                sentence_first_word = false;
                in_word = false;
            }
            tokens.token(mark_token(c));
        }
        if f & C_CJK != 0 {
            a.words += 1;
            a.word_chars += 1;
            a.cur_sent_words += 1;
            a.seg_half_words += 1;
            at_sentence_start = false;
            sentence_first_word = false;
            if ALL {
                a.push_seg(c as u64);
            }
        }
        if alpha {
            a.letters += 1;
            if f & C_UPPER != 0 {
                a.upper += 1;
                a.cased += 1;
                if in_word {
                    word.upper += 1;
                }
            } else if f & C_LOWER != 0 {
                a.cased += 1;
            }
            if in_word {
                word.letters += 1;
            }
        } else if numeric {
            a.digits += 1;
        }
        match c {
            ',' | '\u{3001}' | '\u{ff0c}' => {
                a.commas += 1;
                a.close_segment(true);
            }
            ';' | ':' | '\u{ff1b}' => {
                a.semi += 1;
                a.close_segment(false);
            }
            '!' | '\u{ff01}' => a.excl += 1,
            '?' | '\u{ff1f}' => a.quest += 1,
            '"' | '\u{201c}' | '\u{201d}' | '\u{00ab}' | '\u{00bb}' | '\u{201e}' => a.quotes += 1,
            '(' | ')' | '\u{ff08}' | '\u{ff09}' => a.parens += 1,
            // Em dash, or an en dash standing in for one (" – "); not number ranges
            // like "1935–36", which are ordinary typography.
            '\u{2014}' => a.dashes += 1,
            '\u{2013}' if prev == ' ' => a.dashes += 1,
            '\u{2026}' => a.ellipsis += 1,
            _ => {}
        }
        if c == '.' && prev == '.' && char_before(norm, i - 1) != '.' {
            a.ellipsis += 1;
        }
        if matches!(c, '!' | '?') && matches!(prev, '!' | '?') {
            a.rep_punct += 1;
        }
        if ALL
            && matches!(prev, ',' | '.' | '!' | '?' | ';')
            && alpha
            && !is_numeric(char_before(norm, i - 1))
        {
            // "word,next" / "end.Next": typical of hurried human typing. Skip "3.5".
            a.no_space_after += 1;
        }
        if prev == ' ' && matches!(c, ',' | '.' | '!' | '?') {
            a.space_before += 1;
        }
        if f & C_SENT_END != 0 {
            a.end_sentence();
            a.close_segment(false);
            at_sentence_start = true;
            sentence_first_word = true;
        }
        i = next_i;
    }
    if in_word {
        finish_word::<ALL, T>(
            &mut a,
            &word,
            norm.len(),
            sentence_first_word,
            norm,
            tables,
            tokens,
        );
    }
    a.end_sentence();
    a.close_segment(false);

    let words = a.words.max(1) as f64;
    let sents = a.sentences.max(1) as f64;
    let rate = |x: u32, d: f64| ((x as f64) / d).sqrt() as f32;
    let nan = f32::NAN;
    // Only full 25-word segments: a short text always looks lexically diverse.
    let ttr = if ALL && a.seg_count > 0 {
        (a.seg_ttr_sum / a.seg_count as f64) as f32
    } else {
        nan
    };
    let mean_sl = a.sent_len_sum / sents;
    let var_sl = (a.sent_len_sq / sents - mean_sl * mean_sl).max(0.0);
    // With one sentence, "mean sentence length" is the text length: undefined instead.
    let mean_sl_f = if a.sentences >= 2 {
        mean_sl.ln_1p() as f32
    } else {
        nan
    };
    let burst = if a.sentences >= 3 {
        (var_sl.sqrt() / mean_sl.max(1.0)) as f32
    } else {
        nan
    };
    let vals: [f32; N_STYLE] = [
        (a.word_chars as f64 / words).ln_1p() as f32,
        ttr,
        mean_sl_f,
        burst,
        rate(a.commas, words),
        rate(a.excl, sents),
        rate(a.quest, sents),
        rate(a.semi, words),
        rate(a.quotes, words),
        rate(a.parens, words),
        rate(a.dashes, words),
        rate(a.ellipsis, sents),
        rate(a.rep_punct, sents),
        if a.cased >= 5 {
            rate(a.upper, a.cased as f64)
        } else {
            nan
        },
        if ALL { rate(a.allcaps, words) } else { nan },
        if a.sent_cased_start > 0 {
            a.sent_lower_start as f32 / a.sent_cased_start as f32
        } else {
            nan
        },
        rate(a.lower_i, words),
        rate(a.contractions, words),
        rate(a.person as u32, words),
        rate((a.person >> 32) as u32, words),
        rate(a.digits, a.nonspace.max(1) as f64),
        if ALL {
            rate(a.no_space_after, words)
        } else {
            nan
        },
        rate(a.space_before, words),
        rate(a.rep_letters, words),
        if ALL { unterminated_lines(raw) } else { nan },
        if ALL { rate(a.midcap, words) } else { nan },
        if a.comma_segs > 0 {
            a.short_comma_segs as f32 / a.comma_segs as f32
        } else {
            nan
        },
    ];
    out[..N_STYLE].copy_from_slice(&vals);
    let mut script = 0;
    for s in 1..N_SCRIPTS {
        if scripts[s] > scripts[script] {
            script = s;
        }
    }
    (
        a.english as f32 >= ENGLISH_MIN_SHARE * a.words.max(1) as f32,
        script,
        feed,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_table_agrees_with_unicode_class() {
        for b in 0u8..128 {
            let c = b as char;
            let mut want = unicode_class(c);
            if want & C_ALPHA != 0 {
                want &= !(0xff << SCRIPT_SHIFT); // Latin
            }
            assert_eq!(ASCII_CLASS[b as usize], want, "class of {c:?}");
        }
    }

    fn style_of(t: &str) -> [f32; N_STYLE] {
        let tables = StyleTables::new();
        let mut n = String::new();
        normalize_into(t, &mut n);
        let mut out = [0f32; N_STYLE];
        style_features(t, &n, &tables, &mut out);
        out
    }

    #[test]
    fn english_detection() {
        let tables = StyleTables::new();
        let mut out = [0f32; N_STYLE];
        assert!(style_features(
            "",
            "The room was clean and the staff were kind.",
            &tables,
            &mut out
        ));
        assert!(!style_features(
            "",
            "La camera era pulita e il personale gentile.",
            &tables,
            &mut out
        ));
        assert!(!style_features(
            "",
            "Номер был чистый, персонал добрый.",
            &tables,
            &mut out
        ));
        assert_eq!(STYLE_NAMES[ENGLISH_ONLY_STYLE[0]], "lowercase 'i'");
        assert_eq!(STYLE_NAMES[ENGLISH_ONLY_STYLE[1]], "contractions");
    }

    fn idx(name: &str) -> usize {
        STYLE_NAMES.iter().position(|n| *n == name).unwrap()
    }

    #[test]
    fn normalisation_collapses_whitespace_and_quotes() {
        let mut s = String::new();
        normalize_into("  Hello\r\n\n  world\u{00a0}\u{2019}s\t end ", &mut s);
        assert_eq!(s, "Hello world 's end");
    }

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

    fn normalize_reference(text: &str) -> (String, usize) {
        let mut out = String::new();
        let mut pending = false;
        for c in text.chars() {
            if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' || c.is_control() {
                pending = true;
                continue;
            }
            if pending && !out.is_empty() {
                out.push(' ');
            }
            pending = false;
            let apostrophe = matches!(c, '\u{2019}' | '\u{2018}' | '\u{02bc}');
            out.push(if apostrophe { '\'' } else { c });
        }
        let words = word_count(&out);
        (out, words)
    }

    #[test]
    fn normalize_counting_matches_a_char_by_char_reference() {
        // Every string of up to 5 chars over an alphabet that hits each branch: the
        // ASCII run's space rules at both ends of a text and next to non-ASCII chars.
        let alphabet = [
            'a', '1', '-', ' ', '\n', 'é', '\u{2019}', '\u{2bc}', '酒', '\u{a0}', '٣',
        ];
        let mut out = String::new();
        let mut text = String::new();
        for len in 0..=5u32 {
            for mut k in 0..alphabet.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(alphabet[k % alphabet.len()]);
                    k /= alphabet.len();
                }
                let words = normalize_counting(&text, &mut out);
                assert_eq!((out.clone(), words), normalize_reference(&text), "{text:?}");
            }
        }
    }

    #[test]
    fn normalize_counting_matches_the_reference_on_long_ascii_texts() {
        // Long enough for the 8-byte path, over bytes that hit each of its lane tests:
        // both ends of each range (digits, letters of either case, printable), space
        // runs, DEL and other controls, and a non-ASCII char to leave the path.
        let alphabet = [
            "a", "z", "A", "Z", "0", "9", "/", ":", "@", "[", "`", "{", "~", "!", "'", "-", " ",
            " ", "  ", "\u{7f}", "\t", "\n", "é",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut out = String::new();
        let mut text = String::new();
        for _ in 0..50_000 {
            text.clear();
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            let len = (state >> 58) as usize;
            for _ in 0..len {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                let k = (state >> 33) as usize % (alphabet.len() + 12);
                // Mostly lowercase letters and single spaces, as in real text.
                text.push_str(alphabet.get(k).copied().unwrap_or(if k.is_multiple_of(3) {
                    " "
                } else {
                    "e"
                }));
            }
            let words = normalize_counting(&text, &mut out);
            assert_eq!((out.clone(), words), normalize_reference(&text), "{text:?}");
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

    #[test]
    fn the_lean_style_pass_differs_only_in_the_per_word_extras() {
        let tables = StyleTables::new();
        for t in [
            "The room was GREAT,the staff friendly.Breakfast ok; we'd come back. i think so!",
            "Das Hotel war sauber, das Personal freundlich. Wir kommen wieder, sicher!",
            "酒店很好，服务也很好。房间干净，早餐丰富。",
            &"one two three four five six seven eight nine ten. ".repeat(8),
            "Location: great\nRoom | dirty\nStaff friendly and helpful.\nWould come back",
        ] {
            let mut n = String::new();
            normalize_into(t, &mut n);
            let (mut full, mut lean) = ([0f32; N_STYLE], [0f32; N_STYLE]);
            let f = style_pass::<true, _>(t, &n, &tables, &mut full, &mut NoTokens);
            let l = style_pass::<false, _>(t, &n, &tables, &mut lean, &mut NoTokens);
            assert_eq!(f, l, "{t}");
            for j in 0..N_STYLE {
                if LEAN_SKIPS.contains(&j) {
                    assert!(lean[j].is_nan(), "{t}: {}", STYLE_NAMES[j]);
                } else {
                    assert_eq!(
                        full[j].to_bits(),
                        lean[j].to_bits(),
                        "{t}: {}",
                        STYLE_NAMES[j]
                    );
                }
            }
        }
    }

    #[test]
    fn style_mean_word_length() {
        let s = style_of("aaaa bbbb cccc dddd.");
        assert!((s[idx("mean word length")] - 5f32.ln()).abs() < 1e-5);
    }

    #[test]
    fn style_type_token_ratio() {
        let rep = style_of(&"the the the the the ".repeat(10));
        let div = style_of(
            "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega one two",
        );
        assert!(rep[1] < 0.1);
        assert!((div[1] - 1.0).abs() < 1e-6);
        assert!(style_of("too short to say")[1].is_nan());
    }

    #[test]
    fn style_burstiness() {
        let flat = style_of("One two three four. Five six seven eight. Nine ten eleven twelve.");
        let bursty = style_of(
            "One. Two three four five six seven eight nine ten eleven twelve thirteen. Ok.",
        );
        assert_eq!(flat[idx("sentence-length burstiness")], 0.0);
        assert!(style_of("One sentence only here.")[idx("sentence-length burstiness")].is_nan());
        assert!(style_of("One sentence only here.")[idx("mean sentence length")].is_nan());
        assert!(bursty[idx("sentence-length burstiness")] > 0.5);
        assert!((flat[idx("mean sentence length")] - 5f32.ln()).abs() < 1e-5);
    }

    #[test]
    fn style_punctuation_rates() {
        let s =
            style_of("Wow!! Really?? Great, nice; ok: \"fine\" (yes) \u{2014} wait... \u{1f600}");
        for name in [
            "exclamation rate",
            "question rate",
            "comma rate",
            "semicolon/colon rate",
            "quote rate",
            "parenthesis rate",
            "em/en dash rate",
            "ellipsis rate",
            "repeated punctuation",
        ] {
            assert!(s[idx(name)] > 0.0, "{name}");
        }
        let plain = style_of("The room was clean and the staff were kind");
        for v in &plain[4..13] {
            assert_eq!(*v, 0.0);
        }
        assert!(plain[idx("short comma segments")].is_nan());
        let list = style_of("Location, cleanliness, friendly staff, breakfast | Parking");
        let prose =
            style_of("The location was great, and the staff went out of their way to help us.");
        assert_eq!(list[idx("short comma segments")], 1.0);
        assert_eq!(prose[idx("short comma segments")], 0.0);
    }

    #[test]
    fn style_case_and_typos() {
        let sloppy = style_of("great hotel.the staff was nice . i loved it sooo much. room OK");
        let clean = style_of("Great hotel. The staff were nice. We loved it. Rooms were fine.");
        for name in [
            "lowercase sentence starts",
            "lowercase 'i'",
            "no space after punctuation",
            "space before punctuation",
            "letter repeats (sooo)",
            "all-caps words",
        ] {
            assert!(sloppy[idx(name)] > clean[idx(name)], "{name}");
        }
        assert!(clean[idx("uppercase ratio")] > 0.0);
    }

    #[test]
    fn letter_runs_of_three_count_once_in_any_script() {
        // rate = sqrt(runs / words); each text is 4 words.
        let runs = |t: &str| {
            let v = style_of(t)[idx("letter repeats (sooo)")];
            (v * v * 4.0).round() as u32
        };
        assert_eq!(runs("it was sooo good"), 1);
        assert_eq!(runs("it was soooooo good"), 1);
        assert_eq!(runs("it was soo good"), 0);
        assert_eq!(runs("было оооочень хорошо да"), 1);
        assert_eq!(runs("было оочень хорошо да"), 0);
        assert_eq!(runs("c'était trèèès bien ici"), 1);
        // Same last byte, another char: "ѐ" (d1 90) and "А" (d0 90) in a row.
        assert_eq!(runs("это ѐАѐ слово да"), 0);
        assert_eq!(runs("это жжж жжж да"), 2);
    }

    #[test]
    fn style_pronouns_contractions_digits() {
        let s = style_of("I don't think we'd go; you should. Room 101.");
        assert!(s[idx("contractions")] > 0.0);
        let fr = style_of("J'ai adoré l'hôtel, c'est dell'albergo Ankara'da aujourd'hui.");
        assert_eq!(fr[idx("contractions")], 0.0);
        assert!(s[idx("first-person pronouns")] > 0.0);
        assert!(s[idx("second-person pronouns")] > 0.0);
        assert!(s[idx("digit rate")] > 0.0);
        let m = style_of("We met Anna and Bob in Paris.");
        assert!(m[idx("capitalised words mid-sentence")] > 0.0);
    }

    #[test]
    fn style_unterminated_lines() {
        assert!(unterminated_lines("One line only").is_nan());
        assert_eq!(
            unterminated_lines("Good location.\nClean rooms.\nNice"),
            0.0
        );
        assert_eq!(unterminated_lines("Location\n\nDirty room\nNice."), 1.0);
        let s = style_of("Location\nStaff\nBreakfast was fine.");
        assert_eq!(s[idx("unterminated lines")], 1.0);
    }

    #[test]
    fn style_is_length_invariant_for_repeated_text() {
        let base = "The staff were friendly, but the room was small. We liked the quiet garden and the pool. ";
        let one = style_of(base);
        let many = style_of(&base.repeat(20));
        for i in [0usize, 2, 4, 13] {
            assert!((one[i] - many[i]).abs() < 1e-4, "{}", STYLE_NAMES[i]);
        }
    }
}
