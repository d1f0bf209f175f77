//! Fitting into CI and shells: GitHub annotations, the Action's scan step,
//! the pre-commit hook (run by the real `pre-commit`), completions and the
//! manual page, policy discovery, baselines.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tools;
use common::{Workdir, status, stderr};

const BAD: &str = "Name,Notes,is_synthetic,data_source\nAda,=1+1,false,web\nBob,fine,false,web\n";
const GOOD: &str = "Name,Notes,is_synthetic,data_source\nBob,fine,false,web\n";

fn crmguard_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_BIN_EXE_crmguard"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// PATH with the crmguard under test first.
fn path_with_crmguard() -> std::ffi::OsString {
    let mut paths = vec![crmguard_dir()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

#[test]
fn github_annotations_point_at_rows_and_escape_what_the_runner_reads() {
    let wd = Workdir::new();
    // A name with the property separators in it.
    wd.write("a,b:c.csv", BAD);
    let out = wd
        .command(&["scan", "-q", "a,b:c.csv"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(status(&out), 1);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "::error file=a%2Cb%3Ac.csv,line=2,col=5,title=crmguard CSV_INJECTION::1 row quarantined with CSV_INJECTION: a cell a spreadsheet would run as a formula, by the policy's [injection] mode%0Afirst rows: 1"
        ]
    );
    // Off unless asked for or under Actions; `none` turns them off there.
    let out = wd.run(&["scan", "-q", "a,b:c.csv"]);
    assert!(out.stdout.is_empty());
    let out = wd
        .command(&["scan", "-q", "--annotations", "none", "a,b:c.csv"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert!(out.stdout.is_empty());
    let out = wd.run(&[
        "scan",
        "-q",
        "--annotations",
        "github",
        "--report",
        "json=-",
        "a,b:c.csv",
    ]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("both write to stdout"),
        "{}",
        stderr(&out)
    );
}

/// The Action's scan step (action/scan.sh) in `wd`, as the runner starts
/// it: the step's inputs as INPUT_* variables, outputs into `out`.
fn run_action(bash: &Path, wd: &Workdir, inputs: &[(&str, &str)]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("action/scan.sh");
    let mut cmd = Command::new(bash);
    cmd.arg(&script)
        .current_dir(wd.path())
        .env("PATH", path_with_crmguard())
        .env("INPUT_OUT_DIR", "out")
        .env("GITHUB_OUTPUT", wd.join("output.txt"))
        .env("GITHUB_STEP_SUMMARY", wd.join("summary.md"));
    for (k, v) in inputs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn action_scan_step_writes_summary_outputs_and_sarif() {
    let Some(bash) = tools::program("bash") else {
        return;
    };
    let wd = Workdir::new();
    wd.write("data/leads.csv", BAD);
    wd.write("data/ok.csv", GOOD);
    wd.write("summary.md", "earlier step\n");
    let out = run_action(
        &bash,
        &wd,
        &[
            ("INPUT_FILES", "data/**/*.csv"),
            ("INPUT_FAIL_ON", "quarantine"),
            ("INPUT_SARIF", "true"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        wd.read_string("output.txt"),
        "exit-status=1\nsarif-file=out/crmguard.sarif\n"
    );
    let summary = wd.read_string("summary.md");
    assert!(
        summary.starts_with("earlier step\n### crmguard: 1 of 3 rows quarantined"),
        "{summary}"
    );
    let sarif = wd.report("out/crmguard.sarif");
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "CSV_INJECTION");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("::error file=data/leads.csv,line=2"),
        "{stdout}"
    );
}

#[test]
fn action_scan_step_scans_files_of_one_name_from_different_folders() {
    let Some(bash) = tools::program("bash") else {
        return;
    };
    let wd = Workdir::new();
    wd.write("exports/2026-11/leads.csv", BAD);
    wd.write("exports/2026-12/leads.csv", BAD);
    let out = run_action(&bash, &wd, &[("INPUT_FILES", "exports/**/*.csv")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        wd.read_string("output.txt"),
        "exit-status=1\nsarif-file=out/crmguard.sarif\n"
    );
    let sarif = wd.read_string("out/crmguard.sarif");
    for month in ["2026-11", "2026-12"] {
        assert!(
            sarif.contains(&format!("exports/{month}/leads.csv")),
            "{sarif}"
        );
        assert!(
            wd.join(&format!("out/exports/{month}/leads.quarantine.csv"))
                .is_file()
        );
    }
}

#[test]
fn action_yml_runs_the_tested_script_with_every_input() {
    let Some(python) = tools::python_with(&["yaml"]) else {
        return;
    };
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(python)
        .arg("-c")
        .arg("import json,sys,yaml; a=yaml.safe_load(open(sys.argv[1])); print(json.dumps(a))")
        .arg(format!("{root}/action.yml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let action: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    let scan = steps.iter().find(|s| s["id"] == "scan").unwrap();
    assert_eq!(scan["run"], "bash \"$GITHUB_ACTION_PATH/action/scan.sh\"");
    let script = std::fs::read_to_string(format!("{root}/action/scan.sh")).unwrap();
    for input in action["inputs"].as_object().unwrap().keys() {
        let var = format!("INPUT_{}", input.to_uppercase().replace('-', "_"));
        assert!(
            scan["env"][&var].is_string(),
            "{var} not passed to the step"
        );
        assert!(script.contains(&var), "{var} not read by the script");
    }
    assert!(steps.iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    }));
}

/// Runs git in `dir` as a throwaway identity, unsigned; its stdout.
fn run_git(git: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(git)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The hook repository: this repository's hook definitions, as published,
/// committed in a repository of their own. Its path and the commit.
fn hook_repository(wd: &Workdir, git_in: impl Fn(&Path, &[&str]) -> String) -> (PathBuf, String) {
    let hooks = wd.join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git_in(&hooks, &["init", "-q"]);
    git_in(&hooks, &["add", "."]);
    git_in(&hooks, &["commit", "-q", "-m", "hooks"]);
    let rev = git_in(&hooks, &["rev-parse", "HEAD"]);
    (hooks, rev)
}

#[test]
fn pre_commit_hook_stops_a_commit_with_a_bad_row() {
    let Some(python) = tools::python_with(&["pre_commit"]) else {
        return;
    };
    let Some(git) = tools::program("git") else {
        return;
    };
    let wd = Workdir::new();
    let git_in = |dir: &Path, args: &[&str]| run_git(&git, dir, args);
    let (hooks, rev) = hook_repository(&wd, git_in);

    let repo = wd.join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_in(&repo, &["init", "-q"]);
    std::fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n- repo: {}\n  rev: {}\n  hooks:\n  - id: crmguard-system\n",
            hooks.display(),
            rev.trim()
        ),
    )
    .unwrap();
    std::fs::write(repo.join("leads.csv"), BAD).unwrap();
    std::fs::write(repo.join("notes.txt"), "not scanned\n").unwrap();
    git_in(&repo, &["add", "."]);
    let pre_commit = |args: &[&str]| {
        Command::new(&python)
            .args(["-m", "pre_commit"])
            .args(args)
            .current_dir(&repo)
            .env("PATH", path_with_crmguard())
            .env("PRE_COMMIT_HOME", wd.join("cache"))
            .output()
            .unwrap()
    };
    let out = pre_commit(&["run", "--all-files"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains("crmguard scan (installed crmguard)") && text.contains("Failed"),
        "{text}"
    );
    assert!(
        text.contains("CSV_INJECTION"),
        "the summary names the reason: {text}"
    );
    assert!(
        !repo.join("crmguard-out").exists(),
        "outputs left in the repository"
    );

    std::fs::write(repo.join("leads.csv"), GOOD).unwrap();
    git_in(&repo, &["add", "."]);
    let out = pre_commit(&["run", "--all-files"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("Passed"), "{text}");
}

#[test]
fn completions_load_in_bash_and_the_man_page_renders() {
    let wd = Workdir::new();
    let out = wd.run(&["completions", "bash"]);
    assert_eq!(status(&out), 0);
    std::fs::write(wd.join("crmguard.bash"), &out.stdout).unwrap();
    if let Some(bash) = tools::program("bash") {
        let out = Command::new(bash)
            .arg("-c")
            .arg("source ./crmguard.bash && complete -p crmguard")
            .current_dir(wd.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("crmguard"));
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = wd.run(&["completions", shell]);
        assert_eq!(status(&out), 0, "{shell}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("write-baseline"),
            "{shell}"
        );
    }
    let out = wd.run(&["man"]);
    assert_eq!(status(&out), 0);
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{}", &page[..80]);
    assert!(page.contains(".TH crmguard 1"), "roff title header");
    let out = wd.run(&["man", "--out-dir", "man"]);
    assert_eq!(status(&out), 0);
    let pages = wd.list("man");
    assert!(pages.contains(&"crmguard-scan.1".to_string()), "{pages:?}");
    // Every page a SEE ALSO names is in the set: the nested commands'
    // (audit verify, report merge) too.
    let mut named = std::collections::BTreeSet::new();
    for page in &pages {
        let text = wd.read_string(&format!("man/{page}"));
        for part in text.split("(1)").map(|p| p.replace("\\-", "-")) {
            let word = part
                .rsplit(|c: char| !(c.is_alphanumeric() || c == '-'))
                .next();
            if let Some(w) = word.filter(|w| w.starts_with("crmguard")) {
                named.insert(format!("{w}.1"));
            }
        }
    }
    assert!(named.contains("crmguard-audit-verify.1"), "{named:?}");
    let missing: Vec<_> = named.iter().filter(|n| !pages.contains(n)).collect();
    assert!(missing.is_empty(), "named, not written: {missing:?}");
    // A directory named `-` is a typo for stdout, not a wish.
    let out = wd.run(&["man", "--out-dir", "-"]);
    assert_eq!(status(&out), 2);
    assert!(!wd.join("-").exists());
    // A file where the folder should be is named as such, not "File exists".
    wd.write("a-file", "x");
    let out = wd.run(&["man", "--out-dir", "a-file"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("a-file: not a directory"),
        "{}",
        stderr(&out)
    );
    let scan_page = wd.read_string("man/crmguard-scan.1");
    assert!(scan_page.contains("\\-\\-baseline"));
    // The synopsis is the command as typed, not a bare `scan`.
    let synopsis = scan_page.split(".SH SYNOPSIS\n").nth(1).unwrap();
    assert!(
        synopsis.starts_with("\\fBcrmguard scan\\fR "),
        "{synopsis:.80}"
    );
    if let Some(man) = tools::program("man") {
        let out = Command::new(man)
            .args(["-l", "-P", "cat"])
            .arg(wd.join("man/crmguard-scan.1"))
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("--write-baseline"));
    }
}

#[test]
fn policy_is_discovered_up_to_the_repository_root_and_named_in_the_report() {
    let wd = Workdir::new();
    let repo = wd.join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("exports/nightly")).unwrap();
    // Allows synthetic rows: the row below is clean only under this policy.
    std::fs::write(repo.join("crmguard.toml"), "[synthetic]\nallow = true\n").unwrap();
    let csv = "Name,is_synthetic,data_source,ai_model_version,generation_timestamp,provenance_hash\n\
               Ada,false,web,,,\n";
    std::fs::write(repo.join("exports/nightly/in.csv"), csv).unwrap();
    let dir = repo.join("exports/nightly");
    let run = |env: Option<&str>| {
        let mut cmd = wd.command(&["scan", "-q", "-o", "out", "in.csv"]);
        cmd.current_dir(&dir).env_remove("CRMGUARD_POLICY");
        if let Some(p) = env {
            cmd.env("CRMGUARD_POLICY", p);
        }
        let out = cmd.output().unwrap();
        assert_eq!(status(&out), 0, "{}", stderr(&out));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("out/in.report.json")).unwrap())
                .unwrap();
        report["policy"].clone()
    };
    let p = run(None);
    assert_eq!(p["found_by"], "discovered");
    assert_eq!(p["path"], "../../crmguard.toml");
    std::fs::write(wd.join("env.toml"), "version = 1\n").unwrap();
    let env = wd.join("env.toml");
    let p = run(Some(env.to_str().unwrap()));
    assert_eq!(p["found_by"], "CRMGUARD_POLICY");
    assert_eq!(p["path"], env.to_str().unwrap());
}

#[test]
fn a_baseline_keeps_known_rows_quarantined_and_fails_only_on_new_ones() {
    let wd = Workdir::new();
    wd.write("dump.csv", BAD);
    let out = wd.run(&["scan", "--write-baseline", "baseline.json", "dump.csv"]);
    assert_eq!(status(&out), 1);
    assert!(stderr(&out).contains("baseline: 1 quarantined row recorded in baseline.json"));
    let baseline = wd.read_string("baseline.json");
    assert!(
        !baseline.contains("=1+1") && !baseline.contains("Ada"),
        "content leaked: {baseline}"
    );
    let b: serde_json::Value = serde_json::from_str(&baseline).unwrap();
    assert_eq!(
        b["rows"][0]["reasons"],
        serde_json::json!(["CSV_INJECTION"])
    );

    // The next night: the same rows, reordered and renamed. Known: exit 0.
    wd.write(
        "dump2.csv",
        "Name,Notes,is_synthetic,data_source\nBob,fine,false,web\nAda,=1+1,false,web\n",
    );
    let out = wd.run(&[
        "scan",
        "--baseline",
        "baseline.json",
        "dump2.csv",
        "--report",
        "json=run.json",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 quarantined (0 new, 1 in the baseline)"),
        "{}",
        stderr(&out)
    );
    let q = wd.read_string("crmguard-out/dump2.quarantine.csv");
    assert!(q.contains("=1+1"), "a baselined row is still quarantined");
    let run = wd.report("run.json");
    assert_eq!(run["totals"]["rows_baselined"], 1);
    assert_eq!(run["totals"]["rows_new"], 0);
    assert_eq!(run["files"][0]["report"]["rows_baselined"], 1);

    // A new bad row fails the run; the report counts it apart.
    wd.write(
        "dump3.csv",
        "Name,Notes,is_synthetic,data_source\nAda,=1+1,false,web\nEve,@SUM(1),false,web\n",
    );
    let out = wd.run(&[
        "scan",
        "--baseline",
        "baseline.json",
        "dump3.csv",
        "--report",
        "json=run.json",
    ]);
    assert_eq!(status(&out), 1);
    let run = wd.report("run.json");
    assert_eq!(run["totals"]["rows_new"], 1);
    assert_eq!(
        run["files"][0]["samples"]["CSV_INJECTION"]["locations"][0]["row"],
        2
    );

    let out = wd.run(&["scan", "--baseline", "missing.json", "dump3.csv"]);
    assert_eq!(status(&out), 2);
    assert!(stderr(&out).contains("missing.json"), "{}", stderr(&out));
}
