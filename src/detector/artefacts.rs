//! High-precision chat-model artefacts: text that only ends up in a CRM field when
//! someone pasted a chatbot's answer (self-references, preambles, template
//! placeholders, UI strings, Markdown). These are rules, not learned weights: the
//! training data contains only a few of them, and a learned model would either miss
//! them or, worse, learn them as a shortcut instead of learning the writing itself.
//! That is also why [`strip_preamble`] removes chat preambles from training text.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// How much one artefact alone says. Combined noisy-OR: P = 1 - Π(1 - p_i).
const DECISIVE: f32 = 0.995;
const STRONG: f32 = 0.95;
/// Weak: humans write this too, so it may only nudge.
const WEAK: f32 = 0.3;
/// Reported as a signal but adds nothing to the score. In the training data **bold**
/// is human evidence if anything (3% of M4's human Reddit answers, no machine row), and
/// even as a weak artefact it pushed those genuine answers over the shipped threshold.
const INFO: f32 = 0.0;

/// Phrases matched ASCII-case-insensitively on whitespace-normalised text, so line
/// breaks inside a phrase ("Certainly!\n\nHere is") do not hide it. Written in
/// lowercase: they are matched against the ASCII-lowercased text.
const PHRASES: &[(&str, f32)] = &[
    ("as an ai language model", DECISIVE),
    ("as a language model", DECISIVE),
    ("as an ai model", DECISIVE),
    ("as an ai assistant", DECISIVE),
    ("i am an ai language model", DECISIVE),
    ("i'm an ai language model", DECISIVE),
    ("i am an ai assistant", DECISIVE),
    ("i'm just an ai", DECISIVE),
    ("as of my last knowledge update", DECISIVE),
    ("as of my knowledge cutoff", DECISIVE),
    ("my knowledge cutoff", DECISIVE),
    ("as of my last update", DECISIVE),
    ("as of my last training", DECISIVE),
    ("regenerate response", DECISIVE),
    ("i cannot fulfill", DECISIVE),
    ("i can't fulfill", DECISIVE),
    ("i cannot fulfil", DECISIVE),
    ("i'm unable to fulfill", DECISIVE),
    ("i do not have personal opinions", DECISIVE),
    ("i don't have personal opinions", DECISIVE),
    ("i don't have personal experiences", DECISIVE),
    ("i do not have personal experiences", DECISIVE),
    ("certainly! here", DECISIVE),
    ("certainly, here", DECISIVE),
    ("sure! here", DECISIVE),
    ("sure thing! here", DECISIVE),
    ("absolutely! here", DECISIVE),
    ("of course! here", DECISIVE),
    ("here is a rewritten version", DECISIVE),
    ("here's a rewritten version", DECISIVE),
    ("here is the rewritten", DECISIVE),
    ("here's the rewritten", DECISIVE),
    ("here is a revised version", DECISIVE),
    ("here's a revised version", DECISIVE),
    ("here is the revised", DECISIVE),
    ("here's the revised", DECISIVE),
    ("here is a polished version", DECISIVE),
    ("here's a polished version", DECISIVE),
    ("here is the polished", DECISIVE),
    ("here's the polished", DECISIVE),
    ("here is a more polished", DECISIVE),
    ("here's a more polished", DECISIVE),
    ("here is an improved version", DECISIVE),
    ("here's an improved version", DECISIVE),
    ("here is a possible review", DECISIVE),
    ("here's a possible review", DECISIVE),
    ("here is a sample review", DECISIVE),
    ("here's a sample review", DECISIVE),
    ("in this rewritten version", DECISIVE),
    ("[your name]", DECISIVE),
    ("[your ", DECISIVE),
    ("[insert ", DECISIVE),
    ("[company name]", DECISIVE),
    ("[recipient", DECISIVE),
    ("[customer name]", DECISIVE),
    ("[client name]", DECISIVE),
    ("[product name]", DECISIVE),
    ("[hotel name]", DECISIVE),
    ("[name]", DECISIVE),
    ("[date]", DECISIVE),
    ("sure, here", STRONG),
    ("sure, i can", STRONG),
    ("certainly, i can", STRONG),
    ("i hope this email finds you well", STRONG),
    ("i hope this message finds you well", STRONG),
    ("hope this email finds you well", STRONG),
    ("i hope this helps!", WEAK),
    ("let me know if you need any further", WEAK),
    ("let me know if you have any other questions", WEAK),
];

pub const MARKDOWN_HEADING: &str = "markdown heading";
pub const MARKDOWN_BOLD: &str = "markdown **bold**";

/// Compiled artefact matcher. Built once, shared read-only by all threads.
pub struct Artefacts {
    ac: AhoCorasick,
    filter: KeyFilter,
}

/// Length of the [`KeyFilter`] keys; every phrase is at least this long.
const KEY_LEN: usize = 6;

/// A necessary condition for any phrase to occur: each phrase contains one of a few
/// 6-byte keys, so a text without a key has no match and can skip the automaton.
/// Artefacts are in ~0.2% of texts, and aho-corasick's packed (SIMD) searcher rules
/// out a text at a fraction of the DFA's dependent load per byte. Which key stands
/// for a phrase only decides how often texts pass, never what is found.
struct KeyFilter {
    keys: aho_corasick::packed::Searcher,
}

impl KeyFilter {
    fn new(phrases: &[&str]) -> Self {
        // English byte frequency, commonest first: a key of rare bytes
        // (punctuation, rare letters) lets fewer ordinary texts through.
        const COMMON: &[u8] = b" etaoinsrhldcumfpgwybvkxjqz";
        let rarity = |b: &u8| COMMON.iter().position(|c| c == b).unwrap_or(COMMON.len());
        // Teddy looks for the first 4 bytes of each key and only then compares
        // the rest, so those 4 are ranked first: on our texts this let 9% of
        // them through instead of 15%, and ran a third faster.
        let rank = |w: &[u8]| {
            let sum = |bytes: &[u8]| bytes.iter().map(rarity).sum::<usize>();
            (sum(&w[..4]), sum(w))
        };
        let mut keys: Vec<&[u8]> = Vec::new();
        for p in phrases {
            let p = p.as_bytes();
            assert!(
                p.len() >= KEY_LEN,
                "artefact phrases are at least {KEY_LEN} bytes"
            );
            if p.windows(KEY_LEN).any(|w| keys.contains(&w)) {
                continue;
            }
            let rarest = p
                .windows(KEY_LEN)
                .max_by_key(|w| rank(w))
                .expect("phrase has a window");
            keys.push(rarest);
        }
        // Without the heuristic limits the packed searcher takes any key set
        // (up to 128): it falls back to Rabin-Karp rather than refusing.
        let keys = aho_corasick::packed::Config::new()
            .heuristic_pattern_limits(false)
            .builder()
            .extend(keys)
            .build()
            .expect("a packed searcher for the artefact keys");
        KeyFilter { keys }
    }

    /// False only when no key occurs in `text`, and so no phrase.
    fn may_match(&self, text: &[u8]) -> bool {
        self.keys.find(text).is_some()
    }
}

/// Up to 8 distinct artefacts found in one text, without heap allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArtefactScan {
    hits: [(&'static str, f32); 8],
    n: usize,
}

impl ArtefactScan {
    fn add(&mut self, detail: &'static str, p: f32) {
        if self.n < self.hits.len() && !self.hits[..self.n].iter().any(|h| h.0 == detail) {
            self.hits[self.n] = (detail, p);
            self.n += 1;
        }
    }

    pub fn hits(&self) -> &[(&'static str, f32)] {
        &self.hits[..self.n]
    }

    /// Noisy-OR of the hits: the probability that at least one of them is a genuine
    /// chat-model residue. 0 when nothing matched.
    pub fn probability(&self) -> f32 {
        1.0 - self.hits().iter().fold(1.0f32, |acc, h| acc * (1.0 - h.1))
    }
}

impl Artefacts {
    pub fn new() -> Self {
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            // A full DFA: a few hundred KB built once, and the scan no longer walks
            // NFA failure links (2-3x faster on the scoring path).
            .kind(Some(AhoCorasickKind::DFA))
            .build(PHRASES.iter().map(|p| p.0))
            .expect("artefact patterns compile");
        let phrases: Vec<&str> = PHRASES.iter().map(|p| p.0).collect();
        Artefacts {
            ac,
            filter: KeyFilter::new(&phrases),
        }
    }

    /// `raw` is the text as imported (Markdown needs its line structure); `norm` is its
    /// whitespace-normalised form (see [`super::normalize::normalize_into`]).
    pub fn scan(&self, raw: &str, norm: &str) -> ArtefactScan {
        self.scan_lowered(raw, &norm.to_ascii_lowercase())
    }

    /// [`Artefacts::scan`] given `norm` already ASCII-lowercased. Matching lowercase
    /// phrases case-sensitively on lowercased text finds exactly what an
    /// ASCII-case-insensitive automaton finds on the original, with half the byte
    /// classes (a smaller, faster DFA), and the scorer lowercases once for both this
    /// scan and the lexicons.
    pub fn scan_lowered(&self, raw: &str, lower: &str) -> ArtefactScan {
        let mut s = ArtefactScan::default();
        if self.filter.may_match(lower.as_bytes()) {
            for m in self.ac.find_iter(lower) {
                let (p, w) = PHRASES[m.pattern().as_usize()];
                s.add(p, w);
            }
        }
        if has_markdown_heading(raw) {
            s.add(MARKDOWN_HEADING, STRONG);
        }
        if has_markdown_bold(raw) {
            s.add(MARKDOWN_BOLD, INFO);
        }
        s
    }
}

impl Default for Artefacts {
    fn default() -> Self {
        Self::new()
    }
}

/// A line that starts with 1–4 '#' and a space followed by text ("## Summary"). A lone
/// "#1" or "# " is not a heading; hashtags have no space after '#'.
fn has_markdown_heading(raw: &str) -> bool {
    // Nearly every CRM text has no '#' at all.
    if memchr::memchr(b'#', raw.as_bytes()).is_none() {
        return false;
    }
    raw.split('\n').any(|line| {
        let l = line.trim_start_matches([' ', '\t']);
        let hashes = l.bytes().take_while(|b| *b == b'#').count();
        (1..=4).contains(&hashes)
            && l.as_bytes().get(hashes) == Some(&b' ')
            && l[hashes..]
                .trim()
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic())
    })
}

/// `**text**` with non-space right inside both markers, on one line.
fn has_markdown_bold(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    // A byte search for '*' (rarely present) instead of a substring search per call.
    let find_pair = |from: usize| {
        memchr::memchr_iter(b'*', &b[from..]).find(|&j| b.get(from + j + 1) == Some(&b'*'))
    };
    while let Some(off) = find_pair(i) {
        let start = i + off + 2;
        if start < b.len() && !b[start].is_ascii_whitespace() && b[start] != b'*' {
            let rest = &raw[start..];
            let line_end = rest.find('\n').unwrap_or(rest.len());
            if let Some(end) = rest[..line_end].find("**")
                && end > 0
                && !rest.as_bytes()[end - 1].is_ascii_whitespace()
            {
                return true;
            }
        }
        i = start.min(raw.len());
        if i >= raw.len() {
            break;
        }
    }
    false
}

/// Remove a leading chat preamble ("Sure, here is a polished version of the review:")
/// from training text. Training on preambles would teach the statistical model a
/// shortcut that [`Artefacts`] already covers and that real pasted text often lacks.
pub fn strip_preamble(text: &str) -> &str {
    let t = text.trim_start();
    let lim = t.char_indices().nth(300).map(|(i, _)| i).unwrap_or(t.len());
    let Some(end) = t[..lim].find([':', '\n']) else {
        return text;
    };
    let head = &t[..end];
    let lower_starts = |p: &str| {
        head.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    };
    let starter = [
        "sure",
        "certainly",
        "of course",
        "absolutely",
        "okay",
        "ok,",
        "ok!",
        "here is",
        "here's",
        "here are",
    ]
    .iter()
    .any(|p| lower_starts(p));
    let head_l = head.to_ascii_lowercase();
    let about_output = [
        "here", "version", "rewrit", "review", "polish", "revis", "text", "email",
    ]
    .iter()
    .any(|k| head_l.contains(k));
    if starter && about_output && end + 1 < t.len() {
        let rest = t[end + 1..].trim_start();
        if !rest.is_empty() {
            return rest;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::normalize::normalize_into;

    fn scan(t: &str) -> ArtefactScan {
        let mut n = String::new();
        normalize_into(t, &mut n);
        Artefacts::new().scan(t, &n)
    }

    #[test]
    fn decisive_phrases_alone_push_near_one() {
        for t in [
            "As an AI language model, I cannot visit hotels.",
            "Certainly!\n\nHere is the review you asked for.",
            "Best regards,\n[Your Name]",
            "Dear [Recipient's Name], thanks",
            "As of my last knowledge update in 2021 the hotel was open.",
            "Regenerate response",
            "I cannot fulfill that request.",
            "Here is a rewritten version of the text: nice room.",
            "Sure! Here\u{2019}s a short review",
        ] {
            let s = scan(t);
            assert!(s.probability() > 0.99, "{t}: {:?}", s.hits());
        }
    }

    #[test]
    fn strong_and_weak_phrases() {
        assert!(scan("Hi Tom, I hope this email finds you well.").probability() >= 0.95);
        let w = scan("I hope this helps! Cheers");
        assert!(w.probability() > 0.2 && w.probability() < 0.5);
    }

    #[test]
    fn markdown_heading_and_bold() {
        let h = scan("## Summary\nThe customer called.");
        assert_eq!(h.hits()[0].0, MARKDOWN_HEADING);
        assert!(scan("### Pros\n- clean").probability() > 0.9);
        assert!(scan("#1 hotel in town").hits().is_empty());
        assert!(scan("loved it #travel #hotel").hits().is_empty());
        let b = scan("The **staff** were great");
        assert_eq!(b.hits()[0].0, MARKDOWN_BOLD);
        assert_eq!(b.probability(), 0.0);
        assert!(scan("rated 5 ** stars ** maybe").hits().is_empty());
        assert!(scan("a ** b").hits().is_empty());
    }

    #[test]
    fn key_filter_passes_every_phrase() {
        let f = Artefacts::new().filter;
        for (p, _) in PHRASES {
            // Alone, at both ends of a text, and where only the byte-wise tail sees it.
            for t in [p.to_string(), format!("xx {p} yy"), format!("abcdefgh {p}")] {
                assert!(f.may_match(t.as_bytes()), "{t}");
            }
        }
        assert!(!f.may_match(b"The room was clean and the staff were friendly."));
        assert!(!f.may_match(b""));
    }

    #[test]
    fn phrases_are_lowercase() {
        // They are matched against ASCII-lowercased text.
        for (p, _) in PHRASES {
            assert_eq!(*p, p.to_ascii_lowercase());
        }
    }

    #[test]
    fn ordinary_text_has_no_artefacts() {
        for t in [
            "Sure, the room was small but clean.",
            "Here is my review: great stay, would come back.",
            "The AI in this game is terrible.",
            "Customer asked for [urgent] callback",
        ] {
            assert!(scan(t).hits().is_empty(), "{t}");
        }
    }

    #[test]
    fn hits_are_deduplicated_and_combined() {
        let s = scan("As an AI language model ... as an AI language model. [Your Name]");
        assert_eq!(s.hits().len(), 2);
        assert!(s.probability() > 0.9999);
    }

    #[test]
    fn preamble_is_stripped_for_training() {
        assert_eq!(
            strip_preamble("Sure, here is a polished version:\n\nThe hotel was nice."),
            "The hotel was nice."
        );
        assert_eq!(
            strip_preamble("Certainly! Here's the rewritten text: Great room."),
            "Great room."
        );
        let human = "Sure: the room was fine.";
        assert_eq!(strip_preamble(human), human);
        let plain = "The hotel was nice: clean rooms.";
        assert_eq!(strip_preamble(plain), plain);
    }
}
