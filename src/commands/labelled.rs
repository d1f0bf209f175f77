//! Labelled text for `crmguard eval` and `crmguard train`: CSV files (or
//! folders of them) with a text column and a label column.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::detector::Example;
use crate::error::Located;

/// Which columns hold what.
#[derive(clap::Args, Debug, Clone)]
pub struct Columns {
    /// Column holding the text
    #[arg(long, value_name = "NAME", default_value = "text")]
    pub text_column: String,
    /// Column holding the label
    #[arg(long, value_name = "NAME", default_value = "label")]
    pub label_column: String,
    /// Label value meaning machine-written (case-insensitive); any other value is human
    #[arg(long, value_name = "VALUE", default_value = "machine")]
    pub positive: String,
}

/// Reads every CSV file given (folders: their `*.csv` files, in name
/// order). `group` and `source` columns are optional: without them a row's
/// group is its `uid` (else its row number) and each file is its own source.
pub fn load(
    paths: &[PathBuf],
    cols: &Columns,
    group_column: Option<&str>,
    source_column: Option<&str>,
) -> anyhow::Result<Vec<Example>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot read the folder", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")))
                .collect();
            v.sort();
            if v.is_empty() {
                bail!("{}: no .csv files in this folder", p.display());
            }
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    let mut out = Vec::new();
    for f in &files {
        load_file(f, cols, group_column, source_column, &mut out)?;
    }
    Ok(out)
}

fn load_file(
    path: &Path,
    cols: &Columns,
    group_column: Option<&str>,
    source_column: Option<&str>,
    out: &mut Vec<Example>,
) -> anyhow::Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("{}: cannot open", path.display()))?;
    let headers = rdr
        .headers()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            Located::new(
                path,
                1,
                1,
                format!(
                    "no column `{name}` (the header has: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    };
    let (ti, li) = (need(&cols.text_column)?, need(&cols.label_column)?);
    let gi = group_column.and_then(find);
    let si = source_column.and_then(find);
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (n, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            Located::new(path, line, 1, e.to_string())
        })?;
        let get = |i: Option<usize>| i.and_then(|i| rec.get(i)).unwrap_or("").to_string();
        // The same fallbacks the shipped model was trained with, so that
        // retraining on the same data gives the same bytes.
        let group = match (get(gi), get(find("uid"))) {
            (g, _) if !g.is_empty() => g,
            (_, uid) if !uid.is_empty() => uid,
            _ => format!("row{n}"),
        };
        let source = match get(si) {
            s if s.is_empty() => stem.clone(),
            s => s,
        };
        out.push(Example {
            text: get(Some(ti)),
            machine: get(Some(li))
                .trim()
                .eq_ignore_ascii_case(cols.positive.trim()),
            group,
            source,
        });
    }
    Ok(())
}
