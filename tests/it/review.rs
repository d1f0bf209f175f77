//! Detector presets and the review tier through the binary: which rows a
//! preset quarantines or lists for review, what the report, the summary and
//! the exit status say, and that the tier changes no output's bytes or
//! counts. Texts are chosen by scoring them with `crmguard detect`, never by
//! scores written here, so the tests hold whatever values the model and its
//! presets take.

use crate::common;

use common::{Workdir, fixtures, quarantine_cells, status, stderr};
use serde_json::Value;

/// Texts from the fixtures: labelled training texts and the sample reviews.
fn pool() -> Vec<String> {
    let mut texts = Vec::new();
    let mut rdr = csv::Reader::from_path(fixtures().join("detect/train_small.csv")).unwrap();
    let text = rdr.headers().unwrap().iter().position(|h| h == "text");
    for r in rdr.records() {
        texts.push(r.unwrap()[text.unwrap()].to_string());
    }
    let reviews: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("samples/reviews.json")).unwrap())
            .unwrap();
    for r in reviews.as_array().unwrap() {
        if let Some(t) = r["Review_Body__c"].as_str() {
            texts.push(t.to_string());
        }
    }
    texts
}

/// A preset's thresholds, as `detect` reports them.
#[derive(Debug, Clone, Copy)]
struct Preset {
    quarantine: f64,
    review: Option<f64>,
}

/// `detect --json --sensitivity S` over every text: the preset and each
/// text's verdict.
fn detect(wd: &Workdir, texts: &[String], sensitivity: &str) -> (Preset, Vec<Value>) {
    let mut args = vec!["detect", "--json", "--sensitivity", sensitivity, "--"];
    args.extend(texts.iter().map(String::as_str));
    let out = wd.run(&args);
    assert!(status(&out) <= 1, "{}", stderr(&out));
    let verdicts: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), texts.len());
    let preset = Preset {
        quarantine: verdicts[0]["threshold"].as_f64().unwrap(),
        review: verdicts[0]["review_threshold"].as_f64(),
    };
    (preset, verdicts)
}

/// The first judged text scoring in `(lo, hi]`.
fn pick(texts: &[String], verdicts: &[Value], lo: f64, hi: f64, what: &str) -> (String, f64) {
    texts
        .iter()
        .zip(verdicts)
        .filter(|(_, v)| v["judged"] == true)
        .map(|(t, v)| (t.clone(), v["score"].as_f64().unwrap()))
        .find(|(_, s)| *s > lo && *s <= hi)
        .unwrap_or_else(|| panic!("no fixture text scores in ({lo}, {hi}] ({what})"))
}

/// A CSV of human-marked rows with the given names and notes.
fn csv_file(rows: &[(&str, &str)]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["Name", "Notes", "is_synthetic", "data_source"])
        .unwrap();
    for (name, notes) in rows {
        w.write_record([*name, *notes, "false", "web_form"])
            .unwrap();
    }
    w.into_inner().unwrap()
}

fn ai_text(wd: &Workdir, report: &str) -> Value {
    wd.report(report)["ai_text"].clone()
}

fn assert_counts_add_up(report: &Value) {
    let n = |k: &str| report[k].as_u64().unwrap();
    assert_eq!(n("rows_clean") + n("rows_quarantined"), n("rows_total"));
    let ai = &report["ai_text"];
    assert!(ai["rows_review"].as_u64().unwrap() <= n("rows_clean"));
    let binned: u64 = (ai["score_histogram"]["counts"].as_array().unwrap().iter())
        .map(|c| c.as_u64().unwrap())
        .sum();
    let histogram = &ai["score_histogram"];
    assert_eq!(binned, ai["rows_judged"].as_u64().unwrap(), "{histogram}");
}

#[test]
fn a_row_for_review_stays_in_the_clean_file_and_is_listed() {
    let wd = Workdir::new();
    let texts = pool();
    let (balanced, verdicts) = detect(&wd, &texts, "balanced");
    let review = balanced.review.expect("balanced has a review tier");
    let (plain, _) = pick(&texts, &verdicts, -1.0, review, "below review");
    let (borderline, score) = pick(&texts, &verdicts, review, balanced.quarantine, "review");
    let v = &verdicts[texts.iter().position(|t| *t == borderline).unwrap()];
    assert_eq!(
        (v["review"].clone(), v["flagged"].clone()),
        (true.into(), false.into())
    );

    let input = csv_file(&[("Ann", &plain), ("Bob", &borderline)]);
    wd.write("in.csv", &input);
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 0, "review rows do not fail the default scan");
    assert!(
        stderr(&out).contains("2 rows: 2 clean (1 for review), 0 quarantined"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("1 for review;"), "{}", stderr(&out));
    assert_eq!(wd.read("crmguard-out/in.clean.csv"), input, "byte-faithful");
    let report = wd.report("crmguard-out/in.report.json");
    assert_counts_add_up(&report);
    let ai = &report["ai_text"];
    assert_eq!(ai["sensitivity"], "balanced");
    assert_eq!(ai["threshold"].as_f64().unwrap(), balanced.quarantine);
    assert_eq!(ai["review_threshold"].as_f64().unwrap(), review);
    assert_eq!(ai["rows_review"], 1);
    assert_eq!(ai["rows_flagged"], 0);
    let listed = &ai["review"][0];
    assert_eq!(ai["review"].as_array().unwrap().len(), 1);
    assert_eq!(listed["row"], 2);
    // The record starts after the header and the first record's lines.
    assert_eq!(listed["line"], 3 + plain.matches('\n').count() as u64);
    assert_eq!(listed["column"], "Notes");
    assert_eq!(listed["score"].as_f64().unwrap(), score);
    let signals = listed["signals"].as_array().unwrap();
    assert!(!signals.is_empty(), "{listed}");
    for s in signals {
        assert!(s["weight"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["signal"].as_str().unwrap().contains(' '), "{s}");
    }

    // Exit status: only `--fail-on warning` fails on review rows.
    for (fail_on, expected) in [("quarantine", 0), ("warning", 1), ("never", 0)] {
        let out = wd.run(&["scan", "-q", "--fail-on", fail_on, "in.csv"]);
        assert_eq!(status(&out), expected, "--fail-on {fail_on}");
    }
    // `strict` has no review tier.
    let out = wd.run(&[
        "scan",
        "--sensitivity",
        "strict",
        "--fail-on",
        "warning",
        "in.csv",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("for review"), "{}", stderr(&out));
    let ai = ai_text(&wd, "crmguard-out/in.report.json");
    assert_eq!(ai["sensitivity"], "strict");
    assert!(ai["review_threshold"].is_null());
    assert_eq!(ai["rows_review"], 0);
    assert_eq!(ai["review"], serde_json::json!([]));
}

#[test]
fn only_clean_rows_are_listed_for_review_and_the_audit_log_adds_up() {
    let wd = Workdir::new();
    let texts = pool();
    let (balanced, verdicts) = detect(&wd, &texts, "balanced");
    let review = balanced.review.unwrap();
    let (borderline, _) = pick(&texts, &verdicts, review, balanced.quarantine, "review");
    // Row 2 would be for review, but a formula in its name quarantines it.
    wd.write(
        "mixed.csv",
        csv_file(&[("Ann", &borderline), ("=1+1", &borderline)]),
    );
    let out = wd.run(&["scan", "mixed.csv"]);
    assert_eq!(status(&out), 1);
    let report = wd.report("crmguard-out/mixed.report.json");
    assert_counts_add_up(&report);
    assert_eq!(report["rows_quarantined"], 1);
    assert_eq!(report["ai_text"]["rows_review"], 1);
    assert_eq!(report["ai_text"]["review"][0]["row"], 1);
    let q = quarantine_cells(
        &wd.read("crmguard-out/mixed.quarantine.csv"),
        b',',
        &["crmguard_row", "crmguard_reasons", "crmguard_ai_signals"],
    );
    assert_eq!(
        q,
        vec![vec!["2".to_string(), "CSV_INJECTION".into(), String::new()]]
    );

    // The log records the quarantined row only: a row for review is a clean row.
    let log = wd.read_string("crmguard-out/crmguard-audit.jsonl");
    let records: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3, "{log}");
    let scan = &records[0];
    assert_eq!(scan["type"], "scan");
    assert_eq!(scan["rows_clean"], 1);
    assert_eq!(scan["rows_quarantined"], 1);
    assert_eq!(scan["rows_total"], 2);
    assert_eq!(records[1]["type"], "row");
    assert_eq!(records[1]["row"], 2);
    assert_eq!(records[2]["type"], "commit");
    let out = wd.run(&["audit", "verify", "crmguard-out/crmguard-audit.jsonl"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_thorough_scan_quarantines_what_a_strict_one_passes() {
    let wd = Workdir::new();
    let texts = pool();
    let (strict, _) = detect(&wd, &texts, "strict");
    let (thorough, verdicts) = detect(&wd, &texts, "thorough");
    assert!(strict.review.is_none());
    assert!(thorough.quarantine < strict.quarantine);
    let (text, score) = pick(
        &texts,
        &verdicts,
        thorough.quarantine,
        strict.quarantine,
        "between",
    );
    wd.write("in.csv", csv_file(&[("Ann", &text)]));

    let scan = |args: &[&str]| {
        let mut all = vec!["scan", "-q"];
        all.extend(args);
        all.push("in.csv");
        let code = status(&wd.run(&all));
        (code, ai_text(&wd, "crmguard-out/in.report.json"))
    };
    let (code, ai) = scan(&["--sensitivity", "strict"]);
    assert_eq!(code, 0);
    assert_eq!(ai["rows_flagged"], 0);
    assert_eq!(ai["threshold"].as_f64().unwrap(), strict.quarantine);

    let (code, ai) = scan(&["--sensitivity", "thorough"]);
    assert_eq!(code, 1);
    assert_eq!(ai["sensitivity"], "thorough");
    assert_eq!(ai["threshold"].as_f64().unwrap(), thorough.quarantine);
    assert_eq!(ai["review_threshold"].as_f64(), thorough.review);
    let q = quarantine_cells(
        &wd.read("crmguard-out/in.quarantine.csv"),
        b',',
        &["crmguard_reasons", "crmguard_ai_score"],
    );
    assert_eq!(q[0][0], "UNDISCLOSED_AI_TEXT");
    assert!((q[0][1].parse::<f64>().unwrap() - score).abs() < 1e-3);

    // The policy's preset, the flag over it, and a threshold over both.
    wd.write("thorough.toml", "[detector]\nsensitivity = \"thorough\"\n");
    let (code, ai) = scan(&["-p", "thorough.toml"]);
    assert_eq!((code, ai["sensitivity"].clone()), (1, "thorough".into()));
    let (code, ai) = scan(&["-p", "thorough.toml", "--sensitivity", "strict"]);
    assert_eq!((code, ai["sensitivity"].clone()), (0, "strict".into()));
    wd.write(
        "raised.toml",
        format!(
            "[detector]\nsensitivity = \"thorough\"\nthreshold = {}\n",
            strict.quarantine
        ),
    );
    let (code, ai) = scan(&["-p", "raised.toml"]);
    assert_eq!(code, 0);
    assert_eq!(ai["threshold"].as_f64().unwrap(), strict.quarantine);
    assert_eq!(ai["review_threshold"].as_f64(), thorough.review);
    assert_eq!(ai["rows_review"], 1, "above thorough's review threshold");
    // A threshold at or below the preset's review threshold leaves no tier.
    let review = thorough.review.unwrap();
    wd.write(
        "low.toml",
        format!("[detector]\nsensitivity = \"thorough\"\nthreshold = {review}\n"),
    );
    let (code, ai) = scan(&["-p", "low.toml"]);
    assert_eq!(code, 1);
    assert!(ai["review_threshold"].is_null(), "{ai}");
}

#[test]
fn bad_thresholds_are_located_errors() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        csv_file(&[("Ann", "a note long enough to be judged as prose here")]),
    );
    let (balanced, _) = detect(&wd, &["x".to_string()], "balanced");
    let cases = [
        (
            "[detector]\nthreshold = 0.5\nreview_threshold = 0.7\n".to_string(),
            "p.toml:3:1: [detector] review_threshold 0.7 is not below threshold 0.5",
        ),
        (
            "# the review_threshold must sit below threshold\n[detector]\nreview_threshold = 1.5\n"
                .to_string(),
            "p.toml:3:1: [detector] review_threshold 1.5 is not in [0, 1]",
        ),
        (
            "[detector]\nsensitivity = \"medium\"\n".to_string(),
            "p.toml:2:15: unknown variant `medium`, expected one of `strict`, `balanced`, `thorough`",
        ),
        (
            // Above the balanced preset's quarantine threshold (asserted
            // below): only the model knows that one, yet the error still
            // points at the key.
            "[detector]\n\nreview_threshold = 0.99\n".to_string(),
            "p.toml:3:1: [detector] review_threshold 0.99 is not below the quarantine threshold",
        ),
    ];
    assert!(balanced.quarantine < 0.99, "{}", balanced.quarantine);
    for (policy, expected) in &cases {
        wd.write("p.toml", policy);
        for cmd in [
            vec!["scan", "-p", "p.toml", "in.csv"],
            vec!["detect", "-p", "p.toml", "some text"],
            vec!["eval", "-p", "p.toml", "labelled.csv"],
        ] {
            let out = wd.run(&cmd);
            assert_eq!(status(&out), 2, "{cmd:?} {policy}");
            let err = stderr(&out);
            assert!(err.contains(expected), "{cmd:?} {policy}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
    }
    assert!(
        wd.list("crmguard-out").is_empty(),
        "no outputs on a bad policy"
    );
    let out = wd.run(&["scan", "--sensitivity", "medium", "in.csv"]);
    assert_eq!(status(&out), 2);
}

#[test]
fn one_thread_and_four_list_the_same_rows_for_review() {
    let wd = Workdir::new();
    let reviews: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("samples/reviews.json")).unwrap())
            .unwrap();
    // Past one batch (4,096 records), so rows for review come from several.
    let mut ndjson = String::new();
    for _ in 0..25 {
        for r in reviews.as_array().unwrap() {
            ndjson.push_str(&serde_json::to_string(r).unwrap());
            ndjson.push('\n');
        }
    }
    wd.write("big.ndjson", ndjson);
    let mut reports = Vec::new();
    for j in ["1", "4"] {
        let (jobs, dir) = (format!("-j{j}"), format!("j{j}"));
        let now = "2026-06-01T00:00:00Z";
        // Thorough: the samples have rows in its review band (balanced's is empty
        // for them with the shipped model).
        let out = wd.run(&[
            "scan",
            "-q",
            &jobs,
            "-o",
            &dir,
            "--now",
            now,
            "--sensitivity",
            "thorough",
            "big.ndjson",
        ]);
        assert_eq!(status(&out), 1);
        reports.push(wd.report(&format!("{dir}/big.report.json")));
    }
    for name in ["big.clean.ndjson", "big.quarantine.ndjson"] {
        assert_eq!(
            wd.read(&format!("j1/{name}")),
            wd.read(&format!("j4/{name}"))
        );
    }
    let ai = &reports[0]["ai_text"];
    assert_eq!(ai, &reports[1]["ai_text"]);
    assert_counts_add_up(&reports[0]);
    let n = ai["rows_review"].as_u64().unwrap();
    assert!(n >= 25, "{n} rows for review");
    let rows: Vec<u64> = (ai["review"].as_array().unwrap().iter())
        .map(|r| r["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows.len() as u64, n);
    assert!(rows.windows(2).all(|w| w[0] < w[1]), "in input order");
    assert!(*rows.last().unwrap() > 4096);
}

#[test]
fn the_report_lists_the_first_thousand_rows_for_review_and_counts_all() {
    let wd = Workdir::new();
    let texts = pool();
    let (balanced, verdicts) = detect(&wd, &texts, "balanced");
    let (borderline, _) = pick(
        &texts,
        &verdicts,
        balanced.review.unwrap(),
        balanced.quarantine,
        "review",
    );
    let rows: Vec<(&str, &str)> = (0..1030).map(|_| ("Ann", borderline.as_str())).collect();
    wd.write("in.csv", csv_file(&rows));
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 0);
    assert!(
        stderr(&out).contains("the report lists the first 1000 rows for review"),
        "{}",
        stderr(&out)
    );
    let ai = ai_text(&wd, "crmguard-out/in.report.json");
    assert_eq!(ai["rows_review"], 1030);
    let listed = ai["review"].as_array().unwrap();
    assert_eq!(listed.len(), 1000);
    assert_eq!(listed[999]["row"], 1000);
}

#[test]
fn eval_reports_rates_at_the_presets_thresholds() {
    let wd = Workdir::new();
    let data = fixtures().join("detect/train_small.csv");
    let mut rdr = csv::Reader::from_path(&data).unwrap();
    let (texts, machine): (Vec<String>, Vec<bool>) = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), &r[1] == "machine")
        })
        .unzip();
    let data = data.to_str().unwrap();
    for sensitivity in ["strict", "balanced", "thorough"] {
        let (preset, verdicts) = detect(&wd, &texts, sensitivity);
        let out = wd.run(&["eval", "--json", "--sensitivity", sensitivity, data]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        let e: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(e["sensitivity"], sensitivity);
        assert_eq!(e["threshold"].as_f64().unwrap(), preset.quarantine);
        assert_eq!(e["review_threshold"].as_f64(), preset.review);
        // The counts `eval` gives, from the scores `detect` gives.
        let counts = |t: f64| {
            let mut c = [0u64; 4];
            for (v, m) in verdicts.iter().zip(&machine) {
                let above = v["score"].as_f64().unwrap() > t;
                c[match (above, m) {
                    (true, true) => 0,
                    (true, false) => 1,
                    (false, false) => 2,
                    (false, true) => 3,
                }] += 1;
            }
            c
        };
        let rates = |r: &Value| ["tp", "fp", "tn", "fn"].map(|k| r[k].as_u64().unwrap());
        assert_eq!(rates(&e), counts(preset.quarantine), "{sensitivity}");
        match preset.review {
            Some(r) => assert_eq!(rates(&e["at_review_threshold"]), counts(r)),
            None => assert!(e["at_review_threshold"].is_null()),
        }
    }
    // Without a flag, eval takes the preset of the policy in the directory.
    wd.write("crmguard.toml", "[detector]\nsensitivity = \"strict\"\n");
    let out = wd.run(&["eval", "--json", data]);
    let e: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["sensitivity"], "strict");
}
