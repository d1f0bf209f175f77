//! The AI-text detector through the binary: `detect`, `eval` on fixtures
//! with known answers, `train`, and how `scan` reports what it judged.

use crate::common;

use common::{Workdir, fixtures, quarantine_cells, status, stderr};

const PASTED: &str = "Certainly! Here is a five-star review for the blender: This blender is a testament to modern kitchen design and a joy to use every day.";
const GENUINE: &str = "we stayed 3 nights, the room was ok but breakfast was cold and the lift broke twice so we took the stairs";

#[test]
fn detect_scores_and_explains() {
    let wd = Workdir::new();
    let out = wd.run(&["detect", PASTED]);
    assert_eq!(status(&out), 1, "flagged text exits 1");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("machine-written"), "{text}");
    assert!(text.contains("artefact"), "{text}");

    let out = wd.run(&["detect", "--json", GENUINE]);
    assert_eq!(status(&out), 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["judged"], true);
    assert_eq!(v["flagged"], false);
    assert!(v["score"].as_f64().unwrap() < v["threshold"].as_f64().unwrap());

    // Short texts are not judged.
    let out = wd.run(&["detect", "Great stay!"]);
    assert_eq!(status(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("not judged"));

    // stdin, one text per line.
    let out = wd
        .command(&["detect", "--lines", "--json"])
        .write_stdin(format!("{PASTED}\n{GENUINE}\n"))
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["flagged"], true);
    assert_eq!(lines[1]["flagged"], false);
}

#[test]
fn detect_reads_stdin_where_dash_stands_and_names_bad_bytes() {
    let wd = Workdir::new();
    let json_lines = |out: std::process::Output| -> Vec<serde_json::Value> {
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // `-` among the texts: stdin's lines are scored in its place, in order.
    let out = wd
        .command(&["detect", "--json", "--lines", GENUINE, "-", GENUINE])
        .write_stdin(format!("{PASTED}\n{GENUINE}\n"))
        .output()
        .unwrap();
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let flagged: Vec<bool> = json_lines(out)
        .iter()
        .map(|v| v["flagged"].as_bool().unwrap())
        .collect();
    assert_eq!(flagged, [false, true, false, false]);

    // `-` alone is one text, as no text at all is.
    let out = wd
        .command(&["detect", "--json", "-"])
        .write_stdin(format!("{PASTED}\n{GENUINE}\n"))
        .output()
        .unwrap();
    assert_eq!(json_lines(out).len(), 1);

    for (args, want) in [
        (&["detect", "-", "-"][..], "`-` (stdin) is given 2 times"),
        (&["detect", "--lines", GENUINE][..], "--lines splits stdin"),
    ] {
        let out = wd.command(args).write_stdin("x\n").output().unwrap();
        assert_eq!(status(&out), 2);
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }

    // Invalid UTF-8 on the second line, after two characters: named where it is.
    let out = wd
        .command(&["detect"])
        .write_stdin(&b"first line\nab\xff cd\n"[..])
        .output()
        .unwrap();
    assert_eq!(status(&out), 2);
    assert_eq!(
        stderr(&out).trim_end(),
        "crmguard: error: stdin:2:3: invalid UTF-8"
    );
}

/// Waits for `child` to exit, for at most `secs` seconds.
fn exited_within(child: &mut std::process::Child, secs: u64) -> Option<std::process::ExitStatus> {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[test]
fn detect_lines_streams_stdin_and_stops_when_stdout_closes() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let wd = Workdir::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crmguard"))
        .current_dir(wd.path())
        .args(["detect", "--lines", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break; // the test dropped its end: stdout closes with this thread
            }
        }
    });

    // One line in, with stdin left open: its verdict comes out before any more
    // is sent (reading all of stdin first would wait here for ever).
    writeln!(stdin, "{PASTED}").unwrap();
    stdin.flush().unwrap();
    let first = rx.recv_timeout(Duration::from_secs(60));
    let first = match first {
        Ok(line) => line,
        Err(_) => {
            child.kill().unwrap();
            panic!("no verdict for the first line while stdin stays open");
        }
    };
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["flagged"], true);
    writeln!(stdin, "{GENUINE}").unwrap();
    stdin.flush().unwrap();
    let second: serde_json::Value =
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(60)).unwrap()).unwrap();
    assert_eq!(second["flagged"], false);

    // Then an endless stdin (`yes | crmguard detect --lines`) whose reader of
    // stdout goes away: detect stops reading and exits by itself.
    let feeder = std::thread::spawn(move || while writeln!(stdin, "{GENUINE}").is_ok() {});
    rx.recv_timeout(Duration::from_secs(60)).unwrap();
    drop(rx);
    let Some(status) = exited_within(&mut child, 60) else {
        child.kill().unwrap();
        panic!("detect kept reading an endless stdin after stdout closed");
    };
    feeder.join().unwrap();
    // A closed stdout is not worth a word; a text was flagged.
    assert_eq!(status.code(), Some(1));
}

#[test]
fn detect_refuses_a_stdin_line_or_text_over_max_record_bytes() {
    let wd = Workdir::new();
    wd.write("limit.toml", "[limits]\nmax_record_bytes = 200\n");
    let long = "word ".repeat(41); // 205 bytes
    let out = wd
        .command(&["detect", "-p", "limit.toml", "--lines", "--json"])
        .write_stdin(format!("{PASTED}\n{long}\n{GENUINE}\n"))
        .output()
        .unwrap();
    assert_eq!(status(&out), 2);
    assert_eq!(
        stderr(&out),
        "crmguard: error: stdin:2:1: the line starting here is over 200 bytes \
         ([limits] max_record_bytes)\n"
    );
    // The line before it was scored and printed as it came.
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);

    // Without --lines, stdin is one text, under the same limit; nothing is
    // printed, not even the texts before `-`.
    let out = wd
        .command(&["detect", "-p", "limit.toml", GENUINE, "-"])
        .write_stdin(format!("{GENUINE}\n{GENUINE}\n"))
        .output()
        .unwrap();
    assert_eq!(status(&out), 2);
    assert_eq!(
        stderr(&out),
        "crmguard: error: stdin:1:1: the text starting here is over 200 bytes \
         ([limits] max_record_bytes); --lines scores each line as its own text\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn detect_lines_names_the_stdin_line_with_bad_utf8() {
    let wd = Workdir::new();
    let mut input = format!("{PASTED}\n{GENUINE}\n").into_bytes();
    input.extend_from_slice(b"ab\xff cd\n");
    input.extend_from_slice(format!("{PASTED}\n").as_bytes());
    let out = wd
        .command(&["detect", "--lines", "--json", GENUINE, "-", PASTED])
        .write_stdin(input)
        .output()
        .unwrap();
    // Line 3 of stdin, not line 4 of the output: the argument before `-` is
    // not a stdin line. What came before it stays printed; the status says
    // error, not what was flagged.
    assert_eq!(status(&out), 2);
    assert_eq!(stderr(&out), "crmguard: error: stdin:3:3: invalid UTF-8\n");
    let flagged: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["flagged"].clone())
        .collect();
    assert_eq!(flagged, [false, true, false]);
}

#[test]
fn lexicon_signals_name_their_phrases_longest_first() {
    let text = "We delve into a rich tapestry of hospitality. This hotel is a testament to \
                care and it truly elevates every stay. This is seamless.";
    let v = detect_json(&Workdir::new(), text);
    let signals = v["signals"].as_array().unwrap();
    let lexicon: Vec<&serde_json::Value> =
        signals.iter().filter(|s| s["family"] == "phrase").collect();
    assert!(lexicon.len() >= 2, "{v}");
    let lower = text.to_lowercase();
    for s in lexicon {
        let phrases: Vec<&str> = s["phrases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert!((1..=3).contains(&phrases.len()), "{s}");
        assert!(
            phrases.windows(2).all(|w| w[0].len() >= w[1].len()),
            "most specific first: {s}"
        );
        let detail = s["detail"].as_str().unwrap();
        assert!(detail.starts_with(s["name"].as_str().unwrap()), "{s}");
        for p in &phrases {
            assert!(lower.contains(p), "{p} is not in the text");
            assert!(detail.contains(&format!("\"{p}\"")), "{s}");
        }
    }
    // Kobak's list matches five words of this text, "this" among them: the three
    // longest are shown and the other two counted.
    let kobak = signals
        .iter()
        .find(|s| s["name"] == "kobak excess words")
        .expect("kobak signal");
    assert!(
        kobak["detail"].as_str().unwrap().contains("more)"),
        "{kobak}"
    );
    assert!(
        !kobak["phrases"]
            .as_array()
            .unwrap()
            .contains(&"this".into())
    );
}

/// Every machine row of eval_known.csv carries a decisive chat artefact and
/// every human row is a genuine review, so the answer is known: perfect
/// separation at the shipped threshold.
#[test]
fn eval_on_a_fixture_with_a_known_answer() {
    let wd = Workdir::new();
    let file = fixtures().join("detect/eval_known.csv");
    let args = [
        "eval",
        file.to_str().unwrap(),
        "--text-column",
        "review",
        "--label-column",
        "origin",
        "--positive",
        "ai",
    ];
    let out = wd.run(&[&args[..], &["--json"]].concat());
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "n",
        "auroc",
        "tpr_at_1pct_fpr",
        "tpr_at_5pct_fpr",
        "threshold",
        "precision",
        "recall",
        "fpr",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["n"], 30);
    assert_eq!(v["positives"], 10);
    assert_eq!(v["auroc"], 1.0);
    assert_eq!(v["tpr_at_1pct_fpr"], 1.0);
    assert_eq!(v["precision"], 1.0);
    // Two machine rows give themselves away only by what people write too (a
    // stock opener, a Markdown heading): evidence, not a verdict. Both read
    // machine-made to the model as well; with the evidence one scores above the
    // default threshold (0.903 against 0.839) and the other between it and the
    // review threshold (0.828; review above 0.763): quarantined and listed for
    // review. Every human row stays below both.
    assert_eq!(v["recall"], 0.9);
    assert_eq!(v["fpr"], 0.0);
    assert_eq!(v["at_review_threshold"]["recall"], 1.0);
    assert_eq!(v["at_review_threshold"]["fpr"], 0.0);

    // Text output carries the same numbers.
    let out = wd.run(&args);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("auroc             1.0000"), "{text}");
    assert!(text.contains("0 of 20 human texts flagged"), "{text}");

    // With the wrong positive label every row is human: the metrics that
    // need machine rows are undefined, not invented.
    let out = wd.run(&[
        "eval",
        file.to_str().unwrap(),
        "--text-column",
        "review",
        "--label-column",
        "origin",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["auroc"].is_null());
    assert!(v["recall"].is_null());
}

#[test]
fn eval_names_a_missing_column() {
    let wd = Workdir::new();
    let file = fixtures().join("detect/eval_known.csv");
    let out = wd.run(&["eval", file.to_str().unwrap()]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("eval_known.csv:1:1: no column `text`"),
        "{}",
        stderr(&out)
    );
}

/// One column named as both text and label would score the labels: eval
/// and train refuse it before reading a row.
#[test]
fn eval_and_train_refuse_one_column_as_text_and_label() {
    let wd = Workdir::new();
    wd.write(
        "d.csv",
        format!("text,label\n\"{PASTED}\",machine\n\"{GENUINE}\",human\n"),
    );
    for cmd in [
        &["eval", "d.csv", "--text-column", "label"][..],
        &[
            "train",
            "--data",
            "d.csv",
            "--out",
            "m.bin",
            "--label-column",
            "TEXT",
        ],
    ] {
        let out = wd.run(cmd);
        assert_eq!(status(&out), 2, "{cmd:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("the text column and the label column are both"),
            "{cmd:?}: {}",
            stderr(&out)
        );
        assert!(!wd.path().join("m.bin").exists());
    }
}

/// With no human text there is no false-positive rate to hold to: a true
/// positive rate "at 1% FPR" is not defined, not 100%.
#[test]
fn eval_without_human_texts_gives_no_rate_at_an_fpr() {
    let wd = Workdir::new();
    wd.write("m.csv", format!("text,label\n\"{PASTED}\",machine\n"));
    let out = wd.run(&["eval", "m.csv", "--json"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["negatives"], 0, "{e}");
    assert!(e["auroc"].is_null(), "{e}");
    assert!(e["tpr_at_1pct_fpr"].is_null(), "{e}");
    assert!(e["tpr_at_5pct_fpr"].is_null(), "{e}");
    let out = wd.run(&["eval", "m.csv"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("tpr_at_1pct_fpr   n/a\n"), "{text}");
}

/// A blank `--positive` would make every row nobody labelled machine text,
/// and one the file never uses would measure nothing: neither in silence.
#[test]
fn eval_and_train_refuse_a_blank_machine_label_and_eval_names_one_never_used() {
    let wd = Workdir::new();
    let (pasted, genuine) = (PASTED, GENUINE);
    wd.write(
        "d.csv",
        format!("text,label\n\"{pasted}\",machine\n\"{genuine}\",human\n\"{genuine}\",person\n"),
    );
    for cmd in [
        &["eval", "d.csv", "--positive", ""][..],
        &["eval", "d.csv", "--positive", " "],
        &[
            "train",
            "--data",
            "d.csv",
            "--out",
            "m.bin",
            "--positive",
            "",
        ],
    ] {
        let out = wd.run(cmd);
        assert_eq!(status(&out), 2, "{cmd:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("the machine label cannot be blank"),
            "{cmd:?}: {}",
            stderr(&out)
        );
    }
    assert!(!wd.join("m.bin").exists());
    let out = wd.run(&["eval", "d.csv", "--positive", "ai"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no row's `label` is `ai`: every row was counted human"),
        "{}",
        stderr(&out)
    );
    let out = wd.run(&["eval", "d.csv", "--positive", "human"]);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

/// A row nobody labelled is an error at its line in `eval` and `train`, not
/// a human text; `calibrate` reads it as genuine, as every unlabelled row.
#[test]
fn a_blank_or_missing_label_is_an_error_at_its_line() {
    let wd = Workdir::new();
    let (pasted, genuine) = (PASTED, GENUINE);
    // Record 3 starts on line 5: record 2 spans two lines.
    wd.write(
        "d.csv",
        format!(
            "text,label\n\"{pasted}\",machine\n\"{genuine}\n{genuine}\",human\n\"{genuine}\",  \n"
        ),
    );
    wd.write(
        "d.ndjson",
        format!("{{\"text\":\"{pasted}\",\"label\":\"machine\"}}\n{{\"text\":\"{genuine}\"}}\n"),
    );
    for (cmd, want) in [
        (
            &["eval", "d.csv"][..],
            "d.csv:5:1: record 3: its `label` is blank",
        ),
        (
            &["train", "--data", "d.csv", "--out", "m.bin"],
            "d.csv:5:1: record 3: its `label` is blank",
        ),
        (
            &["eval", "d.ndjson"],
            "d.ndjson:2:1: record 2: its `label` is blank",
        ),
    ] {
        let out = wd.run(cmd);
        assert_eq!(status(&out), 2, "{cmd:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{cmd:?}: {}", stderr(&out));
    }
    assert!(!wd.join("m.bin").exists());
    let out = wd.run(&["calibrate", "d.csv", "--label-column", "label"]);
    assert!(!stderr(&out).contains("is blank"), "{}", stderr(&out));
    // A file none of whose records has the key is still told so.
    wd.write("n.ndjson", format!("{{\"text\":\"{genuine}\"}}\n"));
    let out = wd.run(&["eval", "n.ndjson"]);
    assert!(
        stderr(&out).contains("no record has the key `label`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn labelled_files_are_read_as_scan_reads_csv() {
    let wd = Workdir::new();
    let known = std::fs::read(fixtures().join("detect/eval_known.csv")).unwrap();
    let cols = ["--text-column", "review", "--label-column", "origin"];
    let eval = |file: &str, more: &[&str]| {
        let out = wd.run(
            &[
                &["eval", file, "--positive", "ai", "--json"],
                &cols[..],
                more,
            ]
            .concat(),
        );
        (status(&out), stderr(&out), out.stdout)
    };
    // Compressed data is read decompressed, folders included, with the
    // same answer as the plain file.
    wd.write("known.csv", &known);
    wd.write("z/known.csv.zst", zstd::encode_all(&known[..], 3).unwrap());
    let (plain, _, want) = eval("known.csv", &[]);
    assert_eq!(plain, 0);
    for file in ["z/known.csv.zst", "z"] {
        let (code, err, got) = eval(file, &[]);
        assert_eq!((code, &got), (0, &want), "{file}: {err}");
    }
    // A quote that never closes swallowed every later row into one text.
    let mut broken = known.clone();
    let line = broken.iter().filter(|&&b| b == b'\n').count() + 1;
    broken.extend_from_slice(b"\"never closed,ai\nAs an AI language model I wrote this,ai\n");
    wd.write("broken.csv", &broken);
    let (code, err, _) = eval("broken.csv", &[]);
    assert_eq!(code, 2, "{err}");
    let want = format!("broken.csv:{line}:1: unterminated quoted field");
    assert!(err.contains(&want), "{err}");
    // Bytes that are not UTF-8: where they are.
    wd.write(
        "latin1.csv",
        b"review,origin\nok then,human\nnot \xe9t\xe9,ai\n",
    );
    let (code, err, _) = eval("latin1.csv", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("latin1.csv:3:5: invalid UTF-8"), "{err}");
    // A threshold is a score.
    for t in ["--threshold=nan", "--threshold=2", "--threshold=-0.5"] {
        let (code, err, _) = eval("known.csv", &[t]);
        assert_eq!(code, 2, "{t}: {err}");
        assert!(err.contains("is not a score from 0 to 1"), "{t}: {err}");
    }
}

#[test]
fn train_and_eval_do_not_write_over_what_they_read() {
    let wd = Workdir::new();
    let data = std::fs::read(fixtures().join("detect/train_small.csv")).unwrap();
    wd.write("d/train.csv", &data);
    for args in [
        &["train", "--data", "d/train.csv", "--out", "d/train.csv"][..],
        &["train", "--data", "d", "--out", "d/train.csv"],
        &[
            "train",
            "--data",
            "d",
            "--out",
            "m.bin",
            "--calibration-scores",
            "d/train.csv",
        ],
        &["eval", "d", "--scores", "d/train.csv"],
    ] {
        let out = wd.run(args);
        assert_eq!(status(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("refusing to write over the input d/train.csv"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read(wd.join("d/train.csv")).unwrap(),
            data,
            "{args:?}"
        );
    }
    let out = wd.run(&[
        "train",
        "--data",
        "d",
        "--out",
        "m.bin",
        "--calibration-scores",
        "m.bin",
    ]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("--out and --calibration-scores are the same file"));
    assert!(!wd.join("m.bin").exists());
}

#[test]
fn genuine_reviews_in_ten_languages_are_not_flagged() {
    let wd = Workdir::new();
    let file = fixtures().join("detect/human_multilingual.csv");
    let out = wd.run(&["eval", file.to_str().unwrap(), "--json"]);
    assert_eq!(status(&out), 0);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n"], 80);
    assert_eq!(v["fp"], 0, "a non-English human review was flagged");
}

#[test]
fn train_is_deterministic_and_its_model_is_used() {
    let wd = Workdir::new();
    let data = fixtures().join("detect/train_small.csv");
    let args = |out: &str| {
        vec![
            "train".to_string(),
            "--data".into(),
            data.to_str().unwrap().into(),
            "--source-column".into(),
            "source_dataset".into(),
            "--out".into(),
            out.into(),
        ]
    };
    let a: Vec<String> = args("a.bin");
    let out = wd.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("from 2 source(s)"),
        "{}",
        stderr(&out)
    );
    // A fixture's few rows: said to be too few to trust.
    assert!(
        stderr(&out).contains("too few to set thresholds"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("features: char 4-grams, word 1-2-grams"),
        "{}",
        stderr(&out)
    );
    let b: Vec<String> = args("b.bin");
    assert_eq!(
        status(&wd.run(&b.iter().map(String::as_str).collect::<Vec<_>>())),
        0
    );
    assert_eq!(wd.read("a.bin"), wd.read("b.bin"), "same data, same bytes");

    // The retrained model is what scan, detect and eval use when asked.
    wd.write("p.toml", "[detector]\nmodel = \"a.bin\"\n");
    wd.write(
        "in.csv",
        format!("Body,is_synthetic,data_source\n\"{GENUINE}\",no,web\n"),
    );
    assert_eq!(status(&wd.run(&["scan", "-p", "p.toml", "in.csv"])), 0);
    let r = wd.report("crmguard-out/in.report.json");
    assert_eq!(
        r["ai_text"]["model"],
        blake3::hash(&wd.read("a.bin")).to_hex().to_string()
    );
    assert_ne!(r["ai_text"]["model"], "in-memory");
    let v = detect_json_with(&wd, "a.bin", GENUINE);
    assert_eq!(v["judged"], true);

    // A file that is not a model is refused, with its name.
    wd.write("bad.bin", "not a model");
    let out = wd.run(&["detect", "--model", "bad.bin", GENUINE]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("bad magic"), "{}", stderr(&out));
}

#[test]
fn train_writes_the_held_out_scores_its_thresholds_came_from() {
    let wd = Workdir::new();
    let data = fixtures().join("detect/train_small.csv");
    let out = wd.run(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--source-column",
        "source_dataset",
        "--calibration-folds",
        "sources",
        "--calibration-scores",
        "cal.csv",
        "--out",
        "m.bin",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let cal = String::from_utf8(wd.read("cal.csv")).unwrap();
    let mut lines = cal.lines();
    assert_eq!(lines.next(), Some("source,label,words,fold,score"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 240, "one row per training text");
    // Each source held out on its own fold.
    let fold = |src: &str| {
        let f: std::collections::BTreeSet<&str> =
            rows.iter().filter(|r| r[0] == src).map(|r| r[3]).collect();
        assert_eq!(f.len(), 1, "{src}: {f:?}");
        f.into_iter().next().unwrap()
    };
    assert_ne!(fold("reviews_en"), fold("reviews_eu"));
    // The printed balanced threshold is where these scores put it: the
    // sources' shares of judged human texts above it, as printed.
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("balanced: quarantine above"))
        .unwrap();
    let t: f32 = line.split("quarantine above ").nth(1).unwrap()[..6]
        .parse()
        .unwrap();
    for src in ["reviews_en", "reviews_eu"] {
        let h: Vec<f32> = (rows.iter())
            .filter(|r| r[0] == src && r[1] == "human" && r[2].parse::<usize>().unwrap() >= 8)
            .map(|r| r[4].parse().unwrap())
            .collect();
        let above = h.iter().filter(|&&x| x > t + 5e-5).count();
        let at_most = h.iter().filter(|&&x| x > t - 5e-5).count();
        let shown = line.split(&format!("{src} ")).nth(1).map_or(0.0, |x| {
            x.split('%').next().unwrap().parse::<f64>().unwrap()
        });
        let pct = |n: usize| 100.0 * n as f64 / h.len() as f64;
        assert!(
            pct(above) - 0.01 <= shown && shown <= pct(at_most) + 0.01,
            "{src}: {shown}% printed, {}..{}% in cal.csv",
            pct(above),
            pct(at_most)
        );
    }
}

/// A held-out score file as `eval --scores` writes it: `humans` judged human
/// scores, then rows that must not count (machine, and too short to judge).
/// The human rows are texts of 60 words and the machine ones of 10, so no
/// length band holds both classes and the recalibration leaves every score as
/// it is (calibrate.rs tests it apart); each human score is its `decisive`
/// part, the model's log-odds adding next to nothing.
fn held_out_scores(humans: impl Iterator<Item = f32>) -> String {
    let mut s = String::from("row,score,judged,label,words,log_odds,evidence,decisive\n");
    let mut row = 0;
    let mut line = |score: f32, judged: bool, label: &str, words: usize| {
        row += 1;
        s.push_str(&format!(
            "{row},{score},{judged},{label},{words},-1000,0,{score}\n"
        ));
    };
    for x in humans {
        line(x, true, "human", 60);
    }
    for _ in 0..50 {
        line(1.0, true, "machine", 10);
        line(1.0, false, "human", 5);
    }
    s
}

#[test]
fn train_takes_its_thresholds_from_held_out_score_files() {
    let wd = Workdir::new();
    // Two sources of 1,000 judged human scores 0.000..0.999: a mean rate of
    // 0.5% above the threshold puts balanced at 0.994 (five above it in
    // each), strict (0.1%) at 0.998, thorough (2%) at 0.979; the review
    // tiers (2% and 5%) at 0.979 and 0.949.
    let grid = || (0..1000).map(|k| k as f32 / 1000.0);
    wd.write("a.scores.csv", held_out_scores(grid()));
    wd.write("b.scores.csv", held_out_scores(grid()));
    let out = train_small(
        &wd,
        "m.bin",
        &["--thresholds-from", "a.scores.csv", "b.scores.csv"],
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    for want in [
        "strict: quarantine above 0.9980; held-out human texts above it: a 0.10%, b 0.10%",
        "balanced: quarantine above 0.9940, review above 0.9790; held-out human texts above it: a 0.50%, b 0.50%",
        "thorough: quarantine above 0.9790, review above 0.9490;",
    ] {
        assert!(err.contains(want), "{want}\n{err}");
    }
    // The model scans with those thresholds, and differs from the one
    // calibration alone sets.
    wd.write(
        "in.csv",
        format!("Body,is_synthetic,data_source\n\"{GENUINE}\",no,web\n"),
    );
    wd.write("p.toml", "[detector]\nmodel = \"m.bin\"\n");
    assert_eq!(status(&wd.run(&["scan", "-p", "p.toml", "in.csv"])), 0);
    let r = wd.report("crmguard-out/in.report.json");
    assert!(
        (r["ai_text"]["threshold"].as_f64().unwrap() - 0.994).abs() < 1e-6,
        "{r}"
    );
    assert_eq!(status(&train_small(&wd, "plain.bin", &[])), 0);
    assert_ne!(wd.read("m.bin"), wd.read("plain.bin"));

    // A file `train` cannot use is named, with where and what is wrong, and
    // no model is written.
    let refused = |name: &str, content: &str, want: &str| {
        wd.write(name, content);
        let out = train_small(&wd, "x.bin", &["--thresholds-from", name]);
        assert_eq!(status(&out), 2);
        assert!(stderr(&out).contains(want), "{want}\n{}", stderr(&out));
        assert!(!wd.path().join("x.bin").exists(), "no model on an error");
    };
    // Not an `eval --scores` file.
    refused(
        "bad.scores.csv",
        "row,score,judged\n1,0.5,true\n",
        "bad.scores.csv:1:1: no column `label`",
    );
    // A bad value, by line and column.
    refused(
        "bad2.scores.csv",
        "row,score,judged,label,words,log_odds,evidence,decisive\n\
         1,0.5,true,human,30,0.1,0,0\n2,0.5,true,bot,30,0.1,0,0\n3,0.5,true,human,30,x,0,0\n",
        "bad2.scores.csv:3:4: the label is neither `human` nor `machine`",
    );
    // One from before scores came with their parts: to be scored again.
    refused(
        "old.scores.csv",
        "row,score,judged,label\n1,0.5,true,human\n",
        "old.scores.csv:1:1: no column `words`: written by an older",
    );
}

#[test]
fn eval_scores_feed_train_thresholds() {
    // `eval --scores` writes each row's label beside its score, which is
    // what `train --thresholds-from` reads: the round trip a retrain takes.
    let wd = Workdir::new();
    let data = fixtures().join("detect/train_small.csv");
    let out = wd.run(&[
        "eval",
        data.to_str().unwrap(),
        "--scores",
        "s.csv",
        "--json",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let text = String::from_utf8(wd.read("s.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("row,score,judged,label,words,log_odds,evidence,decisive")
    );
    let mut rdr = csv::Reader::from_path(&data).unwrap();
    let labels: Vec<String> = rdr
        .records()
        .map(|r| r.unwrap().get(1).unwrap().to_string())
        .collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), labels.len());
    let num = |x: &str| x.parse::<f64>().unwrap();
    for (r, l) in rows.iter().zip(&labels) {
        assert_eq!(r[3], if l == "machine" { "machine" } else { "human" });
        if r[2] != "true" {
            continue;
        }
        // The parts make the score as the scorer combines them.
        assert!(num(r[4]) >= 8.0, "{r:?}");
        let z = num(r[5]) + num(r[6]);
        let p = 1.0 / (1.0 + (-12.0 * (z / 12.0).tanh()).exp());
        let score = 1.0 - (1.0 - p) * (1.0 - num(r[7]));
        assert!((score - num(r[1])).abs() < 1e-5, "{r:?}: {score}");
    }
    let out = train_small(&wd, "m.bin", &["--thresholds-from", "s.csv"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    for want in [
        "length band under 20 words: held-out log-odds scaled by",
        "length band 50 words or more: held-out log-odds scaled by",
        "held-out human texts above it",
    ] {
        assert!(stderr(&out).contains(want), "{want}\n{}", stderr(&out));
    }
}

/// Trains on the small labelled fixture into `out`, with `options`.
fn train_small(wd: &Workdir, out: &str, options: &[&str]) -> std::process::Output {
    let data = fixtures().join("detect/train_small.csv");
    let data = data.to_str().unwrap();
    wd.run(&[&["train", "--data", data, "--out", out], options].concat())
}

/// Trains on the small fixture with `options`, which must be refused before
/// any training: exit 2, `want` in the error, and no model file.
fn train_small_refused(wd: &Workdir, options: &[&str], want: &str) {
    let out = train_small(wd, "bad.bin", options);
    assert_eq!(status(&out), 2, "{options:?}: {}", stderr(&out));
    assert!(stderr(&out).contains(want), "{want}\n{}", stderr(&out));
    assert!(!wd.join("bad.bin").exists(), "{options:?}");
}

/// What `detect --json` says of a text under the shipped model.
fn detect_json(wd: &Workdir, text: &str) -> serde_json::Value {
    let out = wd.run(&["detect", "--json", text]);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What `detect --json` says of a text under the model file `model`.
fn detect_json_with(wd: &Workdir, model: &str, text: &str) -> serde_json::Value {
    let out = wd.run(&["detect", "--model", model, "--json", text]);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The score of [`GENUINE`] under a model: a text no artefact rule decides,
/// so that the model's own part shows.
fn genuine_score(wd: &Workdir, model: &str) -> f64 {
    detect_json_with(wd, model, GENUINE)["score"]
        .as_f64()
        .unwrap()
}

/// The signals `detect` explains a text's score with, under a model.
fn signals(wd: &Workdir, model: &str, text: &str) -> Vec<serde_json::Value> {
    let v = detect_json_with(wd, model, text);
    assert_eq!(v["judged"], true, "{v}");
    v["signals"].as_array().unwrap().clone()
}

// Leaving out feature families: one test per family left out, each a
// training of its own, so that they run side by side.

#[test]
fn train_can_leave_out_char_ngrams() {
    let wd = Workdir::new();
    let out = train_small(&wd, "m.bin", &["--char-ngrams", "none"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("features: no char n-grams, word 1-2-grams"),
        "{}",
        stderr(&out)
    );
    // Without char n-grams, that family never explains a score.
    for text in [PASTED, GENUINE] {
        let s = signals(&wd, "m.bin", text);
        assert!(!s.iter().any(|s| s["name"] == "char n-grams"), "{s:?}");
    }
}

#[test]
fn train_can_leave_out_style_and_lexicons() {
    let wd = Workdir::new();
    let out = train_small(&wd, "plain.bin", &["--no-style", "--no-lexicons"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "features: char 4-grams, word 1-2-grams, no style, no lexicons, no word frequency, \
             no boosted trees"
        ),
        "{}",
        stderr(&out)
    );
    // Only n-grams (and artefact rules, which are not trained) can explain a score.
    for text in [PASTED, GENUINE] {
        let s = signals(&wd, "plain.bin", text);
        assert!(
            s.iter()
                .all(|s| s["family"] == "ngram" || s["family"] == "artefact"),
            "{s:?}"
        );
    }
}

#[test]
fn train_grows_boosted_trees_when_asked() {
    let wd = Workdir::new();
    let out = train_small(&wd, "trees.bin", &["--trees", "300"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(", 300 boosted trees"),
        "{}",
        stderr(&out)
    );
    let out = train_small(&wd, "linear.bin", &[]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(", no boosted trees"),
        "{}",
        stderr(&out)
    );
    // Without style features there is nothing for them to split on: said.
    let out = train_small(&wd, "no-style.bin", &["--trees", "300", "--no-style"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no boosted trees (they split on style and lexicons)"),
        "{}",
        stderr(&out)
    );
    // The trees are in the file, and they change scores.
    let (trees, linear) = (wd.read("trees.bin"), wd.read("linear.bin"));
    assert!(
        trees.len() > linear.len() + 300 * 12,
        "{} vs {}",
        trees.len(),
        linear.len()
    );
    assert_ne!(
        genuine_score(&wd, "trees.bin"),
        genuine_score(&wd, "linear.bin")
    );
}

#[test]
fn train_weighs_the_trees_as_asked() {
    let wd = Workdir::new();
    let out = train_small(&wd, "light.bin", &["--trees", "50", "--tree-blend", "0.2"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(", 50 boosted trees (weight 0.2)"),
        "{}",
        stderr(&out)
    );
    // Weighed at nothing, trees leave every score to the linear model.
    let out = train_small(&wd, "none.bin", &["--trees", "50", "--tree-blend", "0"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let out = train_small(&wd, "linear.bin", &[]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert_eq!(
        genuine_score(&wd, "none.bin"),
        genuine_score(&wd, "linear.bin")
    );
    assert_ne!(
        genuine_score(&wd, "light.bin"),
        genuine_score(&wd, "linear.bin")
    );
    // A weight the model file cannot hold is refused before any training.
    for bad in ["1.5", "-0.1", "NaN"] {
        let flag = format!("--tree-blend={bad}");
        let want = format!("`{bad}` is not a weight from 0 to 1");
        train_small_refused(&wd, &["--trees", "50", &flag], &want);
    }
    // A weight for trees nobody asked for is a mistake, not a no-op.
    train_small_refused(&wd, &["--tree-blend", "0.2"], "--trees <N>");
}

#[test]
fn train_bounds_the_trees_depth_as_asked() {
    let wd = Workdir::new();
    for (name, depth) in [("stumps.bin", "1"), ("deep.bin", "6")] {
        let out = train_small(&wd, name, &["--trees", "50", "--tree-depth", depth]);
        assert_eq!(status(&out), 0, "{}", stderr(&out));
    }
    let out = train_small(&wd, "linear.bin", &[]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    // A stump is a split and two leaves: three nodes of 10 bytes and a u16
    // count per tree, after the forest's weight, base and tree count; and the
    // model's meta line names the trees (under 100 bytes).
    let (stumps, deep, linear) = (
        wd.read("stumps.bin").len(),
        wd.read("deep.bin").len(),
        wd.read("linear.bin").len(),
    );
    assert!(stumps > linear, "{stumps} vs {linear}");
    assert!(
        stumps - linear <= 12 + 50 * (2 + 3 * 10) + 100,
        "{stumps} vs {linear}"
    );
    assert!(deep > stumps, "{deep} vs {stumps}");
    for bad in ["0", "9"] {
        train_small_refused(&wd, &["--trees", "50", "--tree-depth", bad], "--tree-depth");
    }
}

#[test]
fn train_refuses_char_ngrams_longer_than_five() {
    let wd = Workdir::new();
    train_small_refused(&wd, &["--char-ngrams", "2-7"], "`2-7` is not a range");
}

#[test]
fn train_weighs_sources_and_classes_as_asked() {
    let wd = Workdir::new();
    // The fixture is one source, named after its file.
    let out = train_small(&wd, "default.bin", &[]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let out = train_small(&wd, "other.bin", &["--source-weight", "elsewhere=5"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let out = train_small(
        &wd,
        "half.bin",
        &["--source-weight", "train_small/human=0.5"],
    );
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("source weights: salminen=0.3, train_small/human=0.5"),
        "{}",
        stderr(&out)
    );
    // A weight for a source that is not there changes nothing; one for this
    // source's human rows changes the model.
    assert_eq!(wd.read("other.bin"), wd.read("default.bin"));
    assert_ne!(
        genuine_score(&wd, "half.bin"),
        genuine_score(&wd, "default.bin")
    );
    // Weighing a whole class out leaves nothing to fit: refused, nothing written.
    train_small_refused(
        &wd,
        &["--source-weight", "train_small/machine=0"],
        "--source-weight leaves no machine rows to train on",
    );
    train_small_refused(
        &wd,
        &["--source-weight", "train_small/robot=1"],
        "`train_small/robot=1` is not",
    );
}

#[test]
fn train_needs_both_classes() {
    let wd = Workdir::new();
    wd.write(
        "d.csv",
        "text,label\none two three four five six seven eight nine,human\n",
    );
    let out = wd.run(&["train", "--data", "d.csv", "--out", "m.bin"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("needs both classes"));
    assert!(!wd.join("m.bin").exists());
}

#[test]
fn scan_explains_what_it_judged() {
    let wd = Workdir::new();
    wd.write(
        "reviews.csv",
        format!(
            "Id,Review_Body__c,is_synthetic,data_source\n\
             1,\"{PASTED}\",false,widget\n\
             2,\"{GENUINE}\",false,widget\n\
             3,Great stay!,false,widget\n\
             4,\"{PASTED}\",true,ai_generated\n"
        ),
    );
    // Row 4 is disclosed (and held back by the sync filter, not the detector).
    let out = wd.run(&["scan", "reviews.csv"]);
    assert_eq!(status(&out), 1);
    let r = wd.report("crmguard-out/reviews.report.json");
    let ai = &r["ai_text"];
    assert_eq!(ai["text_columns"], serde_json::json!(["Review_Body__c"]));
    assert_eq!(ai["text_columns_inferred"], true);
    assert_eq!(ai["rows_judged"], 2);
    assert_eq!(ai["rows_flagged"], 1);
    assert_eq!(ai["rows_too_short"], 1);
    assert_eq!(ai["rows_disclosed"], 1);
    assert_eq!(ai["min_words"], 8);
    assert!(
        ai["top_signals"][0]["signal"]
            .as_str()
            .unwrap()
            .starts_with("artefact")
    );
    // Next to a chat preamble (5.3 log-odds), the lexicons' fraction of a
    // log-odds is no reason worth listing: only the artefacts explain the flag.
    let top: Vec<&str> = (ai["top_signals"].as_array().unwrap().iter())
        .filter_map(|s| s["signal"].as_str())
        .collect();
    assert!(top.iter().all(|s| s.starts_with("artefact ")), "{ai}");
    assert!(
        top.contains(&"artefact chat preamble before the answer"),
        "{ai}"
    );
    let q = quarantine_cells(
        &wd.read("crmguard-out/reviews.quarantine.csv"),
        b',',
        &[
            "crmguard_row",
            "crmguard_reasons",
            "crmguard_ai_score",
            "crmguard_ai_signals",
        ],
    );
    assert_eq!(q.len(), 2);
    assert_eq!(q[0][0], "1");
    assert_eq!(q[0][1], "UNDISCLOSED_AI_TEXT");
    let score: f64 = q[0][2].parse().unwrap();
    assert!(score > ai["threshold"].as_f64().unwrap());
    assert!(
        q[0][3].starts_with("Review_Body__c: artefact"),
        "{}",
        q[0][3]
    );
    assert_eq!(q[1][0], "4");
    // It also lacks its model, timestamp and hash: disclosure, not detection.
    assert_eq!(q[1][1], "MISSING_DISCLOSURE;SYNTHETIC_NOT_ALLOWED");
    assert_eq!(q[1][2], "", "disclosed rows are not judged");
}

#[test]
fn a_scan_with_no_prose_says_it_judged_nothing() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        "Name,Notes,is_synthetic,data_source\nA,call back,false,web\nB,left a message,false,web\n",
    );
    let out = wd.run(&["scan", "in.csv"]);
    assert_eq!(status(&out), 0);
    assert!(
        stderr(&out).contains("detector: judged nothing: no column holds prose"),
        "{}",
        stderr(&out)
    );
    let r = wd.report("crmguard-out/in.report.json");
    assert_eq!(r["ai_text"]["text_columns"], serde_json::json!([]));
    assert_eq!(r["ai_text"]["rows_judged"], 0);
}

#[test]
fn policy_controls_the_detector() {
    let wd = Workdir::new();
    wd.write(
        "in.csv",
        format!("Notes,Other,is_synthetic,data_source\n\"{PASTED}\",\"{PASTED}\",false,web\n"),
    );
    // Off: nothing judged, no detector columns.
    wd.write("off.toml", "[detector]\nenabled = false\n");
    assert_eq!(status(&wd.run(&["scan", "-p", "off.toml", "in.csv"])), 0);
    assert!(wd.report("crmguard-out/in.report.json")["ai_text"].is_null());
    assert!(
        !wd.read_string("crmguard-out/in.quarantine.csv")
            .contains("crmguard_ai_score")
    );
    // Named columns only.
    wd.write("cols.toml", "[detector]\ntext_columns = [\"other\"]\n");
    assert_eq!(status(&wd.run(&["scan", "-p", "cols.toml", "in.csv"])), 1);
    let r = wd.report("crmguard-out/in.report.json");
    assert_eq!(r["ai_text"]["text_columns"], serde_json::json!(["other"]));
    assert_eq!(r["ai_text"]["text_columns_inferred"], false);
    assert!(r["ai_text"].get("text_columns_missing").is_none());
    // The explanation names the column as the file does, not as the policy.
    let q = quarantine_cells(
        &wd.read("crmguard-out/in.quarantine.csv"),
        b',',
        &["crmguard_reasons", "crmguard_ai_signals"],
    );
    assert_eq!(q[0][0], "UNDISCLOSED_AI_TEXT");
    assert!(q[0][1].starts_with("Other: artefact"), "{}", q[0][1]);
    // A named column that no record has is reported, not silently skipped;
    // one present only in a disclosed record still counts as present.
    wd.write(
        "typo.toml",
        "[detector]\ntext_columns = [\"Other\", \"Nots\", \"Body\"]\n",
    );
    wd.write(
        "in.ndjson",
        format!(
            "{{\"Other\":\"{PASTED}\",\"is_synthetic\":false,\"data_source\":\"web\"}}\n\
             {{\"Body\":\"x\",\"is_synthetic\":true,\"data_source\":\"ai_generated\"}}\n"
        ),
    );
    let out = wd.run(&["scan", "-p", "typo.toml", "in.ndjson"]);
    assert_eq!(status(&out), 1);
    let r = wd.report("crmguard-out/in.report.json");
    assert_eq!(
        r["ai_text"]["text_columns_missing"],
        serde_json::json!(["Nots"])
    );
    assert!(
        stderr(&out).contains("no record has the text column(s) `Nots`"),
        "{}",
        stderr(&out)
    );
    // The same for a CSV file, whose columns are matched once, by its header.
    let out = wd.run(&["scan", "-p", "typo.toml", "in.csv"]);
    assert_eq!(status(&out), 1);
    let r = wd.report("crmguard-out/in.report.json");
    assert_eq!(
        r["ai_text"]["text_columns_missing"],
        serde_json::json!(["Nots", "Body"])
    );
    assert_eq!(r["ai_text"]["rows_flagged"], 1);
    // A threshold no score reaches.
    wd.write("lax.toml", "[detector]\nthreshold = 1.0\n");
    assert_eq!(status(&wd.run(&["scan", "-p", "lax.toml", "in.csv"])), 0);
    wd.write("bad.toml", "[detector]\nthreshold = 1.5\n");
    let out = wd.run(&["scan", "-p", "bad.toml", "in.csv"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("not in [0, 1]"));
}

#[test]
fn named_text_columns_match_headers_and_keys_with_spaces_around() {
    // The policy's names are trimmed; so is the file's side, or a header
    // cell of " Notes " would leave `text_columns = ["notes"]` judging
    // nothing, where `calibrate` (which trims headers) had found it.
    let wd = Workdir::new();
    wd.write("p.toml", "[detector]\ntext_columns = [\"notes\"]\n");
    wd.write(
        "in.csv",
        format!(" Notes ,is_synthetic,data_source\n\"{PASTED}\",false,web\n"),
    );
    wd.write(
        "in.ndjson",
        format!("{{\" Notes \":\"{PASTED}\",\"is_synthetic\":false,\"data_source\":\"web\"}}\n"),
    );
    for file in ["in.csv", "in.ndjson"] {
        let out = wd.run(&["scan", "-p", "p.toml", file]);
        assert_eq!(status(&out), 1, "{file}: {}", stderr(&out));
        let r = wd.report("crmguard-out/in.report.json");
        assert_eq!(r["ai_text"]["rows_flagged"], 1, "{file}");
        assert!(r["ai_text"].get("text_columns_missing").is_none(), "{file}");
    }
}

/// Genuine CRM text that uses what chat models also write: a sales rep's
/// follow-up that opens with the stock line, and a mail-merge template. Each
/// must pass at the default threshold, with the rule shown as evidence.
const HUMAN_FOLLOW_UP: &str = "Hi Dana, I hope this message finds you well. Following up on \
    our call Tuesday - I talked to our ops guy and we can do the 40 units by the 18th if you \
    confirm by Friday. Pricing same as the quote. Let me know. Thanks, Rob";
const HUMAN_TEMPLATE: &str = "Hi [First Name], thanks for stopping by our booth at the \
    Columbus home show last weekend! As promised here's the 10% off code for your first \
    install: SHOW10. Any questions just reply to this email. Cheers, [Your Name]";

#[test]
fn openers_and_placeholders_are_evidence_not_verdicts() {
    let wd = Workdir::new();
    for (text, rule) in [
        (HUMAN_FOLLOW_UP, "i hope this message finds you well"),
        (HUMAN_TEMPLATE, "[your name]"),
    ] {
        let out = wd.run(&["detect", "--json", text]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(status(&out), 0, "{v}");
        assert_eq!(v["flagged"], false, "{v}");
        let signals = v["signals"].as_array().unwrap();
        let hit = (signals.iter())
            .find(|s| s["family"] == "artefact" && s["detail"].as_str().unwrap().contains(rule))
            .unwrap_or_else(|| panic!("{rule} not among {v}"));
        // Evidence: a log-odds or two, against 5.3 for a decisive rule.
        let w = hit["weight"].as_f64().unwrap();
        assert!(w > 0.0 && w <= 2.5, "{hit}");
    }
    // The same template pasted back with a chat model's own words is flagged.
    let pasted = format!("As an AI language model, I drafted this for you. {HUMAN_TEMPLATE}");
    let v = detect_json(&wd, &pasted);
    assert_eq!(v["flagged"], true, "{v}");
    assert!(v["score"].as_f64().unwrap() > 0.99, "{v}");
}

/// Two genuine texts of the training data that a decisive rule once put at
/// 0.996: a person handing over their own draft, and a reviewer's own
/// summary. A model's hand-over of *the* text stays decisive.
#[test]
fn handing_over_ones_own_draft_is_not_flagged() {
    let wd = Workdir::new();
    for text in [
        "Here is a revised version of my draft GTC's for derivatives transactions (I think \
         marked from the draft I left with you). Any comments or suggestions? I've promised \
         these to Louise by Friday. Thanks,",
        "Here is a summary of my impressions:1 It was written for about the 6th grade level.2 \
         There was virtually no grab for the first 2/3 of the book. I simply trudged through.",
    ] {
        let v = detect_json(&wd, text);
        assert_eq!(v["flagged"], false, "{v}");
        assert!(v["score"].as_f64().unwrap() < 0.5, "{v}");
    }
    let model = "Here is a revised version of the text: I drafted the general terms for \
         derivatives transactions, marked from the draft you left with me. Any comments?";
    let v = detect_json(&wd, model);
    assert_eq!(v["flagged"], true, "{v}");
}

#[test]
fn signals_are_ranked_by_contribution_and_small_ones_dropped() {
    let wd = Workdir::new();
    for text in [PASTED, GENUINE, HUMAN_FOLLOW_UP] {
        let v = detect_json(&wd, text);
        let w: Vec<f64> = (v["signals"].as_array().unwrap().iter())
            .map(|s| s["weight"].as_f64().unwrap().abs())
            .collect();
        assert!(!w.is_empty() && w.len() <= 5, "{v}");
        assert!(w.windows(2).all(|p| p[0] >= p[1]), "{v}");
        // None below 0.15 log-odds, nor below a tenth of the strongest.
        assert!(w.iter().all(|x| *x >= 0.15 && *x >= 0.1 * w[0]), "{v}");
    }
}

#[test]
fn a_model_that_cannot_load_says_where_it_was_named_once() {
    let wd = Workdir::new();
    wd.write("pol/p.toml", "[detector]\nmodel = \"m.bin\"\n");
    wd.write("a.csv", "Name,is_synthetic,data_source\nA,false,web\n");
    for (args, from, path) in [
        (
            &["scan", "-p", "pol/p.toml", "a.csv"][..],
            "[detector] model in pol/p.toml",
            "pol/m.bin",
        ),
        (
            &["detect", "--model", "nope.bin", "hello there"],
            "--model",
            "nope.bin",
        ),
    ] {
        let out = wd.run(args);
        assert_eq!(status(&out), 2, "{args:?}");
        let err = stderr(&out);
        let want = format!("crmguard: error: {from}: cannot load the detector model: {path}: ");
        assert!(err.starts_with(&want), "{err}");
        assert_eq!(err.matches(path).count(), 1, "{err}");
    }
}
