//! A scratch directory per test and helpers to run the real binary in it,
//! after xsv's `Workdir`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub mod tools;

pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::Builder::new()
                .prefix("crmguard-test-")
                .tempdir()
                .expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Copies a file from `fixtures/` into the workdir, under its own name.
    pub fn fixture(&self, rel: &str) -> PathBuf {
        let src = fixtures().join(rel);
        let name = Path::new(rel).file_name().unwrap().to_str().unwrap();
        let dst = self.join(name);
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        dst
    }

    /// Copies the files under `fixtures/SRC`, subfolders included, to
    /// `dest` in the workdir.
    pub fn fixture_dir(&self, src: &str, dest: &str) {
        let from = fixtures().join(src);
        for entry in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display()))
        {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            if entry.file_type().unwrap().is_dir() {
                self.fixture_dir(&format!("{src}/{name}"), &format!("{dest}/{name}"));
            } else {
                self.write(
                    &format!("{dest}/{name}"),
                    std::fs::read(entry.path()).unwrap(),
                );
            }
        }
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    pub fn read_string(&self, name: &str) -> String {
        String::from_utf8(self.read(name)).unwrap()
    }

    pub fn report(&self, name: &str) -> serde_json::Value {
        serde_json::from_slice(&self.read(name)).unwrap()
    }

    /// `crmguard ARGS` with the workdir as the working directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("crmguard").unwrap();
        cmd.current_dir(self.path()).args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Names of the files in `dir` (relative to the workdir), sorted.
    pub fn list(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = match std::fs::read_dir(self.join(dir)) {
            Ok(entries) => entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        };
        names.sort();
        names
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Sends `sig` (`-INT`, `-TERM`, `-KILL`) to a child process.
pub fn signal(child: &std::process::Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {sig}");
}

/// Waits for the line a scan prints when it has seen its first signal;
/// returns its stderr, to read the rest of.
pub fn signal_seen(
    child: &mut std::process::Child,
) -> std::io::BufReader<std::process::ChildStderr> {
    use std::io::BufRead;
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "the scan ended without saying it saw the signal"
        );
        if line == "crmguard: stopping at the next batch; a second signal stops at once\n" {
            return err;
        }
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The exit status, asserting the process was not killed and did not panic.
pub fn status(out: &Output) -> i32 {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "panic: {err}");
    out.status.code().expect("exited normally")
}

/// Parses a CSV quarantine file into `(crmguard_row, crmguard_reasons)`.
pub fn quarantine_csv(bytes: &[u8], delimiter: u8) -> Vec<(u64, String)> {
    quarantine_cells(bytes, delimiter, &["crmguard_row", "crmguard_reasons"])
        .into_iter()
        .map(|v| (v[0].parse().unwrap(), v[1].clone()))
        .collect()
}

/// The named crmguard cells of each quarantined row. crmguard's columns are
/// the header's last ones, so they are found counting from the end: a row
/// with extra fields (MALFORMED_ROW) keeps them last too.
pub fn quarantine_cells(bytes: &[u8], delimiter: u8, names: &[&str]) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes);
    let header = rdr.byte_headers().unwrap().clone();
    let from_end: Vec<usize> = names
        .iter()
        .map(|name| {
            let i = header
                .iter()
                .position(|h| h == name.as_bytes())
                .unwrap_or_else(|| panic!("no {name} column"));
            header.len() - i
        })
        .collect();
    rdr.byte_records()
        .map(|r| {
            let r = r.unwrap();
            from_end
                .iter()
                .map(|k| String::from_utf8(r[r.len() - k].to_vec()).unwrap())
                .collect()
        })
        .collect()
}
