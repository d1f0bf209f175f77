//! Dumps, per labelled text, what the detector's trainer sees: its dense
//! features (style, lexicon rates), length, the artefact rules' evidence and
//! decisive probability, and the hashed n-gram buckets, so that learners can
//! be compared leave-one-source-out in Python in seconds (bench/research.py)
//! instead of a Rust training run per idea.
//!
//! ```text
//! cargo run --release --example detector_dump -- OUT_PREFIX TRAIN.csv...
//! ```
//! Writes `OUT_PREFIX.dense.tsv` (one row per text: source, group, label,
//! words, chars, p_dec, evidence, english, then the dense features by name)
//! and `OUT_PREFIX.ngrams.tsv` (one row per text: space-separated
//! `bucket:count` for char n-grams, then `|`, then word n-grams), both in the
//! input's row order. Texts are cleaned as `crmguard train` cleans them.

// A developer's tool: it prints to the terminal it was run from, with
// none of the files or names crmguard escapes (src/terminal.rs).
#![allow(clippy::disallowed_macros)]

#[path = "shared/training_set.rs"]
mod training_set;

use crmguard::detector::lexicon::N_LEX;
use crmguard::detector::style::STYLE_NAMES;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(prefix) = args.next() else {
        anyhow::bail!("usage: detector_dump OUT_PREFIX TRAIN.csv...");
    };
    let files: Vec<PathBuf> = args.map(PathBuf::from).collect();
    let (examples, prep) = training_set::load(&files)?;

    let mut dense = String::from("source\tgroup\tmachine\twords\tchars\tp_dec\tevidence\tenglish");
    for n in STYLE_NAMES {
        write!(dense, "\tstyle:{n}")?;
    }
    for i in 0..N_LEX {
        write!(dense, "\tlex{i}")?;
    }
    dense.push('\n');
    let mut ngrams = String::new();
    for (e, d) in examples.iter().zip(&prep.docs) {
        write!(
            dense,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            e.source,
            e.group.replace(['\t', '\n', '\r'], " "),
            u8::from(d.machine),
            d.words,
            e.text.chars().count(),
            d.p_dec,
            d.evidence,
            u8::from(d.english)
        )?;
        for x in &d.dense[..STYLE_NAMES.len() + N_LEX] {
            write!(dense, "\t{x}")?;
        }
        dense.push('\n');
        let nc = d.n_char_entries as usize;
        for (k, (i, v)) in d.idx.iter().zip(&d.val).enumerate() {
            if k == nc {
                ngrams.push('|');
            }
            write!(ngrams, " {i}:{v}")?;
        }
        if nc == d.idx.len() {
            ngrams.push('|');
        }
        ngrams.push('\n');
    }
    std::fs::File::create(format!("{prefix}.dense.tsv"))?.write_all(dense.as_bytes())?;
    std::fs::File::create(format!("{prefix}.ngrams.tsv"))?.write_all(ngrams.as_bytes())?;
    eprintln!("{} texts dumped to {prefix}.*.tsv", examples.len());
    Ok(())
}
