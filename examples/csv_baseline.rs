//! The benchmark's floor: a plain csv-crate parse of a file, counting
//! records and bytes, nothing else. `crmguard scan` is measured against it
//! (bench/run.sh).

// A developer's tool: it prints to the terminal it was run from, with
// none of the files or names crmguard escapes (src/terminal.rs).
#![allow(clippy::disallowed_macros)]

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: csv_baseline FILE")?;
    let start = Instant::now();
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_path(&path)?;
    let mut record = csv::ByteRecord::new();
    let (mut records, mut bytes) = (0u64, 0u64);
    while rdr.read_byte_record(&mut record)? {
        records += 1;
        bytes += record.as_slice().len() as u64;
    }
    eprintln!(
        "{records} records, {bytes} field bytes in {:.3}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
