//! Held-out score files for `crmguard train --thresholds-from`: what
//! `crmguard eval --scores` wrote for sources that a whole training run left
//! out (bench/loso.sh keeps one per source). Leave-one-source-out showed that
//! a model's own calibration scores the human sources it holds out higher
//! than a whole training run scores a source it never saw, so thresholds set
//! from calibration land far stricter than their stated false-positive rates
//! (docs/detector.md, "What the numbers say"); these files let the presets be
//! set from the latter instead, and the model's length bands recalibrated
//! on them (`calibrate::fit_recalibration`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::detector::ScoreParts;
use crate::detector::calibrate::HeldRow;
use crate::error::Located;

/// Each file's judged rows (its source is the index of its file) and the
/// files' source names (the file name less `.scores.csv`).
pub struct HeldOut {
    pub sources: Vec<String>,
    pub rows: Vec<HeldRow>,
}

pub fn load(paths: &[PathBuf]) -> anyhow::Result<HeldOut> {
    if paths.len() > usize::from(u16::MAX) {
        bail!("--thresholds-from: at most {} files", u16::MAX);
    }
    let mut out = HeldOut {
        sources: Vec::new(),
        rows: Vec::new(),
    };
    for (i, path) in paths.iter().enumerate() {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let name = name.strip_suffix(".csv").unwrap_or(&name);
        let name = name.strip_suffix(".scores").unwrap_or(name);
        if out.sources.iter().any(|s| s == name) {
            bail!(
                "{}: a second file for source `{name}`: each source counts once",
                crate::terminal::path(path)
            );
        }
        out.sources.push(name.to_string());
        load_file(path, i as u16, &mut out.rows)?;
    }
    if !out.rows.iter().any(|r| !r.machine) {
        bail!("--thresholds-from: no judged human rows in these files");
    }
    Ok(out)
}

/// Where a score file's columns are.
struct Columns {
    judged: usize,
    label: usize,
    words: usize,
    log_odds: usize,
    evidence: usize,
    decisive: usize,
}

fn load_file(path: &Path, source: u16, rows: &mut Vec<HeldRow>) -> anyhow::Result<()> {
    let mut rdr = csv::Reader::from_path(path)
        .with_context(|| format!("{}: cannot open", crate::terminal::path(path)))?;
    let headers = rdr
        .headers()
        .map_err(|e| Located::new(path, 1, 1, e.to_string()))?
        .clone();
    let find = |name: &str, why: &str| {
        (headers.iter().position(|h| h == name))
            .ok_or_else(|| Located::new(path, 1, 1, format!("no column `{name}`: {why}")))
    };
    let need = |name: &str| find(name, "not a file of `crmguard eval --scores`");
    // The parts of each score, which the length bands are recalibrated from.
    let part = |name: &str| {
        find(
            name,
            "written by an older `crmguard eval --scores`; score the file again",
        )
    };
    let cols = Columns {
        judged: need("judged")?,
        label: need("label")?,
        words: part("words")?,
        log_odds: part("log_odds")?,
        evidence: part("evidence")?,
        decisive: part("decisive")?,
    };
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Located::new(path, line, 1, e.to_string())
        })?;
        // Texts too short to judge are never flagged, so they neither count
        // towards a false-positive rate (as in calibration) nor calibrate.
        if rec.get(cols.judged) == Some("true") {
            rows.push(held_row(path, &rec, &cols, source)?);
        }
    }
    Ok(())
}

/// A judged row of a score file, its values checked.
fn held_row(
    path: &Path,
    rec: &csv::StringRecord,
    cols: &Columns,
    source: u16,
) -> Result<HeldRow, Located> {
    let line = rec.position().map_or(0, |p| p.line());
    let bad = |i: usize, what: &str| Located::new(path, line, i as u64 + 1, what);
    let machine = match rec.get(cols.label) {
        Some("human") => false,
        Some("machine") => true,
        _ => {
            return Err(bad(
                cols.label,
                "the label is neither `human` nor `machine`",
            ));
        }
    };
    let number = |i: usize, what: &str| -> Result<f32, Located> {
        (rec.get(i).unwrap_or(""))
            .parse()
            .ok()
            .filter(|x: &f32| x.is_finite())
            .ok_or_else(|| bad(i, what))
    };
    let words: usize = (rec.get(cols.words).unwrap_or(""))
        .parse()
        .map_err(|_| bad(cols.words, "`words` is not a count"))?;
    let not_p = "`decisive` is not a number from 0 to 1";
    let decisive = number(cols.decisive, not_p)?;
    if !(0.0..=1.0).contains(&decisive) {
        return Err(bad(cols.decisive, not_p));
    }
    Ok(HeldRow {
        source,
        machine,
        parts: ScoreParts {
            words,
            log_odds: number(cols.log_odds, "`log_odds` is not a number")?,
            evidence: number(cols.evidence, "`evidence` is not a number")?,
            decisive,
        },
    })
}
