//! Held-out score files for `crmguard train --thresholds-from`: what
//! `crmguard eval --scores` wrote for sources that a whole training run left
//! out (bench/loso.sh keeps one per source). Leave-one-source-out showed that
//! a model's own calibration scores the human sources it holds out higher
//! than a whole training run scores a source it never saw, so thresholds set
//! from calibration land far stricter than their stated false-positive rates
//! (docs/detector.md, "What the numbers say"); these files let the presets be
//! set from the latter instead.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::error::Located;

/// Each file's judged human scores, as (index of its file, score), and the
/// files' source names (the file name less `.scores.csv`).
pub struct HeldOut {
    pub sources: Vec<String>,
    pub humans: Vec<(u16, f32)>,
}

pub fn load(paths: &[PathBuf]) -> anyhow::Result<HeldOut> {
    if paths.len() > usize::from(u16::MAX) {
        bail!("--thresholds-from: at most {} files", u16::MAX);
    }
    let mut out = HeldOut {
        sources: Vec::new(),
        humans: Vec::new(),
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
        load_file(path, i as u16, &mut out.humans)?;
    }
    if out.humans.is_empty() {
        bail!("--thresholds-from: no judged human rows in these files");
    }
    Ok(out)
}

fn load_file(path: &Path, source: u16, humans: &mut Vec<(u16, f32)>) -> anyhow::Result<()> {
    let mut rdr = csv::Reader::from_path(path)
        .with_context(|| format!("{}: cannot open", crate::terminal::path(path)))?;
    let headers = rdr
        .headers()
        .map_err(|e| Located::new(path, 1, 1, e.to_string()))?
        .clone();
    let need = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            Located::new(
                path,
                1,
                1,
                format!("no column `{name}`: not a file of `crmguard eval --scores`"),
            )
        })
    };
    let (si, ji, li) = (need("score")?, need("judged")?, need("label")?);
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Located::new(path, line, 1, e.to_string())
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        // Texts too short to judge are never flagged, so they do not count
        // towards a false-positive rate (as in calibration).
        if rec.get(ji) != Some("true") || rec.get(li) != Some("human") {
            continue;
        }
        let score: f32 = (rec.get(si).unwrap_or(""))
            .parse()
            .ok()
            .filter(|s: &f32| (0.0..=1.0).contains(s))
            .ok_or_else(|| {
                Located::new(
                    path,
                    line,
                    si as u64 + 1,
                    "the score is not a number from 0 to 1",
                )
            })?;
        humans.push((source, score));
    }
    Ok(())
}
