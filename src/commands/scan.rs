//! `crmguard scan`: the audited import gate.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::baseline::{Baseline, BaselineWriter};
use crate::commands::judge::Judge;
use crate::detector::Sensitivity;
use crate::errln;
use crate::error::{exit, print_error};
use crate::input::{
    Format, MAX_TRUST_ANCHORS_BYTES, parse_delimiter, parse_format, read_small_file,
};
use crate::media::Inspector;
use crate::output::{Mode, OutputFile, remove_live_temps, remove_stale_temps, sync_parent};
use crate::policy::Policy;
use crate::policy::PolicySource;
use crate::report::run::{BaselineInfo, RunReport};
use crate::report::{ReportFormat, github, summary};
use crate::scan::{
    Input, Interrupted, ScanConfig, check_audit_log, check_plans, check_run_files, keep_apart, scan,
};
use crate::terminal;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files to scan (CSV, TSV, JSON array, NDJSON, Parquet; .gz/.zst too); `-` reads stdin
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Policy file [default: $CRMGUARD_POLICY, else the nearest crmguard.toml up to the repository root, else the built-in policy]
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
    /// Worker threads, at most 512 [default, or 0: all cores]
    #[arg(short, long, value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// When to exit with status 1
    #[arg(long, value_enum, default_value_t = FailOn::Quarantine)]
    pub fail_on: FailOn,
    /// Detector preset, instead of the policy's [detector] sensitivity (its
    /// threshold keys still apply)
    #[arg(long, value_enum, value_name = "PRESET")]
    pub sensitivity: Option<Sensitivity>,
    /// Where relative media paths ([media] columns) start [default: each input's directory]
    #[arg(long, value_name = "DIR")]
    pub media_root: Option<PathBuf>,
    /// Also write NAME.cleanup.csv: each quarantined record's Id, tag or
    /// delete, and the tag fields ([cleanup]), for records already in the CRM
    #[arg(long)]
    pub cleanup_plan: bool,
    /// Judge timestamps as of this RFC 3339 time instead of now (reproducible re-runs)
    #[arg(long, value_name = "TIME", value_parser = parse_now)]
    pub now: Option<jiff::Timestamp>,
    /// No progress bar and no summary; errors are still printed
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the run's report over all inputs: FORMAT is json, sarif, junit,
    /// markdown or html; PATH `-` is stdout. Repeatable
    #[arg(long = "report", value_name = "FORMAT=PATH", value_parser = parse_report)]
    pub reports: Vec<ReportTarget>,
    /// GitHub Actions annotations on stdout [default: github when GITHUB_ACTIONS=true]
    #[arg(long, value_enum, value_name = "KIND")]
    pub annotations: Option<Annotations>,
    /// Rows this baseline records stay quarantined but do not count towards the exit status
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record every quarantined row (blake3 and reasons, never content) as a baseline
    #[arg(long, value_name = "FILE", value_parser = baseline_file)]
    pub write_baseline: Option<PathBuf>,
    /// Transcode inputs from this encoding (e.g. windows-1252) to UTF-8 as they are read;
    /// a byte that is no character in it is an error
    #[arg(long, value_name = "LABEL", value_parser = parse_encoding)]
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// Run inside another program (the Python package): no signal handler
    /// of crmguard's own, the host's Ctrl-C stays the host's.
    #[arg(skip)]
    pub embedded: bool,
}

/// Where one `--report` goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportTarget {
    pub format: ReportFormat,
    /// `-`: stdout.
    pub path: PathBuf,
}

impl ReportTarget {
    fn is_stdout(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

fn parse_report(s: &str) -> Result<ReportTarget, String> {
    let formats = || ReportFormat::ALL.map(ReportFormat::name).join(", ");
    let (format, path) = s.split_once('=').ok_or_else(|| {
        format!(
            "expected FORMAT=PATH (FORMAT: {}), e.g. sarif=crmguard.sarif",
            formats()
        )
    })?;
    let format = ReportFormat::from_name(format)
        .ok_or_else(|| format!("unknown report format {format:?}: use {}", formats()))?;
    if path.is_empty() {
        return Err("the report's PATH is empty (use - for stdout)".into());
    }
    Ok(ReportTarget {
        format,
        path: PathBuf::from(path),
    })
}

/// A baseline is read back by a later run with `--baseline FILE`: `-` is
/// not stdout here, and was a file named `-`.
fn baseline_file(s: &str) -> Result<PathBuf, String> {
    match s {
        "-" => Err("a baseline is a file a later run reads back: name one".into()),
        "" => Err("the baseline's path is empty".into()),
        _ => Ok(PathBuf::from(s)),
    }
}

fn parse_encoding(s: &str) -> Result<&'static encoding_rs::Encoding, String> {
    let enc = encoding_rs::Encoding::for_label(s.trim().as_bytes()).ok_or_else(|| {
        format!("unknown encoding {s:?} (e.g. windows-1252, iso-8859-1, utf-16le)")
    })?;
    // The Encoding Standard maps these labels (ISO-2022-KR, HZ-GB-2312,
    // ISO-2022-CN...) to a decoder that turns a whole file into one U+FFFD,
    // on purpose: it cannot decode them.
    if enc == encoding_rs::REPLACEMENT {
        return Err(format!(
            "{s:?} is an encoding crmguard cannot decode (the Encoding Standard reads it as \
             nothing but one U+FFFD): convert the file to UTF-8 first"
        ));
    }
    Ok(enc)
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Annotations {
    /// `::error file=…,line=…::…` workflow commands
    Github,
    /// None, even under GitHub Actions
    None,
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

/// The most worker threads `-j` takes. Refused above, not clamped, so that a
/// typo (`-j 100000` ran for minutes, starting threads, on a 91 KB file) is
/// an error the user sees. 512 is above the core count of the largest
/// machines a scan runs on (cloud hosts top out near 448 vCPUs) and starts
/// in milliseconds; more threads than cores only add overhead.
pub const MAX_JOBS: usize = 512;

fn parse_jobs(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of threads"))?;
    if n > MAX_JOBS {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        return Err(format!(
            "at most {MAX_JOBS} worker threads (this machine has {cores} cores; \
             threads beyond that only add overhead)"
        ));
    }
    Ok(n)
}

/// `--now`: the range rows' timestamps are judged in, since the scan time is
/// what they are compared with, and what the `checked_at` tag (a Salesforce
/// datetime) holds.
fn parse_now(s: &str) -> Result<jiff::Timestamp, String> {
    crate::rules::parse_timestamp_checked(s)
        .map_err(|e| format!("{:?} {e}", crate::error::excerpt(s)))
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let run_started = jiff::Timestamp::now();
    let policy = Policy::discover(args.policy.as_deref())?;
    // One detector for the whole run: the built-in model, or a retrained
    // one the policy names. Loaded before the run's folders are made, so
    // that a model that does not load, or thresholds set for another,
    // leave nothing behind.
    let judge = match policy.detector.enabled {
        true => Some(Judge::load(&policy, None, args.sensitivity)?),
        false => None,
    };
    let (planned, audit_log) = plan_run(&args, &policy)?;
    let annotate = annotations(&args)?;
    let baseline = args.baseline.as_deref().map(Baseline::load).transpose()?;
    let mut new_baseline = args
        .write_baseline
        .as_deref()
        .map(|p| {
            BaselineWriter::create(p, run_started)
                .with_context(|| format!("{}: cannot create the baseline", terminal::path(p)))
        })
        .transpose()?;

    let jobs = args.jobs.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| anyhow!("cannot start {jobs} worker threads: {e}"))?;

    let interrupted = Arc::new(AtomicBool::new(false));
    let critical = Arc::new(AtomicBool::new(false));
    if !args.embedded {
        handle_signals(&interrupted, &critical);
    }

    let inspector = media_inspector(&policy)?;
    let cfg = ScanConfig {
        policy: &policy,
        scan_time: args.now.unwrap_or_else(jiff::Timestamp::now),
        interrupted: &interrupted,
        progress: None,
        object: args.object.as_deref(),
        audit_log: &audit_log,
        critical: &critical,
        detector: judge.as_ref().map(Judge::settings),
        baseline: baseline.as_ref(),
        write_baseline: new_baseline.is_some(),
        // UTF-8 is what an input is read as anyway; "transcoding" from it
        // would turn each invalid byte into U+FFFD and pass the row clean,
        // where reading it as it is quarantines it (ENCODING_INVALID).
        encoding: args.encoding.filter(|e| *e != encoding_rs::UTF_8),
        media: inspector.as_ref(),
        media_root: args.media_root.as_deref(),
    };
    // Opened before any file is scanned, as the baseline is: a report path
    // that cannot be written is found now, not after every input's outputs
    // and audit records are committed. Private: reports show rows' cells,
    // as quarantine files do.
    let report_files = (args.reports.iter())
        .map(|t| {
            OutputFile::create(&t.path, Mode::Private)
                .with_context(|| format!("{}: cannot write the report", terminal::path(&t.path)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut run = RunReport::new(run_started, fail_on_name(args.fail_on));
    run.baseline = baseline.as_ref().map(|b| BaselineInfo {
        path: b.path.clone(),
        rows: b.len() as u64,
    });
    let status = pool.install(|| scan_all(&planned, &cfg, &args, &mut run, &mut new_baseline))?;
    if status != exit::INTERRUPTED && interrupted.load(Ordering::SeqCst) {
        // The signal came while the last file's outputs were being
        // committed: they are complete, but the run was still interrupted.
        errln!("crmguard: interrupted");
        return Ok(exit::INTERRUPTED);
    }
    if status == exit::INTERRUPTED {
        return Ok(status);
    }
    run.exit_status = status;
    if !args.quiet && args.files.len() > 1 {
        summary::print(&summary::total(&run.totals));
    }
    finish(&args, &run, report_files, new_baseline, annotate)?;
    Ok(status)
}

/// Ctrl-C, SIGTERM and SIGHUP alike: the first sets `interrupted`, which
/// lets the scan stop between batches and remove its temp files; a second
/// one, for a scan blocked on a read, removes them and exits now, unless
/// the outputs are being committed (`critical`), which takes moments.
fn handle_signals(interrupted: &Arc<AtomicBool>, critical: &Arc<AtomicBool>) {
    let (flag, critical) = (interrupted.clone(), critical.clone());
    let signals = std::sync::atomic::AtomicUsize::new(0);
    let _ = ctrlc::set_handler(move || {
        flag.store(true, Ordering::SeqCst);
        let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
        if signals.fetch_add(1, Ordering::SeqCst) == 0 {
            // A scan blocked on a read of stdin cannot stop until its input
            // ends: say so, and how to stop it now. The line also tells a
            // caller that the signal was seen, before any output is placed.
            let say =
                || errln!("crmguard: stopping at the next batch; a second signal stops at once");
            match bar {
                Some(bar) => bar.suspend(say),
                None => say(),
            }
        } else if !critical.load(Ordering::SeqCst) {
            remove_live_temps();
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            print_error(&Interrupted.into());
            std::process::exit(exit::INTERRUPTED as i32);
        }
    });
    // ctrlc calls its handler on a thread of its own, moments after the
    // signal: a scan whose input ended meanwhile would commit its
    // outputs although the signal came first. signal-hook sets the flag
    // inside the signal handler itself (an atomic store is safe there),
    // and calls ctrlc's handler after it.
    #[cfg(unix)]
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(sig, interrupted.clone());
    }
}

/// A media root that is not a directory (a typo, an unmounted share) would
/// make every relative media path MEDIA_MISSING and quarantine the file row
/// by row, which reads as a data problem rather than the usage error it is.
fn check_media_root(root: Option<&Path>) -> anyhow::Result<()> {
    let Some(root) = root else {
        return Ok(());
    };
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => bail!("--media-root {}: not a directory", terminal::path(root)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("--media-root {}: no such directory", terminal::path(root))
        }
        Err(e) => bail!("--media-root {}: {e}", terminal::path(root)),
    }
}

/// Plans every input and checks the plan as a whole; creates the out dir
/// and the log's, and removes temp files killed scans left in the out dir.
/// Returns the plans (an input that could not be planned is its error) and
/// the audit log's path.
fn plan_run(args: &Args, policy: &Policy) -> anyhow::Result<(Vec<anyhow::Result<Input>>, PathBuf)> {
    if args.out_dir.as_os_str() == "-" {
        bail!(
            "--out-dir -: outputs are files, not a stream; use --report FORMAT=- for a report on stdout"
        );
    }
    if args.reports.iter().filter(|r| r.is_stdout()).count() > 1 {
        bail!("only one --report can go to stdout (-)");
    }
    check_media_root(args.media_root.as_deref())?;
    // An input that cannot be planned (a directory, an unknown extension)
    // is an error of its own, like a missing file: the others still scan.
    let mut planned: Vec<anyhow::Result<Input>> = args
        .files
        .iter()
        .map(|f| {
            Input::plan(
                f,
                args.format,
                args.delimiter,
                &args.out_dir,
                args.cleanup_plan,
            )
        })
        .collect();
    let mut inputs: Vec<&mut Input> = planned.iter_mut().filter_map(|p| p.as_mut().ok()).collect();
    keep_apart(&mut inputs, &args.out_dir);
    let inputs: Vec<&Input> = inputs.into_iter().map(|i| &*i).collect();
    let mut reads: Vec<&Path> = Vec::new();
    if let PolicySource::File(p) = &policy.source {
        reads.push(p);
    }
    if let Some(model) = &policy.detector.model {
        reads.push(model);
    }
    if let Some(anchors) = &policy.media.trust_anchors {
        reads.push(anchors);
    }
    check_plans(&inputs, &reads)?;
    let audit_log = args
        .audit_log
        .clone()
        .unwrap_or_else(|| args.out_dir.join(crate::audit::DEFAULT_FILE_NAME));
    check_audit_log(&audit_log, &inputs, &reads)?;
    let written: Vec<(&Path, &str)> = args
        .reports
        .iter()
        .filter(|r| !r.is_stdout())
        .map(|r| (r.path.as_path(), "a report"))
        .chain(
            args.write_baseline
                .iter()
                .map(|p| (p.as_path(), "the baseline")),
        )
        .collect();
    check_run_files(&written, &audit_log, &inputs, &reads)?;
    let log_dir = audit_log.parent().filter(|d| !d.as_os_str().is_empty());
    make_dir(&args.out_dir)?;
    // The folders outputs go to: the out dir, and those keep_apart chose.
    let mut out_dirs: Vec<&Path> = vec![&args.out_dir];
    for dir in inputs.iter().filter_map(|i| i.outputs.report.parent()) {
        if !out_dirs.contains(&dir) {
            out_dirs.push(dir);
        }
    }
    for dir in out_dirs.iter().skip(1).copied().chain(log_dir) {
        make_dir(dir)?;
    }
    for dir in out_dirs {
        for stale in remove_stale_temps(dir).unwrap_or_default() {
            if !args.quiet {
                errln!(
                    "crmguard: removed {}, left by a crmguard process that no longer runs",
                    terminal::path(&stale)
                );
            }
        }
    }
    Ok((planned, audit_log))
}

/// Creates `dir` and its parents, each made durable in its own parent
/// before an output that a commit record vouches for is renamed into it.
/// A file in the way is named as such: "File exists" says nothing of which.
fn make_dir(dir: &Path) -> anyhow::Result<()> {
    let shown = terminal::path(dir);
    let missing: Vec<&Path> = (dir.ancestors())
        .filter(|a| !a.as_os_str().is_empty())
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .collect();
    if let Err(e) = std::fs::create_dir_all(dir) {
        if let Some(file) = (dir.ancestors())
            .filter(|a| !a.as_os_str().is_empty())
            .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()))
        {
            if file == dir {
                bail!("{shown}: not a directory");
            }
            bail!(
                "{shown}: cannot create the directory: {} is not a directory",
                terminal::path(file)
            );
        }
        return Err(e).with_context(|| format!("{shown}: cannot create the directory"));
    }
    if !std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        bail!("{shown}: not a directory");
    }
    for made in missing {
        sync_parent(made)
            .with_context(|| format!("{}: cannot sync the directory", terminal::path(made)))?;
    }
    Ok(())
}

/// Scans the inputs in order, printing each one's summary or error and
/// adding it to the run's report; returns the run's exit status.
fn scan_all(
    planned: &[anyhow::Result<Input>],
    base: &ScanConfig,
    args: &Args,
    run: &mut RunReport,
    new_baseline: &mut Option<BaselineWriter>,
) -> anyhow::Result<u8> {
    let show = !args.quiet && std::io::stderr().is_terminal();
    let mut status = exit::CLEAN;
    for (input, given) in planned.iter().zip(&args.files) {
        let input = match input {
            Ok(input) => input,
            Err(e) => {
                print_error(e);
                run.add_failed(given.clone(), one_line(e));
                status = exit::ERROR;
                continue;
            }
        };
        let bar = show.then(|| progress_bar(&input.path));
        set_active_bar(bar.clone());
        let cfg = ScanConfig {
            progress: bar.as_ref(),
            ..*base
        };
        let result = scan(input, &cfg);
        set_active_bar(None);
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match result {
            Ok(done) => {
                let report = done.report;
                if !args.quiet {
                    summary::print(&summary::file(&report, &input.outputs.report));
                }
                if let (Some(w), Some(rows)) = (new_baseline.as_mut(), done.baseline_rows) {
                    w.add(&input.path, rows)
                        .context("cannot write the baseline")?;
                }
                if fails(&report, args.fail_on) && status == exit::CLEAN {
                    status = exit::FINDINGS;
                }
                run.add_scanned(report, done.samples);
            }
            Err(e) if e.is::<Interrupted>() => {
                // In a run over many files the ones before this one kept
                // their outputs: the message says which file got none.
                let file = match input.path.as_os_str() == "-" {
                    true => "stdin".into(),
                    false => terminal::path(&input.path).to_string(),
                };
                print_error(&e.context(file));
                return Ok(exit::INTERRUPTED);
            }
            Err(e) => {
                print_error(&e);
                run.add_failed(input.path.clone(), one_line(&e));
                status = exit::ERROR;
            }
        }
    }
    Ok(status)
}

/// Whether to print GitHub annotations: asked for, or under GitHub Actions
/// unless a report already takes stdout.
fn annotations(args: &Args) -> anyhow::Result<bool> {
    let report_on_stdout = args.reports.iter().any(ReportTarget::is_stdout);
    match args.annotations {
        Some(Annotations::Github) if report_on_stdout => {
            bail!("--annotations github and --report FORMAT=- would both write to stdout")
        }
        Some(Annotations::Github) => Ok(true),
        Some(Annotations::None) => Ok(false),
        None => Ok(
            std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") && !report_on_stdout,
        ),
    }
}

/// Writes the run's reports (into `files`, opened for them), annotations
/// and baseline. A reader of stdout that goes away (`| head`) takes what it
/// read: the files after it are still written, and the run's status stands.
fn finish(
    args: &Args,
    run: &RunReport,
    files: Vec<OutputFile>,
    baseline: Option<BaselineWriter>,
    annotate: bool,
) -> anyhow::Result<()> {
    let gone = |r: anyhow::Result<()>| match r {
        Err(e) if terminal::is_closed_stdout(&e) => Ok(()),
        r => r,
    };
    for (target, mut file) in args.reports.iter().zip(files) {
        let bytes = target.format.render(run);
        gone(
            file.write_all(&bytes)
                .and_then(|()| file.commit())
                .with_context(|| {
                    format!("{}: cannot write the report", terminal::path(&target.path))
                }),
        )?;
    }
    if annotate {
        let mut out = terminal::stdout_data();
        gone(
            out.write_all(github::render(run).as_bytes())
                .and_then(|()| out.flush())
                .context("cannot write annotations"),
        )?;
    }
    if let (Some(w), Some(path)) = (baseline, &args.write_baseline) {
        let rows = w.rows();
        w.commit()
            .with_context(|| format!("{}: cannot write the baseline", terminal::path(path)))?;
        if !args.quiet {
            errln!(
                "baseline: {rows} quarantined row{} recorded in {}",
                if rows == 1 { "" } else { "s" },
                terminal::path(path)
            );
        }
    }
    Ok(())
}

/// Whether a file's scan makes the run exit 1. Rows a baseline covers do
/// not count.
fn fails(report: &crate::report::Report, fail_on: FailOn) -> bool {
    let new_rows = report.rows_quarantined - report.rows_baselined.unwrap_or(0);
    match fail_on {
        FailOn::Quarantine => new_rows > 0,
        FailOn::Warning => {
            new_rows > 0
                || !report.file_findings.is_empty()
                || report.ai_text.as_ref().is_some_and(|ai| ai.rows_review > 0)
                || report
                    .media
                    .as_ref()
                    .is_some_and(|m| m.counts.unchecked > 0)
                || report.cleanup.as_ref().is_some_and(|c| c.without_id > 0)
        }
        FailOn::Never => false,
    }
}

fn fail_on_name(f: FailOn) -> &'static str {
    match f {
        FailOn::Quarantine => "quarantine",
        FailOn::Warning => "warning",
        FailOn::Never => "never",
    }
}

/// An error and its causes on one line, as `print_error` shows it.
fn one_line(e: &anyhow::Error) -> String {
    format!("{e:#}").replace('\n', " ")
}

/// The media inspector, when the policy names media columns: one for the
/// run, its trust anchors read once.
fn media_inspector(policy: &Policy) -> anyhow::Result<Option<Inspector>> {
    if policy.media.columns.is_empty() {
        return Ok(None);
    }
    let Some(path) = &policy.media.trust_anchors else {
        return Inspector::new(policy.media.max_file_bytes, None).map(Some);
    };
    // Said where it was given, as for the model. The C2PA crate's own
    // errors ("COSE error parsing certificate") name no file at all.
    let from = policy.key_in("[media] trust_anchors");
    // A policy is user input: `/dev/zero` or a FIFO here must not hang the
    // run, as they do not for the model.
    let bytes = read_small_file(path, MAX_TRUST_ANCHORS_BYTES, "the C2PA trust anchor file")
        .with_context(|| format!("{from}: cannot read the C2PA trust anchors"))?;
    let pem = String::from_utf8(bytes).map_err(|_| {
        anyhow!(
            "{from}: {}: the C2PA trust anchor file is not PEM text (not UTF-8)",
            path.display()
        )
    })?;
    Inspector::new(policy.media.max_file_bytes, Some(&pem))
        .with_context(|| {
            format!(
                "{from}: {}: not PEM certificates the C2PA reader can use",
                path.display()
            )
        })
        .map(Some)
}

/// The progress bar being drawn: the signal handler's lines go above it.
static ACTIVE_BAR: std::sync::Mutex<Option<ProgressBar>> = std::sync::Mutex::new(None);

fn set_active_bar(bar: Option<ProgressBar>) {
    if let Ok(mut active) = ACTIVE_BAR.lock() {
        *active = bar;
    }
}

/// A bar for a file whose size the scan will set; bytes and rate alone for
/// stdin or a pipe, where a total and an eta would be made up.
fn progress_bar(path: &Path) -> ProgressBar {
    let sized = path.as_os_str() != "-" && std::fs::metadata(path).is_ok_and(|m| m.is_file());
    let (len, template) = match sized {
        true => (
            Some(0),
            "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ),
        false => (None, "{prefix} {spinner} {bytes} {bytes_per_sec}"),
    };
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(terminal::path(path).to_string());
    bar
}
