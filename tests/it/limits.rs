//! Hostile input meets bounds, not unbounded memory or time: the record-size
//! limit in every reader (decompression bombs, endless fields, blank lines),
//! the field and value caps that come with it, a million columns, `-j`, and
//! files a policy names. Tests set a small limit in a policy file rather than
//! writing huge files; docs/benchmarks.md measures the huge ones.

use crate::common;

use std::io::Write as _;

use common::{Workdir, quarantine_csv, status, stderr};

const HEADER: &str = "Name,is_synthetic,data_source\n";

/// A workdir with `limit.toml` setting `[limits] max_record_bytes`.
fn with_limit(limit: usize) -> Workdir {
    let wd = Workdir::new();
    wd.write(
        "limit.toml",
        format!("[limits]\nmax_record_bytes = {limit}\n"),
    );
    wd
}

/// Scans `file` under limit.toml; the exit status and stderr.
fn scan(wd: &Workdir, file: &str) -> (i32, String) {
    let out = wd.run(&["scan", "-p", "limit.toml", file]);
    (status(&out), stderr(&out))
}

/// The error for a record over the limit: one line, naming the file, the
/// line and column where the record starts, and the limit; no outputs.
fn assert_refused(wd: &Workdir, (code, err): (i32, String), at: &str, limit: usize) {
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("crmguard: error: {at}: ")),
        "{err}"
    );
    assert!(
        err.contains(&format!("over {limit} bytes ([limits] max_record_bytes)")),
        "{err}"
    );
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new(), "{err}");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_csv_record_at_the_limit_passes_and_one_byte_more_is_refused() {
    // The limit counts a record's bytes without its line ending.
    let limit = 64;
    let row = |n: usize| format!("{},no,web", "x".repeat(n - ",no,web".len()));
    let wd = with_limit(limit);
    wd.write("at.csv", format!("{HEADER}a,no,web\r\n{}\r\n", row(limit)));
    let (code, err) = scan(&wd, "at.csv");
    assert_eq!(code, 0, "{err}");

    let wd = with_limit(limit);
    wd.write(
        "over.csv",
        format!("{HEADER}a,no,web\n\n{}\n", row(limit + 1)),
    );
    assert_refused(&wd, scan(&wd, "over.csv"), "over.csv:4:1", limit);
    // The last record, without a line ending, too.
    let wd = with_limit(limit);
    wd.write("last.csv", format!("{HEADER}{}", row(limit + 1)));
    assert_refused(&wd, scan(&wd, "last.csv"), "last.csv:2:1", limit);
    // A quoted field spanning lines counts whole, from its first line.
    let wd = with_limit(limit);
    let field = "y\n".repeat(40);
    wd.write(
        "quoted.csv",
        format!("{HEADER}a,no,web\n\"{field}\",no,web\n"),
    );
    assert_refused(&wd, scan(&wd, "quoted.csv"), "quoted.csv:3:1", limit);
}

#[test]
fn a_header_over_the_limit_is_refused() {
    let wd = with_limit(100);
    let names: Vec<String> = (0..40).map(|i| format!("col{i}")).collect();
    wd.write("wide.csv", format!("{}\n", names.join(",")));
    assert_refused(&wd, scan(&wd, "wide.csv"), "wide.csv:1:1", 100);
}

#[test]
fn a_decompression_bomb_stops_at_the_limit() {
    // 64 MiB of zeros, 64 KiB compressed: one record with no end.
    let wd = with_limit(4096);
    wd.write("bomb.csv.gz", gzip(&vec![0u8; 64 << 20]));
    assert_refused(&wd, scan(&wd, "bomb.csv.gz"), "bomb.csv.gz:1:1", 4096);
    let wd = with_limit(4096);
    let mut bomb = b"{\"Name\":\"".to_vec();
    bomb.resize(64 << 20, b'a');
    wd.write("bomb.ndjson.gz", gzip(&bomb));
    assert_refused(&wd, scan(&wd, "bomb.ndjson.gz"), "bomb.ndjson.gz:1:1", 4096);
}

#[test]
fn blank_lines_are_not_held_as_part_of_a_record() {
    // Far more blank lines than the limit, before and between records: they
    // are counted for line numbers and dropped as read, never buffered as
    // the next record's start (2 GB of them took 2.1 GB of memory).
    let wd = with_limit(64);
    let blank = "\n".repeat(100_000);
    let crlf = "\r\n".repeat(100_000);
    wd.write(
        "blank.csv",
        format!("{blank}{HEADER}{crlf}a,no,web\n{blank}b,maybe,web\n{blank}"),
    );
    let out = wd.run(&["scan", "-p", "limit.toml", "blank.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let report = wd.report("crmguard-out/blank.report.json");
    assert_eq!(report["rows_total"], 2);
    let quarantine = wd.read("crmguard-out/blank.quarantine.csv");
    assert_eq!(
        quarantine_csv(&quarantine, b','),
        vec![(2, "INVALID_BOOLEAN".to_string())]
    );
    // Line numbers still count every blank line: the over-long record after
    // them is reported where it is.
    let wd = with_limit(64);
    wd.write("late.csv", format!("{HEADER}{blank}{}\n", "z".repeat(65)));
    assert_refused(&wd, scan(&wd, "late.csv"), "late.csv:100002:1", 64);
    // NDJSON reads a line at a time: blank lines never pile up either.
    let wd = with_limit(64);
    wd.write(
        "blank.ndjson",
        format!("{blank}{{\"is_synthetic\":\"no\",\"data_source\":\"w\"}}\n{blank}"),
    );
    assert_eq!(scan(&wd, "blank.ndjson").0, 0);
}

#[test]
fn json_elements_and_ndjson_lines_over_the_limit_are_refused() {
    let limit = 80;
    let object = |n: usize| {
        let pad = n - r#"{"is_synthetic":"no","data_source":"w","Name":""}"#.len();
        format!(
            r#"{{"is_synthetic":"no","data_source":"w","Name":"{}"}}"#,
            "x".repeat(pad)
        )
    };
    let wd = with_limit(limit);
    wd.write(
        "at.json",
        format!("[{}, {}]", object(20 + 30), object(limit)),
    );
    assert_eq!(scan(&wd, "at.json").0, 0);
    let wd = with_limit(limit);
    wd.write(
        "over.json",
        format!("[\n  {},\n  {}\n]", object(50), object(limit + 1)),
    );
    assert_refused(&wd, scan(&wd, "over.json"), "over.json:3:3", limit);
    // A scalar element is bounded too.
    let wd = with_limit(limit);
    wd.write("scalar.json", format!("[{}]", "1".repeat(limit + 1)));
    assert_refused(&wd, scan(&wd, "scalar.json"), "scalar.json:1:2", limit);

    let wd = with_limit(limit);
    wd.write(
        "at.ndjson",
        format!("{}\r\n{}\n", object(50), object(limit)),
    );
    assert_eq!(scan(&wd, "at.ndjson").0, 0);
    let wd = with_limit(limit);
    wd.write(
        "over.ndjson",
        format!("{}\n{}\n", object(50), object(limit + 1)),
    );
    assert_refused(&wd, scan(&wd, "over.ndjson"), "over.ndjson:2:1", limit);
    // A line of nothing but spaces is no exception.
    let wd = with_limit(limit);
    wd.write("spaces.ndjson", " ".repeat(limit + 1));
    assert_refused(&wd, scan(&wd, "spaces.ndjson"), "spaces.ndjson:1:1", limit);
}

#[test]
fn records_with_too_many_fields_or_values_are_refused() {
    // One field or JSON value per 16 bytes of the limit, at least 1,024:
    // parsed, `[0,0,...]` takes ~70 times its bytes, a record of commas 9.
    let limit = 32 << 10;
    let cap = limit / 16;
    let wd = with_limit(limit);
    let zeros = vec!["0"; cap].join(",");
    wd.write(
        "values.ndjson",
        format!("{{\"is_synthetic\":\"no\",\"data_source\":\"w\",\"Name\":[{zeros}]}}\n"),
    );
    let (code, err) = scan(&wd, "values.ndjson");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "values.ndjson:1:1: the record starting here holds more than {cap} JSON values"
        )),
        "{err}"
    );
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new());
    // Just under the cap: the keys and values of the record count.
    let zeros = vec!["0"; cap - 6].join(",");
    let wd = with_limit(limit);
    wd.write(
        "fits.json",
        format!("[{{\"is_synthetic\":\"no\",\"data_source\":\"w\",\"Name\":[{zeros}]}}]"),
    );
    assert_eq!(scan(&wd, "fits.json").0, 0);

    let wd = with_limit(limit);
    wd.write("fields.csv", format!("{HEADER}{}\n", ",".repeat(cap)));
    let (code, err) = scan(&wd, "fields.csv");
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "fields.csv:2:1: the record starting here has more than {cap} fields"
        )),
        "{err}"
    );
    // Exactly the cap is a record (with the wrong field count).
    let wd = with_limit(limit);
    wd.write("cap.csv", format!("{HEADER}{}\n", ",".repeat(cap - 1)));
    let (code, err) = scan(&wd, "cap.csv");
    assert_eq!(code, 1, "{err}");
}

#[test]
fn hash_reads_under_the_same_limit() {
    let wd = with_limit(64);
    wd.write("gen.csv", format!("{HEADER}{},yes,w\n", "x".repeat(64)));
    let out = wd.run(&["hash", "-p", "limit.toml", "gen.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("gen.csv:2:1: the record starting here is over 64 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_record_limit_must_be_positive() {
    let wd = Workdir::new();
    wd.write("p.toml", "[limits]\nmax_record_bytes = 0\n");
    wd.write("in.csv", HEADER);
    let out = wd.run(&["scan", "-p", "p.toml", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("p.toml:2:1: max_record_bytes must be at least 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_million_columns_are_checked_in_linear_time() {
    // The duplicate check compared every pair of columns (60,000 took 23 s,
    // a million never ended); the text-column inference searched a list of
    // names for every cell. Both are linear now: this runs in a second.
    let n = 1_000_000;
    let mut names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    names[0] = "is_synthetic".into();
    names[1] = "data_source".into();
    let mut row = vec!["x"; n];
    row[0] = "no";
    row[1] = "web";
    let wd = Workdir::new();
    wd.write(
        "wide.csv",
        format!("{}\n{}\n", names.join(","), row.join(",")),
    );
    let out = wd.run(&["scan", "wide.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(wd.report("crmguard-out/wide.report.json")["rows_clean"], 1);

    // A duplicate a million columns apart is still found.
    names[n - 1] = "C2".into();
    // Where the second name starts on the line.
    let column = names[..n - 1].iter().map(|s| s.len() + 1).sum::<usize>() + 1;
    wd.write("dup.csv", format!("{}\n", names.join(",")));
    let out = wd.run(&["scan", "dup.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains(&format!(
            "dup.csv:1:{column}: HEADER_DUPLICATE: columns 3 and 1000000 are both named `C2`"
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn jobs_are_capped_with_a_message() {
    let wd = Workdir::new();
    wd.write("in.csv", format!("{HEADER}a,no,web\n"));
    let out = wd.run(&["scan", "-j", "100000", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("at most 512 worker threads"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("crmguard-out").exists());
    for ok in ["512", "0", "1"] {
        let out = wd.run(&["scan", "-j", ok, "in.csv"]);
        assert_eq!(status(&out), 0, "-j {ok}: {}", stderr(&out));
    }
}

#[test]
fn files_a_policy_names_must_be_small_regular_files() {
    let wd = Workdir::new();
    wd.write("in.csv", format!("{HEADER}a,no,web\n"));
    // The model: /dev/zero read without end.
    wd.write("zero.toml", "[detector]\nmodel = \"/dev/zero\"\n");
    let out = wd.run(&["scan", "-p", "zero.toml", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("/dev/zero: detector model is not a regular file"),
        "{}",
        stderr(&out)
    );
    let out = wd.run(&["detect", "-p", "zero.toml", "some text to score"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    // A regular file too large to be a model is not read.
    let big = std::fs::File::create(wd.join("big.bin")).unwrap();
    big.set_len(crmguard::input::MAX_MODEL_BYTES + 1).unwrap();
    wd.write("big.toml", "[detector]\nmodel = \"big.bin\"\n");
    let out = wd.run(&["scan", "-p", "big.toml", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains(&format!(
            "big.bin: detector model is over {} bytes",
            crmguard::input::MAX_MODEL_BYTES
        )),
        "{}",
        stderr(&out)
    );
    // The policy itself.
    let out = wd.run(&["scan", "-p", "/dev/zero", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("/dev/zero: policy is not a regular file"),
        "{}",
        stderr(&out)
    );
    let mut huge = "# padding\n".repeat(crmguard::input::MAX_POLICY_BYTES as usize / 10);
    huge.push_str("version = 1\n");
    wd.write("huge.toml", huge);
    let out = wd.run(&["scan", "-p", "huge.toml", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("huge.toml: policy is over"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn trust_anchors_a_policy_names_must_be_small_regular_pem_files() {
    let wd = Workdir::new();
    wd.write("in.csv", format!("{HEADER}a,no,web\n"));
    let policy =
        |anchors: &str| format!("[media]\ncolumns = [\"Name\"]\ntrust_anchors = \"{anchors}\"\n");
    let refused = |anchors: &str, says: &str| {
        wd.write("anchors.toml", policy(anchors));
        let out = wd.run(&["scan", "-p", "anchors.toml", "-o", "out", "in.csv"]);
        let err = stderr(&out);
        assert_eq!(status(&out), 2, "{anchors}: {err}");
        assert_eq!(err.lines().count(), 1, "{anchors}: {err}");
        assert!(
            err.starts_with("crmguard: error: [media] trust_anchors in anchors.toml: "),
            "{anchors}: {err}"
        );
        assert!(err.contains(says), "{anchors}: {err}");
        assert!(!wd.join("out").join("in.clean.csv").exists(), "{anchors}");
    };
    // Too large to be a trust list: not read (it was read whole, then
    // handed to the C2PA reader, whose error named no file).
    let big = std::fs::File::create(wd.join("big.pem")).unwrap();
    big.set_len(crmguard::input::MAX_TRUST_ANCHORS_BYTES + 1)
        .unwrap();
    refused("big.pem", "big.pem: the C2PA trust anchor file is over");
    // Read without end before.
    refused(
        "/dev/zero",
        "/dev/zero: the C2PA trust anchor file is not a regular file",
    );
    // Not certificates: the error says which file is not.
    wd.write("in.pem", "not a certificate\n");
    refused(
        "in.pem",
        "in.pem: not PEM certificates the C2PA reader can use",
    );
}

#[test]
fn a_baseline_that_is_not_json_is_one_line_at_a_1_based_position() {
    let wd = Workdir::new();
    wd.write("in.csv", format!("{HEADER}a,no,web\n"));
    for (text, expected) in [
        // serde_json's column 0, and its position said twice.
        (
            "",
            "empty.json:1:1: not a crmguard baseline: EOF while parsing a value",
        ),
        (
            "{\"crmguard_baseline\": 1,\n\"rows\": [",
            "empty.json:2:9: not a crmguard baseline: EOF while parsing a list",
        ),
    ] {
        wd.write("empty.json", text);
        let out = wd.run(&["scan", "--baseline", "empty.json", "-o", "out", "in.csv"]);
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end(),
            format!("crmguard: error: {expected}")
        );
    }
}

#[test]
fn a_baseline_must_be_a_small_regular_file() {
    let wd = Workdir::new();
    wd.write("in.csv", format!("{HEADER}a,no,web\n"));
    let out = wd.run(&["scan", "--baseline", "/dev/zero", "-o", "out", "in.csv"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/dev/zero: the baseline is not a regular file"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("out").join("in.clean.csv").exists());
    let big = std::fs::File::create(wd.join("big.json")).unwrap();
    big.set_len(crmguard::baseline::MAX_BASELINE_BYTES + 1)
        .unwrap();
    let out = wd.run(&["scan", "--baseline", "big.json", "-o", "out", "in.csv"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("big.json: the baseline is over"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn reports_to_merge_must_be_small_regular_files() {
    let wd = Workdir::new();
    // A FIFO with no writer blocked `report merge` for ever, and /dev/zero
    // was read until memory ran out.
    let fifo = wd.join("fifo.json");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut refused = vec!["/dev/zero"];
    if made.is_ok_and(|s| s.success()) {
        refused.push("fifo.json");
    }
    for report in refused {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crmguard"))
            .current_dir(wd.path())
            .args(["report", "merge", "-o", "t.json", report])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{report}: report merge still reading after 20 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(status(&out), 2, "{report}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("{report}: the report is not a regular file")),
            "{}",
            stderr(&out)
        );
        assert!(!wd.join("t.json").exists());
    }
    let big = std::fs::File::create(wd.join("big.report.json")).unwrap();
    big.set_len(crmguard::report::merge::MAX_REPORT_BYTES + 1)
        .unwrap();
    let out = wd.run(&["report", "merge", "-o", "t.json", "big.report.json"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("big.report.json: the report is over"),
        "{}",
        stderr(&out)
    );
}
