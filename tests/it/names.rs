//! Output names when inputs of one run would write the same ones: two
//! `leads.csv` from different folders (a CI glob of `exports/**/*.csv`),
//! `leads.csv` beside `leads.csv.gz`. Each such input's outputs go to a
//! folder of the out dir that mirrors its directory; other inputs keep the
//! names they always had.

use crate::common;

use common::{Workdir, status, stderr};

const GOOD: &str = "Name,is_synthetic,data_source\nAda,no,web\n";

/// Two `leads.csv` in folders of their own, and one `cases.ndjson` whose
/// names are its own.
fn exports() -> Workdir {
    let wd = Workdir::new();
    let leads = std::fs::read(common::fixtures().join("samples/leads.csv")).unwrap();
    wd.write("exports/2026-11/leads.csv", &leads);
    wd.write("exports/2026-12/leads.csv", &leads);
    wd.fixture("samples/cases.ndjson");
    // The samples carry no Id column; their e-mail addresses stand in for
    // one in the cleanup plan.
    wd.write("crmguard.toml", "[cleanup]\nid_column = \"Email\"\n");
    wd
}

fn paths(list: &serde_json::Value) -> Vec<&str> {
    (list.as_array().unwrap().iter())
        .map(|o| o["path"].as_str().unwrap())
        .collect()
}

#[test]
fn inputs_named_alike_write_into_folders_that_mirror_theirs() {
    let wd = exports();
    let out = wd.run(&[
        "scan",
        "-o",
        "o3",
        "--policy",
        "crmguard.toml",
        "--cleanup-plan",
        "--report",
        "json=run.json",
        "exports/2026-11/leads.csv",
        "cases.ndjson",
        "./exports/2026-12/leads.csv",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    for month in ["2026-11", "2026-12"] {
        let dir = format!("o3/exports/{month}");
        assert_eq!(
            wd.list(&dir),
            [
                "leads.clean.csv",
                "leads.cleanup.csv",
                "leads.quarantine.csv",
                "leads.report.json"
            ],
            "{dir}"
        );
        let report = wd.report(&format!("{dir}/leads.report.json"));
        assert_eq!(
            paths(&report["outputs"]),
            [
                format!("{dir}/leads.clean.csv"),
                format!("{dir}/leads.quarantine.csv"),
                format!("{dir}/leads.cleanup.csv"),
            ]
        );
    }
    // The name that collides with no other stays where it always was.
    assert!(wd.join("o3/cases.report.json").is_file());
    assert!(!wd.join("o3/leads.report.json").exists());
    assert!(stderr(&out).contains("o3/exports/2026-12/leads.report.json"));

    // The run report and the audit log name the same files.
    let run = wd.read_string("run.json");
    for month in ["2026-11", "2026-12"] {
        assert!(
            run.contains(&format!("o3/exports/{month}/leads.quarantine.csv")),
            "{run}"
        );
    }
    let log = wd.read_string("o3/crmguard-audit.jsonl");
    for month in ["2026-11", "2026-12"] {
        assert!(
            log.contains(&format!("o3/exports/{month}/leads.clean.csv")),
            "{log}"
        );
    }
    let out = wd.run(&["audit", "verify", "o3/crmguard-audit.jsonl"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));

    // Each file's outputs are the ones a scan of it alone writes.
    let out = wd.run(&["scan", "-o", "alone", "exports/2026-11/leads.csv"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    for kind in ["clean", "quarantine"] {
        assert_eq!(
            wd.read(&format!("alone/leads.{kind}.csv")),
            wd.read(&format!("o3/exports/2026-11/leads.{kind}.csv")),
            "{kind}"
        );
    }
}

#[test]
fn absolute_and_dotdot_inputs_stay_inside_the_out_dir() {
    let wd = exports();
    let inside = wd.join("exports/2026-11/leads.csv");
    let outside = tempfile::tempdir().unwrap();
    let far = outside.path().join("leads.csv");
    std::fs::copy(&inside, &far).unwrap();
    std::fs::create_dir(wd.join("run")).unwrap();
    let mut cmd = wd.command(&[]);
    cmd.current_dir(wd.join("run")).args([
        "scan".as_ref(),
        "-o".as_ref(),
        "o".as_ref(),
        "../exports/2026-12/leads.csv".as_ref(),
        inside.as_os_str(),
        far.as_os_str(),
    ]);
    let out = cmd.output().unwrap();
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    // `..` leaves the current directory as `_up`; an absolute path is
    // mirrored whole under `_root`.
    assert!(
        wd.join("run/o/_up/exports/2026-12/leads.report.json")
            .is_file()
    );
    let root = |p: &std::path::Path| {
        let rel = p.parent().unwrap().strip_prefix("/").unwrap().to_owned();
        wd.join("run/o/_root").join(rel).join("leads.report.json")
    };
    assert!(root(&inside).is_file(), "{}", root(&inside).display());
    assert!(root(&far).is_file(), "{}", root(&far).display());
    // Nothing was written beside the inputs.
    assert_eq!(wd.list("exports/2026-12"), ["leads.csv"]);
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "{}",
        outside.path().display()
    );
}

#[test]
fn compressed_and_plain_inputs_of_one_name_in_one_folder_keep_apart() {
    let wd = Workdir::new();
    let leads = std::fs::read(common::fixtures().join("samples/leads.csv")).unwrap();
    wd.write("leads.csv", &leads);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &leads).unwrap();
    wd.write("leads.csv.gz", gz.finish().unwrap());
    let out = wd.run(&["scan", "-o", "o", "leads.csv", "leads.csv.gz"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    // One folder, so each gets a folder named after its file.
    for name in ["leads.csv", "leads.csv.gz"] {
        assert_eq!(
            wd.read(&format!("o/{name}/leads.clean.csv")),
            wd.read("o/leads.csv/leads.clean.csv")
        );
        assert!(wd.join(&format!("o/{name}/leads.report.json")).is_file());
    }
}

#[test]
fn one_file_given_twice_is_still_refused() {
    let wd = exports();
    let out = wd.run(&[
        "scan",
        "exports/2026-11/leads.csv",
        "exports/2026-12/../2026-11/leads.csv",
    ]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("are the same file; give it once"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join("crmguard-out").exists());
}

#[test]
fn release_finds_the_log_above_a_mirrored_quarantine_file() {
    let wd = Workdir::new();
    let products = std::fs::read(common::fixtures().join("rules/APPROVAL_REQUIRED.csv")).unwrap();
    wd.write("a/products.csv", &products);
    wd.write("b/products.csv", &products);
    wd.write(
        "waiting.toml",
        "[synthetic]\nallow = true\nrequire_approval = [\"Product_Description\"]\n",
    );
    let policy = ["--policy", "waiting.toml"];
    let mut args = vec!["scan", "-q", "--object", "Product_Description"];
    args.extend(policy);
    args.extend(["a/products.csv", "b/products.csv"]);
    let out = wd.run(&args);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    let mut args = vec![
        "release",
        "crmguard-out/b/products.quarantine.csv",
        "--approver",
        "Grace Hopper",
        "--reason",
        "copy checked",
        "--all-with",
        "APPROVAL_REQUIRED",
    ];
    args.extend(policy);
    let out = wd.run(&args);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("of crmguard-out/crmguard-audit.jsonl"),
        "{}",
        stderr(&out)
    );
    assert!(wd.join("crmguard-out/b/products.released.csv").is_file());
    assert!(!wd.join("crmguard-out/a/products.released.csv").exists());
}

#[test]
fn stale_temps_in_a_mirrored_folder_are_removed() {
    let wd = exports();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let stale = format!("o/exports/2026-11/.leads.clean.csv.{pid}.abc123.crmguard-tmp");
    wd.write(&stale, "half a file");
    let out = wd.run(&[
        "scan",
        "-o",
        "o",
        "exports/2026-11/leads.csv",
        "exports/2026-12/leads.csv",
    ]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left by a crmguard process that no longer runs"),
        "{}",
        stderr(&out)
    );
    assert!(!wd.join(&stale).exists());
}

#[test]
fn an_out_dir_that_is_a_file_is_said_to_be_one() {
    let wd = exports();
    wd.write("somefile", "not a folder");
    let out = wd.run(&["scan", "-o", "somefile", "cases.ndjson"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("somefile: not a directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(wd.read_string("somefile"), "not a folder");
}

#[test]
fn names_still_alike_after_mirroring_are_refused() {
    // `../x` is mirrored as `_up/x`: a real `_up/x` folder meets it there.
    let wd = Workdir::new();
    wd.write("x/leads.csv", GOOD);
    wd.write("run/_up/x/leads.csv", GOOD);
    let mut cmd = wd.command(&["scan", "../x/leads.csv", "_up/x/leads.csv"]);
    cmd.current_dir(wd.join("run"));
    let out = cmd.output().unwrap();
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains(
            "../x/leads.csv and _up/x/leads.csv would both write crmguard-out/_up/x/leads.csv/leads.clean.csv; scan them into different --out-dir"
        ),
        "{}",
        stderr(&out)
    );
}
