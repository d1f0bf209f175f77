//! Baselines, as gitleaks and detect-secrets keep them: a file of the
//! findings a team has seen and accepted, so that a recurring scan fails
//! only on new ones.
//!
//! A baseline records each quarantined row by the blake3 of its bytes and
//! its reason codes, never its content (the file and row number are kept
//! for people reading it, and not matched on: a nightly dump reorders and
//! renames). A row is baselined when its bytes are known and it carries no
//! reason the baseline did not record for them. Baselined rows stay in
//! quarantine (a known bad row is still never imported); they only stop
//! counting towards the exit status.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use serde::Deserialize;

use crate::audit::RowSpool;
use crate::output::{AtomicFile, Mode};
use crate::spec::{Reason, ReasonSet};

/// Version of the baseline format; bumped on any incompatible change.
pub const BASELINE_SCHEMA: u32 = 1;

/// A loaded baseline.
#[derive(Debug, Default)]
pub struct Baseline {
    pub path: PathBuf,
    rows: HashMap<[u8; 32], ReasonSet>,
}

#[derive(Deserialize)]
struct BaselineFile {
    crmguard_baseline: u32,
    rows: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    blake3: String,
    reasons: Vec<String>,
}

/// A baseline holds about 150 bytes per quarantined row: 256 MiB is well
/// over a million rows. The cap keeps `--baseline /dev/zero` (or a file
/// that is not a baseline at all) from being read into memory without end.
pub const MAX_BASELINE_BYTES: u64 = 256 << 20;

impl Baseline {
    /// Reads a baseline written by `--write-baseline`.
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let text = crate::input::read_small_file(path, MAX_BASELINE_BYTES, "the baseline")?;
        let file: BaselineFile = serde_json::from_slice(&text)
            .map_err(|e| crate::error::json_error(path, &e, "not a crmguard baseline"))?;
        if file.crmguard_baseline != BASELINE_SCHEMA {
            bail!(
                "{}: baseline version {} (this crmguard reads version {BASELINE_SCHEMA})",
                path.display(),
                file.crmguard_baseline
            );
        }
        let mut rows = HashMap::with_capacity(file.rows.len());
        for (i, e) in file.rows.iter().enumerate() {
            let at = || format!("{}: rows[{i}]", path.display());
            let hash = parse_hash(&e.blake3)
                .ok_or_else(|| anyhow!("{}: `blake3` is not 64 hex digits", at()))?;
            let mut reasons = ReasonSet::empty();
            for code in &e.reasons {
                let r = Reason::from_code(code)
                    .ok_or_else(|| anyhow!("{}: unknown reason code `{code}`", at()))?;
                reasons.insert(r);
            }
            // The same bytes in two files: either entry's reasons are known.
            let known: &mut ReasonSet = rows.entry(hash).or_default();
            *known = reasons.iter().chain(known.iter()).collect();
        }
        Ok(Baseline {
            path: path.to_owned(),
            rows,
        })
    }

    /// Whether a quarantined row with these bytes and reasons is known.
    pub fn covers(&self, row_blake3: &[u8; 32], reasons: ReasonSet) -> bool {
        self.rows
            .get(row_blake3)
            .is_some_and(|known| reasons.iter().all(|r| known.contains(r)))
    }

    /// Distinct rows in the baseline.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let digit = |b: u8| (b as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Writes a baseline as the run goes: each scanned file's quarantined rows
/// are added once the file's scan succeeded. The file appears, complete,
/// only on [`BaselineWriter::commit`]. One row a line, so that a reviewed
/// baseline diffs well in version control.
pub struct BaselineWriter {
    file: AtomicFile,
    rows: u64,
}

impl BaselineWriter {
    pub fn create(path: &Path, created_at: jiff::Timestamp) -> io::Result<BaselineWriter> {
        // Row hashes point at personal data: private, as reports are.
        let mut file = AtomicFile::create(path, Mode::Private)?;
        write!(
            file,
            "{{\"crmguard_baseline\": {BASELINE_SCHEMA}, \"crmguard_version\": {}, \"created_at\": \"{created_at}\",\n\"rows\": [",
            serde_json::Value::from(env!("CARGO_PKG_VERSION"))
        )?;
        Ok(BaselineWriter { file, rows: 0 })
    }

    /// Adds the rows a file's scan spooled.
    pub fn add(&mut self, input: &Path, spool: RowSpool) -> io::Result<()> {
        let name = serde_json::Value::from(input.to_string_lossy().into_owned()).to_string();
        let mut reader = spool.into_reader()?;
        while let Some((row, hash, reasons)) = reader.next_row()? {
            let codes: Vec<&str> = reasons.split(';').collect();
            let sep = if self.rows == 0 { "\n" } else { ",\n" };
            write!(
                self.file,
                "{sep}{{\"blake3\": \"{}\", \"reasons\": {}, \"file\": {name}, \"row\": {row}}}",
                blake3::Hash::from_bytes(hash).to_hex(),
                serde_json::to_string(&codes).map_err(io::Error::other)?
            )?;
            self.rows += 1;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Completes the file and renames it into place.
    pub fn commit(mut self) -> io::Result<()> {
        self.file.write_all(b"\n]}\n")?;
        self.file.commit().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_baselines_load_and_cover_only_known_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        let mut spool = RowSpool::new().unwrap();
        let a = *blake3::hash(b"row a").as_bytes();
        let b = *blake3::hash(b"row b").as_bytes();
        spool
            .push(3, "MISSING_DISCLOSURE;CSV_INJECTION", &a)
            .unwrap();
        spool.push(9, "FIELD_TOO_LONG", &b).unwrap();
        let mut w = BaselineWriter::create(&path, "2026-11-01T00:00:00Z".parse().unwrap()).unwrap();
        w.add(Path::new("in \"x\".csv"), spool).unwrap();
        assert_eq!(w.rows(), 2);
        w.commit().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("row a"), "never content: {text}");
        let base = Baseline::load(&path).unwrap();
        assert_eq!(base.len(), 2);
        let set = |codes: &[Reason]| codes.iter().copied().collect::<ReasonSet>();
        assert!(base.covers(&a, set(&[Reason::CsvInjection])));
        assert!(base.covers(&a, set(&[Reason::CsvInjection, Reason::MissingDisclosure])));
        assert!(
            !base.covers(&a, set(&[Reason::FieldTooLong])),
            "a new reason is new"
        );
        assert!(!base.covers(
            blake3::hash(b"other").as_bytes(),
            set(&[Reason::FieldTooLong])
        ));
    }

    #[test]
    fn bad_baselines_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        std::fs::write(
            &p,
            "{\"crmguard_baseline\": 1, \"rows\": [{\"blake3\": \"zz\", \"reasons\": []}]}",
        )
        .unwrap();
        let e = Baseline::load(&p).unwrap_err().to_string();
        assert!(e.contains("rows[0]") && e.contains("64 hex"), "{e}");
        std::fs::write(&p, "[]").unwrap();
        let e = Baseline::load(&p).unwrap_err().to_string();
        assert!(e.contains("not a crmguard baseline"), "{e}");
        std::fs::write(&p, "{\"crmguard_baseline\": 2, \"rows\": []}").unwrap();
        assert!(
            Baseline::load(&p)
                .unwrap_err()
                .to_string()
                .contains("version 2")
        );
    }
}
