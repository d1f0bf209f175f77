//! gzip and zstd inputs, through a whole scan. The first byte picks the
//! compression, the format (and CSV delimiter), and whether the rest is
//! compressed here first (so that records reach the readers) or is the
//! compressed file itself (so that the decoders meet damaged streams).
#![no_main]

use crmguard::input::{Compression, Format};
use crmguard_fuzz::{DELIMITERS, check, compress, decompress, policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let compression = if pick & 1 == 0 { Compression::Gzip } else { Compression::Zstd };
    let format = match (pick >> 2) % 3 {
        0 => Format::Csv { delimiter: DELIMITERS[(pick >> 4) as usize % DELIMITERS.len()] },
        1 => Format::Json,
        _ => Format::Ndjson,
    };
    if pick & 2 == 0 {
        check(&compress(rest, compression), Some(rest), format, compression, &policy());
    } else {
        let plain = decompress(rest);
        check(rest, plain.as_deref(), format, compression, &policy());
    }
});
