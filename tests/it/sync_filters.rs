//! The sync filter: which disclosed synthetic rows reach the clean file,
//! per target object and per model/source, with the object taken from
//! `--object`, a column, or the file name.

use crate::common;

use common::{Workdir, status, stderr};

/// blake3 provenance hash over `Body=<body>` alone (computed by the
/// library, which the spec vectors pin down).
fn hash(body: &str) -> String {
    crmguard::spec::provenance::compute(
        crmguard::spec::provenance::Algorithm::Blake3,
        &mut [("Body", body)],
    )
    .to_string()
}

fn synthetic_rows(model: &str) -> String {
    let mut s = String::from(
        "Body,is_synthetic,data_source,ai_model_version,generation_timestamp,provenance_hash,ai_generated_fields\n",
    );
    for body in ["first", "second"] {
        s.push_str(&format!(
            "{body},true,ai_generated,{model},2026-01-01T00:00:00Z,{},Body\n",
            hash(body)
        ));
    }
    s
}

const POLICY: &str = r#"
[synthetic]
allow = false
trusted_models = ["openai/gpt-4o*"]

[synthetic.objects.Product_Description]
allow = true

[objects]
files = [{ pattern = "*descriptions*", object = "Product_Description" }, { pattern = "*lead*", object = "Lead" }]
"#;

/// `crmguard scan -p p.toml --object OBJECT FILE`.
fn scan_as(wd: &Workdir, object: &str, file: &str) -> std::process::Output {
    wd.run(&["scan", "-p", "p.toml", "--object", object, file])
}

fn quarantined(wd: &Workdir, stem: &str) -> u64 {
    wd.report(&format!("crmguard-out/{stem}.report.json"))["rows_quarantined"]
        .as_u64()
        .unwrap()
}

#[test]
fn allowed_per_object_from_the_flag() {
    let wd = Workdir::new();
    wd.write("p.toml", POLICY);
    wd.write("rows.csv", synthetic_rows("openai/gpt-4o-2024-08-06"));
    let out = scan_as(&wd, "Product_Description", "rows.csv");
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let report = wd.report("crmguard-out/rows.report.json");
    assert_eq!(report["input"]["object"], "Product_Description");

    let out = scan_as(&wd, "Lead", "rows.csv");
    assert_eq!(status(&out), 1);
    assert_eq!(
        wd.report("crmguard-out/rows.report.json")["reasons"]["SYNTHETIC_NOT_ALLOWED"],
        2
    );
    // No object: the default (allow = false).
    assert_eq!(status(&wd.run(&["scan", "-p", "p.toml", "rows.csv"])), 1);
}

#[test]
fn object_from_the_file_name_and_the_flag_wins() {
    let wd = Workdir::new();
    wd.write("p.toml", POLICY);
    wd.write(
        "product_descriptions_q3.csv",
        synthetic_rows("openai/gpt-4o"),
    );
    wd.write("leads_q3.csv", synthetic_rows("openai/gpt-4o"));
    let out = wd.run(&[
        "scan",
        "-p",
        "p.toml",
        "product_descriptions_q3.csv",
        "leads_q3.csv",
    ]);
    assert_eq!(status(&out), 1);
    assert_eq!(quarantined(&wd, "product_descriptions_q3"), 0);
    assert_eq!(quarantined(&wd, "leads_q3"), 2);
    let out = scan_as(&wd, "Lead", "product_descriptions_q3.csv");
    assert_eq!(status(&out), 1);
    assert_eq!(quarantined(&wd, "product_descriptions_q3"), 2);
}

#[test]
fn object_from_a_column_per_row() {
    let wd = Workdir::new();
    wd.write(
        "p.toml",
        format!("{POLICY}\n").replace("[objects]\n", "[objects]\ncolumn = \"Target_Object__c\"\n"),
    );
    let rows = synthetic_rows("openai/gpt-4o");
    let mut lines = rows.lines();
    let mut s = format!("{},Target_Object__c\n", lines.next().unwrap());
    s.push_str(&format!("{},product_description\n", lines.next().unwrap()));
    s.push_str(&format!("{},Contact\n", lines.next().unwrap()));
    wd.write("mixed.csv", s);
    assert_eq!(status(&wd.run(&["scan", "-p", "p.toml", "mixed.csv"])), 1);
    let q = common::quarantine_csv(&wd.read("crmguard-out/mixed.quarantine.csv"), b',');
    assert_eq!(q, vec![(2, "SYNTHETIC_NOT_ALLOWED".to_string())]);
}

#[test]
fn untrusted_models_are_held_back_even_where_allowed() {
    let wd = Workdir::new();
    wd.write("p.toml", POLICY);
    wd.write("rows.csv", synthetic_rows("meta-llama/Llama-3-8B"));
    let out = scan_as(&wd, "Product_Description", "rows.csv");
    assert_eq!(status(&out), 1);
    let r = wd.report("crmguard-out/rows.report.json");
    assert_eq!(r["reasons"]["UNTRUSTED_AI_SOURCE"], 2);
    assert!(r["reasons"].get("SYNTHETIC_NOT_ALLOWED").is_none());
}

#[test]
fn lead_and_contact_stay_closed_when_allow_is_true() {
    let wd = Workdir::new();
    wd.write("p.toml", "[synthetic]\nallow = true\n");
    wd.write("rows.csv", synthetic_rows("openai/gpt-4o"));
    assert_eq!(status(&scan_as(&wd, "Case", "rows.csv")), 0);
    assert_eq!(status(&scan_as(&wd, "contact", "rows.csv")), 1);
}

#[test]
fn a_person_s_table_without_allow_keeps_synthetic_rows_out() {
    let wd = Workdir::new();
    wd.write("rows.csv", synthetic_rows("openai/gpt-4o"));
    // A table naming Lead or Contact only to narrow the models does not
    // take the top-level `allow = true` (docs/policy.md); its own `allow`
    // does.
    for (table, held) in [
        (
            "[synthetic.objects.Lead]\ntrusted_models = [\"openai/*\"]\n",
            2,
        ),
        (
            "[synthetic.objects.lead]\ntrusted_sources = [\"ai_generated\"]\n",
            2,
        ),
        ("[synthetic.objects.Lead]\nallow = true\n", 0),
    ] {
        wd.write(
            "p.toml",
            format!("[synthetic]\nallow = true\ntrusted_models = [\"openai/*\"]\n{table}"),
        );
        let out = scan_as(&wd, "Lead", "rows.csv");
        assert_eq!(quarantined(&wd, "rows"), held, "{table}: {}", stderr(&out));
    }
    // Other objects still take the top-level `allow`.
    wd.write(
        "p.toml",
        "[synthetic]\nallow = true\n[synthetic.objects.Case]\ntrusted_models = [\"openai/*\"]\n",
    );
    let out = scan_as(&wd, "Case", "rows.csv");
    assert_eq!(quarantined(&wd, "rows"), 0, "{}", stderr(&out));
}
