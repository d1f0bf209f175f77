//! `crmguard report merge`: shards scanned apart add up to the scan of the
//! whole file.

use crate::common;

use common::{Workdir, status, stderr};

const NOW: &str = "2026-06-01T12:00:00Z";

/// Splits a CSV file's records (one per line here) into `n` shards, each
/// with the header.
fn shards(text: &str, n: usize) -> Vec<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let per = rows.len().div_ceil(n);
    rows.chunks(per)
        .map(|c| format!("{header}\n{}\n", c.join("\n")))
        .collect()
}

#[test]
fn shards_merge_into_the_whole_files_counts() {
    let wd = Workdir::new();
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", "make_leads", "--", "3000"])
        .output()
        .unwrap();
    assert!(out.status.success());
    // make_leads writes some descriptions over two lines; keep the records
    // whole by joining them back before splitting on lines.
    let text = String::from_utf8(out.stdout).unwrap().replace(".\n", ". ");
    wd.write("whole.csv", &text);
    let mut args = vec!["scan", "--now", NOW, "--fail-on", "never", "whole.csv"];
    let names: Vec<String> = (0..3).map(|i| format!("shard{i}.csv")).collect();
    for (name, shard) in names.iter().zip(shards(&text, 3)) {
        wd.write(name, shard);
    }
    args.extend(names.iter().map(String::as_str));
    let out = wd.run(&args);
    assert_eq!(status(&out), 0, "{}", stderr(&out));

    let reports: Vec<String> = (0..3)
        .map(|i| format!("crmguard-out/shard{i}.report.json"))
        .collect();
    let mut args = vec!["report", "merge", "-o", "total.json"];
    args.extend(reports.iter().map(String::as_str));
    let out = wd.run(&args);
    assert_eq!(status(&out), 0, "{}", stderr(&out));

    let whole = wd.report("crmguard-out/whole.report.json");
    let total = wd.report("total.json");
    for key in [
        "rows_total",
        "rows_clean",
        "rows_quarantined",
        "reasons",
        "missing_fields",
        "notices",
        "schema",
    ] {
        assert_eq!(total[key], whole[key], "{key}");
    }
    for key in [
        "rows_judged",
        "rows_flagged",
        "rows_review",
        "rows_disclosed",
        "score_histogram",
        "threshold",
    ] {
        assert_eq!(
            total["ai_text"][key], whole["ai_text"][key],
            "ai_text.{key}"
        );
    }
    // Every shard's input and outputs, hashes and all.
    let parts = total["merged_from"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    for (i, p) in parts.iter().enumerate() {
        let shard = wd.report(&reports[i]);
        assert_eq!(p["input"], shard["input"]);
        assert_eq!(p["outputs"], shard["outputs"]);
        assert_eq!(p["audit"], shard["audit"]);
        let bytes = wd.read(&reports[i]);
        assert_eq!(p["report_blake3"], blake3::hash(&bytes).to_hex().as_str());
    }
    assert_eq!(total["outputs"].as_array().unwrap().len(), 6);
    let bytes: u64 = parts
        .iter()
        .map(|p| p["input"]["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(total["input"]["bytes"], bytes);
    assert!(total.get("audit").is_none());
    common::tools::validate_reports(&[wd.join("total.json")]);

    // A merged report merges again, its parts listed once each (with another
    // scan: the same one again is refused, see below).
    let other = "crmguard-out/whole.report.json";
    let out = wd.run(&["report", "merge", "-o", "-", "total.json", other]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    wd.write("again.json", &out.stdout);
    common::tools::validate_reports(&[wd.join("again.json")]);
    assert_eq!(again["merged_from"].as_array().unwrap().len(), 4);
    assert_eq!(
        again["rows_total"].as_u64().unwrap(),
        2 * whole["rows_total"].as_u64().unwrap()
    );
}

#[test]
fn reports_of_different_policies_are_refused() {
    let wd = Workdir::new();
    wd.fixture("samples/leads.csv");
    wd.write("strict.toml", "[detector]\nenabled = false\n");
    let out = wd.run(&["scan", "--now", NOW, "-o", "a", "leads.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let out = wd.run(&[
        "scan",
        "--now",
        NOW,
        "-p",
        "strict.toml",
        "-o",
        "b",
        "leads.csv",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let out = wd.run(&[
        "report",
        "merge",
        "-o",
        "t.json",
        "a/leads.report.json",
        "b/leads.report.json",
    ]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("differ in policy"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!wd.join("t.json").exists());

    // Cut short on its second line: the error points there.
    wd.write("broken.json", "{\"schema\": 1,\n \"scan_id\": ");
    let out = wd.run(&["report", "merge", "-o", "t.json", "broken.json"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("broken.json:2:"), "{}", stderr(&out));
    // An empty one: serde_json's column 0 was shown, and its position twice.
    wd.write("empty.json", "");
    let out = wd.run(&["report", "merge", "-o", "t.json", "empty.json"]);
    assert_eq!(
        stderr(&out).trim_end(),
        "crmguard: error: empty.json:1:1: not a crmguard report: EOF while parsing a value"
    );
    // A count of the wrong type is named as such, where it is.
    wd.write("typed.json", "{\"schema\": 1,\n  \"rows_total\": \"x\"}");
    let out = wd.run(&["report", "merge", "-o", "t.json", "typed.json"]);
    assert_eq!(status(&out), 2);
    assert_eq!(
        stderr(&out).trim_end(),
        "crmguard: error: typed.json:2:3: not a crmguard report: `rows_total` is \"x\", not a count of rows"
    );
}

#[test]
fn a_scan_counted_twice_is_refused() {
    let wd = Workdir::new();
    wd.fixture("samples/leads.csv");
    wd.write("empty1.csv", "Name,is_synthetic,data_source\n");
    wd.write("empty2.csv", "Name,is_synthetic,data_source\n");
    for dir in ["a", "b"] {
        let out = wd.run(&[
            "scan",
            "--now",
            NOW,
            "--fail-on",
            "never",
            "-o",
            dir,
            "leads.csv",
            "empty1.csv",
            "empty2.csv",
        ]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
    }
    let merge = |parts: &[&str]| {
        let mut args = vec!["report", "merge", "-o", "t.json"];
        args.extend_from_slice(parts);
        let out = wd.run(&args);
        let _ = std::fs::remove_file(wd.join("t.json"));
        out
    };
    // Two shards with the same bytes under their own names add up.
    let out = merge(&["a/empty1.report.json", "a/empty2.report.json"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let out = wd.run(&[
        "report",
        "merge",
        "-o",
        "m.json",
        "a/leads.report.json",
        "a/empty1.report.json",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    for (parts, says) in [
        (
            &["a/leads.report.json", "a/leads.report.json"][..],
            "a/leads.report.json and a/leads.report.json are the same scan ",
        ),
        // A part that is also inside a merged report: both files given are
        // named, the merged one with the part inside it.
        (
            &["m.json", "a/empty1.report.json"],
            "m.json (its part a/empty1.report.json) and a/empty1.report.json are the same scan ",
        ),
        (
            &["a/empty1.report.json", "m.json"],
            "a/empty1.report.json and m.json (its part a/empty1.report.json) are the same scan ",
        ),
        // One file scanned twice, in two runs.
        (
            &["a/leads.report.json", "b/leads.report.json"],
            "are the same input leads.csv (",
        ),
    ] {
        let out = merge(parts);
        assert_eq!(status(&out), 2, "{parts:?}");
        let err = stderr(&out);
        assert!(err.contains(says), "{parts:?}: {err}");
        assert!(err.contains("its rows would count twice"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!wd.join("t.json").exists());
    }
}

/// A report whose clean and quarantined rows do not make its total (edited
/// by hand) would be summed into a merged total that does not add up.
#[test]
fn a_report_whose_counts_do_not_add_up_is_refused() {
    let wd = Workdir::new();
    wd.fixture("samples/leads.csv");
    let out = wd.run(&["scan", "-q", "--fail-on", "never", "leads.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let good = wd.read_string("crmguard-out/leads.report.json");
    let report: serde_json::Value = serde_json::from_str(&good).unwrap();
    let total = report["rows_total"].as_u64().unwrap();
    let clean = report["rows_clean"].as_u64().unwrap();
    let quarantined = report["rows_quarantined"].as_u64().unwrap();
    let needle = format!("\"rows_total\": {total},");
    assert!(good.contains(&needle), "{good}");
    let bad = good.replacen(&needle, &format!("\"rows_total\": {},", total + 5), 1);
    wd.write("bad.report.json", &bad);
    let line = bad[..bad.find("\"rows_total\"").unwrap()].lines().count();
    let out = wd.run(&["report", "merge", "-o", "t.json", "bad.report.json"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        format!(
            "crmguard: error: bad.report.json:{line}:3: rows_clean {clean} + rows_quarantined \
             {quarantined} is not rows_total {}: the report's counts do not add up (edited?), \
             so they cannot be summed",
            total + 5
        )
    );
    assert!(!wd.join("t.json").exists());
}

#[test]
fn counts_that_would_overflow_when_summed_are_refused_not_wrapped() {
    let wd = Workdir::new();
    wd.fixture("samples/leads.csv");
    wd.fixture("samples/cases.ndjson");
    let out = wd.run(&[
        "scan",
        "-q",
        "--fail-on",
        "never",
        "leads.csv",
        "cases.ndjson",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    // Each report adds up on its own; their sum is past u64::MAX. Summed,
    // it panicked (a debug build) or wrapped to a small total that still
    // added up (a release build): a report that looks like evidence.
    let good = wd.read_string("crmguard-out/leads.report.json");
    let report: serde_json::Value = serde_json::from_str(&good).unwrap();
    let quarantined = report["rows_quarantined"].as_u64().unwrap();
    let huge = u64::MAX - quarantined;
    let edited = good
        .replacen(
            &format!("\"rows_total\": {},", report["rows_total"]),
            &format!("\"rows_total\": {},", u64::MAX),
            1,
        )
        .replacen(
            &format!("\"rows_clean\": {},", report["rows_clean"]),
            &format!("\"rows_clean\": {huge},"),
            1,
        );
    assert_ne!(edited, good);
    wd.write("huge.report.json", &edited);
    let line = edited[..edited.find("\"rows_total\"").unwrap()]
        .lines()
        .count();
    let out = wd.run(&[
        "report",
        "merge",
        "-o",
        "t.json",
        "crmguard-out/cases.report.json",
        "huge.report.json",
    ]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with(&format!(
            "crmguard: error: huge.report.json:{line}:3: `rows_total` summed over the reports \
             is past 18446744073709551615"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(!wd.join("t.json").exists());

    // A count that is not one (negative, fractional) was summed as 0.
    let negative = good.replacen(
        "\"reasons\": {",
        "\"reasons\": {\n    \"AAA_NOT_A_CODE\": -7,",
        1,
    );
    assert_ne!(negative, good);
    wd.write("neg.report.json", &negative);
    let out = wd.run(&["report", "merge", "-o", "t.json", "neg.report.json"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("neg.report.json:") && stderr(&out).contains("`reasons`"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("t.json").exists());
}

/// A report of another tool or format, whose `schema` is there but not a
/// number, is named for what it holds, not as a report with no `schema`.
#[test]
fn a_schema_that_is_not_a_number_is_named_as_it_is() {
    let wd = Workdir::new();
    wd.fixture("samples/leads.csv");
    let out = wd.run(&["scan", "-q", "--fail-on", "never", "leads.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let good = wd.read_string("crmguard-out/leads.report.json");
    assert!(good.contains("\"schema\": 1,"), "{good}");
    let bad = good.replacen("\"schema\": 1,", "\"schema\": \"crmguard-report/2\",", 1);
    wd.write("bad.report.json", &bad);
    let out = wd.run(&["report", "merge", "-o", "t.json", "bad.report.json"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "crmguard: error: bad.report.json:1:1: not a crmguard report: `schema` is \
         \"crmguard-report/2\", not this crmguard's (1)"
    );
    assert!(!wd.join("t.json").exists());
}

/// The run's JSON report shares the schema number but is not a file's
/// report: it is named for what it is, not "not a crmguard report".
#[test]
fn a_runs_report_is_named_and_the_files_reports_asked_for() {
    let wd = Workdir::new();
    wd.fixture("samples/leads.csv");
    let out = wd.run(&[
        "scan",
        "-q",
        "--fail-on",
        "never",
        "--report",
        "json=run.json",
        "leads.csv",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let out = wd.run(&[
        "report",
        "merge",
        "-o",
        "t.json",
        "run.json",
        "crmguard-out/leads.report.json",
    ]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim_end(),
        "crmguard: error: run.json:1:1: a run's report (scan --report json=…), not a file's: \
         merge the files' reports (NAME.report.json in the out dir)"
    );
    assert!(!wd.join("t.json").exists());
}
