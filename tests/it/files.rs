//! The files a run reads and writes: names (not UTF-8, long, directories),
//! permissions, temp files after a kill, `-o` targets, and an audit log
//! that would collide with another file of the run.

use crate::common;

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Workdir, signal, signal_seen, status, stderr};

const GOOD: &str = "Name,is_synthetic,data_source\nAda,no,web\n";
const BAD: &str = "Name,is_synthetic,data_source\nAda,no,web\nBob,maybe,web\n";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_name_that_is_not_utf8_keeps_its_bytes_in_outputs_and_messages() {
    use std::os::unix::ffi::OsStrExt;
    let wd = Workdir::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.csv");
    std::fs::write(wd.path().join(name), BAD).unwrap();
    let out = wd
        .command(&["scan"])
        .arg(name)
        .arg("missing\u{e9}.csv")
        .output()
        .unwrap();
    assert_eq!(status(&out), 2);
    let mut names: Vec<Vec<u8>> = std::fs::read_dir(wd.join("crmguard-out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().as_bytes().to_vec())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            &b"caf\xe9.clean.csv"[..],
            b"caf\xe9.quarantine.csv",
            b"caf\xe9.report.json",
            b"crmguard-audit.jsonl"
        ]
    );
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(wd.path().join(std::ffi::OsStr::from_bytes(
            b"crmguard-out/caf\xe9.report.json",
        )))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(report["input"]["path"], "caf\u{fffd}.csv");
    assert_eq!(report["rows_quarantined"], 1);
    let err = stderr(&out);
    assert!(err.starts_with("caf\\xe9.csv: 2 rows"), "{err}");

    let out = wd
        .command(&["scan"])
        .arg("nope\u{e9}.csv")
        .output()
        .unwrap();
    let out2 = wd
        .command(&["scan"])
        .arg(std::ffi::OsStr::from_bytes(b"nope\xe9.csv"))
        .output()
        .unwrap();
    assert!(stderr(&out).contains("nope\u{e9}.csv: cannot open"));
    assert!(
        stderr(&out2).contains("nope\\xe9.csv: cannot open"),
        "{}",
        stderr(&out2)
    );
}

#[test]
fn a_directory_or_an_unknown_extension_fails_that_input_only() {
    let wd = Workdir::new();
    wd.write("a.csv", GOOD);
    wd.write("b.csv", GOOD);
    std::fs::create_dir(wd.join("folder")).unwrap();
    wd.write("sheet.xlsx", "x");
    let out = wd.run(&["scan", "a.csv", "folder", "sheet.xlsx", "b.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("folder: is a directory"), "{err}");
    assert!(err.contains("sheet.xlsx: cannot tell the format"), "{err}");
    assert!(wd.join("crmguard-out/a.clean.csv").exists());
    assert!(wd.join("crmguard-out/b.clean.csv").exists());
}

#[test]
fn long_names_scan_when_their_outputs_fit() {
    let wd = Workdir::new();
    // NAME.quarantine.csv is 250 bytes: it fits, its temp name would not.
    let fits = format!("{}.csv", "a".repeat(235));
    wd.write(&fits, BAD);
    // NAME.quarantine.csv would be 256 bytes: refused before any work.
    let too_long = format!("{}.csv", "b".repeat(241));
    wd.write(&too_long, BAD);
    let out = wd.run(&["scan", &fits, &too_long]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("would be 256 bytes, more than the 255 a file name may have"),
        "{err}"
    );
    assert!(!err.contains("File name too long"), "{err}");
    let stem = "a".repeat(235);
    for out in ["clean.csv", "quarantine.csv", "report.json"] {
        assert!(wd.join(&format!("crmguard-out/{stem}.{out}")).exists());
    }
    assert!(!wd.list("crmguard-out").iter().any(|n| n.starts_with('b')));
}

/// `crmguard ARGS` under umask 022, as most accounts have it.
fn run_umask_022(wd: &Workdir, args: &str) -> std::process::Output {
    Command::new("sh")
        .current_dir(wd.path())
        .arg("-c")
        .arg(format!(
            "umask 022; exec {} {args}",
            env!("CARGO_BIN_EXE_crmguard")
        ))
        .output()
        .unwrap()
}

#[test]
fn files_with_personal_data_are_private_under_umask_022() {
    let wd = Workdir::new();
    wd.write("bad.csv", BAD);
    assert_eq!(status(&run_umask_022(&wd, "scan bad.csv")), 1);
    let o = wd.join("crmguard-out");
    assert_eq!(mode(&o.join("bad.clean.csv")), 0o644);
    assert_eq!(mode(&o.join("bad.quarantine.csv")), 0o600);
    assert_eq!(mode(&o.join("bad.report.json")), 0o600);
    assert_eq!(mode(&o.join("crmguard-audit.jsonl")), 0o600);
    let out = run_umask_022(
        &wd,
        "audit export crmguard-out/crmguard-audit.jsonl -o export.csv",
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(mode(&wd.join("export.csv")), 0o600);
    assert_eq!(status(&run_umask_022(&wd, "hash bad.csv -o hashed.csv")), 0);
    assert_eq!(mode(&wd.join("hashed.csv")), 0o644);
    assert_eq!(status(&run_umask_022(&wd, "init")), 0);
    assert_eq!(mode(&wd.join("crmguard.toml")), 0o644);
}

/// A scan of stdin that has written its first batch to its temp files and
/// waits for more input.
fn scan_waiting_on_stdin(wd: &Workdir, out_dir: &str) -> (Child, std::process::ChildStdin) {
    let before = temps(wd, out_dir).len();
    let mut child = Command::new("sh")
        .current_dir(wd.path())
        .arg("-c")
        .arg(format!(
            "umask 022; exec {} scan -q -o {out_dir} -",
            env!("CARGO_BIN_EXE_crmguard")
        ))
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write;
    let mut rows = String::from("Name,Notes,is_synthetic,data_source\n");
    for i in 0..5_000 {
        rows.push_str(&format!("Person {i},a note of some length {i},no,web\n"));
    }
    stdin.write_all(rows.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while temps(wd, out_dir).len() < before + 2 {
        assert!(Instant::now() < deadline, "the scan never wrote temp files");
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, stdin)
}

fn temps(wd: &Workdir, dir: &str) -> Vec<String> {
    wd.list(dir)
        .into_iter()
        .filter(|n| n.ends_with(".crmguard-tmp"))
        .collect()
}

#[test]
fn sigterm_stops_a_scan_as_ctrl_c_does() {
    let wd = Workdir::new();
    let (mut child, stdin) = scan_waiting_on_stdin(&wd, "o");
    signal(&child, "-TERM");
    // Its input ends only once the scan has seen the signal: the scan then
    // has no choice to make between the two.
    let mut err = signal_seen(&mut child);
    drop(stdin);
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest}");
    assert!(rest.contains("interrupted: no outputs written"), "{rest}");
    assert_eq!(wd.list("o"), Vec::<String>::new());
}

/// The other commands stop at once on a signal, as without a handler, but
/// leave no temp file behind: `hash --in-place` writes its beside the
/// input, where no scan cleans up.
#[test]
fn other_commands_stopped_by_a_signal_remove_their_temp_files() {
    for sig in ["-INT", "-TERM", "-HUP"] {
        let wd = Workdir::new();
        wd.write("d/a.csv", GOOD);
        // Blocked on stdin with its output's temp file open.
        let mut child = Command::new(env!("CARGO_BIN_EXE_crmguard"))
            .current_dir(wd.path())
            .args(["hash", "--all", "-o", "d/a.csv", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, GOOD.as_bytes()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while wd.list("d").len() < 2 {
            assert!(Instant::now() < deadline, "{sig}: no temp file appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(&child, sig);
        let code = child.wait().unwrap().code();
        drop(stdin);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(code, Some(130), "{sig}: {err}");
        assert_eq!(err, "crmguard: error: interrupted\n", "{sig}");
        assert_eq!(wd.list("d"), ["a.csv"], "{sig}");
        assert_eq!(wd.read_string("d/a.csv"), GOOD, "{sig}");
    }
}

#[test]
fn a_second_signal_exits_at_once_and_removes_its_temp_files() {
    let wd = Workdir::new();
    // Blocked on a read of stdin, the scan cannot reach its next batch.
    let (child, stdin) = scan_waiting_on_stdin(&wd, "o");
    let mut child = child;
    signal(&child, "-INT");
    let mut err = signal_seen(&mut child);
    signal(&child, "-TERM");
    // stdin stays open: only the second signal can end the scan.
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("a second signal did not end the scan");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    drop(stdin);
    let mut rest = String::new();
    err.read_to_string(&mut rest).unwrap();
    assert_eq!(code, Some(130), "{rest}");
    assert_eq!(rest, "crmguard: error: interrupted: no outputs written\n");
    assert_eq!(wd.list("o"), Vec::<String>::new());
}

#[test]
fn temp_files_of_killed_scans_are_private_and_removed_later_but_live_ones_kept() {
    let wd = Workdir::new();
    // A live scan into the same directory keeps its temp files through the
    // cleanup another scan does.
    let (live, live_stdin) = scan_waiting_on_stdin(&wd, "o");
    let live_temps = temps(&wd, "o");
    let (mut dead, dead_stdin) = scan_waiting_on_stdin(&wd, "o");
    let pid = dead.id();
    signal(&dead, "-KILL");
    dead.wait().unwrap();
    drop(dead_stdin);
    let left: Vec<String> = temps(&wd, "o")
        .into_iter()
        .filter(|n| !live_temps.contains(n))
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    for name in &left {
        assert!(name.contains(&format!(".{pid}.")), "{name}");
        assert_eq!(mode(&wd.join(&format!("o/{name}"))), 0o600, "{name}");
    }
    wd.write("good.csv", GOOD);
    let out = wd.run(&["scan", "-o", "o", "good.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    let removed: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("left by a crmguard process that no longer runs"))
        .collect();
    assert_eq!(removed.len(), 2, "{}", stderr(&out));
    assert_eq!(temps(&wd, "o"), live_temps);
    drop(live_stdin);
    let out = live.wait_with_output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    assert!(wd.join("o/stdin.clean.csv").exists());
    assert!(temps(&wd, "o").is_empty());
}

#[test]
fn output_options_write_through_links_and_into_devices() {
    let wd = Workdir::new();
    wd.write("bad.csv", BAD);
    assert_eq!(status(&wd.run(&["scan", "bad.csv"])), 1);
    let log = "crmguard-out/crmguard-audit.jsonl";
    // `-` is stdout, not a file named `-`.
    let out = wd.run(&["audit", "export", log, "-o", "-"]);
    assert_eq!(status(&out), 0);
    assert!(out.stdout.starts_with(b"seq,record,"));
    assert!(!wd.join("-").exists());
    // A device behind a symlink is written in place; the link stays.
    std::os::unix::fs::symlink("/dev/null", wd.join("null")).unwrap();
    // A symlink to a file: the file is replaced, the link stays.
    wd.write("real.csv", "old");
    std::os::unix::fs::symlink("real.csv", wd.join("link.csv")).unwrap();
    for args in [
        &["audit", "export", log, "-o", "null"][..],
        &["audit", "export", log, "-o", "link.csv"],
        &["hash", "bad.csv", "-o", "null"],
        &["init", "null"],
        &[
            "report",
            "merge",
            "crmguard-out/bad.report.json",
            "-o",
            "null",
        ],
    ] {
        let out = wd.run(args);
        assert_eq!(status(&out), 0, "{args:?}: {}", stderr(&out));
        for link in ["null", "link.csv"] {
            let meta = std::fs::symlink_metadata(wd.join(link)).unwrap();
            assert!(meta.file_type().is_symlink(), "{args:?} replaced {link}");
        }
    }
    assert!(wd.read_string("real.csv").starts_with("seq,record,"));
    // stdout through /proc: the pipe the test reads.
    let out = wd.run(&["hash", "bad.csv", "-o", "/dev/stdout"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.starts_with(b"Name,is_synthetic,data_source"));
    let report = "crmguard-out/bad.report.json";
    let out = wd.run(&["report", "merge", report, "-o", "/dev/stdout"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.starts_with(b"{"));
}

#[test]
fn a_report_or_baseline_that_is_another_file_of_the_run_is_refused() {
    let wd = Workdir::new();
    wd.write("leads.csv", BAD);
    wd.write("crmguard.toml", "");
    std::fs::create_dir(wd.join("o")).unwrap();
    std::os::unix::fs::symlink("o/leads.clean.csv", wd.join("link.md")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--report", "markdown=o/crmguard-audit.jsonl"],
            "a report is also the audit log",
        ),
        (
            &["--write-baseline", "o/crmguard-audit.jsonl"],
            "the baseline is also the audit log",
        ),
        (
            &["--report", "json=o/leads.clean.csv"],
            "a report is also an output of leads.csv",
        ),
        (
            &["--report", "markdown=link.md"],
            "a report is also an output of leads.csv",
        ),
        (
            &["--write-baseline", "o/./leads.report.json"],
            "the baseline is also an output of leads.csv",
        ),
        (
            &["--report", "html=crmguard.toml"],
            "a report is also a file this run reads",
        ),
        (
            &["--report", "json=leads.csv"],
            "a report is also a file this run reads",
        ),
        (
            &["--report", "json=run.json", "--write-baseline", "run.json"],
            "a report and the baseline would both be written there",
        ),
        (
            &["--report", "json=run.json", "--report", "sarif=run.json"],
            "run.json: two reports would both be written there",
        ),
        (
            &["--write-baseline", "-"],
            "a baseline is a file a later run reads back",
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec!["scan", "-o", "o"];
        args.extend_from_slice(extra);
        args.push("leads.csv");
        let out = wd.run(&args);
        assert_eq!(status(&out), 2, "{extra:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{extra:?}: {}", stderr(&out));
        assert_eq!(wd.list("o"), Vec::<String>::new(), "{extra:?}");
    }
    assert_eq!(wd.read_string("leads.csv"), BAD);
    assert_eq!(wd.read_string("crmguard.toml"), "");
    // The same paths elsewhere are written, and the log still verifies.
    let out = wd.run(&[
        "scan",
        "-o",
        "o",
        "--report",
        "markdown=o/run.md",
        "--write-baseline",
        "o/baseline.json",
        "leads.csv",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let out = wd.run(&["audit", "verify", "o/crmguard-audit.jsonl"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

#[test]
fn an_audit_log_that_is_another_file_of_the_run_is_refused() {
    let wd = Workdir::new();
    wd.write("leads.csv", BAD);
    wd.write("crmguard.toml", "");
    std::fs::create_dir(wd.join("o")).unwrap();
    std::os::unix::fs::symlink("o/leads.report.json", wd.join("link.jsonl")).unwrap();
    for (log, says) in [
        ("o/leads.report.json", "also an output of leads.csv"),
        ("o/leads.clean.csv", "also an output of leads.csv"),
        (
            "o/./sub/../leads.quarantine.csv",
            "also an output of leads.csv",
        ),
        ("link.jsonl", "also an output of leads.csv"),
        ("leads.csv", "also a file this run reads"),
        ("crmguard.toml", "also a file this run reads"),
        ("o/.leads.clean.csv.1.abcdef.crmguard-tmp", "temp files"),
    ] {
        let out = wd.run(&["scan", "-o", "o", "--audit-log", log, "leads.csv"]);
        assert_eq!(status(&out), 2, "{log}");
        assert!(stderr(&out).contains(says), "{log}: {}", stderr(&out));
        assert_eq!(wd.list("o"), Vec::<String>::new(), "{log}");
    }
    assert_eq!(wd.read_string("leads.csv"), BAD);
    // An output that would replace the policy is refused the same way.
    wd.write("x.csv", GOOD);
    wd.write("x.report.json", "");
    let out = wd.run(&["scan", "-o", ".", "--policy", "x.report.json", "x.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("refusing to write over x.report.json, which this run reads"),
        "{}",
        stderr(&out)
    );
    assert_eq!(wd.read_string("x.report.json"), "");
}
