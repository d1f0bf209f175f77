//! `crmguard hash`: the producer side of the provenance hash. A generator
//! (an AI vendor, an internal tool) runs it on its own file to add or
//! refresh `provenance_hash` on synthetic rows, with exactly the code that
//! `crmguard scan` verifies with.

use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::error::Located;
use crate::error::exit;
use crate::input::{
    Content, Format, Header, RecordReader, Row, open_input, parse_delimiter, reader_for,
};
use crate::output::{Compressed, Mode, OutputFile};
use crate::policy::Policy;
use crate::rules::provenance::hash_row;
use crate::rules::{Columns, Context, NoView, build_view};
use crate::scan::Input;
use crate::spec::Field;
use crate::spec::provenance::Algorithm;
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file to hash (CSV, TSV, JSON array, NDJSON; `-` reads stdin)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write here instead of stdout
    #[arg(short, long, value_name = "FILE", conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
    /// Rewrite FILE itself (atomically)
    #[arg(long)]
    pub in_place: bool,
    /// Hash algorithm
    #[arg(short, long, value_enum, default_value_t = Alg::Blake3)]
    pub algorithm: Alg,
    /// Hash every row, not only rows whose is_synthetic is true
    #[arg(long)]
    pub all: bool,
    /// Policy file (for column aliases) [default: $CRMGUARD_POLICY, else the nearest crmguard.toml up to the repository root]
    #[arg(short, long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Input format, instead of guessing from the extension
    #[arg(short, long, value_parser = crate::input::parse_format)]
    pub format: Option<Format>,
    /// CSV delimiter
    #[arg(short, long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    Blake3,
    Sha256,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let policy = Policy::discover(args.policy.as_deref())?;
    let algorithm = match args.algorithm {
        Alg::Blake3 => Algorithm::Blake3,
        Alg::Sha256 => Algorithm::Sha256,
    };
    if args.in_place && args.file.as_os_str() == "-" {
        bail!("--in-place needs a file, not stdin");
    }
    let input = Input::plan(
        &args.file,
        args.format,
        args.delimiter,
        std::path::Path::new("."),
        false,
    )?;
    let path = &input.path;
    if input.format == Format::Parquet {
        bail!(
            "{}: `hash` writes CSV and JSON only; hash the rows before writing Parquet",
            path.display()
        );
    }
    let target = args
        .output
        .clone()
        .or(args.in_place.then(|| args.file.clone()));
    if let Some(t) = &target {
        refuse_rewriting_in_place(t, path, args.in_place)?;
    }
    let src = open_input(path, None)?;
    let bom = src.bom;
    let mut reader = reader_for(input.format, src.reader, path, policy.max_record_bytes)?;
    let (mut out, spool) = open_output(target.as_deref())?;
    if bom {
        out.write_all(b"\xEF\xBB\xBF")?;
    }
    let columns = reader.header().map(|h| Columns::resolve(h, &policy));
    let place = match (reader.header(), &columns) {
        (Some(h), Some(cols)) => write_header(&mut out, h, cols, &policy, input.format, path)?,
        _ => Placement {
            csv_index: None,
            csv_append: false,
        },
    };
    let ctx = Context {
        policy: &policy,
        scan_time: jiff::Timestamp::now(),
        columns: columns.as_ref(),
        object_flag: None,
        object_from_file: None,
        ai: None,
        media: None,
    };
    let job = Job {
        path,
        format: input.format,
        algorithm,
        all: args.all,
        place,
    };
    let dest = match &target {
        Some(p) if spool.is_none() => terminal::path(p).to_string(),
        _ => "stdout".into(),
    };
    let (rows, hashed) =
        hash_records(&mut *reader, &mut out, &ctx, &job).map_err(|e| name_output(e, &dest))?;
    out.commit().map_err(|e| name_output(e.into(), &dest))?;
    if let Some(f) = &spool {
        release(f)?;
    }
    crate::errln!(
        "crmguard: hashed {hashed} of {rows} records ({}) -> {dest}",
        match algorithm {
            Algorithm::Blake3 => "blake3",
            Algorithm::Sha256 => "sha256",
        }
    );
    Ok(exit::CLEAN)
}

/// A named pipe or a device is written in place, not replaced: opened for
/// writing as the file being read, it kept its own reader from ever seeing
/// the end, and the command hung for good.
fn refuse_rewriting_in_place(target: &Path, input: &Path, in_place: bool) -> anyhow::Result<()> {
    if (in_place || crate::output::same_file(target, input))
        && std::fs::metadata(input).is_ok_and(|m| !m.is_file())
    {
        bail!(
            "{}: not a regular file (a named pipe or a device): it cannot be rewritten in \
             place; write the output to another file with -o",
            terminal::path(input)
        );
    }
    Ok(())
}

/// A bare I/O error while hashing is the output's (the reader's are
/// located): it says which output, as every other write error does.
fn name_output(e: anyhow::Error, dest: &str) -> anyhow::Error {
    if e.is::<std::io::Error>() {
        e.context(format!("{dest}: cannot write"))
    } else {
        e
    }
}

/// The output for `target`, with the spool it goes through when that is
/// stdout (none or `-`). Records reach stdout only once every one of them is
/// hashed: a consumer reading the pipe must not take the first half of a file
/// whose second half failed (docs/provenance.md). They wait in an unnamed temp
/// file, not in memory, since a generator's file can be of any size.
fn open_output(target: Option<&Path>) -> anyhow::Result<(Compressed, Option<std::fs::File>)> {
    match target {
        Some(p) if p.as_os_str() != "-" => {
            let cannot = || format!("{}: cannot create", terminal::path(p));
            // The producer's own data file: readable as its umask says (or,
            // replacing a file, as that file was), like the input it replaces.
            let out = OutputFile::create(p, Mode::Shared).with_context(cannot)?;
            Ok((Compressed::new(out, Some(p)).with_context(cannot)?, None))
        }
        _ => {
            let f = tempfile::tempfile().context("cannot create a temp file to hold the output")?;
            let writer = io::BufWriter::with_capacity(256 * 1024, f.try_clone()?);
            let out = Compressed::new(OutputFile::Stdout(Box::new(writer)), None)?;
            Ok((out, Some(f)))
        }
    }
}

/// Copies a spooled, committed output to stdout.
fn release(mut spooled: &std::fs::File) -> io::Result<()> {
    spooled.seek(SeekFrom::Start(0))?;
    let mut stdout = terminal::stdout_data();
    io::copy(&mut spooled, &mut stdout)?;
    stdout.flush()
}

/// Writes the CSV header, with a provenance hash column added at the end
/// when it has none, named in the file's own style (Salesforce `__c` names
/// or canonical); returns where each record's hash goes.
fn write_header(
    out: &mut Compressed,
    h: &Header,
    cols: &Columns,
    policy: &Policy,
    format: Format,
    path: &Path,
) -> anyhow::Result<Placement> {
    if let Some((i, dup)) = cols.duplicate() {
        let (line, column) = h.position_of(i);
        bail!(Located::new(
            path,
            line,
            column,
            format!("HEADER_DUPLICATE: {dup}")
        ));
    }
    let csv_index = h
        .names
        .iter()
        .position(|n| policy.field_of(n) == Some(Field::ProvenanceHash));
    out.write_all(&h.raw)?;
    if csv_index.is_none() {
        let salesforce = h.names.iter().any(|n| n.ends_with("__c"));
        let name = if salesforce {
            Field::ProvenanceHash.salesforce_alias()
        } else {
            Field::ProvenanceHash.name()
        };
        let Format::Csv { delimiter } = format else {
            unreachable!("only CSV has a header")
        };
        out.write_all(&[delimiter])?;
        out.write_all(name.as_bytes())?;
    }
    out.write_all(h.terminator.bytes())?;
    Ok(Placement {
        csv_index,
        csv_append: csv_index.is_none(),
    })
}

/// How the records of one file are hashed and written.
struct Job<'a> {
    path: &'a Path,
    format: Format,
    algorithm: Algorithm,
    /// `--all`: hash every record, not only synthetic ones.
    all: bool,
    place: Placement,
}

/// Writes every record with its hash (a JSON array's brackets around them);
/// returns the records read and those hashed.
fn hash_records(
    reader: &mut dyn RecordReader,
    out: &mut Compressed,
    ctx: &Context,
    job: &Job,
) -> anyhow::Result<(u64, u64)> {
    let (mut rows, mut hashed) = (0u64, 0u64);
    let mut row = Row::default();
    let mut first = true;
    if job.format == Format::Json {
        out.write_all(b"[")?;
    }
    while reader.read_row(&mut row)? {
        rows += 1;
        let hash = record_hash(&row, ctx, job)?;
        hashed += u64::from(hash.is_some());
        if job.format == Format::Json {
            out.write_all(if first { b"\n" } else { b",\n" })?;
        }
        first = false;
        write_row(
            out,
            &row,
            job.format,
            hash.as_deref(),
            job.place,
            ctx.policy,
        )?;
    }
    if job.format == Format::Json {
        out.write_all(if first { b"]\n" } else { b"\n]\n" })?;
    }
    Ok((rows, hashed))
}

/// Why a record has no view to hash: "malformed" alone left a producer
/// guessing which of a field count, bad JSON, a repeated key or two aliases
/// of one disclosure column it was.
fn unviewable(row: &Row, why: NoView) -> String {
    match (why, &row.content) {
        (
            NoView::SameField {
                first,
                second,
                field,
            },
            _,
        ) => format!(
            "keys `{}` and `{}` both name the disclosure column {}: keep one",
            crate::error::excerpt(first),
            crate::error::excerpt(second),
            field.name()
        ),
        (_, Content::Malformed) => format!(
            "not a JSON object: {}",
            crate::error::excerpt(&crate::input::why_not_an_object(&row.raw))
        ),
        (_, Content::Csv { .. }) => "malformed (wrong field count)".into(),
        (_, Content::Object(_)) => "malformed".into(),
    }
}

/// The hash of a record that gets one (synthetic, or any with `--all`);
/// an error for a record that cannot be hashed as it stands.
fn record_hash(row: &Row, ctx: &Context, job: &Job) -> anyhow::Result<Option<String>> {
    let fail = |msg: String| {
        Located::new(
            job.path,
            row.line,
            1,
            format!("record {}: {msg}", row.number),
        )
    };
    if !row.utf8 {
        bail!(fail(
            "not valid UTF-8: fix the encoding before hashing".into()
        ));
    }
    let view = build_view(row, ctx).map_err(|why| fail(unviewable(row, why)))?;
    if let Some(cols) = ctx.columns
        && view.len() != cols.len()
    {
        bail!(fail(format!(
            "{} fields where the header has {}",
            view.len(),
            cols.len()
        )));
    }
    if !(job.all || view.synthetic() == Some(true)) {
        return Ok(None);
    }
    let hash = hash_row(&view, job.algorithm).map_err(|name| {
        fail(format!(
            "ai_generated_fields names `{name}`, which the record does not have"
        ))
    })?;
    Ok(Some(hash.to_string()))
}

/// Where a CSV record's hash goes.
#[derive(Clone, Copy)]
struct Placement {
    /// The existing provenance_hash column.
    csv_index: Option<usize>,
    /// No such column: one was added to the header, add a cell.
    csv_append: bool,
}

/// Writes one record with its hash. Untouched records keep their bytes; a
/// CSV record whose existing hash cell changes is re-quoted as needed (the
/// hash covers values, not quoting); a JSON object gets the key spliced in,
/// or is re-serialised when it already had one.
fn write_row(
    out: &mut Compressed,
    row: &Row,
    format: Format,
    hash: Option<&str>,
    place: Placement,
    policy: &Policy,
) -> io::Result<()> {
    match (format, &row.content) {
        (Format::Csv { delimiter }, Content::Csv { .. }) => {
            match (hash, place.csv_index) {
                (Some(h), Some(i)) => {
                    for k in 0..row.csv_len() {
                        if k > 0 {
                            out.write_all(&[delimiter])?;
                        }
                        let value = if k == i {
                            h.as_bytes()
                        } else {
                            row.csv_field(k).unwrap_or_default()
                        };
                        crate::output::write_csv_field(out, value, delimiter)?;
                    }
                }
                _ => out.write_all(&row.raw)?,
            }
            if place.csv_append {
                out.write_all(&[delimiter])?;
                out.write_all(hash.unwrap_or("").as_bytes())?;
            }
            out.write_all(row.terminator.bytes())
        }
        (_, Content::Object(map)) => {
            match hash {
                None => out.write_all(&row.raw)?,
                Some(h) => {
                    let key = map
                        .keys()
                        .find(|k| policy.field_of(k) == Some(Field::ProvenanceHash))
                        .cloned();
                    let salesforce = map.keys().any(|k| k.ends_with("__c"));
                    let new_key = if salesforce {
                        Field::ProvenanceHash.salesforce_alias()
                    } else {
                        Field::ProvenanceHash.name()
                    };
                    match key {
                        Some(k) => {
                            let mut m = map.clone();
                            m.insert(k, serde_json::Value::String(h.to_string()));
                            serde_json::to_writer(&mut *out, &m)?;
                        }
                        None => crate::output::splice_object(
                            out,
                            &row.raw,
                            std::iter::once((
                                new_key,
                                &crate::output::TagValue::Text(h.to_string()),
                            )),
                        )?,
                    }
                }
            }
            if format == Format::Ndjson {
                out.write_all(match row.terminator {
                    crate::input::Terminator::None => b"",
                    t => t.bytes(),
                })?;
            }
            Ok(())
        }
        _ => out.write_all(&row.raw),
    }
}
