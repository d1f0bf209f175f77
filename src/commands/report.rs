//! `crmguard report merge`: one report for a dump scanned in shards.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::error::exit;
use crate::input::read_small_file;
use crate::output::{Mode, OutputFile};
use crate::report::merge::{MAX_REPORT_BYTES, merge, parse};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Sum the reports of one dump's shards into one report: counts and
    /// reasons added up, findings united, every input and output hash kept
    Merge(MergeArgs),
}

#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// Per-file reports (NAME.report.json), or reports merged before
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
    /// Where to write the merged report; `-` for stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    match args.command {
        Command::Merge(m) => run_merge(m),
    }
}

fn run_merge(args: MergeArgs) -> anyhow::Result<u8> {
    let mut parts = Vec::with_capacity(args.reports.len());
    for path in &args.reports {
        if crate::output::same_file(path, &args.output) {
            anyhow::bail!(
                "{}: refusing to write over the input {}",
                args.output.display(),
                path.display()
            );
        }
        // Small regular files only, as a baseline is: a FIFO would block for
        // ever and a device be read until memory runs out.
        let bytes = read_small_file(path, MAX_REPORT_BYTES, "the report")?;
        parts.push(parse(path, bytes)?);
    }
    let mut json = serde_json::to_vec_pretty(&merge(&parts)?)?;
    json.push(b'\n');
    // Through the one output target every `-o` uses: `-` is stdout, and a
    // device, FIFO or symlink is written through, not renamed over.
    // Private, as a scan's report is: it points at quarantined rows.
    let write = || -> std::io::Result<()> {
        let mut out = OutputFile::create(&args.output, Mode::Private)?;
        std::io::Write::write_all(&mut out, &json)?;
        out.commit()
    };
    write().with_context(|| crate::output::cannot_write(&args.output, "the merged report"))?;
    Ok(exit::CLEAN)
}
