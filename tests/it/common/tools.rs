//! The real consumers the report tests check formats with: Python with
//! `jsonschema`, `junitparser` and `pre-commit`, headless Chromium, the
//! official SARIF schema. `.ci/run` installs them and sets CRMGUARD_CI=1,
//! and there a missing tool fails the test. Elsewhere the test prints why
//! it is skipped and passes, so `cargo test` works on a bare machine.

use std::path::PathBuf;
use std::process::Command;

fn in_ci() -> bool {
    std::env::var_os("CRMGUARD_CI").is_some_and(|v| v == "1")
}

// The test harness shows a test's stderr: the reason for a skip goes there.
#[allow(clippy::disallowed_macros)]
fn missing<T>(what: &str, how: &str) -> Option<T> {
    if in_ci() {
        panic!("CRMGUARD_CI=1 but {what} is missing: {how}");
    }
    eprintln!("SKIPPED: {what} is missing ({how}); set CRMGUARD_CI=1 to make this a failure");
    None
}

/// A Python (CRMGUARD_PYTHON, else `python3`) that can import `modules`.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let python = std::env::var_os("CRMGUARD_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&python)
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        missing(
            &format!("a Python with {}", modules.join(", ")),
            "point CRMGUARD_PYTHON at a venv that has them (.ci/run makes one)",
        )
    }
}

/// Headless Chromium: CRMGUARD_CHROMIUM, else `chromium` on the PATH.
pub fn chromium() -> Option<PathBuf> {
    let bin = std::env::var_os("CRMGUARD_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"));
    let ok = Command::new(&bin)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(bin)
    } else {
        missing(
            "chromium",
            "apt-get install chromium, or set CRMGUARD_CHROMIUM",
        )
    }
}

/// The official SARIF 2.1.0 JSON schema (CRMGUARD_SARIF_SCHEMA).
pub fn sarif_schema() -> Option<PathBuf> {
    match std::env::var_os("CRMGUARD_SARIF_SCHEMA").map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        _ => missing(
            "the SARIF 2.1.0 schema",
            "set CRMGUARD_SARIF_SCHEMA to sarif-2.1.0.json from the npm package @microsoft/sarif-multitool-linux",
        ),
    }
}

/// A program on the PATH (`git`, `bash`, `script`...).
pub fn program(name: &str) -> Option<PathBuf> {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    found.or_else(|| missing(name, "install it"))
}

/// The scripts beside the tests.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tools")
        .join(name)
}

/// Validates reports against docs/report.schema.json with `jsonschema`
/// (skipped, saying so, where it is missing outside CI).
pub fn validate_reports(paths: &[PathBuf]) {
    let Some(python) = python_with(&["jsonschema"]) else {
        return;
    };
    let out = std::process::Command::new(python)
        .arg(script("validate_json.py"))
        .arg(format!(
            "{}/docs/report.schema.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg("--")
        .args(paths)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("{} documents, 0 errors", paths.len())),
        "{text}"
    );
}
