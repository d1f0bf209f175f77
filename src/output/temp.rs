//! The temp files outputs are written to before they are renamed into place.
//!
//! They hold row data, so they are private (0600) whatever the umask; their
//! names carry the writer's pid (`.NAME.PID.RANDOM.crmguard-tmp`), so a
//! later run can remove the ones a killed process left behind without ever
//! touching a live scan's; and they fit wherever the final name fits.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tempfile::NamedTempFile;

/// Every temp file's name ends with this.
pub const TEMP_SUFFIX: &str = ".crmguard-tmp";

/// The longest file name most file systems take (ext4, xfs, btrfs, tmpfs).
pub const NAME_MAX: usize = 255;

/// Random characters tempfile puts between our prefix and suffix.
const RAND_LEN: usize = 6;

/// Who may read a finished output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600: quarantine files, reports, audit exports hold personal data or
    /// point at it.
    Private,
    /// Whatever the umask gives a new file, as `cp` would: clean files,
    /// models, policies.
    Shared,
}

impl Mode {
    /// The permission bits a finished file gets.
    pub fn bits(self) -> u32 {
        match self {
            Mode::Private => 0o600,
            Mode::Shared => 0o666 & !umask(),
        }
    }
}

/// The process's umask, read once. Linux shows it in /proc; elsewhere it
/// can only be read by setting it, so it is set to 0o077 for that instant:
/// a file another thread creates meanwhile comes out more private, never
/// less.
fn umask() -> u32 {
    static UMASK: OnceLock<u32> = OnceLock::new();
    *UMASK.get_or_init(|| {
        if let Ok(status) = fs::read_to_string("/proc/self/status")
            && let Some(m) = status
                .lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        {
            return m;
        }
        #[cfg(unix)]
        {
            // SAFETY: umask cannot fail; the old mask is put back at once.
            let old = unsafe { libc::umask(0o077) };
            unsafe { libc::umask(old) };
            old as u32
        }
        #[cfg(not(unix))]
        0o022
    })
}

/// Temp files alive in this process, so a forced exit (a second Ctrl-C) can
/// remove them: exiting skips their destructors.
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// A temp file's entry in [`LIVE`] for as long as the value lives.
#[derive(Debug)]
pub(crate) struct Live(PathBuf);

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            live.remove(&self.0);
        }
    }
}

/// Removes this process's temp files; for an exit that will not run
/// destructors.
pub fn remove_live_temps() {
    if let Ok(live) = LIVE.lock() {
        for p in live.iter() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Creates the private temp file an output at `path` is written to, in the
/// same directory (a rename never crosses file systems), locked for as long
/// as it is open (see [`remove_stale_temps`]).
pub(crate) fn create(path: &Path) -> io::Result<(NamedTempFile, Live)> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default();
    let prefix = prefix(name, std::process::id());
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(&prefix)
        .rand_bytes(RAND_LEN)
        .suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o600));
    }
    let tmp = builder.tempfile_in(dir).map_err(|e| plain_error(e, dir))?;
    // Best effort: a file system without locks still has the pid check.
    let _ = tmp.as_file().try_lock();
    let live = Live(tmp.path().to_owned());
    if let Ok(mut set) = LIVE.lock() {
        set.insert(live.0.clone());
    }
    Ok((tmp, live))
}

/// tempfile's error names the temp file, which the user never chose and
/// cannot find; the caller names the output. A missing directory is said
/// as such.
fn plain_error(e: io::Error, dir: &Path) -> io::Error {
    if e.kind() == io::ErrorKind::NotFound && !dir.exists() {
        return io::Error::new(
            e.kind(),
            format!("directory {} does not exist", crate::terminal::path(dir)),
        );
    }
    let inner = e
        .get_ref()
        .and_then(|r| r.source())
        .and_then(|s| s.downcast_ref::<io::Error>())
        .map(|i| i.to_string());
    if let Some(msg) = inner {
        return io::Error::new(e.kind(), msg);
    }
    // tempfile's PathError hands out its error's source, not the error:
    // for an OS error (a read-only file system, no permission) that is
    // nothing, and only its text, "{err} at path {path:?}", is left. The
    // path is Debug-quoted, so an unescaped quote after ` at path ` cannot
    // be inside it.
    let text = e.to_string();
    match text.find(" at path \"") {
        Some(i) => io::Error::new(e.kind(), &text[..i]),
        None => e,
    }
}

/// `.NAME.PID.`, with NAME cut short when the whole temp name would be
/// longer than [`NAME_MAX`]: an output whose final name fits must not fail
/// for its temp name. The random part keeps cut names apart.
fn prefix(name: &OsStr, pid: u32) -> OsString {
    let tail = format!(".{pid}.");
    let budget = NAME_MAX - 1 - tail.len() - RAND_LEN - TEMP_SUFFIX.len();
    let mut out = OsString::from(".");
    out.push(cut(name, budget));
    out.push(tail);
    out
}

/// The first `max` bytes of `name` at most, not splitting a character of a
/// UTF-8 name.
fn cut(name: &OsStr, max: usize) -> OsString {
    if name.len() <= max {
        return name.to_owned();
    }
    if let Some(s) = name.to_str() {
        let mut n = max;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        return OsString::from(&s[..n]);
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        OsStr::from_bytes(&name.as_bytes()[..max]).to_owned()
    }
    #[cfg(not(unix))]
    {
        let lossy = name.to_string_lossy();
        let mut n = max.min(lossy.len());
        while !lossy.is_char_boundary(n) {
            n -= 1;
        }
        OsString::from(&lossy[..n])
    }
}

/// The pid in a temp file's name, if the name is one of ours.
fn temp_pid(name: &OsStr) -> Option<u32> {
    let bytes = name.as_encoded_bytes();
    let rest = bytes
        .strip_prefix(b".")?
        .strip_suffix(TEMP_SUFFIX.as_bytes())?;
    let dot = rest.iter().rposition(|&b| b == b'.')?;
    let (rest, random) = (&rest[..dot], &rest[dot + 1..]);
    if random.len() != RAND_LEN || !random.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let dot = rest.iter().rposition(|&b| b == b'.')?;
    let pid = &rest[dot + 1..];
    if pid.is_empty() || pid.len() > 10 || !pid.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

/// Whether process `pid` may be running. When in doubt, yes: a temp file
/// is only removed when its writer is surely gone.
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        // pid 0 and negative pids would signal process groups.
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 delivers nothing; it only asks whether the
        // process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    true
}

/// Opens a regular file without following a symlink or blocking on a FIFO
/// that took its name.
fn open_plain(path: &Path) -> io::Result<File> {
    let mut o = fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    o.open(path)
}

/// Removes the temp files in `dir` that crmguard processes left when they
/// were killed (`kill -9`, a crash, a power cut); returns their paths. A
/// file is removed only when its name is one of ours, the pid in it is not
/// a running process, and no one holds its lock: a scan on another host
/// sharing the directory keeps its files (the pid would mean nothing
/// there, the lock does).
pub fn remove_stale_temps(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(pid) = temp_pid(&entry.file_name()) else {
            continue;
        };
        if process_alive(pid) || !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let Ok(file) = open_plain(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        if fs::remove_file(&path).is_ok() {
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_name(prefix: &OsStr) -> usize {
        prefix.len() + RAND_LEN + TEMP_SUFFIX.len()
    }

    #[test]
    fn temp_names_fit_where_final_names_fit() {
        for len in [1, 100, 220, 230, 255] {
            let name = "a".repeat(len);
            let p = prefix(OsStr::new(&name), 4_194_304);
            assert!(full_name(&p) <= NAME_MAX, "{len}: {}", full_name(&p));
            assert!(
                p.to_str()
                    .unwrap()
                    .starts_with(&format!(".{}", &name[..len.min(200)]))
            );
        }
        // Not split inside a character.
        let name = "é".repeat(127);
        let p = prefix(OsStr::new(&name), 1);
        assert!(p.to_str().is_some());
        assert!(full_name(&p) <= NAME_MAX);
    }

    #[test]
    fn our_names_give_their_pid_and_no_other_name_does() {
        let p = prefix(OsStr::new("leads.clean.csv"), 4242);
        let mut name = p.clone();
        name.push("Ab3xZ9");
        name.push(TEMP_SUFFIX);
        assert_eq!(temp_pid(&name), Some(4242));
        for other in [
            "leads.clean.csv",
            ".leads.clean.csv.Ab3xZ9.crmguard-tmp",
            ".leads.clean.csv.42.Ab3x.crmguard-tmp",
            ".leads.clean.csv.x42.Ab3xZ9.crmguard-tmp",
            "leads.42.Ab3xZ9.crmguard-tmp",
            ".leads.42.Ab3xZ9.crmguard-tmp.bak",
        ] {
            assert_eq!(temp_pid(OsStr::new(other)), None, "{other}");
        }
    }

    #[test]
    fn only_dead_writers_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mine = create(&dir.path().join("out.csv")).unwrap();
        // A pid that cannot be running (above the kernel's pid_max).
        let dead = dir.path().join(".out.csv.4999999.Ab3xZ9.crmguard-tmp");
        fs::write(&dead, b"rows").unwrap();
        let foreign = dir.path().join(".notes.Ab3xZ9.crmguard-tmp");
        fs::write(&foreign, b"x").unwrap();
        let removed = remove_stale_temps(dir.path()).unwrap();
        assert_eq!(removed, vec![dead.clone()]);
        assert!(mine.0.path().exists() && foreign.exists() && !dead.exists());
    }

    #[cfg(unix)]
    #[test]
    fn temp_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (tmp, _live) = create(&dir.path().join("q.csv")).unwrap();
        let mode = tmp.as_file().metadata().unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(Mode::Private.bits(), 0o600);
    }
}
