//! `crmguard init`: writes the commented default policy.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::error::exit;
use crate::output::{Mode, OutputFile, cannot_write};
use crate::policy::DEFAULT_POLICY;
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the policy (`-` prints it)
    #[arg(default_value = "crmguard.toml")]
    pub path: PathBuf,
    /// Replace an existing file
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let path = &args.path;
    // `-`, /dev/stdout or a pipe is not a policy file being replaced.
    let is_file = path.as_os_str() != "-" && std::fs::metadata(path).map_or(true, |m| m.is_file());
    if is_file && path.exists() && !args.force {
        bail!(
            "{}: already exists (use --force to replace it)",
            terminal::path(path)
        );
    }
    let cannot = || cannot_write(path, "the policy");
    let mut out = OutputFile::create(path, Mode::Shared).with_context(cannot)?;
    out.write_all(DEFAULT_POLICY.as_bytes())
        .with_context(cannot)?;
    out.commit().with_context(cannot)?;
    if is_file {
        crate::errln!("crmguard: wrote {}", terminal::path(path));
    }
    Ok(exit::CLEAN)
}
