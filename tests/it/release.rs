//! `crmguard release` round trips through the real binary: scan, release,
//! the released rows scan clean under a policy that allows them, and the
//! audit log still verifies with the approval in it.

use crate::common;

use common::{Workdir, status, stderr};

const LOG: &str = "crmguard-out/crmguard-audit.jsonl";
const WAITING: &str = "[synthetic]\nallow = true\nrequire_approval = [\"Product_Description\"]\n";

fn scanned() -> Workdir {
    let wd = Workdir::new();
    std::fs::copy(
        common::fixtures().join("rules/APPROVAL_REQUIRED.csv"),
        wd.join("products.csv"),
    )
    .unwrap();
    wd.write("waiting.toml", WAITING);
    let out = wd.run(&[
        "scan",
        "-q",
        "--policy",
        "waiting.toml",
        "--object",
        "Product_Description",
        "products.csv",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    wd
}

fn release(wd: &Workdir, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "release",
        "crmguard-out/products.quarantine.csv",
        "--approver",
        "Grace Hopper",
        "--reason",
        "copy checked",
        "--policy",
        "waiting.toml",
    ];
    args.extend_from_slice(extra);
    wd.run(&args)
}

#[test]
fn released_rows_are_the_input_rows_and_scan_clean() {
    let wd = scanned();
    let out = release(&wd, &["--all-with", "APPROVAL_REQUIRED"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    // Rows 1 and 3 of the input, byte for byte, under the input's header.
    let input = wd.read_string("products.csv");
    let lines: Vec<&str> = input.split_inclusive('\n').collect();
    let want = format!("{}{}{}", lines[0], lines[1], lines[3]);
    assert_eq!(wd.read_string("crmguard-out/products.released.csv"), want);

    wd.write("allowed.toml", "[synthetic]\nallow = true\n");
    let out = wd.run(&[
        "scan",
        "-q",
        "--policy",
        "allowed.toml",
        "--object",
        "Product_Description",
        "--out-dir",
        "again",
        "crmguard-out/products.released.csv",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(
        wd.read_string("again/products.released.clean.csv"),
        want,
        "every released row is clean"
    );

    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("1 approvals"), "{text}");
    let log = wd.read_string(LOG);
    let approval = log
        .lines()
        .find(|l| l.contains(r#""type":"approval""#))
        .unwrap();
    let rec: serde_json::Value = serde_json::from_str(approval).unwrap();
    assert_eq!(rec["approver"], "Grace Hopper");
    assert_eq!(rec["reason"], "copy checked");
    let q = blake3::hash(&wd.read("crmguard-out/products.quarantine.csv"));
    assert_eq!(rec["quarantine"]["blake3"], q.to_hex().as_str());
    let hashes: Vec<&str> = rec["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["row_blake3"].as_str().unwrap())
        .collect();
    let row_hash = |l: &str| blake3::hash(l.trim_end_matches('\n').as_bytes()).to_hex();
    assert_eq!(
        hashes,
        [row_hash(lines[1]).as_str(), row_hash(lines[3]).as_str()]
    );

    let out = wd.run(&["audit", "show", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("APPROVER") && text.contains("Grace Hopper"),
        "{text}"
    );
}

#[test]
fn a_quarantine_file_changed_since_its_scan_is_refused() {
    let wd = scanned();
    let q = wd.read_string("crmguard-out/products.quarantine.csv");
    wd.write(
        "crmguard-out/products.quarantine.csv",
        q.replace("Synthetic persona", "Synthetic person"),
    );
    let out = release(&wd, &["--rows", "1"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("changed since scan"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("crmguard-out/products.released.csv").exists());
    assert!(!wd.read_string(LOG).contains(r#""type":"approval""#));
}

#[test]
fn never_releasable_reasons_and_repeats_are_refused() {
    let wd = Workdir::new();
    wd.write(
        "leads.csv",
        "Name,is_synthetic,data_source\nAda,false,web\n=HYPERLINK(1),false,web\n",
    );
    assert_eq!(status(&wd.run(&["scan", "-q", "leads.csv"])), 1);
    let out = wd.run(&[
        "release",
        "crmguard-out/leads.quarantine.csv",
        "--rows",
        "2",
        "--approver",
        "G",
        "--reason",
        "r",
    ]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("row 2: CSV_INJECTION is never released"),
        "{}",
        stderr(&out)
    );

    let wd = scanned();
    assert_eq!(status(&release(&wd, &["--rows", "1"])), 0);
    let first = wd.read("crmguard-out/products.released.csv");
    // The same command again (docs/approvals.md), and to another file: the
    // rows are what is refused, whatever the output.
    for extra in [&[][..], &["--output", "again.csv"]] {
        let mut args = vec!["--rows", "1"];
        args.extend_from_slice(extra);
        let out = release(&wd, &args);
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing to release: row 1: released already, by approval"),
            "{extra:?}: {}",
            stderr(&out)
        );
    }
    // Rows not released yet still never overwrite a file.
    let out = release(&wd, &["--rows", "3"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists; a release never overwrites"));
    assert_eq!(wd.read("crmguard-out/products.released.csv"), first);
    assert!(!wd.join("again.csv").exists());
}

/// A release killed after its file was renamed into place and before its
/// commit record: the rows may be in the CRM already, so they are not
/// released again, neither before the next append records the crash nor
/// after.
#[test]
#[allow(clippy::zombie_processes)]
fn rows_of_a_release_killed_while_committing_are_not_released_again() {
    use std::io::{BufRead, BufReader};
    let wd = scanned();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crmguard"))
        .current_dir(wd.path())
        .env("CRMGUARD_TEST_PAUSE", "release")
        .args([
            "release",
            "crmguard-out/products.quarantine.csv",
            "--rows",
            "1",
        ])
        .args([
            "--approver",
            "G",
            "--reason",
            "r",
            "--policy",
            "waiting.toml",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("test pause at release") {
        line.clear();
        assert_ne!(err.read_line(&mut line).unwrap(), 0, "ended before pausing");
    }
    common::signal(&child, "-KILL");
    child.wait().unwrap();
    assert!(wd.join("crmguard-out/products.released.csv").exists());
    // Before the next append records the crash, and after a scan did
    // (`outputs: unknown`).
    for scan_first in [false, true] {
        if scan_first {
            wd.write(
                "other.csv",
                "Name,is_synthetic,data_source\nAda,false,web\n",
            );
            assert_eq!(status(&wd.run(&["scan", "-q", "other.csv"])), 0);
            assert!(wd.read_string(LOG).contains("\"outputs\":\"unknown\""));
        }
        let out = release(&wd, &["--rows", "1", "--output", "again.csv"]);
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("row 1: released already, perhaps, by approval"),
            "{}",
            stderr(&out)
        );
        assert!(!wd.join("again.csv").exists());
    }
    // Rows that approval did not name are still released.
    let out = release(&wd, &["--rows", "3", "--output", "three.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

#[test]
fn json_and_ndjson_rows_come_back_byte_for_byte() {
    let wd = Workdir::new();
    // Odd spacing and key order: the released bytes are the input's.
    let held = r#"{ "Name":"Ada",  "is_synthetic" : false }"#;
    let ok = r#"{"Name":"Bo","is_synthetic":false,"data_source":"web"}"#;
    wd.write("a.ndjson", format!("{ok}\n{held}\r\n{ok}\n"));
    wd.write("b.json", format!("[{ok},\n  {held}\n]\n"));
    for (input, quarantine, released, want) in [
        (
            "a.ndjson",
            "crmguard-out/a.quarantine.ndjson",
            "crmguard-out/a.released.ndjson",
            format!("{held}\r\n"),
        ),
        (
            "b.json",
            "crmguard-out/b.quarantine.json",
            "crmguard-out/b.released.json",
            format!("[\n{held}\n]\n"),
        ),
    ] {
        assert_eq!(status(&wd.run(&["scan", "-q", input])), 1);
        let out = wd.run(&[
            "release",
            quarantine,
            "--all-with",
            "MISSING_DISCLOSURE",
            "--approver",
            "G",
            "--reason",
            "r",
        ]);
        assert_eq!(status(&out), 0, "{input}: {}", stderr(&out));
        assert_eq!(wd.read_string(released), want, "{input}");
    }
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

/// A scan of `n` disclosed synthetic rows that all wait for approval.
fn scanned_rows(n: usize) -> Workdir {
    let wd = Workdir::new();
    wd.write(
        "crmguard.toml",
        format!("[disclosure]\nrequired_when_synthetic = []\n{WAITING}"),
    );
    let rows: String = (1..=n)
        .map(|i| format!("P{i},true,ai_generated\n"))
        .collect();
    wd.write("p.csv", format!("Name,is_synthetic,data_source\n{rows}"));
    let out = wd.run(&["scan", "-q", "--object", "Product_Description", "p.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    wd
}

/// The approval records in the log, as JSON.
fn approvals(wd: &Workdir) -> Vec<serde_json::Value> {
    wd.read_string(LOG)
        .lines()
        .filter(|l| l.contains(r#""type":"approval""#))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Two releases of one row racing: the "released already" check and the
/// approval's append must be one step under the log's lock, or both pass.
#[test]
fn concurrent_releases_of_a_row_release_it_once() {
    const ROUNDS: usize = 20;
    let wd = scanned_rows(ROUNDS);
    for round in 1..=ROUNDS {
        let row = round.to_string();
        let outs = [format!("a{round}.csv"), format!("b{round}.csv")];
        let children: Vec<_> = outs
            .iter()
            .map(|o| {
                std::process::Command::new(env!("CARGO_BIN_EXE_crmguard"))
                    .current_dir(wd.path())
                    .args([
                        "release",
                        "crmguard-out/p.quarantine.csv",
                        "--rows",
                        &row,
                        "--approver",
                        "Ann",
                        "--reason",
                        "r",
                        "-o",
                        o,
                    ])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let results: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let won: Vec<bool> = results.iter().map(|o| status(o) == 0).collect();
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {:?}",
            results.iter().map(stderr).collect::<Vec<_>>()
        );
        for (o, (out, won)) in outs.iter().zip(results.iter().zip(&won)) {
            assert_eq!(wd.join(o).exists(), *won, "round {round}: {o}");
            if !won {
                assert_eq!(status(out), 2);
                assert!(
                    stderr(out).contains(&format!("row {round}: released already")),
                    "{}",
                    stderr(out)
                );
            }
        }
    }
    let mut released: Vec<u64> = approvals(&wd)
        .iter()
        .flat_map(|a| a["rows"].as_array().unwrap().clone())
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    released.sort_unstable();
    assert_eq!(released, (1..=ROUNDS as u64).collect::<Vec<_>>());
    assert_eq!(status(&wd.run(&["audit", "verify", LOG])), 0);
}

/// `-o -` is stdout elsewhere; a release cannot stream (its file and its
/// approval are committed together), so it says so instead of writing a
/// file named `-`.
#[test]
fn release_to_stdout_is_refused() {
    let wd = scanned();
    let out = release(&wd, &["--rows", "1", "-o", "-"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--output -:") && err.contains("not to stdout"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    assert!(!wd.join("-").exists());
    assert!(approvals(&wd).is_empty());
}

/// The record number the release prints is the approval record's `seq`,
/// not its commit record's.
#[test]
fn the_printed_record_is_the_approval() {
    let wd = scanned();
    let out = release(&wd, &["--rows", "1"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    let (id, seq) = err
        .split_once("; approval ")
        .and_then(|(_, rest)| rest.split_once(" is record "))
        .and_then(|(id, rest)| Some((id, rest.split_once(' ')?.0)))
        .unwrap_or_else(|| panic!("{err}"));
    let seq: usize = seq.parse().unwrap();
    let log = wd.read_string(LOG);
    let rec: serde_json::Value = serde_json::from_str(log.lines().nth(seq - 1).unwrap()).unwrap();
    assert_eq!(rec["seq"], seq as u64);
    assert_eq!(rec["type"], "approval");
    assert_eq!(rec["approval_id"], id);
}

/// Thousands of rows in a message come out as ranges, capped: one short
/// line, refused or released.
#[test]
fn row_lists_in_messages_stay_short() {
    let wd = scanned();
    let out = release(&wd, &["--rows", "1-3000"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("not in the quarantine file: rows 2, 4-3000"),
        "{err}"
    );
    assert!(err.len() < 400 && err.lines().count() == 1, "{err}");

    let wd = scanned_rows(5000);
    let out = wd.run(&[
        "release",
        "crmguard-out/p.quarantine.csv",
        "--rows",
        "1-5000",
        "--approver",
        "Ann",
        "--reason",
        "r",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("released 5000 rows of scan"), "{err}");
    assert!(err.contains(" (1-5000) to "), "{err}");
    assert!(err.len() < 400 && err.lines().count() == 1, "{err}");
}

/// A range up to the largest row number, after another part, is refused
/// as too many rows: the count must not wrap (a panic in a debug build, a
/// cap passed in a release build).
#[test]
fn a_row_list_summing_past_u64_is_too_many_rows() {
    let wd = scanned();
    let rows = format!("1,1-{}", u64::MAX);
    let out = release(&wd, &["--rows", &rows]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("more than 5000 rows"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(approvals(&wd).is_empty());
}

/// The cap is on rows, not on how the list spells them: a row named twice
/// is one row, so 5000 rows named with overlaps are released.
#[test]
fn rows_named_twice_count_once_against_the_cap() {
    let wd = scanned_rows(5000);
    let out = wd.run(&[
        "release",
        "crmguard-out/p.quarantine.csv",
        "--rows",
        "1-5000,1,2500-2600",
        "--approver",
        "Ann",
        "--reason",
        "r",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("released 5000 rows of scan"),
        "{}",
        stderr(&out)
    );
    assert_eq!(approvals(&wd)[0]["rows"].as_array().unwrap().len(), 5000);
}

/// Each per-row `release` line of the export carries the approval's
/// approver and reason, so a filtered sheet still says why a row went.
#[test]
fn export_gives_every_released_row_its_reason() {
    let wd = scanned();
    let out = release(&wd, &["--all-with", "APPROVAL_REQUIRED"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let out = wd.run(&["audit", "export", LOG, "-o", "e.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let csv = wd.read("e.csv");
    let mut rdr = csv::Reader::from_reader(&csv[..]);
    let header = rdr.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let lines: Vec<csv::StringRecord> = rdr
        .records()
        .map(Result::unwrap)
        .filter(|r| matches!(&r[col("record")], "approval" | "release"))
        .collect();
    assert_eq!(lines.len(), 3, "{}", String::from_utf8_lossy(&csv));
    for l in &lines {
        assert_eq!(&l[col("approver")], "Grace Hopper");
        assert_eq!(&l[col("approval_reason")], "copy checked", "{l:?}");
    }
}

/// A write that fails names the path given on the command line, never the
/// temp file behind it, and says what is wrong with it.
#[test]
fn output_errors_name_the_users_path() {
    let wd = scanned();
    let one_line = |out: &std::process::Output, want: &str| {
        assert_eq!(status(out), 2, "{}", stderr(out));
        let err = stderr(out);
        assert!(err.contains(want), "{err}");
        assert!(
            !err.contains("crmguard-tmp") && err.lines().count() == 1,
            "{err}"
        );
    };
    let missing = "nodir/x.csv: cannot write: directory nodir does not exist";
    one_line(
        &wd.run(&["audit", "export", LOG, "-o", "nodir/x.csv"]),
        missing,
    );
    one_line(
        &release(&wd, &["--rows", "1", "-o", "nodir/x.csv"]),
        missing,
    );
    if std::path::Path::new("/dev/full").exists() {
        one_line(
            &wd.run(&["audit", "export", LOG, "-o", "/dev/full"]),
            "/dev/full: cannot write: ",
        );
        wd.write(
            "h.csv",
            "Name,is_synthetic,data_source\nA,true,ai_generated\n",
        );
        one_line(
            &wd.run(&["hash", "h.csv", "-o", "/dev/full"]),
            "/dev/full: cannot write: ",
        );
    }
    assert!(approvals(&wd).is_empty());
}

#[test]
fn an_approval_says_who_and_why_on_one_line() {
    let wd = scanned();
    for (who, why, want) in [
        ("", "copy checked", "--approver"),
        ("  ", "copy checked", "is empty"),
        ("Grace\x1b[31m", "copy checked", "holds a control character"),
        ("Grace Hopper", "ok\nsigned", "holds a control character"),
        (
            "Grace Hopper",
            &"x".repeat(2_001),
            "is over 2000 characters",
        ),
    ] {
        let out = wd.run(&[
            "release",
            "crmguard-out/products.quarantine.csv",
            "--rows",
            "1",
            "--approver",
            who,
            "--reason",
            why,
            "--policy",
            "waiting.toml",
        ]);
        assert_eq!(status(&out), 2, "{who:?} {why:?}");
        let err = stderr(&out);
        assert!(err.contains(want), "{who:?} {why:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains('\x1b'), "{err}");
    }
    assert!(!wd.join("crmguard-out/products.released.csv").exists());
    assert!(approvals(&wd).is_empty());
}

/// A quarantine file whose name is not UTF-8 gives a released file named
/// with the same bytes, and the message shows them as \xNN, not U+FFFD.
#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_keeps_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let wd = Workdir::new();
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname.csv");
    std::fs::write(
        wd.path().join(name),
        "name,is_synthetic,data_source\nx,maybe,crm\n",
    )
    .unwrap();
    let out = wd.command(&["scan", "-q"]).arg(name).output().unwrap();
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let quarantine = std::ffi::OsStr::from_bytes(b"crmguard-out/bad\xffname.quarantine.csv");
    let out = wd
        .command(&["release"])
        .arg(quarantine)
        .args(["--rows", "1", "--approver", "a", "--reason", "b"])
        .output()
        .unwrap();
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let released = std::ffi::OsStr::from_bytes(b"crmguard-out/bad\xffname.released.csv");
    assert!(
        wd.path().join(released).exists(),
        "{:?}",
        wd.list("crmguard-out")
    );
    let err = stderr(&out);
    assert!(
        err.contains("to crmguard-out/bad\\xffname.released.csv;"),
        "{err}"
    );
}

/// A last row that ended its input without a line ending is released
/// without one: the released file carries the row as it was read, not a
/// line ending the input never had.
#[test]
fn a_last_row_without_a_line_ending_comes_back_without_one() {
    let wd = Workdir::new();
    for (file, input, row, want) in [
        (
            "last.csv",
            "name,is_synthetic,data_source\r\ny,true,crm\r\nx,maybe,crm",
            "2",
            "name,is_synthetic,data_source\r\nx,maybe,crm",
        ),
        (
            "last.ndjson",
            "{\"a\":1,\"is_synthetic\":\"maybe\"}",
            "1",
            "{\"a\":1,\"is_synthetic\":\"maybe\"}",
        ),
    ] {
        wd.write(file, input);
        let out = wd.run(&["scan", "-q", file]);
        assert_eq!(status(&out), 1, "{file}: {}", stderr(&out));
        let (stem, ext) = file.split_once('.').unwrap();
        let quarantine = format!("crmguard-out/{stem}.quarantine.{ext}");
        let out = wd.run(&[
            "release",
            &quarantine,
            "--rows",
            row,
            "--approver",
            "a",
            "--reason",
            "b",
        ]);
        assert_eq!(status(&out), 0, "{file}: {}", stderr(&out));
        let released = wd.read_string(&format!("crmguard-out/{stem}.released.{ext}"));
        assert_eq!(released, want, "{file}");
    }
}
