//! The serial part of a CSV scan, timed alone: `read_stages FILE` opens the
//! file as `crmguard scan` does (hashing it with blake3 as it reads), then
//! times, on this one thread, what the scan's reader thread does (find the
//! records and copy their bytes) and, separately, what it leaves to the
//! workers (unquote the fields, check UTF-8). The first is serial work
//! that core counts cannot shrink (docs/benchmarks.md, scaling). Linux only
//! (CPU time from /proc).

// A developer's tool: it prints to the terminal it was run from, with
// none of the files or names crmguard escapes (src/terminal.rs).
#![allow(clippy::disallowed_macros)]

use std::path::Path;

use crmguard::input::{Format, Row, open_input, reader_for};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: read_stages FILE")?;
    let path = Path::new(&path);
    let limit = 16 << 20;

    let start = cpu_seconds();
    let src = open_input(path, None)?;
    let mut reader = reader_for(Format::Csv { delimiter: b',' }, src.reader, path, limit)?;
    let mut row = Row::default();
    let (mut records, mut bytes) = (0u64, 0u64);
    while reader.split_row(&mut row)? {
        records += 1;
        bytes += row.raw.len() as u64;
    }
    let read = cpu_seconds() - start;

    // The workers' share, over the same records held in memory.
    let src = open_input(path, None)?;
    let mut reader = reader_for(Format::Csv { delimiter: b',' }, src.reader, path, limit)?;
    let parser = reader.parser();
    let mut rows = Vec::new();
    let mut row = Row::default();
    let mut parse = 0.0;
    loop {
        while rows.len() < 4096 && reader.split_row(&mut row)? {
            rows.push(std::mem::take(&mut row));
        }
        if rows.is_empty() {
            break;
        }
        let start = cpu_seconds();
        for r in &mut rows {
            parser.parse(r)?;
        }
        parse += cpu_seconds() - start;
        rows.clear();
    }
    eprintln!(
        "{records} records, {bytes} bytes, CPU time of this thread: reader's share (split, \
         copy, hash) {read:.2} s, workers' share (parse) {parse:.2} s"
    );
    Ok(())
}

/// CPU time of this thread (user + system), from /proc (Linux), in 10 ms
/// ticks: CPU time, not wall time, so that a busy machine does not count.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("Linux /proc");
    // The fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}
