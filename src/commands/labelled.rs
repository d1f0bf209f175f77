//! Labelled text for `crmguard eval` and `crmguard train`: CSV files (or
//! folders of them) with a text column and a label column.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::detector::Example;
use crate::error::Located;
use crate::input::{Compression, Format, Row, open_input, reader_for};
use crate::terminal;

/// The longest record a labelled file may hold: far over any text worth
/// training on, but a bound, as every reader has.
const MAX_TEXT_BYTES: usize = 1 << 30;

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

/// Whether a folder's file is labelled CSV: `.csv`, or `.csv.gz` and
/// `.csv.zst`, which are read decompressed.
fn is_csv(path: &Path) -> bool {
    let (name, _) = uncompressed_name(path);
    Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// The file's name without a `.gz` or `.zst` suffix, and the compression
/// the suffix names, as `scan` splits it.
fn uncompressed_name(path: &Path) -> (&std::ffi::OsStr, Compression) {
    let name = path.file_name().unwrap_or_default();
    match Compression::split_name(name.as_encoded_bytes()) {
        (_, Compression::None) => (name, Compression::None),
        // The suffix is the last extension, which `file_stem` takes off.
        (_, named) => (path.file_stem().unwrap_or_default(), named),
    }
}

/// The labelled files `paths` name: files as given, and each folder's
/// `*.csv`, `*.csv.gz` and `*.csv.zst` files, in name order.
pub fn files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot read the folder", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_csv(p))
                .collect();
            v.sort();
            if v.is_empty() {
                bail!(
                    "{}: no .csv, .csv.gz or .csv.zst files in this folder",
                    p.display()
                );
            }
            files.extend(v);
        } else {
            files.push(p.clone());
        }
    }
    // A file given twice (or also through its folder) would count twice:
    // twice the weight in training, and a confidence bound in `calibrate`
    // that looks tighter than its texts allow.
    for (k, f) in files.iter().enumerate() {
        let stdin = |p: &Path| p.as_os_str() == "-";
        let same = |e: &&PathBuf| (stdin(e) && stdin(f)) || crate::output::same_file(e, f);
        if let Some(earlier) = files[..k].iter().find(same) {
            if earlier == f {
                bail!(
                    "{} is given twice (itself, or also through its folder): give it once",
                    terminal::path(f)
                );
            }
            bail!(
                "{} and {} are the same file: give it once",
                terminal::path(earlier),
                terminal::path(f)
            );
        }
    }
    Ok(files)
}

/// Refuses outputs that would replace a file the command reads, or each
/// other: a model written over its training data loses the data. Checked
/// before any work, so that a long training run does not end in it.
pub fn check_outputs(outputs: &[(&str, &Path)], inputs: &[PathBuf]) -> anyhow::Result<()> {
    let inputs = files(inputs)?;
    for (k, (option, out)) in outputs.iter().enumerate() {
        if let Some(input) = inputs.iter().find(|i| crate::output::same_file(i, out)) {
            bail!(
                "{option} {}: refusing to write over the input {}",
                terminal::path(out),
                terminal::path(input)
            );
        }
        for (other, path) in &outputs[..k] {
            if path == out || crate::output::same_file(path, out) {
                bail!(
                    "{other} and {option} are the same file: {}",
                    terminal::path(out)
                );
            }
        }
    }
    Ok(())
}

/// Reads every labelled file `paths` name ([`files`]). `group` and `source`
/// columns are optional: without them a row's group is its `uid` (else its
/// row number) and each file is its own source.
pub fn load(
    paths: &[PathBuf],
    cols: &Columns,
    group_column: Option<&str>,
    source_column: Option<&str>,
) -> anyhow::Result<Vec<Example>> {
    let labels = Labels {
        column: &cols.label_column,
        positive: &cols.positive,
        required: true,
        disclosure: None,
    };
    let mut out = Vec::new();
    for f in &files(paths)? {
        let columns = [cols.text_column.as_str()];
        load_file(
            f,
            &columns,
            labels,
            group_column,
            source_column,
            &mut |mut r| {
                out.push(Example {
                    text: r.texts.pop().unwrap_or_default(),
                    machine: r.machine,
                    group: r.group,
                    source: r.source,
                });
            },
        )?;
    }
    Ok(out)
}

/// One row of a labelled file.
pub struct LabelledRow {
    /// The text of each column asked for, in the order asked.
    pub texts: Vec<String>,
    pub machine: bool,
    /// The label as written; `None` when the file has no label column.
    pub label: Option<String>,
    /// Disclosed as synthetic: `scan` would not judge it.
    pub disclosed: bool,
    pub group: String,
    pub source: String,
}

/// Where a row's label comes from.
#[derive(Clone, Copy, Debug)]
pub struct Labels<'a> {
    pub column: &'a str,
    /// The value marking machine text (case-insensitive).
    pub positive: &'a str,
    /// Whether a file without the column is an error; if not, every row of
    /// such a file is human (`calibrate`'s genuine texts need no label).
    pub required: bool,
    /// The policy whose disclosure columns mark a row disclosed as
    /// synthetic (`is_synthetic` true), which `scan` does not judge; `None`:
    /// no row is.
    pub disclosure: Option<&'a crate::policy::Policy>,
}

/// Hands `each` every row's texts (one per column of `text_columns`) and
/// label from the files `paths` name, in order, each file read once and no
/// row kept.
pub fn for_each_row(
    paths: &[PathBuf],
    text_columns: &[&str],
    labels: Labels,
    mut each: impl FnMut(LabelledRow),
) -> anyhow::Result<()> {
    for f in &files(paths)? {
        load_file(f, text_columns, labels, None, None, &mut each)?;
    }
    Ok(())
}

fn load_file(
    path: &Path,
    text_columns: &[&str],
    labels: Labels,
    group_column: Option<&str>,
    source_column: Option<&str>,
    out: &mut impl FnMut(LabelledRow),
) -> anyhow::Result<()> {
    // The scan's own reader, not a second CSV parser: the same quoting rules,
    // `.csv.gz` and `.csv.zst` read decompressed, and a broken file (an
    // unterminated quote) is an error at its line and column instead of
    // rows silently swallowed into one text.
    let (base, named) = uncompressed_name(path);
    let src = open_input(path, named, None)?;
    let mut rdr = reader_for(
        Format::Csv { delimiter: b',' },
        src.reader,
        path,
        MAX_TEXT_BYTES,
    )?;
    let headers: Vec<String> = match rdr.header() {
        Some(h) => h.names.clone(),
        None => bail!("{}: no header, no rows", terminal::path(path)),
    };
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
                    headers.join(", ")
                ),
            )
        })
    };
    let text_at = (text_columns.iter())
        .map(|c| need(c))
        .collect::<Result<Vec<_>, _>>()?;
    let li = match labels.required {
        true => Some(need(labels.column)?),
        false => find(labels.column),
    };
    let di = labels.disclosure.and_then(|p| {
        (headers.iter()).position(|h| p.field_of(h) == Some(crate::spec::Field::IsSynthetic))
    });
    let gi = group_column.and_then(find);
    let si = source_column.and_then(find);
    // `reviews.csv.zst` is the source `reviews`, as `reviews.csv` is.
    let stem = Path::new(base)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut row = Row::default();
    let mut n = 0;
    while rdr.read_row(&mut row)? {
        check_row(path, &row, headers.len())?;
        let get = |i: Option<usize>| {
            i.and_then(|i| row.csv_field(i))
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .unwrap_or_default()
        };
        // The same fallbacks the shipped model was trained with, so that
        // retraining on the same data gives the same bytes.
        let group = match (get(gi), get(find("uid"))) {
            (g, _) if !g.is_empty() => g,
            (_, uid) if !uid.is_empty() => uid,
            _ => format!("row{n}"),
        };
        n += 1;
        let source = match get(si) {
            s if s.is_empty() => stem.clone(),
            s => s,
        };
        out(LabelledRow {
            texts: text_at.iter().map(|i| get(Some(*i))).collect(),
            machine: li.is_some() && get(li).trim().eq_ignore_ascii_case(labels.positive.trim()),
            label: li.map(|_| get(li)),
            disclosed: di.is_some() && crate::spec::disclosure::parse_bool(&get(di)) == Some(true),
            group,
            source,
        });
    }
    Ok(())
}

/// A row whose fields can be read as the header names them.
fn check_row(path: &Path, row: &Row, width: usize) -> Result<(), Located> {
    // A row short of fields would read as texts too short to judge, and
    // one with more as a label in the wrong place: neither is silent in
    // `scan` (`MALFORMED_ROW`), nor here.
    if row.csv_len() != width {
        let n = row.csv_len();
        let msg = format!(
            "{n} field{} where the header has {width}",
            if n == 1 { "" } else { "s" }
        );
        return Err(Located::new(path, row.line, 1, msg));
    }
    if !row.utf8 {
        // Where in the record, then where in the file.
        let e = crate::error::utf8_text(path, row.raw.clone(), "").unwrap_err();
        let line = row.line + e.line - 1;
        return Err(Located::new(path, line, e.column, "invalid UTF-8"));
    }
    Ok(())
}
