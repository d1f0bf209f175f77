//! Regression harness for detector speedups: scores a fixed corpus and either
//! stores the result or checks the current code against a stored one. A pure
//! speedup must leave every score bit-identical, every `judged` flag and every
//! signal list unchanged.
//!
//! ```text
//! cargo run --release --example detector_regress -- dump  /tmp/scores.tsv TRAIN.csv...
//! cargo run --release --example detector_regress -- check /tmp/scores.tsv TRAIN.csv...
//! ```
//! The corpus is the CSVs' `text` column, the same texts cut into 100–300
//! character pieces, every string in `fixtures/samples/*`, and generated texts
//! mixing scripts, whitespace and punctuation the feature code special-cases.

// A developer's tool: it prints to the terminal it was run from, with
// none of the files or names crmguard escapes (src/terminal.rs).
#![allow(clippy::disallowed_macros)]

#[path = "shared/detector_corpus.rs"]
mod corpus;

use crmguard::detector::Detector;
use std::fmt::Write as _;
use std::io::Write as _;

fn fixture_strings() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/samples");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures/samples")
        .map(|e| e.expect("dir entry").path())
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        // Some fixtures are deliberately malformed (bad UTF-8, broken JSON lines):
        // what is left of them is still text to score.
        let body = String::from_utf8_lossy(&std::fs::read(&p).expect("read fixture")).into_owned();
        match p.extension().and_then(|e| e.to_str()) {
            Some("csv") => {
                let mut rdr = csv::ReaderBuilder::new()
                    .flexible(true)
                    .has_headers(false)
                    .from_reader(body.as_bytes());
                for rec in rdr.records().flatten() {
                    out.extend(rec.iter().map(str::to_string));
                }
            }
            Some("json") => match serde_json::from_str(&body) {
                Ok(v) => walk(&v, &mut out),
                Err(_) => out.push(body),
            },
            Some("ndjson") => {
                for line in body.lines().filter(|l| !l.trim().is_empty()) {
                    match serde_json::from_str(line) {
                        Ok(v) => walk(&v, &mut out),
                        Err(_) => out.push(line.to_string()),
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Pieces the feature code treats specially (case, scripts, digits, sentence
/// ends, apostrophes, whitespace kinds, Markdown, artefact and lexicon
/// phrases), which [`generated`] texts are built from.
const PIECES: &[&str] = &[
    "the",
    "The",
    "THE",
    "i",
    "I",
    "I'm",
    "don't",
    "we're",
    "l'hôtel",
    "Ankara'da",
    "you",
    "staff",
    "room",
    "sooo",
    "Hotel",
    "Paris",
    "delve",
    "tapestry",
    "testament to",
    "as an AI language model",
    "Certainly! Here",
    "[Your Name]",
    "I hope this helps!",
    "酒店",
    "很好",
    "我们",
    "ホテル",
    "호텔",
    "좋아요",
    "Привет",
    "мы",
    "ЗДАНИЕ",
    "İstanbul",
    "ΣΟΦΟΣ",
    "straße",
    "Ǆemal",
    "ǅ",
    "café",
    "naïve",
    "١٢٣",
    "42",
    "3.5",
    "1935–36",
    "12:30",
    ".",
    "..",
    "...",
    "…",
    "!",
    "!!",
    "?",
    "?!",
    "。",
    "！",
    "？",
    ",",
    "、",
    "，",
    ";",
    ":",
    "；",
    "\"",
    "“",
    "”",
    "«",
    "»",
    "„",
    "(",
    ")",
    "（",
    "）",
    "—",
    " – ",
    "–",
    "'",
    "’",
    "‘",
    "ʼ",
    "-",
    "*",
    "**",
    "#",
    "## ",
    "### Heading",
    "**bold**",
    "😀",
    "👍🏽",
    "\u{200b}",
    "\u{feff}",
    "\u{00a0}",
    "\u{2028}",
    "\u{0007}",
    "\t",
    "\n",
    "\r\n",
    "\n\n",
    " ",
    "  ",
    "x",
    "Ab",
    "aB",
    "e\u{0301}",
    "𠀀",
    "ﬁ",
    "Ⅻ",
    "½",
    "²",
];

/// Texts built from [`PIECES`] at random (a fixed seed), so that rare
/// branches are compared too.
fn generated() -> Vec<String> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    (0..20_000)
        .map(|_| {
            let n = 1 + next(80);
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(PIECES[next(PIECES.len())]);
                if next(3) != 0 {
                    s.push(' ');
                }
            }
            s
        })
        .collect()
}

fn line(d: &Detector, t: &str) -> String {
    let a = d.assess(t, false);
    let full = d.assess(t, true);
    let any = d.score_any_length(t);
    let mut s = format!(
        "{:08x}\t{}\t{:08x}\t{:08x}\t{}\t",
        a.score.to_bits(),
        a.judged,
        any.to_bits(),
        full.score.to_bits(),
        full.judged
    );
    for g in &full.signals {
        let _ = write!(s, "{}|{}|{:08x};", g.family, g.detail, g.weight.to_bits());
    }
    s
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: detector_regress dump|check SCORES.tsv TRAIN.csv...");
        std::process::exit(2);
    };
    let long = corpus::csv_texts(&args[2..]);
    let pieces = corpus::crm_pieces(&long);
    let texts: Vec<String> = long
        .into_iter()
        .chain(pieces)
        .chain(fixture_strings())
        .chain(generated())
        .collect();
    let d = Detector::embedded();
    let lines: Vec<String> = texts.iter().map(|t| line(d, t)).collect();
    match mode.as_str() {
        "dump" => {
            let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
            for l in &lines {
                writeln!(f, "{l}").expect("write");
            }
            f.flush().expect("flush");
            println!("{} texts scored into {path}", lines.len());
        }
        "check" => {
            let stored = std::fs::read_to_string(path).expect("read stored scores");
            let stored: Vec<&str> = stored.lines().collect();
            assert_eq!(stored.len(), lines.len(), "corpus size differs");
            let mut bad = 0;
            for (i, (old, new)) in stored.iter().zip(&lines).enumerate() {
                if *old != new.as_str() {
                    bad += 1;
                    if bad <= 10 {
                        eprintln!("text {i}: {:?}\n  old {old}\n  new {new}", texts[i]);
                    }
                }
            }
            println!("{} texts, {bad} differ", lines.len());
            if bad > 0 {
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("mode must be dump or check");
            std::process::exit(2);
        }
    }
}
