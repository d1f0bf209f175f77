//! `crmguard man`: the manual page (roff, from clap_mangen) on stdout, or
//! one page per subcommand into a directory with `--out-dir`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::error::exit;
use crate::output::{Mode, OutputFile};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write crmguard.1 and crmguard-SUBCOMMAND.1 into this directory
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `cmd` is crmguard's whole command line, handed down by the dispatcher.
pub fn run(args: Args, cmd: clap::Command) -> anyhow::Result<u8> {
    let Some(dir) = args.out_dir else {
        let page = render(cmd)?;
        let mut out = crate::terminal::stdout_data();
        out.write_all(&page)
            .and_then(|()| out.flush())
            .context("cannot write the manual page")?;
        return Ok(exit::CLEAN);
    };
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "{}: cannot create the directory",
            crate::terminal::path(&dir)
        )
    })?;
    let subs: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let mut pages = vec![("crmguard.1".to_string(), render(cmd)?)];
    for sub in subs {
        let name = format!("crmguard-{}", sub.get_name());
        // The synopsis shows the bin name: `crmguard scan ...`, as typed,
        // not a bare `scan ...`.
        let typed = format!("crmguard {}", sub.get_name());
        pages.push((
            format!("{name}.1"),
            render(sub.display_name(name).bin_name(typed))?,
        ));
    }
    for (file, page) in pages {
        let path = dir.join(&file);
        OutputFile::create(&path, Mode::Shared)
            .and_then(|mut f| f.write_all(&page).and_then(|()| f.commit()))
            .with_context(|| format!("{}: cannot write", crate::terminal::path(&path)))?;
        crate::errln!("crmguard: wrote {}", crate::terminal::path(&path));
    }
    Ok(exit::CLEAN)
}

fn render(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .context("cannot render the manual page")?;
    Ok(page)
}
