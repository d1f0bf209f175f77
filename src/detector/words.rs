//! What the style pass asks about words and lines: the word sets it looks up per
//! word (pronouns, English function words, hashed once into a small table), the
//! shape of a word (contraction, capital, letter runs) and of a text's lines.

use super::chars::{C_NUMERIC, C_UPPER, class_of};
use super::tokens::hash_word_lower;

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

/// Chat and text-message spellings: slang, and contractions typed without their
/// apostrophe. People type them into tickets and reviews; chat models, even asked
/// for a casual voice, rarely do.
const CASUAL: &[&str] = &[
    "u", "ur", "lol", "lmao", "pls", "plz", "thx", "ty", "idk", "btw", "omg", "wtf", "gonna",
    "wanna", "gotta", "ya", "yeah", "yep", "yup", "nope", "asap", "fyi", "tho", "cuz", "coz", "im",
    "dont", "cant", "wont", "didnt", "doesnt", "isnt", "thats", "ive", "ppl", "msg", "smh", "tbh",
    "imo", "rn", "bc", "kinda", "sorta", "dunno", "ok", "okay",
];

/// Share of function words above which a text counts as English.
pub const ENGLISH_MIN_SHARE: f32 = 0.12;

pub(crate) const FLAG_FIRST: u8 = 1;
pub(crate) const FLAG_SECOND: u8 = 2;
pub(crate) const FLAG_ENGLISH: u8 = 4;
pub(crate) const FLAG_CASUAL: u8 = 8;
/// A word's first/second-person flags as increments of the two 32-bit lanes of
/// `StyleAcc::person`. Three separate counters were compiled into a dozen vector
/// shuffles per word.
pub(crate) const PERSON_LANES: [u64; 4] = [0, 1, 1 << 32, 1 | 1 << 32];
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
            (CASUAL, FLAG_CASUAL),
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

    /// Whether the word of hash `h` ([`hash_word_lower`]) is one of the commonest
    /// English function words.
    pub fn is_function_word(&self, h: u64) -> bool {
        self.lookup(h) & FLAG_ENGLISH != 0
    }

    #[inline(always)]
    pub(crate) fn lookup(&self, h: u64) -> u8 {
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

/// Share of lines that are list items ("- ", "* ", "• ", "1. ", "2) "): chat
/// models answer in lists where people write a sentence or two. Undefined (NaN)
/// for a single line, as most CRM fields are.
pub fn list_lines(raw: &str) -> f32 {
    if memchr::memchr(b'\n', raw.as_bytes()).is_none() {
        return f32::NAN;
    }
    let (mut lines, mut items) = (0u32, 0u32);
    for line in raw.split('\n') {
        let l = line.trim_start();
        if l.trim_end().is_empty() {
            continue;
        }
        lines += 1;
        let digits = l.bytes().take_while(u8::is_ascii_digit).count();
        let bullet = ["- ", "* ", "\u{2022} ", "\u{2013} "]
            .iter()
            .any(|b| l.starts_with(b));
        let numbered = (1..=2).contains(&digits)
            && matches!(
                l.as_bytes().get(digits..digits + 2),
                Some([b'.' | b')', b' '])
            );
        items += u32::from(bullet || numbered);
    }
    if lines < 2 {
        return f32::NAN;
    }
    (items as f32 / lines as f32).sqrt()
}

/// Emoji and pictographs (faces, hands, hearts, stars, arrows).
#[inline]
pub(crate) fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1f000..=0x1faff | 0x2600..=0x27bf | 0x2b00..=0x2bff)
}

/// English clitics only ("don't", "we're", "I'll"): French/Italian elision ("l'hôtel",
/// "dell'albergo") and Turkish suffixes ("Ankara'da") are grammar, not informality,
/// and counting them made every French review look human.
pub(crate) fn is_english_contraction(w: &str) -> bool {
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

/// The char that ends at byte `i` of `s`, or a space at the start. The style pass
/// looks back at the text instead of carrying the previous chars and the current
/// letter run along: that state, live across the whole char loop, pushed the state
/// it does need out of registers, and most chars never look at it.
#[inline(always)]
pub(crate) fn char_before(s: &str, i: usize) -> char {
    match s.as_bytes()[..i].last() {
        None => ' ',
        Some(&b) if b < 0x80 => b as char,
        Some(_) => s[..i].chars().next_back().expect("char boundary"),
    }
}

#[inline(always)]
pub(crate) fn is_numeric(c: char) -> bool {
    class_of(c) & C_NUMERIC != 0
}

/// Whether the letter `c` at byte `i` makes a run of one letter exactly three long
/// ("sooo" counts once): the two chars before it are `c`, the third is not.
/// Compared as bytes: UTF-8 is self-synchronising, so the bytes before a char
/// boundary spell `c` exactly when the char before it is `c`.
#[inline(always)]
pub(crate) fn run_of_three(b: &[u8], i: usize, c: char) -> bool {
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
pub(crate) fn ascii_run_of_three(b: &[u8], i: usize, x: u8) -> bool {
    i >= 2 && b[i - 1] == x && b[i - 2] == x && (i < 3 || b[i - 3] != x)
}

/// Whether a word starts with a capital; read off the text at the word's end rather
/// than carried through it.
#[inline(always)]
pub(crate) fn starts_upper(w: &str) -> bool {
    match w.as_bytes()[0] {
        b if b < 0x80 => b.is_ascii_uppercase(),
        _ => class_of(w.chars().next().expect("word")) & C_UPPER != 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unterminated_lines_of_a_text() {
        assert!(unterminated_lines("One line only").is_nan());
        assert_eq!(
            unterminated_lines("Good location.\nClean rooms.\nNice"),
            0.0
        );
        assert_eq!(unterminated_lines("Location\n\nDirty room\nNice."), 1.0);
    }

    #[test]
    fn list_lines_of_a_text() {
        assert!(list_lines("- one item only").is_nan());
        assert_eq!(
            list_lines("Pros:\n- clean\n- quiet\n1. cheap"),
            0.75f32.sqrt()
        );
        assert_eq!(list_lines("Called twice.\n2024 was a bad year."), 0.0);
        assert!(is_emoji('\u{1f600}') && is_emoji('\u{2764}') && !is_emoji('é'));
    }

    #[test]
    fn contractions_are_english_clitics() {
        assert!(is_english_contraction("don't") && is_english_contraction("We're"));
        assert!(!is_english_contraction("l'hôtel") && !is_english_contraction("Ankara'da"));
    }
}
