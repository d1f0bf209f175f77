//! Detector throughput, single-threaded, best of 3: MB of text scored per
//! second on (a) the given texts whole and (b) the same texts cut into
//! 100–300 character pieces, the size of a CRM description. Not a test:
//! timings depend on the machine.
//!
//! ```text
//! cargo run --release --example detector_bench -- DATA/train/*.csv   # data/detect/build.py
//! ```
//! `--only long|crm` runs one of the two and `--reps N` changes the 3 (e.g. for
//! callgrind, where one repetition is enough); `--model FILE` times a model
//! from `crmguard train` instead of the built-in one; `--parts` also
//! times each stage of scoring alone on the CRM-sized texts; `--by-script`
//! times the CRM-sized texts of each script (their dominant one) apart.

// A developer's tool: it prints to the terminal it was run from, with
// none of the files or names crmguard escapes (src/terminal.rs).
#![allow(clippy::disallowed_macros)]

#[path = "shared/detector_corpus.rs"]
mod corpus;

use crmguard::detector::Detector;
use std::hint::black_box;
use std::time::Instant;

fn bench(label: &str, d: &Detector, texts: &[String], reps: usize) {
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t0 = Instant::now();
        let mut acc = 0f32;
        for t in texts {
            // What `crmguard scan` calls for every text field.
            acc += d.assess(black_box(t), false).score;
        }
        black_box(acc);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!(
        "{label:<5} {:>7} texts {:>6.1} MB  best {:.3} s  {:>6.1} MB/s  {:>7.2} µs/text",
        texts.len(),
        bytes as f64 / 1e6,
        best,
        bytes as f64 / 1e6 / best,
        best * 1e6 / texts.len() as f64
    );
}

/// Best-of-3 MB/s of `f` over `texts`.
fn time_part(label: &str, texts: &[String], mut f: impl FnMut(&str) -> f32) {
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut acc = 0f32;
        for t in texts {
            acc += f(black_box(t));
        }
        black_box(acc);
        best = best.min(t0.elapsed().as_secs_f64());
    }
    println!("  {label:<22} {:>8.1} MB/s", bytes as f64 / 1e6 / best);
}

fn parts(d: &Detector, texts: &[String]) {
    use crmguard::detector::artefacts::Artefacts;
    use crmguard::detector::{
        ngrams::for_each_ngram,
        normalize::normalize_into,
        normalize::word_count,
        style::{N_STYLE, style_features},
        words::StyleTables,
    };
    let norms: Vec<String> = texts
        .iter()
        .map(|t| {
            let mut n = String::new();
            normalize_into(t, &mut n);
            n
        })
        .collect();
    let mut buf = String::new();
    time_part("normalize_into", texts, |t| {
        normalize_into(t, &mut buf);
        buf.len() as f32
    });
    // The artefact automaton reads the normalised text ASCII-lowercased.
    let lowers: Vec<String> = norms.iter().map(|n| n.to_ascii_lowercase()).collect();
    let (art, tables) = (Artefacts::new(), StyleTables::new());
    let cfg = d.model().cfg.hash;
    let mut i = 0;
    let mut at = || {
        i = (i + 1) % norms.len();
        i
    };
    let mut next = || &norms[at()];
    time_part("word_count", texts, |_| word_count(next()) as f32);
    time_part("n-grams (hash only)", texts, |_| {
        let mut x = 0u64;
        for_each_ngram(next(), &cfg, |_, h| x ^= h);
        x as f32
    });
    // What scoring runs: signed lookups summed per n-gram length.
    time_part("n-grams + weights", texts, |_| {
        let (c, w, _) = d.ngram_sums(next());
        c + w
    });
    // Sized by the crate's own count: a literal went stale when features were
    // added, and the style pass then panicked on a slice too short.
    let mut out = [0f32; N_STYLE];
    // What scoring runs: the style pass without the features the model ignores,
    // with the lexicon phrases matched on its words.
    time_part("style + lexicons", texts, |t| {
        d.style_features(t, next(), &mut out) as u8 as f32
    });
    // The full pass (every style feature), matching nothing.
    time_part("style (all) alone", texts, |t| {
        style_features(t, next(), &tables, &mut out) as u8 as f32
    });
    let mut k = 0;
    let mut lower = || {
        k = (k + 1) % lowers.len();
        &lowers[k]
    };
    time_part("artefact scan", texts, |t| {
        art.scan_lowered(t, lower()).probability()
    });
    time_part("script_of", texts, |_| {
        crmguard::detector::script_of(next()) as f32
    });
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut only = None;
    let mut reps = 3;
    if let Some(i) = args.iter().position(|a| a == "--reps") {
        reps = args.get(i + 1).and_then(|r| r.parse().ok()).unwrap_or(3);
        args.drain(i..(i + 2).min(args.len()));
    }
    let want_parts = args.iter().any(|a| a == "--parts");
    let by_script = args.iter().any(|a| a == "--by-script");
    args.retain(|a| a != "--parts" && a != "--by-script");
    if let Some(i) = args.iter().position(|a| a == "--only") {
        only = args.get(i + 1).cloned();
        args.drain(i..(i + 2).min(args.len()));
    }
    let mut model = None;
    if let Some(i) = args.iter().position(|a| a == "--model") {
        model = args.get(i + 1).cloned();
        args.drain(i..(i + 2).min(args.len()));
    }
    // Anything else starting with '-' (`--help` included) is not a file of texts.
    if args.is_empty() || args.iter().any(|a| a.starts_with('-')) {
        eprintln!(
            "usage: detector_bench [--only long|crm] [--reps N] [--parts] [--by-script] [--model FILE] TEXTS.csv..."
        );
        std::process::exit(2);
    }
    let long = corpus::csv_texts(&args);
    let loaded;
    let d = match model {
        Some(path) => {
            loaded = Detector::from_model_file(path.as_ref()).unwrap_or_else(|e| {
                eprintln!("detector_bench: {e}");
                std::process::exit(2)
            });
            &loaded
        }
        None => Detector::embedded(),
    };
    if only.as_deref() != Some("crm") {
        bench("long", d, &long, reps);
    }
    if only.as_deref() != Some("long") {
        bench("crm", d, &corpus::crm_pieces(&long), reps);
    }
    if want_parts {
        parts(d, &corpus::crm_pieces(&long));
    }
    if by_script {
        scripts(d, &corpus::crm_pieces(&long), reps);
    }
}

/// [`bench`] on the texts of each dominant script ([`crmguard::detector::script_of`]).
fn scripts(d: &Detector, texts: &[String], reps: usize) {
    const NAMES: [&str; 5] = ["latin", "cyril", "cjk", "hangl", "other"];
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); NAMES.len()];
    let mut norm = String::new();
    for t in texts {
        crmguard::detector::normalize::normalize_into(t, &mut norm);
        groups[crmguard::detector::script_of(&norm)].push(t.clone());
    }
    for (name, g) in NAMES.iter().zip(&groups) {
        if !g.is_empty() {
            bench(name, d, g, reps);
        }
    }
}
