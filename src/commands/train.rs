//! `crmguard train`: fit the detector's model on labelled data, so anyone
//! can retrain it on their own texts. The built-in model is made by exactly
//! this command (docs/detector.md says how), and the same data gives the
//! same bytes.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::commands::{held_out, labelled};
use crate::detector::Sensitivity;
use crate::detector::calibrate::{
    fit_recalibration, per_source_fpr, preset_thresholds, recalibrated_score,
};
use crate::detector::corpus::SourceWeight;
use crate::detector::model::LEN_BAND_NAMES;
use crate::detector::train::{
    Calibration, Prepared, TrainOptions, TrainReport, prepare, train_prepared,
};
use crate::detector::trees::TreeOptions;
use crate::detector::{Example, Model};
use crate::errln;
use crate::error::exit;
use crate::output::{Mode, OutputFile};
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV, JSON, JSON Lines or Parquet files or folders of them, with a text and a label column
    #[arg(long = "data", value_name = "PATH", required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Where to write the model
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub columns: labelled::Columns,
    /// Column tying rows about the same item together (kept on one side of
    /// every split); without it in the data, each row is a group of its own
    #[arg(long, value_name = "NAME", default_value = "group_id")]
    pub group_column: String,
    /// Column naming each row's source corpus; calibration holds out whole
    /// sources [default: each file is a source]
    #[arg(long, value_name = "NAME")]
    pub source_column: Option<String>,
    /// Character n-gram lengths, `MIN-MAX` (at most 5), `N`, or `none` for a
    /// model without them: see docs/detector.md for what each choice costs in
    /// speed and accuracy
    #[arg(long, value_name = "RANGE", default_value = "4", value_parser = parse_char_ngrams)]
    pub char_ngrams: (u8, u8),
    /// Leave out the style features (sentence lengths, punctuation, ...):
    /// see docs/detector.md for what that costs
    #[arg(long)]
    pub no_style: bool,
    /// Leave out the LLM-phrase lexicon rates
    #[arg(long)]
    pub no_lexicons: bool,
    /// Add word-frequency features (a table of the human texts' commonest
    /// tokens, stored in the model): see docs/detector.md for what they bought
    #[arg(long)]
    pub frequency: bool,
    /// Grow this many boosted trees over the style, lexicon, length and
    /// artefact features, blended with the linear model (`--tree-blend`; an
    /// experiment: see docs/detector.md). They split on style and lexicon
    /// features, so `--no-style` and `--no-lexicons` leave them out
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub trees: u16,
    /// The trees' share of the margin, from 0 to 1 (with `--trees`): the
    /// linear model keeps the rest
    #[arg(long, value_name = "W", default_value_t = 0.5, value_parser = blend_weight, requires = "trees")]
    pub tree_blend: f32,
    /// How deep each tree may grow (with `--trees`): shallower trees see fewer
    /// interactions and walk faster
    #[arg(long, value_name = "D", default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=8), requires = "trees")]
    pub tree_depth: u8,
    /// Multiply the training weight of a source's rows, `NAME=W`: the rows of
    /// every source whose name contains NAME, or only its human or machine
    /// rows with `NAME/human=W` or `NAME/machine=W` (repeatable; W from 0,
    /// which leaves them out, to 10). Applied after the sources and classes
    /// are balanced; the default is `salminen=0.3` (see docs/detector.md)
    #[arg(long, value_name = "NAME=W", value_parser = parse_source_weight)]
    pub source_weight: Vec<SourceWeight>,
    /// Sources that calibration holds out together, as comma-separated
    /// source-name prefixes (repeatable; e.g. `persona_reviews_` or
    /// `mixset,apt_eval`): sources sharing items or one prompt design
    #[arg(long, value_name = "PREFIXES")]
    pub together: Vec<String>,
    /// Which sources calibration holds out in turn, each time a fit of its
    /// own: `sources`, each source (or `--together` family) alone; or K groups
    /// of whole sources, for fewer fits when there are many sources. The
    /// presets' thresholds come from these held-out scores
    #[arg(long, value_name = "sources|K", default_value = "8", value_parser = parse_calibration_folds)]
    pub calibration_folds: Calibration,
    /// Score calibration's held-out rows with each fit's weights quantized as
    /// the shipped model's are (an experiment: see docs/detector.md)
    #[arg(long)]
    pub calibrate_quantized: bool,
    /// Write each training row's held-out calibration score to this CSV
    /// (source, label, words, fold, score), the scores the thresholds came from
    #[arg(long, value_name = "FILE")]
    pub calibration_scores: Option<PathBuf>,
    /// Labelled files held out for evaluation: any training text that also
    /// appears in one of them (same text after whitespace normalisation) is
    /// left out of training
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub exclude: Vec<PathBuf>,
    /// Recalibrate the length bands on these files and set the presets'
    /// thresholds from them instead of from calibration: `eval --scores` files
    /// of sources that a whole training run left out, one per source
    /// (bench/loso.sh keeps them). The thresholds' rule is the same (each
    /// preset's mean human false-positive rate over sources)
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub thresholds_from: Vec<PathBuf>,
}

/// `sources`, or a number of folds of at least 2.
fn parse_calibration_folds(s: &str) -> Result<Calibration, String> {
    if s.eq_ignore_ascii_case("sources") {
        return Ok(Calibration::EachSource);
    }
    match s.trim().parse::<usize>() {
        Ok(k) if k >= 2 => Ok(Calibration::SourceFolds(k)),
        _ => Err(format!(
            "`{s}` is neither `sources` nor a number of folds of at least 2"
        )),
    }
}

/// `NAME=W`, `NAME/human=W` or `NAME/machine=W`.
fn parse_source_weight(s: &str) -> Result<SourceWeight, String> {
    let bad = || format!("`{s}` is not `NAME=W`, `NAME/human=W` or `NAME/machine=W`");
    let (name, w) = s.rsplit_once('=').ok_or_else(bad)?;
    let (pattern, machine) = match name.rsplit_once('/') {
        Some((p, "human")) => (p, Some(false)),
        Some((p, "machine")) => (p, Some(true)),
        Some(_) => return Err(bad()),
        None => (name, None),
    };
    if pattern.is_empty() {
        return Err(bad());
    }
    match w.trim().parse::<f64>() {
        Ok(w) if (0.0..=10.0).contains(&w) => Ok(SourceWeight::new(pattern, machine, w)),
        _ => Err(format!("`{w}` in `{s}` is not a weight from 0 to 10")),
    }
}

/// `3-5`, `4` or `none` as (min, max) lengths; (0, 0) means none.
fn parse_char_ngrams(s: &str) -> Result<(u8, u8), String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok((0, 0));
    }
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let parse = |x: &str| x.trim().parse::<u8>().ok().filter(|n| (1..=5).contains(n));
    match (parse(lo), parse(hi)) {
        (Some(lo), Some(hi)) if lo <= hi => Ok((lo, hi)),
        _ => Err(format!(
            "`{s}` is not a range of lengths 1 to 5 like `3-5`, nor `none`"
        )),
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut outputs = vec![("--out", args.out.as_path())];
    outputs.extend((args.calibration_scores.iter()).map(|p| ("--calibration-scores", p.as_path())));
    let reads = [&args.data[..], &args.exclude, &args.thresholds_from].concat();
    labelled::check_outputs(&outputs, &reads)?;
    let examples = load_examples(&args)?;
    let opts = options(&args);
    check_weights(&examples, &opts.source_weights)?;
    let prep = prepare(&examples, &opts.features, opts.strip_preambles);
    let all: Vec<usize> = (0..examples.len()).collect();
    let (mut model, mut report) = train_prepared(&prep, &all, &opts);
    if !args.thresholds_from.is_empty() {
        thresholds_from_held_out(&args.thresholds_from, &mut model, &mut report)?;
    }
    let bytes = model.to_bytes();
    let cannot = || crate::output::cannot_write(&args.out, "the model");
    let mut out = OutputFile::create(&args.out, Mode::Shared).with_context(cannot)?;
    out.write_all(&bytes).with_context(cannot)?;
    out.commit().with_context(cannot)?;
    errln!(
        "crmguard: wrote {} ({} bytes, blake3 {})",
        terminal::path(&args.out),
        bytes.len(),
        blake3::hash(&bytes).to_hex(),
    );
    print_presets(&model, &report);
    if let Some(path) = &args.calibration_scores {
        write_calibration_scores(path, &examples, &prep, &report)?;
    }
    Ok(exit::CLEAN)
}

/// Recalibrates the model's length bands on the held-out score files (see
/// [`held_out`] and [`fit_recalibration`]) and replaces the presets'
/// thresholds, and the per-source rates printed beside them, with those the
/// recalibrated held-out scores set.
fn thresholds_from_held_out(
    paths: &[PathBuf],
    model: &mut Model,
    report: &mut TrainReport,
) -> anyhow::Result<()> {
    let held = held_out::load(paths)?;
    let recal = fit_recalibration(&held.rows);
    for (band, ((a, c), (ra, rb))) in model.platt.iter_mut().zip(recal).enumerate() {
        // Scores of this model were `a·m + c`; held out they bear `ra·z + rb` out.
        *a *= ra;
        *c = ra * *c + rb;
        errln!(
            "crmguard: length band {}: held-out log-odds scaled by {ra:.4}, shifted by {rb:+.4}",
            LEN_BAND_NAMES[band]
        );
    }
    let humans: Vec<(u16, f32)> = (held.rows.iter())
        .filter(|r| !r.machine)
        .map(|r| (r.source, recalibrated_score(r, &recal)))
        .collect();
    model.presets = preset_thresholds(&humans);
    report.per_source_fpr = per_source_fpr(&humans, &model.presets)
        .into_iter()
        .map(|(s, f)| (held.sources[usize::from(s)].clone(), f))
        .collect();
    // Files without human rows (machine-only sources) set no threshold, so
    // the model names only the sources that did.
    model.meta.push_str(&format!(
        "; length bands recalibrated on the held-out texts of {} sources, thresholds from \
         the human texts of {}",
        held.sources.len(),
        report.per_source_fpr.len()
    ));
    Ok(())
}

/// The labelled rows, less those whose text is in `--exclude`; both classes
/// must be there. Says what it left out and what it trains on.
fn load_examples(args: &Args) -> anyhow::Result<Vec<Example>> {
    let mut examples = labelled::load(
        &args.data,
        &args.columns,
        Some(&args.group_column),
        args.source_column.as_deref(),
    )?;
    if !args.exclude.is_empty() {
        let held = labelled::load(&args.exclude, &args.columns, None, None)?;
        let hashes: std::collections::HashSet<[u8; 32]> =
            held.iter().map(|e| text_hash(&e.text)).collect();
        let before = examples.len();
        examples.retain(|e| !hashes.contains(&text_hash(&e.text)));
        errln!(
            "crmguard: left out {} training rows whose text is in the held-out files",
            before - examples.len()
        );
    }
    let machine = examples.iter().filter(|e| e.machine).count();
    if machine == 0 || machine == examples.len() {
        bail!(
            "the data needs both classes: {machine} of {} rows are `{}`",
            examples.len(),
            args.columns.positive
        );
    }
    let mut sources: Vec<&str> = examples.iter().map(|e| e.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    errln!(
        "crmguard: training on {} rows ({machine} machine) from {} source(s): {}",
        examples.len(),
        sources.len(),
        sources.join(", ")
    );
    // Not refused: a small set is how one tries the command. But its
    // thresholds come from held-out sources, and with one source or a few
    // hundred rows there is too little held out to set them.
    if sources.len() < 2 || examples.len() < SMALL_DATA {
        errln!(
            "crmguard: warning: {} rows from {} source(s) are too few to set thresholds on \
             held-out sources; measure the model with `crmguard eval` on data it never saw \
             before using it (the shipped one: 66,000 rows from 28 sources)",
            examples.len(),
            sources.len()
        );
    }
    Ok(examples)
}

/// Below this many rows, `train` warns that its thresholds mean little.
const SMALL_DATA: usize = 1_000;

/// Both classes must keep some weight after `--source-weight`, or there is
/// nothing to fit.
fn check_weights(examples: &[Example], weights: &[SourceWeight]) -> anyhow::Result<()> {
    for (machine, class) in [(false, "human"), (true, "machine")] {
        let kept = (examples.iter())
            .filter(|e| e.machine == machine)
            .any(|e| SourceWeight::weigh(weights, &e.source, machine, 1.0) > 0.0);
        if !kept {
            bail!("--source-weight leaves no {class} rows to train on");
        }
    }
    Ok(())
}

/// `--tree-blend`: a share the model file accepts.
fn blend_weight(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(w) if (0.0..=1.0).contains(&w) => Ok(w),
        _ => Err(format!("`{s}` is not a weight from 0 to 1")),
    }
}

/// The training options the flags ask for; says which features they use.
fn options(args: &Args) -> TrainOptions {
    let mut opts = TrainOptions::default();
    (opts.features.hash.char_min, opts.features.hash.char_max) = args.char_ngrams;
    opts.features.use_style = !args.no_style;
    opts.features.use_lexicon = !args.no_lexicons;
    opts.features.use_freq = args.frequency;
    opts.trees = (args.trees > 0 && opts.features.feeds_trees()).then(|| TreeOptions {
        n_trees: args.trees,
        blend: args.tree_blend,
        max_depth: args.tree_depth,
        ..TreeOptions::default()
    });
    for w in &args.source_weight {
        SourceWeight::set(&mut opts.source_weights, w.clone());
    }
    opts.calibration = args.calibration_folds;
    opts.calibrate_quantized = args.calibrate_quantized;
    opts.families = (args.together.iter())
        .map(|f| f.split(',').map(|p| p.trim().to_string()).collect())
        .collect();
    if !args.source_weight.is_empty() {
        let list: Vec<String> = (opts.source_weights.iter())
            .map(|w| w.to_string())
            .collect();
        errln!("crmguard: source weights: {}", list.join(", "));
    }
    let f = &opts.features;
    let h = &f.hash;
    errln!(
        "crmguard: features: {}, word {}-{}-grams, {}, {}, {}{}",
        match (h.char_min, h.char_max) {
            (_, 0) => "no char n-grams".to_string(),
            (lo, hi) if lo == hi => format!("char {lo}-grams"),
            (lo, hi) => format!("char {lo}-{hi}-grams"),
        },
        h.word_min,
        h.word_max,
        if f.use_style { "style" } else { "no style" },
        if f.use_lexicon {
            "lexicons"
        } else {
            "no lexicons"
        },
        if f.use_freq {
            "word frequency"
        } else {
            "no word frequency"
        },
        match &opts.trees {
            Some(t) => format!(", {} boosted trees (weight {})", t.n_trees, t.blend),
            None if args.trees > 0 =>
                ", no boosted trees (they split on style and lexicons)".into(),
            None => ", no boosted trees".into(),
        },
    );
    opts
}

/// Each preset's thresholds and the training sources' held-out human texts
/// above them (the calibration folds' scores the thresholds came from).
fn print_presets(model: &Model, report: &TrainReport) {
    for (i, s) in [
        Sensitivity::Strict,
        Sensitivity::Balanced,
        Sensitivity::Thorough,
    ]
    .into_iter()
    .enumerate()
    {
        let (q, r) = model.presets[i];
        let fprs: Vec<String> = (report.per_source_fpr.iter())
            .filter(|(_, f)| f[i] > 0.0)
            .map(|(src, f)| format!("{src} {:.2}%", 100.0 * f[i]))
            .collect();
        errln!(
            "crmguard: {s}: quarantine above {q:.4}{}; held-out human texts above it: {}",
            if r.is_nan() {
                String::new()
            } else {
                format!(", review above {r:.4}")
            },
            if fprs.is_empty() {
                "none".to_string()
            } else {
                fprs.join(", ")
            }
        );
    }
}

/// The held-out calibration scores, one row per training text in load order,
/// so that the thresholds can be checked against them (bench/loso_tables.py).
fn write_calibration_scores(
    path: &std::path::Path,
    examples: &[crate::detector::Example],
    prep: &Prepared,
    report: &TrainReport,
) -> anyhow::Result<()> {
    let cannot = || crate::output::cannot_write(path, "the calibration scores");
    let mut out = OutputFile::create(path, Mode::Shared).with_context(cannot)?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["source", "label", "words", "fold", "score"])
        .with_context(cannot)?;
    let rows = examples.iter().zip(&prep.docs);
    for (((e, d), score), fold) in rows.zip(&report.oof_scores).zip(&report.oof_fold) {
        // The words the thresholds counted (texts under 8 are not judged).
        let words = d.words;
        w.write_record([
            e.source.as_str(),
            if e.machine { "machine" } else { "human" },
            &words.to_string(),
            &fold.to_string(),
            &format!("{score:.6}"),
        ])
        .with_context(cannot)?;
    }
    out.write_all(&w.into_inner().with_context(cannot)?)
        .with_context(cannot)?;
    out.commit().with_context(cannot)
}

/// blake3 of a text with its whitespace normalised, as the detector reads it.
fn text_hash(text: &str) -> [u8; 32] {
    let mut norm = String::new();
    crate::detector::normalize::normalize_into(text, &mut norm);
    *blake3::hash(norm.trim().as_bytes()).as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_folds_take_a_count_or_sources() {
        assert_eq!(
            parse_calibration_folds("sources"),
            Ok(Calibration::EachSource)
        );
        assert_eq!(
            parse_calibration_folds("8"),
            Ok(Calibration::SourceFolds(8))
        );
        for bad in ["1", "0", "-3", "all", ""] {
            assert!(parse_calibration_folds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn source_weights_name_a_source_and_maybe_a_class() {
        let ok = |s: &str| parse_source_weight(s).unwrap();
        assert_eq!(ok("salminen=0"), SourceWeight::new("salminen", None, 0.0));
        assert_eq!(
            ok("michigan/machine=0.5"),
            SourceWeight::new("michigan", Some(true), 0.5)
        );
        assert_eq!(
            ok("a=b/human=2"),
            SourceWeight::new("a=b", Some(false), 2.0)
        );
        // Printed as spelled.
        for s in ["salminen=0.3", "michigan/machine=0.5", "a=b/human=2"] {
            assert_eq!(ok(s).to_string(), s);
        }
        for bad in [
            "salminen",
            "=1",
            "/human=1",
            "x/robot=1",
            "x=-1",
            "x=11",
            "x=NaN",
            "x=",
        ] {
            assert!(parse_source_weight(bad).is_err(), "{bad}");
        }
    }
}
