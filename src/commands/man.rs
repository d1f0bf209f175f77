//! `crmguard man`: the manual page (roff, from clap_mangen) on stdout, or
//! one page per subcommand into a directory with `--out-dir`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::error::exit;
use crate::output::{Mode, OutputFile};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write crmguard.1 and a page per subcommand (crmguard-scan.1,
    /// crmguard-audit-verify.1, ...) into this directory
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `cmd` is crmguard's whole command line, handed down by the dispatcher.
pub fn run(args: Args, cmd: clap::Command) -> anyhow::Result<u8> {
    let Some(dir) = args.out_dir else {
        let page = render(without_help(cmd))?;
        let mut out = crate::terminal::stdout_data();
        out.write_all(&page)
            .and_then(|()| out.flush())
            .context("cannot write the manual page")?;
        return Ok(exit::CLEAN);
    };
    if dir.as_os_str() == "-" {
        bail!("--out-dir -: the pages are files; without --out-dir the page goes to stdout");
    }
    // create_dir_all's own words for a file in the way are "File exists",
    // which reads as if the folder were there and the pages could not go in.
    if std::fs::metadata(&dir).is_ok_and(|m| !m.is_dir()) {
        bail!(
            "{}: not a directory: --out-dir names the folder the pages go in",
            crate::terminal::path(&dir)
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "{}: cannot create the directory",
            crate::terminal::path(&dir)
        )
    })?;
    let mut pages = Vec::new();
    collect(without_help(cmd), "crmguard", "crmguard", &mut pages)?;
    // Every page is written before any appears: a page that cannot be
    // written leaves none of the set behind.
    let mut files = Vec::new();
    for (file, page) in &pages {
        let path = dir.join(file);
        let f = OutputFile::create(&path, Mode::Shared)
            .and_then(|mut f| f.write_all(page).map(|()| f))
            .with_context(|| format!("{}: cannot write", crate::terminal::path(&path)))?;
        files.push((path, f));
    }
    for (path, f) in files {
        f.commit()
            .with_context(|| format!("{}: cannot write", crate::terminal::path(&path)))?;
        crate::errln!("crmguard: wrote {}", crate::terminal::path(&path));
    }
    Ok(exit::CLEAN)
}

/// `cmd` without clap's `help` subcommands: a manual page for `crmguard
/// help audit` would repeat `crmguard-audit(1)`, and without this every
/// page's SEE ALSO would name a page for it.
fn without_help(cmd: clap::Command) -> clap::Command {
    cmd.disable_help_subcommand(true)
        .mut_subcommands(without_help)
}

/// The pages of `cmd` and, under it, of every subcommand that is not
/// hidden: `NAME.1`, and `NAME-SUB.1` for each, as clap_mangen's SEE ALSO
/// names them. `typed` is the command line a synopsis shows (`crmguard
/// audit verify`, not a bare `verify`).
fn collect(
    cmd: clap::Command,
    name: &str,
    typed: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let subs: Vec<clap::Command> = (cmd.get_subcommands())
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let page = render(
        cmd.display_name(name.to_string())
            .bin_name(typed.to_string()),
    )?;
    pages.push((format!("{name}.1"), page));
    for sub in subs {
        let sub_name = format!("{name}-{}", sub.get_name());
        let sub_typed = format!("{typed} {}", sub.get_name());
        collect(sub, &sub_name, &sub_typed, pages)?;
    }
    Ok(())
}

fn render(cmd: clap::Command) -> anyhow::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .context("cannot render the manual page")?;
    Ok(page)
}
