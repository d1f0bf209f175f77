//! `[tagging]`: tag columns on clean rows for the CRM's custom fields, so
//! imported records keep their provenance. Off by default.

use crate::common;

use common::{Workdir, status, stderr};

const POLICY: &str = "[tagging]\nscan_id = \"Crmguard_Scan_Id__c\"\nai_score = \"Crmguard_AI_Score__c\"\nchecked_at = \"Crmguard_Checked_At__c\"\n";

#[test]
fn clean_csv_rows_carry_the_tags_and_quarantine_rows_do_not() {
    let wd = Workdir::new();
    wd.write("p.toml", POLICY);
    wd.write(
        "in.csv",
        "Name,is_synthetic,data_source\r\nAda,no,web\r\n\"B, b\",maybe,web\r\nCid,no,web",
    );
    let out = wd.run(&[
        "scan",
        "-p",
        "p.toml",
        "--now",
        "2026-03-04T05:06:07.891Z",
        "in.csv",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let report = wd.report("crmguard-out/in.report.json");
    let id = report["scan_id"].as_str().unwrap();
    assert_eq!(id.len(), 20);
    assert_eq!(
        wd.read_string("crmguard-out/in.clean.csv"),
        format!(
            "Name,is_synthetic,data_source,Crmguard_Scan_Id__c,Crmguard_AI_Score__c,Crmguard_Checked_At__c\r\n\
             Ada,no,web,{id},,2026-03-04T05:06:07.891Z\r\n\
             Cid,no,web,{id},,2026-03-04T05:06:07.891Z\r\n"
        )
    );
    assert_eq!(
        wd.read_string("crmguard-out/in.quarantine.csv"),
        "Name,is_synthetic,data_source,crmguard_row,crmguard_reasons,crmguard_ai_score,crmguard_ai_signals\r\n\"B, b\",maybe,web,2,INVALID_BOOLEAN,,\r\n"
    );
    // Each scan has its own id.
    assert_eq!(status(&wd.run(&["scan", "-p", "p.toml", "in.csv"])), 1);
    assert_ne!(wd.report("crmguard-out/in.report.json")["scan_id"], id);
}

#[test]
fn without_tagging_the_clean_file_is_byte_faithful() {
    let wd = Workdir::new();
    let input = "Name,is_synthetic,data_source\nAda,no,web\n";
    wd.write("in.csv", input);
    assert_eq!(status(&wd.run(&["scan", "in.csv"])), 0);
    assert_eq!(wd.read_string("crmguard-out/in.clean.csv"), input);
}

#[test]
fn json_and_ndjson_get_tag_keys() {
    let wd = Workdir::new();
    wd.write(
        "p.toml",
        "[tagging]\nscan_id = \"scan\"\nchecked_at = \"checked\"\n",
    );
    wd.write(
        "lines.ndjson",
        "{\"is_synthetic\":false,\"data_source\":\"w\"}\n",
    );
    wd.write(
        "array.json",
        "[{\"is_synthetic\": false, \"data_source\": \"w\"}, {}]",
    );
    let out = wd.run(&[
        "scan",
        "-p",
        "p.toml",
        "--now",
        "2026-01-01T00:00:00Z",
        "lines.ndjson",
        "array.json",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    for file in [
        "crmguard-out/lines.clean.ndjson",
        "crmguard-out/array.clean.json",
    ] {
        let text = wd.read_string(file);
        let v: serde_json::Value = if file.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(&text).unwrap()[0].clone()
        } else {
            serde_json::from_str(text.trim_end()).unwrap()
        };
        assert_eq!(v["checked"], "2026-01-01T00:00:00.000Z", "{file}");
        assert_eq!(v["data_source"], "w");
        assert_eq!(v["scan"].as_str().unwrap().len(), 20);
    }
    // The object's own bytes come first, untouched.
    assert_eq!(
        &wd.read_string("crmguard-out/lines.clean.ndjson")[..41],
        "{\"is_synthetic\":false,\"data_source\":\"w\",\""
    );
}

#[test]
fn tags_already_in_the_input_are_an_error() {
    let wd = Workdir::new();
    wd.write("p.toml", POLICY);
    wd.write(
        "in.csv",
        "Name,is_synthetic,data_source,crmguard_scan_id__c\nAda,no,web,x\n",
    );
    let out = wd.run(&["scan", "-p", "p.toml", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("already in the header"),
        "{}",
        stderr(&out)
    );
    wd.write(
        "in.ndjson",
        "{\"is_synthetic\":false,\"data_source\":\"w\"}\n{\"is_synthetic\":false,\"data_source\":\"w\",\"Crmguard_Scan_Id__c\":\"old\"}\n",
    );
    let out = wd.run(&["scan", "-p", "p.toml", "in.ndjson"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("in.ndjson:2:1: record 2 already has the tag key"),
        "{}",
        stderr(&out)
    );
    assert!(wd.list("crmguard-out").is_empty());
}

#[test]
fn the_ai_score_tag_carries_the_detectors_score() {
    let wd = Workdir::new();
    wd.write("p.toml", "[tagging]\nai_score = \"Score__c\"\n");
    wd.write(
        "in.csv",
        "Body,is_synthetic,data_source\n\
         \"we stayed three nights and the breakfast was cold every single morning, sadly\",no,web\n\
         short one,no,web\n",
    );
    let out = wd.run(&["scan", "-p", "p.toml", "in.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let clean = wd.read_string("crmguard-out/in.clean.csv");
    let scores: Vec<&str> = clean
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    let judged: f64 = scores[0].parse().expect("a judged row has a score");
    assert!((0.0..=1.0).contains(&judged));
    assert_eq!(scores[1], "", "too short to judge: no score");
}
