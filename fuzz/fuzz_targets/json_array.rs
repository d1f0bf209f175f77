//! The JSON array splitter, through a whole scan.
#![no_main]

use crmguard::input::{Compression, Format};
use crmguard_fuzz::{check, policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(data, Some(data), Format::Json, Compression::None, &policy());
});
