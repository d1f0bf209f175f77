//! `crmguard completions SHELL`: the shell's completion script on stdout
//! (clap_complete), e.g. `crmguard completions bash > /etc/bash_completion.d/crmguard`.

use std::io::Write;

use anyhow::Context;
use clap_complete::Shell;

use crate::error::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// bash, zsh, fish, powershell or elvish
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `cmd` is crmguard's whole command line, handed down by the dispatcher.
pub fn run(args: Args, mut cmd: clap::Command) -> anyhow::Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "crmguard", &mut script);
    let mut out = crate::terminal::stdout_data();
    out.write_all(&script)
        .and_then(|()| out.flush())
        .context("cannot write the completion script")?;
    Ok(exit::CLEAN)
}
