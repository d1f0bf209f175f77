//! High-precision chat-model artefacts: text that only ends up in a CRM field when
//! someone pasted a chatbot's answer (self-references, preambles, template
//! placeholders, UI strings, Markdown). These are rules, not learned weights: the
//! training data contains only a few of them, and a learned model would either miss
//! them or, worse, learn them as a shortcut instead of learning the writing itself.
//! That is also why [`strip_preamble`] removes chat preambles from training text.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// How much one artefact says. Decisive rules are text no human writes into a CRM
/// field (a chat model's self-reference, its UI, a chat preamble before the
/// answer): they combine noisy-OR, P = 1 - Π(1 - p_i), and each alone pushes the
/// score to about 0.995. Evidence rules are text people write too (mail-merge
/// placeholders, stock openers): each adds log-odds to the model's own, so it tips
/// a text the model already finds machine-like and leaves a genuine one below
/// the threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Weight {
    Decisive,
    /// Adds [`Kind::log_odds`] to the calibrated model score, once per kind
    /// however many of its phrases a text has.
    Evidence(Kind),
    /// Reported as a signal but adds nothing. In the training data **bold** is
    /// human evidence if anything (3% of M4's human Reddit answers, no machine
    /// row).
    Info,
}

/// What an evidence rule found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A template placeholder: humans keep mail-merge templates in CRMs too.
    Placeholder,
    /// Stock chat-model phrasing that people also write.
    Stock,
    Weak,
}

impl Kind {
    pub fn log_odds(self) -> f32 {
        match self {
            Kind::Placeholder => 1.5,
            Kind::Stock => 1.0,
            Kind::Weak => 0.5,
        }
    }
}

use Weight::{Decisive, Evidence};

pub const DECISIVE_P: f32 = 0.995;
const PLACEHOLDER: Weight = Evidence(Kind::Placeholder);
const STOCK: Weight = Evidence(Kind::Stock);
const WEAK: Weight = Evidence(Kind::Weak);
/// Evidence adds up to at most this many log-odds, so that a template full of
/// placeholders still needs the model's own agreement.
pub const MAX_EVIDENCE: f32 = 2.5;

/// Phrases matched ASCII-case-insensitively on whitespace-normalised text, so line
/// breaks inside a phrase ("Certainly!\n\nHere is") do not hide it. Written in
/// lowercase: they are matched against the ASCII-lowercased text.
const PHRASES: &[(&str, Weight)] = &[
    ("as an ai language model", Decisive),
    ("as a language model", Decisive),
    ("as an ai model", Decisive),
    ("as an ai assistant", Decisive),
    ("i am an ai language model", Decisive),
    ("i'm an ai language model", Decisive),
    ("i am an ai assistant", Decisive),
    ("i'm just an ai", Decisive),
    ("as of my last knowledge update", Decisive),
    ("as of my knowledge cutoff", Decisive),
    ("my knowledge cutoff", Decisive),
    ("as of my last update", Decisive),
    ("as of my last training", Decisive),
    ("regenerate response", Decisive),
    ("i cannot fulfill", Decisive),
    ("i can't fulfill", Decisive),
    ("i cannot fulfil", Decisive),
    ("i'm unable to fulfill", Decisive),
    ("i do not have personal opinions", Decisive),
    ("i don't have personal opinions", Decisive),
    ("i don't have personal experiences", Decisive),
    ("i do not have personal experiences", Decisive),
    ("here is a rewritten version", Decisive),
    ("here's a rewritten version", Decisive),
    ("here is the rewritten", Decisive),
    ("here's the rewritten", Decisive),
    ("here is a revised version", Decisive),
    ("here's a revised version", Decisive),
    ("here is a polished version", Decisive),
    ("here's a polished version", Decisive),
    ("here is the polished", Decisive),
    ("here's the polished", Decisive),
    ("here is a more polished", Decisive),
    ("here's a more polished", Decisive),
    ("here is an improved version", Decisive),
    ("here's an improved version", Decisive),
    ("here is a possible review", Decisive),
    ("here's a possible review", Decisive),
    ("here is a sample review", Decisive),
    ("here's a sample review", Decisive),
    ("in this rewritten version", Decisive),
    // An agent answering a customer writes "Of course! Here is the link" too; only
    // followed by the answer to a writing request is it decisive (`chat_preamble`).
    ("certainly! here", STOCK),
    ("certainly, here", STOCK),
    ("sure! here", STOCK),
    ("sure thing! here", STOCK),
    ("absolutely! here", STOCK),
    ("of course! here", STOCK),
    ("sure, here", WEAK),
    ("sure, i can", WEAK),
    ("certainly, i can", WEAK),
    ("[your name]", PLACEHOLDER),
    ("[your ", PLACEHOLDER),
    ("[insert ", PLACEHOLDER),
    ("[company name]", PLACEHOLDER),
    ("[recipient", PLACEHOLDER),
    ("[customer name]", PLACEHOLDER),
    ("[client name]", PLACEHOLDER),
    ("[product name]", PLACEHOLDER),
    ("[hotel name]", PLACEHOLDER),
    ("[first name]", PLACEHOLDER),
    ("[name]", PLACEHOLDER),
    ("[date]", PLACEHOLDER),
    ("i hope this email finds you well", STOCK),
    ("i hope this message finds you well", STOCK),
    ("hope this email finds you well", STOCK),
    ("i hope this helps!", WEAK),
    ("let me know if you need any further", WEAK),
    ("let me know if you have any other questions", WEAK),
];

/// A reply that opens like a chat model handing over what it was asked to write
/// ("Sure! Here is a polished version of your review:") and then gives it.
pub const CHAT_PREAMBLE: &str = "chat preamble before the answer";
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
#[derive(Clone, Copy, Debug)]
pub struct ArtefactScan {
    hits: [(&'static str, Weight); 8],
    n: usize,
}

impl Default for ArtefactScan {
    fn default() -> Self {
        ArtefactScan {
            hits: [("", Weight::Info); 8],
            n: 0,
        }
    }
}

impl ArtefactScan {
    fn add(&mut self, detail: &'static str, w: Weight) {
        if self.n < self.hits.len() && !self.hits[..self.n].iter().any(|h| h.0 == detail) {
            self.hits[self.n] = (detail, w);
            self.n += 1;
        }
    }

    pub fn hits(&self) -> &[(&'static str, Weight)] {
        &self.hits[..self.n]
    }

    /// Noisy-OR of the decisive hits: the probability that at least one of them
    /// is a genuine chat-model residue. 0 when none matched.
    pub fn probability(&self) -> f32 {
        let decisive = self.hits().iter().filter(|h| h.1 == Decisive).count();
        1.0 - (1.0 - DECISIVE_P).powi(decisive as i32)
    }

    /// Log-odds the evidence rules add to the model's: each kind found once, at
    /// most [`MAX_EVIDENCE`] in all.
    pub fn evidence(&self) -> f32 {
        // A fold from +0: `sum` starts at -0, which score files would print.
        let sum: f32 = [Kind::Placeholder, Kind::Stock, Kind::Weak]
            .into_iter()
            .filter(|k| self.hits().iter().any(|h| h.1 == Evidence(*k)))
            .map(Kind::log_odds)
            .fold(0.0, |a, b| a + b);
        sum.min(MAX_EVIDENCE)
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
                if w == Decisive && p.starts_with("here") && of_own_writing(&lower[m.end()..]) {
                    continue;
                }
                s.add(p, w);
            }
        }
        if has_markdown_heading(raw) {
            // Case notes in Markdown-aware tools have headings too.
            s.add(MARKDOWN_HEADING, STOCK);
        }
        if has_markdown_bold(raw) {
            s.add(MARKDOWN_BOLD, Weight::Info);
        }
        if chat_preamble(raw) {
            s.add(CHAT_PREAMBLE, Decisive);
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

/// Whether `raw` opens with a chat model handing over a piece of writing
/// ("Sure! Here is a polished version of your review:", "Certainly, here's a
/// draft email:") and then gives it (at least 8 more words). An agent's
/// "Of course! Here is the link: ..." names no piece of writing, and a
/// preamble with nothing after it is not followed by an answer.
pub fn chat_preamble(raw: &str) -> bool {
    let t = raw.trim_start();
    // Nearly every text fails on its first byte.
    if !t
        .bytes()
        .next()
        .is_some_and(|b| matches!(b | 0x20, b's' | b'c' | b'o' | b'a' | b'h'))
    {
        return false;
    }
    // Read off the text itself: a fifth of CRM texts pass the first byte, and
    // the head below costs two allocations and a walk of up to 200 chars.
    // None of these prefixes holds a ':' or a line break, so when the text
    // starts with one, so does the head.
    if !STARTERS
        .iter()
        .any(|p| starts_folded(t.as_bytes(), p.as_bytes()))
    {
        return false;
    }
    let lim = t.char_indices().nth(200).map_or(t.len(), |(i, _)| i);
    let Some(end) = t[..lim].find([':', '\n']) else {
        return false;
    };
    let head = t[..end].to_ascii_lowercase().replace('\u{2019}', "'");
    let hands_over = ["here is", "here's", "here are"]
        .iter()
        .any(|p| head.contains(p));
    const WRITING: [&str; 14] = [
        "version",
        "rewrit",
        "polish",
        "revis",
        "draft",
        "review",
        "summary",
        "description",
        "response",
        "reply",
        "template",
        "email",
        "e-mail",
        "message",
    ];
    let writing = WRITING.iter().any(|k| head.contains(k));
    if !(hands_over && writing) {
        return false;
    }
    // "Here is a summary of my impressions:" opens a human review (in the Amazon
    // reviews of the training data): a person hands over their own writing, a
    // model *your* text or the original ("Here's my revised version of the
    // original text:", APT-Eval).
    let own = head
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "my" || w == "our")
        && !head.contains("your")
        && !head.contains("original");
    !own && t[end + 1..].split_whitespace().nth(7).is_some()
}

/// Whether what follows "here is a revised version" makes it the writer's own
/// draft ("... of my draft GTC's", an Enron e-mail) rather than a model's rewrite
/// of *the* text or *your* review: people write the former, so it is no verdict.
fn of_own_writing(rest: &str) -> bool {
    ["of my", "of our"].iter().any(|p| {
        rest.trim_start().strip_prefix(p).is_some_and(|after| {
            !after
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric())
        })
    })
}

/// How a chat model's preamble starts, as [`chat_preamble`] reads its head
/// (ASCII-lowercased, typographic apostrophes made plain).
const STARTERS: [&str; 6] = [
    "sure",
    "certainly",
    "of course",
    "absolutely",
    "here is",
    "here's",
];

/// Whether `t`, ASCII-lowercased and with U+2019 read as an apostrophe, starts
/// with the lowercase ASCII `p`.
fn starts_folded(t: &[u8], p: &[u8]) -> bool {
    let mut i = 0;
    for &q in p {
        if q == b'\'' && t[i..].starts_with("\u{2019}".as_bytes()) {
            i += 3;
        } else if t.get(i).is_some_and(|b| b.to_ascii_lowercase() == q) {
            i += 1;
        } else {
            return false;
        }
    }
    true
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
            "As of my last knowledge update in 2021 the hotel was open.",
            "Regenerate response",
            "I cannot fulfill that request.",
            "Here is a rewritten version of the text: nice room.",
            "Sure! Here\u{2019}s a polished version of your review:\n\nThe room was \
             spotless and the staff went out of their way to help us.",
            "Certainly, here is a draft email: Dear team, thank you for taking the \
             time to meet with us last week.",
        ] {
            let s = scan(t);
            assert!(s.probability() > 0.99, "{t}: {:?}", s.hits());
        }
    }

    #[test]
    fn what_people_also_write_is_evidence_not_a_verdict() {
        for t in [
            "Hi Tom, I hope this email finds you well.",
            "Hi [First Name], thanks for your order. Best regards, [Your Name]",
            "Dear [Recipient's Name], thanks",
            "Of course! Here is the link to reset your password: example.com/reset",
            "Certainly!\n\nHere is the review you asked for.",
            "Sure, here's the tracking number: 1Z999 and it should arrive on Monday \
             or Tuesday at the latest.",
            "## Notes\nCustomer called about the invoice.",
            "I hope this helps! Cheers",
        ] {
            let s = scan(t);
            assert_eq!(s.probability(), 0.0, "{t}: {:?}", s.hits());
            let e = s.evidence();
            assert!(e > 0.0 && e <= MAX_EVIDENCE, "{t}: {e}");
        }
        // Each kind counts once: a template's many placeholders are one piece of
        // evidence; placeholders, openers and weak phrases add up to a bound.
        let template = scan("Hi [First Name], from [Company Name]. Best, [Your Name] [Date]");
        assert_eq!(template.evidence(), Kind::Placeholder.log_odds());
        let many =
            scan("[First Name], I hope this email finds you well. I hope this helps! [Your Name]");
        assert_eq!(many.evidence(), MAX_EVIDENCE);
    }

    #[test]
    fn handing_over_ones_own_draft_is_what_people_write() {
        // Both from human sources in the training data (Enron, Amazon reviews).
        for t in [
            "Here is a revised version of my draft GTC's for derivatives transactions. Any \
             comments or suggestions? I've promised these to Louise by Friday.",
            "Here is a summary of my impressions:1 It was written for about the 6th grade \
             level.2 There was virtually no grab for the first part of the book.",
            "Here's a revised version of our proposal:\nThe team will deliver the first \
             phase by March and the second by June.",
        ] {
            let s = scan(t);
            assert_eq!(s.probability(), 0.0, "{t}: {:?}", s.hits());
        }
        // A model's rewrite of somebody else's text stays decisive, as does a word
        // that only starts with "my".
        for t in [
            "Here is a revised version of the paragraph: we entered the data by hand.",
            "Here's a revised version of your question that should be easier to answer.",
            "Here is a revised version of myriad notes on the case.",
            "Sure! Here is a polished version of your review:\n\nThe room was spotless and \
             the staff went out of their way to help us.",
            "Here's my revised version of the original text:\n\nWhile it might not be \
             exactly hooky, I have been saving up days off.",
            "Here is my polished version of your email:\nThank you for reaching out about \
             your order, we are sorry for the delay.",
        ] {
            assert!(scan(t).probability() > 0.99, "{t}");
        }
    }

    #[test]
    fn a_preamble_needs_a_piece_of_writing_and_an_answer() {
        assert!(!chat_preamble(
            "Sure! Here is a polished version of your review:"
        ));
        assert!(!chat_preamble(
            "Sure, here is the invoice: number 4471 for the order placed on the 3rd of May"
        ));
        assert!(!chat_preamble(
            "The room was fine. Here is my review: clean, quiet, and the staff were kind to us."
        ));
        assert!(chat_preamble(
            "Here's a revised version:\nThank you for reaching out about your order, we are \
             sorry for the delay."
        ));
        // Any ASCII case, and a typographic apostrophe, as the head is read.
        assert!(chat_preamble(
            "HERE\u{2019}S a revised version:\nThank you for reaching out about your order, \
             we are sorry for the delay."
        ));
        assert!(!chat_preamble(
            "Here\u{2018}s a revised version:\nThank you for reaching out about your order, \
             we are sorry for the delay."
        ));
    }

    #[test]
    fn markdown_heading_and_bold() {
        let h = scan("## Summary\nThe customer called.");
        assert_eq!(h.hits()[0].0, MARKDOWN_HEADING);
        assert!(scan("### Pros\n- clean").evidence() > 0.0);
        assert!(scan("#1 hotel in town").hits().is_empty());
        assert!(scan("loved it #travel #hotel").hits().is_empty());
        let b = scan("The **staff** were great");
        assert_eq!(b.hits()[0].0, MARKDOWN_BOLD);
        assert_eq!((b.probability(), b.evidence()), (0.0, 0.0));
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
        let s = scan("As an AI language model ... as an AI language model. As a language model");
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
