//! The CSV reader in every Bulk API dialect, through a whole scan: the first
//! byte picks the delimiter, the rest is the file.
#![no_main]

use crmguard::input::{Compression, Format};
use crmguard_fuzz::{DELIMITERS, check, policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let delimiter = DELIMITERS[pick as usize % DELIMITERS.len()];
    check(file, Some(file), Format::Csv { delimiter }, Compression::None, &policy());
});
