//! The run's reports (`--report FORMAT=PATH`), each made by the real binary
//! and read back by a real consumer: JSON Schema validation, the official
//! SARIF schema, junitparser, a CommonMark parser, headless Chromium.

use crate::common;

use std::process::Command;

use common::tools;
use common::{Workdir, status, stderr};
use serde_json::Value;

const SAMPLES: [&str; 3] = [
    "samples/leads.csv",
    "samples/cases.ndjson",
    "samples/reviews.json",
];

/// Scans the samples with `extra` arguments; returns the workdir, the exit
/// status and the run's JSON report.
fn scan_samples(extra: &[&str]) -> (Workdir, i32, Value) {
    let wd = Workdir::new();
    for s in SAMPLES {
        wd.fixture(s);
    }
    let mut args = vec![
        "scan",
        "-q",
        "--now",
        "2026-11-27T00:00:00Z",
        "leads.csv",
        "cases.ndjson",
        "reviews.json",
        "--report",
        "json=run.json",
    ];
    args.extend_from_slice(extra);
    let out = wd.run(&args);
    let code = status(&out);
    let run = wd.report("run.json");
    (wd, code, run)
}

fn docs(name: &str) -> String {
    format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn json_report_sums_its_files_and_matches_the_per_file_reports() {
    let (wd, code, run) = scan_samples(&[]);
    assert_eq!(code, 1);
    assert_eq!(run["exit_status"], 1);
    let files = run["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    let mut sum = 0;
    for (f, name) in files.iter().zip(["leads", "cases", "reviews"]) {
        let own = wd.report(&format!("crmguard-out/{name}.report.json"));
        // The run report carries each file's report as written beside it.
        assert_eq!(f["report"], own, "{name}");
        sum += own["rows_quarantined"].as_u64().unwrap();
    }
    assert_eq!(run["totals"]["rows_quarantined"], sum);
    assert_eq!(run["totals"]["rows_new"], sum);
    assert_eq!(run["totals"]["rows_total"], 702);
    // A sampled row points at its offending cell.
    let sample = &files[0]["samples"]["CSV_INJECTION"]["rows"][0];
    let bad: Vec<&Value> = sample["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["offending"] == true)
        .collect();
    assert_eq!(bad.len(), 1, "{sample}");
    assert!(bad[0]["value"].as_str().unwrap().starts_with('='));
}

#[test]
fn json_reports_validate_against_the_published_schemas() {
    let Some(python) = tools::python_with(&["jsonschema"]) else {
        return;
    };
    let (wd, _, _) = scan_samples(&[]);
    let out = run_ok(
        Command::new(&python)
            .arg(tools::script("validate_json.py"))
            .arg(docs("run-report.schema.json"))
            .arg(docs("report.schema.json"))
            .arg("--")
            .arg(wd.join("run.json")),
    );
    assert!(out.contains("1 documents, 0 errors"), "{out}");
    let per_file: Vec<_> = ["leads", "cases", "reviews"]
        .iter()
        .map(|n| wd.join(&format!("crmguard-out/{n}.report.json")))
        .collect();
    let out = run_ok(
        Command::new(&python)
            .arg(tools::script("validate_json.py"))
            .arg(docs("report.schema.json"))
            .arg("--")
            .args(&per_file),
    );
    assert!(out.contains("3 documents, 0 errors"), "{out}");
    // The schema can fail: a report with a made-up code does not pass.
    let mut bad = wd.report("run.json");
    bad["totals"]["reasons"]["NOT_A_CODE"] = 1.into();
    std::fs::write(wd.join("bad.json"), bad.to_string()).unwrap();
    let out = Command::new(&python)
        .arg(tools::script("validate_json.py"))
        .arg(docs("run-report.schema.json"))
        .arg(docs("report.schema.json"))
        .arg("--")
        .arg(wd.join("bad.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn sarif_validates_against_the_official_schema_and_github_limits() {
    let (wd, _, run) = scan_samples(&["--report", "sarif=run.sarif"]);
    let sarif = wd.report("run.sarif");
    assert_eq!(sarif["version"], "2.1.0");
    let run0 = &sarif["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    // One rule per code, each with help from docs/reason-codes.md.
    // 21 row reasons, 10 file-level codes (MEDIA_COLUMN_MISSING the tenth).
    assert_eq!(rules.len(), 21 + 10);
    for r in rules {
        assert!(r["help"]["text"].as_str().unwrap().len() > 30, "{r}");
    }
    let results = run0["results"].as_array().unwrap();
    // One result per file and reason, plus one per file-level finding.
    let per_reason: usize = run["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["report"]["reasons"].as_object().unwrap().len()
                + f["report"]["file_findings"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(results.len(), per_reason);
    for r in results {
        let rule = r["ruleId"].as_str().unwrap();
        assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"], rule);
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.ends_with(".csv") || uri.ends_with(".ndjson") || uri.ends_with(".json"));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(r["partialFingerprints"].as_object().unwrap().len() == 1);
    }
    // The first CSV_INJECTION row of leads.csv: row 18, on line 19, its
    // Company cell in the third column.
    let inj = results
        .iter()
        .find(|r| {
            r["ruleId"] == "CSV_INJECTION"
                && r["message"]["text"].as_str().unwrap().contains("leads.csv")
        })
        .unwrap();
    let region = &inj["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 19);
    assert!(region["startColumn"].as_u64().unwrap() > 1, "{region}");

    let Some(schema) = tools::sarif_schema() else {
        return;
    };
    let Some(python) = tools::python_with(&["jsonschema"]) else {
        return;
    };
    let out = run_ok(
        Command::new(&python)
            .arg(tools::script("validate_json.py"))
            .arg(&schema)
            .arg("--")
            .arg(wd.join("run.sarif")),
    );
    assert!(out.contains("1 documents, 0 errors"), "{out}");
    // And the schema is strict enough to catch a broken result.
    let mut bad = sarif.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    std::fs::write(wd.join("bad.sarif"), bad.to_string()).unwrap();
    let out = Command::new(&python)
        .arg(tools::script("validate_json.py"))
        .arg(&schema)
        .arg("--")
        .arg(wd.join("bad.sarif"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "the schema accepted level \"fatal\"");
}

#[test]
fn junit_parses_with_junitparser_and_agrees_with_the_json() {
    let Some(python) = tools::python_with(&["junitparser"]) else {
        return;
    };
    let (wd, _, run) = scan_samples(&["--report", "junit=junit.xml"]);
    let out = run_ok(
        Command::new(&python)
            .arg(tools::script("junit_summary.py"))
            .arg(wd.join("junit.xml")),
    );
    let suites: Value = serde_json::from_str(&out).unwrap();
    let suites = suites.as_array().unwrap();
    assert_eq!(suites.len(), 3);
    for (s, f) in suites.iter().zip(run["files"].as_array().unwrap()) {
        let report = &f["report"];
        assert_eq!(s["name"], f["input"]);
        // A testcase per check: every reason code and file-level code that a
        // scanned file can have (not the two header errors, which stop it).
        assert_eq!(
            s["tests"].as_u64().unwrap() as usize,
            crmguard::spec::Reason::ALL.len() + crmguard::spec::FileCode::ALL.len() - 2
        );
        let reasons = report["reasons"].as_object().unwrap();
        assert_eq!(s["failures"].as_u64().unwrap() as usize, reasons.len());
        for (code, n) in reasons {
            let failed = &s["failed"][code];
            assert_eq!(failed["kind"], "Failure");
            assert!(
                failed["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{n} row")),
                "{failed}"
            );
            let first = f["samples"][code]["locations"][0]["row"].as_u64().unwrap();
            assert!(
                failed["text"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("row {first} ")),
                "{failed}"
            );
        }
        assert_eq!(
            s["properties"]["rows_total"],
            report["rows_total"].to_string()
        );
    }
}

#[test]
fn markdown_is_a_table_a_commonmark_parser_reads_back() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let (wd, _, run) = scan_samples(&["--report", "markdown=summary.md"]);
    let md = wd.read_string("summary.md");
    // Collect each table's cells as text.
    let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
    let mut cell: Option<String> = None;
    for ev in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Table(_)) => tables.push(Vec::new()),
            Event::Start(Tag::TableHead) | Event::Start(Tag::TableRow) => {
                tables.last_mut().unwrap().push(Vec::new())
            }
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                let c = cell.take().unwrap();
                tables.last_mut().unwrap().last_mut().unwrap().push(c);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = &mut cell {
                    c.push_str(&t);
                }
            }
            _ => {}
        }
    }
    assert_eq!(tables.len(), 2, "{md}");
    let files = &tables[0];
    assert_eq!(files[0][0], "file");
    for (row, f) in files[1..].iter().zip(run["files"].as_array().unwrap()) {
        assert_eq!(row[0], f["input"].as_str().unwrap());
        assert_eq!(row[1], f["report"]["rows_total"].to_string());
        assert_eq!(row[3], f["report"]["rows_quarantined"].to_string());
    }
    let reasons = &tables[1];
    let want = run["totals"]["reasons"].as_object().unwrap();
    assert_eq!(reasons.len() - 1, want.len());
    for row in &reasons[1..] {
        assert_eq!(row[1], want[&row[0]].to_string(), "{row:?}");
    }
}

/// A file whose cells try to break out of the HTML report.
const HOSTILE: &str = "Name,Description,is_synthetic,data_source\n\
\"<img src=x onerror=\"\"document.title='pwned'\"\">\",\"</script><script>document.title='pwned2'</script>\",maybe,web\n\
Bob,=HYPERLINK(\"\"http://x\"\"),false,web\n";

#[test]
fn html_renders_in_chromium_with_the_json_counts_and_runs_no_injected_script() {
    let Some(chromium) = tools::chromium() else {
        return;
    };
    let (wd, _, run) = scan_samples(&["--report", "html=report.html"]);
    wd.write("hostile.csv", HOSTILE);
    let out = wd.run(&[
        "scan",
        "-q",
        "-o",
        "out2",
        "hostile.csv",
        "--report",
        "html=hostile.html",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let chrome = |args: &[&str], page: &str| headless(&chromium, &wd, args, page);

    // It renders: a screenshot is taken (kept in target/ to look at).
    let shot = wd.join("report.png");
    chrome(
        &[
            "--window-size=1200,1800",
            &format!("--screenshot={}", shot.display()),
        ],
        "report.html",
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "{} bytes",
        png.len()
    );
    let keep = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    std::fs::copy(&shot, keep).unwrap();

    let dom = chrome(&["--dump-dom"], "report.html");
    assert_the_page_shows_the_counts(&dom, &run);

    // The hostile cells are text: no element was injected, no script ran.
    let dom = chrome(&["--dump-dom"], "hostile.html");
    assert!(
        dom.contains("<title>crmguard report</title>"),
        "title changed"
    );
    assert!(!dom.contains("pwned</title>") && !dom.contains("pwned2</title>"));
    assert!(!dom.contains("<img"), "an img element was injected");
    assert_eq!(
        dom.matches("<script").count(),
        0,
        "a script element was injected"
    );
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "the cell is shown as text"
    );
    assert!(dom.contains("&lt;/script&gt;&lt;script&gt;"));
}

/// Opens a page of `wd` in headless Chromium with a throwaway profile;
/// its stdout (the DOM, with `--dump-dom`).
fn headless(chromium: &std::path::Path, wd: &Workdir, args: &[&str], page: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", wd.join(page).display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The counts the page shows, read from the DOM Chromium built, are the
/// run report's; the score distribution holds every judged row and marks
/// the thresholds.
fn assert_the_page_shows_the_counts(dom: &str, run: &Value) {
    let shown = |key: &str| -> u64 {
        let tag = format!("data-count=\"{key}\">");
        let at = dom
            .find(&tag)
            .unwrap_or_else(|| panic!("no {key} in the page"))
            + tag.len();
        dom[at..].split('<').next().unwrap().parse().unwrap()
    };
    for key in [
        "files",
        "rows_total",
        "rows_clean",
        "rows_quarantined",
        "file_findings",
    ] {
        assert_eq!(shown(key), run["totals"][key].as_u64().unwrap(), "{key}");
    }
    for (code, n) in run["totals"]["reasons"].as_object().unwrap() {
        assert!(
            dom.contains(&format!("data-reason=\"{code}\" data-count=\"{n}\"")),
            "{code} {n}"
        );
    }

    let judged: u64 = run["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["report"]["ai_text"]["rows_judged"].as_u64().unwrap())
        .sum();
    let binned: u64 = dom
        .split("data-bin=\"")
        .skip(1)
        .map(|rest| {
            let at = rest.find("data-count=\"").unwrap() + "data-count=\"".len();
            rest[at..]
                .split('"')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(binned, judged);
    let ai = &run["files"][0]["report"]["ai_text"];
    let marked = format!("quarantine {:.3}", ai["threshold"].as_f64().unwrap());
    assert!(dom.contains(&marked), "the threshold is marked: {marked}");
    if let Some(review) = ai["review_threshold"].as_f64() {
        assert!(
            dom.contains(&format!("review {review:.3}")),
            "the review tier is marked"
        );
    }
}

#[test]
fn a_report_on_stdout_leaves_the_summary_on_stderr_and_failed_files_are_reported() {
    let wd = Workdir::new();
    wd.write("a.csv", "Name,is_synthetic,data_source\n=x,false,web\n");
    let out = wd.run(&["scan", "a.csv", "missing.csv", "--report", "json=-"]);
    assert_eq!(status(&out), 2);
    let run: Value = serde_json::from_slice(&out.stdout).expect("stdout is the JSON report alone");
    assert_eq!(run["exit_status"], 2);
    assert_eq!(run["totals"]["files_failed"], 1);
    assert_eq!(run["files"][1]["status"], "error");
    assert!(
        run["files"][1]["error"]
            .as_str()
            .unwrap()
            .contains("missing.csv")
    );
    let err = stderr(&out);
    assert!(
        err.contains("a.csv: 1 row: 0 clean, 1 quarantined"),
        "{err}"
    );
    // Two reports cannot share stdout; a bad format is named.
    let out = wd.run(&["scan", "a.csv", "--report", "json=-", "--report", "html=-"]);
    assert_eq!(status(&out), 2);
    let out = wd.run(&["scan", "a.csv", "--report", "pdf=x.pdf"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("unknown report format \"pdf\""),
        "{}",
        stderr(&out)
    );
}
