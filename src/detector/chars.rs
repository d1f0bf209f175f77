//! Character classes and script detection: one table-driven answer to "is this a
//! letter, a capital, CJK, a sentence end" for every pass over a text, so that the
//! normaliser, the n-gram walk and the style pass cannot disagree about a char.

use std::sync::OnceLock;

/// Scripts for per-script standardisation: Latin, Cyrillic, CJK, Hangul, other.
pub const N_SCRIPTS: usize = 5;

// Character classes. Every per-char test of the scoring path goes through
// [`class_of`]: a table for ASCII (nearly all CRM text) and the Unicode predicates
// for the rest, so fast and slow paths cannot disagree about what a letter is.
pub(crate) const C_ALPHA: u32 = 1;
pub(crate) const C_UPPER: u32 = 1 << 1;
pub(crate) const C_LOWER: u32 = 1 << 2;
pub(crate) const C_NUMERIC: u32 = 1 << 3;
pub(crate) const C_SPACE: u32 = 1 << 4;
pub(crate) const C_CJK: u32 = 1 << 5;
pub(crate) const C_SENT_END: u32 = 1 << 6;
pub(crate) const C_ALNUM: u32 = C_ALPHA | C_NUMERIC;
/// Script of a letter for [`super::script_of`], in bits 8..; 7 = not counted.
pub(crate) const SCRIPT_SHIFT: u32 = 8;
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
pub(crate) fn class_of(c: char) -> u32 {
    char_info(c).0
}

/// Class bits and lowercase ([`lower`]) of a char.
#[inline(always)]
pub(crate) fn char_info(c: char) -> (u32, char) {
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
pub(crate) fn lower(c: char) -> char {
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
}
