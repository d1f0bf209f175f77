//! File-level diagnoses with their one-line fix, and the summary's manners:
//! the total line, colour only on a terminal, `-o -` refused.

use crate::common;

use std::io::Write;
use std::process::Command;

use common::tools;
use common::{Workdir, status, stderr};
use serde_json::Value;

fn findings(report: &Value) -> Vec<(String, String, Option<String>)> {
    report["file_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
                f["fix"].as_str().map(String::from),
            )
        })
        .collect()
}

#[test]
fn encoding_keeps_a_utf8_bom_out_and_utf8_means_as_it_is() {
    let wd = Workdir::new();
    // A spreadsheet's "CSV UTF-8" export with a row pasted in Windows-1252:
    // the fix the scan suggests must not turn the BOM into "ï»¿" in the
    // first column's name.
    let bytes = b"\xef\xbb\xbfName,is_synthetic,data_source\nJ\xfcrgen,false,web\n";
    wd.write("bom.csv", bytes);
    let out = wd.run(&["scan", "--encoding", "windows-1252", "bom.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(
        wd.read_string("crmguard-out/bom.clean.csv"),
        "Name,is_synthetic,data_source\nJürgen,false,web\n"
    );
    let report = wd.report("crmguard-out/bom.report.json");
    let codes: Vec<String> = findings(&report).into_iter().map(|f| f.0).collect();
    assert_eq!(codes, ["BOM_PRESENT"]);
    // `--encoding utf-8` is how every input is read: an invalid byte is
    // quarantined, not replaced by U+FFFD in the clean file.
    let out = wd.run(&["scan", "--encoding", "utf-8", "-o", "u", "bom.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let report = wd.report("u/bom.report.json");
    assert_eq!(report["reasons"]["ENCODING_INVALID"], 1);
    assert!(!stderr(&out).contains("transcoded"), "{}", stderr(&out));
}

#[test]
fn a_windows_1252_export_gets_the_iconv_line_and_encoding_reads_it() {
    let wd = Workdir::new();
    let mut bytes = b"Name,City,is_synthetic,data_source\n".to_vec();
    bytes.extend_from_slice(
        b"M\xfcller,K\xf6ln,false,web\nAda,London,false,web\nFran\xe7ois,Orl\xe9ans,false,web\n",
    );
    wd.write("export.csv", &bytes);
    let out = wd.run(&["scan", "export.csv"]);
    assert_eq!(status(&out), 1);
    let report = wd.report("crmguard-out/export.report.json");
    assert_eq!(report["reasons"]["ENCODING_INVALID"], 2);
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, "ENCODING_NOT_UTF8");
    assert!(
        f[0].1
            .starts_with("2 rows are not UTF-8 and read as windows-1252 (row 1: \"Müller\")"),
        "{}",
        f[0].1
    );
    let fix = f[0].2.as_deref().unwrap();
    assert_eq!(
        fix,
        "iconv -f WINDOWS-1252 -t UTF-8 export.csv > export.utf8.csv, or scan with --encoding windows-1252"
    );
    assert!(
        stderr(&out).contains(&format!("fix: {fix}")),
        "{}",
        stderr(&out)
    );

    // The fix works: transcoded on read, every row is clean, and the report
    // and summary say the outputs hold UTF-8 text, not the stored bytes.
    let out = wd.run(&[
        "scan",
        "--encoding",
        "windows-1252",
        "-o",
        "t",
        "export.csv",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("read as windows-1252, transcoded to UTF-8"));
    let report = wd.report("t/export.report.json");
    assert_eq!(report["input"]["transcoded_from"], "windows-1252");
    assert_eq!(
        report["input"]["blake3"],
        blake3::hash(&bytes).to_hex().as_str(),
        "the stored bytes are hashed"
    );
    assert_eq!(
        wd.read_string("t/export.clean.csv"),
        "Name,City,is_synthetic,data_source\nMüller,Köln,false,web\nAda,London,false,web\nFrançois,Orléans,false,web\n"
    );
    let out = wd.run(&["scan", "--encoding", "klingon", "export.csv"]);
    assert_eq!(status(&out), 2);
}

#[test]
fn encoding_refuses_bytes_it_cannot_read_instead_of_replacing_them() {
    let wd = Workdir::new();
    // 0x82 opens a two-byte Shift_JIS character that the comma cannot
    // end: decoded with U+FFFD, the row went clean with its text lost.
    wd.write(
        "sj.csv",
        b"name,is_synthetic,data_source\nok,false,crm\nbad\x82,false,crm\n",
    );
    let out = wd.run(&["scan", "--encoding", "shift_jis", "sj.csv"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "sj.csv:3:4: byte 0x82 is not valid Shift_JIS (--encoding shift_jis): \
             is the file in another encoding?"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new());
    // Compressed or not, JSON or CSV, the place is in the decoded text:
    // columns count characters, and 日本 ("\x93\xfa\x96\x7b") is two.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"[{\"name\": \"x\",\n \"n\": \"\x93\xfa\x96\x7b\xff\"}]")
        .unwrap();
    wd.write("sj.json.gz", gz.finish().unwrap());
    let out = wd.run(&["scan", "--encoding", "shift_jis", "sj.json.gz"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sj.json.gz:2:10: byte 0xFF is not valid Shift_JIS"),
        "{}",
        stderr(&out)
    );
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new());

    // Labels the Encoding Standard decodes as one U+FFFD for the whole
    // file are refused before anything is read.
    for label in [
        "iso-2022-kr",
        "csiso2022kr",
        "hz-gb-2312",
        "iso-2022-cn",
        "iso-2022-cn-ext",
    ] {
        let out = wd.run(&["scan", "-o", "r", "--encoding", label, "sj.csv"]);
        assert_eq!(status(&out), 2, "{label}");
        assert!(
            stderr(&out).contains(&format!(
                "\"{label}\" is an encoding crmguard cannot decode"
            )),
            "{}",
            stderr(&out)
        );
        assert!(!wd.join("r").exists(), "{label}");
    }
}

#[test]
fn the_iconv_line_works_as_printed_for_compressed_files_and_pipes() {
    let wd = Workdir::new();
    let csv = b"Name,is_synthetic,data_source\nJ\xfcrgen,false,web\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv).unwrap();
    let gz = gz.finish().unwrap();
    wd.write("lg.csv.gz", &gz);
    let out = wd.run(&["scan", "lg.csv.gz"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let f = findings(&wd.report("crmguard-out/lg.report.json"));
    let fix = f[0].2.as_deref().unwrap();
    assert_eq!(
        fix,
        "gzip -dc lg.csv.gz | iconv -f WINDOWS-1252 -t UTF-8 > lg.utf8.csv, \
         or scan with --encoding windows-1252"
    );
    // As printed, it writes a UTF-8 file that scans clean.
    let converts = |fix: &str, name: &str| {
        let command = fix.split(", or ").next().unwrap();
        let sh = Command::new("sh")
            .current_dir(wd.path())
            .args(["-c", command])
            .status()
            .unwrap();
        assert!(sh.success(), "{command}");
        let out = wd.run(&["scan", "-o", name, &format!("{name}.utf8.csv")]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        assert_eq!(
            wd.read_string(&format!("{name}/{name}.utf8.clean.csv")),
            "Name,is_synthetic,data_source\nJürgen,false,web\n"
        );
    };
    converts(fix, "lg");
    // After a UTF-8 byte-order mark, which iconv would make "ï»¿Name".
    wd.write("bom.csv", [&b"\xEF\xBB\xBF"[..], csv].concat());
    let out = wd.run(&["scan", "bom.csv"]);
    let f = findings(&wd.report("crmguard-out/bom.report.json"));
    let fix = f.iter().find_map(|(_, _, fix)| fix.as_deref()).unwrap();
    assert!(
        fix.starts_with("tail -c +4 bom.csv | iconv"),
        "{fix}: {}",
        stderr(&out)
    );
    converts(fix, "bom");

    // Stdin has no name to convert or to rename.
    let out = wd
        .command(&["scan", "-o", "p", "-"])
        .write_stdin(gz)
        .output()
        .unwrap();
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let f = findings(&wd.report("p/stdin.report.json"));
    assert_eq!(
        f.iter()
            .map(|(code, message, fix)| (code.as_str(), message.as_str(), fix.as_deref()))
            .collect::<Vec<_>>(),
        [
            (
                "COMPRESSION_MISMATCH",
                "the content is gzip data: read decompressed",
                None
            ),
            (
                "ENCODING_NOT_UTF8",
                "1 row is not UTF-8 and reads as windows-1252 (row 1: \"Jürgen\"): the file was \
                 exported in a legacy encoding",
                Some(
                    "put `gzip -dc | iconv -f WINDOWS-1252 -t UTF-8` in the pipe before \
                     crmguard, or scan with --encoding windows-1252"
                )
            ),
        ]
    );
}

#[test]
fn plain_content_under_a_compressed_name_is_read_as_it_is_and_said() {
    let wd = Workdir::new();
    let csv = "name,is_synthetic,data_source\nx,false,crm\n";
    wd.write("p.csv.gz", csv);
    let out = wd.run(&["scan", "p.csv.gz"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(wd.read_string("crmguard-out/p.clean.csv"), csv);
    let report = wd.report("crmguard-out/p.report.json");
    assert_eq!(report["input"]["compression"], Value::Null);
    assert_eq!(
        findings(&report),
        [(
            "COMPRESSION_MISMATCH".to_string(),
            "the name says gzip, but the content is plain data: read as plain".to_string(),
            Some("name it for what it is (e.g. p.csv)".to_string())
        )]
    );
    // zstd content under a gzip name: the name to give it.
    let zst = zstd::encode_all(csv.as_bytes(), 0).unwrap();
    wd.write("z.csv.gz", zst);
    let out = wd.run(&["scan", "z.csv.gz"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(wd.read_string("crmguard-out/z.clean.csv"), csv);
    let f = findings(&wd.report("crmguard-out/z.report.json"));
    assert_eq!(
        f[0].2.as_deref(),
        Some("name it for what it is (e.g. z.csv.zst)")
    );
    // No bytes at all are empty under any name, not a mismatch.
    wd.write("e.csv.zst", "");
    let out = wd.run(&["scan", "e.csv.zst"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let f = findings(&wd.report("crmguard-out/e.report.json"));
    let codes: Vec<&str> = f.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(codes, ["EMPTY_FILE"]);
}

#[test]
fn near_miss_disclosure_headers_get_the_aliases_line() {
    let wd = Workdir::new();
    wd.write(
        "leads.csv",
        "Name,acme__Is_Synthetic__c,Data Source\nAda,false,web\n",
    );
    let out = wd.run(&["scan", "leads.csv"]);
    assert_eq!(status(&out), 1);
    let report = wd.report("crmguard-out/leads.report.json");
    let f = findings(&report);
    assert_eq!(f[0].0, "MISSING_DISCLOSURE_COLUMNS");
    assert_eq!(
        f[0].2.as_deref(),
        Some(
            "add under [aliases] in crmguard.toml (`crmguard init` writes one), a line \
             each: `is_synthetic = [\"acme__Is_Synthetic__c\"]`, `data_source = [\"Data Source\"]`"
        )
    );
    // The line, added, is the fix: the row is clean.
    wd.write(
        "crmguard.toml",
        "[aliases]\nis_synthetic = [\"acme__Is_Synthetic__c\"]\ndata_source = [\"Data Source\"]\n",
    );
    let out = wd.run(&["scan", "leads.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));

    // JSON keys are matched the same way.
    wd.write(
        "cases.ndjson",
        "{\"Subject\":\"x\",\"IsSynthetic\":false,\"data-source\":\"web\"}\n",
    );
    // An empty policy: the built-in one, without the aliases written above.
    // (Not /dev/null: a policy must be a regular file, issue 16 item 12.)
    wd.write("empty.toml", "");
    let out = wd.run(&["scan", "--policy", "empty.toml", "cases.ndjson"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let f = findings(&wd.report("crmguard-out/cases.report.json"));
    let fix = f[0].2.as_deref().unwrap();
    assert!(
        fix.ends_with("`is_synthetic = [\"IsSynthetic\"]`, `data_source = [\"data-source\"]`"),
        "{fix}"
    );
}

#[test]
fn gzip_content_under_a_csv_name_is_read_and_said() {
    let wd = Workdir::new();
    let csv = b"Name,is_synthetic,data_source\nAda,false,web\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv).unwrap();
    wd.write("leads.csv", gz.finish().unwrap());
    let out = wd.run(&["scan", "leads.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(wd.read("crmguard-out/leads.clean.csv"), csv);
    let report = wd.report("crmguard-out/leads.report.json");
    assert_eq!(report["input"]["compression"], "gzip");
    let f = findings(&report);
    assert_eq!(f[0].0, "COMPRESSION_MISMATCH");
    assert_eq!(
        f[0].2.as_deref(),
        Some("name it for what it is (e.g. leads.csv.gz)")
    );
    // --fail-on warning makes it count.
    assert_eq!(
        status(&wd.run(&["scan", "--fail-on", "warning", "leads.csv"])),
        1
    );

    wd.write("book.csv", b"PK\x03\x04\x14\x00\x06\x00");
    let out = wd.run(&["scan", "book.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("book.csv: the file is a ZIP archive (an Excel .xlsx workbook?)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_empty_file_is_a_finding_in_every_format() {
    let wd = Workdir::new();
    for name in ["empty.csv", "empty.ndjson", "empty.json"] {
        wd.write(name, "");
        let out = wd.run(&["scan", "--fail-on", "warning", name]);
        assert_eq!(status(&out), 1, "{name}: {}", stderr(&out));
        let stem = name.split('.').next().unwrap();
        let ext = name.split('.').nth(1).unwrap();
        let report = wd.report(&format!("crmguard-out/{stem}.report.json"));
        assert_eq!(report["rows_total"], 0, "{name}");
        let f = findings(&report);
        assert_eq!(f[0].0, "EMPTY_FILE", "{name}");
        assert!(
            wd.join(&format!("crmguard-out/{stem}.clean.{ext}"))
                .exists()
        );
        std::fs::remove_dir_all(wd.join("crmguard-out")).unwrap();
    }
    // Blank space only: no header, no array, no record, as empty as no
    // bytes. A header alone, or `[]`, is a file with no rows, not an empty
    // one, and so is a JSON Lines file of one record among blank lines.
    for (name, text, empty) in [
        ("blank.csv", "\n\r\n\n", true),
        ("spaces.csv", "   \n", true),
        ("spacelines.tsv", " \t \r\n\n  ", true),
        ("blank.tsv", "\n\n", true),
        ("header.csv", "Name,is_synthetic,data_source\n", false),
        ("spaces.json", "  \n\t\r\n ", true),
        ("lines.jsonl", "\n \n\t\n", true),
        ("bare.json", " [ ]\n", false),
        (
            "one.jsonl",
            "\n{\"Name\":\"Ada\",\"is_synthetic\":false,\"data_source\":\"web\"}\n",
            false,
        ),
    ] {
        wd.write(name, text);
        let out = wd.run(&["scan", name]);
        assert_eq!(status(&out), 0, "{name}: {}", stderr(&out));
        let stem = name.split('.').next().unwrap();
        let report = wd.report(&format!("crmguard-out/{stem}.report.json"));
        let f = findings(&report);
        assert_eq!(
            f.iter().any(|(code, _, _)| code == "EMPTY_FILE"),
            empty,
            "{name}: {f:?}"
        );
        if empty {
            assert!(
                stderr(&out).contains("blank lines or spaces only"),
                "{}",
                stderr(&out)
            );
        }
    }
    // A line of spaces before the header is as blank as an empty one; the
    // header below it names the columns.
    wd.write(
        "late.csv",
        "  \nName,is_synthetic,data_source\nAda,false,web\n",
    );
    let out = wd.run(&["scan", "late.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(
        wd.read_string("crmguard-out/late.clean.csv"),
        "Name,is_synthetic,data_source\nAda,false,web\n"
    );
}

#[test]
fn dash_out_dir_is_an_error_not_a_folder() {
    let wd = Workdir::new();
    wd.write("a.csv", "Name,is_synthetic,data_source\nAda,false,web\n");
    let out = wd.run(&["scan", "-o", "-", "a.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("--out-dir -: outputs are files"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("-").exists());
}

#[test]
fn the_summary_ends_with_a_total_line() {
    let wd = Workdir::new();
    wd.write("a.csv", "Name,is_synthetic,data_source\nAda,false,web\n");
    wd.write("b.csv", "Name,is_synthetic,data_source\n=x,false,web\n");
    let out = wd.run(&["scan", "a.csv", "b.csv", "missing.csv"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert_eq!(
        err.lines().last().unwrap(),
        "total: 3 files (1 not scanned), 2 rows: 1 clean, 1 quarantined",
        "{err}"
    );
    // Piped: no colour.
    assert!(!err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    // `script` gives crmguard a terminal as a person's shell would.
    let Some(script) = tools::program("script") else {
        return;
    };
    let wd = Workdir::new();
    wd.write("b.csv", "Name,is_synthetic,data_source\n=x,false,web\n");
    let on_tty = |no_color: bool| {
        let mut cmd = Command::new(&script);
        cmd.args(["-qec"])
            .arg(format!("{} scan b.csv", env!("CARGO_BIN_EXE_crmguard")))
            .arg("/dev/null")
            .current_dir(wd.path())
            .env("TERM", "xterm")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(has_sgr(&coloured), "no colour on a terminal: {coloured:?}");
    let plain = on_tty(true);
    assert!(plain.contains("1 quarantined"), "{plain:?}");
    // The progress bar may still clear its line; colours must be gone.
    assert!(!has_sgr(&plain), "NO_COLOR ignored: {plain:?}");
}

/// Whether `s` holds an SGR (colour or style) escape sequence: ESC [ digits
/// and semicolons, then `m`.
fn has_sgr(s: &str) -> bool {
    s.split('\u{1b}').skip(1).any(|rest| {
        let Some(body) = rest.strip_prefix('[') else {
            return false;
        };
        let end = body.find(|c: char| !(c.is_ascii_digit() || c == ';'));
        end.is_some_and(|i| i > 0 && body[i..].starts_with('m'))
    })
}

/// UTF-16 text with its byte-order mark, as Excel's "Unicode Text" and some
/// CRM exports write it.
fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian {
        vec![0xFE, 0xFF]
    } else {
        vec![0xFF, 0xFE]
    };
    for unit in text.encode_utf16() {
        let pair = if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        };
        bytes.extend_from_slice(&pair);
    }
    bytes
}

#[test]
fn a_utf16_file_is_refused_with_the_encoding_that_reads_it() {
    let wd = Workdir::new();
    let record = "{\"Name\":\"Zoë\",\"is_synthetic\":false,\"data_source\":\"web\"}\n";
    wd.write("u16.ndjson", utf16(record, false));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&utf16(record, false)).unwrap();
    wd.write("gz16.ndjson.gz", gz.finish().unwrap());
    wd.write(
        "be16.tsv",
        utf16("Name\tis_synthetic\tdata_source\nZoë\tfalse\tweb\n", true),
    );
    // Read as bytes, its rows were quarantined with a fix naming a legacy
    // encoding (`iconv -f WINDOWS-1254`) that would garble every character.
    for (file, enc) in [
        ("u16.ndjson", "UTF-16LE"),
        ("gz16.ndjson.gz", "UTF-16LE"),
        ("be16.tsv", "UTF-16BE"),
    ] {
        let out = wd.run(&["scan", file]);
        assert_eq!(status(&out), 2, "{file}: {}", stderr(&out));
        let label = enc.to_ascii_lowercase();
        assert!(
            stderr(&out).contains(&format!(
                "{file}:1:1: the content is {enc} (it starts with a UTF-16 byte-order mark), \
                 not UTF-8: scan with --encoding {label}"
            )),
            "{file}: {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new());
    // The flag it names reads them.
    let out = wd.run(&["scan", "--encoding", "utf-16le", "-o", "t", "u16.ndjson"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(wd.read_string("t/u16.clean.ndjson"), record);
    let out = wd.run(&["scan", "--encoding", "utf-16be", "-o", "t", "be16.tsv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}
