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

/// A record exported twice (or a row duplicated) must get one line: two
/// would have the admin both tag and delete it, or tag it with half its
/// reasons.
#[test]
fn an_id_on_several_rows_gets_one_line_and_delete_wins() {
    let wd = Workdir::new();
    wd.write(
        "crmguard.toml",
        "[cleanup]\nactions = { SYNTHETIC_NOT_ALLOWED = \"delete\" }\n",
    );
    wd.write(
        "c.csv",
        "Id,Description,is_synthetic,data_source\n\
         001A,=1+1,false,web_form\n\
         001B,=1+1,false,web_form\n\
         001A,x,true,ai_generated\n\
         001B,x,false,\n\
         001C,ok,false,web_form\n\
         001B,=2+2,false,web_form\n",
    );
    let out = wd.run(&["scan", "-q", "--cleanup-plan", "c.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let plan = wd.read_string("crmguard-out/c.cleanup.csv");
    let scan_id = wd.report("crmguard-out/c.report.json")["scan_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        plan,
        format!(
            "Id,action,Crmguard_Reasons__c,Crmguard_Scan_Id__c\n\
             001A,delete,,\n\
             001B,tag,MISSING_DISCLOSURE;CSV_INJECTION,{scan_id}\n"
        )
    );
    let report = wd.report("crmguard-out/c.report.json");
    let c = &report["cleanup"];
    assert_eq!(
        (&c["rows"], &c["tag"], &c["delete"]),
        (&2.into(), &1.into(), &1.into())
    );
    assert_eq!(c["duplicates"], 3);
    let out = wd.run(&["scan", "--cleanup-plan", "c.csv"]);
    assert!(
        stderr(&out).contains(
            "cleanup plan: 2 records (1 tag, 1 delete); 3 rows with an Id already in it folded"
        ),
        "{}",
        stderr(&out)
    );
}

/// The plan is held until the scan ends and written in the order Ids first
/// appear: the same bytes from one thread as from several, over batches.
#[test]
fn the_plan_is_the_same_whatever_the_number_of_threads() {
    let wd = Workdir::new();
    // No scan id in the tag, so two runs can be compared byte for byte.
    wd.write(
        "crmguard.toml",
        "[cleanup]\ntag = { Crmguard_Reasons__c = \"{reasons}\" }\n",
    );
    let mut csv = String::from("Id,Description,is_synthetic,data_source\n");
    for i in 0..20_000u32 {
        let id = (i * 7919) % 6_000;
        let source = if i % 3 == 0 { "" } else { "web_form" };
        csv.push_str(&format!("ID{id},=1+{i},false,{source}\n"));
    }
    wd.write("c.csv", csv);
    let mut plans = Vec::new();
    for jobs in ["1", "3"] {
        let out = wd.run(&["scan", "-q", "--cleanup-plan", "-j", jobs, "c.csv"]);
        assert_eq!(status(&out), 1, "{}", stderr(&out));
        plans.push(wd.read("crmguard-out/c.cleanup.csv"));
    }
    assert_eq!(plans[0], plans[1]);
    let plan = String::from_utf8(plans.swap_remove(0)).unwrap();
    let ids: Vec<&str> = plan
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids.len(), 6_000);
    assert_eq!(&ids[..3], ["ID0", "ID1919", "ID3838"]);
    let unique: std::collections::HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
}

/// In JSON, an Id is a string or a whole number. A boolean's text, `true`,
/// is letters, and went into the plan as a record to tag or delete.
#[test]
fn a_json_id_that_is_a_boolean_is_no_id() {
    let wd = Workdir::new();
    wd.write("crmguard.toml", "");
    wd.write(
        "ids.ndjson",
        "{\"Id\":\"003A\",\"Name\":\"=x\"}\n{\"Id\":123,\"Name\":\"=x\"}\n\
         {\"Id\":true,\"Name\":\"=x\"}\n{\"Id\":false,\"Name\":\"=x\"}\n\
         {\"Id\":1.5,\"Name\":\"=x\"}\n",
    );
    let out = wd.run(&["scan", "-q", "--cleanup-plan", "ids.ndjson"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let plan = wd.read_string("crmguard-out/ids.cleanup.csv");
    let ids: Vec<&str> = plan
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["003A", "123"], "{plan}");
    let report = wd.report("crmguard-out/ids.report.json");
    assert_eq!(report["cleanup"]["without_id"], 3);
    assert_eq!(
        report["cleanup"]["rows_without_id"],
        serde_json::json!([3, 4, 5])
    );
}
