//! One fixture per reason code (fixtures/rules/CODE.csv): the real binary
//! must quarantine exactly the rows listed in CODE.expected, with exactly
//! those codes, and pass every other row through.

use crate::common;

use common::{Workdir, fixtures, quarantine_csv, status};
use crmguard::spec::Reason;

/// Codes whose checks arrive with later work; every other code must have a
/// fixture.
const PENDING: &[Reason] = &[];

fn expected(code: &str) -> Vec<(u64, String)> {
    let text =
        std::fs::read_to_string(fixtures().join("rules").join(format!("{code}.expected"))).unwrap();
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (row, codes) = l.split_once('\t').expect("row<TAB>codes");
            (row.parse().unwrap(), codes.to_string())
        })
        .collect()
}

fn run_fixture(code: &str) {
    let wd = Workdir::new();
    wd.fixture(&format!("rules/{code}.csv"));
    // The media fixtures name files under media/, beside the input.
    wd.fixture_dir("media", "media");
    let own = fixtures().join("rules").join(format!("{code}.toml"));
    let policy = if own.exists() {
        wd.fixture(&format!("rules/{code}.toml"))
    } else {
        wd.fixture("rules/policy.toml")
    };
    let out = wd.run(&[
        "scan",
        "--policy",
        policy.to_str().unwrap(),
        &format!("{code}.csv"),
    ]);
    let want = expected(code);
    assert_eq!(status(&out), if want.is_empty() { 0 } else { 1 });
    let got = quarantine_csv(
        &wd.read(&format!("crmguard-out/{code}.quarantine.csv")),
        b',',
    );
    assert_eq!(got, want, "{code}: quarantined rows and their codes");
    assert!(
        want.iter()
            .any(|(_, codes)| codes.split(';').any(|c| c == code)),
        "{code}.csv never triggers {code}"
    );
    let report = wd.report(&format!("crmguard-out/{code}.report.json"));
    let total = report["rows_total"].as_u64().unwrap();
    let clean = report["rows_clean"].as_u64().unwrap();
    assert_eq!(total - clean, want.len() as u64);
}

#[test]
fn every_shipped_code_has_a_fixture() {
    for r in Reason::ALL {
        let path = fixtures().join("rules").join(format!("{}.csv", r.code()));
        assert_eq!(
            path.exists(),
            !PENDING.contains(r),
            "fixture for {} (pending: {})",
            r.code(),
            PENDING.contains(r)
        );
    }
}

macro_rules! fixture_tests {
    ($($name:ident => $code:literal,)+) => {
        $(#[test] fn $name() { run_fixture($code); })+
    };
}

fixture_tests! {
    malformed_row => "MALFORMED_ROW",
    undisclosed_ai_text => "UNDISCLOSED_AI_TEXT",
    encoding_invalid => "ENCODING_INVALID",
    missing_disclosure => "MISSING_DISCLOSURE",
    invalid_boolean => "INVALID_BOOLEAN",
    invalid_timestamp => "INVALID_TIMESTAMP",
    future_timestamp => "FUTURE_TIMESTAMP",
    invalid_source_type => "INVALID_SOURCE_TYPE",
    invalid_model_version => "INVALID_MODEL_VERSION",
    disclosure_inconsistent => "DISCLOSURE_INCONSISTENT",
    provenance_invalid => "PROVENANCE_INVALID",
    provenance_mismatch => "PROVENANCE_MISMATCH",
    synthetic_not_allowed => "SYNTHETIC_NOT_ALLOWED",
    untrusted_ai_source => "UNTRUSTED_AI_SOURCE",
    csv_injection => "CSV_INJECTION",
    control_character => "CONTROL_CHARACTER",
    field_too_long => "FIELD_TOO_LONG",
    approval_required => "APPROVAL_REQUIRED",
    undisclosed_ai_media => "UNDISCLOSED_AI_MEDIA",
    media_provenance_invalid => "MEDIA_PROVENANCE_INVALID",
    media_missing => "MEDIA_MISSING",
}

#[test]
fn fixture_list_covers_every_code_with_a_file() {
    // Guards the macro list above against a fixture added without a test.
    let listed = [
        "MALFORMED_ROW",
        "UNDISCLOSED_AI_TEXT",
        "ENCODING_INVALID",
        "MISSING_DISCLOSURE",
        "INVALID_BOOLEAN",
        "INVALID_TIMESTAMP",
        "FUTURE_TIMESTAMP",
        "INVALID_SOURCE_TYPE",
        "INVALID_MODEL_VERSION",
        "DISCLOSURE_INCONSISTENT",
        "PROVENANCE_INVALID",
        "PROVENANCE_MISMATCH",
        "SYNTHETIC_NOT_ALLOWED",
        "UNTRUSTED_AI_SOURCE",
        "CSV_INJECTION",
        "CONTROL_CHARACTER",
        "FIELD_TOO_LONG",
        "APPROVAL_REQUIRED",
        "UNDISCLOSED_AI_MEDIA",
        "MEDIA_PROVENANCE_INVALID",
        "MEDIA_MISSING",
    ];
    for r in Reason::ALL.iter().filter(|r| !PENDING.contains(r)) {
        assert!(listed.contains(&r.code()), "no test runs {}", r.code());
    }
}

/// Rows of a fixtures/injection/ file flagged CSV_INJECTION under `mode`,
/// by their Notes.
fn injection_flags(file: &str, mode: &str) -> (u64, Vec<String>) {
    let wd = Workdir::new();
    wd.fixture(&format!("injection/{file}"));
    wd.write(
        "p.toml",
        format!("[injection]\nmode = \"{mode}\"\n[detector]\nenabled = false\n"),
    );
    let out = wd.run(&["scan", "--fail-on", "never", "-p", "p.toml", file]);
    assert_eq!(status(&out), 0);
    let stem = file.trim_end_matches(".csv");
    let report = wd.report(&format!("crmguard-out/{stem}.report.json"));
    let quarantine = wd.read(&format!("crmguard-out/{stem}.quarantine.csv"));
    let mut rdr = csv::Reader::from_reader(&quarantine[..]);
    let flagged = rdr
        .records()
        .map(|r| r.unwrap())
        .filter(|r| r.iter().any(|c| c == "CSV_INJECTION"))
        .map(|r| r[3].to_string())
        .collect();
    (report["rows_total"].as_u64().unwrap(), flagged)
}

#[test]
fn injection_modes_on_human_text_and_attacks() {
    // Business notes and e-mails that start with @, - or +: OWASP's rule
    // quarantines every one; formula mode none (docs/policy.md measures
    // public text the same way, bench/injection.sh).
    let (rows, strict) = injection_flags("human.csv", "strict");
    assert_eq!((rows, strict.len()), (40, 40));
    let (_, formula) = injection_flags("human.csv", "formula");
    assert_eq!(formula, Vec::<String>::new());
    // Every attack is caught by formula mode; strict mode misses the one
    // behind leading spaces, which spreadsheets that trim them still run.
    let (rows, formula) = injection_flags("attacks.csv", "formula");
    assert_eq!((rows, formula.len()), (40, 40));
    let (_, strict) = injection_flags("attacks.csv", "strict");
    assert_eq!(strict.len(), 39);
    assert!(!strict.contains(&"   =cmd|' /C calc'!A0".to_string()));
}
