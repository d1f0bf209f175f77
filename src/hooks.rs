//! Pauses for tests. With `CRMGUARD_TEST_PAUSE=POINT`, the process stops
//! at the step named POINT, says `crmguard: test pause at POINT` on stderr
//! and waits there until a signal arrives (or a minute passes), so an
//! integration test can `kill -9` or interrupt the real binary at an exact
//! step: the only way to make "killed in the middle of the audit append"
//! deterministic. Unset, a point costs one look at a cached value.
//!
//! The points: `append` (half of the first write of a scan's audit records
//! is in the log), `commit` (the records and the report are written and
//! synced; nothing is renamed yet), `release` (a release's file is in place,
//! its approval record has no commit record yet).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn requested() -> Option<&'static str> {
    static POINT: OnceLock<Option<String>> = OnceLock::new();
    POINT
        .get_or_init(|| std::env::var("CRMGUARD_TEST_PAUSE").ok())
        .as_deref()
}

/// Whether a test asked to pause at `point`.
pub fn armed(point: &str) -> bool {
    requested() == Some(point)
}

/// Pauses at `point` if a test asked for it, until `signalled` is set.
pub fn pause(point: &str, signalled: &AtomicBool) {
    if !armed(point) {
        return;
    }
    crate::errln!("crmguard: test pause at {point}");
    let until = Instant::now() + Duration::from_secs(60);
    while !signalled.load(Ordering::SeqCst) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}
