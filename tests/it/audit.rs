//! The audit log: logs are built through the library API the scan pipeline
//! uses (`AuditLog::record_scan`), then checked, tampered with and read back
//! through the real `crmguard audit` binary.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Workdir, status, stderr, stdout};
use crmguard::audit::{AuditLog, Head, RowSpool};
use crmguard::output::OutputSummary;
use crmguard::report::{
    FileFinding, InputInfo, Notices, OutputInfo, PolicyInfo, REPORT_SCHEMA, Report,
};
use crmguard::spec::FileCode;

const LOG: &str = "log.jsonl";
const INJECTION: &str = "=cmd|' /C calc'!A0";

fn hex(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

/// A report as `scan` would make it for `input` with rows `quarantined`
/// (row numbers) held back.
fn report(input: &str, started_at: &str, total: u64, quarantined: &[u64]) -> Report {
    let q = quarantined.len() as u64;
    let output = |kind: &'static str, rows: u64| OutputInfo {
        kind,
        summary: OutputSummary {
            path: PathBuf::from(format!("crmguard-out/{kind}.csv")),
            rows,
            bytes: 10,
            blake3: hex(format!("{input}:{kind}").as_bytes()),
        },
    };
    Report {
        schema: REPORT_SCHEMA,
        scan_id: scan_id(input),
        crmguard_version: "0.1.0",
        input: InputInfo {
            path: PathBuf::from(input),
            format: "csv",
            delimiter: Some(",".into()),
            compression: None,
            transcoded_from: None,
            bytes: 1234,
            blake3: hex(input.as_bytes()),
            object: (input == "leads.csv").then(|| "Lead".into()),
        },
        policy: PolicyInfo {
            path: Some(PathBuf::from("crmguard.toml")),
            found_by: "--policy",
            blake3: hex(b"policy"),
        },
        started_at: started_at.into(),
        scan_time: started_at.into(),
        elapsed_ms: 3,
        rows_total: total,
        rows_clean: total - q,
        rows_quarantined: q,
        rows_baselined: None,
        reasons_baselined: None,
        column_findings: BTreeMap::new(),
        reasons: if q > 0 {
            BTreeMap::from([("CSV_INJECTION", q), ("FIELD_TOO_LONG", 1)])
        } else {
            BTreeMap::new()
        },
        missing_fields: BTreeMap::new(),
        notices: Notices::default(),
        file_findings: vec![FileFinding {
            code: FileCode::BomPresent,
            message: "bom".into(),
            fix: None,
        }],
        outputs: vec![output("clean", total - q), output("quarantine", q)],
        ai_text: None,
        media: None,
        cleanup: None,
        audit: None,
    }
}

/// The id the scan pipeline gives the scan of `input`.
fn scan_id(input: &str) -> String {
    hex(format!("id of {input}").as_bytes())[..20].to_string()
}

/// The raw bytes of quarantined row `n` of `input`: what the pipeline hashes.
fn row_bytes(input: &str, n: u64) -> String {
    format!("Ada Lovelace {n},ada{n}@example.com,{input}")
}

fn record(wd: &Workdir, input: &str, started_at: &str, total: u64, quarantined: &[u64]) -> Head {
    let mut spool = RowSpool::new().unwrap();
    for (i, &n) in quarantined.iter().enumerate() {
        let reasons = if i == 0 {
            "CSV_INJECTION;FIELD_TOO_LONG"
        } else {
            "CSV_INJECTION"
        };
        let hash = blake3::hash(row_bytes(input, n).as_bytes());
        spool.push(n, reasons, hash.as_bytes()).unwrap();
    }
    AuditLog::new(wd.join(LOG))
        .record_scan(&report(input, started_at, total, quarantined), spool)
        .unwrap()
}

/// Three scans: lines 1 (scan), 2-3 (rows 4, 9), 4 (commit); 5 (scan,
/// nothing quarantined), 6 (commit); 7 (scan), 8-10 (rows 1, 2, 7), 11
/// (commit).
fn sample_log(wd: &Workdir) -> Vec<Head> {
    vec![
        record(wd, "leads.csv", "2026-10-15T09:00:00Z", 10, &[4, 9]),
        record(wd, "clean.csv", "2026-10-20T09:00:00Z", 5, &[]),
        record(wd, INJECTION, "2026-11-02T10:30:00+01:00", 8, &[1, 2, 7]),
    ]
}

fn lines(wd: &Workdir) -> Vec<String> {
    wd.read_string(LOG)
        .lines()
        .map(|l| format!("{l}\n"))
        .collect()
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap()
}

/// Rewrites a line's hash by the documented rule, as a forger would.
fn rehash(line: &str) -> String {
    let body = line.trim_end_matches('\n');
    let cut = body.rfind(",\"hash\":\"").unwrap();
    let content = format!("{}}}", &body[..cut]);
    format!(
        "{},\"hash\":\"{}\"}}\n",
        &body[..cut],
        hex(content.as_bytes())
    )
}

/// Writes `lines` as the log, runs `verify` and returns its one-line
/// complaint, asserting exit 1.
fn verify_fails(wd: &Workdir, lines: &[String]) -> String {
    wd.write(LOG, lines.concat());
    let out = wd.run(&["audit", "verify", LOG]);
    let err = stderr(&out);
    assert_eq!(status(&out), 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    err.trim_end().to_string()
}

#[test]
fn a_valid_log_verifies_and_names_its_head() {
    let wd = Workdir::new();
    let heads = sample_log(&wd);
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "{LOG}: OK, 11 records (3 scans, 3 committed), head {}\n",
            heads[2].hash
        )
    );
    assert!(
        stderr(&out).contains("--expect-head"),
        "the truncation note"
    );
    assert_eq!(heads.iter().map(|h| h.seq).collect::<Vec<_>>(), [4, 6, 11]);
    let last = json(&lines(&wd)[10]);
    assert_eq!(last["type"], "commit");
    assert_eq!(last["hash"], heads[2].hash.as_str());
    assert_eq!(last["scan_id"], heads[2].scan_id.as_str());
}

#[test]
fn expect_head_catches_records_cut_off_the_end() {
    let wd = Workdir::new();
    let heads = sample_log(&wd);
    let head = heads[2].hash.as_str();
    assert_eq!(
        status(&wd.run(&["audit", "verify", LOG, "--expect-head", head])),
        0
    );
    // An older head is still in the log: scans appended since are fine.
    let out = wd.run(&["audit", "verify", LOG, "--expect-head", &heads[0].hash]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("record 4, 7 records appended since"));

    let wrong = "ab".repeat(32);
    let out = wd.run(&["audit", "verify", LOG, "--expect-head", &wrong]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains(&wrong), "{}", stderr(&out));

    // The last scan and its rows removed: the chain alone still verifies...
    let all = lines(&wd);
    wd.write(LOG, all[..6].concat());
    assert_eq!(status(&wd.run(&["audit", "verify", LOG])), 0);
    // ...the head recorded elsewhere does not.
    let out = wd.run(&["audit", "verify", LOG, "--expect-head", head]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("cut off the end"), "{}", stderr(&out));

    assert_eq!(
        status(&wd.run(&["audit", "verify", LOG, "--expect-head", "xyz"])),
        2
    );
}

#[test]
fn records_hold_the_scan_and_never_row_content() {
    let wd = Workdir::new();
    let heads = sample_log(&wd);
    let text = wd.read_string(LOG);
    assert!(!text.contains("Ada") && !text.contains("example.com"));

    let all = lines(&wd);
    let scan = json(&all[0]);
    assert_eq!(scan["v"], 2);
    assert_eq!(scan["seq"], 1);
    assert_eq!(scan["type"], "scan");
    assert_eq!(scan["prev"], "0".repeat(64));
    assert_eq!(scan["at"], "2026-10-15T09:00:00Z");
    assert_eq!(scan["input"]["path"], "leads.csv");
    assert_eq!(scan["input"]["bytes"], 1234);
    assert_eq!(scan["input"]["blake3"], hex(b"leads.csv"));
    assert_eq!(scan["policy"]["path"], "crmguard.toml");
    assert_eq!(scan["policy"]["blake3"], hex(b"policy"));
    assert_eq!(scan["outputs"][1]["kind"], "quarantine");
    assert_eq!(scan["outputs"][1]["rows"], 2);
    assert_eq!(scan["outputs"][1]["blake3"], hex(b"leads.csv:quarantine"));
    assert_eq!(
        (
            &scan["rows_total"],
            &scan["rows_clean"],
            &scan["rows_quarantined"]
        ),
        (&10.into(), &8.into(), &2.into())
    );
    assert_eq!(scan["reasons"]["CSV_INJECTION"], 2);
    assert_eq!(scan["file_findings"], serde_json::json!(["BOM_PRESENT"]));
    assert!(!scan["user"].as_str().unwrap().is_empty());
    assert!(!scan["host"].as_str().unwrap().is_empty());
    assert_eq!(scan["crmguard_version"], "0.1.0");
    // The report's id, which the CRM's tags carry too.
    assert_eq!(scan["scan_id"], scan_id("leads.csv"));
    assert_eq!(heads[0].scan_id, scan_id("leads.csv"));
    assert_eq!(scan["input"]["object"], "Lead");
    assert!(json(&all[4])["input"].get("object").is_none());

    // The offset is normalised to UTC.
    assert_eq!(json(&all[6])["at"], "2026-11-02T09:30:00Z");

    // The commit record: which scan, and when its outputs were in place.
    let commit = json(&all[3]);
    let keys: Vec<&str> = commit
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys, ["v", "seq", "type", "scan_id", "at", "prev", "hash"]);
    assert_eq!(commit["type"], "commit");
    assert_eq!(commit["scan_id"], scan["scan_id"]);
    assert_eq!(commit["prev"], json(&all[2])["hash"]);

    let row = json(&all[1]);
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "v",
            "seq",
            "type",
            "scan_id",
            "row",
            "reasons",
            "row_blake3",
            "prev",
            "hash"
        ]
    );
    assert_eq!(row["row"], 4);
    assert_eq!(row["reasons"], "CSV_INJECTION;FIELD_TOO_LONG");
    assert_eq!(row["row_blake3"], hex(row_bytes("leads.csv", 4).as_bytes()));
    assert_eq!(row["prev"], scan["hash"]);
    assert_eq!(row["scan_id"], scan["scan_id"]);
}

#[test]
fn an_edited_record_is_caught_where_it_was_edited() {
    let wd = Workdir::new();
    sample_log(&wd);
    let all = lines(&wd);

    let mut edited = all.clone();
    edited[8] = edited[8].replace(
        "\"reasons\":\"CSV_INJECTION\"",
        "\"reasons\":\"FIELD_TOO_LONG\"",
    );
    assert_ne!(edited[8], all[8]);
    let err = verify_fails(&wd, &edited);
    assert_eq!(
        err,
        "log.jsonl:9: record 9: hash does not match its content (edited?)"
    );

    let mut edited = all.clone();
    edited[2] = edited[2].replace("\"row\":9,", "\"row\":8,");
    assert_ne!(edited[2], all[2]);
    assert!(verify_fails(&wd, &edited).starts_with("log.jsonl:3: record 3: hash does not match"));

    // A forger who also recomputes the edited record's own hash is caught
    // at the next record, whose prev no longer matches.
    let mut forged = all.clone();
    forged[2] = rehash(&forged[2].replace("\"row\":9,", "\"row\":8,"));
    let err = verify_fails(&wd, &forged);
    assert_eq!(
        err,
        "log.jsonl:4: record 4: prev does not match the previous record (deleted or reordered?)"
    );
    // The rehash helper follows the documented rule: untouched, it changes nothing.
    assert_eq!(rehash(&all[2]), all[2]);

    // Counts in a scan record are covered like everything else.
    let mut edited = all.clone();
    edited[6] = edited[6].replace("\"rows_quarantined\":3", "\"rows_quarantined\":0");
    assert!(verify_fails(&wd, &edited).starts_with("log.jsonl:7: record 7: hash does not match"));
}

#[test]
fn a_deleted_record_is_caught() {
    let wd = Workdir::new();
    sample_log(&wd);
    let mut all = lines(&wd);
    all.remove(3);
    assert_eq!(
        verify_fails(&wd, &all),
        "log.jsonl:4: record 5: seq 5 follows 3 (records deleted or reordered?)"
    );

    let mut all = fresh_lines(&wd);
    all.remove(0);
    assert!(verify_fails(&wd, &all).starts_with("log.jsonl:1: record 2: seq 2 at the start"));
}

/// The lines of a new sample log, in place of one a test has tampered with.
fn fresh_lines(wd: &Workdir) -> Vec<String> {
    std::fs::remove_file(wd.join(LOG)).unwrap();
    sample_log(wd);
    lines(wd)
}

#[test]
fn swapped_records_are_caught() {
    let wd = Workdir::new();
    sample_log(&wd);
    let mut all = lines(&wd);
    all.swap(5, 6);
    assert_eq!(
        verify_fails(&wd, &all),
        "log.jsonl:6: record 7: seq 7 follows 5 (records deleted or reordered?)"
    );
    // Whole scans swapped (scan 2 before scan 1 and its rows).
    let all = fresh_lines(&wd);
    let swapped = [&all[4..6], &all[..4], &all[6..]].concat();
    assert!(verify_fails(&wd, &swapped).starts_with("log.jsonl:1: record 5: seq 5 at the start"));
}

#[test]
fn a_truncated_last_line_is_caught_and_not_appended_to() {
    let wd = Workdir::new();
    sample_log(&wd);
    let text = wd.read_string(LOG);
    for cut in [1, 10, 100] {
        let truncated = &text[..text.len() - cut];
        wd.write(LOG, truncated);
        let out = wd.run(&["audit", "verify", LOG]);
        assert_eq!(status(&out), 1);
        assert_eq!(
            stderr(&out),
            "log.jsonl:11: record 11: truncated record (no end of line)\n"
        );
    }
    // Cut and then "repaired" with a newline: still not a whole record, and
    // no longer what a crash leaves, so not called truncated.
    wd.write(LOG, format!("{}\n", &text[..text.len() - 30]));
    let err = verify_fails(&wd, &[wd.read_string(LOG)]);
    let said = "log.jsonl:11: record 11: incomplete JSON before the end of the line";
    assert!(err.starts_with(said), "{err}");

    // Appending onto a broken tail would vouch for it: refused, log
    // untouched. (A line merely cut short is what a crash leaves: the
    // append recovers from it, tests/it/commit.rs.)
    let before = wd.read(LOG);
    let mut spool = RowSpool::new().unwrap();
    spool.push(1, "CSV_INJECTION", &[7; 32]).unwrap();
    let err = AuditLog::new(wd.join(LOG))
        .record_scan(&report("next.csv", "2026-11-03T00:00:00Z", 1, &[1]), spool)
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(said), "{msg}");
    assert!(msg.contains("refusing to append"), "{msg}");
    assert_eq!(wd.read(LOG), before);
}

#[test]
fn an_appended_garbage_line_is_caught() {
    let wd = Workdir::new();
    sample_log(&wd);
    let mut all = lines(&wd);
    all.push("{\"v\":1,\"seq\":12,\"note\":\"hi\"}\n".into());
    assert_eq!(
        verify_fails(&wd, &all),
        "log.jsonl:12: record 12: no \"hash\""
    );
    all.pop();
    all.push("not json\n".into());
    assert!(verify_fails(&wd, &all).starts_with("log.jsonl:12: record 12: not a JSON record"));
    // A record of another chain, valid on its own.
    let other = Workdir::new();
    sample_log(&other);
    all.pop();
    all.push(lines(&other)[10].clone());
    assert!(verify_fails(&wd, &all).contains("record 11: seq 11 follows 11"));
}

#[test]
fn row_records_must_match_the_scan_counts() {
    let wd = Workdir::new();
    sample_log(&wd);
    let all = lines(&wd);
    // The last row of the last scan cut off with its commit: the chain
    // holds, the scan record's count does not.
    let err = verify_fails(&wd, &all[..9]);
    assert_eq!(
        err,
        "log.jsonl:7: record 7: scan ".to_string()
            + json(&all[6])["scan_id"].as_str().unwrap()
            + " lists 3 quarantined rows but 2 row records follow (an append was interrupted, \
               or the log was cut; the next scan cuts the unfinished append and records that)"
    );

    // The pipeline handing over fewer decisions than quarantined rows is a
    // bug the log must not record as if it were whole.
    let mut spool = RowSpool::new().unwrap();
    spool.push(1, "CSV_INJECTION", &[1; 32]).unwrap();
    let err = AuditLog::new(wd.join("other.jsonl"))
        .record_scan(&report("x.csv", "2026-11-03T00:00:00Z", 5, &[1, 2]), spool)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("1 row decisions for 2 quarantined rows")
    );
    assert!(!wd.join("other.jsonl").exists());

    // Without the report's id the log could not be tied to the CRM's tags.
    let mut nameless = report("x.csv", "2026-11-03T00:00:00Z", 5, &[]);
    nameless.scan_id.clear();
    let err = AuditLog::new(wd.join("other.jsonl"))
        .record_scan(&nameless, RowSpool::new().unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("no scan_id"), "{err}");
    assert!(!wd.join("other.jsonl").exists());
}

#[test]
fn a_missing_log_is_an_error() {
    let wd = Workdir::new();
    for cmd in ["verify", "show", "export"] {
        let out = wd.run(&["audit", cmd, "missing.jsonl"]);
        assert_eq!(status(&out), 2, "{cmd}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("crmguard: error: missing.jsonl: cannot read"),
            "{err}"
        );
    }
}

/// A log piped in has no length to snapshot: read as zero bytes it would
/// pass as an intact, empty log whatever it held, tampered or not.
#[test]
fn a_log_that_is_not_a_regular_file_is_refused_not_passed_empty() {
    let wd = Workdir::new();
    sample_log(&wd);
    let log = wd.read(LOG);
    for cmd in ["verify", "show", "export"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crmguard"))
            .current_dir(wd.path())
            .args(["audit", cmd, "/dev/stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        // The reader may refuse before it reads: a closed pipe is fine.
        let _ = child.stdin.take().unwrap().write_all(&log);
        let out = child.wait_with_output().unwrap();
        assert_eq!(status(&out), 2, "{cmd}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(
            err.trim_end(),
            "crmguard: error: /dev/stdin: cannot read: not a regular file: a pipe or a \
             device has no length to verify up to; save the log to a file first",
            "{cmd}"
        );
        assert!(out.stdout.is_empty(), "{cmd}: {}", stdout(&out));
    }
    let out = wd.run(&["audit", "verify", "/dev/zero"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_empty_log_verifies() {
    let wd = Workdir::new();
    wd.write(LOG, "");
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0);
    assert!(stdout(&out).contains(&format!(
        "0 records (0 scans, 0 committed), head {}",
        "0".repeat(64)
    )));
}

#[test]
fn concurrent_appends_keep_one_valid_chain() {
    // Two crmguard processes scan at once into one log. Each scan
    // quarantines 6,000 rows, whose records take more than one write (the
    // log writes 1 MiB at a time), so only the file lock keeps the other
    // process's records out from between them.
    let wd = Workdir::new();
    const FILES: usize = 6;
    const ROWS: usize = 6_000;
    let mut body = String::from("Name,Notes,is_synthetic,data_source\n");
    for r in 0..ROWS {
        body.push_str(&format!("Person {r},=formula {r},no,web\n"));
    }
    let mut args: [Vec<String>; 2] = Default::default();
    for (p, label) in ["a", "b"].iter().enumerate() {
        args[p] = ["scan", "-q", "--fail-on", "never", "--audit-log", LOG, "-o"]
            .iter()
            .map(|s| s.to_string())
            .chain([format!("out-{label}")])
            .collect();
        for f in 0..FILES {
            let name = format!("{label}{f}.csv");
            wd.write(&name, &body);
            args[p].push(name);
        }
    }
    let spawn = |a: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_crmguard"))
            .current_dir(wd.path())
            .args(a)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(&args[0]), spawn(&args[1]));
    for out in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        assert_eq!(status(&out), 0, "{}", stderr(&out));
    }

    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let total = 2 * FILES * (ROWS + 2);
    assert!(
        stdout(&out).contains(&format!(
            "OK, {total} records ({0} scans, {0} committed)",
            2 * FILES
        )),
        "{}",
        stdout(&out)
    );

    // Every scan is followed by all of its own rows, in order, and its
    // commit record, and nothing else.
    let all = lines(&wd);
    assert_eq!(all.len(), total);
    let mut inputs = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let scan = json(&all[i]);
        assert_eq!(scan["type"], "scan", "line {}", i + 1);
        inputs.push(scan["input"]["path"].as_str().unwrap().to_string());
        for r in 1..=ROWS {
            let row = json(&all[i + r]);
            assert_eq!(row["type"], "row", "line {}", i + r + 1);
            assert_eq!(row["scan_id"], scan["scan_id"], "line {}", i + r + 1);
            assert_eq!(row["row"], r as u64);
        }
        let commit = json(&all[i + ROWS + 1]);
        assert_eq!(commit["type"], "commit");
        assert_eq!(commit["scan_id"], scan["scan_id"]);
        i += ROWS + 2;
    }
    inputs.sort();
    let mut expected: Vec<String> = ["a", "b"]
        .iter()
        .flat_map(|l| (0..FILES).map(move |f| format!("{l}{f}.csv")))
        .collect();
    expected.sort();
    assert_eq!(inputs, expected);

    // Each report's head is still in the log.
    for label in ["a", "b"] {
        for f in 0..FILES {
            let r = wd.report(&format!("out-{label}/{label}{f}.report.json"));
            let head = r["audit"]["head"].as_str().unwrap();
            let seq = r["audit"]["seq"].as_u64().unwrap() as usize;
            assert_eq!(json(&all[seq - 1])["hash"], head);
        }
    }
}

fn export_csv(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(bytes);
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            assert_eq!(r.len(), header.len());
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn export_writes_scans_and_decisions_as_csv() {
    let wd = Workdir::new();
    let heads = sample_log(&wd);
    let out = wd.run(&["audit", "export", LOG, "-o", "audit.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let rows = export_csv(&wd.read("audit.csv"));
    assert_eq!(rows.len(), 11);
    let kinds: Vec<&str> = rows.iter().map(|r| r["record"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "scan", "row", "row", "commit", "scan", "commit", "scan", "row", "row", "row", "commit"
        ]
    );
    assert_eq!(rows[3]["scan_id"], heads[0].scan_id);
    assert_eq!(rows[3]["decision"], "committed");
    assert_eq!(rows[3]["input_path"], "leads.csv");
    let scan = &rows[0];
    assert_eq!(scan["scan_id"], heads[0].scan_id);
    assert_eq!(scan["input_path"], "leads.csv");
    assert_eq!(scan["input_object"], "Lead");
    assert_eq!(scan["input_blake3"], hex(b"leads.csv"));
    assert_eq!(scan["policy_blake3"], hex(b"policy"));
    assert_eq!(
        (
            scan["rows_total"].as_str(),
            scan["rows_clean"].as_str(),
            scan["rows_quarantined"].as_str()
        ),
        ("10", "8", "2")
    );
    assert_eq!(scan["reasons"], "CSV_INJECTION=2;FIELD_TOO_LONG=1");
    assert_eq!(scan["file_findings"], "BOM_PRESENT");
    let row = &rows[2];
    assert_eq!(row["scan_id"], heads[0].scan_id);
    assert_eq!(row["row"], "9");
    assert_eq!(row["decision"], "quarantined");
    assert_eq!(row["reasons"], "CSV_INJECTION");
    assert_eq!(row["row_blake3"], hex(row_bytes("leads.csv", 9).as_bytes()));
    assert_eq!(row["at"], scan["at"]);
    assert_eq!(row["user"], scan["user"]);
    assert_eq!(row["input_object"], "Lead");

    // The hostile input path reaches the spreadsheet as text.
    for r in &rows[6..] {
        assert_eq!(r["input_path"], format!("'{INJECTION}"));
    }
    for r in &rows {
        for (col, v) in r {
            assert!(
                !v.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{col} = {v:?}"
            );
        }
    }

    // Stdout gets the same CSV.
    let out = wd.run(&["audit", "export", LOG]);
    assert_eq!(status(&out), 0);
    assert_eq!(out.stdout, wd.read("audit.csv"));
}

#[test]
fn export_and_show_filter_by_date() {
    let wd = Workdir::new();
    let heads = sample_log(&wd);
    for since in [
        "2026-11-01",
        "2026-11-02T09:00:00Z",
        "2026-11-02T10:00:00+01:00",
    ] {
        let out = wd.run(&["audit", "export", LOG, "--since", since]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        let rows = export_csv(&out.stdout);
        assert_eq!(rows.len(), 5, "{since}");
        assert!(rows.iter().all(|r| r["scan_id"] == heads[2].scan_id));
    }
    let rows = export_csv(
        &wd.run(&["audit", "export", LOG, "--since", "2026-10-16"])
            .stdout,
    );
    assert_eq!(rows.len(), 7);
    let rows = export_csv(
        &wd.run(&["audit", "export", LOG, "--since", "2027-01-01"])
            .stdout,
    );
    assert!(rows.is_empty());
    assert_eq!(
        status(&wd.run(&["audit", "export", LOG, "--since", "last week"])),
        2
    );

    let out = wd.run(&["audit", "show", LOG, "--since", "2026-10-16"]);
    assert_eq!(status(&out), 0);
    let table = stdout(&out);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(!table.contains("leads.csv"));
    assert!(table.contains(&heads[1].scan_id[..12]));

    // The last day there is a date of: later than every scan, not jiff's
    // "timestamp overflowed" error.
    let out = wd.run(&["audit", "show", LOG, "--since", "9999-12-31"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert_eq!(stderr(&out), format!("{LOG}: no scans\n"));
}

#[test]
fn export_refuses_a_broken_log_and_its_own_log() {
    let wd = Workdir::new();
    sample_log(&wd);
    let mut all = lines(&wd);
    all.swap(1, 2);
    wd.write(LOG, all.concat());
    let out = wd.run(&["audit", "export", LOG, "-o", "audit.csv"]);
    assert_eq!(status(&out), 1);
    assert!(
        stderr(&out).starts_with("log.jsonl:2: record 3:"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("audit.csv").exists());
    let out = wd.run(&["audit", "export", LOG]);
    assert_eq!(status(&out), 1);
    assert!(out.stdout.is_empty());

    let wd = Workdir::new();
    sample_log(&wd);
    let before = wd.read(LOG);
    let out = wd.run(&["audit", "export", LOG, "-o", LOG]);
    assert_eq!(status(&out), 2);
    assert_eq!(wd.read(LOG), before);
}

#[test]
fn show_lists_scans() {
    let wd = Workdir::new();
    let heads = sample_log(&wd);
    let out = wd.run(&["audit", "show", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("TIME (UTC)"));
    let user_host = {
        let scan = json(&self::lines(&wd)[0]);
        format!(
            "{}@{}",
            scan["user"].as_str().unwrap(),
            scan["host"].as_str().unwrap()
        )
    };
    let cells = |l: &str| l.split_whitespace().map(String::from).collect::<Vec<_>>();
    assert_eq!(
        cells(lines[1]),
        [
            "2026-10-15",
            "09:00:00",
            &heads[0].scan_id[..12],
            &user_host,
            "leads.csv",
            "10",
            "8",
            "2",
            "committed",
            "CSV_INJECTION",
            "2,",
            "FIELD_TOO_LONG",
            "1"
        ]
    );
    assert!(lines[2].contains("clean.csv") && lines[2].contains(&heads[1].scan_id[..12]));
    assert!(lines[3].starts_with("2026-11-02 09:30:00") && lines[3].contains(INJECTION));
    // Columns line up: the scan ids start at the same offset on every line.
    let col = lines[0].find("SCAN").unwrap();
    for (l, h) in lines[1..].iter().zip(&heads) {
        assert_eq!(l.find(&h.scan_id[..12]), Some(col), "{table}");
    }

    // A tampered log is not listed as if it were sound.
    let mut all = self::lines(&wd);
    all[0] = all[0].replace("leads.csv", "leadz.csv");
    wd.write(LOG, all.concat());
    let out = wd.run(&["audit", "show", LOG]);
    assert_eq!(status(&out), 1);
    assert!(out.stdout.is_empty());
}

/// A blank line has its newline: no crash left it, so neither `verify` nor
/// a scan calls it a truncated record the next scan cuts off; both name it
/// as a line crmguard did not write, the same way.
#[test]
fn a_blank_line_is_not_called_a_crash_remnant() {
    let wd = Workdir::new();
    wd.write("leads.csv", format!("Name\nAda\n{INJECTION}\n"));
    let scan = ["scan", "-q", "--audit-log", LOG, "leads.csv"];
    assert_eq!(status(&wd.run(&scan)), 1);
    let mut log = wd.read(LOG);
    log.push(b'\n');
    wd.write(LOG, &log);
    let want = ":5: record 5: a blank line, which crmguard never writes";
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(said.contains(want) && !said.contains("truncated"), "{said}");
    let out = wd.run(&scan);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains(want), "{}", stderr(&out));
}
