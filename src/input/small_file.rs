//! Files read whole: the policy, and the detector model and C2PA trust
//! anchors a policy names. A policy is user input too: `model = "/dev/zero"`
//! read without end, and a FIFO would block forever. Only regular files are
//! read, and only up to a size that no genuine one comes near.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use anyhow::{anyhow, bail};

/// A policy is a few kilobytes; a thousand per-object rules would still fit.
pub const MAX_POLICY_BYTES: u64 = 1 << 20;

/// The shipped detector model is under 1 MB; a retrained one with four times
/// the hashed features would still be under 20 MB.
pub const MAX_MODEL_BYTES: u64 = 64 << 20;

/// A PEM bundle of every root CA a browser trusts is about 250 KB; C2PA's
/// trust lists are smaller.
pub const MAX_TRUST_ANCHORS_BYTES: u64 = 16 << 20;

/// Reads `path` whole if it is a regular file of at most `max` bytes; `what`
/// names it in errors ("policy", "detector model").
pub fn read_small_file(path: &Path, max: u64, what: &str) -> anyhow::Result<Vec<u8>> {
    let fail = |e: io::Error| anyhow!("{}: cannot read {what}: {e}", path.display());
    // Checked before opening, since opening a FIFO waits for a writer, and
    // again on the handle, in case the name changed in between.
    let regular = |meta: &std::fs::Metadata| -> anyhow::Result<()> {
        if !meta.is_file() {
            bail!(
                "{}: {what} is not a regular file (a directory, device or pipe)",
                path.display()
            );
        }
        if meta.len() > max {
            bail!(too_large(path, what, max));
        }
        Ok(())
    };
    regular(&std::fs::metadata(path).map_err(fail)?)?;
    let file = File::open(path).map_err(fail)?;
    regular(&file.metadata().map_err(fail)?)?;
    read_at_most(file, max)
        .map_err(fail)?
        .ok_or_else(|| too_large(path, what, max))
}

/// Reads `r` to its end if that is at most `max` bytes; `None` (after
/// reading `max + 1` bytes, no more) if it is longer.
pub fn read_at_most(r: impl Read, max: u64) -> io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    r.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

fn too_large(path: &Path, what: &str, max: u64) -> anyhow::Error {
    anyhow!(
        "{}: {what} is over {max} bytes, more than any genuine one; refusing to read it",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_pipes_are_refused() {
        for path in ["/dev/zero", "/dev/null", "/"] {
            let e = read_small_file(Path::new(path), 100, "policy").unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{path}: {e}");
        }
        #[cfg(unix)]
        {
            let dir = tempfile::tempdir().unwrap();
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            if made.is_ok_and(|s| s.success()) {
                // Refused without opening it: an open would wait forever.
                let e = read_small_file(&fifo, 100, "policy").unwrap_err();
                assert!(e.to_string().contains("not a regular file"), "{e}");
            }
        }
    }

    #[test]
    fn size_is_capped_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.toml");
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_small_file(&p, 10, "policy").unwrap(), b"0123456789");
        let e = read_small_file(&p, 9, "policy").unwrap_err();
        assert!(
            e.to_string().contains("p.toml: policy is over 9 bytes"),
            "{e}"
        );
        assert!(read_at_most(&b"abc"[..], 2).unwrap().is_none());
        assert_eq!(read_at_most(&b"abc"[..], 3).unwrap().unwrap(), b"abc");
        // An endless reader stops one byte past the cap.
        assert!(read_at_most(io::repeat(0), 1 << 20).unwrap().is_none());
    }

    #[test]
    fn missing_files_say_so() {
        let e = read_small_file(Path::new("/nonexistent/p.toml"), 10, "policy").unwrap_err();
        assert!(e.to_string().contains("cannot read policy"), "{e}");
    }
}
