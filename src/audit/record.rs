//! The audit log's records and their line format (docs/audit.md).
//!
//! A line is compact JSON whose last field is `"hash"`; the hash covers the
//! line's own bytes with that field cut out. Checking works on those raw
//! bytes, so no JSON parser or serialiser can change what was hashed: the
//! parsed values are only used for the chain links and the schema.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// The `v` of every line this crmguard writes: the commit protocol, where
/// every append ends with a commit or recovery record.
pub const VERSION: u64 = 2;

/// The `v` of the logs the releases before the commit protocol wrote: scan
/// and row records only, a scan committed once its rows are all there.
/// Read as a legacy prefix of a log, never written (docs/audit.md,
/// "Version 1 logs").
pub const LEGACY_VERSION: u64 = 1;

/// The `prev` of the first record.
pub const GENESIS: blake3::Hash = blake3::Hash::from_bytes([0; 32]);

/// Longer lines are not crmguard's: a scan record is a few hundred bytes
/// plus its paths, a row record about 250. The bound keeps a reader from
/// buffering an arbitrary file as one "line".
pub const MAX_LINE: usize = 1 << 20;

const HASH_FIELD: &[u8] = b",\"hash\":\"";
/// `,"hash":"` + 64 hex digits + `"}`.
const SUFFIX_LEN: usize = HASH_FIELD.len() + 64 + 2;

/// What one `crmguard scan` of one input did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRecord {
    pub scan_id: String,
    /// When the scan started (the report's `started_at`), RFC 3339.
    pub at: String,
    pub user: String,
    pub host: String,
    pub crmguard_version: String,
    pub input: InputRef,
    pub outputs: Vec<OutputRef>,
    pub policy: PolicyRef,
    pub rows_total: u64,
    pub rows_clean: u64,
    pub rows_quarantined: u64,
    pub reasons: BTreeMap<String, u64>,
    pub file_findings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputRef {
    pub path: String,
    pub bytes: u64,
    pub blake3: String,
    /// The CRM object the file was checked for (`--object` or the policy's
    /// file patterns), when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRef {
    pub kind: String,
    pub path: String,
    pub rows: u64,
    pub blake3: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRef {
    pub path: Option<String>,
    pub blake3: String,
}

/// One quarantined row: where it was and why, and a hash that identifies its
/// bytes. Never the row's content: the log must not become a second copy of
/// the personal data the quarantine file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowRecord {
    pub scan_id: String,
    /// 1-based record number in the input (`crmguard_row`).
    pub row: u64,
    /// Codes joined by `;` (`crmguard_reasons`).
    pub reasons: String,
    pub row_blake3: String,
}

/// [`RowRecord`] with borrowed fields, so writing millions of them allocates
/// nothing per row. Same fields, same order.
#[derive(Serialize)]
pub(crate) struct RowBody<'a> {
    pub scan_id: &'a str,
    pub row: u64,
    pub reasons: &'a str,
    pub row_blake3: &'a str,
}

/// A scan's (or an approval's) outputs are in place: written after their
/// renames, so a scan record without one never vouches for files
/// (docs/audit.md, "Commit"). Names its scan or its approval, never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// When the outputs were in place, RFC 3339.
    pub at: String,
}

impl CommitRecord {
    /// The block the record closes.
    pub fn block(&self) -> Block<'_> {
        match (&self.scan_id, &self.approval_id) {
            (Some(id), None) => Block::Scan(id),
            (None, Some(id)) => Block::Approval(id),
            // check_line refuses these.
            _ => Block::Scan(""),
        }
    }
}

/// An append: a scan and its rows, or an approval, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block<'a> {
    Scan(&'a str),
    Approval(&'a str),
}

impl std::fmt::Display for Block<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Block::Scan(id) => write!(f, "scan {id}"),
            Block::Approval(id) => write!(f, "approval {id}"),
        }
    }
}

/// Rows released from a quarantine file by an approver (`crmguard
/// release`): who, why, which rows (their hashes, never their content), and
/// the file they were written to. Its commit record follows once that file
/// is in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub approval_id: String,
    /// When the release started, RFC 3339.
    pub at: String,
    pub user: String,
    pub host: String,
    pub crmguard_version: String,
    /// Who approved, as given (`--approver`).
    pub approver: String,
    /// Why (`--reason`).
    pub reason: String,
    /// The scan that quarantined the rows.
    pub scan_id: String,
    /// The quarantine file, as that scan recorded it.
    pub quarantine: FileRef,
    /// The file the rows were written to.
    pub released: OutputRef,
    pub policy: PolicyRef,
    pub rows: Vec<ReleasedRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    pub path: String,
    pub blake3: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasedRow {
    /// `crmguard_row`: the record number in the scanned input.
    pub row: u64,
    /// The reasons it was quarantined for.
    pub reasons: String,
    /// blake3 of its bytes: the same as the scan's row record.
    pub row_blake3: String,
}

/// Written by the next append after a process died in the middle of its
/// own (`kill -9`, a crash): what was found, and what was cut to make the
/// log whole again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryRecord {
    /// The unfinished scan, when its scan record was whole.
    pub scan_id: Option<String>,
    /// The unfinished approval, instead of a scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// [`OUTPUTS_NONE`] or [`OUTPUTS_UNKNOWN`].
    pub outputs: String,
    /// Bytes cut off the end of the log, their blake3 and how many whole
    /// records they held: the evidence of what was removed.
    pub cut_bytes: u64,
    pub cut_records: u64,
    pub cut_blake3: String,
    /// When, and by whom, the log was recovered.
    pub at: String,
    pub user: String,
    pub host: String,
}

/// The scan's records were incomplete and were cut: its process died
/// before its outputs could appear.
pub const OUTPUTS_NONE: &str = "none";
/// The scan's records were complete but it has no commit record: its
/// process died while putting its outputs in place, or just before.
pub const OUTPUTS_UNKNOWN: &str = "unknown";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Scan(Box<ScanRecord>),
    Row(RowRecord),
    Commit(CommitRecord),
    Recovery(RecoveryRecord),
    Approval(Box<ApprovalRecord>),
}

impl Record {
    /// Whether the record ends an append: after it, the log is whole.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Record::Commit(_) | Record::Recovery(_))
    }
}

/// A checked line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The line's `v`: [`VERSION`], or [`LEGACY_VERSION`] for a record an
    /// older release wrote.
    pub version: u64,
    pub seq: u64,
    /// The line's `prev`, hex.
    pub prev: String,
    pub hash: blake3::Hash,
    pub record: Record,
}

/// The envelope every line has, whatever its type. Fields are optional so a
/// missing one gets its own message rather than serde's.
#[derive(Deserialize)]
struct Envelope {
    v: Option<u64>,
    seq: Option<u64>,
    #[serde(rename = "type")]
    kind: Option<String>,
    prev: Option<String>,
    hash: Option<String>,
}

/// Writes lines; reuses one scratch buffer across records.
pub(crate) struct LineEncoder {
    scratch: Vec<u8>,
    version: u64,
}

impl Default for LineEncoder {
    fn default() -> LineEncoder {
        LineEncoder {
            scratch: Vec::new(),
            version: VERSION,
        }
    }
}

impl LineEncoder {
    /// Writes version 1 lines, as the releases before the commit protocol
    /// did: for tests of how they are read.
    #[cfg(test)]
    pub fn legacy() -> LineEncoder {
        LineEncoder {
            version: LEGACY_VERSION,
            ..LineEncoder::default()
        }
    }

    /// Appends one line (with its newline) to `out` and returns its hash.
    pub fn encode(
        &mut self,
        out: &mut Vec<u8>,
        seq: u64,
        kind: &str,
        body: &impl Serialize,
        prev: &blake3::Hash,
    ) -> io::Result<blake3::Hash> {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, body)?;
        // The body's fields go between the envelope's and `prev`: strip its
        // braces. Both record types have fields, so it is never `{}`.
        let fields = &self.scratch[1..self.scratch.len() - 1];
        debug_assert!(!fields.is_empty());
        let start = out.len();
        write!(out, "{}", line_opening(self.version, seq))?;
        write!(out, "{kind}\",")?;
        out.extend_from_slice(fields);
        out.extend_from_slice(b",\"prev\":\"");
        out.extend_from_slice(prev.to_hex().as_bytes());
        out.extend_from_slice(b"\"}");
        let hash = blake3::hash(&out[start..]);
        out.pop();
        out.extend_from_slice(HASH_FIELD);
        out.extend_from_slice(hash.to_hex().as_bytes());
        out.extend_from_slice(b"\"}\n");
        Ok(hash)
    }
}

/// How every line of version `v` with this `seq` begins: a line cut short
/// by a crash begins the same way, which tells it from a line crmguard did
/// not write.
pub(crate) fn line_opening(v: u64, seq: u64) -> String {
    format!("{{\"v\":{v},\"seq\":{seq},\"type\":\"")
}

/// The `v` a line says it has, read from its opening alone.
pub(crate) fn version_of(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"v\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Why a line is not a valid record; `seq` when the line had a readable one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    pub seq: Option<u64>,
    pub what: String,
}

fn bad(seq: Option<u64>, what: impl Into<String>) -> LineError {
    LineError {
        seq,
        what: what.into(),
    }
}

fn is_hex64(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The hash the line's content hashes to, if the line ends with a hash
/// field in crmguard's form: `(computed, claimed hex)`.
pub(crate) fn content_hash(body: &[u8]) -> Option<(blake3::Hash, &[u8])> {
    let cut = body.len().checked_sub(SUFFIX_LEN)?;
    let suffix = &body[cut..];
    if !suffix.starts_with(HASH_FIELD) || !suffix.ends_with(b"\"}") {
        return None;
    }
    let claimed = &suffix[HASH_FIELD.len()..HASH_FIELD.len() + 64];
    if !is_hex64(claimed) {
        return None;
    }
    let mut h = blake3::Hasher::new();
    h.update(&body[..cut]);
    h.update(b"}");
    Some((h.finalize(), claimed))
}

/// Checks one line on its own (with its `\n`): complete, JSON, version 2
/// (or 1, with the record types version 1 had), hash matching the bytes, a
/// known type with its fields. The links between lines are the chain's
/// business.
pub(crate) fn check_line(line: &[u8]) -> Result<Entry, LineError> {
    let Some(body) = line.strip_suffix(b"\n") else {
        return Err(bad(None, "truncated record (no end of line)"));
    };
    // crmguard writes each line whole, newline last: a line that has its
    // newline was never cut short by a crash, however incomplete it looks.
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(bad(None, "a blank line, which crmguard never writes"));
    }
    let env: Envelope = match serde_json::from_slice(body) {
        Ok(env) => env,
        Err(e) if e.is_eof() => {
            return Err(bad(
                None,
                "incomplete JSON before the end of the line, which crmguard never writes",
            ));
        }
        Err(e) => return Err(bad(None, format!("not a JSON record: {e}"))),
    };
    let version = version(&env)?;
    let Some(seq) = env.seq.filter(|&s| s > 0) else {
        return Err(bad(None, "no \"seq\", or seq 0"));
    };
    let computed = check_hash(body, seq, env.hash.as_deref())?;
    let Some(prev) = env.prev.filter(|p| is_hex64(p.as_bytes())) else {
        return Err(bad(
            Some(seq),
            "\"prev\" is missing or not 64 lowercase hex digits",
        ));
    };
    if version == LEGACY_VERSION
        && let Some(kind @ ("commit" | "recovery" | "approval")) = env.kind.as_deref()
    {
        // Version 1 had scan and row records only; commit and recovery
        // records came with version 2.
        return Err(bad(
            Some(seq),
            format!("a {kind} record with version {LEGACY_VERSION}, which has none"),
        ));
    }
    let record = parse_record(body, env.kind.as_deref(), seq)?;
    Ok(Entry {
        version,
        seq,
        prev,
        hash: computed,
        record,
    })
}

/// The record's version, one this crmguard reads.
fn version(env: &Envelope) -> Result<u64, LineError> {
    match env.v {
        Some(v @ (VERSION | LEGACY_VERSION)) => Ok(v),
        Some(v) => Err(bad(
            env.seq,
            format!(
                "unsupported version {v} (this crmguard reads versions {LEGACY_VERSION} \
                 and {VERSION}: a newer crmguard wrote it?)"
            ),
        )),
        None => Err(bad(env.seq, "no \"v\": not a crmguard audit record")),
    }
}

/// The hash of the line's content, which must be its last field and the
/// `hash` serde read (`claimed`).
fn check_hash(body: &[u8], seq: u64, claimed: Option<&str>) -> Result<blake3::Hash, LineError> {
    let Some(claimed) = claimed else {
        return Err(bad(Some(seq), "no \"hash\""));
    };
    let Some((computed, suffix_hash)) = content_hash(body) else {
        return Err(bad(
            Some(seq),
            "\"hash\" is not the last field or not 64 lowercase hex digits",
        ));
    };
    // A second, earlier "hash" key would make serde fail as a duplicate; this
    // catches a suffix that is not the hash field serde read.
    if suffix_hash != claimed.as_bytes() {
        return Err(bad(Some(seq), "\"hash\" is not the last field"));
    }
    if computed.to_hex().as_bytes() != suffix_hash {
        return Err(bad(Some(seq), "hash does not match its content (edited?)"));
    }
    Ok(computed)
}

/// The record a line of type `kind` holds, with its fields checked.
fn parse_record(body: &[u8], kind: Option<&str>, seq: u64) -> Result<Record, LineError> {
    Ok(match kind {
        Some("scan") => {
            let scan: ScanRecord = serde_json::from_slice(body)
                .map_err(|e| bad(Some(seq), format!("scan record: {e}")))?;
            if scan.at.parse::<jiff::Timestamp>().is_err() {
                return Err(bad(
                    Some(seq),
                    format!("scan record: at {:?} is not an RFC 3339 time", scan.at),
                ));
            }
            Record::Scan(Box::new(scan))
        }
        Some("row") => Record::Row(
            serde_json::from_slice(body).map_err(|e| bad(Some(seq), format!("row record: {e}")))?,
        ),
        Some("commit") => {
            let c: CommitRecord = serde_json::from_slice(body)
                .map_err(|e| bad(Some(seq), format!("commit record: {e}")))?;
            if c.scan_id.is_some() == c.approval_id.is_some() {
                return Err(bad(
                    Some(seq),
                    "commit record: names neither or both of scan_id and approval_id",
                ));
            }
            Record::Commit(c)
        }
        Some("approval") => Record::Approval(Box::new(
            serde_json::from_slice(body)
                .map_err(|e| bad(Some(seq), format!("approval record: {e}")))?,
        )),
        Some("recovery") => {
            let r: RecoveryRecord = serde_json::from_slice(body)
                .map_err(|e| bad(Some(seq), format!("recovery record: {e}")))?;
            if r.outputs != OUTPUTS_NONE && r.outputs != OUTPUTS_UNKNOWN {
                return Err(bad(
                    Some(seq),
                    format!("recovery record: outputs {:?}", r.outputs),
                ));
            }
            Record::Recovery(r)
        }
        Some(other) => return Err(bad(Some(seq), format!("unknown record type {other:?}"))),
        None => return Err(bad(Some(seq), "no \"type\"")),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn row_body(scan_id: &str, row: u64) -> RowRecord {
        RowRecord {
            scan_id: scan_id.into(),
            row,
            reasons: "CSV_INJECTION;FIELD_TOO_LONG".into(),
            row_blake3: blake3::hash(row.to_string().as_bytes())
                .to_hex()
                .to_string(),
        }
    }

    fn one_line(seq: u64, prev: &blake3::Hash) -> (Vec<u8>, blake3::Hash) {
        let mut out = Vec::new();
        let h = LineEncoder::default()
            .encode(&mut out, seq, "row", &row_body("abc", seq), prev)
            .unwrap();
        (out, h)
    }

    #[test]
    fn hash_covers_the_line_without_its_hash_field() {
        let (line, h) = one_line(1, &GENESIS);
        let text = std::str::from_utf8(&line).unwrap();
        let zeros = "0".repeat(64);
        let expected_content = format!(
            "{{\"v\":2,\"seq\":1,\"type\":\"row\",\"scan_id\":\"abc\",\"row\":1,\
             \"reasons\":\"CSV_INJECTION;FIELD_TOO_LONG\",\"row_blake3\":\"{}\",\"prev\":\"{zeros}\"}}",
            blake3::hash(b"1").to_hex()
        );
        // Hashed independently of the encoder: the documented rule.
        assert_eq!(h, blake3::hash(expected_content.as_bytes()));
        let expected_line = format!(
            "{},\"hash\":\"{}\"}}\n",
            &expected_content[..expected_content.len() - 1],
            h.to_hex()
        );
        assert_eq!(text, expected_line);
    }

    #[test]
    fn a_line_checks_and_parses_back_to_what_was_written() {
        let (line, h) = one_line(3, &GENESIS);
        let e = check_line(&line).unwrap();
        assert_eq!(e.seq, 3);
        assert_eq!(e.hash, h);
        assert_eq!(e.prev, GENESIS.to_hex().as_str());
        assert_eq!(e.record, Record::Row(row_body("abc", 3)));
    }

    #[test]
    fn borrowed_row_body_serialises_like_the_record() {
        let rec = row_body("abc", 9);
        let borrowed = RowBody {
            scan_id: &rec.scan_id,
            row: rec.row,
            reasons: &rec.reasons,
            row_blake3: &rec.row_blake3,
        };
        assert_eq!(
            serde_json::to_string(&borrowed).unwrap(),
            serde_json::to_string(&rec).unwrap()
        );
    }

    #[test]
    fn any_changed_byte_is_caught() {
        let (line, _) = one_line(1, &GENESIS);
        for i in 0..line.len() - 1 {
            let mut edited = line.clone();
            edited[i] = if edited[i] == b'1' { b'2' } else { b'1' };
            assert!(check_line(&edited).is_err(), "byte {i} changed unnoticed");
        }
    }

    #[test]
    fn edits_are_named() {
        let (line, _) = one_line(1, &GENESIS);
        let text = String::from_utf8(line).unwrap();
        let edited = text.replace("\"row\":1,", "\"row\":2,");
        let err = check_line(edited.as_bytes()).unwrap_err();
        assert_eq!(err.seq, Some(1));
        assert!(err.what.contains("does not match its content"), "{err:?}");

        let truncated = &text.as_bytes()[..text.len() - 10];
        assert!(
            check_line(truncated)
                .unwrap_err()
                .what
                .contains("truncated")
        );
        let mut cut = text.as_bytes()[..text.len() - 10].to_vec();
        cut.push(b'\n');
        // With its newline it was not cut by a crash, whatever it lacks.
        let what = check_line(&cut).unwrap_err().what;
        assert!(
            what.contains("incomplete JSON before the end of the line"),
            "{what}"
        );
        let what = check_line(b" \n").unwrap_err().what;
        assert!(what.contains("a blank line"), "{what}");

        assert!(
            check_line(b"hello\n")
                .unwrap_err()
                .what
                .contains("not a JSON")
        );
        let v3 = text.replacen("\"v\":2", "\"v\":3", 1);
        assert!(
            check_line(v3.as_bytes())
                .unwrap_err()
                .what
                .contains("unsupported version 3")
        );
        // Pretty-printing the same JSON changes nothing a parser sees, but the
        // hash is over bytes.
        let spaced = text.replacen("\"row\":1", "\"row\": 1", 1);
        assert!(check_line(spaced.as_bytes()).is_err());
    }

    #[test]
    fn version_1_lines_are_read_with_the_types_version_1_had() {
        let mut out = Vec::new();
        LineEncoder::legacy()
            .encode(&mut out, 1, "row", &row_body("abc", 1), &GENESIS)
            .unwrap();
        assert!(out.starts_with(b"{\"v\":1,\"seq\":1,\"type\":\"row\","));
        let e = check_line(&out).unwrap();
        assert_eq!((e.version, e.seq), (LEGACY_VERSION, 1));
        assert_eq!(version_of(&out), Some(1));
        let commit = CommitRecord {
            scan_id: Some("abc".into()),
            approval_id: None,
            at: "2026-01-01T00:00:00Z".into(),
        };
        let mut out = Vec::new();
        LineEncoder::legacy()
            .encode(&mut out, 2, "commit", &commit, &GENESIS)
            .unwrap();
        let err = check_line(&out).unwrap_err();
        assert!(err.what.contains("commit record with version 1"), "{err:?}");
        let mut out = Vec::new();
        LineEncoder::default()
            .encode(&mut out, 2, "commit", &commit, &GENESIS)
            .unwrap();
        assert_eq!(check_line(&out).unwrap().version, VERSION);
    }

    #[test]
    fn a_duplicate_hash_key_is_rejected() {
        let (line, h) = one_line(1, &GENESIS);
        let text = String::from_utf8(line).unwrap();
        let dup = text.replacen(
            "{\"v\":2,",
            &format!("{{\"hash\":\"{}\",\"v\":2,", h.to_hex()),
            1,
        );
        assert!(check_line(dup.as_bytes()).is_err());
    }
}
