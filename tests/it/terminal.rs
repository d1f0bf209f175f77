//! What reaches the terminal: untrusted names escaped, never obeyed; write
//! errors on stdout and stderr handled (exit 2), a closed pipe quiet.

use crate::common;

use std::fs::File;
use std::process::{Output, Stdio};

use common::{Workdir, status, stderr};

const GOOD: &str = "Name,is_synthetic,data_source\nAda,no,web\n";
const BAD: &str = "Name,is_synthetic,data_source\nAda,no,web\nBob,maybe,web\n";

fn assert_no_raw_controls(text: &str) {
    for (i, c) in text.char_indices() {
        assert!(
            c == '\n' || !c.is_control(),
            "raw {c:?} at byte {i} in {text:?}"
        );
    }
}

#[test]
fn a_file_name_with_escapes_and_a_newline_is_shown_escaped() {
    let wd = Workdir::new();
    let name = "x\x1b[31m\nred.csv";
    wd.write(name, BAD);
    let out = wd.run(&["scan", name]);
    assert_eq!(status(&out), 1);
    let err = stderr(&out);
    assert_no_raw_controls(&err);
    // The summary's first line names the file, on one line.
    let first = err.lines().next().unwrap();
    assert!(first.starts_with("x\\x1b[31m\\nred.csv: 2 rows"), "{err}");
    // Outputs keep the name's bytes.
    assert!(wd.join("crmguard-out/x\x1b[31m\nred.clean.csv").exists());

    let out = wd.run(&["scan", "missing\x1b]0;pwned\x07.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert_no_raw_controls(&err);
    assert!(
        err.contains("missing\\x1b]0;pwned\\x07.csv: cannot open"),
        "{err}"
    );
}

#[test]
fn header_names_in_errors_are_escaped() {
    let wd = Workdir::new();
    wd.write(
        "dup.csv",
        "Name,is_synthetic,data_source,\x1b[2Jx,\x1b[2Jx\nAda,no,web,1,2\n",
    );
    let out = wd.run(&["scan", "dup.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert_no_raw_controls(&err);
    assert!(err.contains("HEADER_UNSAFE"), "{err}");
    assert!(err.contains("\\x1b[2Jx"), "{err}");

    // A bidi control is no CONTROL_CHARACTER: the names reach the
    // duplicate check, whose error escapes them too.
    wd.write(
        "dup.csv",
        "Name,is_synthetic,data_source,\u{202e}x,\u{202e}x\nAda,no,web,1,2\n",
    );
    let out = wd.run(&["scan", "dup.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("HEADER_DUPLICATE"), "{err}");
    assert!(!err.contains('\u{202e}'), "{err}");
    assert!(err.contains("\\u{202e}x"), "{err}");
}

#[test]
fn policy_text_in_errors_is_escaped() {
    let wd = Workdir::new();
    wd.write("crmguard.toml", "[tagging]\nscan_id = \"tag\\u001b[31m\"\n");
    wd.write(
        "in.csv",
        "Name,tag\x1b[31m,is_synthetic,data_source\nA,1,no,web\n",
    );
    let out = wd.run(&["scan", "in.csv"]);
    let err = stderr(&out);
    assert_no_raw_controls(&err);
    assert_eq!(status(&out), 2, "{err}");
    // A control character in a tag column's name is refused as it would
    // be in a header; the policy's text is quoted escaped.
    assert!(err.contains("bad column name"), "{err}");
    assert!(err.contains("tag\\x1b[31m"), "{err}");
}

fn dev_full() -> Stdio {
    Stdio::from(File::options().write(true).open("/dev/full").unwrap())
}

/// A pipe whose reader is already gone: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Stdio::from(writer)
}

fn run_with(wd: &Workdir, args: &[&str], stdout: Stdio, stderr_to: Stdio) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_crmguard"))
        .current_dir(wd.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr_to)
        .output()
        .unwrap()
}

#[test]
fn a_full_disk_on_stderr_or_stdout_is_exit_2_not_a_panic() {
    let wd = Workdir::new();
    wd.write("bad.csv", BAD);
    let out = run_with(&wd, &["scan", "bad.csv"], Stdio::piped(), dev_full());
    assert_eq!(out.status.code(), Some(2));
    // The scan itself was done: only its summary could not be written.
    assert!(wd.join("crmguard-out/bad.clean.csv").exists());

    let log = "crmguard-out/crmguard-audit.jsonl";
    let out = run_with(&wd, &["audit", "verify", log], dev_full(), Stdio::piped());
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("cannot write to stdout"),
        "{}",
        stderr(&out)
    );
    for args in [
        &["audit", "show", log][..],
        &["audit", "export", log],
        &[
            "detect",
            "Certainly! Here is a concise overview of the key points.",
        ],
        &["hash", "bad.csv"],
        &["init", "-"],
        &["--help"],
    ] {
        let out = run_with(&wd, args, dev_full(), Stdio::piped());
        assert_eq!(status(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("cannot write to stdout"),
            "{args:?}: {}",
            stderr(&out)
        );
        // Stdout is named once, not also as a file called `-`.
        assert!(
            !stderr(&out).contains("-: cannot write"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    wd.write("bad.csv", BAD);
    assert_eq!(status(&wd.run(&["scan", "good.csv"])), 0);
    let log = "crmguard-out/crmguard-audit.jsonl";
    for (args, code) in [
        (&["audit", "verify", log][..], 0),
        (&["audit", "show", log], 0),
        (&["audit", "export", log], 0),
        (&["hash", "bad.csv"], 0),
        (&["init", "-"], 0),
        (&["--help"], 0),
    ] {
        let out = run_with(&wd, args, closed_pipe(), Stdio::piped());
        assert_eq!(status(&out), code, "{args:?}: {}", stderr(&out));
        assert!(
            !stderr(&out).contains("error"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A summary nobody reads does not change a scan's verdict.
    let out = run_with(&wd, &["scan", "bad.csv"], Stdio::piped(), closed_pipe());
    assert_eq!(out.status.code(), Some(1));
    // Nor does a report or annotations nobody reads, and the files asked
    // for after them are still written.
    let run = |more: &[&str]| {
        let mut args = vec!["scan", "bad.csv", "-q", "-o", "o"];
        args.extend(more);
        run_with(&wd, &args, closed_pipe(), Stdio::piped())
    };
    let more = [
        &["--report", "json=-", "--report", "html=run.html"][..],
        &["--annotations", "github"],
    ];
    for (k, more) in more.into_iter().enumerate() {
        let baseline = format!("baseline{k}.json");
        let out = run(&[more, &["--write-baseline", &baseline]].concat());
        assert_eq!(out.status.code(), Some(1), "{more:?}: {}", stderr(&out));
        assert!(wd.join(&baseline).exists(), "{more:?}");
        assert_eq!(stderr(&out), "", "{more:?}");
    }
    assert!(wd.join("run.html").exists());
}

#[test]
fn a_report_that_cannot_be_written_stops_the_run_before_it_scans() {
    let wd = Workdir::new();
    wd.write("bad.csv", BAD);
    let out = wd.run(&["scan", "bad.csv", "--report", "html=missing/run.html"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("missing/run.html: cannot write the report"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Not scanned, so not committed and not recorded.
    assert!(!wd.join("crmguard-out/bad.clean.csv").exists());
    assert!(!wd.join("crmguard-out/crmguard-audit.jsonl").exists());
}

/// A tool a test needs: missing, the test fails in CI (CRMGUARD_CI set, as
/// `.ci/run` does) and is skipped, saying so, elsewhere.
fn have_tool(name: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CRMGUARD_CI").is_none(),
            "{name} is missing; .ci/run installs it"
        );
        // A skipped test must say so.
        #[allow(clippy::disallowed_macros)]
        {
            eprintln!("skipped: {name} is not installed");
        }
    }
    found
}

/// What a shell line in `wd` prints on a pseudo-terminal, run by script(1):
/// where crmguard draws its bar and escapes data as for a person.
fn on_a_terminal(wd: &Workdir, line: &str) -> String {
    let out = std::process::Command::new("script")
        .current_dir(wd.path())
        .args(["-qec", line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_progress_bar_of_stdin_shows_bytes_and_no_made_up_total() {
    if !have_tool("script") {
        return;
    }
    let wd = Workdir::new();
    wd.write("in.csv", BAD);
    let text = on_a_terminal(
        &wd,
        &format!(
            "cat in.csv | {} scan -o o -",
            env!("CARGO_BIN_EXE_crmguard")
        ),
    );
    let bar = text
        .split(['\r', '\n'])
        .find(|l| l.contains("B/s"))
        .unwrap_or_else(|| panic!("no bar drawn: {text:?}"));
    // Only the rate's "/s": no "read/total".
    assert_eq!(bar.matches('/').count(), 1, "{bar:?}");
    assert!(!bar.contains("eta") && !bar.contains('['), "{bar:?}");
}

#[test]
fn the_progress_bar_shows_a_file_name_escaped() {
    if !have_tool("script") {
        return;
    }
    let wd = Workdir::new();
    let name = "x\x1b[31m.csv";
    wd.write(name, BAD);
    let text = on_a_terminal(
        &wd,
        &format!("{} scan 'x\x1b[31m.csv'", env!("CARGO_BIN_EXE_crmguard")),
    );
    assert!(text.contains("x\\x1b[31m.csv ["), "no bar drawn: {text:?}");
    assert!(!text.contains(name), "{text:?}");
}

#[test]
fn data_on_a_terminal_is_escaped_and_in_a_pipe_is_not() {
    if !have_tool("script") {
        return;
    }
    let wd = Workdir::new();
    let name = "x\x1b[31m.csv";
    wd.write(name, BAD);
    assert_eq!(status(&wd.run(&["scan", "-q", name])), 1);
    // The export names the scanned file: on a terminal, escaped.
    let text = on_a_terminal(
        &wd,
        &format!("{} audit export", env!("CARGO_BIN_EXE_crmguard")),
    );
    assert!(text.contains("x\\x1b[31m.csv"), "{text:?}");
    assert!(!text.contains(name), "{text:?}");
    // Into a pipe, the bytes as they are: a CSV consumer gets the name.
    let piped = wd.run(&["audit", "export"]);
    assert_eq!(status(&piped), 0);
    assert!(String::from_utf8_lossy(&piped.stdout).contains(name));
}
