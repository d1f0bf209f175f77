//! `crmguard hash`, the producer side: what it writes, `scan` verifies; and
//! it agrees with the spec's own test vectors.

use crate::common;

use common::{Workdir, status, stderr};

const ALLOW: &str = "[synthetic]\nallow = true\n";

fn scan_reasons(wd: &Workdir, file: &str) -> serde_json::Value {
    let out = wd.run(&["scan", "-p", "allow.toml", "--fail-on", "never", file]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let stem = file.split('.').next().unwrap();
    wd.report(&format!("crmguard-out/{stem}.report.json"))["reasons"].clone()
}

#[test]
fn matches_the_spec_test_vectors() {
    let wd = Workdir::new();
    wd.write(
        "gen.csv",
        "Subject,Description,is_synthetic,data_source,ai_model_version,generation_timestamp\n\
         Great blender,This blender is a testament to modern kitchen design.,true,ai_generated,m,2026-01-01T00:00:00Z\n",
    );
    let out = wd.run(&["hash", "gen.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.ends_with(",2026-01-01T00:00:00Z,blake3:06f3b4d1c437c399c73a0b55b59f6d19873bb2a00f7239760f90bb4905f5ce36\n"),
        "{text}"
    );
    let out = wd.run(&["hash", "--algorithm", "sha256", "gen.csv"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("sha256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674a"),
        "{text}"
    );
}

#[test]
fn adds_a_column_for_synthetic_rows_and_scan_verifies_it() {
    let wd = Workdir::new();
    wd.write("allow.toml", ALLOW);
    let input = "Name,Notes,Is_Synthetic__c,Data_Source__c,AI_Model_Version__c,Generation_Timestamp__c\r\n\
                 Ada,\"human, \"\"real\"\"\",false,web,,\r\n\
                 Bot,generated persona,true,ai_generated,openai/gpt-4o,2026-01-01T00:00:00Z\r\n";
    wd.write("gen.csv", input);
    let out = wd.run(&["hash", "gen.csv", "-o", "hashed.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("hashed 1 of 2 records (blake3) -> hashed.csv"));
    let hashed = wd.read_string("hashed.csv");
    let lines: Vec<&str> = hashed.split("\r\n").collect();
    // Salesforce-style names get the Salesforce alias; human rows an empty
    // cell; every other byte as it was.
    assert_eq!(
        lines[0],
        "Name,Notes,Is_Synthetic__c,Data_Source__c,AI_Model_Version__c,Generation_Timestamp__c,Provenance_Hash__c"
    );
    assert_eq!(lines[1], "Ada,\"human, \"\"real\"\"\",false,web,,,");
    assert!(lines[2].starts_with(
        "Bot,generated persona,true,ai_generated,openai/gpt-4o,2026-01-01T00:00:00Z,blake3:"
    ));
    assert_eq!(scan_reasons(&wd, "hashed.csv"), serde_json::json!({}));
    // The same file before hashing fails verification: the hash is required.
    assert_eq!(
        scan_reasons(&wd, "gen.csv"),
        serde_json::json!({"MISSING_DISCLOSURE": 1})
    );
}

#[test]
fn refreshes_stale_hashes_in_place() {
    let wd = Workdir::new();
    wd.write("allow.toml", ALLOW);
    wd.write(
        "gen.csv",
        "Body,is_synthetic,data_source,ai_model_version,generation_timestamp,provenance_hash\n\
         edited after hashing,yes,ai_generated,m,2026-01-01T00:00:00Z,blake3:06f3b4d1c437c399c73a0b55b59f6d19873bb2a00f7239760f90bb4905f5ce36\n",
    );
    assert_eq!(
        scan_reasons(&wd, "gen.csv"),
        serde_json::json!({"PROVENANCE_MISMATCH": 1})
    );
    let out = wd.run(&["hash", "--in-place", "gen.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(scan_reasons(&wd, "gen.csv"), serde_json::json!({}));
    assert_eq!(
        wd.list("."),
        vec!["allow.toml", "crmguard-out", "gen.csv"],
        "no temp files left"
    );
}

#[test]
fn json_and_ndjson() {
    let wd = Workdir::new();
    wd.write("allow.toml", ALLOW);
    wd.write(
        "gen.ndjson",
        "{\"Body\":\"hi\",\"is_synthetic\":true,\"data_source\":\"ai\",\"ai_model_version\":\"m\",\"generation_timestamp\":\"2026-01-01T00:00:00Z\",\"tags\":[\"b\",\"a\"],\"n\":1.5}\n\
         {\"Body\":\"human\",\"is_synthetic\":false,\"data_source\":\"web\"}\n",
    );
    assert_eq!(
        status(&wd.run(&["hash", "gen.ndjson", "-o", "out.ndjson"])),
        0
    );
    assert_eq!(scan_reasons(&wd, "out.ndjson"), serde_json::json!({}));
    let lines = wd.read_string("out.ndjson");
    assert!(
        lines.lines().nth(1).unwrap()
            == "{\"Body\":\"human\",\"is_synthetic\":false,\"data_source\":\"web\"}"
    );

    wd.write(
        "arr.json",
        "[{\"Body\":\"x\",\"Is_Synthetic__c\":\"true\",\"Data_Source__c\":\"ai\",\"AI_Model_Version__c\":\"m\",\"Generation_Timestamp__c\":\"2026-01-01T00:00:00Z\",\"Provenance_Hash__c\":\"sha256:00\"}]",
    );
    assert_eq!(status(&wd.run(&["hash", "arr.json", "-o", "arr2.json"])), 0);
    let v: serde_json::Value = serde_json::from_slice(&wd.read("arr2.json")).unwrap();
    assert!(
        v[0]["Provenance_Hash__c"]
            .as_str()
            .unwrap()
            .starts_with("blake3:")
    );
    assert_eq!(scan_reasons(&wd, "arr2.json"), serde_json::json!({}));
}

#[test]
fn unhashable_records_are_errors_with_their_location() {
    let wd = Workdir::new();
    wd.write(
        "gen.csv",
        "Body,is_synthetic,data_source,ai_generated_fields\nok,false,web,\nx,true,ai,Body;Title\n",
    );
    let out = wd.run(&["hash", "gen.csv", "-o", "out.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("gen.csv:3:1: record 2: ai_generated_fields names `Title`"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("out.csv").exists(), "no partial output");
    wd.write("short.csv", "Body,is_synthetic,data_source\nonly,true\n");
    let out = wd.run(&["hash", "short.csv"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("short.csv:2:1: record 1: 2 fields where the header has 3"));
    // To stdout too, nothing of a file that fails is written, not even the
    // records before the bad one.
    for args in [&["hash", "gen.csv"][..], &["hash", "gen.csv", "-o", "-"]] {
        let out = wd.run(args);
        assert_eq!(status(&out), 2, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {:?}", out.stdout);
    }
    wd.write("b.ndjson", "{\"a\":1,\"is_synthetic\":true}\n[1]\n");
    let out = wd.run(&["hash", "b.ndjson"]);
    assert_eq!(status(&out), 2);
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    // A file that hashes reaches stdout whole, as it would a file.
    wd.write(
        "ok.csv",
        "Body,is_synthetic,data_source\nhi,true,ai\nyo,false,web\n",
    );
    let piped = wd.run(&["hash", "ok.csv"]);
    assert_eq!(status(&piped), 0, "{}", stderr(&piped));
    let out = wd.run(&["hash", "ok.csv", "-o", "ok.hashed.csv"]);
    assert_eq!(status(&out), 0);
    assert_eq!(piped.stdout, wd.read("ok.hashed.csv"));
    assert!(stderr(&piped).contains("-> stdout"), "{}", stderr(&piped));
}

/// A JSON record that cannot be hashed says why: a repeated key, two keys
/// for one disclosure column, or no object at all, not one "malformed"
/// for every case.
#[test]
fn unhashable_json_records_say_why() {
    let wd = Workdir::new();
    for (body, why) in [
        (
            r#"{"a":1,"a":2,"is_synthetic":true}"#,
            "not a JSON object: duplicate key `a`",
        ),
        (
            r#"{"a":1,"is_synthetic":true,"Is_Synthetic__c":true}"#,
            "keys `is_synthetic` and `Is_Synthetic__c` both name the disclosure column \
             is_synthetic: keep one",
        ),
        (
            "[1]",
            "not a JSON object: invalid type: sequence, expected a JSON object",
        ),
    ] {
        wd.write("g.ndjson", format!("{{\"a\":0}}\n{body}\n"));
        let out = wd.run(&["hash", "g.ndjson", "-o", "out.ndjson"]);
        assert_eq!(status(&out), 2, "{body}");
        assert_eq!(
            stderr(&out).trim_end(),
            format!("crmguard: error: g.ndjson:2:1: record 2: {why}"),
            "{body}"
        );
        assert!(!wd.join("out.ndjson").exists(), "{body}");
    }
}

/// A named pipe cannot be replaced by a rewritten file, and writing into
/// the pipe being read kept its own reader from ever seeing the end: the
/// command hung. It is refused before anything is opened.
#[cfg(unix)]
#[test]
fn in_place_on_a_named_pipe_is_refused_not_a_hang() {
    use std::os::unix::fs::FileTypeExt;
    let wd = Workdir::new();
    let fifo = wd.join("gen.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for args in [
        &["hash", "--in-place", "gen.csv"][..],
        &["hash", "gen.csv", "-o", "gen.csv"],
    ] {
        let out = wd
            .command(args)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(status(&out), 2, "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end(),
            "crmguard: error: gen.csv: not a regular file (a named pipe or a device): it \
             cannot be rewritten in place; write the output to another file with -o",
            "{args:?}"
        );
        assert!(
            std::fs::symlink_metadata(&fifo)
                .unwrap()
                .file_type()
                .is_fifo(),
            "{args:?}"
        );
    }
}

/// A compressed file rewritten in place stays compressed the same way, and
/// `-o` compresses as its name says: a `.gz` name over plain text is a file
/// `scan` refuses.
#[test]
fn compressed_files_stay_compressed() {
    use std::io::Write as _;
    let wd = Workdir::new();
    wd.write("allow.toml", ALLOW);
    let csv = "Body,is_synthetic,data_source,ai_model_version,generation_timestamp\n\
               hi,true,ai_generated,m,2026-01-01T00:00:00Z\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(csv.as_bytes()).unwrap();
    wd.write("gen.csv.gz", gz.finish().unwrap());
    wd.write("zgen.csv.zst", zstd::encode_all(csv.as_bytes(), 3).unwrap());
    for (file, magic) in [
        ("gen.csv.gz", &[0x1f, 0x8b][..]),
        ("zgen.csv.zst", &[0x28, 0xb5, 0x2f, 0xfd][..]),
    ] {
        let out = wd.run(&["hash", "--in-place", file]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        assert!(wd.read(file).starts_with(magic), "{file}: not compressed");
        assert_eq!(scan_reasons(&wd, file), serde_json::json!({}), "{file}");
    }
    wd.write("plain.csv", csv);
    let out = wd.run(&["hash", "plain.csv", "-o", "out.csv.gz"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(wd.read("out.csv.gz").starts_with(&[0x1f, 0x8b]));
    assert_eq!(scan_reasons(&wd, "out.csv.gz"), serde_json::json!({}));
}

/// A rewrite does not change who may read the file: its permission bits
/// and, as root, its owner and group are the old file's.
#[cfg(unix)]
#[test]
fn in_place_keeps_permissions_and_owner() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let wd = Workdir::new();
    let path = wd.write("priv.csv", "Name,is_synthetic\nA,true\n");
    for bits in [0o600, 0o640, 0o664] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bits)).unwrap();
        let out = wd.run(&["hash", "--in-place", "priv.csv"]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, bits, "{bits:o} became {mode:o}");
    }
    // SAFETY: geteuid only reads the process's effective user id.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        let out = wd.run(&["hash", "--in-place", "priv.csv"]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
    }
}

#[test]
fn json_numbers_are_hashed_as_their_text_so_an_edited_number_is_caught() {
    let wd = Workdir::new();
    wd.write("allow.toml", ALLOW);
    let disclosure = "\"is_synthetic\":true,\"data_source\":\"ai\",\"ai_model_version\":\"m\",\
                      \"generation_timestamp\":\"2026-01-01T00:00:00Z\"";
    // A producer following docs/disclosure.md: numbers as their JSON text.
    let canonical = "Amount\x1f12345678901234567890123\x1eId\x1fa1\x1ePrice\x1f1.50\x1e";
    let hash = blake3::hash(canonical.as_bytes()).to_hex();
    let record = |amount: &str| {
        format!(
            "{{\"Id\":\"a1\",\"Amount\":{amount},\"Price\":1.50,{disclosure},\
             \"provenance_hash\":\"blake3:{hash}\"}}\n"
        )
    };
    wd.write("ours.ndjson", record("12345678901234567890123"));
    assert_eq!(scan_reasons(&wd, "ours.ndjson"), serde_json::json!({}));
    // One more in the last digit: the same f64, so hashed as a float's text
    // it passed as unchanged.
    wd.write("edited.ndjson", record("12345678901234567890124"));
    assert_eq!(
        scan_reasons(&wd, "edited.ndjson"),
        serde_json::json!({"PROVENANCE_MISMATCH": 1})
    );
    // `hash` writes what `scan` verifies, from the same text.
    wd.write(
        "gen.ndjson",
        format!(
            "{{\"Id\":\"a1\",\"Amount\":12345678901234567890123,\"Price\":1.50,{disclosure}}}\n"
        ),
    );
    assert_eq!(
        status(&wd.run(&["hash", "gen.ndjson", "-o", "out.ndjson"])),
        0
    );
    assert!(
        wd.read_string("out.ndjson")
            .contains(&format!("blake3:{hash}")),
        "{}",
        wd.read_string("out.ndjson")
    );
}
