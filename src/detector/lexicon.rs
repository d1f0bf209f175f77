//! LLM phrase lexicons, compiled into the binary. Each lexicon becomes one dense
//! feature (matches per word, log-scaled) rather than one weight per phrase: the
//! lists were curated on other corpora, and a per-list rate transfers across sources
//! better than per-phrase weights fitted to our four training files.
//!
//! Sources and licences (files under assets/lexicons/<name>/ with their LICENSE):
//! antislop_sampler (Apache-2.0), kobak_excess_vocab (MIT), pypi_defluff (MIT),
//! hc3_indicating_words (CC-BY-SA 4.0, attribution in its NOTICE file).

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, PatternID};

const ANTISLOP: &str =
    include_str!("../../assets/lexicons/antislop_sampler/slop_phrase_prob_adjustments.json");
const KOBAK: &str = include_str!("../../assets/lexicons/kobak_excess_vocab/excess_words.csv");
const HC3_CHATGPT: &str =
    include_str!("../../assets/lexicons/hc3_indicating_words/HC3_indicating_words_en_chatgpt.txt");
const HC3_HUMAN: &str =
    include_str!("../../assets/lexicons/hc3_indicating_words/HC3_indicating_words_en_human.txt");
const DEFLUFF: &str = include_str!("../../assets/lexicons/pypi_defluff/lexicon-v1.json");
const DEFLUFF_AI_PACK: &str = include_str!("../../assets/lexicons/pypi_defluff/ai-llm.txt");

pub const LEXICON_NAMES: [&str; 6] = [
    "antislop phrases",
    "kobak excess words",
    "hc3 chatgpt phrases",
    "hc3 human phrases",
    "defluff ai vocabulary",
    "defluff cliches/hedges",
];
pub const N_LEX: usize = LEXICON_NAMES.len();

pub struct Lexicons {
    dfa: DFA,
    /// The DFA's unanchored start state.
    start: StateID,
    patterns: Vec<(String, u8)>,
}

/// Texts shorter than this are scanned by one search: splitting them would save
/// less than setting up the second search costs.
const MIN_SPLIT: usize = 128;
/// How far past the split the first search looks for the state the second one was
/// in at the same byte.
const SYNC_WINDOW: usize = 16;

/// One leftmost-longest search over a text, as aho-corasick's `find_iter` runs it
/// (after each match, a new search from the match's end), advanced a byte per call
/// so that two searches over the two halves of a text can run interleaved: each
/// byte is a dependent load from a 2 MB table, and one search alone leaves the CPU
/// waiting on it.
#[derive(Clone, Copy)]
struct Search {
    /// The next byte to read.
    at: usize,
    sid: StateID,
    /// The longest match of the current search so far: its pattern and end.
    found: Option<(PatternID, usize)>,
    /// No match can follow what has been read.
    done: bool,
}

impl Search {
    fn new(start: StateID, at: usize, len: usize) -> Search {
        Search {
            at,
            sid: start,
            found: None,
            done: at >= len,
        }
    }

    /// Reads the next byte (the search must not be done); returns the match it
    /// completes, if any, as pattern and end. `MAY_END`: whether this byte may be
    /// the text's last.
    #[inline(always)]
    fn step<const MAY_END: bool>(
        &mut self,
        dfa: &DFA,
        start: StateID,
        hay: &[u8],
    ) -> Option<(PatternID, usize)> {
        self.sid = dfa.next_state(Anchored::No, self.sid, hay[self.at]);
        self.at += 1;
        let mut over = MAY_END && self.at == hay.len();
        if dfa.is_special(self.sid) {
            if dfa.is_dead(self.sid) {
                over = true;
            } else if dfa.is_match(self.sid) {
                self.found = Some((dfa.match_pattern(self.sid, 0), self.at));
            }
        }
        if !over {
            return None;
        }
        // The search ends with its longest match, and the next one starts after it;
        // without a match there is none further on either.
        let m = self.found.take();
        match m {
            Some((_, end)) => {
                self.at = end;
                self.sid = start;
                self.done = end == hay.len();
            }
            None => self.done = true,
        }
        m
    }

    /// Whether two searches at the same byte will find the same matches from here on.
    fn same_state(&self, other: &Search) -> bool {
        self.at == other.at && self.sid == other.sid && self.found == other.found
    }
}

/// Per-lexicon match counts of one text. No heap allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct LexScan {
    pub counts: [u32; N_LEX],
}

fn parse_lists() -> Vec<(String, u8)> {
    let mut out: Vec<(String, u8)> = Vec::new();
    let mut add = |p: &str, lex: usize| {
        let p = p.trim().to_ascii_lowercase();
        if p.len() >= 2 {
            out.push((p, 1u8 << lex));
        }
    };
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(ANTISLOP)
    {
        for it in items {
            if let Some(s) = it.get(0).and_then(|v| v.as_str()) {
                add(s, 0);
            }
        }
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(KOBAK.as_bytes());
    for rec in rdr.records().flatten() {
        // Only "style" words: the "content" ones are topics (diseases, methods) that
        // became frequent in 2024 abstracts for reasons unrelated to LLMs.
        if rec.get(2).is_some_and(|t| t.starts_with("style")) {
            add(rec.get(1).unwrap_or(""), 1);
        }
    }
    for line in HC3_CHATGPT.lines() {
        add(line, 2);
    }
    for line in HC3_HUMAN.lines() {
        add(line, 3);
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(DEFLUFF)
        && let Some(entries) = v.get("entries").and_then(|e| e.as_array())
    {
        for e in entries {
            let (Some(p), Some(cat)) = (
                e.get("pattern").and_then(|x| x.as_str()),
                e.get("category").and_then(|x| x.as_str()),
            ) else {
                continue;
            };
            add(p, if cat == "ai-vocab" { 4 } else { 5 });
        }
    }
    for line in DEFLUFF_AI_PACK.lines() {
        if !line.trim_start().starts_with('#') {
            add(line, 4);
        }
    }
    // One automaton over all lists: identical phrases share a pattern with a lexicon
    // bitmask, so a text is scanned once however many lists contain a phrase.
    out.sort();
    let mut merged: Vec<(String, u8)> = Vec::with_capacity(out.len());
    for (p, m) in out {
        match merged.last_mut() {
            Some(last) if last.0 == p => last.1 |= m,
            _ => merged.push((p, m)),
        }
    }
    merged
}

#[inline]
fn is_alnum_byte_boundary(s: &str, byte_idx: usize, before: bool) -> bool {
    let c = if before {
        s[..byte_idx].chars().next_back()
    } else {
        s[byte_idx..].chars().next()
    };
    !c.is_some_and(|c| c.is_alphanumeric())
}

impl Lexicons {
    pub fn new() -> Self {
        let patterns = parse_lists();
        // Patterns are lowercase and matched against ASCII-lowercased text: the same
        // matches as an ASCII-case-insensitive automaton on the original, but the DFA
        // has half the byte classes, so it is half the size (~2 MB instead of ~4) and
        // builds and scans faster.
        // A full DFA, so the scan never walks NFA failure links (2-3x faster on the
        // scoring path than aho-corasick's default). No prefilter: with thousands of
        // patterns, common words among them, none would skip anything.
        let dfa = aho_corasick::dfa::Builder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .prefilter(false)
            .build(patterns.iter().map(|p| p.0.as_str()))
            .expect("lexicon patterns compile");
        let start = dfa
            .start_state(Anchored::No)
            .expect("the DFA supports unanchored searches");
        Lexicons {
            dfa,
            start,
            patterns,
        }
    }

    /// Calls `f((pattern, end))` for each match, in text order: what aho-corasick's
    /// `find_iter` finds, one search at a time.
    fn for_each_match(&self, hay: &[u8], mut f: impl FnMut((PatternID, usize))) {
        let mut s = Search::new(self.start, 0, hay.len());
        while !s.done {
            if let Some(m) = s.step::<true>(&self.dfa, self.start, hay) {
                f(m);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    pub fn phrase(&self, id: u32) -> &str {
        &self.patterns[id as usize].0
    }

    /// Count whole-word matches (a phrase starting or ending with a letter must not
    /// touch another letter: "realm" must not fire inside "realms" unless listed).
    pub fn scan(&self, norm: &str) -> LexScan {
        self.scan_lowered(&norm.to_ascii_lowercase())
    }

    /// [`Lexicons::scan`] given the normalised text already ASCII-lowercased.
    pub fn scan_lowered(&self, norm: &str) -> LexScan {
        let hay = norm.as_bytes();
        let count = |s: &mut LexScan, (pid, end): (PatternID, usize)| {
            if let Some(mask) = self.whole_word(norm, pid, end) {
                for lex in 0..N_LEX {
                    s.counts[lex] += u32::from(mask & (1 << lex) != 0);
                }
            }
        };
        // The second half starts after a space, so it does not start inside a word.
        let split = (hay.len() >= MIN_SPLIT)
            .then(|| (hay.len() / 2..hay.len()).find(|&i| hay[i - 1] == b' '))
            .flatten();
        let Some(p) = split else {
            let mut s = LexScan::default();
            self.for_each_match(hay, |m| count(&mut s, m));
            return s;
        };
        let (dfa, start) = (&self.dfa, self.start);
        // `a` searches from the start of the text, `b` from the split. Where `a`
        // reaches a byte in the state `b` had there, both find the same matches from
        // then on: `a`'s counts up to there plus `b`'s after it are the whole text's.
        let (mut a, mut b) = (
            Search::new(start, 0, hay.len()),
            Search::new(start, p, hay.len()),
        );
        let (mut ca, mut cb) = (LexScan::default(), LexScan::default());
        // `b`'s state and counts at each byte of the window after the split, at its
        // last visit there.
        let mut seen: [Option<(Search, LexScan)>; SYNC_WINDOW] = [None; SYNC_WINDOW];
        seen[0] = Some((b, cb));
        // `a` cannot reach the end of the text before the split.
        while !a.done && a.at != p {
            if let Some(m) = a.step::<false>(dfa, start, hay) {
                count(&mut ca, m);
            }
            if !b.done {
                if let Some(m) = b.step::<true>(dfa, start, hay) {
                    count(&mut cb, m);
                }
                if let Some(slot) = seen.get_mut(b.at - p) {
                    *slot = Some((b, cb));
                }
            }
        }
        // `b`'s step is written out here and above: as one closure, scoring ran 6%
        // slower (the searches' state no longer stayed in registers).
        while !b.done {
            if let Some(m) = b.step::<true>(dfa, start, hay) {
                count(&mut cb, m);
            }
            if let Some(slot) = seen.get_mut(b.at - p) {
                *slot = Some((b, cb));
            }
        }
        while !a.done {
            if let Some(Some((sb, at_sync))) = a.at.checked_sub(p).and_then(|k| seen.get(k))
                && a.same_state(sb)
            {
                for lex in 0..N_LEX {
                    ca.counts[lex] += cb.counts[lex] - at_sync.counts[lex];
                }
                return ca;
            }
            if let Some(m) = a.step::<true>(dfa, start, hay) {
                count(&mut ca, m);
            }
        }
        // No common state near the split (or `a` was already past it): `a` alone
        // has read the whole text.
        ca
    }

    /// The lexicon mask of the phrase matched up to `end`, or `None` when the phrase
    /// starts or ends with a letter or digit that touches another one in the text.
    #[inline]
    fn whole_word(&self, norm: &str, pid: PatternID, end: usize) -> Option<u8> {
        let (p, mask) = &self.patterns[pid.as_usize()];
        let pb = p.as_bytes();
        let start = end - pb.len();
        let left_ok = !pb[0].is_ascii_alphanumeric() || is_alnum_byte_boundary(norm, start, true);
        let right_ok =
            !pb[pb.len() - 1].is_ascii_alphanumeric() || is_alnum_byte_boundary(norm, end, false);
        (left_ok && right_ok).then_some(*mask)
    }

    /// For explanations: the distinct phrases of each lexicon found in an
    /// ASCII-lowercased text, the most specific (longest) first, then in text order.
    /// Every match counts the same towards a lexicon's rate, but "testament to" tells
    /// an admin far more than "this", which is also on Kobak's list.
    pub fn matched_phrases(&self, lowered: &str) -> [Vec<u32>; N_LEX] {
        let mut out: [Vec<u32>; N_LEX] = Default::default();
        self.for_each_match(lowered.as_bytes(), |(pid, end)| {
            let Some(mask) = self.whole_word(lowered, pid, end) else {
                return;
            };
            let id = pid.as_u32();
            for (lex, list) in out.iter_mut().enumerate() {
                if mask & (1 << lex) != 0 && !list.contains(&id) {
                    list.push(id);
                }
            }
        });
        for list in &mut out {
            // Stable: equally long phrases keep their text order.
            list.sort_by_key(|id| std::cmp::Reverse(self.phrase(*id).len()));
        }
        out
    }

    /// Dense lexicon features: log(1 + matches per 100 words).
    pub fn features(scan: &LexScan, words: usize, out: &mut [f32]) {
        let w = words.max(1) as f32;
        for (o, c) in out.iter_mut().zip(scan.counts.iter()) {
            *o = (100.0 * *c as f32 / w).ln_1p();
        }
    }
}

impl Default for Lexicons {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_loaded() {
        let l = Lexicons::new();
        assert!(l.len() > 1000, "{}", l.len());
    }

    #[test]
    fn matches_whole_words_case_insensitively() {
        let l = Lexicons::new();
        let s = l.scan("We Delve into a rich tapestry. It is a testament to care.");
        assert!(s.counts[0] >= 2, "{:?}", s.counts); // antislop: delve, tapestry, testament to
        assert!(s.counts[1] >= 1); // kobak: delve
        assert!(s.counts[4] >= 1); // defluff ai vocabulary
        let none = l.scan("Delver tapestryx");
        assert_eq!(none.counts[0], 0);
        let kobak =
            &l.matched_phrases("we delve into a rich tapestry. it is a testament to care.")[1];
        assert_eq!(l.phrase(kobak[0]), "delve");
    }

    #[test]
    fn hc3_lists_split_chatgpt_and_human() {
        let l = Lexicons::new();
        let s = l.scan("There are several ways to fix it. Let me know if you have any questions.");
        assert!(s.counts[2] >= 2);
        let h = l.scan("My two cents: rule of thumb :)");
        assert!(h.counts[3] >= 2);
    }

    #[test]
    fn matched_phrases_are_distinct_and_most_specific_first() {
        let l = Lexicons::new();
        // No "a " before "testament to": defluff's longer "a testament to" would take
        // the match (leftmost-longest over all lists), as it does in the counts.
        let text = "this delve is testament to this delve";
        let found = l.matched_phrases(text);
        let antislop: Vec<&str> = found[0].iter().map(|id| l.phrase(*id)).collect();
        assert_eq!(antislop.first(), Some(&"testament to"), "{antislop:?}");
        assert_eq!(
            antislop.iter().filter(|p| **p == "delve").count(),
            1,
            "{antislop:?}"
        );
        let kobak: Vec<&str> = found[1].iter().map(|id| l.phrase(*id)).collect();
        let (delve, this) = (
            kobak.iter().position(|p| *p == "delve"),
            kobak.iter().position(|p| *p == "this"),
        );
        assert!(delve.is_some() && this.is_some(), "{kobak:?}");
        assert!(delve < this, "{kobak:?}");
        // The same whole-word rule as the counts.
        assert!(l.matched_phrases("delver").iter().all(Vec::is_empty));
    }

    #[test]
    fn the_split_scan_counts_what_aho_corasick_finds() {
        let l = Lexicons::new();
        let reference = aho_corasick::AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(l.patterns.iter().map(|p| p.0.as_str()))
            .unwrap();
        let counts = |t: &str| {
            let mut s = LexScan::default();
            for m in reference.find_iter(t) {
                if let Some(mask) = l.whole_word(t, m.pattern(), m.end()) {
                    for lex in 0..N_LEX {
                        s.counts[lex] += u32::from(mask & (1 << lex) != 0);
                    }
                }
            }
            s.counts
        };
        // Phrases (so matches straddle the split), their pieces, near misses, and
        // words of no list; texts long enough to be split and too short to be.
        let mut words: Vec<&str> = l
            .patterns
            .iter()
            .step_by(97)
            .map(|p| p.0.as_str())
            .collect();
        words.extend([
            "testament",
            "to",
            "a",
            "delve",
            "delver",
            "into",
            "the",
            "hotel",
            "was",
            ",",
            ".",
            "clean",
            "room",
            "it",
            "is",
            "worth",
            "noting",
            "that",
            "realms",
            "x",
        ]);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut text = String::new();
        for _ in 0..3_000 {
            text.clear();
            let target = next(700);
            while text.len() < target {
                text.push_str(words[next(words.len())]);
                // Mostly spaces, sometimes none, so phrases run into each other.
                text.push_str(["", " ", " ", " ", "  "][next(5)]);
            }
            assert_eq!(l.scan_lowered(&text).counts, counts(&text), "{text:?}");
        }
    }

    #[test]
    fn features_are_rates() {
        let l = Lexicons::new();
        let s = l.scan("delve");
        let mut f = [0f32; N_LEX];
        Lexicons::features(&s, 1, &mut f);
        let mut g = [0f32; N_LEX];
        Lexicons::features(&s, 100, &mut g);
        assert!(f[1] > g[1] && g[1] > 0.0);
    }
}
