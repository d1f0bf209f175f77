//! `crmguard init`: writes the commented default policy.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::error::exit;
use crate::output::write_atomically;
use crate::policy::DEFAULT_POLICY;

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
    if args.path.as_os_str() == "-" {
        std::io::stdout().write_all(DEFAULT_POLICY.as_bytes())?;
        return Ok(exit::CLEAN);
    }
    if args.path.exists() && !args.force {
        bail!(
            "{}: already exists (use --force to replace it)",
            args.path.display()
        );
    }
    write_atomically(&args.path, DEFAULT_POLICY.as_bytes())
        .with_context(|| format!("{}: cannot write", args.path.display()))?;
    eprintln!("crmguard: wrote {}", args.path.display());
    Ok(exit::CLEAN)
}
