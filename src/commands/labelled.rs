//! Labelled text for `crmguard eval`, `train` and `calibrate`: CSV, JSON,
//! JSON Lines or Parquet files (or folders of them) with a text column and
//! a label column, read by `scan`'s readers.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::detector::Example;
use crate::error::Located;
use crate::input::{Compression, Format, RecordReader, Row, open_input, reader_for};
use crate::output::repeated_file;
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
    /// Label value meaning machine-written (case-insensitive); any other value is human, and
    /// a blank one an error
    #[arg(long, value_name = "VALUE", default_value = "machine", value_parser = not_blank)]
    pub positive: String,
}

/// `--positive`: a blank one would make every row with a blank label
/// machine text, and train or measure on rows nobody labelled.
pub fn not_blank(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("the machine label cannot be blank".into()),
        t => Ok(t.to_string()),
    }
}

/// Whether a folder's file is labelled text: `.csv`, `.json`, `.ndjson`
/// or `.jsonl`, each also as `.gz` and `.zst`, which are read decompressed.
fn is_labelled(path: &Path) -> bool {
    let (name, _) = uncompressed_name(path);
    Path::new(name).extension().is_some_and(|e| {
        ["csv", "json", "ndjson", "jsonl", "parquet"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
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
/// `.csv`, `.json`, `.ndjson` and `.jsonl` files (also `.gz` and `.zst`)
/// and `.parquet` files, in name order.
pub fn files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot read the folder", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_labelled(p))
                .collect();
            v.sort();
            if v.is_empty() {
                bail!(
                    "{}: no .csv, .json, .ndjson, .jsonl or .parquet files (or .gz, .zst of the text ones) in this folder",
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
    // Stdin has no identity of its own to look up; a path that names no
    // file is left to fail when it is opened.
    let stdin = |p: &&PathBuf| p.as_os_str() == "-";
    let repeat = match files.iter().filter(stdin).nth(1) {
        Some(again) => Some((again.as_path(), again.as_path())),
        None => repeated_file(files.iter().filter(|p| !stdin(p)).map(PathBuf::as_path)),
    };
    match repeat {
        Some((earlier, f)) if earlier == f => bail!(
            "{} is given twice (itself, or also through its folder): give it once",
            terminal::path(f)
        ),
        Some((earlier, f)) => bail!(
            "{} and {} are the same file: give it once",
            terminal::path(earlier),
            terminal::path(f)
        ),
        None => Ok(files),
    }
}

/// The paths as given, for a message about all of them.
pub fn shown(paths: &[PathBuf]) -> String {
    let names: Vec<String> = (paths.iter())
        .map(|f| terminal::path(f).to_string())
        .collect();
    names.join(", ")
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
        blank_refused: true,
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
    /// Whether a row whose label is blank is an error (`eval`, `train`), or
    /// human (`calibrate`: its rows are genuine unless labelled machine).
    pub blank_refused: bool,
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

/// Where each value a labelled row needs sits: a CSV column found once
/// from the header, or a JSON key looked up in every record (keys vary by
/// record). Names match trimmed and in any case, as `scan` matches them.
enum Layout {
    Csv {
        width: usize,
        at: Vec<Option<usize>>,
    },
    Json,
}

/// The values a row needs, in this order: the text columns, then label,
/// disclosure, group, uid and source.
struct Wants<'a> {
    texts: &'a [&'a str],
    label: &'a str,
    disclosure: Option<&'a crate::policy::Policy>,
    group: Option<&'a str>,
    source: Option<&'a str>,
}

impl Wants<'_> {
    /// Whether key `name` is slot `slot`.
    fn is(&self, slot: usize, name: &str) -> bool {
        let name = name.trim();
        let n = self.texts.len();
        let named = |want: Option<&str>| want.is_some_and(|w| name.eq_ignore_ascii_case(w));
        match slot {
            s if s < n => name.eq_ignore_ascii_case(self.texts[s]),
            s if s == n => name.eq_ignore_ascii_case(self.label),
            s if s == n + 1 => self
                .disclosure
                .is_some_and(|p| p.field_of(name) == Some(crate::spec::Field::IsSynthetic)),
            s if s == n + 2 => named(self.group),
            s if s == n + 3 => name.eq_ignore_ascii_case("uid"),
            _ => named(self.source),
        }
    }

    fn slots(&self) -> usize {
        self.texts.len() + 5
    }
}

fn load_file(
    path: &Path,
    text_columns: &[&str],
    labels: Labels,
    group_column: Option<&str>,
    source_column: Option<&str>,
    out: &mut impl FnMut(LabelledRow),
) -> anyhow::Result<()> {
    // The scan's own reader, not a second parser: the same quoting rules,
    // `.gz` and `.zst` read decompressed, JSON and JSON Lines too, and a
    // broken file (an unterminated quote) is an error at its line and column
    // instead of rows silently swallowed into one text.
    // One column as both text and label would score each row's label as its
    // text: a measurement of nothing that still prints figures. Where a label
    // is optional (`calibrate`), a text column that happens to be called
    // `label` is a file without labels.
    if let Some(t) = text_columns
        .iter()
        .find(|t| labels.required && t.eq_ignore_ascii_case(labels.column))
    {
        bail!(
            "the text column and the label column are both `{}`: name the column each is in",
            terminal::escape(t)
        );
    }
    let (base, named) = uncompressed_name(path);
    let format = format_of(path, base, named)?;
    let mut rdr = Records::open(path, format)?;
    let wants = Wants {
        texts: text_columns,
        label: labels.column,
        disclosure: labels.disclosure,
        group: group_column,
        source: source_column,
    };
    let n_texts = text_columns.len();
    let required = n_texts + usize::from(labels.required);
    let header = match (format, rdr.header()) {
        (Format::Csv { .. }, None) => bail!("{}: no header, no rows", terminal::path(path)),
        (_, header) => header,
    };
    let layout = layout(path, header, &wants, required)?;
    // `reviews.csv.zst` is the source `reviews`, as `reviews.csv` is.
    let stem = Path::new(base)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut seen = vec![false; wants.slots()];
    let mut row = Row::default();
    let mut n = 0;
    let mut unlabelled = None;
    while rdr.read_row(&mut row)? {
        let v = values(path, &row, &layout, &wants, &mut seen)?;
        // The same fallbacks the shipped model was trained with, so that
        // retraining on the same data gives the same bytes.
        let (label, disclosed, group, uid, source) = (
            &v[n_texts],
            &v[n_texts + 1],
            &v[n_texts + 2],
            &v[n_texts + 3],
            &v[n_texts + 4],
        );
        // A row nobody labelled would train and count as human text, in
        // silence; `calibrate`, whose rows are genuine unless labelled
        // machine, reads a blank label as no label. Named once the file is
        // read: a JSON file none of whose records has the key is told so.
        if labels.blank_refused && unlabelled.is_none() && label.trim().is_empty() {
            unlabelled = Some((n + 1, row.line));
        }
        let group = match (group, uid) {
            (g, _) if !g.is_empty() => g.clone(),
            (_, uid) if !uid.is_empty() => uid.clone(),
            _ => format!("row{n}"),
        };
        n += 1;
        out(LabelledRow {
            texts: v[..n_texts].to_vec(),
            machine: label.trim().eq_ignore_ascii_case(labels.positive.trim()),
            label: seen[n_texts].then(|| label.clone()),
            disclosed: crate::spec::disclosure::parse_bool(disclosed) == Some(true),
            group,
            source: if source.is_empty() {
                stem.clone()
            } else {
                source.clone()
            },
        });
    }
    // JSON has no header: a key that no record holds is named at the end.
    if let Some(slot) = (0..required).find(|s| n > 0 && !seen[*s]) {
        let name = text_columns.get(slot).copied().unwrap_or(labels.column);
        bail!("{}: no record has the key `{name}`", terminal::path(path));
    }
    if let Some((record, line)) = unlabelled {
        let msg = format!(
            "record {record}: its `{}` is blank: label every row (`{}` for machine text, another word for human), or leave it out",
            labels.column, labels.positive
        );
        return Err(Located::new(path, line, 1, msg).into());
    }
    Ok(())
}

/// The format the file's name implies; CSV where it implies none.
fn format_of(
    path: &Path,
    base: &std::ffi::OsStr,
    compression: Compression,
) -> anyhow::Result<Format> {
    let csv = Format::Csv { delimiter: b',' };
    if path.as_os_str() == "-" {
        return Ok(csv);
    }
    let ext = Path::new(base).extension().and_then(|e| e.to_str());
    let format = ext.and_then(Format::from_extension).unwrap_or(csv);
    format.check_seekable(path, false, compression)?;
    Ok(format)
}

/// A labelled file's records: `scan`'s text readers, or a Parquet file's
/// rows as the CSV records `scan` checks for them.
enum Records {
    Text(Box<dyn RecordReader>),
    #[cfg(feature = "parquet")]
    Parquet(Box<crate::scan::parquet::ParquetRows>),
}

impl Records {
    fn open(path: &Path, format: Format) -> anyhow::Result<Records> {
        if format == Format::Parquet {
            #[cfg(feature = "parquet")]
            return Ok(Records::Parquet(Box::new(
                crate::scan::parquet::ParquetRows::open(path, MAX_TEXT_BYTES)?,
            )));
            #[cfg(not(feature = "parquet"))]
            bail!(
                "{}: this crmguard was built without Parquet support (cargo feature `parquet`)",
                terminal::path(path)
            );
        }
        let src = open_input(path, None)?;
        Ok(Records::Text(reader_for(
            format,
            src.reader,
            path,
            MAX_TEXT_BYTES,
        )?))
    }

    fn header(&self) -> Option<&crate::input::Header> {
        match self {
            Records::Text(r) => r.header(),
            #[cfg(feature = "parquet")]
            Records::Parquet(r) => Some(r.header()),
        }
    }

    fn read_row(&mut self, row: &mut Row) -> anyhow::Result<bool> {
        match self {
            Records::Text(r) => Ok(r.read_row(row)?),
            #[cfg(feature = "parquet")]
            Records::Parquet(r) => r.read_row(row),
        }
    }
}

/// Where the wanted values sit: a CSV file's columns (the first `required`
/// slots must be there), or a JSON file's keys, found per record.
fn layout(
    path: &Path,
    header: Option<&crate::input::Header>,
    wants: &Wants,
    required: usize,
) -> anyhow::Result<Layout> {
    let Some(header) = header else {
        return Ok(Layout::Json);
    };
    let headers = &header.names;
    let at: Vec<Option<usize>> = (0..wants.slots())
        .map(|slot| headers.iter().position(|h| wants.is(slot, h)))
        .collect();
    // Two columns by one name: which one holds the text would be a guess,
    // and `scan` refuses such a file too (HEADER_DUPLICATE).
    for (slot, first) in at.iter().enumerate() {
        let Some(first) = *first else { continue };
        if let Some(again) = (first + 1..headers.len()).find(|i| wants.is(slot, &headers[*i])) {
            let msg = format!(
                "columns {} and {} are both `{}`: rename one",
                first + 1,
                again + 1,
                headers[again].trim()
            );
            return Err(Located::new(path, 1, 1, msg).into());
        }
    }
    if let Some(slot) = (0..required).find(|s| at[*s].is_none()) {
        let name = wants.texts.get(slot).copied().unwrap_or(wants.label);
        let msg = format!(
            "no column `{name}` (the header has: {})",
            headers.join(", ")
        );
        return Err(Located::new(path, 1, 1, msg).into());
    }
    Ok(Layout::Csv {
        width: headers.len(),
        at,
    })
}

/// The row's value for each of `wants`' slots ("" where it has none), and
/// which slots it had, into `seen`.
fn values(
    path: &Path,
    row: &Row,
    layout: &Layout,
    wants: &Wants,
    seen: &mut [bool],
) -> Result<Vec<String>, Located> {
    match layout {
        Layout::Csv { width, at } => {
            check_row(path, row, *width)?;
            Ok((at.iter().zip(seen))
                .map(|(i, seen)| {
                    *seen |= i.is_some();
                    i.and_then(|i| row.csv_field(i))
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .unwrap_or_default()
                })
                .collect())
        }
        Layout::Json => {
            check_utf8(path, row)?;
            let crate::input::Content::Object(map) = &row.content else {
                return Err(Located::new(path, row.line, 1, "not a JSON object"));
            };
            let mut v = vec![String::new(); wants.slots()];
            for (slot, (value, seen)) in v.iter_mut().zip(seen).enumerate() {
                // The first key that matches, as `scan` takes it.
                if let Some((_, x)) = map.iter().find(|(k, _)| wants.is(slot, k)) {
                    *seen = true;
                    *value = match x {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                }
            }
            Ok(v)
        }
    }
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
    check_utf8(path, row)
}

fn check_utf8(path: &Path, row: &Row) -> Result<(), Located> {
    if !row.utf8 {
        // Where in the record, then where in the file.
        let e = crate::error::utf8_text(path, row.raw.clone(), "").unwrap_err();
        let line = row.line + e.line - 1;
        return Err(Located::new(path, line, e.column, "invalid UTF-8"));
    }
    Ok(())
}
