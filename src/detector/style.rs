//! Language-agnostic style features: one pass over a normalised text counting
//! punctuation, case, sentence lengths, pronouns and the like, which also hands its
//! tokens to the lexicons and, when scoring, its chars to the n-gram walk.

use super::chars::{
    C_ALNUM, C_ALPHA, C_CJK, C_LOWER, C_NUMERIC, C_SENT_END, C_UPPER, N_SCRIPTS, SCRIPT_SHIFT,
    char_info,
};
use super::ngrams::{CharFeed, NoChars};
use super::tokens::{NoTokens, Tokens, WORD_HASH_SEED, fmix, mark_token, mix};
use super::words::{
    ENGLISH_MIN_SHARE, FLAG_CASUAL, FLAG_ENGLISH, FLAG_FIRST, FLAG_SECOND, PERSON_LANES,
    StyleTables, ascii_run_of_three, char_before, is_emoji, is_english_contraction, is_numeric,
    list_lines, run_of_three, starts_upper, unterminated_lines,
};

/// Style features, in this order. All are rates (per word, per sentence, per letter)
/// so that they do not grow with length; none of them is a length. A feature that is
/// undefined for a text (burstiness of one sentence, capitals in Chinese) is NaN,
/// which the model reads as "no evidence" rather than as an extreme value.
pub const STYLE_NAMES: [&str; 30] = [
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
    "emoji rate",
    "casual spellings (lol, pls, dont)",
    "list lines",
];
pub const N_STYLE: usize = STYLE_NAMES.len();

const SEG: usize = 25;

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
    emoji: u32,
    casual: u32,
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

/// Style features whose meaning is English-specific; for other languages the model
/// sees them as neutral (standardised value 0) rather than as "absent".
pub const ENGLISH_ONLY_STYLE: [usize; 3] = [16, 17, 28];

/// Compute the style vector of a normalised text into `out` (length [`N_STYLE`]).
/// Values are transformed (sqrt of rates, logs) so a linear model sees roughly
/// symmetric distributions; standardisation happens in the model. Returns whether
/// the text looks English (share of English function words).
pub fn style_features(raw: &str, norm: &str, tables: &StyleTables, out: &mut [f32]) -> bool {
    style_pass::<true, _>(raw, norm, tables, out, &mut NoTokens).0
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
        if x >= 0x80 && is_emoji(c) {
            a.emoji += 1;
        }
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
        rate(a.emoji, words),
        rate(a.casual, words),
        list_lines(raw),
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
    use crate::detector::normalize::normalize_into;

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
