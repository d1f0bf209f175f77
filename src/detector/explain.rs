//! Why a text scored as it did: every part of the score as its contribution in
//! calibrated log-odds, strongest first, with those that contributed almost
//! nothing left out, so that an admin reads the real reason and not noise next
//! to it.

use super::artefacts::{ArtefactScan, Weight};
use super::dense::N_DENSE;
use super::frequency::{FREQ_NAMES, FreqTable, slot};
use super::lexicon::{LEXICON_NAMES, Lexicons, N_LEX};
use super::style::{N_STYLE, STYLE_NAMES};
use super::tokens::hash_word_lower;
use super::{MAX_PHRASES, MAX_SIGNALS, Signal};

/// A contribution below this many log-odds is not shown: it moves a score of
/// 0.5 by less than 0.04.
pub const MIN_WEIGHT: f32 = 0.15;
/// Nor one below this share of the strongest contribution.
pub const MIN_SHARE: f32 = 0.1;

/// The parts of one text's score, in calibrated log-odds.
pub(crate) struct Parts<'a> {
    pub art: &'a ArtefactScan,
    pub char_ngrams: f32,
    pub word_ngrams: f32,
    pub dense: &'a [f32; N_DENSE],
    /// The boosted trees' part (0 for a model without them).
    pub trees: f32,
}

/// The candidate index of the trees' part, after every dense feature's.
const TREES: usize = 1002 + N_DENSE;

/// Log-odds of a decisive rule's probability.
fn decisive_log_odds() -> f32 {
    let p = super::artefacts::DECISIVE_P;
    (p / (1.0 - p)).ln()
}

/// The signals of a text: at most [`MAX_SIGNALS`], strongest first.
pub(crate) fn signals(
    parts: &Parts,
    lex: &'static Lexicons,
    raw: &str,
    norm: &str,
    freq: Option<&FreqTable>,
) -> Vec<Signal> {
    // (index: artefact hit, or 1000 + feature), weight
    let mut cands: Vec<(usize, f32)> = Vec::with_capacity(8 + N_DENSE);
    let hits = parts.art.hits();
    for (i, (_, w)) in hits.iter().enumerate() {
        let w = match w {
            Weight::Decisive => decisive_log_odds(),
            // A kind of evidence counts once, shown on its first phrase with
            // the others of its kind (see `artefact_signal`).
            Weight::Evidence(_) if hits[..i].iter().any(|h| h.1 == *w) => continue,
            Weight::Evidence(k) => k.log_odds(),
            Weight::Info => 0.0,
        };
        cands.push((i, w));
    }
    cands.push((1000, parts.char_ngrams));
    cands.push((1001, parts.word_ngrams));
    for (j, w) in parts.dense.iter().enumerate() {
        cands.push((1002 + j, *w));
    }
    cands.push((TREES, parts.trees));
    cands.sort_by(|x, y| y.1.abs().total_cmp(&x.1.abs()).then(x.0.cmp(&y.0)));
    let top = cands.first().map_or(0.0, |c| c.1.abs());
    let floor = MIN_WEIGHT.max(MIN_SHARE * top);
    let mut found: Option<[Vec<u32>; N_LEX]> = None;
    let mut out = Vec::new();
    for &(k, w) in &cands {
        if out.len() >= MAX_SIGNALS || w.abs() < floor {
            break;
        }
        let signal = match k {
            k if k < 1000 => Some(artefact_signal(hits, k, w)),
            1000 => Some(plain("ngram", "char n-grams", w)),
            1001 => Some(plain("ngram", "word n-grams", w)),
            // Trees weigh many features together: no single one to name.
            TREES => Some(plain("trees", "over style and length", w)),
            k if k - 1002 < N_STYLE => Some(plain("style", STYLE_NAMES[k - 1002], w)),
            k if k - 1002 < N_STYLE + N_LEX => {
                let l = k - 1002 - N_STYLE;
                let ids = &found.get_or_insert_with(|| lex.matched_phrases(norm))[l];
                let shown: Vec<&'static str> = (ids.iter())
                    .map(|id| lex.phrase(*id))
                    .filter(|p| telling(p, raw, freq))
                    .collect();
                // A rate made only of names and common words is no reason an
                // admin can check: left out.
                (!shown.is_empty()).then(|| phrase_signal(l, &shown, w))
            }
            k => Some(plain(
                "frequency",
                FREQ_NAMES[k - 1002 - N_STYLE - N_LEX],
                w,
            )),
        };
        out.extend(signal);
    }
    out
}

/// The signal of artefact hit `k`, listing the other hits of its kind of
/// evidence with it ("[first name], [your name]").
fn artefact_signal(hits: &[(&'static str, Weight)], k: usize, weight: f32) -> Signal {
    let (name, w) = hits[k];
    let mut s = plain("artefact", name, weight);
    if matches!(w, Weight::Evidence(_)) {
        let same: Vec<&str> = (hits.iter()).filter(|h| h.1 == w).map(|h| h.0).collect();
        s.detail = same.join(", ");
    }
    s
}

fn plain(family: &'static str, name: &'static str, weight: f32) -> Signal {
    Signal {
        family,
        name,
        detail: name.to_string(),
        phrases: Vec::new(),
        weight,
    }
}

fn phrase_signal(l: usize, shown: &[&'static str], weight: f32) -> Signal {
    let phrases: Vec<&'static str> = shown.iter().take(MAX_PHRASES).copied().collect();
    let quoted: Vec<String> = phrases.iter().map(|p| format!("\"{p}\"")).collect();
    let more = match shown.len().saturating_sub(MAX_PHRASES) {
        0 => String::new(),
        n => format!(" (+{n} more)"),
    };
    Signal {
        family: "phrase",
        name: LEXICON_NAMES[l],
        detail: format!("{}: {}{more}", LEXICON_NAMES[l], quoted.join(", ")),
        phrases,
        weight,
    }
}

/// Whether a matched phrase tells a reader something: several words ("testament
/// to"), or one word that is neither among the commonest of human text ("this",
/// on Kobak's list) nor a name (the antislop list has "maria": a word the text
/// only ever capitalises is taken for one).
fn telling(phrase: &str, raw: &str, freq: Option<&FreqTable>) -> bool {
    if phrase.contains(' ') {
        return true;
    }
    let h = hash_word_lower(phrase);
    let common = match freq {
        Some(t) => (1..=2).contains(&t.band(slot(h))),
        None => super::components().style.is_function_word(h),
    };
    !common && !only_capitalised(phrase, raw)
}

/// Whether every whole-word occurrence of `word` (lowercase) in `raw` starts
/// with a capital letter.
fn only_capitalised(word: &str, raw: &str) -> bool {
    let mut seen = false;
    for w in raw.split(|c: char| !c.is_alphanumeric() && c != '\'') {
        if w.eq_ignore_ascii_case(word) || w.to_lowercase() == word {
            seen = true;
            if !w.chars().next().is_some_and(char::is_uppercase) {
                return false;
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_common_words_do_not_tell() {
        assert!(!telling("maria", "Thanks, Maria will call you back.", None));
        assert!(telling("delve", "we delve into it", None));
        assert!(telling("testament to", "a testament to quality", None));
        let mut bands = vec![0u8; super::super::frequency::SLOTS];
        bands[slot(hash_word_lower("this")) as usize] = 1;
        let t = FreqTable { bands };
        assert!(!telling("this", "this is it", Some(&t)));
        assert!(!telling("this", "this is it", None));
        assert!(telling("seamless", "a seamless stay", None));
    }
}
