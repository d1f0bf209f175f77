//! File-level findings: in the report, in the summary and (with
//! `--fail-on warning`) in the exit status.

use crate::common;

use common::{Workdir, status, stderr};

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["file_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn bom_is_reported_and_dropped_from_outputs() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "\u{feff}Name,is_synthetic,data_source\r\nAda,no,web\r\n",
    );
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 0);
    assert_eq!(
        codes(&wd.report("crmguard-out/in.report.json")),
        vec!["BOM_PRESENT"]
    );
    assert_eq!(
        wd.read_string("crmguard-out/in.clean.csv"),
        "Name,is_synthetic,data_source\r\nAda,no,web\r\n"
    );
    assert!(stderr(&out).contains("warning BOM_PRESENT"));
    // A warning fails the run only when asked.
    let out = wd.run(&["scan", "--fail-on", "warning", "in.csv"]);
    assert_eq!(status(&out), 1);
}

#[test]
fn mixed_line_endings() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "Name,is_synthetic,data_source\r\nAda,no,web\nBob,no,web\r\n",
    );
    assert_eq!(status(&wd.run(&["scan", "in.csv"])), 0);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(codes(&report), vec!["LINE_ENDING_MIXED"]);
    // Each row keeps its own ending.
    assert_eq!(
        wd.read_string("crmguard-out/in.clean.csv"),
        "Name,is_synthetic,data_source\r\nAda,no,web\nBob,no,web\r\n"
    );
    wd.write("lf.csv", "Name,is_synthetic,data_source\nAda,no,web\n");
    assert_eq!(status(&wd.run(&["scan", "lf.csv"])), 0);
    assert!(codes(&wd.report("crmguard-out/lf.report.json")).is_empty());
}

#[test]
fn a_lone_cr_is_a_line_ending_of_its_own() {
    // LF and lone-CR records (old Mac exports pasted into newer ones) mix as
    // surely as LF and CRLF; a file of CRs alone does not.
    let wd = Workdir::new();
    let mixed = "Name,is_synthetic,data_source\nAda,no,web\rBob,no,web\n";
    wd.write("in.csv", mixed);
    assert_eq!(status(&wd.run(&["scan", "in.csv"])), 0);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(codes(&report), vec!["LINE_ENDING_MIXED"]);
    assert_eq!(
        report["file_findings"][0]["message"],
        "lines end in more than one way: 2 with LF, 1 with CR alone (header included)"
    );
    assert_eq!(report["rows_total"], 2);
    assert_eq!(wd.read_string("crmguard-out/in.clean.csv"), mixed);
    // NDJSON has no header to count among the lines.
    wd.write("in.ndjson", "{\"a\":1}\r\n{\"a\":2}\n");
    wd.run(&["scan", "in.ndjson"]);
    assert_eq!(
        wd.report("crmguard-out/in.report.json")["file_findings"][0]["message"],
        "lines end in more than one way: 1 with LF, 1 with CRLF"
    );
    for (name, text) in [
        ("cr.csv", "Name,is_synthetic,data_source\rAda,no,web\r"),
        (
            "crlf.csv",
            "Name,is_synthetic,data_source\r\nAda,no,web\r\n",
        ),
    ] {
        wd.write(name, text);
        assert_eq!(status(&wd.run(&["scan", name])), 0);
        let report = name.replace(".csv", ".report.json");
        assert!(codes(&wd.report(&format!("crmguard-out/{report}"))).is_empty());
    }
    wd.write(
        "crlf_cr.csv",
        "Name,is_synthetic,data_source\r\nAda,no,web\r",
    );
    assert_eq!(status(&wd.run(&["scan", "crlf_cr.csv"])), 0);
    let report = wd.report("crmguard-out/crlf_cr.report.json");
    assert_eq!(codes(&report), vec!["LINE_ENDING_MIXED"]);
    // In a JSON array, the line breaks between and inside elements count.
    wd.write(
        "in.json",
        "[\r{\"is_synthetic\":\"no\",\"data_source\":\"w\"},\n{\"is_synthetic\":\"no\",\"data_source\":\"w\"}]\n",
    );
    assert_eq!(status(&wd.run(&["scan", "in.json"])), 0);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(codes(&report), vec!["LINE_ENDING_MIXED"]);
}

#[test]
fn lines_of_a_cr_only_file_are_numbered_as_an_editor_numbers_them() {
    // A blank line and a quoted line break, each a lone CR: they were not
    // counted, so the row on line 5 was said to be on line 3.
    let wd = Workdir::new();
    let text =
        "Name,Notes,is_synthetic,data_source\r\r\"Ada\",\"two\rlines\",no,web\r=1+1,x,no,web\r";
    wd.write("in.csv", text);
    let out = wd.run(&["scan", "--report", "json=run.json", "in.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let run = wd.report("run.json");
    let sample = &run["files"][0]["samples"]["CSV_INJECTION"];
    assert_eq!(sample["rows"][0]["row"], 2);
    assert_eq!(sample["rows"][0]["line"], 5);
    assert_eq!(sample["locations"][0]["line"], 5);
    // The same file with LF line ends numbers its lines alike.
    wd.write("lf.csv", text.replace('\r', "\n"));
    wd.run(&["scan", "--report", "json=run.json", "lf.csv"]);
    let lf = wd.report("run.json");
    assert_eq!(
        lf["files"][0]["samples"]["CSV_INJECTION"]["rows"][0]["line"],
        5
    );
    // An error inside a record: the quote opens on line 6, after a CRLF
    // inside quotes (one line break) and a lone CR.
    wd.write(
        "bad.csv",
        "Name,Notes,is_synthetic,data_source\r\r\"Ada\",\"a\r\nb\rc\",no,web\rBob,\"x,no,web\r",
    );
    let out = wd.run(&["scan", "bad.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).starts_with("crmguard: error: bad.csv:6:5: unterminated quoted field"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_disclosure_columns_quarantine_every_row() {
    let wd = Workdir::new();
    wd.write("in.csv", "Name,is_synthetic\nAda,no\nBob,no\n");
    assert_eq!(status(&wd.run(&["scan", "in.csv"])), 1);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(codes(&report), vec!["MISSING_DISCLOSURE_COLUMNS"]);
    assert!(
        report["file_findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`data_source`")
    );
    assert_eq!(report["rows_quarantined"], 2);
    assert_eq!(report["missing_fields"]["data_source"], 2);

    // A semicolon file read as commas: the finding says what to do.
    wd.write("eu.csv", "Name;is_synthetic;data_source\nAda;no;web\n");
    assert_eq!(status(&wd.run(&["scan", "eu.csv"])), 1);
    let report = wd.report("crmguard-out/eu.report.json");
    let msg = report["file_findings"][0]["message"].as_str().unwrap();
    assert!(msg.contains("try --delimiter semicolon"), "{msg}");

    // JSON has no header: the finding means no record has the key.
    wd.write(
        "in.ndjson",
        "{\"is_synthetic\":\"no\"}\n{\"is_synthetic\":\"no\"}\n",
    );
    assert_eq!(status(&wd.run(&["scan", "in.ndjson"])), 1);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(codes(&report), vec!["MISSING_DISCLOSURE_COLUMNS"]);
    // One record with the key: no file-level finding, the other row alone.
    wd.write(
        "some.ndjson",
        "{\"is_synthetic\":\"no\",\"data_source\":\"w\"}\n{\"is_synthetic\":\"no\"}\n",
    );
    assert_eq!(status(&wd.run(&["scan", "some.ndjson"])), 1);
    let report = wd.report("crmguard-out/some.report.json");
    assert!(codes(&report).is_empty());
    assert_eq!(report["rows_quarantined"], 1);
    // Records that are malformed (a duplicated key, a number out of range)
    // were never read far enough to lack a key: no finding says they do.
    wd.write(
        "bad.json",
        "[{\"is_synthetic\":false,\"data_source\":\"w\",\"is_synthetic\":true},\n\
         {\"is_synthetic\":false,\"data_source\":\"w\",\"n\":1e999}]",
    );
    assert_eq!(status(&wd.run(&["scan", "bad.json"])), 1);
    let report = wd.report("crmguard-out/bad.report.json");
    assert!(codes(&report).is_empty(), "{report}");
    assert_eq!(report["reasons"], serde_json::json!({"MALFORMED_ROW": 2}));
}

#[test]
fn target_limits_from_the_policy() {
    let wd = Workdir::new();
    wd.write(
        "p.toml",
        "[limits]\nmax_records = 2\nmax_columns = 2\nmax_file_bytes = 40\n",
    );
    wd.write(
        "in.csv",
        "Name,is_synthetic,data_source\nA,no,w\nB,no,w\nC,no,w\n",
    );
    assert_eq!(status(&wd.run(&["scan", "-p", "p.toml", "in.csv"])), 0);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(codes(&report), vec!["TARGET_LIMIT_EXCEEDED"]);
    let msg = report["file_findings"][0]["message"].as_str().unwrap();
    assert!(msg.contains("3 records (limit 2)"), "{msg}");
    assert!(msg.contains("3 columns (limit 2)"), "{msg}");
    assert!(msg.contains("bytes (limit 40)"), "{msg}");
    // Under the built-in limits the same file is fine.
    assert_eq!(status(&wd.run(&["scan", "in.csv"])), 0);
    assert!(codes(&wd.report("crmguard-out/in.report.json")).is_empty());
}

#[test]
fn a_header_name_a_spreadsheet_would_run_is_refused() {
    // It lands on the first line of the clean file: the scan is refused at
    // the name, rather than passing it (exit 0, as before) or quarantining
    // every row for it.
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "\nName,is_synthetic,\"=cmd|' /C calc'!A0\",data_source\nAda,no,x,web\n",
    );
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert_eq!(
        err.trim_end(),
        "crmguard: error: in.csv:2:19: HEADER_UNSAFE: column 3's name `=cmd|' /C calc'!A0` \
         would run as a formula in a spreadsheet (as CSV_INJECTION in a cell); nothing written"
    );
    assert!(wd.list("crmguard-out").is_empty());

    // A control character, shown escaped.
    wd.write(
        "esc.csv",
        "Name\x1b[31m,is_synthetic,data_source\nAda,no,web\n",
    );
    let out = wd.run(&["scan", "esc.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains(
            "esc.csv:1:1: HEADER_UNSAFE: column 1's name `Name\\x1b[31m` holds a control character"
        ),
        "{}",
        stderr(&out)
    );

    // `@timestamp` cannot evaluate: formula mode (the default) takes it,
    // OWASP's strict rule does not.
    wd.write(
        "at.csv",
        "@timestamp,is_synthetic,data_source\n2021,no,web\n",
    );
    assert_eq!(status(&wd.run(&["scan", "at.csv"])), 0);
    wd.write("strict.toml", "[injection]\nmode = \"strict\"\n");
    let out = wd.run(&["scan", "-p", "strict.toml", "at.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("at.csv:1:1: HEADER_UNSAFE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_json_key_a_spreadsheet_would_run_quarantines_its_record() {
    // JSON has no header: keys are checked with each record's values.
    let wd = Workdir::new();
    wd.write(
        "in.ndjson",
        "{\"is_synthetic\":\"no\",\"data_source\":\"w\",\"=HYPERLINK(\\\"x\\\")\":1}\n\
         {\"is_synthetic\":\"no\",\"data_source\":\"w\",\"@brand\":1}\n",
    );
    assert_eq!(status(&wd.run(&["scan", "in.ndjson"])), 1);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(report["reasons"]["CSV_INJECTION"], 1);
    assert_eq!(report["rows_clean"], 1);
}

#[test]
fn a_quarantine_file_scanned_again_is_refused_not_doubled() {
    let wd = Workdir::new();
    wd.write(
        "a.csv",
        "Name,is_synthetic,data_source\nA,maybe,x\nB,false,web\n",
    );
    wd.write(
        "b.ndjson",
        "{\"Name\":\"B\",\"is_synthetic\":false,\"data_source\":\"web\"}\n\
         {\"Name\":\"A\",\"is_synthetic\":\"maybe\",\"data_source\":\"x\"}\n",
    );
    assert_eq!(
        status(&wd.run(&["scan", "-o", "q", "a.csv", "b.ndjson"])),
        1
    );
    // Its quarantine file would hold crmguard_row twice, and `release`
    // would read the input's copy as crmguard's.
    for (file, want) in [
        (
            "q/a.quarantine.csv",
            "re.csv:1:31: HEADER_DUPLICATE: column 4 is named `crmguard_row`",
        ),
        (
            "q/b.quarantine.ndjson",
            "re.ndjson:1:1: HEADER_DUPLICATE: record 1 has the key `crmguard_row`",
        ),
    ] {
        let again = format!("re.{}", file.rsplit('.').next().unwrap());
        wd.write(&again, wd.read_string(file));
        let out = wd.run(&["scan", "-o", "again", &again]);
        assert_eq!(status(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1);
        assert!(wd.list("again").is_empty(), "{:?}", wd.list("again"));
    }
    // Any case, any of crmguard's columns; not a name that merely starts alike.
    wd.write(
        "ai.csv",
        "Name,is_synthetic,data_source, CRMGUARD_AI_SIGNALS\nB,false,web,x\n",
    );
    assert_eq!(status(&wd.run(&["scan", "-o", "ai", "ai.csv"])), 2);
    wd.write(
        "own.csv",
        "Name,is_synthetic,data_source,crmguard_rowcount\nB,false,web,1\n",
    );
    assert_eq!(status(&wd.run(&["scan", "-o", "own", "own.csv"])), 0);
}

#[test]
fn duplicate_header_is_an_error_and_writes_nothing() {
    let wd = Workdir::new();
    wd.write("in.csv", "Email,is_synthetic,data_source,EMAIL\na,no,w,b\n");
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("in.csv:1:"), "{err}");
    assert!(err.contains("HEADER_DUPLICATE"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(wd.list("crmguard-out").is_empty());

    wd.write(
        "alias.csv",
        "is_synthetic,Is_Synthetic__c,data_source\nno,no,w\n",
    );
    let out = wd.run(&["scan", "alias.csv"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("both carry the disclosure field `is_synthetic`"));
}
