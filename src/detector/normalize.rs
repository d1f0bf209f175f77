//! Text normalisation and the word count that decides whether a text is judged.
//! Runs on every scored text before anything else, so it copies plain runs whole
//! and classifies ASCII eight bytes at a time.

use super::chars::{C_ALNUM, C_CJK, C_SPACE, class_of};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_collapses_whitespace_and_quotes() {
        let mut s = String::new();
        normalize_into("  Hello\r\n\n  world\u{00a0}\u{2019}s\t end ", &mut s);
        assert_eq!(s, "Hello world 's end");
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
}
