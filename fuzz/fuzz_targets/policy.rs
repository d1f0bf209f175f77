//! The policy loader: any bytes as a policy file load or fail with an error,
//! never a panic; a policy that loads scans a CSV and an NDJSON file with
//! every promise kept. (Tagging is turned off for the check: it adds
//! columns to clean rows on purpose. The detector stays off: a policy's
//! model path is checked by the loader only.)
#![no_main]

use crmguard::input::{Compression, Format};
use crmguard::policy::Policy;
use crmguard_fuzz::check;
use libfuzzer_sys::fuzz_target;

const CSV: &[u8] = b"Name,is_synthetic,data_source,Phone,Notes,ai_model_version\r\n\
Ada,no,web,+1 555 0100,- call back,\r\n\
Bob,yes,ai_generated,,@brand thanks,openai/gpt-4o\r\n\
\"Cy, Jr.\",maybe,,=1+1,\"multi\nline\",\n\
short,row\n";
const NDJSON: &[u8] = b"{\"is_synthetic\":\"no\",\"data_source\":\"web\",\"Notes\":\"-A1\"}\n\
[1,2]\n\n{\"is_synthetic\":true,\"data_source\":\"vendor:x\",\"ai_model_version\":\"m\"}";

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crmguard.toml");
    std::fs::write(&path, data).unwrap();
    let Ok(mut policy) = Policy::load(&path) else {
        return;
    };
    policy.detector.enabled = false;
    policy.tagging = None;
    check(CSV, Some(CSV), Format::Csv { delimiter: b',' }, Compression::None, &policy);
    check(NDJSON, Some(NDJSON), Format::Ndjson, Compression::None, &policy);
});
