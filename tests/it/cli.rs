//! Exit statuses, error messages, the report's contents, `init` and the
//! policy file, as a user meets them.

use crate::common;

use common::{Workdir, fixtures, status, stderr};

const GOOD: &str = "Name,is_synthetic,data_source\nAda,no,web\n";
const BAD: &str = "Name,is_synthetic,data_source\nAda,no,web\nBob,maybe,web\n";

#[test]
fn exit_statuses() {
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    wd.write("bad.csv", BAD);
    assert_eq!(status(&wd.run(&["scan", "good.csv"])), 0);
    assert_eq!(status(&wd.run(&["scan", "bad.csv"])), 1);
    assert_eq!(
        status(&wd.run(&["scan", "--fail-on", "never", "bad.csv"])),
        0
    );
    assert_eq!(status(&wd.run(&["scan", "good.csv", "missing.csv"])), 2);
    assert_eq!(status(&wd.run(&["scan", "--bogus", "good.csv"])), 2);
    assert_eq!(status(&wd.run(&["--version"])), 0);
}

#[test]
fn usage_errors_are_one_line_with_clap_s_tips() {
    let wd = Workdir::new();
    for (args, want) in [
        (
            &["scan"][..],
            "required arguments were not provided: <FILE>...; see --help",
        ),
        (
            &["scan", "--fail-on", "bad", "x.csv"],
            "[possible values: quarantine, warning, never]",
        ),
        (
            &["scan", "--nope", "x.csv"],
            "tip: a similar argument exists: '--now'",
        ),
        (
            &["eval", "x.csv", "--threshold", "-0.5"],
            "tip: to pass '-0' as a value",
        ),
        (
            &["release", "q.csv", "--rows", "\x1b[2Jx"],
            "is not a row number",
        ),
    ] {
        let out = wd.run(args);
        assert_eq!(status(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("crmguard: error: "), "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains('\x1b'), "{err}");
    }
}

#[test]
fn a_missing_file_is_one_line_and_other_files_still_scan() {
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    let out = wd.run(&["scan", "missing.csv", "good.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    let error_lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert!(
        error_lines[0].starts_with("crmguard: error: missing.csv: cannot open"),
        "{err}"
    );
    assert!(wd.join("crmguard-out/good.clean.csv").exists());
    assert!(!wd.join("crmguard-out/missing.clean.csv").exists());
}

#[test]
fn broken_json_names_file_line_and_column() {
    let wd = Workdir::new();
    wd.write(
        "in.json",
        "[\n  {\"is_synthetic\": \"no\", \"data_source\": \"w\"}\n  {\"x\": 1}\n]\n",
    );
    let out = wd.run(&["scan", "in.json"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("in.json:3:3: expected `,` or `]`"), "{err}");
    assert!(wd.list("crmguard-out").is_empty(), "no partial outputs");
}

#[test]
fn unterminated_quote_names_its_line_and_column() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "Name,is_synthetic,data_source\nAda,no,web\nBob,\"no,web\nCid,no,web\n",
    );
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("in.csv:3:5: unterminated quoted field"),
        "{}",
        stderr(&out)
    );
    assert!(wd.list("crmguard-out").is_empty());
}

#[test]
fn unknown_extension_asks_for_format() {
    let wd = Workdir::new();
    wd.write("in.xlsx", "x");
    let out = wd.run(&["scan", "in.xlsx"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("--format"));
    wd.write("data.txt", GOOD);
    assert_eq!(status(&wd.run(&["scan", "data.txt"])), 0);
    assert!(wd.join("crmguard-out/data.clean.txt").exists());
}

#[test]
fn report_counts_add_up_and_hashes_match_the_files() {
    let wd = Workdir::new();
    wd.fixture("samples/leads.csv");
    let out = wd.run(&["scan", "leads.csv"]);
    assert_eq!(status(&out), 1);
    let r = wd.report("crmguard-out/leads.report.json");
    for key in [
        "rows_total",
        "rows_clean",
        "rows_quarantined",
        "reasons",
        "file_findings",
        "input",
        "outputs",
        "policy",
        "started_at",
        "elapsed_ms",
        "crmguard_version",
    ] {
        assert!(!r[key].is_null(), "report lacks {key}");
    }
    let total = r["rows_total"].as_u64().unwrap();
    assert_eq!(
        r["rows_clean"].as_u64().unwrap() + r["rows_quarantined"].as_u64().unwrap(),
        total
    );
    let input = wd.read("leads.csv");
    assert_eq!(r["input"]["bytes"], input.len() as u64);
    assert_eq!(
        r["input"]["blake3"],
        blake3::hash(&input).to_hex().to_string()
    );
    assert_eq!(
        r["policy"]["blake3"],
        blake3::hash(crmguard::policy::DEFAULT_POLICY.as_bytes())
            .to_hex()
            .to_string()
    );
    let mut rows = 0;
    for o in r["outputs"].as_array().unwrap() {
        let path = o["path"].as_str().unwrap();
        let bytes = wd.read(path);
        assert_eq!(
            o["blake3"],
            blake3::hash(&bytes).to_hex().to_string(),
            "{path}"
        );
        assert_eq!(o["bytes"], bytes.len() as u64);
        rows += o["rows"].as_u64().unwrap();
    }
    assert_eq!(rows, total);
    // Each reason count is the number of quarantine rows carrying it.
    let q = common::quarantine_csv(&wd.read("crmguard-out/leads.quarantine.csv"), b',');
    assert_eq!(q.len() as u64, r["rows_quarantined"].as_u64().unwrap());
    for (code, n) in r["reasons"].as_object().unwrap() {
        let carrying = q
            .iter()
            .filter(|(_, c)| c.split(';').any(|x| x == code))
            .count();
        assert_eq!(n.as_u64().unwrap(), carrying as u64, "{code}");
    }
    // The summary names the outputs.
    assert!(stderr(&out).contains("crmguard-out/leads.quarantine.csv"));
}

#[test]
fn the_summary_counts_rows_in_words() {
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    wd.write("bad.csv", BAD);
    let out = wd.run(&["scan", "good.csv", "bad.csv"]);
    assert!(
        stderr(&out).contains("good.csv: 1 row: 1 clean, 0 quarantined"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("bad.csv: 2 rows: 1 clean, 1 quarantined"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn quiet_prints_nothing_on_success() {
    let wd = Workdir::new();
    wd.write("bad.csv", BAD);
    let out = wd.run(&["scan", "-q", "bad.csv"]);
    assert_eq!(status(&out), 1);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn now_makes_future_timestamps_reproducible() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "Name,is_synthetic,data_source,generation_timestamp\nA,no,w,2026-01-01T00:00:00Z\n",
    );
    assert_eq!(status(&wd.run(&["scan", "in.csv"])), 0);
    let out = wd.run(&["scan", "--now", "2025-12-31T00:00:00Z", "in.csv"]);
    assert_eq!(status(&out), 1);
    let r = wd.report("crmguard-out/in.report.json");
    assert_eq!(r["reasons"]["FUTURE_TIMESTAMP"], 1);
    assert_eq!(r["scan_time"], "2025-12-31T00:00:00Z");
    assert_eq!(
        status(&wd.run(&["scan", "--now", "yesterday", "in.csv"])),
        2
    );
}

#[test]
fn init_writes_the_default_policy_once() {
    let wd = Workdir::new();
    let out = wd.run(&["init"]);
    assert_eq!(status(&out), 0);
    assert_eq!(
        wd.read_string("crmguard.toml"),
        crmguard::policy::DEFAULT_POLICY
    );
    let out = wd.run(&["init"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("already exists"));
    assert_eq!(status(&wd.run(&["init", "--force"])), 0);
    let out = wd.run(&["init", "-"]);
    assert_eq!(out.stdout, crmguard::policy::DEFAULT_POLICY.as_bytes());
}

#[test]
fn policy_in_the_working_directory_is_picked_up() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "Name,is_synthetic,data_source,ai_model_version,generation_timestamp,provenance_hash\n\
         A,yes,ai_generated,m,2026-01-01T00:00:00Z,blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\n",
    );
    // Under the built-in policy the synthetic row is held back...
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 1);
    // ...and a crmguard.toml beside the file lets it through. (The hash
    // covers the `Name` column, so make it cover nothing instead.)
    wd.write(
        "in.csv",
        "is_synthetic,data_source,ai_model_version,generation_timestamp,provenance_hash\n\
         yes,ai_generated,m,2026-01-01T00:00:00Z,blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262\n",
    );
    wd.write("crmguard.toml", "[synthetic]\nallow = true\n");
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let r = wd.report("crmguard-out/in.report.json");
    assert_eq!(r["policy"]["path"], "crmguard.toml");
}

#[test]
fn bad_policies_are_one_line_errors_naming_the_key() {
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    let cases = [
        (
            "[synthetic]\nallow = true\nalow = false\n",
            "p.toml:3:1:",
            "alow",
        ),
        (
            "[disclosure]\nrequired = [\"is_synthetic\", \"sorce\"]\n",
            "p.toml:2:",
            "sorce",
        ),
        ("[limits\n", "p.toml:1:", ""),
        ("[synthetic]\nallow = \"sometimes\"\n", "p.toml:2:", "allow"),
        // The shape expected, in words, not a Rust type's name.
        (
            "[synthetic.objects]\nLead = 5\n",
            "p.toml:2:",
            "expected a table of keys such as { allow = true }",
        ),
        ("disclosure = 5\n", "p.toml:1:", "expected a table of keys"),
    ];
    for (text, location, key) in cases {
        wd.write("p.toml", text);
        let out = wd.run(&["scan", "-p", "p.toml", "good.csv"]);
        assert_eq!(status(&out), 2, "{text}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(location), "{text}: {err}");
        assert!(err.contains(key), "{text}: {err}");
        assert!(!err.contains("Section"), "{text}: {err}");
    }
    let out = wd.run(&["scan", "-p", "nope.toml", "good.csv"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("nope.toml: cannot read policy"));
    assert!(!wd.join("crmguard-out/good.clean.csv").exists());
}

#[test]
fn errors_echo_at_most_200_characters_of_what_they_quote() {
    // A 900 KB key was echoed whole, twice (toml's message and the line).
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    let key = "k".repeat(900_000);
    let value = "v".repeat(10_000);
    let glob = format!("{}[", "a".repeat(10_000));
    let aliases: Vec<String> = (0..50_000).map(|i| format!("\"alias{i}\"")).collect();
    let cases = [
        (
            format!("[limits]\n{key} = 1\n"),
            "p.toml:2:1: unknown field `kkk",
        ),
        (
            format!("[limits]\nmax_columns = \"{value}\"\n"),
            "p.toml:2:15: invalid type",
        ),
        (
            format!("[synthetic]\ntrusted_models = [\"{glob}\"]\n"),
            "p.toml:2:1: `trusted_models`: bad glob `aaa",
        ),
        (
            format!(
                "[aliases]\nis_synthetic = [{}, \"{value}\"]\ndata_source = [\"{value}\"]\n",
                aliases.join(",")
            ),
            "is already a name of `data_source`",
        ),
        // Codes, column names and tag fields were echoed whole.
        (
            format!("[release]\nnever = [\"{value}\"]\n"),
            "[release] never: `vvv",
        ),
        (
            format!("[cleanup]\nactions = {{ {value} = \"delete\" }}\n"),
            "[cleanup] actions: `vvv",
        ),
        (
            format!("[cleanup]\ntag = {{ \"{value},\" = \"a\" }}\n"),
            "[cleanup] tag: `vvv",
        ),
        (
            format!("[cleanup]\ntag = {{ {value} = \"{{{value}}}\" }}\n"),
            "unknown placeholder `{vvv",
        ),
        (
            format!("[media]\ncolumns = [\"{value}\", \"{value}\"]\n"),
            "[media] columns names `vvv",
        ),
    ];
    for (text, expected) in cases {
        wd.write("p.toml", &text);
        let out = wd.run(&["scan", "-p", "p.toml", "good.csv"]);
        assert_eq!(status(&out), 2);
        let err = stderr(&out);
        assert!(err.contains(expected), "{}", &err[..err.len().min(600)]);
        assert!(err.contains('…'), "{}", &err[..err.len().min(600)]);
        assert_eq!(err.lines().count(), 1);
        assert!(err.len() < 600, "{} bytes: {}", err.len(), &err[..600]);
    }
    // A duplicate column name from the input, too.
    let name = "n".repeat(100_000);
    wd.write("dup.csv", format!("{name},{name}\n"));
    let err = stderr(&wd.run(&["scan", "dup.csv"]));
    assert!(
        err.contains("HEADER_DUPLICATE: columns 1 and 2"),
        "{}",
        &err[..300]
    );
    assert!(err.len() < 600, "{} bytes", err.len());
}

#[test]
fn globs_too_large_to_compile_say_so() {
    // The regex engine caps the automaton; the error said only "bad glob ``:
    // error building NFA".
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    let globs: Vec<String> = (0..20_000).map(|i| format!("\"*{i}*\"")).collect();
    wd.write(
        "p.toml",
        format!("[synthetic]\ntrusted_models = [{}]\n", globs.join(",")),
    );
    let out = wd.run(&["scan", "-p", "p.toml", "good.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("p.toml:2:1: `trusted_models`: 20000 globs of 128890 bytes in all are too large to compile together"),
        "{err}"
    );
    assert!(err.contains("use fewer or shorter patterns"), "{err}");
}

#[test]
fn now_out_of_range_says_so() {
    let wd = Workdir::new();
    wd.write("good.csv", GOOD);
    for (now, why) in [
        (
            "9999-12-31T23:59:59Z",
            "is outside Salesforce's datetime range",
        ),
        (
            "1600-01-01T00:00:00Z",
            "is outside Salesforce's datetime range",
        ),
        ("2026-01-01", "is not an RFC 3339 time with an offset"),
        (
            "2026-01-01T00:00:00",
            "is not an RFC 3339 time with an offset",
        ),
    ] {
        let out = wd.run(&["scan", "--now", now, "good.csv"]);
        assert_eq!(status(&out), 2);
        assert!(
            stderr(&out).contains(&format!("\"{now}\" {why}")),
            "{}",
            stderr(&out)
        );
    }
    let out = wd.run(&["scan", "--now", "4000-12-31T00:00:00Z", "good.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

#[test]
fn refuses_to_write_over_an_input() {
    let wd = Workdir::new();
    wd.write("out/x.csv", GOOD);
    wd.write("out/x.clean.csv", GOOD);
    let out = wd.run(&["scan", "-o", "out", "out/x.csv", "out/x.clean.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("refusing to write over out/x.clean.csv, which this run reads"),
        "{}",
        stderr(&out)
    );
    assert_eq!(wd.read_string("out/x.clean.csv"), GOOD);
}

#[test]
fn bundled_samples_scan_as_the_readme_says() {
    let wd = Workdir::new();
    for f in ["leads.csv", "cases.ndjson", "reviews.json"] {
        wd.fixture(&format!("samples/{f}"));
    }
    let out = wd.run(&["scan", "leads.csv", "cases.ndjson", "reviews.json"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    for stem in ["leads", "cases", "reviews"] {
        let r = wd.report(&format!("crmguard-out/{stem}.report.json"));
        assert!(r["rows_quarantined"].as_u64().unwrap() > 0, "{stem}");
        assert!(r["rows_clean"].as_u64().unwrap() > 100, "{stem}");
    }
    let _ = fixtures();
}
