//! INVALID_TIMESTAMP and FUTURE_TIMESTAMP: `generation_timestamp` must be
//! RFC 3339 with an offset, within Salesforce's datetime range, and not later
//! than the scan time plus the policy's skew.

use jiff::{SignedDuration, Timestamp};

use super::{Context, RowView, Verdict};
use crate::spec::{Field, Reason};

/// Salesforce's datetime range: 1700-01-01 to 4000-12-31.
const EARLIEST: i64 = -8_520_336_000;
const LATEST: i64 = 64_092_124_800;

pub fn check(row: &RowView, ctx: &Context, v: &mut Verdict) {
    let Some(value) = row.non_empty(Field::GenerationTimestamp) else {
        return;
    };
    match parse(&value) {
        None => v.add(Reason::InvalidTimestamp),
        Some(ts) => {
            let skew = SignedDuration::from_secs(ctx.policy.timestamp_skew_seconds as i64);
            if ctx
                .scan_time
                .checked_add(skew)
                .is_ok_and(|limit| ts > limit)
            {
                v.add(Reason::FutureTimestamp);
            }
        }
    }
}

/// Parses an RFC 3339 timestamp; `None` without an offset or out of range.
pub fn parse(value: &str) -> Option<Timestamp> {
    parse_checked(value).ok()
}

/// Why a time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// Not RFC 3339, or without an offset.
    NotRfc3339,
    /// A valid time outside Salesforce's datetime range.
    OutOfRange,
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeError::NotRfc3339 => {
                "is not an RFC 3339 time with an offset (e.g. 2026-05-01T10:00:00Z)"
            }
            TimeError::OutOfRange => {
                "is outside Salesforce's datetime range, 1700-01-01T00:00:00Z to \
                 4000-12-31T00:00:00Z"
            }
        })
    }
}

/// [`parse`], saying why a time is refused.
pub fn parse_checked(value: &str) -> Result<Timestamp, TimeError> {
    let value = value.trim();
    // jiff also takes ISO 8601 forms RFC 3339 does not (e.g. bracketed time
    // zone names); require the RFC's shape: a date, `T` or space, a time.
    let bytes = value.as_bytes();
    if bytes.len() < 20
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || value.contains('[')
        || !rfc3339_offset(bytes)
    {
        return Err(TimeError::NotRfc3339);
    }
    let ts: Timestamp = match value.parse() {
        Ok(ts) => ts,
        // jiff's timestamps end a day short of the years -9999 and 9999: a
        // well-formed time beyond is out of range, not malformed.
        Err(_) => {
            let pieces = jiff::fmt::temporal::Pieces::parse(value);
            return Err(match pieces {
                Ok(p) if p.time().is_some() && p.offset().is_some() => TimeError::OutOfRange,
                _ => TimeError::NotRfc3339,
            });
        }
    };
    if !(EARLIEST..=LATEST).contains(&ts.as_second()) {
        return Err(TimeError::OutOfRange);
    }
    Ok(ts)
}

/// Whether `value` ends in an offset of hours to 23 and minutes to 59: `Z`,
/// `+HH:MM` as RFC 3339 writes it, or `+HHMM` as Salesforce's REST API does
/// (`.000+0000`), which was always taken. jiff takes offsets to ±25:59:59,
/// which no system that reads the value back would.
fn rfc3339_offset(value: &[u8]) -> bool {
    if matches!(value.last(), Some(b'Z' | b'z')) {
        return true;
    }
    let (sign, h1, h2, m1, m2) = match value.last_chunk::<6>() {
        Some(&[s, h1, h2, b':', m1, m2]) => (s, h1, h2, m1, m2),
        _ => match value.last_chunk::<5>() {
            Some(&[s, h1, h2, m1, m2]) => (s, h1, h2, m1, m2),
            None => return false,
        },
    };
    let two = |a: u8, b: u8| {
        (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
    };
    matches!(sign, b'+' | b'-')
        && two(h1, h2).is_some_and(|h| h <= 23)
        && two(m1, m2).is_some_and(|m| m <= 59)
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn range_constants_are_salesforce_bounds() {
        assert_eq!(
            Timestamp::from_second(EARLIEST).unwrap().to_string(),
            "1700-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_second(LATEST).unwrap().to_string(),
            "4000-12-31T00:00:00Z"
        );
    }

    #[test]
    fn parses_rfc3339_with_offset_only() {
        assert!(parse("2026-05-01T10:00:00Z").is_some());
        assert!(parse("2026-05-01T10:00:00.123+02:00").is_some());
        assert!(parse("2026-05-01 10:00:00-05:00").is_some());
        assert!(parse("2026-05-01T10:00:00+23:59").is_some());
        assert!(parse("2026-05-01t10:00:00z").is_some());
        assert!(
            parse("2026-05-01T10:00:00.000+0000").is_some(),
            "Salesforce's REST API"
        );
        for bad in [
            "2026-05-01T10:00:00",
            "2026-05-01",
            "01/05/2026 10:00",
            "2026-13-01T10:00:00Z",
            "1699-12-31T23:59:59Z",
            "4001-01-01T00:00:00Z",
            "2026-05-01T10:00:00Z[Europe/Paris]",
            "yesterday",
            "2026-01-01T00:00:00+25:00",
            "2026-01-01T00:00:00-24:00",
            "2026-01-01T00:00:00+05:60",
            "2026-01-01T00:00:00+05:00:30",
            "2026-01-01T00:00:00+2500",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            parse_checked("9999-12-31T23:59:59Z"),
            Err(TimeError::OutOfRange)
        );
        assert_eq!(
            parse_checked("1699-12-31T23:59:59Z"),
            Err(TimeError::OutOfRange)
        );
        assert_eq!(
            parse_checked("2026-13-01T10:00:00Z"),
            Err(TimeError::NotRfc3339)
        );
        assert_eq!(parse_checked("yesterday"), Err(TimeError::NotRfc3339));
        assert_eq!(
            parse_checked("9999-12-31T23:59:59"),
            Err(TimeError::NotRfc3339),
            "no offset"
        );
        assert_eq!(
            parse_checked("-009999-01-01T00:00:00+01:00"),
            Err(TimeError::NotRfc3339),
            "not the RFC's four-digit year"
        );
    }

    #[test]
    fn future_beyond_skew_only() {
        let row = |ts: &'static str| verdict(&human(&[("generation_timestamp", ts)]));
        // Scan time in the tests is 2026-06-01T12:00:00Z, skew 300 s.
        assert_eq!(codes(&row("2026-06-01T12:04:59Z")), "");
        assert_eq!(codes(&row("2026-06-01T12:05:01Z")), "FUTURE_TIMESTAMP");
        assert_eq!(codes(&row("2026-06-01T14:04:00+02:00")), "");
        assert_eq!(codes(&row("not a time")), "INVALID_TIMESTAMP");
    }
}
