//! `scan --cleanup-plan` through the real binary: the plan of a CRM export
//! lists exactly the quarantined records' Ids, with the policy's actions,
//! nothing of the rows but the Id, and is recorded in the audit log.

use crate::common;

use common::{Workdir, fixtures, quarantine_cells, status, stderr};

#[test]
fn the_plan_lists_exactly_the_quarantined_ids() {
    let wd = Workdir::new();
    wd.fixture("cleanup/contacts-export.csv");
    wd.write(
        "crmguard.toml",
        "[cleanup]\nactions = { SYNTHETIC_NOT_ALLOWED = \"delete\" }\n",
    );
    let out = wd.run(&[
        "scan",
        "-q",
        "--cleanup-plan",
        "--object",
        "Contact",
        "contacts-export.csv",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let quarantined = quarantine_cells(
        &wd.read("crmguard-out/contacts-export.quarantine.csv"),
        b',',
        &["Id", "crmguard_reasons"],
    );
    let plan = wd.read_string("crmguard-out/contacts-export.cleanup.csv");
    let mut csv = csv::Reader::from_reader(plan.as_bytes());
    assert_eq!(
        csv.headers().unwrap(),
        vec!["Id", "action", "Crmguard_Reasons__c", "Crmguard_Scan_Id__c"]
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    let want: Vec<&str> = quarantined.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, want);
    assert_eq!(ids.len(), 3, "{plan}");
    let report = wd.report("crmguard-out/contacts-export.report.json");
    let scan_id = report["scan_id"].as_str().unwrap();
    for (row, q) in rows.iter().zip(&quarantined) {
        if q[1].contains("SYNTHETIC_NOT_ALLOWED") {
            assert_eq!(&row[1], "delete");
            assert_eq!((&row[2], &row[3]), ("", ""));
        } else {
            assert_eq!(&row[1], "tag");
            assert_eq!((&row[2], &row[3]), (q[1].as_str(), scan_id));
        }
    }
    // Nothing of the rows but the Id.
    let export = std::fs::read_to_string(fixtures().join("cleanup/contacts-export.csv")).unwrap();
    for name in ["Hopper", "Turing", "Noether", "HYPERLINK", "persona"] {
        assert!(export.contains(name) && !plan.contains(name), "{name}");
    }
    // Recorded in the audit log with its hash.
    let log = wd.read_string("crmguard-out/crmguard-audit.jsonl");
    let scan: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    let cleanup = scan["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["kind"] == "cleanup")
        .expect("the plan in the scan record");
    assert_eq!(
        cleanup["blake3"],
        blake3::hash(plan.as_bytes()).to_hex().as_str()
    );
    assert_eq!(cleanup["rows"], 3);
    let out = wd.run(&["audit", "verify", "crmguard-out/crmguard-audit.jsonl"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

#[test]
fn an_export_without_the_id_column_is_refused_before_anything_is_written() {
    let wd = Workdir::new();
    wd.write(
        "leads.csv",
        "Name,is_synthetic,data_source\n=1+1,false,web\n",
    );
    let out = wd.run(&["scan", "-q", "--cleanup-plan", "leads.csv"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("leads.csv:1:"), "{}", stderr(&out));
    assert!(
        wd.list("crmguard-out")
            .iter()
            .all(|n| !n.starts_with("leads."))
    );
}
