//! `crmguard scan`: the audited import gate.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, anyhow};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::commands::judge::Judge;
use crate::detector::Sensitivity;
use crate::errln;
use crate::error::{exit, print_error};
use crate::input::{Format, parse_delimiter, parse_format};
use crate::output::{remove_live_temps, remove_stale_temps};
use crate::policy::Policy;
use crate::policy::PolicySource;
use crate::report::{AiText, Report};
use crate::scan::{Input, Interrupted, ScanConfig, check_audit_log, check_plans, scan};
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to scan (CSV, TSV, JSON array, NDJSON; .gz/.zst too); `-` reads stdin
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Policy file [default: ./crmguard.toml if present, else the built-in policy]
    #[arg(short, long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Directory for the clean, quarantine and report files
    #[arg(short, long, value_name = "DIR", default_value = "crmguard-out")]
    pub out_dir: PathBuf,
    /// Input format, instead of guessing from the extension
    #[arg(short, long, value_parser = parse_format)]
    pub format: Option<Format>,
    /// CSV delimiter: comma, tab, semicolon, pipe, caret, backquote (or the character)
    #[arg(short, long, value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// Target object of every row (e.g. Lead, Case), for the policy's per-object rules
    #[arg(long, value_name = "NAME")]
    pub object: Option<String>,
    /// Append-only audit log of scans and quarantined rows [default: OUT_DIR/crmguard-audit.jsonl]
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Worker threads [default: all cores]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// When to exit with status 1
    #[arg(long, value_enum, default_value_t = FailOn::Quarantine)]
    pub fail_on: FailOn,
    /// Detector preset, instead of the policy's [detector] sensitivity (its
    /// threshold keys still apply)
    #[arg(long, value_enum, value_name = "PRESET")]
    pub sensitivity: Option<Sensitivity>,
    /// Judge timestamps as of this RFC 3339 time instead of now (reproducible re-runs)
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    pub now: Option<jiff::Timestamp>,
    /// No progress bar and no summary; errors are still printed
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    /// Exit 1 when any row was quarantined
    Quarantine,
    /// Exit 1 on quarantined rows, rows listed for review or any file-level finding
    Warning,
    /// Exit 0 unless there was an error (cron jobs that only want the files)
    Never,
}

fn parse_now(s: &str) -> Result<jiff::Timestamp, String> {
    crate::rules::parse_timestamp(s)
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time with an offset"))
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let policy = Policy::discover(args.policy.as_deref())?;
    let (planned, audit_log) = plan_run(&args, &policy)?;

    let jobs = args.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| anyhow!("cannot start {jobs} worker threads: {e}"))?;

    let interrupted = Arc::new(AtomicBool::new(false));
    let critical = Arc::new(AtomicBool::new(false));
    {
        let (flag, critical) = (interrupted.clone(), critical.clone());
        // Ctrl-C, SIGTERM and SIGHUP alike: the first lets the scan stop
        // between batches and remove its temp files; a second one, for a
        // scan blocked on a read, removes them and exits now, unless the
        // outputs are being committed, which takes moments.
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) && !critical.load(Ordering::SeqCst) {
                remove_live_temps();
                std::process::exit(exit::INTERRUPTED as i32);
            }
        });
    }

    // One detector for the whole run: the built-in model, or a retrained
    // one the policy names.
    let judge = match policy.detector.enabled {
        true => Some(Judge::load(&policy, None, args.sensitivity)?),
        false => None,
    };
    let cfg = ScanConfig {
        policy: &policy,
        scan_time: args.now.unwrap_or_else(jiff::Timestamp::now),
        interrupted: &interrupted,
        progress: None,
        object: args.object.as_deref(),
        audit_log: &audit_log,
        critical: &critical,
        detector: judge.as_ref().map(Judge::settings),
    };
    let status = pool.install(|| scan_all(&planned, &cfg, &args));
    if status != exit::INTERRUPTED && interrupted.load(Ordering::SeqCst) {
        // The signal came while the last file's outputs were being
        // committed: they are complete, but the run was still interrupted.
        errln!("crmguard: interrupted");
        return Ok(exit::INTERRUPTED);
    }
    Ok(status)
}

/// Plans every input and checks the plan as a whole; creates the out dir
/// and the log's, and removes temp files killed scans left in the out dir.
/// Returns the plans (an input that could not be planned is its error) and
/// the audit log's path.
fn plan_run(args: &Args, policy: &Policy) -> anyhow::Result<(Vec<anyhow::Result<Input>>, PathBuf)> {
    // An input that cannot be planned (a directory, an unknown extension)
    // is an error of its own, like a missing file: the others still scan.
    let planned: Vec<anyhow::Result<Input>> = args
        .files
        .iter()
        .map(|f| Input::plan(f, args.format, args.delimiter, &args.out_dir))
        .collect();
    let inputs: Vec<&Input> = planned.iter().filter_map(|p| p.as_ref().ok()).collect();
    let mut reads: Vec<&Path> = Vec::new();
    if let PolicySource::File(p) = &policy.source {
        reads.push(p);
    }
    if let Some(model) = &policy.detector.model {
        reads.push(model);
    }
    check_plans(&inputs, &reads)?;
    let audit_log = args
        .audit_log
        .clone()
        .unwrap_or_else(|| args.out_dir.join(crate::audit::DEFAULT_FILE_NAME));
    check_audit_log(&audit_log, &inputs, &reads)?;
    let log_dir = audit_log.parent().filter(|d| !d.as_os_str().is_empty());
    for dir in [Some(args.out_dir.as_path()), log_dir]
        .into_iter()
        .flatten()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the directory", terminal::path(dir)))?;
    }
    for stale in remove_stale_temps(&args.out_dir).unwrap_or_default() {
        if !args.quiet {
            errln!(
                "crmguard: removed {}, left by a crmguard process that no longer runs",
                terminal::path(&stale)
            );
        }
    }
    Ok((planned, audit_log))
}

/// Scans the inputs in order, printing each one's summary or error;
/// returns the run's exit status.
fn scan_all(planned: &[anyhow::Result<Input>], base: &ScanConfig, args: &Args) -> u8 {
    let show = !args.quiet && std::io::stderr().is_terminal();
    let mut status = exit::CLEAN;
    for input in planned {
        let input = match input {
            Ok(input) => input,
            Err(e) => {
                print_error(e);
                status = exit::ERROR;
                continue;
            }
        };
        let bar = show.then(|| progress_bar(&input.path));
        let cfg = ScanConfig {
            progress: bar.as_ref(),
            ..*base
        };
        let result = scan(input, &cfg);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match result {
            Ok(report) => {
                if !args.quiet {
                    terminal::err_text(&summary(&report, &input.outputs.report));
                }
                let fails = match args.fail_on {
                    FailOn::Quarantine => report.rows_quarantined > 0,
                    FailOn::Warning => {
                        report.rows_quarantined > 0
                            || !report.file_findings.is_empty()
                            || report.ai_text.as_ref().is_some_and(|ai| ai.rows_review > 0)
                    }
                    FailOn::Never => false,
                };
                if fails && status == exit::CLEAN {
                    status = exit::FINDINGS;
                }
            }
            Err(e) if e.is::<Interrupted>() => {
                print_error(&e);
                return exit::INTERRUPTED;
            }
            Err(e) => {
                print_error(&e);
                status = exit::ERROR;
            }
        }
    }
    status
}

fn progress_bar(path: &Path) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(terminal::path(path).to_string());
    bar
}

/// The human summary of one file's scan.
pub fn summary(report: &Report, report_path: &Path) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let review = match &report.ai_text {
        Some(ai) if ai.rows_review > 0 => format!(" ({} for review)", ai.rows_review),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "{}: {} row{}: {} clean{review}, {} quarantined",
        terminal::path(&report.input.path),
        report.rows_total,
        if report.rows_total == 1 { "" } else { "s" },
        report.rows_clean,
        report.rows_quarantined
    );
    for (code, n) in &report.reasons {
        let _ = write!(s, "  {code:<24} {n:>8}");
        if *code == "MISSING_DISCLOSURE" && !report.missing_fields.is_empty() {
            let detail: Vec<String> = report
                .missing_fields
                .iter()
                .map(|(f, n)| format!("{} {n}", terminal::escape(f)))
                .collect();
            let _ = write!(s, "  ({})", detail.join(", "));
        }
        s.push('\n');
    }
    for f in &report.file_findings {
        let _ = writeln!(s, "  warning {}: {}", f.code, terminal::escape(&f.message));
    }
    if let Some(ai) = &report.ai_text {
        detector_summary(ai, &mut s);
    }
    let outputs: Vec<String> = report
        .outputs
        .iter()
        .map(|o| terminal::path(&o.summary.path).to_string())
        .chain([terminal::path(report_path).to_string()])
        .collect();
    let _ = writeln!(s, "  wrote {}", outputs.join(", "));
    s
}

/// The detector's lines of the summary.
fn detector_summary(ai: &AiText, s: &mut String) {
    use std::fmt::Write;
    if ai.text_columns.is_empty() {
        // Said plainly: a scan that judged nothing must not read like one that
        // found nothing.
        let _ = writeln!(
            s,
            "  detector: judged nothing: no column holds prose; name the free-text \
             columns in [detector] text_columns if the file has any"
        );
    } else {
        let review = match ai.review_threshold {
            Some(_) => format!(", {} for review", ai.rows_review),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "  detector ({}): {} rows judged in {}, {} flagged{review}; {} too short, {} disclosed",
            ai.sensitivity,
            ai.rows_judged,
            terminal::escape(&ai.text_columns.join(", ")),
            ai.rows_flagged,
            ai.rows_too_short,
            ai.rows_disclosed
        );
        if ai.review.len() < ai.rows_review as usize {
            let _ = writeln!(
                s,
                "  the report lists the first {} rows for review",
                ai.review.len()
            );
        }
    }
    if !ai.text_columns_missing.is_empty() {
        let _ = writeln!(
            s,
            "  warning: no record has the text column(s) {} named in [detector] text_columns",
            ai.text_columns_missing
                .iter()
                .map(|c| format!("`{}`", terminal::escape(c)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
