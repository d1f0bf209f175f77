//! Each input format and dialect, end to end: outputs keep the input's own
//! format, rows keep their bytes.

use crate::common;

use std::io::Write;

use common::{Workdir, quarantine_csv, status, stderr};

const HEADER: &str = "Name,Notes,is_synthetic,data_source";

#[test]
fn csv_rows_are_written_byte_for_byte() {
    let wd = Workdir::new();
    // Quoting that a rewrite would normalise away, CRLF, an embedded newline.
    let input = "Name,Notes,is_synthetic,data_source\r\n\
                 \"Ada\",\"line one\r\nline two\",false,web_form\r\n\
                 Bob,\"=cmd\",false,web_form\r\n\
                 \"C\"\"D\",plain,FALSE,web_form\r\n";
    wd.write("in.csv", input);
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    assert_eq!(
        wd.read_string("crmguard-out/in.clean.csv"),
        "Name,Notes,is_synthetic,data_source\r\n\
         \"Ada\",\"line one\r\nline two\",false,web_form\r\n\
         \"C\"\"D\",plain,FALSE,web_form\r\n"
    );
    assert_eq!(
        wd.read_string("crmguard-out/in.quarantine.csv"),
        "Name,Notes,is_synthetic,data_source,crmguard_row,crmguard_reasons,crmguard_ai_score,crmguard_ai_signals\r\n\
         Bob,\"=cmd\",false,web_form,2,CSV_INJECTION,,\r\n"
    );
}

#[test]
fn tsv_by_extension_and_other_delimiters_by_flag() {
    let wd = Workdir::new();
    wd.write(
        "in.tsv",
        "Name\tis_synthetic\tdata_source\nAda\tno\tweb\nBob\tmaybe\tweb\n",
    );
    let out = wd.run(&["scan", "in.tsv"]);
    assert_eq!(status(&out), 1);
    assert_eq!(
        wd.read_string("crmguard-out/in.clean.tsv"),
        "Name\tis_synthetic\tdata_source\nAda\tno\tweb\n"
    );
    assert_eq!(
        quarantine_csv(&wd.read("crmguard-out/in.quarantine.tsv"), b'\t'),
        vec![(2, "INVALID_BOOLEAN".to_string())]
    );

    // Semicolons: the reasons cell holds `;` and must be quoted.
    wd.write(
        "eu.csv",
        "Name;is_synthetic;data_source\nAda;no;web\n=Bob;maybe;\n",
    );
    let out = wd.run(&["scan", "--delimiter", "semicolon", "eu.csv"]);
    assert_eq!(status(&out), 1);
    let q = wd.read_string("crmguard-out/eu.quarantine.csv");
    assert_eq!(
        q,
        "Name;is_synthetic;data_source;crmguard_row;crmguard_reasons;crmguard_ai_score;crmguard_ai_signals\n\
         =Bob;maybe;;2;\"MISSING_DISCLOSURE;INVALID_BOOLEAN;CSV_INJECTION\";;\n"
    );
    for d in ["|", "^", "`", "tab"] {
        let sep = if d == "tab" { "\t" } else { d };
        wd.write(
            "d.csv",
            format!("Name{sep}is_synthetic{sep}data_source\nAda{sep}no{sep}web\n"),
        );
        let out = wd.run(&["scan", "-d", d, "d.csv"]);
        assert_eq!(status(&out), 0, "delimiter {d}: {}", stderr(&out));
    }
}

#[test]
fn ndjson_objects_get_keys_and_bad_lines_are_wrapped() {
    let wd = Workdir::new();
    wd.write(
        "in.ndjson",
        "{\"Name\":\"Ada\",\"is_synthetic\":false,\"data_source\":\"web\"}\n\
         \n\
         {\"Name\":\"Bob\",\"is_synthetic\":null,\"data_source\":\"web\"}\r\n\
         {\"Name\":\"Cut off\n\
         [1,2]\n",
    );
    let out = wd.run(&["scan", "in.ndjson"]);
    assert_eq!(status(&out), 1);
    assert_eq!(
        wd.read_string("crmguard-out/in.clean.ndjson"),
        "{\"Name\":\"Ada\",\"is_synthetic\":false,\"data_source\":\"web\"}\n"
    );
    let q = wd.read_string("crmguard-out/in.quarantine.ndjson");
    // `split`, not `lines`: the CRLF of row 2 must survive.
    let lines: Vec<&str> = q.strip_suffix('\n').unwrap().split('\n').collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        "{\"Name\":\"Bob\",\"is_synthetic\":null,\"data_source\":\"web\",\
         \"crmguard_row\":2,\"crmguard_reasons\":\"MISSING_DISCLOSURE\",\
         \"crmguard_ai_score\":null,\"crmguard_ai_signals\":\"\"}\r"
    );
    for line in &lines {
        serde_json::from_str::<serde_json::Value>(line.trim_end()).expect("valid JSON line");
    }
    assert_eq!(
        lines[1],
        r#"{"crmguard_row":3,"crmguard_reasons":"MALFORMED_ROW","crmguard_ai_score":null,"crmguard_ai_signals":"","crmguard_raw":"{\"Name\":\"Cut off"}"#
    );
    assert_eq!(
        lines[2],
        r#"{"crmguard_row":4,"crmguard_reasons":"MALFORMED_ROW","crmguard_ai_score":null,"crmguard_ai_signals":"","crmguard_raw":"[1,2]"}"#
    );
    // .jsonl is the same format.
    wd.write(
        "x.jsonl",
        "{\"is_synthetic\":\"no\",\"data_source\":\"web\"}\n",
    );
    assert_eq!(status(&wd.run(&["scan", "x.jsonl"])), 0);
    assert!(wd.join("crmguard-out/x.clean.jsonl").exists());
}

#[test]
fn ndjson_lines_of_other_whitespace_are_records_not_blank() {
    // Only empty lines and lines of JSON whitespace (space, tab, CR) are
    // blank. A form feed was dropped without being counted, while a
    // vertical tab was quarantined: both are records now.
    let wd = Workdir::new();
    let good = r#"{"is_synthetic":"no","data_source":"w"}"#;
    let input = format!("{good}\n\n \t\r\n\x0c\n\x0b\n\u{a0}\n \x0c \n{good}\n");
    wd.write("in.ndjson", &input);
    assert_eq!(status(&wd.run(&["scan", "in.ndjson"])), 1);
    let report = wd.report("crmguard-out/in.report.json");
    assert_eq!(report["rows_total"], 6);
    assert_eq!(report["rows_quarantined"], 4);
    assert_eq!(report["reasons"]["MALFORMED_ROW"], 4);
    let quarantine = wd.read_string("crmguard-out/in.quarantine.ndjson");
    let lines: Vec<serde_json::Value> = quarantine
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rows: Vec<u64> = lines
        .iter()
        .map(|l| l["crmguard_row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![2, 3, 4, 5]);
    assert_eq!(lines[0]["crmguard_raw"], "\x0c");
}

#[test]
fn a_record_naming_a_key_twice_is_malformed_not_read_as_its_last_value() {
    let wd = Workdir::new();
    let twice = r#"{"is_synthetic":"no","data_source":"web","is_synthetic":"yes"}"#;
    wd.write("in.ndjson", format!("{twice}\n"));
    wd.write("in.json", format!("[{twice}]"));
    for (file, quarantine) in [
        ("in.ndjson", "crmguard-out/in.quarantine.ndjson"),
        ("in.json", "crmguard-out/in.quarantine.json"),
    ] {
        let out = wd.run(&["scan", "--out-dir", "crmguard-out", file]);
        assert_eq!(status(&out), 1, "{file}: {}", stderr(&out));
        let q = String::from_utf8(wd.read(quarantine)).unwrap();
        let first = q.lines().find(|l| l.starts_with('{')).unwrap();
        let row: serde_json::Value = serde_json::from_str(first.trim_end_matches(',')).unwrap();
        assert_eq!(row["crmguard_reasons"], "MALFORMED_ROW", "{file}");
        assert_eq!(row["crmguard_raw"], twice, "{file}: kept byte for byte");
    }
}

#[test]
fn json_array_outputs_are_arrays_with_elements_as_read() {
    let wd = Workdir::new();
    wd.write(
        "in.json",
        "[\n  {\"Name\": \"Ada\", \"is_synthetic\": false, \"data_source\": \"web\", \"tags\": [\"a\", \"b\"]},\n  \
         {\"Name\": \"Bob\", \"is_synthetic\": \"perhaps\", \"data_source\": \"web\"},\n  \
         42\n]\n",
    );
    let out = wd.run(&["scan", "in.json"]);
    assert_eq!(status(&out), 1);
    let clean = wd.read_string("crmguard-out/in.clean.json");
    assert_eq!(
        clean,
        "[\n{\"Name\": \"Ada\", \"is_synthetic\": false, \"data_source\": \"web\", \"tags\": [\"a\", \"b\"]}\n]\n"
    );
    let q: serde_json::Value =
        serde_json::from_slice(&wd.read("crmguard-out/in.quarantine.json")).unwrap();
    assert_eq!(q[0]["crmguard_row"], 2);
    assert_eq!(q[0]["crmguard_reasons"], "INVALID_BOOLEAN");
    assert_eq!(q[0]["Name"], "Bob");
    assert_eq!(q[1]["crmguard_raw"], "42");
    assert_eq!(q[1]["crmguard_reasons"], "MALFORMED_ROW");

    // Nothing quarantined still gives a valid (empty) array.
    wd.write(
        "ok.json",
        "[{\"is_synthetic\": \"no\", \"data_source\": \"x\"}]",
    );
    assert_eq!(status(&wd.run(&["scan", "ok.json"])), 0);
    assert_eq!(wd.read_string("crmguard-out/ok.quarantine.json"), "[]\n");
}

#[test]
fn compressed_inputs_are_read_and_outputs_written_plain() {
    let wd = Workdir::new();
    let text = format!("{HEADER}\nAda,hi,no,web\nBob,=x,no,web\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    wd.write("leads.csv.gz", gz.finish().unwrap());
    wd.write(
        "cases.ndjson.zst",
        zstd::encode_all(
            "{\"is_synthetic\":\"no\",\"data_source\":\"web\"}\n".as_bytes(),
            3,
        )
        .unwrap(),
    );
    let out = wd.run(&["scan", "leads.csv.gz", "cases.ndjson.zst"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    assert_eq!(
        wd.read_string("crmguard-out/leads.clean.csv"),
        format!("{HEADER}\nAda,hi,no,web\n")
    );
    assert_eq!(
        wd.read_string("crmguard-out/cases.clean.ndjson"),
        "{\"is_synthetic\":\"no\",\"data_source\":\"web\"}\n"
    );
    let report = wd.report("crmguard-out/leads.report.json");
    assert_eq!(report["input"]["compression"], "gzip");
    let gz_bytes = wd.read("leads.csv.gz");
    assert_eq!(report["input"]["bytes"], gz_bytes.len() as u64);
    assert_eq!(
        report["input"]["blake3"],
        blake3::hash(&gz_bytes).to_hex().to_string()
    );
}

#[test]
fn damaged_compressed_inputs_are_errors_that_name_the_file() {
    let wd = Workdir::new();
    let mut text = format!("{HEADER}\n");
    for i in 0..20_000 {
        text.push_str(&format!("Lead {i},a note about lead {i},no,web\n"));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    // Cut mid-stream: the first rows decode, then the data ends.
    wd.write("cut.csv.gz", &gz[..gz.len() / 2]);
    // Damaged past their magic bytes: content without them is not
    // compressed data at all, and is read as what it is (COMPRESSION_MISMATCH).
    wd.write("fake.csv.gz", b"\x1f\x8bnot gzip at all");
    wd.write("junk.ndjson.zst", b"\x28\xb5\x2f\xfdnot zstd at all");
    for (file, want) in [
        ("cut.csv.gz", "corrupt or truncated gzip data"),
        ("fake.csv.gz", "corrupt or truncated gzip data"),
        ("junk.ndjson.zst", "corrupt or truncated zstd data"),
    ] {
        let out = wd.run(&["scan", file]);
        assert_eq!(status(&out), 2, "{file}");
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(
            lines[0].starts_with(&format!("crmguard: error: {file}:")),
            "{err}"
        );
        assert!(lines[0].contains(want), "{err}");
        let stem = file.split('.').next().unwrap();
        let written: Vec<String> = wd
            .list("crmguard-out")
            .into_iter()
            .filter(|n| n.starts_with(&format!("{stem}.")))
            .collect();
        assert!(written.is_empty(), "{file}: {written:?}");
    }
}

#[test]
fn stdin_with_format_flag() {
    let wd = Workdir::new();
    let out = wd
        .command(&["scan", "--format", "ndjson", "-"])
        .write_stdin("{\"is_synthetic\":\"no\",\"data_source\":\"web\"}\n{\"x\":1}\n")
        .output()
        .unwrap();
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    assert_eq!(
        wd.list("crmguard-out"),
        vec![
            "crmguard-audit.jsonl",
            "stdin.clean.ndjson",
            "stdin.quarantine.ndjson",
            "stdin.report.json"
        ]
    );
    // Without --format, stdin is CSV.
    let out = wd
        .command(&["scan", "-o", "csv-out", "-"])
        .write_stdin(format!("{HEADER}\nAda,hi,no,web\n"))
        .output()
        .unwrap();
    assert_eq!(status(&out), 0);
    assert!(wd.join("csv-out/stdin.clean.csv").exists());
}

#[test]
fn invalid_utf8_rows_keep_their_bytes() {
    let wd = Workdir::new();
    let mut input = format!("{HEADER}\n").into_bytes();
    input.extend_from_slice(b"M\xfcller,R\xfcckruf,no,web\n");
    input.extend_from_slice(b"Ada,hi,no,web\n");
    wd.write("in.csv", &input);
    assert_eq!(status(&wd.run(&["scan", "in.csv"])), 1);
    let q = wd.read("crmguard-out/in.quarantine.csv");
    let expected_row: &[u8] = b"M\xfcller,R\xfcckruf,no,web,1,ENCODING_INVALID,,\n";
    assert!(
        q.ends_with(expected_row),
        "{:?}",
        String::from_utf8_lossy(&q)
    );

    wd.write(
        "in.ndjson",
        b"{\"Name\":\"M\xfcller\",\"is_synthetic\":\"no\",\"data_source\":\"web\"}\n",
    );
    assert_eq!(status(&wd.run(&["scan", "in.ndjson"])), 1);
    let q = wd.read("crmguard-out/in.quarantine.ndjson");
    assert_eq!(
        q,
        b"{\"Name\":\"M\xfcller\",\"is_synthetic\":\"no\",\"data_source\":\"web\",\"crmguard_row\":1,\"crmguard_reasons\":\"ENCODING_INVALID\",\"crmguard_ai_score\":null,\"crmguard_ai_signals\":\"\"}\n"
    );
}
