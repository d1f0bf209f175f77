//! The style pass's walk: one pass over a normalised text's chars counting
//! what the style features ([`super::style`]) are rates of, which also hands
//! its tokens to the lexicons and, when scoring, its chars to the n-gram walk.
//!
//! The walk is the detector's hottest loop. Its steps are functions inlined
//! into it (`#[inline(always)]`) rather than calls: the state they share is a
//! local of [`walk`], which the compiler keeps in registers once they are
//! inlined, where an out-of-line call per char or word cost more than its
//! body.

use super::chars::{
    C_ALNUM, C_ALPHA, C_CJK, C_LOWER, C_NUMERIC, C_SENT_END, C_UPPER, SCRIPT_SHIFT, char_info,
};
use super::ngrams::CharFeed;
use super::tokens::{Tokens, WORD_HASH_SEED, fmix, mark_token, mix};
use super::words::{
    FLAG_CASUAL, FLAG_ENGLISH, FLAG_FIRST, FLAG_SECOND, PERSON_LANES, StyleTables,
    ascii_run_of_three, char_before, is_emoji, is_english_contraction, is_numeric, run_of_three,
    starts_upper,
};

/// Words per segment of the type/token ratio.
const SEG: usize = 25;

/// What the walk counted over a text: the numerators and denominators of the
/// style features.
#[derive(Default)]
pub(super) struct StyleAcc {
    pub(super) words: u32,
    pub(super) word_chars: u32,
    pub(super) letters: u32,
    pub(super) cased: u32,
    pub(super) upper: u32,
    pub(super) digits: u32,
    pub(super) nonspace: u32,
    pub(super) commas: u32,
    pub(super) excl: u32,
    pub(super) quest: u32,
    pub(super) semi: u32,
    pub(super) quotes: u32,
    pub(super) parens: u32,
    pub(super) dashes: u32,
    pub(super) ellipsis: u32,
    pub(super) rep_punct: u32,
    pub(super) allcaps: u32,
    pub(super) sentences: u32,
    pub(super) sent_len_sum: f64,
    pub(super) sent_len_sq: f64,
    cur_sent_words: u32,
    pub(super) sent_cased_start: u32,
    pub(super) sent_lower_start: u32,
    pub(super) lower_i: u32,
    pub(super) contractions: u32,
    /// First-person pronouns in the low 32 bits, second-person in the high 32:
    /// one table load and add per word (see [`PERSON_LANES`]).
    pub(super) person: u64,
    pub(super) english: u32,
    pub(super) no_space_after: u32,
    pub(super) space_before: u32,
    pub(super) rep_letters: u32,
    pub(super) emoji: u32,
    pub(super) casual: u32,
    pub(super) midcap: u32,
    seg: [u64; SEG],
    seg_len: usize,
    /// Distinct words among `seg[..seg_len]`.
    seg_distinct: u32,
    /// Bit `h % 64` set for every word `h` in the segment: a clear bit proves a word
    /// new without searching the segment, and most words are new.
    seg_seen: u64,
    pub(super) seg_ttr_sum: f64,
    pub(super) seg_count: u32,
    pub(super) comma_segs: u32,
    pub(super) short_comma_segs: u32,
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

/// A word of the style pass, accumulated while its chars go by.
struct StyleWord {
    start: usize,
    upper: u32,
    letters: u32,
    has_apos: bool,
    /// [`super::tokens`]' hash of the lowercased word so far, before
    /// finalisation.
    hash: u64,
}

impl StyleWord {
    fn starting_at(start: usize) -> StyleWord {
        StyleWord {
            start,
            upper: 0,
            letters: 0,
            has_apos: false,
            hash: WORD_HASH_SEED,
        }
    }
}

/// The walk's state between chars. Without `ALL`, the per-word extras of
/// [`super::style::LEAN_SKIPS`] are not counted.
struct Walk<'t, const ALL: bool, T> {
    a: StyleAcc,
    norm: &'t str,
    tables: &'t StyleTables,
    tokens: &'t mut T,
    in_word: bool,
    word: StyleWord,
    at_sentence_start: bool,
    sentence_first_word: bool,
    /// Letters per script, indexed by the script bits of the char class (7 = none).
    scripts: [u32; 8],
}

/// Walks `norm` once, counting into a [`StyleAcc`] and the letters of each
/// script; each word and each mark (a char outside words other than a space)
/// goes to `tokens` as it ends, and every char to `feed`. The feed is moved
/// in and handed back so that its state can live in registers.
#[inline(always)]
pub(super) fn walk<const ALL: bool, T: Tokens, G: CharFeed>(
    norm: &str,
    tables: &StyleTables,
    tokens: &mut T,
    mut feed: G,
) -> (StyleAcc, [u32; 8], G) {
    let mut w = Walk::<ALL, T> {
        a: StyleAcc::default(),
        norm,
        tables,
        tokens,
        in_word: false,
        word: StyleWord::starting_at(0),
        at_sentence_start: true,
        sentence_first_word: true,
        scripts: [0; 8],
    };
    let bytes = norm.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if w.in_word {
            i = w.lowercase_run(i, &mut feed);
            // The byte that ended the run is handled below, without going round
            // the loop to find again that it is not a lowercase letter.
            if i == bytes.len() {
                break;
            }
        }
        let x = bytes[i];
        if x == b' ' {
            w.space(i, &mut feed);
            i += 1;
        } else if x.is_ascii_alphabetic() {
            w.ascii_letter(i, x, &mut feed);
            i += 1;
        } else {
            i = w.other_char(i, x, &mut feed);
        }
    }
    if w.in_word {
        w.end_word(norm.len());
    }
    w.a.end_sentence();
    w.a.close_segment(false);
    (w.a, w.scripts, feed)
}

impl<const ALL: bool, T: Tokens> Walk<'_, ALL, T> {
    /// Lowercase ASCII letters continuing a word from `i`, most of any text:
    /// only the word hash and the letter-repeat run change per char; the
    /// counters they would bump one by one move in bulk. Returns where the
    /// run ends.
    #[inline(always)]
    fn lowercase_run<G: CharFeed>(&mut self, i: usize, feed: &mut G) -> usize {
        let bytes = self.norm.as_bytes();
        let mut j = i;
        while j < bytes.len() {
            let x = bytes[j];
            if !x.is_ascii_lowercase() {
                break;
            }
            if ascii_run_of_three(bytes, j, x) {
                self.a.rep_letters += 1;
            }
            self.word.hash = mix(self.word.hash, x as u64);
            j += 1;
        }
        if j > i {
            feed.word_run(&bytes[i..j]);
            let k = (j - i) as u32;
            self.scripts[0] += k;
            self.a.nonspace += k;
            self.a.letters += k;
            self.a.cased += k;
            self.word.letters += k;
            self.a.word_chars += k;
        }
        j
    }

    /// A space can only end a word: every other check needs a letter, a
    /// digit or punctuation.
    #[inline(always)]
    fn space<G: CharFeed>(&mut self, i: usize, feed: &mut G) {
        feed.space();
        if self.in_word {
            self.end_word(i);
        }
    }

    /// An ASCII letter that starts a word or is a capital inside one: the
    /// general path ([`Self::other_char`]), minus what cannot apply to a letter.
    #[inline(always)]
    fn ascii_letter<G: CharFeed>(&mut self, i: usize, x: u8, feed: &mut G) {
        let bytes = self.norm.as_bytes();
        let a = &mut self.a;
        let upper = x.is_ascii_uppercase();
        feed.ascii_letter(x);
        self.scripts[0] += 1;
        a.nonspace += 1;
        if ascii_run_of_three(bytes, i, x) {
            a.rep_letters += 1;
        }
        if !self.in_word {
            self.in_word = true;
            self.word = StyleWord::starting_at(i);
            if self.at_sentence_start {
                if !upper {
                    a.sent_lower_start += 1;
                }
                a.sent_cased_start += 1;
            }
            self.at_sentence_start = false;
        }
        a.word_chars += 1;
        self.word.hash = mix(self.word.hash, x.to_ascii_lowercase() as u64);
        a.letters += 1;
        a.cased += 1;
        if upper {
            a.upper += 1;
            self.word.upper += 1;
        }
        self.word.letters += 1;
        if ALL
            && i > 0
            && matches!(bytes[i - 1], b',' | b'.' | b'!' | b'?' | b';')
            && !is_numeric(char_before(self.norm, i - 1))
        {
            a.no_space_after += 1;
        }
    }

    /// Any char but a space or an ASCII letter, starting at byte `i` (whose
    /// value is `x`). Returns where the next char starts.
    #[inline(always)]
    fn other_char<G: CharFeed>(&mut self, i: usize, x: u8, feed: &mut G) -> usize {
        let c = match x {
            0..0x80 => x as char,
            _ => self.norm[i..].chars().next().expect("char boundary"),
        };
        let (f, lc) = char_info(c);
        if self.in_word && f & (C_ALPHA | C_LOWER | C_CJK) == C_ALPHA | C_LOWER {
            self.lowercase_letter(i, c, f, lc);
            feed.word_char(lc);
        } else {
            feed.char(c, f, lc);
            self.general_char(i, x, c, f, lc);
        }
        i + c.len_utf8()
    }

    /// A lowercase letter continuing a word, outside ASCII (Cyrillic, Greek,
    /// accented Latin): the general path below, minus what cannot apply.
    /// The char before it is a word char, so no punctuation rule looks at it.
    #[inline(always)]
    fn lowercase_letter(&mut self, i: usize, c: char, f: u32, lc: char) {
        self.scripts[(f >> SCRIPT_SHIFT) as usize & 7] += 1;
        self.a.nonspace += 1;
        if run_of_three(self.norm.as_bytes(), i, c) {
            self.a.rep_letters += 1;
        }
        self.a.word_chars += 1;
        self.word.hash = mix(self.word.hash, lc as u64);
        self.a.letters += 1;
        self.a.cased += 1;
        self.word.letters += 1;
    }

    /// Any char the fast paths above do not take, with its [`char_info`].
    #[inline(always)]
    fn general_char(&mut self, i: usize, x: u8, c: char, f: u32, lc: char) {
        if x >= 0x80 && is_emoji(c) {
            self.a.emoji += 1;
        }
        let alpha = f & C_ALPHA != 0;
        self.scripts[(f >> SCRIPT_SHIFT) as usize & 7] += 1;
        if c != ' ' {
            self.a.nonspace += 1;
        }
        if alpha && run_of_three(self.norm.as_bytes(), i, c) {
            self.a.rep_letters += 1;
        }
        let prev = char_before(self.norm, i);
        self.word_or_mark(i, c, f, lc, alpha);
        if f & C_CJK != 0 {
            self.cjk_char(c);
        }
        self.letter_case(f, alpha);
        self.punctuation(c, prev);
        self.spacing(i, c, prev, alpha);
        if f & C_SENT_END != 0 {
            self.a.end_sentence();
            self.a.close_segment(false);
            self.at_sentence_start = true;
            self.sentence_first_word = true;
        }
    }

    /// A word char (a letter or digit outside CJK, or an apostrophe inside a
    /// word before a letter) starts or continues a word; anything else ends
    /// the word and is a mark token.
    #[inline(always)]
    fn word_or_mark(&mut self, i: usize, c: char, f: u32, lc: char, alpha: bool) {
        let wordish = f & C_ALNUM != 0 && f & C_CJK == 0;
        let apostrophe_in_word = self.in_word
            && c == '\''
            && (self.norm.as_bytes())
                .get(i + 1)
                .is_some_and(|b| b.is_ascii_alphabetic());
        if !(wordish || apostrophe_in_word) {
            if self.in_word {
                self.end_word(i);
            }
            self.tokens.token(mark_token(c));
            return;
        }
        if !self.in_word {
            self.in_word = true;
            self.word = StyleWord::starting_at(i);
            if self.at_sentence_start && alpha {
                if f & C_LOWER != 0 {
                    self.a.sent_lower_start += 1;
                    self.a.sent_cased_start += 1;
                } else if f & C_UPPER != 0 {
                    self.a.sent_cased_start += 1;
                }
            }
            self.at_sentence_start = false;
        }
        if c == '\'' {
            self.word.has_apos = true;
        }
        self.a.word_chars += 1;
        self.word.hash = mix(self.word.hash, lc as u64);
    }

    /// A CJK character is a word of its own, half a word of a comma segment.
    #[inline(always)]
    fn cjk_char(&mut self, c: char) {
        let a = &mut self.a;
        a.words += 1;
        a.word_chars += 1;
        a.cur_sent_words += 1;
        a.seg_half_words += 1;
        self.at_sentence_start = false;
        self.sentence_first_word = false;
        if ALL {
            a.push_seg(c as u64);
        }
    }

    /// Letters, their case, and digits.
    #[inline(always)]
    fn letter_case(&mut self, f: u32, alpha: bool) {
        let a = &mut self.a;
        if alpha {
            a.letters += 1;
            if f & C_UPPER != 0 {
                a.upper += 1;
                a.cased += 1;
                if self.in_word {
                    self.word.upper += 1;
                }
            } else if f & C_LOWER != 0 {
                a.cased += 1;
            }
            if self.in_word {
                self.word.letters += 1;
            }
        } else if f & C_NUMERIC != 0 {
            a.digits += 1;
        }
    }

    /// Punctuation marks, in the scripts that have their own.
    #[inline(always)]
    fn punctuation(&mut self, c: char, prev: char) {
        let a = &mut self.a;
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
    }

    /// Punctuation by what is around it: "...", "!?", a letter straight
    /// after a full stop, a space before a comma.
    #[inline(always)]
    fn spacing(&mut self, i: usize, c: char, prev: char, alpha: bool) {
        let a = &mut self.a;
        if c == '.' && prev == '.' && char_before(self.norm, i - 1) != '.' {
            a.ellipsis += 1;
        }
        if matches!(c, '!' | '?') && matches!(prev, '!' | '?') {
            a.rep_punct += 1;
        }
        if ALL
            && matches!(prev, ',' | '.' | '!' | '?' | ';')
            && alpha
            && !is_numeric(char_before(self.norm, i - 1))
        {
            // "word,next" / "end.Next": typical of hurried human typing. Skip "3.5".
            a.no_space_after += 1;
        }
        if prev == ' ' && matches!(c, ',' | '.' | '!' | '?') {
            a.space_before += 1;
        }
    }

    /// Ends the current word at byte `end`.
    #[inline(always)]
    fn end_word(&mut self, end: usize) {
        self.finish_word(end);
        self.sentence_first_word = false;
        self.in_word = false;
    }

    /// Counts a word that ends at byte `end` and hands it to the tokens.
    #[inline(always)]
    fn finish_word(&mut self, end: usize) {
        let (a, wd, norm) = (&mut self.a, &self.word, self.norm);
        a.words += 1;
        a.cur_sent_words += 1;
        a.seg_half_words += 2;
        let h = fmix(wd.hash);
        self.tokens.token(h);
        if ALL {
            a.push_seg(h);
        }
        let flags = self.tables.lookup(h);
        a.person += PERSON_LANES[(flags & (FLAG_FIRST | FLAG_SECOND)) as usize];
        a.english += u32::from(flags & FLAG_ENGLISH != 0);
        a.casual += u32::from(flags & FLAG_CASUAL != 0);
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
        if !self.sentence_first_word
            && starts_upper(w)
            && wd.upper < wd.letters.max(2)
            && w != "I"
            && !w.starts_with("I'")
        {
            a.midcap += 1;
        }
    }
}
