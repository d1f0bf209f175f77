//! Logs written by the previous release (record version 1, no commit
//! records; fixtures/audit-v1/README.md says how the fixture was made) stay
//! valid: `verify` accepts them, a new scan appends version 2 records after
//! them, and rows a version 1 scan quarantined can still be released.

use crate::common;

use common::{Workdir, status, stderr};

const LOG: &str = "crmguard-out/crmguard-audit.jsonl";

/// The fixture log and the quarantine file of its first scan, where the
/// old release left them.
fn old_log() -> Workdir {
    let wd = Workdir::new();
    let fx = common::fixtures().join("audit-v1");
    for name in ["crmguard-audit.jsonl", "synthetic.quarantine.csv"] {
        wd.write(
            &format!("crmguard-out/{name}"),
            std::fs::read(fx.join(name)).unwrap(),
        );
    }
    wd
}

fn versions(log: &str) -> Vec<u64> {
    log.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["v"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_version_1_log_verifies() {
    let wd = old_log();
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("OK, 11 records (3 scans, 3 committed (3 of them version 1))"),
        "{text}"
    );
}

#[test]
fn a_new_scan_appends_version_2_after_the_version_1_prefix() {
    let wd = old_log();
    wd.write("new.csv", "Name,is_synthetic,data_source\nAda,no,web\n");
    let out = wd.run(&["scan", "-q", "new.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let log = wd.read_string(LOG);
    let v = versions(&log);
    assert_eq!(v.len(), 13, "{log}");
    assert!(v[..11].iter().all(|&v| v == 1), "{v:?}");
    assert!(v[11..].iter().all(|&v| v == 2), "{v:?}");
    assert!(log.lines().last().unwrap().contains(r#""type":"commit""#));
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("4 scans, 4 committed (3 of them version 1)"),
        "{text}"
    );
}

#[test]
fn a_version_1_record_after_version_2_records_is_refused() {
    let wd = old_log();
    wd.write("new.csv", "Name,is_synthetic,data_source\nAda,no,web\n");
    assert_eq!(status(&wd.run(&["scan", "-q", "new.csv"])), 0);
    // Re-chain a copy of the first (version 1) scan record after the new
    // block: hashes and seq are right, only the version is out of place.
    let log = wd.read_string(LOG);
    let last: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    let mut rec: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(log.lines().next().unwrap()).unwrap();
    rec["seq"] = (last["seq"].as_u64().unwrap() + 1).into();
    rec["prev"] = last["hash"].clone();
    rec.remove("hash");
    let body = serde_json::to_string(&rec).unwrap();
    let hash = blake3::hash(body.as_bytes()).to_hex();
    let line = format!("{},\"hash\":\"{hash}\"}}\n", &body[..body.len() - 1]);
    wd.write("crmguard-out/crmguard-audit.jsonl", format!("{log}{line}"));
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(":14: record 14: a version 1 record after version 2 records"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_tampered_version_1_record_is_caught() {
    let wd = old_log();
    let log = wd
        .read_string(LOG)
        .replacen(r#""row":1,"#, r#""row":2,"#, 1);
    wd.write(LOG, log);
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(":2: record 2: hash does not match"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rows_of_a_version_1_scan_can_be_released() {
    let wd = old_log();
    let out = wd.run(&[
        "release",
        "crmguard-out/synthetic.quarantine.csv",
        "--rows",
        "1",
        "--approver",
        "Grace",
        "--reason",
        "sandbox import",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let released = wd.read_string("crmguard-out/synthetic.released.csv");
    let quarantine = wd.read_string("crmguard-out/synthetic.quarantine.csv");
    let header = quarantine.lines().next().unwrap();
    let input_header = &header[..header.find(",crmguard_row").unwrap()];
    let row = quarantine.lines().nth(1).unwrap();
    let input_row = &row[..row.find(",1,SYNTHETIC_NOT_ALLOWED").unwrap()];
    assert_eq!(released, format!("{input_header}\n{input_row}\n"));
    let log = wd.read_string(LOG);
    let v = versions(&log);
    assert_eq!(v[11..], [2, 2], "{log}");
    assert!(log.contains(r#""type":"approval""#), "{log}");
    let out = wd.run(&["audit", "verify", LOG]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}
