//! LLM phrase lexicons, compiled into the binary. Each lexicon becomes one dense
//! feature (matches per word, log-scaled) rather than one weight per phrase: the
//! lists were curated on other corpora, and a per-list rate transfers across sources
//! better than per-phrase weights fitted to our four training files.
//!
//! Phrases are matched as sequences of tokens, the words and punctuation marks the
//! style pass finds ([`super::style::style_pass`]): it hashes every word anyway,
//! so a phrase costs a table lookup per token instead of a DFA step per byte. A
//! match is whole words by construction ("realm" never fires inside "realms"), case
//! is ignored, and spaces do not count ("well-being" and "well - being" are the same
//! three tokens). Among overlapping phrases the leftmost wins, then the longest.
//!
//! Sources and licences (files under assets/lexicons/<name>/ with their LICENSE):
//! antislop_sampler (Apache-2.0), kobak_excess_vocab (MIT), pypi_defluff (MIT),
//! hc3_indicating_words (CC-BY-SA 4.0, attribution in its NOTICE file).

use super::normalize::normalize_into;
use super::style::{N_STYLE, style_pass};
use super::tokens::Tokens;
use super::words::StyleTables;

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
    trie: Trie,
    patterns: Vec<(String, u8)>,
    /// For reading phrases and texts outside scoring.
    tables: StyleTables,
}

/// Per-lexicon match counts of one text. No heap allocation.
#[derive(Clone, Copy, Debug, Default)]
pub struct LexScan {
    pub counts: [u32; N_LEX],
}

/// Longest phrase, in tokens, that the matcher follows.
const MAX_TOKENS: usize = 16;

/// The phrases as a trie over token hashes, stored as one open-addressing table of
/// (parent node, token) -> child: a lookup is a load and a compare or two, and the
/// root's entries (every phrase's first token) are the ones nearly every lookup
/// touches.
struct Trie {
    /// Bit `h % 2^16` set for every token `h` that starts a phrase: 8 KB, so the
    /// test most tokens end at stays in the L1 cache, where the table does not.
    first: Box<[u64; FIRST_BITS / 64]>,
    /// (token, parent node + 1, child node); a zero parent marks an empty slot.
    slots: Vec<(u64, u32, u32)>,
    mask: usize,
    /// Per node: the lexicon mask of the phrase ending there (0: none) and its id.
    ends: Vec<(u8, u32)>,
}

const FIRST_BITS: usize = 1 << 16;

impl Trie {
    #[inline(always)]
    fn may_start(&self, token: u64) -> bool {
        let b = token as usize & (FIRST_BITS - 1);
        self.first[b / 64] & (1 << (b % 64)) != 0
    }

    #[inline(always)]
    fn slot(&self, node: u32, token: u64) -> usize {
        // Tokens are finalised hashes: their top bits are already well mixed.
        ((token ^ u64::from(node).wrapping_mul(0x9e37_79b9_7f4a_7c15)) >> 40) as usize & self.mask
    }

    #[inline(always)]
    fn child(&self, node: u32, token: u64) -> Option<u32> {
        let mut i = self.slot(node, token);
        loop {
            let (t, parent, child) = self.slots[i];
            if parent == 0 {
                return None;
            }
            if t == token && parent == node + 1 {
                return Some(child);
            }
            i = (i + 1) & self.mask;
        }
    }

    fn build(phrases: &[Vec<u64>], masks: &[u8]) -> Trie {
        let edges: usize = phrases.iter().map(Vec::len).sum();
        let cap = (edges * 2).next_power_of_two().max(64);
        let mut t = Trie {
            first: Box::new([0; FIRST_BITS / 64]),
            slots: vec![(0, 0, 0); cap],
            mask: cap - 1,
            ends: vec![(0, 0)],
        };
        for (id, (tokens, &mask)) in phrases.iter().zip(masks).enumerate() {
            let b = tokens[0] as usize & (FIRST_BITS - 1);
            t.first[b / 64] |= 1 << (b % 64);
            let mut node = 0u32;
            for &tok in tokens {
                node = match t.child(node, tok) {
                    Some(c) => c,
                    None => {
                        let c = t.ends.len() as u32;
                        t.ends.push((0, 0));
                        let mut i = t.slot(node, tok);
                        while t.slots[i].1 != 0 {
                            i = (i + 1) & t.mask;
                        }
                        t.slots[i] = (tok, node + 1, c);
                        c
                    }
                };
            }
            let end = &mut t.ends[node as usize];
            // Phrases that differ only in spacing share a node: the first keeps its
            // id, the lists add up.
            if end.0 == 0 {
                end.1 = id as u32;
            }
            end.0 |= mask;
        }
        t
    }
}

/// Reads a normalised text's tokens into `tokens`, as scoring's style pass finds
/// them: how phrases are tokenised, and texts outside scoring.
fn read_tokens(tables: &StyleTables, norm: &str, tokens: &mut impl Tokens) {
    // The lean pass: its tokens are the full pass's, and `raw` goes unread.
    style_pass::<false, _>(norm, norm, tables, &mut [0f32; N_STYLE], tokens);
}

/// Phrase matching over one text's tokens, fed by the style pass: leftmost, then
/// longest. An attempt starts at a token that begins a phrase and follows the trie
/// while it can; when it cannot, its longest phrase counts and the tokens after that
/// phrase are read again (without one, all but the attempt's first).
pub struct LexRun<'l> {
    lex: &'l Lexicons,
    /// The current attempt's tokens.
    pending: [u64; MAX_TOKENS],
    len: usize,
    node: u32,
    /// Tokens in the attempt's longest phrase so far (0: none) and its trie node.
    best: usize,
    best_node: u32,
    counts: LexScan,
    /// For explanations: the phrases found, in text order, as id and the lexicons
    /// they counted for (those of every phrase read the same way, as in the counts).
    found: Option<Vec<(u32, u8)>>,
}

impl Tokens for LexRun<'_> {
    #[inline(always)]
    fn token(&mut self, h: u64) {
        if self.len == 1 && self.best == 0 {
            // A quarter of all tokens start an attempt ("the", "a", "it"), and
            // nearly every such attempt ends at the next token with no phrase:
            // then nothing counts and nothing is read again (see `resolve`).
            if let Some(c) = self.lex.trie.child(self.node, h) {
                self.push(h, c);
                return;
            }
            self.len = 0;
        }
        if self.len == 0 {
            // Nearly every token: no phrase starts with it.
            if self.lex.trie.may_start(h)
                && let Some(c) = self.lex.trie.child(0, h)
            {
                self.start(h, c);
            }
            return;
        }
        self.extend(h);
    }
}

impl LexRun<'_> {
    fn start(&mut self, h: u64, node: u32) {
        self.pending[0] = h;
        self.len = 1;
        self.node = node;
        self.best = 0;
        self.mark_end();
    }

    #[inline(never)]
    fn extend(&mut self, h: u64) {
        if self.len < MAX_TOKENS
            && let Some(c) = self.lex.trie.child(self.node, h)
        {
            self.push(h, c);
            return;
        }
        self.resolve();
        self.token(h);
    }

    /// Follows the trie edge of token `h` to `node`.
    #[inline(always)]
    fn push(&mut self, h: u64, node: u32) {
        self.pending[self.len] = h;
        self.len += 1;
        self.node = node;
        self.mark_end();
    }

    fn mark_end(&mut self) {
        if self.lex.trie.ends[self.node as usize].0 != 0 {
            self.best = self.len;
            self.best_node = self.node;
        }
    }

    /// Ends the current attempt: counts its longest phrase and reads again the
    /// tokens after it.
    fn resolve(&mut self) {
        let (from, to) = (self.best.max(1), self.len);
        if self.best > 0 {
            let (mask, id) = self.lex.trie.ends[self.best_node as usize];
            for lex in 0..N_LEX {
                self.counts.counts[lex] += u32::from(mask & (1 << lex) != 0);
            }
            if let Some(found) = &mut self.found {
                found.push((id, mask));
            }
        }
        self.len = 0;
        // Usually nothing: the attempt was one token long, or one phrase.
        if from < to {
            let pending = self.pending;
            for &h in &pending[from..to] {
                self.token(h);
            }
        }
    }

    /// The counts of the whole text, once its last token is in.
    pub fn finish(mut self) -> LexScan {
        self.flush();
        self.counts
    }

    fn flush(&mut self) {
        while self.len > 0 {
            self.resolve();
        }
    }
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

impl Lexicons {
    pub fn new() -> Self {
        let patterns = parse_lists();
        let tables = StyleTables::new();
        let (mut tokens, mut norm) = (Vec::new(), String::new());
        let phrases: Vec<Vec<u64>> = patterns
            .iter()
            .map(|(p, _)| {
                // The phrase read exactly as a text would be.
                tokens.clear();
                normalize_into(p, &mut norm);
                read_tokens(&tables, &norm, &mut tokens);
                assert!(
                    (1..=MAX_TOKENS).contains(&tokens.len()),
                    "lexicon phrase {p:?} has {} tokens",
                    tokens.len()
                );
                tokens.clone()
            })
            .collect();
        let masks: Vec<u8> = patterns.iter().map(|p| p.1).collect();
        Lexicons {
            trie: Trie::build(&phrases, &masks),
            patterns,
            tables,
        }
    }

    /// A matcher for one text, to be fed by its style pass.
    pub fn run(&self) -> LexRun<'_> {
        LexRun {
            lex: self,
            pending: [0; MAX_TOKENS],
            len: 0,
            node: 0,
            best: 0,
            best_node: 0,
            counts: LexScan::default(),
            found: None,
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

    /// Counts the phrases of each lexicon in a normalised text, by a style pass of
    /// its own (scoring gets them from the style pass it runs anyway).
    pub fn scan(&self, norm: &str) -> LexScan {
        let mut run = self.run();
        read_tokens(&self.tables, norm, &mut run);
        run.finish()
    }

    /// For explanations: the distinct phrases of each lexicon found in a normalised
    /// text, the most specific (longest) first, then in text order. Every match
    /// counts the same towards a lexicon's rate, but "testament to" tells an admin
    /// far more than "this", which is also on Kobak's list.
    pub fn matched_phrases(&self, norm: &str) -> [Vec<u32>; N_LEX] {
        let mut run = self.run();
        run.found = Some(Vec::new());
        read_tokens(&self.tables, norm, &mut run);
        run.flush();
        let mut out: [Vec<u32>; N_LEX] = Default::default();
        for (id, mask) in run.found.take().unwrap_or_default() {
            for (lex, list) in out.iter_mut().enumerate() {
                if mask & (1 << lex) != 0 && !list.contains(&id) {
                    list.push(id);
                }
            }
        }
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
            // ln_1p(0) is 0: most texts match no phrase of most lexicons.
            *o = if *c == 0 {
                0.0
            } else {
                (100.0 * *c as f32 / w).ln_1p()
            };
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

    /// The tokens of a text as the style pass reports them.
    fn tokens_of(l: &Lexicons, text: &str) -> Vec<u64> {
        let mut norm = String::new();
        normalize_into(text, &mut norm);
        let mut tokens = Vec::new();
        read_tokens(&l.tables, &norm, &mut tokens);
        tokens
    }

    /// Each phrase's tokens, with the lexicons it is in.
    fn phrase_masks(l: &Lexicons) -> std::collections::HashMap<Vec<u64>, u8> {
        l.patterns
            .iter()
            .map(|(p, mask)| (tokens_of(l, p), *mask))
            .fold(Default::default(), |mut m, (t, mask)| {
                *m.entry(t).or_default() |= mask;
                m
            })
    }

    /// The plain definition: at each token, the longest phrase that starts there
    /// counts and the search goes on after it; without one, at the next token.
    fn leftmost_longest(
        l: &Lexicons,
        phrases: &std::collections::HashMap<Vec<u64>, u8>,
        t: &str,
    ) -> [u32; N_LEX] {
        let toks = tokens_of(l, t);
        let mut counts = [0u32; N_LEX];
        let mut i = 0;
        while i < toks.len() {
            let longest = (1..=MAX_TOKENS.min(toks.len() - i))
                .rev()
                .find_map(|n| phrases.get(&toks[i..i + n]).map(|m| (n, *m)));
            match longest {
                Some((n, mask)) => {
                    for (lex, c) in counts.iter_mut().enumerate() {
                        *c += u32::from(mask & (1 << lex) != 0);
                    }
                    i += n;
                }
                None => i += 1,
            }
        }
        counts
    }

    /// Pieces of phrases, near misses, marks and words of no list, for texts
    /// that run phrases into each other.
    const OTHER_WORDS: &[&str] = &[
        "testament",
        "to",
        "a",
        "A",
        "delve",
        "Delver",
        "into",
        "the",
        "hotel",
        "was",
        ",",
        ".",
        "!",
        "clean",
        "room",
        "it",
        "is",
        "worth",
        "noting",
        "that",
        "realms",
        "x",
        "in",
        "conclusion",
        "rich",
        "tapestry",
        "I",
        "hope",
        "this",
        "helps",
        "let",
        "me",
        "know",
        "if",
        "you",
        "have",
        "any",
        "questions",
        "酒店",
        "don't",
        "well-being",
    ];

    #[test]
    fn the_matcher_counts_what_a_leftmost_longest_search_over_tokens_finds() {
        let l = Lexicons::new();
        let phrases = phrase_masks(&l);
        // Phrases (overlapping and running into each other), their pieces, near
        // misses, marks and words of no list.
        let mut words: Vec<&str> = l
            .patterns
            .iter()
            .step_by(37)
            .map(|p| p.0.as_str())
            .collect();
        words.extend(OTHER_WORDS);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut text = String::new();
        let mut matched = 0;
        for _ in 0..3_000 {
            text.clear();
            let target = next(400);
            while text.len() < target {
                text.push_str(words[next(words.len())]);
                text.push_str(["", " ", " ", " ", "  "][next(5)]);
            }
            let want = leftmost_longest(&l, &phrases, &text);
            matched += want.iter().sum::<u32>();
            let mut norm = String::new();
            normalize_into(&text, &mut norm);
            assert_eq!(l.scan(&norm).counts, want, "{text:?}");
        }
        assert!(matched > 10_000, "{matched}");
    }

    #[test]
    fn matches_are_whole_tokens_and_ignore_spacing() {
        let l = Lexicons::new();
        let kobak = |t: &str| l.scan(t).counts[1];
        assert_eq!(kobak("delve"), 1);
        assert_eq!(kobak("delver undelve delvex"), 0);
        // A mark is a token of its own, so "delve," is the word and a comma.
        assert_eq!(kobak("delve, delve."), 2);
        // Phrases are lowercase token sequences: case and the spaces between
        // tokens do not matter.
        let antislop = |t: &str| l.scan(t).counts[0];
        assert_eq!(antislop("it is Testament  To care"), 1);
        assert_eq!(antislop("it is testament to care"), 1);
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
