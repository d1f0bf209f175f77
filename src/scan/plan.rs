//! Planning a run: each input's format and output names, and the checks
//! that no file the run writes (an output, the audit log) is one it reads
//! or another one it writes.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::input::{Compression, Format};
use crate::output::{NAME_MAX, OutputPaths, TEMP_SUFFIX, repeated_file, same_file};
use crate::policy::Policy;
use crate::terminal;

/// One input to scan, with where its outputs go.
#[derive(Debug, Clone)]
pub struct Input {
    /// As given on the command line; `-` is stdin.
    pub path: PathBuf,
    pub format: Format,
    pub compression: Compression,
    pub outputs: OutputPaths,
}

impl Input {
    /// Works out the format (from the extension unless `format` is given)
    /// and the output names: `NAME.EXT` gives `NAME.clean.EXT`,
    /// `NAME.quarantine.EXT` and `NAME.report.json`, and `NAME.cleanup.csv`
    /// with `cleanup`. Names are built from the file name's bytes, so a
    /// name that is not UTF-8 keeps its bytes.
    pub fn plan(
        path: &Path,
        format: Option<Format>,
        delimiter: Option<u8>,
        out_dir: &Path,
        cleanup: bool,
    ) -> anyhow::Result<Input> {
        let is_stdin = path.as_os_str() == "-";
        let shown = terminal::path(path);
        if !is_stdin && path.is_dir() {
            bail!("{shown}: is a directory, not a file");
        }
        let file_name = if is_stdin {
            b"stdin".to_vec()
        } else {
            match path.file_name() {
                Some(n) => bytes_of(n),
                None => bail!("{shown}: not a file name"),
            }
        };
        let (name, compression) = Compression::split_name(&file_name);
        let (stem, ext) = match name.iter().rposition(|&b| b == b'.') {
            Some(dot) if dot > 0 => (&name[..dot], Some(&name[dot + 1..])),
            _ => (name, None),
        };
        let from_ext = ext
            .and_then(|e| std::str::from_utf8(e).ok())
            .and_then(Format::from_extension);
        let mut format = match (format, from_ext) {
            (Some(f), _) | (None, Some(f)) => f,
            (None, None) if is_stdin => Format::Csv { delimiter: b',' },
            (None, None) => bail!(
                "{shown}: cannot tell the format from the extension; use --format csv|tsv|json|ndjson|parquet"
            ),
        };
        if let (Format::Csv { delimiter: d }, Some(given)) = (&mut format, delimiter) {
            *d = given;
        }
        format.check_seekable(path, is_stdin, compression)?;
        let ext = match (ext, format) {
            (Some(e), _) => os_of(e),
            (None, Format::Csv { delimiter: b'\t' }) => "tsv".into(),
            (None, f) => f.name().into(),
        };
        let outputs = OutputPaths::new(out_dir, &os_of(stem), &ext, cleanup);
        for out in outputs.all() {
            let len = out.file_name().map_or(0, |n| bytes_of(n).len());
            if len > NAME_MAX {
                bail!(
                    "{shown}: the output name {} would be {len} bytes, more than the {NAME_MAX} a file name may have; rename the input",
                    terminal::path(Path::new(out.file_name().unwrap_or_default()))
                );
            }
        }
        Ok(Input {
            path: path.to_owned(),
            format,
            compression,
            outputs,
        })
    }
}

/// A file name's bytes: its own on Unix, UTF-8 (lossy) elsewhere.
fn bytes_of(name: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        name.to_string_lossy().as_bytes().to_vec()
    }
}

fn os_of(bytes: &[u8]) -> OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        OsStr::from_bytes(bytes).to_owned()
    }
    #[cfg(not(unix))]
    {
        String::from_utf8_lossy(bytes).into_owned().into()
    }
}

impl Input {
    /// The target object the policy's file patterns give this input.
    pub fn object_from_file<'p>(&self, policy: &'p Policy) -> Option<&'p str> {
        let name = self.path.file_name()?.to_str()?;
        policy.object_for_file(name)
    }
}

/// Where stdin's outputs go when their names collide: it has no directory
/// of its own to mirror.
pub const STDIN_DIR: &str = "_stdin";
/// Stands for each `..` that leaves the current directory.
pub const UP_DIR: &str = "_up";
/// Where an absolute input outside the current directory is mirrored.
pub const ROOT_DIR: &str = "_root";

/// Keeps apart the outputs of inputs that would write the same names (two
/// `leads.csv` in different folders, `leads.csv` beside `leads.csv.gz`):
/// each such input's outputs move into the out dir's subfolder that
/// mirrors the input's directory ([`mirror`]), and, for inputs of one
/// directory that still collide, into a further subfolder named after the
/// input's file. Inputs whose names are their own keep them, so that a
/// run without a collision writes what it always wrote. Refusing instead
/// left a CI job that globs `**/*.csv` no way to scan at all.
pub fn keep_apart(inputs: &mut [&mut Input], out_dir: &Path) {
    for input in colliding(inputs) {
        let dir = out_dir.join(mirror(&input.path));
        input.outputs = input.outputs.moved_to(&dir);
    }
    for input in colliding(inputs) {
        if let (Some(dir), Some(name)) = (input.outputs.report.parent(), input.path.file_name()) {
            let dir = dir.join(name);
            input.outputs = input.outputs.moved_to(&dir);
        }
    }
}

/// The inputs some of whose outputs another input would write too.
fn colliding<'a>(inputs: &'a mut [&mut Input]) -> impl Iterator<Item = &'a mut Input> {
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    for input in inputs.iter() {
        for out in input.outputs.all() {
            *seen.entry(out.to_owned()).or_default() += 1;
        }
    }
    inputs
        .iter_mut()
        .filter(move |i| i.outputs.all().iter().any(|o| seen[*o] > 1))
        .map(|i| &mut **i)
}

/// The relative path, made only of plain names, that stands for the
/// directory of `input` under the out dir: the directory relative to the
/// current one, taken lexically (`.` dropped, `a/..` cancelled), with
/// each `..` left over as [`UP_DIR`]; an absolute path inside the current
/// directory as if it were given relative, one outside under [`ROOT_DIR`];
/// stdin as [`STDIN_DIR`]. No component is `..` or a root, so the
/// outputs never land outside the out dir.
pub fn mirror(input: &Path) -> PathBuf {
    if input.as_os_str() == "-" {
        return PathBuf::from(STDIN_DIR);
    }
    let dir = input.parent().unwrap_or(Path::new(""));
    let dir = match (dir.has_root(), std::env::current_dir()) {
        (true, Ok(cwd)) => match normalize(dir).strip_prefix(normalize(&cwd)) {
            Ok(inside) => inside.to_owned(),
            Err(_) => return plain_names(dir, Some(ROOT_DIR)),
        },
        (true, Err(_)) => return plain_names(dir, Some(ROOT_DIR)),
        (false, _) => dir.to_owned(),
    };
    plain_names(&dir, None)
}

/// `path` with `.` dropped and `name/..` cancelled, lexically.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The plain names of `path`, normalized: a `..` left over becomes
/// [`UP_DIR`], a root or a drive is dropped for `root`.
fn plain_names(path: &Path, root: Option<&str>) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::from(root.unwrap_or(""));
    for c in normalize(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => out.push(UP_DIR),
            // `C:` on Windows: its letter, so that drives stay apart.
            Component::Prefix(p) => out.push(
                p.as_os_str()
                    .to_string_lossy()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), ""),
            ),
            Component::RootDir | Component::CurDir => {}
        }
    }
    out
}

/// Refuses plans that would write one output twice, or over an input or
/// another file the run reads (`reads`: the policy, a model).
pub fn check_plans(inputs: &[&Input], reads: &[&Path]) -> anyhow::Result<()> {
    let stdin_count = inputs.iter().filter(|i| i.path.as_os_str() == "-").count();
    if stdin_count > 1 {
        bail!("`-` (stdin) is given {stdin_count} times");
    }
    // Given twice under two names (`a.csv`, `./x/../a.csv`), a file would
    // get outputs under each: its rows counted twice.
    let named = (inputs.iter().map(|i| i.path.as_path())).filter(|p| p.as_os_str() != "-");
    if let Some((first, again)) = repeated_file(named) {
        bail!(
            "{} and {} are the same file; give it once",
            terminal::path(first),
            terminal::path(again)
        );
    }
    let read_paths: Vec<&Path> = inputs
        .iter()
        .map(|i| i.path.as_path())
        .filter(|p| p.as_os_str() != "-")
        .chain(reads.iter().copied())
        .collect();
    let read_at: Vec<PathBuf> = read_paths.iter().map(|p| landing(p, true)).collect();
    // Left after keep_apart only when one directory's mirror is another's
    // (a real `_up` or `_root` folder beside the inputs).
    let mut writers: HashMap<&Path, &Input> = HashMap::new();
    for a in inputs {
        for out in a.outputs.all() {
            if let Some(b) = writers.insert(out, a) {
                bail!(
                    "{} and {} would both write {}; scan them into different --out-dir",
                    terminal::path(&b.path),
                    terminal::path(&a.path),
                    terminal::path(out)
                );
            }
        }
    }
    for a in inputs {
        for out in a.outputs.all() {
            let out_at = landing(out, false);
            for (read, at) in read_paths.iter().zip(&read_at) {
                if same_file(out, read) || out_at == *at {
                    bail!(
                        "{}: refusing to write over {}, which this run reads",
                        terminal::path(out),
                        terminal::path(read)
                    );
                }
            }
        }
    }
    Ok(())
}

/// Refuses an audit log that is a file the run reads (an input, the
/// policy, a model) or writes (an output, whose rename would replace the
/// log, or a temp file). Paths are compared where the writes land: through
/// symlinks, for files that do not exist yet too.
pub fn check_audit_log(log: &Path, inputs: &[&Input], reads: &[&Path]) -> anyhow::Result<()> {
    let log_at = landing(log, true);
    let shown = terminal::path(log);
    if log_at
        .file_name()
        .is_some_and(|n| bytes_of(n).ends_with(TEMP_SUFFIX.as_bytes()))
    {
        bail!("{shown}: the audit log's name is one crmguard gives its temp files");
    }
    if let Some(c) = clash(log, &log_at, inputs, reads) {
        bail!("{shown}: the audit log is also {c}; choose another --audit-log");
    }
    Ok(())
}

/// Refuses a run-level file (`written`: the run's reports, the baseline; each
/// with what it is) that lands on a file the run reads, on another input's
/// output, on the audit log, or on another run-level file. The reports are
/// written last: one over a clean file or the audit log would replace it after
/// the commit, and leave a log that no longer verifies.
pub fn check_run_files(
    written: &[(&Path, &str)],
    log: &Path,
    inputs: &[&Input],
    reads: &[&Path],
) -> anyhow::Result<()> {
    let log_at = landing(log, true);
    for (i, &(path, what)) in written.iter().enumerate() {
        // Reports and the baseline are written through a symlink, not over it.
        let at = landing(path, true);
        let shown = terminal::path(path);
        if let Some(c) = clash(path, &at, inputs, reads) {
            bail!("{shown}: {what} is also {c}");
        }
        if at == log_at || same_file(path, log) {
            bail!("{shown}: {what} is also the audit log; choose another path");
        }
        for &(other, other_what) in &written[i + 1..] {
            if landing(other, true) == at {
                if what == other_what {
                    bail!("{shown}: two reports would both be written there");
                }
                bail!("{shown}: {what} and {other_what} would both be written there");
            }
        }
    }
    Ok(())
}

/// What a file the run writes would replace or write into.
enum Clash<'a> {
    /// A file the run reads: an input, the policy, a model.
    Reads(&'a Path),
    /// An input's output (clean, quarantine, report).
    OutputOf(&'a Input, &'a Path),
}

impl std::fmt::Display for Clash<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Clash::Reads(r) => write!(f, "a file this run reads ({})", terminal::path(r)),
            Clash::OutputOf(input, out) => write!(
                f,
                "an output of {} ({})",
                terminal::path(&input.path),
                terminal::path(out)
            ),
        }
    }
}

/// The first file of the run that a write to `path`, landing at `at`, would
/// clash with.
fn clash<'a>(
    path: &Path,
    at: &Path,
    inputs: &[&'a Input],
    reads: &[&'a Path],
) -> Option<Clash<'a>> {
    let read = inputs
        .iter()
        .map(|i| i.path.as_path())
        .filter(|p| p.as_os_str() != "-")
        .chain(reads.iter().copied());
    for r in read {
        if same_file(path, r) || landing(r, true) == at {
            return Some(Clash::Reads(r));
        }
    }
    for input in inputs {
        for out in input.outputs.all() {
            if landing(out, false) == at {
                return Some(Clash::OutputOf(input, out));
            }
        }
    }
    None
}

/// The absolute path a write to `path` lands on, whether it exists or not.
/// `follow`: the last component's symlink is followed too (a file opened
/// for appending); otherwise it is the link itself that a rename replaces.
fn landing(path: &Path, follow: bool) -> PathBuf {
    let mut path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    // A dangling symlink is followed by hand, a bounded number of times.
    for _ in 0..40 {
        if follow {
            if let Ok(real) = std::fs::canonicalize(&path) {
                return real;
            }
            if let Ok(target) = std::fs::read_link(&path) {
                path = match path.parent() {
                    Some(dir) => dir.join(target),
                    None => target,
                };
                continue;
            }
        }
        break;
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => landing(dir, true).join(name),
        // `DIR/..` of a DIR that does not exist yet: the run creates DIR,
        // and `..` leads back out of it.
        (Some(dir), None) if path.ends_with("..") => {
            let dir = landing(dir, true);
            dir.parent().map_or(dir.clone(), Path::to_path_buf)
        }
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_resolves_links_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(real.join("out")).unwrap();
        assert_eq!(
            landing(&dir.path().join("out/new/x.jsonl"), true),
            real.join("out/new/x.jsonl")
        );
        assert_eq!(
            landing(&dir.path().join("out/./new/../x.jsonl"), true),
            real.join("out/x.jsonl")
        );
        #[cfg(unix)]
        {
            let link = real.join("log.jsonl");
            std::os::unix::fs::symlink(real.join("out/report.json"), &link).unwrap();
            assert_eq!(landing(&link, true), real.join("out/report.json"));
            assert_eq!(landing(&link, false), link);
            std::os::unix::fs::symlink(real.join("out"), real.join("o")).unwrap();
            assert_eq!(
                landing(&real.join("o/r.json"), false),
                real.join("out/r.json")
            );
        }
    }

    fn planned(path: &str) -> Input {
        Input::plan(Path::new(path), None, None, Path::new("o"), false).unwrap()
    }

    #[test]
    fn colliding_inputs_move_to_mirrored_folders() {
        let mut a = planned("exports/2026-11/leads.csv");
        let mut b = planned("exports/2026-12/leads.csv");
        let mut c = planned("cases.ndjson");
        keep_apart(&mut [&mut a, &mut b, &mut c], Path::new("o"));
        assert_eq!(
            a.outputs.report,
            Path::new("o/exports/2026-11/leads.report.json")
        );
        assert_eq!(
            b.outputs.report,
            Path::new("o/exports/2026-12/leads.report.json")
        );
        assert_eq!(c.outputs.report, Path::new("o/cases.report.json"));
    }

    #[test]
    fn mirrors_are_plain_names_that_stay_inside_the_out_dir() {
        assert_eq!(mirror(Path::new("-")), Path::new("_stdin"));
        assert_eq!(mirror(Path::new("x.csv")), Path::new(""));
        assert_eq!(mirror(Path::new("./a/./b/../c/x.csv")), Path::new("a/c"));
        assert_eq!(mirror(Path::new("../../a/x.csv")), Path::new("_up/_up/a"));
        assert_eq!(mirror(Path::new("a/../../x.csv")), Path::new("_up"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(mirror(&cwd.join("a/./x.csv")), Path::new("a"));
        #[cfg(unix)]
        assert_eq!(
            mirror(Path::new("/not-here/b/../c/x.csv")),
            Path::new("_root/not-here/c")
        );
    }
}
