//! The cleanup plan (`scan --cleanup-plan`): one line per quarantined
//! record of a CRM export, `Id,action,TAG_FIELD…`, for `sf data upsert bulk`
//! and `sf data delete bulk` (docs/cleanup.md). Ids are alphanumeric and
//! tag values are checked by the policy to need no quoting, so the plan is
//! plain CSV that splits with plain tools. Never row content beyond the Id.

use std::io::{self, Write};
use std::path::Path;

use super::{AtomicFile, Finished, Mode};

pub struct CleanupWriter {
    file: AtomicFile,
    pub tag: u64,
    pub delete: u64,
}

impl CleanupWriter {
    pub fn create(path: &Path, tag_fields: &[&str]) -> io::Result<CleanupWriter> {
        // Which records a scan found undisclosed: for the admins who apply
        // it, like the quarantine file.
        let mut file = AtomicFile::create(path, Mode::Private)?;
        file.write_all(b"Id,action")?;
        for f in tag_fields {
            write!(file, ",{f}")?;
        }
        file.write_all(b"\n")?;
        Ok(CleanupWriter {
            file,
            tag: 0,
            delete: 0,
        })
    }

    /// One record: its Id, `tag` or `delete`, and the tag values (empty for
    /// a delete, which sets nothing).
    pub fn write(&mut self, id: &str, delete: bool, values: &[String]) -> io::Result<()> {
        debug_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        self.file.write_all(id.as_bytes())?;
        self.file
            .write_all(if delete { b",delete" } else { b",tag" })?;
        for v in values {
            self.file.write_all(b",")?;
            if !delete {
                self.file.write_all(v.as_bytes())?;
            }
        }
        self.file.write_all(b"\n")?;
        self.file.rows += 1;
        match delete {
            true => self.delete += 1,
            false => self.tag += 1,
        }
        Ok(())
    }

    pub fn finish(self) -> io::Result<Finished> {
        self.file.finish()
    }
}
