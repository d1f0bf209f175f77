//! `--report sarif=PATH`: SARIF 2.1.0, as GitHub code scanning takes it
//! (`github/codeql-action/upload-sarif`).
//!
//! One rule per code, its help from docs/reason-codes.md. Results are
//! grouped per file and reason, so that a million quarantined rows make one
//! result, not a million: the result points at the first sampled row (line
//! and column of the offending cell) and lists the next ones, up to
//! `LOCATIONS_PER_REASON`, as related locations. File-level findings are
//! results of their own, at line 1. A run holds at most `MAX_RESULTS`
//! results (GitHub's limit); past it, results are dropped and the run says
//! so in a notification.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Report;
use super::codes;
use super::plural;
use super::run::RunReport;
use super::samples::Samples;
use crate::spec::{FileCode, Reason};

/// GitHub code scanning rejects runs with more results.
pub const MAX_RESULTS: usize = 25_000;

pub fn render(run: &RunReport) -> Vec<u8> {
    let base = Base::here();
    let rules: Vec<Value> = codes::all_codes().map(rule).collect();
    let mut results = Vec::new();
    let mut dropped = 0usize;
    for (r, samples) in run.reports() {
        for res in file_results(r, samples, &base, run.baseline.is_some()) {
            if results.len() < MAX_RESULTS {
                results.push(res);
            } else {
                dropped += 1;
            }
        }
    }
    let mut notifications: Vec<Value> = run
        .files
        .iter()
        .filter_map(|f| {
            let e = f.error.as_ref()?;
            Some(json!({
                "level": "error",
                "message": { "text": format!("{}: not scanned: {e}", f.input.display()) },
            }))
        })
        .collect();
    if dropped > 0 {
        notifications.push(json!({
            "level": "warning",
            "message": { "text": format!(
                "{dropped} results past the first {MAX_RESULTS} were left out (GitHub code scanning takes no more per run); the JSON report has them all"
            ) },
        }));
    }
    let mut invocation = json!({
        "executionSuccessful": run.totals.files_failed == 0,
        "exitCode": run.exit_status,
    });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = Value::Array(notifications);
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "crmguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut out = serde_json::to_vec_pretty(&log).expect("SARIF serialises");
    out.push(b'\n');
    out
}

fn rule(code: &'static str) -> Value {
    let help = codes::help(code).unwrap_or_default();
    let (short, level, kind) = match Reason::from_code(code) {
        Some(r) => (r.description(), "error", "row"),
        None => (
            FileCode::ALL
                .iter()
                .find(|f| f.code() == code)
                .map_or("", |f| f.description()),
            "warning",
            "file",
        ),
    };
    json!({
        "id": code,
        "name": camel(code),
        "shortDescription": { "text": short },
        "fullDescription": { "text": help },
        "help": {
            "text": format!("{help} (docs/reason-codes.md in the crmguard repository)"),
            "markdown": format!("`{code}`: {help}\n\nSee docs/reason-codes.md in the crmguard repository."),
        },
        "defaultConfiguration": { "level": level },
        "properties": { "tags": ["crmguard", kind] },
    })
}

/// `CSV_INJECTION` → `CsvInjection`.
fn camel(code: &str) -> String {
    code.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_string() + &c.as_str().to_ascii_lowercase())
                .unwrap_or_default()
        })
        .collect()
}

fn file_results(r: &Report, samples: &Samples, base: &Base, with_baseline: bool) -> Vec<Value> {
    let uri = base.artifact(&r.input.path);
    let mut out = Vec::new();
    for (code, rows) in &r.reasons {
        let new = r.new_rows_with(code);
        let locs = samples
            .reasons
            .get(code)
            .map(|s| s.locations.as_slice())
            .unwrap_or_default();
        let loc = |line: u64, column: u64| {
            json!({ "physicalLocation": {
                "artifactLocation": uri.clone(),
                "region": { "startLine": line.max(1), "startColumn": column.max(1) },
            }})
        };
        let first = locs.first().map_or((1, 1), |l| (l.line, l.column));
        let listed: Vec<String> = locs.iter().take(10).map(|l| l.row.to_string()).collect();
        let text = match (new, with_baseline) {
            (0, _) => format!(
                "{rows} row{} of {} quarantined with {code}, all in the baseline",
                plural(*rows),
                r.input.path.display()
            ),
            (n, true) => format!(
                "{n} new row{} of {} quarantined with {code} ({} in the baseline); first: row {}",
                plural(n),
                r.input.path.display(),
                rows - n,
                listed.join(", row ")
            ),
            (n, false) => format!(
                "{n} row{} of {} quarantined with {code}; first: row {}",
                plural(n),
                r.input.path.display(),
                listed.join(", row ")
            ),
        };
        let mut res = json!({
            "ruleId": code,
            "ruleIndex": codes::all_codes().position(|c| c == *code).unwrap_or(0),
            "level": if new > 0 { "error" } else { "note" },
            "message": { "text": text },
            "locations": [loc(first.0, first.1)],
            "partialFingerprints": { "crmguardFileReason/v1": fingerprint(&uri, code) },
            "properties": { "rows": rows, "rows_new": new },
        });
        if locs.len() > 1 {
            res["relatedLocations"] = locs
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, l)| {
                    let mut v = loc(l.line, l.column);
                    v["id"] = json!(i);
                    v["message"] = json!({ "text": format!("row {}", l.row) });
                    v
                })
                .collect();
        }
        if with_baseline {
            res["baselineState"] = json!(if new > 0 { "new" } else { "unchanged" });
        }
        out.push(res);
    }
    out.extend(r.file_findings.iter().map(|f| finding_result(r, f, &uri)));
    out
}

/// A file-level finding: a warning at line 1 of its file.
fn finding_result(r: &Report, f: &super::FileFinding, uri: &Value) -> Value {
    let code = f.code.code();
    let text = match &f.fix {
        Some(fix) => format!("{}: {}. Fix: {fix}", r.input.path.display(), f.message),
        None => format!("{}: {}", r.input.path.display(), f.message),
    };
    json!({
        "ruleId": code,
        "ruleIndex": codes::all_codes().position(|c| c == code).unwrap_or(0),
        "level": "warning",
        "message": { "text": text },
        "locations": [{ "physicalLocation": {
            "artifactLocation": uri.clone(),
            "region": { "startLine": 1 },
        }}],
        "partialFingerprints": { "crmguardFileReason/v1": fingerprint(uri, code) },
    })
}

/// Stable across runs for the same file and code, so GitHub tracks one
/// alert per file and reason rather than opening new ones each night.
fn fingerprint(uri: &Value, code: &str) -> String {
    let mut h = blake3::Hasher::new();
    h.update(uri["uri"].as_str().unwrap_or("").as_bytes());
    h.update(b"\0");
    h.update(code.as_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// Where artifact URIs are relative to: the repository's root (GitHub
/// resolves `%SRCROOT%` to the checkout), else absolute `file:` URIs.
struct Base {
    cwd: PathBuf,
    root: Option<PathBuf>,
}

impl Base {
    fn here() -> Base {
        let cwd = std::env::current_dir().unwrap_or_default();
        let root = crate::policy::repository_root(&cwd);
        Base { cwd, root }
    }

    fn artifact(&self, input: &Path) -> Value {
        if input.as_os_str() == "-" {
            return json!({ "uri": "stdin" });
        }
        let abs = normalise(&self.cwd.join(input));
        match self.root.as_ref().and_then(|r| abs.strip_prefix(r).ok()) {
            Some(rel) => json!({ "uri": encode_path(rel), "uriBaseId": "%SRCROOT%" }),
            None => json!({ "uri": format!("file://{}", encode_path(&abs)) }),
        }
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system (the input may
/// be a pipe or gone).
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// A path as a URI path: unreserved characters and `/` as they are, the
/// rest percent-encoded byte by byte (RFC 3986).
fn encode_path(p: &Path) -> String {
    let mut out = String::new();
    for b in p.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_to_the_repository_and_encoded() {
        let base = Base {
            cwd: PathBuf::from("/repo/sub"),
            root: Some(PathBuf::from("/repo")),
        };
        assert_eq!(
            base.artifact(Path::new("../data/leads 1#.csv")),
            json!({ "uri": "data/leads%201%23.csv", "uriBaseId": "%SRCROOT%" })
        );
        assert_eq!(
            base.artifact(Path::new("/elsewhere/x.csv")),
            json!({ "uri": "file:///elsewhere/x.csv" })
        );
        assert_eq!(camel("CSV_INJECTION"), "CsvInjection");
    }
}
