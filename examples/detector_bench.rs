//! Detector throughput, single-threaded, best of 3: MB of text scored per
//! second on (a) the given texts whole and (b) the same texts cut into
//! 100–300 character pieces, the size of a CRM description. Not a test:
//! timings depend on the machine.
//!
//! ```text
//! cargo run --release --example detector_bench -- /work/shared/data/detect/train/*.csv
//! ```
//! `--only long|crm` runs one of the two (e.g. under callgrind).

#[path = "shared/detector_corpus.rs"]
mod corpus;

use crmguard::detector::Detector;
use std::hint::black_box;
use std::time::Instant;

fn bench(label: &str, d: &Detector, texts: &[String]) {
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
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

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut only = None;
    if let Some(i) = args.iter().position(|a| a == "--only") {
        only = args.get(i + 1).cloned();
        args.drain(i..(i + 2).min(args.len()));
    }
    if args.is_empty() {
        eprintln!("usage: detector_bench [--only long|crm] TEXTS.csv...");
        std::process::exit(2);
    }
    let long = corpus::csv_texts(&args);
    let d = Detector::embedded();
    if only.as_deref() != Some("crm") {
        bench("long", d, &long);
    }
    if only.as_deref() != Some("long") {
        bench("crm", d, &corpus::crm_pieces(&long));
    }
}
