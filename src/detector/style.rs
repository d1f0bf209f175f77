//! Language-agnostic style features: what they are and how each is computed
//! from the counts of one pass over a normalised text ([`super::style_counts`]),
//! which also hands its tokens to the lexicons and, when scoring, its chars to
//! the n-gram walk.

use super::chars::N_SCRIPTS;
use super::ngrams::{CharFeed, NoChars};
use super::style_counts::{StyleAcc, walk};
use super::tokens::{NoTokens, Tokens};
use super::words::{ENGLISH_MIN_SHARE, StyleTables, list_lines, unterminated_lines};

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
    feed: G,
) -> (bool, usize, G) {
    let (a, scripts, feed) = walk::<ALL, T, G>(norm, tables, tokens, feed);
    out[..N_STYLE].copy_from_slice(&features::<ALL>(&a, raw));
    (
        a.english as f32 >= ENGLISH_MIN_SHARE * a.words.max(1) as f32,
        dominant_script(&scripts),
        feed,
    )
}

/// The style vector, in the order of [`STYLE_NAMES`], from the walk's counts
/// (and `raw`, for the features read per line).
fn features<const ALL: bool>(a: &StyleAcc, raw: &str) -> [f32; N_STYLE] {
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
    [
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
    ]
}

/// The script with the most letters (the first of those tied).
fn dominant_script(scripts: &[u32; 8]) -> usize {
    let mut script = 0;
    for s in 1..N_SCRIPTS {
        if scripts[s] > scripts[script] {
            script = s;
        }
    }
    script
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
