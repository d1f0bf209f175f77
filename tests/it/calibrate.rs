//! `crmguard calibrate`: thresholds set from genuine texts, checked by the
//! command that applies them (`scan` under the printed policy lines).

use std::path::PathBuf;

use crate::common;

use common::{Workdir, fixtures, quarantine_cells, status, stderr, stdout};

/// The Michigan hotel reviews the repository ships: 8,582 human texts of 8
/// words or more beside GPT-4's, in ten languages.
fn michigan() -> PathBuf {
    fixtures()
        .join("../data/detect/michigan_multilingual_hotel_gpt4.csv.zst")
        .canonicalize()
        .unwrap()
}

/// A genuine review of the length the detector judges.
const STAY: &str = "The room was fine and the staff were friendly enough, though the \
                    breakfast ran out early on the second day we stayed there.";

/// Chat-model output pasted in: decisive for the detector.
const PASTED: &str = "Certainly! Here is a five-star review for the hotel: This hotel is a \
                      testament to modern hospitality and a joy to stay in every time.";

/// `calibrate ARGS --json` in `wd`, which must succeed, as parsed.
fn calibrated(wd: &Workdir, args: &[&str]) -> serde_json::Value {
    let out = wd.run(&[&["calibrate"], args, &["--json"]].concat());
    assert_eq!(status(&out), 0, "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn scan_holds_back_exactly_the_genuine_texts_calibrate_counted() {
    let wd = Workdir::new();
    // Declared human, so that a row is held back for its text alone and
    // the review tier (which lists clean rows) sees the rest.
    let mut rdr = csv::Reader::from_reader(
        zstd::Decoder::new(std::fs::File::open(michigan()).unwrap()).unwrap(),
    );
    let file = std::fs::File::create(wd.join("reviews.csv.zst")).unwrap();
    let mut w = csv::Writer::from_writer(zstd::Encoder::new(file, 3).unwrap().auto_finish());
    w.write_record(["text", "label", "is_synthetic", "data_source"])
        .unwrap();
    for r in rdr.deserialize::<std::collections::HashMap<String, String>>() {
        let r = r.unwrap();
        w.write_record([&r["text"], &r["label"], "false", "web"])
            .unwrap();
    }
    drop(w);
    let calibrate = |more: &[&str]| {
        let mut args = vec![
            "calibrate",
            "reviews.csv.zst",
            "--fpr",
            "1%",
            "--review-fpr",
            "3%",
        ];
        args.extend(more);
        let out = wd.run(&args);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        out
    };
    let text = stdout(&calibrate(&[]));
    let snippet = &text[text.find("[detector]\n").expect("policy lines")..];
    wd.write("crmguard.toml", snippet);
    let out = calibrate(&["--json"]);
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["rows"], 19_959);
    assert_eq!(c["genuine_judged"], 8_582);
    assert_eq!(c["text_columns"], serde_json::json!(["text"]));
    let above = c["quarantine"]["genuine_above"].as_u64().unwrap();
    let review_above = c["review"]["genuine_above"].as_u64().unwrap();
    // At most the share asked for, and not far under it: a threshold that
    // held back nothing would meet the target and be useless.
    assert!((80..=85).contains(&above), "{above}");
    assert!((240..=257).contains(&review_above), "{review_above}");
    // The policy written from the text output is the one in force now.
    let t = c["quarantine"]["threshold"].as_f64().unwrap();
    assert_eq!(c["in_force"]["threshold"].as_f64().unwrap(), t);

    // Scanned under those lines, the human rows quarantined for AI text are
    // exactly the ones calibrate counted, and the review tier lists the rest.
    let out = wd.run(&["scan", "reviews.csv.zst", "--fail-on", "never"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let q = quarantine_cells(
        &wd.read("crmguard-out/reviews.quarantine.csv"),
        b',',
        &["label", "crmguard_reasons"],
    );
    let held = |label: &str| {
        q.iter()
            .filter(|r| r[0] == label && r[1].contains("UNDISCLOSED_AI_TEXT"))
            .count() as u64
    };
    assert_eq!(held("human"), above);
    let report = wd.report("crmguard-out/reviews.report.json");
    // The lines name the model that scored the texts, and scan judged with it.
    assert_eq!(c["model"], report["ai_text"]["model"]);
    assert!(
        snippet.contains(&format!("calibrated_model = {}", c["model"])),
        "{snippet}"
    );
    let review = report["ai_text"]["rows_review"].as_u64().unwrap();
    let caught = c["quarantine"]["machine_caught"].as_f64().unwrap();
    let machine_judged = c["machine_judged"].as_f64().unwrap();
    assert_eq!(held("machine"), (caught * machine_judged).round() as u64);
    // The review tier lists clean rows only: those above the review
    // threshold, less the few quarantined for another reason alone.
    let machine_review = c["review"]["machine_caught"].as_f64().unwrap() * machine_judged;
    let expected = review_above + machine_review.round() as u64;
    let other = q
        .iter()
        .filter(|r| !r[1].contains("UNDISCLOSED_AI_TEXT"))
        .count() as u64;
    let listed = review + above + held("machine");
    assert!(other < 5, "{other}");
    assert!(
        listed <= expected && listed + other >= expected,
        "{listed} {expected}"
    );
}

#[test]
fn every_row_is_genuine_without_a_label_column() {
    let wd = Workdir::new();
    let text = STAY;
    let mut csv = String::from("Description\n");
    for i in 0..150 {
        csv.push_str(&format!("\"Stay number {i}: {text}\"\n"));
    }
    wd.write("genuine.csv", &csv);
    let out = wd.run(&[
        "calibrate",
        "genuine.csv",
        "--text-column",
        "description",
        "--json",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (c["genuine_judged"].as_u64(), c["machine"].as_u64()),
        (Some(150), Some(0))
    );
    assert!(c["quarantine"]["machine_caught"].is_null());
    // 150 texts with nothing above bound the rate only at 2%: said, on stderr.
    assert!(stderr(&out).contains("warning: 150 genuine texts bound the rate"));
    // A label column named but absent is an error at the header.
    let out = wd.run(&[
        "calibrate",
        "genuine.csv",
        "--text-column",
        "description",
        "--label-column",
        "origin",
    ]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("genuine.csv:1:1: no column `origin`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_row_scores_the_highest_of_its_texts() {
    let wd = Workdir::new();
    let genuine = STAY;
    let pasted = PASTED;
    let mut csv = String::from("Description,Notes\n");
    for i in 0..200 {
        let notes = if i % 20 == 0 { pasted } else { "called back" };
        csv.push_str(&format!("\"Stay {i}: {genuine}\",\"{notes}\"\n"));
    }
    wd.write("two.csv", &csv);
    let threshold = |columns: &[&str]| {
        let mut args = vec!["two.csv", "--fpr", "1%"];
        for c in columns {
            args.extend(["--text-column", c]);
        }
        let c = calibrated(&wd, &args);
        assert_eq!(c["genuine_judged"], 200);
        c["quarantine"]["threshold"].as_f64().unwrap()
    };
    // The ten pasted notes are genuine rows' too, and score as chat-model
    // output: named, they push the threshold up to where scan would hold
    // back those rows no more than 1% of the time.
    let description = threshold(&["Description"]);
    let both = threshold(&["Description", "Notes"]);
    assert!(description < 0.5, "{description}");
    assert!(both > 0.99, "{both}");
}

#[test]
fn calibrate_refuses_what_it_cannot_honour() {
    let wd = Workdir::new();
    let known = fixtures().join("detect/eval_known.csv");
    let known = known.to_str().unwrap();
    let one_line = |args: &[&str], want: &str| {
        let out = wd.run(args);
        assert_eq!(status(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    };
    // Too few genuine texts to say anything at 0.5%.
    one_line(
        &[
            "calibrate",
            known,
            "--text-column",
            "review",
            "--label-column",
            "origin",
            "--positive",
            "ai",
        ],
        "at least 100 genuine texts of 8 words or more; these hold 20 (and 10 rows labelled machine",
    );
    // A bare number could mean 0.5% or 50%.
    one_line(&["calibrate", known, "--fpr", "0.5"], "write it with a %");
    // The review tier's default rate is not above this one: say so, and how.
    one_line(
        &["calibrate", known, "--fpr", "3%"],
        "--fpr 3% is not below the review tier's default rate of 2%",
    );
    one_line(
        &["calibrate", known, "--positive", " "],
        "the machine label cannot be blank",
    );
    // The same file twice would count its texts twice.
    one_line(
        &["calibrate", known, known],
        "eval_known.csv is given twice (itself, or also through its folder)",
    );
    // Through another name for it, and through its folder.
    std::fs::create_dir(wd.path().join("set")).unwrap();
    std::fs::copy(known, wd.path().join("set/k.csv")).unwrap();
    std::os::unix::fs::symlink("set/k.csv", wd.path().join("link.csv")).unwrap();
    one_line(
        &["calibrate", "set/k.csv", "link.csv"],
        "set/k.csv and link.csv are the same file: give it once",
    );
    one_line(
        &["calibrate", "set/k.csv", "set"],
        "set/k.csv is given twice",
    );
    one_line(&["calibrate", "-", "-"], "- is given twice");
    // Two columns by the name asked for: which holds the text is a guess.
    wd.write("twice.csv", "text,Text\n\"a\",\"b\"\n");
    one_line(
        &["calibrate", "twice.csv"],
        "twice.csv:1:1: columns 1 and 2 are both `Text`: rename one",
    );
    // A row short of a field is not a text too short to judge.
    wd.write(
        "short.csv",
        "text,label\n\"a text\",human\nonly one field\n",
    );
    one_line(
        &["calibrate", "short.csv"],
        "short.csv:3:1: 1 field where the header has 2",
    );
    one_line(&["calibrate", known, "--fpr", "60%"], "below 50%");
    one_line(
        &["calibrate", known, "--fpr", "2%", "--review-fpr", "1%"],
        "--review-fpr 1% is not above --fpr 2%",
    );
}

/// 150 copies of one genuine text: they tie, so no review threshold can
/// sit below the quarantine one.
fn tied(wd: &Workdir) {
    let text = STAY;
    let mut csv = String::from("text,is_synthetic,data_source\n");
    for _ in 0..150 {
        csv.push_str(&format!("\"{text}\",false,web\n"));
    }
    wd.write("tied.csv", &csv);
}

#[test]
fn without_a_review_tier_the_printed_lines_turn_it_off() {
    let wd = Workdir::new();
    tied(&wd);
    let out = wd.run(&["calibrate", "tied.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("no review tier: at 2% the review threshold comes out at the quarantine"),
        "{text}"
    );
    // The column calibrated on is pinned: scan would otherwise judge every
    // prose column it finds.
    assert!(text.contains("\ntext_columns = [\"text\"]\n"), "{text}");
    wd.write("crmguard.toml", &text[text.find("[detector]\n").unwrap()..]);
    // Under the lines as printed, no genuine row is held back or listed:
    // the preset's own review threshold would have listed them all.
    let out = wd.run(&["scan", "tied.csv", "--fail-on", "warning"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let r = wd.report("crmguard-out/tied.report.json");
    assert_eq!(r["ai_text"]["rows_review"], 0);
    assert_eq!(r["ai_text"]["rows_flagged"], 0);
    assert!(r["ai_text"]["review_threshold"].is_null());
    // `--review-fpr none` asks for the same, and says why there is none.
    let c = calibrated(&wd, &["tied.csv", "--review-fpr", "none"]);
    assert!(c["review"].is_null());
    assert_eq!(c["no_review"], "--review-fpr none");
    // A policy with a review_threshold of its own is told to drop it.
    wd.write("r.toml", "[detector]\nreview_threshold = 0.5\n");
    let out = wd.run(&["calibrate", "tied.csv", "-p", "r.toml"]);
    assert!(
        stdout(&out).contains("delete the table's review_threshold"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn text_columns_come_from_the_policy_and_stdin_is_read_once() {
    let wd = Workdir::new();
    tied(&wd);
    let csv = wd.read_string("tied.csv").replace("text,", "Body,");
    wd.write("body.csv", &csv);
    wd.write("crmguard.toml", "[detector]\ntext_columns = [\"body\"]\n");
    let out = wd.run(&["calibrate", "body.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    // Named by the policy already: not pinned again.
    assert!(!stdout(&out).contains("text_columns"), "{}", stdout(&out));
    // Two columns from one pipe: a second read of stdin would find nothing.
    let out = wd
        .command(&[
            "calibrate",
            "-",
            "--text-column",
            "body",
            "--text-column",
            "data_source",
        ])
        .write_stdin(csv)
        .output()
        .unwrap();
    assert_eq!(status(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_label_column_without_the_machine_label_is_named() {
    let wd = Workdir::new();
    tied(&wd);
    let csv = wd.read_string("tied.csv").replace("is_synthetic", "label");
    wd.write("zero_one.csv", csv.replace(",false,", ",0,"));
    let out = wd.run(&["calibrate", "zero_one.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no row's `label` is `machine` (it holds `0`)"),
        "{}",
        stderr(&out)
    );
    // A file labelled human throughout is what calibrate wants: no warning.
    wd.write("human.csv", csv.replace(",false,", ",human,"));
    let out = wd.run(&["calibrate", "human.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("warning: no row"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rows_disclosed_as_synthetic_are_left_out_as_scan_leaves_them() {
    let wd = Workdir::new();
    tied(&wd);
    let pasted = PASTED;
    let mut csv = wd.read_string("tied.csv");
    for _ in 0..40 {
        csv.push_str(&format!("\"{pasted}\",true,ai_generated\n"));
    }
    wd.write("mixed.csv", &csv);
    let json = |file: &str| calibrated(&wd, &[file, "--fpr", "1%"]);
    let (alone, mixed) = (json("tied.csv"), json("mixed.csv"));
    assert_eq!(
        (mixed["rows"].as_u64(), mixed["disclosed"].as_u64()),
        (Some(190), Some(40))
    );
    assert_eq!(mixed["genuine_judged"], 150);
    // The disclosed chat-model text does not raise the threshold.
    assert_eq!(
        mixed["quarantine"]["threshold"],
        alone["quarantine"]["threshold"]
    );
}

#[test]
fn tiny_rates_print_as_what_they_are() {
    let wd = Workdir::new();
    tied(&wd);
    let out = wd.run(&[
        "calibrate",
        "tied.csv",
        "--fpr",
        "0.002%",
        "--review-fpr",
        "0.004%",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("quarantine (0.002%)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("over twice the 0.002% asked for"),
        "{}",
        stderr(&out)
    );
}

/// A rate asked for with many digits keeps its label apart from the
/// threshold beside it, and one too small for 24 decimals is not shown as
/// the 0% nobody can ask for.
#[test]
fn long_and_minute_rates_keep_the_table_readable() {
    let wd = Workdir::new();
    tied(&wd);
    let out = wd.run(&["calibrate", "tied.csv", "--fpr", "0.0000001%"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.starts_with("quarantine ("))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.starts_with("quarantine (0.0000001%)  "), "{text}");
    let header = text.lines().find(|l| l.contains("threshold")).unwrap();
    let thr = line.len() - line["quarantine (0.0000001%)".len()..].trim_start().len();
    assert_eq!(header.find("threshold"), Some(thr), "{text}");

    let out = wd.run(&["calibrate", "tied.csv", "--fpr", "1e-30%"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("quarantine (1e-30%)  "),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("over twice the 1e-30% asked for"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_and_json_lines_read_as_csv_does() {
    let wd = Workdir::new();
    tied(&wd);
    let pasted = PASTED;
    let mut csv = wd.read_string("tied.csv");
    let mut lines = String::new();
    for _ in 0..150 {
        lines.push_str(&format!(
            "{{\"text\":\"{STAY}\",\"is_synthetic\":false,\"data_source\":\"web\"}}\n"
        ));
    }
    // Disclosed as a JSON boolean: left out, as scan leaves it.
    for _ in 0..10 {
        csv.push_str(&format!("\"{pasted}\",true,ai_generated\n"));
        lines.push_str(&format!(
            "{{\"text\":\"{pasted}\",\"is_synthetic\":true,\"data_source\":\"ai_generated\"}}\n"
        ));
    }
    wd.write("all.csv", &csv);
    wd.write("all.ndjson", &lines);
    let array: Vec<&str> = lines.lines().collect();
    wd.write("all.json", format!("[{}]", array.join(",\n")));
    let json = |file: &str| {
        let out = wd.run(&["calibrate", file, "--fpr", "1%", "--json"]);
        assert_eq!(status(&out), 0, "{file}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let want = json("all.csv");
    assert!(want.contains("\"disclosed\": 10"), "{want}");
    assert_eq!(json("all.ndjson"), want);
    assert_eq!(json("all.json"), want);
    // A line that is not an object, and a key no record has, are errors.
    wd.write("bad.ndjson", format!("{}\n[1, 2]\n", array[0]));
    let out = wd.run(&["calibrate", "bad.ndjson"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("bad.ndjson:2:1: not a JSON object"),
        "{}",
        stderr(&out)
    );
    let out = wd.run(&["calibrate", "all.ndjson", "--text-column", "body"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("all.ndjson: no record has the key `body`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn thresholds_calibrated_for_another_model_are_refused_until_calibrated_again() {
    let wd = Workdir::new();
    wd.write("texts.csv", format!("text\n\"{STAY}\"\n\"{PASTED}\"\n"));
    let other = "0".repeat(64);
    let toml = format!("[detector]\ncalibrated_model = \"{other}\"\nthreshold = 0.5\n");
    wd.write("crmguard.toml", &toml);
    let refused = |args: &[&str]| {
        let out = wd.run(args);
        assert_eq!(status(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains("crmguard.toml:2:1: [detector] calibrated_model: the thresholds were set for the model 000000000000…, and this run's is the built-in model"),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    };
    refused(&["scan", "texts.csv"]);
    refused(&["detect", STAY]);
    refused(&[
        "eval",
        fixtures().join("detect/eval_known.csv").to_str().unwrap(),
        "--text-column",
        "review",
        "--label-column",
        "origin",
        "--positive",
        "ai",
    ]);
    assert!(!wd.join("crmguard-out").exists());
    // Calibrating again is how a policy moves to the model in use.
    let c = calibrated(&wd, &[michigan().to_str().unwrap()]);
    let id = c["model"].as_str().unwrap();
    assert_eq!(id.len(), 64);
    wd.write("crmguard.toml", toml.replace(&other, &id.to_uppercase()));
    let out = wd.run(&["scan", "texts.csv", "--fail-on", "never"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let report = wd.report("crmguard-out/texts.report.json");
    assert_eq!(report["ai_text"]["model"], id);
    // Not a model's blake3: refused where it is written.
    wd.write("crmguard.toml", "[detector]\ncalibrated_model = \"a6b7\"\n");
    let out = wd.run(&["scan", "texts.csv"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("crmguard.toml:2:1: [detector] calibrated_model `a6b7` is not a model's blake3 (64 hex digits)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn apply_writes_the_thresholds_into_the_policy_keeping_the_rest() {
    let wd = Workdir::new();
    let before = "# reviewed by legal, 2026-11\n[synthetic]\nallow = true  # our own generator\n\n\
                  [detector]\n# tuned by hand\nreview_threshold = 0.8\n";
    wd.write("crmguard.toml", before);
    wd.write("texts.csv", format!("text\n\"{STAY}\"\n"));
    let michigan = michigan();
    let apply = || calibrated(&wd, &[michigan.to_str().unwrap(), "--apply"]);
    let c = apply();
    let after = wd.read_string("crmguard.toml");
    assert!(
        after.starts_with(&before[..before.find("review_threshold").unwrap()]),
        "{after}"
    );
    let threshold = c["quarantine"]["threshold"].as_f64().unwrap();
    for line in [
        format!("threshold = {}", c["quarantine"]["threshold"]),
        format!("review_threshold = {}", c["review"]["threshold"]),
        format!("calibrated_model = {}", c["model"]),
        "text_columns = [\"text\"]".to_string(),
    ] {
        assert!(after.lines().any(|l| l == line), "{line}\n{after}");
    }
    // Applied again, nothing changes; and scan judges with what was written.
    apply();
    assert_eq!(wd.read_string("crmguard.toml"), after);
    let out = wd.run(&["scan", "texts.csv", "--fail-on", "never"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let report = wd.report("crmguard-out/texts.report.json");
    assert_eq!(report["ai_text"]["threshold"].as_f64().unwrap(), threshold);
    assert_eq!(report["policy"]["found_by"], "discovered");
}

#[test]
fn apply_with_a_model_of_ones_own_names_that_model_too() {
    let wd = Workdir::new();
    let data = fixtures().join("detect/train_small.csv");
    let out = wd.run(&["train", "--data", data.to_str().unwrap(), "--out", "m.bin"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    wd.write("texts.csv", format!("text\n\"{STAY}\"\n"));
    let michigan = michigan();
    let c = calibrated(
        &wd,
        &[michigan.to_str().unwrap(), "--model", "m.bin", "--apply"],
    );
    let policy = wd.read_string("crmguard.toml");
    let file = wd.join("m.bin");
    assert!(
        policy.contains(&format!("model = {}", serde_json::json!(file))),
        "{policy}"
    );
    // Scan judges with that model, so the thresholds are not refused.
    let out = wd.run(&["scan", "texts.csv", "--fail-on", "never"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let report = wd.report("crmguard-out/texts.report.json");
    assert_eq!(report["ai_text"]["model"], c["model"]);
    // The printed lines name it as --apply writes it.
    let out = wd.run(&["calibrate", michigan.to_str().unwrap(), "--model", "m.bin"]);
    let lines = stdout(&out);
    assert!(
        lines.contains(&format!("\nmodel = {}\n", serde_json::json!(file))),
        "{lines}"
    );
}
