//! The promises the pipeline makes whatever the input: every row ends in
//! exactly one output, byte for byte; any thread count writes the same
//! bytes; nothing appears under an output name unless complete.

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Workdir, signal, signal_seen, status, stderr};
use proptest::prelude::*;

fn outputs(wd: &Workdir, dir: &str) -> Vec<(String, Vec<u8>)> {
    wd.list(dir)
        .into_iter()
        // Reports and the audit log hold times; the data files must not.
        .filter(|n| !n.ends_with(".report.json") && !n.ends_with(".jsonl"))
        .map(|n| {
            let bytes = wd.read(&format!("{dir}/{n}"));
            (n, bytes)
        })
        .collect()
}

/// A CSV large enough to span several batches, with problems sprinkled in.
fn many_rows(n: usize) -> String {
    let mut s = String::from("Name,Notes,Phone,is_synthetic,data_source\r\n");
    for i in 0..n {
        let notes = match i % 97 {
            0 => "=HYPERLINK(\"x\")".to_string(),
            1 => "\"quoted, with\r\nnewline\"".to_string(),
            _ => format!("note {i}"),
        };
        let flag = if i % 89 == 0 { "maybe" } else { "no" };
        s.push_str(&format!("Person {i},{notes},+1 555 {i:04},{flag},web\r\n"));
    }
    s
}

#[test]
fn one_thread_and_many_threads_write_identical_bytes() {
    let wd = Workdir::new();
    wd.write("big.csv", many_rows(20_000));
    for f in ["leads.csv", "cases.ndjson", "reviews.json"] {
        wd.fixture(&format!("samples/{f}"));
    }
    let files = ["big.csv", "leads.csv", "cases.ndjson", "reviews.json"];
    let mut args1 = vec!["scan", "-j1", "-o", "j1", "--now", "2026-06-01T00:00:00Z"];
    args1.extend(files);
    let mut args4 = vec!["scan", "-j4", "-o", "j4", "--now", "2026-06-01T00:00:00Z"];
    args4.extend(files);
    assert_eq!(status(&wd.run(&args1)), 1);
    assert_eq!(status(&wd.run(&args4)), 1);
    let (a, b) = (outputs(&wd, "j1"), outputs(&wd, "j4"));
    assert_eq!(a.len(), 8);
    assert_eq!(a, b);
    let big = wd.report("j4/big.report.json");
    assert_eq!(big["rows_total"], 20_000);
    assert!(big["rows_quarantined"].as_u64().unwrap() > 300);
    // The clean file is larger than an output buffer, so it went through the
    // flush thread: the report's size and hash must still be the file's.
    for o in big["outputs"].as_array().unwrap() {
        let bytes = wd.read(o["path"].as_str().unwrap());
        assert_eq!(o["bytes"], bytes.len() as u64);
        assert_eq!(o["blake3"], blake3::hash(&bytes).to_hex().to_string());
    }
    assert!(wd.read("j4/big.clean.csv").len() > 256 * 1024);
}

/// Splits CSV bytes into records the way the spec means them (quotes may
/// hold newlines); used to check outputs against the input.
fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut in_quotes = false;
    for &b in bytes {
        cur.push(b);
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == b'\n' && !in_quotes {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn cell() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ]{0,12}".prop_map(String::into_bytes),
        1 => Just(b"=1+1".to_vec()),
        1 => Just(b"+49 30".to_vec()),
        1 => Just(b"\"quoted, \"\"with\"\" comma\"".to_vec()),
        1 => Just(b"\"multi\nline\"".to_vec()),
        1 => Just(b"caf\xe9".to_vec()),
        1 => Just(b"nul\x00".to_vec()),
        1 => Just(b"".to_vec()),
    ]
}

fn flag() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"no".to_vec()),
        Just(b"FALSE".to_vec()),
        Just(b"maybe".to_vec()),
        Just(b"".to_vec()),
        Just(b"yes".to_vec()),
    ]
}

fn row() -> impl Strategy<Value = Vec<u8>> {
    (cell(), cell(), flag(), cell(), any::<bool>(), 0u8..8).prop_map(
        |(a, b, f, src, crlf, shape)| {
            let mut r = a;
            r.push(b',');
            r.extend(b);
            if shape != 0 {
                // Shape 0 drops the disclosure fields: a short row.
                r.push(b',');
                r.extend(f);
                r.push(b',');
                r.extend(src);
            }
            if shape == 1 {
                r.extend_from_slice(b",extra");
            }
            r.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            r
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn outputs_partition_the_input(rows in proptest::collection::vec(row(), 0..40)) {
        let wd = Workdir::new();
        let mut input = b"Name,Notes,is_synthetic,data_source\n".to_vec();
        for r in &rows {
            input.extend_from_slice(r);
        }
        wd.write("in.csv", &input);
        let out = wd.run(&["scan", "-q", "in.csv"]);
        let code = status(&out);
        prop_assert!(code == 0 || code == 1, "{}", stderr(&out));

        let clean = records(&wd.read("crmguard-out/in.clean.csv"));
        let quarantine = records(&wd.read("crmguard-out/in.quarantine.csv"));
        prop_assert_eq!(&clean[0], &b"Name,Notes,is_synthetic,data_source\n".to_vec());
        // Put every row back where crmguard_row says it came from.
        let mut rebuilt: Vec<Option<Vec<u8>>> = vec![None; rows.len()];
        for (i, r) in clean[1..].iter().enumerate() {
            // Clean rows keep input order: find the next unclaimed equal row.
            let pos = (0..rows.len()).find(|&k| rebuilt[k].is_none() && &rows[k] == r);
            prop_assert!(pos.is_some(), "clean row {} not in input", i);
            rebuilt[pos.unwrap()] = Some(r.clone());
        }
        for r in &quarantine[1..] {
            // Strip ",N,REASONS,SCORE,SIGNALS". Cells of at most 12
            // characters are never prose, so the detector judges nothing and
            // its two cells are empty; REASONS never contain commas here.
            let body = {
                let (end, term): (usize, &[u8]) = if r.ends_with(b"\r\n") { (r.len() - 2, b"\r\n") } else { (r.len() - 1, b"\n") };
                prop_assert!(r[..end].ends_with(b",,"), "empty detector cells");
                let line = &r[..end - 2];
                let c2 = line.iter().rposition(|&b| b == b',').unwrap();
                let c1 = line[..c2].iter().rposition(|&b| b == b',').unwrap();
                let n: usize = std::str::from_utf8(&line[c1 + 1..c2]).unwrap().parse().unwrap();
                prop_assert!(!line[c2 + 1..].is_empty(), "a quarantined row has reasons");
                let mut orig = line[..c1].to_vec();
                // Short rows were padded with empty fields to the header's width.
                while orig.ends_with(b",") && !rows[n - 1][..rows[n - 1].len() - term.len()].ends_with(&orig[..]) {
                    orig.pop();
                }
                orig.extend_from_slice(term);
                (n, orig)
            };
            prop_assert!(rebuilt[body.0 - 1].is_none(), "row {} written twice", body.0);
            rebuilt[body.0 - 1] = Some(body.1);
        }
        for (k, r) in rows.iter().enumerate() {
            prop_assert_eq!(rebuilt[k].as_ref(), Some(r), "row {}", k + 1);
        }
        let report = wd.report("crmguard-out/in.report.json");
        prop_assert_eq!(report["rows_total"].as_u64().unwrap(), rows.len() as u64);
        prop_assert_eq!(report["rows_clean"].as_u64().unwrap(), (clean.len() - 1) as u64);
        prop_assert_eq!(report["rows_quarantined"].as_u64().unwrap(), (quarantine.len() - 1) as u64);
    }
}

#[test]
fn an_error_late_in_a_file_leaves_no_outputs() {
    let wd = Workdir::new();
    // 10,000 good objects, then the array breaks: the first batches were
    // already written to temp files when the error comes.
    let mut s = String::from("[\n");
    for i in 0..10_000 {
        s.push_str(&format!(
            "{{\"n\": {i}, \"is_synthetic\": \"no\", \"data_source\": \"w\"}},\n"
        ));
    }
    s.push_str("{\"n\": oops\n");
    wd.write("in.json", s);
    let out = wd.run(&["scan", "in.json"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("in.json:10002:"), "{}", stderr(&out));
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new());
}

#[test]
fn ctrl_c_leaves_no_outputs() {
    let wd = Workdir::new();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmguard"))
        .current_dir(wd.path())
        .args(["scan", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(many_rows(10_000).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Wait until the scan has started writing its temp files.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while wd.list("crmguard-out").is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!wd.list("crmguard-out").is_empty(), "scan never started");
    signal(&child, "-INT");
    // The scan says it saw the signal before its input ends.
    let mut err = signal_seen(&mut child);
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest}");
    assert!(
        rest.contains("crmguard: error: stdin: interrupted: no outputs written"),
        "{rest}"
    );
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new());
}

/// Each promise in the README's Guarantees section names the tests that
/// keep it, as `FILE::NAME`: they must exist, or a renamed test would leave
/// a promise kept by nothing.
#[test]
fn the_readme_names_tests_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme.find("## Guarantees").expect("a Guarantees section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let mut named = 0;
    for token in section.split('`').skip(1).step_by(2) {
        let Some((file, name)) = token.split_once("::") else {
            continue;
        };
        if !file.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let path = root.join("tests/it").join(format!("{file}.rs"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("README names {token}: {}: {e}", path.display()));
        assert!(
            text.contains(&format!("fn {name}(")),
            "README names {token}, which tests/it/{file}.rs does not have"
        );
        named += 1;
    }
    assert!(named >= 10, "only {named} tests named");
}
