//! Quarantined rows waiting for their scan record. A scan can quarantine
//! millions of rows and its scan record (with the counts) can only be
//! written at the end, so the row decisions wait on disk, not in memory.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// The row decisions of one scan, in an anonymous temp file (deleted by the
/// OS however the process ends). Entries are `row` (u64 LE), the row's
/// blake3 (32 bytes), the length of `reasons` (u32 LE) and its bytes.
pub struct RowSpool {
    file: BufWriter<File>,
    len: u64,
}

impl RowSpool {
    pub fn new() -> io::Result<RowSpool> {
        Ok(RowSpool {
            file: BufWriter::with_capacity(256 * 1024, tempfile::tempfile()?),
            len: 0,
        })
    }

    /// Adds one quarantined row: its 1-based record number, its reason codes
    /// joined by `;` and the blake3 of its raw bytes.
    pub fn push(&mut self, row: u64, reasons: &str, row_blake3: &[u8; 32]) -> io::Result<()> {
        let n = u32::try_from(reasons.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "reasons too long"))?;
        self.file.write_all(&row.to_le_bytes())?;
        self.file.write_all(row_blake3)?;
        self.file.write_all(&n.to_le_bytes())?;
        self.file.write_all(reasons.as_bytes())?;
        self.len += 1;
        Ok(())
    }

    /// Rows pushed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn into_reader(self) -> io::Result<SpoolReader> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(SpoolReader {
            file: BufReader::with_capacity(256 * 1024, file),
            left: self.len,
            reasons: String::new(),
        })
    }
}

pub(crate) struct SpoolReader {
    file: BufReader<File>,
    left: u64,
    reasons: String,
}

impl SpoolReader {
    /// The next row: `(row, blake3, reasons)`.
    pub fn next_row(&mut self) -> io::Result<Option<(u64, [u8; 32], &str)>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let mut fixed = [0u8; 8 + 32 + 4];
        self.file.read_exact(&mut fixed)?;
        let row = u64::from_le_bytes(fixed[..8].try_into().expect("8 bytes"));
        let hash: [u8; 32] = fixed[8..40].try_into().expect("32 bytes");
        let n = u32::from_le_bytes(fixed[40..].try_into().expect("4 bytes")) as usize;
        let mut bytes = std::mem::take(&mut self.reasons).into_bytes();
        bytes.clear();
        bytes.resize(n, 0);
        self.file.read_exact(&mut bytes)?;
        self.reasons = String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "spool: reasons not UTF-8"))?;
        Ok(Some((row, hash, &self.reasons)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_in_order() {
        let mut spool = RowSpool::new().unwrap();
        let rows: Vec<(u64, String, [u8; 32])> = (1..=5000u64)
            .map(|i| {
                let reasons = "A;".repeat((i % 7) as usize) + "Z";
                (i * 3, reasons, *blake3::hash(&i.to_le_bytes()).as_bytes())
            })
            .collect();
        for (row, reasons, hash) in &rows {
            spool.push(*row, reasons, hash).unwrap();
        }
        assert_eq!(spool.len(), 5000);
        let mut r = spool.into_reader().unwrap();
        for (row, reasons, hash) in &rows {
            let (r_row, r_hash, r_reasons) = r.next_row().unwrap().unwrap();
            assert_eq!((r_row, &r_hash, r_reasons), (*row, hash, reasons.as_str()));
        }
        assert!(r.next_row().unwrap().is_none());
    }
}
