//! A scan's outputs are committed all three or none, and the audit log
//! says which (docs/audit.md, "Commit"): a write or rename that fails, a
//! Ctrl-C and a `kill -9` at each step of the append, with the real binary.
//! The kill and interrupt points are made exact by CRMGUARD_TEST_PAUSE
//! (src/hooks.rs): the binary stops there and says so on stderr.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};

use common::{Workdir, signal, status, stderr};

const GOOD: &str = "Name,is_synthetic,data_source\nAda,no,web\n";
const LOG: &str = "crmguard-out/crmguard-audit.jsonl";

fn records(wd: &Workdir) -> Vec<serde_json::Value> {
    wd.read_string(LOG)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn types(wd: &Workdir) -> Vec<String> {
    records(wd)
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_string())
        .collect()
}

fn verify(wd: &Workdir) -> Output {
    wd.run(&["audit", "verify", LOG])
}

/// A CSV with `n` rows to quarantine, enough to fill several writes of
/// audit records.
fn to_quarantine(n: usize) -> String {
    let mut s = String::from("Name,is_synthetic,data_source\n");
    for i in 0..n {
        s.push_str(&format!("Person {i},maybe,web\n"));
    }
    s
}

/// Everything in the out dir but the log: outputs and temp files.
fn outputs(wd: &Workdir) -> Vec<String> {
    wd.list("crmguard-out")
        .into_iter()
        .filter(|n| n != "crmguard-audit.jsonl")
        .collect()
}

#[test]
fn a_report_that_cannot_be_written_commits_nothing() {
    let wd = Workdir::new();
    wd.write("x.csv", to_quarantine(1));
    // A first scan commits; its files are what must survive the second.
    assert_eq!(status(&wd.run(&["scan", "-q", "x.csv"])), 1);
    let before: Vec<(String, Vec<u8>)> = outputs(&wd)
        .into_iter()
        .map(|n| (n.clone(), wd.read(&format!("crmguard-out/{n}"))))
        .collect();
    let log_before = wd.read(LOG);
    // Its sizes place a file-size limit between the audit records and the
    // report, so the report is the write that fails, as on a full disk.
    let size = |n: &str| wd.read(&format!("crmguard-out/{n}")).len() as u64;
    let block = (log_before.len() - wd.read_string(LOG).lines().last().unwrap().len() - 1) as u64;
    let low = block.max(size("x.clean.csv")).max(size("x.quarantine.csv"));
    let high = size("x.report.json");
    assert!(low + 64 < high, "records {low} bytes, report {high}");
    let limit = (low + high) / 2;
    let out = run_with_file_size_limit(
        &wd,
        limit,
        &["scan", "-q", "--audit-log", "fresh.jsonl", "x.csv"],
    );
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("x.report.json: cannot write"),
        "{}",
        stderr(&out)
    );
    // The earlier scan's outputs are untouched, no temp file is left, and
    // the log the failed scan created is gone again.
    let after: Vec<(String, Vec<u8>)> = outputs(&wd)
        .into_iter()
        .map(|n| (n.clone(), wd.read(&format!("crmguard-out/{n}"))))
        .collect();
    assert_eq!(after, before);
    assert!(!wd.join("fresh.jsonl").exists());
    assert_eq!(wd.read(LOG), log_before);
}

/// `crmguard ARGS` in `wd` with writes past `limit` bytes failing (EFBIG),
/// as on a disk that fills at that size.
fn run_with_file_size_limit(wd: &Workdir, limit: u64, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crmguard"));
    cmd.current_dir(wd.path()).args(args);
    // SAFETY: setrlimit and signal are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn a_write_that_fails_names_the_output_it_failed_not_its_temp_file() {
    let wd = Workdir::new();
    // One clean row, and a quarantine file over the limit: its write is
    // the one that fails.
    let mut csv = String::from(GOOD);
    for i in 0..400 {
        csv.push_str(&format!(
            "Person {i} of a name long enough to fill a file,maybe,web\n"
        ));
    }
    wd.write("x.csv", &csv);
    for (limit, failing) in [(8_000, "x.quarantine.csv"), (20, "x.clean.csv")] {
        let out = run_with_file_size_limit(&wd, limit, &["scan", "-q", "-o", "out", "x.csv"]);
        let err = stderr(&out);
        assert_eq!(status(&out), 2, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // It was said to be the clean file, with the temp file's path.
        assert!(
            err.starts_with(&format!(
                "crmguard: error: out/{failing}: cannot write outputs: "
            )),
            "{err}"
        );
        assert!(!err.contains("crmguard-tmp"), "{err}");
        assert_eq!(wd.list("out"), Vec::<String>::new(), "{err}");
    }
}

// The test harness shows a test's stderr: the reason for a skip goes there.
#[allow(clippy::disallowed_macros)]
#[test]
fn an_out_dir_that_takes_no_files_is_named_without_a_temp_path() {
    // sysfs refuses new files even to root, where a read-only mode would
    // not stop the test.
    if !std::path::Path::new("/sys/kernel").is_dir() {
        eprintln!("SKIPPED: no /sys");
        return;
    }
    let wd = Workdir::new();
    wd.write("x.csv", GOOD);
    let out = wd.run(&["scan", "-q", "-o", "/sys", "x.csv"]);
    let err = stderr(&out);
    assert_eq!(status(&out), 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("crmguard: error: /sys/x.clean.csv: cannot create outputs: "),
        "{err}"
    );
    // It ended with `at path "/sys/.x.clean.csv.PID.RAND.crmguard-tmp"`.
    assert!(!err.contains("crmguard-tmp"), "{err}");
    assert!(!err.contains("at path"), "{err}");
}

#[test]
fn a_rename_that_fails_takes_back_what_was_renamed_and_the_records() {
    let wd = Workdir::new();
    wd.write("x.csv", to_quarantine(3));
    wd.write("y.csv", GOOD);
    assert_eq!(status(&wd.run(&["scan", "-q", "y.csv"])), 0);
    let log_before = wd.read(LOG);
    // The report's name is taken by a directory: the quarantine file is
    // renamed into place before the report's rename fails.
    std::fs::create_dir_all(wd.join("crmguard-out/x.report.json")).unwrap();
    let out = wd.run(&["scan", "-q", "x.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("x.report.json: cannot write outputs"), "{err}");
    assert_eq!(
        outputs(&wd),
        [
            "x.report.json",
            "y.clean.csv",
            "y.quarantine.csv",
            "y.report.json"
        ]
    );
    assert_eq!(wd.read(LOG), log_before);
    assert_eq!(status(&verify(&wd)), 0);
}

/// Starts `crmguard scan -q ARGS` paused at `point`; returns once it says
/// it is there. The caller waits for the child (`finish`); a test that
/// panics first leaves it to end on its own when the pause times out.
#[allow(clippy::zombie_processes)]
fn paused_scan(
    wd: &Workdir,
    point: &str,
    args: &[&str],
) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmguard"))
        .current_dir(wd.path())
        .env("CRMGUARD_TEST_PAUSE", point)
        .args(["scan", "-q"])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            panic!("the scan ended ({status}) before pausing at {point}");
        }
        if line.contains(&format!("test pause at {point}")) {
            return (child, err);
        }
    }
}

fn finish(
    mut child: Child,
    mut err: BufReader<std::process::ChildStderr>,
) -> (Option<i32>, String) {
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    (child.wait().unwrap().code(), rest)
}

#[test]
fn ctrl_c_during_the_append_or_before_the_renames_leaves_nothing() {
    for point in ["append", "commit"] {
        let wd = Workdir::new();
        wd.write("y.csv", GOOD);
        assert_eq!(status(&wd.run(&["scan", "-q", "y.csv"])), 0);
        let log_before = wd.read(LOG);
        wd.write("x.csv", to_quarantine(500));
        let (child, err) = paused_scan(&wd, point, &["x.csv"]);
        signal(&child, "-INT");
        let (code, rest) = finish(child, err);
        assert_eq!(code, Some(130), "{point}: {rest}");
        assert!(
            rest.contains("crmguard: error: x.csv: interrupted: no outputs written"),
            "{point}: {rest}"
        );
        assert_eq!(
            outputs(&wd),
            ["y.clean.csv", "y.quarantine.csv", "y.report.json"],
            "{point}"
        );
        assert_eq!(wd.read(LOG), log_before, "{point}: records taken back out");
    }
}

#[test]
fn a_first_scan_interrupted_before_the_renames_leaves_no_log() {
    for point in ["append", "commit"] {
        let wd = Workdir::new();
        wd.write("x.csv", to_quarantine(500));
        let (child, err) = paused_scan(&wd, point, &["x.csv"]);
        assert!(
            wd.join(LOG).exists(),
            "{point}: the log is there while paused"
        );
        signal(&child, "-INT");
        let (code, rest) = finish(child, err);
        assert_eq!(code, Some(130), "{point}: {rest}");
        assert_eq!(wd.list("crmguard-out"), Vec::<String>::new(), "{point}");
    }
}

/// Scans a good `z.csv` after a crash: it succeeds and warns that it
/// recovered the log, with `outputs: OUTPUTS`; returns its stderr.
fn scan_recovering(wd: &Workdir, outputs: &str) -> String {
    wd.write("z.csv", GOOD);
    let out = wd.run(&["scan", "-q", "z.csv"]);
    let err = stderr(&out);
    assert_eq!(status(&out), 0, "{err}");
    assert!(err.contains(&format!("outputs: {outputs};")), "{err}");
    err
}

#[test]
fn kill_9_mid_append_is_cut_off_and_recorded_by_the_next_scan() {
    let wd = Workdir::new();
    wd.write("y.csv", GOOD);
    assert_eq!(status(&wd.run(&["scan", "-q", "y.csv"])), 0);
    let committed = wd.read(LOG);
    wd.write("x.csv", to_quarantine(500));
    let (child, err) = paused_scan(&wd, "append", &["x.csv"]);
    signal(&child, "-KILL");
    let (code, _) = finish(child, err);
    assert_eq!(code, None, "killed");
    // Half a write: a scan record, some rows, a line cut short.
    let torn = wd.read(LOG);
    assert!(torn.len() > committed.len() + 1000 && !torn.ends_with(b"\n"));
    let out = verify(&wd);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    // The next scan cuts the unfinished append off, says so, and records it.
    let err = scan_recovering(&wd, "none");
    assert!(err.contains("cut off the unfinished append"), "{err}");
    let out = verify(&wd);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(wd.read(LOG).starts_with(&committed));
    let recs = records(&wd);
    assert_eq!(types(&wd), ["scan", "commit", "recovery", "scan", "commit"]);
    let recovery = &recs[2];
    assert_eq!(recovery["outputs"], "none");
    assert_eq!(recovery["cut_bytes"], (torn.len() - committed.len()) as u64);
    assert_eq!(
        recovery["cut_blake3"],
        blake3::hash(&torn[committed.len()..]).to_hex().to_string()
    );
    assert!(recovery["cut_records"].as_u64().unwrap() > 1);
    assert_eq!(recovery["seq"], 3);
    // The killed scan's id, from its whole scan record.
    let x_id = &serde_json::from_slice::<serde_json::Value>(
        torn[committed.len()..]
            .split(|&b| b == b'\n')
            .next()
            .unwrap(),
    )
    .unwrap()["scan_id"];
    assert_eq!(&recovery["scan_id"], x_id);
    // Nothing of the killed scan is left: no outputs, no temp files.
    assert_eq!(
        outputs(&wd),
        [
            "y.clean.csv",
            "y.quarantine.csv",
            "y.report.json",
            "z.clean.csv",
            "z.quarantine.csv",
            "z.report.json"
        ]
    );
}

#[test]
fn kill_9_before_the_commit_record_is_recorded_as_unknown_outputs() {
    let wd = Workdir::new();
    wd.write("x.csv", to_quarantine(3));
    let (child, err) = paused_scan(&wd, "commit", &["x.csv"]);
    signal(&child, "-KILL");
    finish(child, err);
    // The scan's records are whole but nothing says its outputs landed:
    // the chain verifies, with a note.
    let out = verify(&wd);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has no commit record"),
        "{}",
        stderr(&out)
    );
    let x_id = records(&wd)[0]["scan_id"].clone();
    scan_recovering(&wd, "unknown");
    assert_eq!(
        types(&wd),
        ["scan", "row", "row", "row", "recovery", "scan", "commit"]
    );
    let recovery = &records(&wd)[4];
    assert_eq!(recovery["scan_id"], x_id);
    assert_eq!(recovery["outputs"], "unknown");
    assert_eq!(recovery["cut_bytes"], 0);
    assert_eq!(status(&verify(&wd)), 0);
    // Killed before its renames: the temp files are all it left, and the
    // next scan removed them.
    assert_eq!(
        outputs(&wd),
        ["z.clean.csv", "z.quarantine.csv", "z.report.json"]
    );
    // `audit show` tells the two scans apart.
    let table = String::from_utf8(wd.run(&["audit", "show", LOG]).stdout).unwrap();
    let status_of = |input: &str| {
        table
            .lines()
            .find(|l| l.contains(input))
            .map(|l| l.contains("not committed"))
    };
    assert_eq!(status_of("x.csv"), Some(true), "{table}");
    assert_eq!(status_of("z.csv"), Some(false), "{table}");
}

// ---------------------------------------------------------------------------
// Every committed scan is in the log, and a log that cannot be appended to
// stops the scan before any output appears.

#[test]
fn every_scan_is_recorded_and_the_report_anchors_it() {
    let wd = Workdir::new();
    wd.write(
        "leads.csv",
        "Name,Email,is_synthetic,data_source\nAda,ada@example.com,no,web\nBob,bob.secret@example.com,maybe,web\n=Cid,cid@example.com,no,web\n",
    );
    assert_eq!(status(&wd.run(&["scan", "leads.csv"])), 1);
    assert_eq!(status(&wd.run(&["scan", "leads.csv"])), 1);
    let log = wd.read_string("crmguard-out/crmguard-audit.jsonl");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two scans, each followed by its two quarantined rows.
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "scan", "row", "row", "commit", "scan", "row", "row", "commit"
        ]
    );
    assert_eq!(lines[1]["row"], 2);
    assert_eq!(lines[1]["reasons"], "INVALID_BOOLEAN");
    assert_eq!(
        lines[1]["row_blake3"],
        blake3::hash(b"Bob,bob.secret@example.com,maybe,web")
            .to_hex()
            .to_string()
    );
    assert!(!log.contains("bob.secret"), "the log holds no row content");
    let report = wd.report("crmguard-out/leads.report.json");
    assert_eq!(lines[4]["scan_id"], report["scan_id"]);
    assert_eq!(lines[4]["input"]["blake3"], report["input"]["blake3"]);
    // The report anchors the scan's last record before its commit record.
    assert_eq!(report["audit"]["seq"], 7);
    let head = report["audit"]["head"].as_str().unwrap();
    let out = wd.run(&[
        "audit",
        "verify",
        "crmguard-out/crmguard-audit.jsonl",
        "--expect-head",
        head,
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

#[test]
fn audit_log_option_and_errors_leave_no_record() {
    let wd = Workdir::new();
    wd.write("ok.csv", "Name,is_synthetic,data_source\nAda,no,web\n");
    wd.write("dup.csv", "a,A\n1,2\n");
    let out = wd.run(&[
        "scan",
        "--audit-log",
        "audit/log.jsonl",
        "ok.csv",
        "dup.csv",
    ]);
    assert_eq!(status(&out), 2);
    let log = wd.read_string("audit/log.jsonl");
    assert_eq!(
        log.lines().count(),
        2,
        "only the scan that succeeded, and its commit: {log}"
    );
    assert!(!wd.join("crmguard-out/crmguard-audit.jsonl").exists());
    // A log that is also an input is refused.
    let out = wd.run(&["scan", "--audit-log", "ok.csv", "ok.csv"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("the audit log is also a file this run reads"));
}

#[test]
fn a_broken_log_stops_the_scan_before_outputs_appear() {
    let wd = Workdir::new();
    wd.write("ok.csv", "Name,is_synthetic,data_source\nAda,no,web\n");
    wd.write(
        "crmguard-out/crmguard-audit.jsonl",
        "{\"v\":1,\"seq\":1,\"trunc",
    );
    let out = wd.run(&["scan", "ok.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("crmguard-audit.jsonl"),
        "{}",
        stderr(&out)
    );
    assert_eq!(wd.list("crmguard-out"), vec!["crmguard-audit.jsonl"]);
}

#[test]
fn a_commit_record_cut_short_is_recovered_as_unknown_outputs() {
    let wd = Workdir::new();
    wd.write("y.csv", GOOD);
    assert_eq!(status(&wd.run(&["scan", "-q", "y.csv"])), 0);
    // Killed while writing its commit record: its outputs had been renamed.
    let log = wd.read(LOG);
    wd.write(LOG, &log[..log.len() - 10]);
    scan_recovering(&wd, "unknown");
    assert_eq!(types(&wd), ["scan", "recovery", "scan", "commit"]);
    let recovery = &records(&wd)[1];
    let torn = log.len()
        - 10
        - log[..log.len() - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .unwrap()
        - 1;
    assert_eq!(recovery["cut_bytes"], torn as u64);
    assert_eq!(recovery["scan_id"], records(&wd)[0]["scan_id"]);
    assert_eq!(status(&verify(&wd)), 0);
}
