//! Command-line parsing and dispatch. Each subcommand lives in its own file
//! under `commands/`; this file only routes to them and turns errors into one
//! line on stderr and an exit status.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands;
use crate::error::{exit, final_status, print_error};
use crate::terminal;

#[derive(Parser, Debug)]
#[command(
    name = "crmguard",
    version,
    about = "Gate CSV/JSON imports into CRMs: synthetic-content disclosure, undisclosed AI text, clean and quarantine files",
    long_about = None,
    after_help = "Exit status: 0 nothing quarantined (or only rows in the --baseline), 1 rows quarantined, 2 error.\nDocs: README.md and docs/ in the crmguard repository."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan files into clean, quarantine and report outputs
    Scan(commands::scan::Args),
    /// Write a commented default policy file
    Init(commands::init::Args),
    /// Add or refresh provenance_hash on a generator's own file (the producer side)
    Hash(commands::hash::Args),
    /// Score text for machine writing, with the reasons
    Detect(commands::detect::Args),
    /// Measure the detector on labelled data (AUROC, TPR at low FPR, precision/recall)
    Eval(commands::eval::Args),
    /// Set the detector's thresholds from genuine texts of your own
    Calibrate(commands::calibrate::Args),
    /// Train a detector model on labelled data
    Train(commands::train::Args),
    /// Release quarantined rows an approver lets go (recorded in the audit log)
    Release(commands::release::Args),
    /// Verify, list and export the audit log
    Audit(commands::audit::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(commands::completions::Args),
    /// Print the manual page (roff), or write one per subcommand
    Man(commands::man::Args),
    /// Work with reports: merge the reports of a dump's shards into one
    Report(commands::report::Args),
}

/// Runs the command line; returns the process exit status.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // A usage error goes to stderr: exit 2 however that write goes.
            if e.use_stderr() {
                crate::errln!("crmguard: {}", usage_error(&e));
                return ExitCode::from(exit::ERROR);
            }
            // Help and the version go to stdout, and fail as a command's
            // output does (`--help >/dev/full`, `--help | head -1`).
            let printed = e.print().map_err(|err| terminal::stdout_error(err).into());
            return ExitCode::from(outcome(printed.map(|()| exit::CLEAN)));
        }
    };
    if !matches!(cli.command, Command::Scan(_)) {
        remove_temps_on_signal();
    }
    let result = match cli.command {
        Command::Scan(args) => commands::scan::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Hash(args) => commands::hash::run(args),
        Command::Detect(args) => commands::detect::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Calibrate(args) => commands::calibrate::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Release(args) => commands::release::run(args),
        Command::Audit(args) => commands::audit::run(args),
        Command::Completions(args) => commands::completions::run(args, Cli::command()),
        Command::Man(args) => commands::man::run(args, Cli::command()),
        Command::Report(args) => commands::report::run(args),
    };
    ExitCode::from(final_status(outcome(result)))
}

/// Every command but `scan` (which stops between batches, with handlers of
/// its own) stops at once on Ctrl-C, SIGTERM or SIGHUP, as without a
/// handler, but removes the temp files it was writing first: they hold rows
/// (`hash --in-place`), a model or an export, are private, and sit where no
/// later scan cleans up (a scan removes those of its out dir only).
fn remove_temps_on_signal() {
    let _ = ctrlc::set_handler(|| {
        crate::output::remove_live_temps();
        // Not scan's "no outputs written": a release stopped between its
        // rename and its commit record has put its file in place.
        crate::errln!("crmguard: error: interrupted");
        std::process::exit(exit::INTERRUPTED as i32);
    });
}

/// A usage error on one line, as every error is (README, "Exit status"):
/// clap's message and its tips, without the usage block and the blank lines
/// around it. `errln!` escapes what the user typed, as in any error.
fn usage_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut out = String::new();
    let mut in_usage = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            in_usage = false;
        } else if line.starts_with("Usage:") {
            in_usage = true;
        } else if !in_usage && !line.starts_with("For more information") {
            // "were not provided:" goes on with its list.
            if !out.is_empty() {
                out.push_str(if out.ends_with(':') { " " } else { "; " });
            }
            out.push_str(line.trim());
        }
    }
    out + "; see --help"
}

/// The exit status of a command's result: an error is printed, except
/// stdout's reader going away.
fn outcome(result: anyhow::Result<u8>) -> u8 {
    match result {
        Ok(code) => code,
        // `crmguard hash big.csv | head`: the reader had enough.
        Err(e) if terminal::is_closed_stdout(&e) => exit::CLEAN,
        Err(e) => {
            print_error(&e);
            exit::ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap checks a command's definition only when it is built, in debug
    /// builds: a clash between flattened argument groups would otherwise
    /// first show as a panic in an integration test of that subcommand.
    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
