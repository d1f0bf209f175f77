//! The stable reason codes of the disclosure contract (docs/reason-codes.md).
//!
//! Codes are identifiers that users grep for, filter on in spreadsheets and
//! key dashboards on: a code is never renamed or reused once shipped. The
//! discriminants double as bit positions in [`ReasonSet`], whose iteration
//! order (and so the order of `crmguard_reasons`) is the order listed here.

use std::fmt;

macro_rules! reasons {
    ($($variant:ident = $code:literal: $doc:literal,)+) => {
        /// A row-level reason for quarantine.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Reason { $(#[doc = $doc] $variant,)+ }

        impl Reason {
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            pub fn code(self) -> &'static str {
                match self { $(Reason::$variant => $code,)+ }
            }

            pub fn description(self) -> &'static str {
                match self { $(Reason::$variant => $doc,)+ }
            }

            pub fn from_code(code: &str) -> Option<Reason> {
                match code { $($code => Some(Reason::$variant),)+ _ => None }
            }
        }
    };
}

reasons! {
    MalformedRow = "MALFORMED_ROW": "wrong field count, unparseable JSON, or a JSON value that is not an object",
    EncodingInvalid = "ENCODING_INVALID": "the row is not valid UTF-8; its bytes are kept as they were",
    MissingDisclosure = "MISSING_DISCLOSURE": "a required disclosure value is absent or empty",
    InvalidBoolean = "INVALID_BOOLEAN": "is_synthetic / human_reviewed outside the accepted set",
    InvalidTimestamp = "INVALID_TIMESTAMP": "generation_timestamp does not parse, has no offset, or is out of range",
    FutureTimestamp = "FUTURE_TIMESTAMP": "generated after the scan time plus the allowed skew",
    InvalidSourceType = "INVALID_SOURCE_TYPE": "digital_source_type is not a known term",
    InvalidModelVersion = "INVALID_MODEL_VERSION": "ai_model_version has characters outside [A-Za-z0-9._:/@+-]",
    DisclosureInconsistent = "DISCLOSURE_INCONSISTENT": "the disclosure fields contradict each other",
    ProvenanceInvalid = "PROVENANCE_INVALID": "the provenance hash is malformed, or covers a field the row does not have",
    ProvenanceMismatch = "PROVENANCE_MISMATCH": "the recomputed provenance hash differs: the content changed after generation",
    UntrustedAiSource = "UNTRUSTED_AI_SOURCE": "model or source outside the policy's allow-list",
    SyntheticNotAllowed = "SYNTHETIC_NOT_ALLOWED": "a disclosed synthetic row that the policy keeps out of this import",
    ApprovalRequired = "APPROVAL_REQUIRED": "a disclosed synthetic row bound for an object whose synthetic rows need an approver",
    UndisclosedAiText = "UNDISCLOSED_AI_TEXT": "the detector finds machine-generated text in a row marked human or unmarked",
    UndisclosedAiMedia = "UNDISCLOSED_AI_MEDIA": "a media file's C2PA manifest or XMP says AI-generated, in a row marked human or unmarked",
    MediaProvenanceInvalid = "MEDIA_PROVENANCE_INVALID": "a media file's C2PA manifest does not validate (signature or hash): tampered media",
    MediaMissing = "MEDIA_MISSING": "a media file the row names is not there",
    CsvInjection = "CSV_INJECTION": "a cell a spreadsheet would run as a formula, by the policy's [injection] mode",
    ControlCharacter = "CONTROL_CHARACTER": "NUL or another C0 control character other than tab, CR, LF",
    FieldTooLong = "FIELD_TOO_LONG": "a value over the target's length limit",
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The set of reasons collected for one row: a row carries every code that
/// applies, each once, in a stable order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ReasonSet(u32);

const _: () = assert!(Reason::ALL.len() <= 32);

impl ReasonSet {
    pub const fn empty() -> ReasonSet {
        ReasonSet(0)
    }

    pub fn insert(&mut self, r: Reason) {
        self.0 |= 1 << r as u8;
    }

    pub fn contains(self, r: Reason) -> bool {
        self.0 & (1 << r as u8) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: ReasonSet) -> ReasonSet {
        ReasonSet(self.0 | other.0)
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The codes in the order of [`Reason::ALL`], whose i-th code is bit i:
    /// set bits only, so an empty set (most rows) costs one test.
    pub fn iter(self) -> impl Iterator<Item = Reason> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let i = bits.trailing_zeros() as usize;
            bits &= bits.wrapping_sub(1);
            Reason::ALL.get(i).copied()
        })
    }

    /// The `crmguard_reasons` cell: codes joined by `;`.
    pub fn joined(self) -> String {
        let mut s = String::new();
        for r in self.iter() {
            if !s.is_empty() {
                s.push(';');
            }
            s.push_str(r.code());
        }
        s
    }
}

impl FromIterator<Reason> for ReasonSet {
    fn from_iter<I: IntoIterator<Item = Reason>>(iter: I) -> Self {
        let mut set = ReasonSet::empty();
        for r in iter {
            set.insert(r);
        }
        set
    }
}

macro_rules! file_codes {
    ($($variant:ident = $code:literal: $doc:literal,)+) => {
        /// File-level findings: in the report, the summary and the exit status,
        /// never on a row.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FileCode { $(#[doc = $doc] $variant,)+ }

        impl FileCode {
            pub const ALL: &'static [FileCode] = &[$(FileCode::$variant,)+];

            pub fn code(self) -> &'static str {
                match self { $(FileCode::$variant => $code,)+ }
            }

            pub fn description(self) -> &'static str {
                match self { $(FileCode::$variant => $doc,)+ }
            }
        }
    };
}

file_codes! {
    MissingDisclosureColumns = "MISSING_DISCLOSURE_COLUMNS": "the header lacks required disclosure columns: every row is quarantined with MISSING_DISCLOSURE",
    HeaderDuplicate = "HEADER_DUPLICATE": "two columns share a name, ignoring case, or one has the name of a column crmguard adds (a quarantine file scanned again): an error, nothing written",
    HeaderUnsafe = "HEADER_UNSAFE": "a column name would run as a formula, or holds a control character: an error, nothing written",
    BomPresent = "BOM_PRESENT": "a UTF-8 byte-order mark was found; outputs are written without it",
    LineEndingMixed = "LINE_ENDING_MIXED": "records end with more than one of LF, CRLF and CR alone",
    TargetLimitExceeded = "TARGET_LIMIT_EXCEEDED": "the file exceeds the target's limits (bytes, records or columns per upload)",
    EmptyFile = "EMPTY_FILE": "the file has no bytes at all, or blank lines and spaces only: nothing to import (was the export cut short?)",
    EncodingNotUtf8 = "ENCODING_NOT_UTF8": "rows are not UTF-8 but read as a legacy encoding (Windows-1252, Latin-1...)",
    CompressionMismatch = "COMPRESSION_MISMATCH": "the content is compressed (or not) against what the file name says; read as what it is",
    MediaColumnMissing = "MEDIA_COLUMN_MISSING": "a column [media] columns names is not in the file (JSON: no record has the key): no media file is checked through it",
}

impl fmt::Display for FileCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for FileCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_sets_iterate_in_code_order() {
        // Bit i is the i-th of Reason::ALL: iterating set bits relies on it.
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
        let all = Reason::ALL;
        let mut sets = vec![ReasonSet::empty()];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i..] {
                let mut s = ReasonSet::empty();
                s.insert(*a);
                s.insert(*b);
                sets.push(s);
            }
        }
        let mut every = ReasonSet::empty();
        all.iter().for_each(|r| every.insert(*r));
        sets.push(every);
        for s in sets {
            let want: Vec<Reason> = all.iter().copied().filter(|r| s.contains(*r)).collect();
            assert_eq!(s.iter().collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &r in Reason::ALL {
            assert_eq!(Reason::from_code(r.code()), Some(r));
            assert!(seen.insert(r.code()), "duplicate code {}", r.code());
        }
        assert_eq!(Reason::from_code("NOT_A_CODE"), None);
    }

    #[test]
    fn set_keeps_stable_order_without_duplicates() {
        let set: ReasonSet = [
            Reason::CsvInjection,
            Reason::MalformedRow,
            Reason::CsvInjection,
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 2);
        assert_eq!(set.joined(), "MALFORMED_ROW;CSV_INJECTION");
        assert!(!set.contains(Reason::FieldTooLong));
    }
}
