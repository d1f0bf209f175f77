//! `crmguard report merge`: the reports of one dump's shards, scanned apart
//! (one `scan` per shard, or per machine), summed into one report of the
//! same schema (docs/report.schema.json). Counts and reasons add up,
//! findings are united, every input's and output's hash is kept
//! (`merged_from`, `outputs`).
//!
//! It works on the reports' JSON rather than on [`super::Report`]: a
//! report is read back here, and every count it holds, known to this
//! version or not, must either add up or stay the first report's.
//!
//! Reports only add up when they mean the same thing: the same policy, the
//! same crmguard and the same detector thresholds. Anything else is refused
//! with the two files named, rather than summed into a number that belongs
//! to no policy.

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde_json::{Map, Value, json};

use super::{REPORT_SCHEMA, REVIEW_LISTED};
use crate::error::Located;

/// A per-file report is at most a few megabytes (its lists are capped at
/// 1,000 entries); a merged one grows by about a kilobyte a part, so 256
/// MiB is some 200,000 shards. The cap keeps `report merge /dev/zero` from
/// being read into memory without end.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// One report to merge: its file, its bytes, its JSON.
pub struct Part {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub report: Value,
}

/// Parses a report file; errors point at the line and column.
pub fn parse(path: &Path, bytes: Vec<u8>) -> anyhow::Result<Part> {
    let report: Value = serde_json::from_slice(&bytes)
        .map_err(|e| crate::error::json_error(path, &e, "not a crmguard report"))?;
    let fail = |msg: String| Located::new(path, 1, 1, msg);
    match report.get("schema").map(|v| (v, v.as_u64())) {
        Some((_, Some(s))) if s == u64::from(REPORT_SCHEMA) => {}
        Some((_, Some(s))) => bail!(fail(format!(
            "report schema {s} is not this crmguard's ({REPORT_SCHEMA})"
        ))),
        // A schema that is there but no number (a string, another tool's
        // versioning) is not a missing one: saying "no `schema`" would send
        // the reader looking for a key that is in the file.
        Some((v, None)) => bail!(fail(format!(
            "not a crmguard report: `schema` is {}, not this crmguard's ({REPORT_SCHEMA})",
            crate::error::excerpt(&v.to_string())
        ))),
        None => bail!(fail("not a crmguard report: no `schema`".into())),
    }
    // The run's report (`scan --report json=…`) has the per-file schema's
    // number and holds the reports to merge, not counts of its own: "not a
    // crmguard report" would deny what crmguard wrote.
    if report.get("rows_total").is_none()
        && report.get("files").is_some_and(Value::is_array)
        && report.get("totals").is_some()
    {
        bail!(fail(
            "a run's report (scan --report json=…), not a file's: merge the files' reports \
             (NAME.report.json in the out dir)"
                .into()
        ));
    }
    for key in ["rows_total", "rows_clean", "rows_quarantined"] {
        match report.get(key) {
            None => bail!(fail(format!("not a crmguard report: no `{key}`"))),
            Some(v) if v.as_u64().is_none() => {
                // serde_json keeps no positions; the key's first appearance
                // is where a reader looks.
                let at = memchr::memmem::find(&bytes, format!("\"{key}\"").as_bytes());
                let at = at.unwrap_or(0);
                let (line, col) = crate::error::line_col(&bytes, at);
                bail!(Located::new(
                    path,
                    line,
                    col,
                    format!(
                        "not a crmguard report: `{key}` is {}, not a count of rows",
                        crate::error::excerpt(&v.to_string())
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    check_rows_add_up(path, &bytes, &report)?;
    Ok(Part {
        path: path.to_owned(),
        bytes,
        report,
    })
}

/// Refuses a report whose clean and quarantined rows do not make its total
/// (edited by hand, or cut and pasted from two reports): summed, it would
/// give a merged total that does not add up either, and look like evidence.
fn check_rows_add_up(path: &Path, bytes: &[u8], report: &Value) -> anyhow::Result<()> {
    let count = |key: &str| report[key].as_u64().expect("checked by parse");
    let (total, clean, quarantined) = (
        count("rows_total"),
        count("rows_clean"),
        count("rows_quarantined"),
    );
    if clean.checked_add(quarantined) == Some(total) {
        return Ok(());
    }
    let at = memchr::memmem::find(bytes, b"\"rows_total\"").unwrap_or(0);
    let (line, col) = crate::error::line_col(bytes, at);
    bail!(Located::new(
        path,
        line,
        col,
        format!(
            "rows_clean {clean} + rows_quarantined {quarantined} is not rows_total {total}: \
             the report's counts do not add up (edited?), so they cannot be summed"
        ),
    ))
}

/// Sums `parts` in the order given (rows for review keep that order). A
/// merged report may be merged again: its own parts are then listed.
pub fn merge(parts: &[Part]) -> anyhow::Result<Value> {
    let Some(first) = parts.first() else {
        bail!("nothing to merge");
    };
    for p in &parts[1..] {
        check_comparable(first, p)?;
    }
    let mut out = emptied(&first.report);
    let o = out.as_object_mut().expect("checked to be a report");
    let mut merged_from: Vec<Value> = Vec::new();
    // The file given for each entry of `merged_from`: the one to name.
    let mut given: Vec<&Path> = Vec::new();
    let mut signals: Map<String, Value> = Map::new();
    let mut span = Span::default();
    for p in parts {
        let r = &p.report;
        let input_path = r.pointer("/input/path").cloned().unwrap_or(Value::Null);
        add_counts(o, p)?;
        add_findings(o, r, &input_path);
        let outputs = r["outputs"].as_array().cloned().unwrap_or_default();
        o["outputs"]
            .as_array_mut()
            .expect("set above")
            .extend(outputs.iter().cloned());
        if let (Some(ai), Some(theirs)) = (o.get_mut("ai_text"), r.get("ai_text")) {
            add_ai(ai, theirs, &input_path, &mut signals, p)?;
        }
        span.add(p)?;
        match r.get("merged_from").and_then(Value::as_array) {
            Some(inner) => merged_from.extend(inner.iter().cloned()),
            None => merged_from.push(merged_part(p, outputs)),
        }
        given.resize(merged_from.len(), &p.path);
    }
    check_distinct(&merged_from, &given)?;
    if let Some(ai) = o.get_mut("ai_text").and_then(Value::as_object_mut) {
        ai.insert("top_signals".into(), top_signals(signals));
    }
    span.write(o);
    o.insert("input".into(), merged_input(&merged_from));
    let mut id = blake3::Hasher::new();
    for p in &merged_from {
        id.update(p["scan_id"].as_str().unwrap_or_default().as_bytes());
    }
    o.insert("scan_id".into(), json!(&id.finalize().to_hex()[..20]));
    o.insert("merged_from".into(), Value::Array(merged_from));
    Ok(out)
}

/// Refuses a scan counted twice: the same report given twice (a repeated glob),
/// a part also given inside a merged report, or one input file scanned twice
/// (same path, same bytes). Its rows would be summed twice into a total that
/// looks like evidence. Shards of one dump have paths of their own, so two
/// with equal bytes (two header-only shards) still merge. `given[i]` is the
/// file given for `parts[i]`, which is what the error names.
fn check_distinct(parts: &[Value], given: &[&Path]) -> anyhow::Result<()> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, p) in parts.iter().enumerate() {
        let keys = [
            p["scan_id"].as_str().map(|id| format!("scan {id}")),
            p.pointer("/input/blake3")
                .and_then(Value::as_str)
                .zip(p.pointer("/input/path").and_then(Value::as_str))
                .map(|(hash, path)| format!("input {path} ({hash})")),
        ];
        for key in keys.into_iter().flatten() {
            if let Some(first) = seen.insert(key.clone(), i) {
                bail!(
                    "{} and {} are the same {key}: merged twice, its rows would count twice",
                    given_name(&parts[first], given[first]),
                    given_name(p, given[i]),
                );
            }
        }
    }
    Ok(())
}

/// A part as the user gave it: the file, and for a part of a merged report
/// the part's own report too, which the user may not know is inside it.
fn given_name(part: &Value, given: &Path) -> String {
    let given = given.display().to_string();
    match part["report"].as_str() {
        Some(inner) if inner != given => format!("{given} (its part {inner})"),
        _ => given,
    }
}

/// Refuses to add up two reports that do not mean the same thing: another
/// policy, crmguard or detector setting.
fn check_comparable(first: &Part, p: &Part) -> anyhow::Result<()> {
    for (what, pointer) in [
        ("policy (blake3)", "/policy/blake3"),
        ("crmguard version", "/crmguard_version"),
        ("detector model", "/ai_text/model"),
        ("detector threshold", "/ai_text/threshold"),
        ("detector review threshold", "/ai_text/review_threshold"),
        ("detector min_words", "/ai_text/min_words"),
    ] {
        let (a, b) = (first.report.pointer(pointer), p.report.pointer(pointer));
        if a != b {
            let show = |v: Option<&Value>| v.map_or("absent".to_string(), Value::to_string);
            bail!(
                "{} and {} differ in {what} ({} against {}): their counts do not add up to one scan's",
                first.path.display(),
                p.path.display(),
                show(a),
                show(b)
            );
        }
    }
    Ok(())
}

/// The first report with its counts at zero and its lists empty, for the
/// parts to be added into; what is not counted stays the first report's.
fn emptied(first: &Value) -> Value {
    let mut out = first.clone();
    let o = out.as_object_mut().expect("checked to be a report");
    for key in ["audit", "merged_from"] {
        o.remove(key);
    }
    for key in SUMMED {
        if let Some(v) = o.get_mut(*key) {
            zero(v);
        }
    }
    o.insert("file_findings".into(), json!([]));
    o.insert("outputs".into(), json!([]));
    if let Some(ai) = o.get_mut("ai_text").and_then(Value::as_object_mut) {
        for key in AI_SUMMED {
            if let Some(v) = ai.get_mut(*key) {
                zero(v);
            }
        }
        if let Some(Value::Array(counts)) = ai
            .get_mut("score_histogram")
            .and_then(|h| h.get_mut("counts"))
        {
            counts.iter_mut().for_each(zero);
        }
        ai.insert("review".into(), json!([]));
        ai.insert("text_columns".into(), json!([]));
        ai.insert("top_signals".into(), json!([]));
    }
    out
}

/// Adds a report's [`SUMMED`] counts; one the merged report lacks is taken
/// as it is.
fn add_counts(o: &mut Map<String, Value>, p: &Part) -> anyhow::Result<()> {
    for key in SUMMED {
        if let (Some(into), Some(from)) = (o.get_mut(*key), p.report.get(*key)) {
            add(into, from).map_err(|e| not_summed(p, key, e))?;
        } else if let Some(from) = p.report.get(*key) {
            let mine = checked(from).map_err(|e| not_summed(p, key, e))?;
            o.insert(key.to_string(), mine);
        }
    }
    Ok(())
}

/// Why a count could not be added.
enum NotSummed {
    /// Negative, fractional: no count of rows.
    NotACount(String),
    /// The sum is past `u64::MAX`.
    Overflow,
}

/// The error for `key` of part `p`, at the key's first appearance (serde_json
/// keeps no positions).
fn not_summed(p: &Part, key: &str, e: NotSummed) -> anyhow::Error {
    let at = memchr::memmem::find(&p.bytes, format!("\"{key}\"").as_bytes()).unwrap_or(0);
    let (line, col) = crate::error::line_col(&p.bytes, at);
    let message = match e {
        NotSummed::NotACount(v) => format!(
            "`{key}` holds {}, not a count of rows, so it cannot be summed",
            crate::error::excerpt(&v)
        ),
        // Wrapped, the merged counts would still add up and pass for a scan's.
        NotSummed::Overflow => format!(
            "`{key}` summed over the reports is past {}: the counts cannot be true (edited?)",
            u64::MAX
        ),
    };
    Located::new(&p.path, line, col, message).into()
}

/// Adds a report's file findings not already listed, each message prefixed
/// with the input it is about.
fn add_findings(o: &mut Map<String, Value>, r: &Value, input_path: &Value) {
    for f in r["file_findings"].as_array().into_iter().flatten() {
        let mut f = f.clone();
        if let (Some(msg), Some(input)) = (
            f.get("message").and_then(Value::as_str),
            input_path.as_str(),
        ) {
            f["message"] = json!(format!("{input}: {msg}"));
        }
        let all = o["file_findings"].as_array_mut().expect("set by emptied");
        if !all.contains(&f) {
            all.push(f);
        }
    }
}

/// A part's entry in `merged_from`: its report file and hash, and what it
/// scanned and wrote.
fn merged_part(p: &Part, outputs: Vec<Value>) -> Value {
    let r = &p.report;
    let mut part = json!({
        "report": p.path.to_string_lossy(),
        "report_blake3": blake3::hash(&p.bytes).to_hex().as_str(),
        "scan_id": r["scan_id"],
        "input": r["input"],
        "outputs": outputs,
    });
    if let Some(audit) = r.get("audit") {
        part["audit"] = audit.clone();
    }
    part
}

/// The ten signals flagging the most rows over all parts.
fn top_signals(signals: Map<String, Value>) -> Value {
    let mut top: Vec<(String, u64)> = signals
        .into_iter()
        .map(|(s, n)| (s, n.as_u64().unwrap_or(0)))
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    top.truncate(10);
    top.into_iter()
        .map(|(signal, rows)| json!({"signal": signal, "rows": rows}))
        .collect()
}

/// When the parts' scans ran: from the first start to the last end, and
/// the earliest "now" the rows were judged against.
#[derive(Default)]
struct Span {
    start: Option<jiff::Timestamp>,
    end: Option<jiff::Timestamp>,
    scan_time: Option<jiff::Timestamp>,
}

impl Span {
    fn add(&mut self, p: &Part) -> anyhow::Result<()> {
        let r = &p.report;
        let started = time(&p.path, r, "started_at")?;
        let judged = time(&p.path, r, "scan_time")?;
        let elapsed = r["elapsed_ms"].as_i64().unwrap_or(0);
        self.start = Some(self.start.map_or(started, |s| s.min(started)));
        self.scan_time = Some(self.scan_time.map_or(judged, |s| s.min(judged)));
        let ended = started + jiff::SignedDuration::from_millis(elapsed);
        self.end = Some(self.end.map_or(ended, |e| e.max(ended)));
        Ok(())
    }

    fn write(self, o: &mut Map<String, Value>) {
        let (start, end) = (
            self.start.expect("one part at least"),
            self.end.expect("one part at least"),
        );
        o.insert("started_at".into(), json!(start.to_string()));
        o.insert(
            "scan_time".into(),
            json!(self.scan_time.expect("one part at least").to_string()),
        );
        o.insert(
            "elapsed_ms".into(),
            json!(end.duration_since(start).as_millis().max(0) as u64),
        );
    }
}

/// Counts summed over the parts: numbers, and objects of numbers, at any
/// depth (`reasons`, `column_findings`, `notices`...).
const SUMMED: &[&str] = &[
    "rows_total",
    "rows_clean",
    "rows_quarantined",
    "rows_baselined",
    "reasons",
    "reasons_baselined",
    "missing_fields",
    "column_findings",
    "notices",
];

const AI_SUMMED: &[&str] = &[
    "rows_judged",
    "rows_flagged",
    "rows_review",
    "rows_too_short",
    "rows_disclosed",
    "rows_without_text",
];

fn zero(v: &mut Value) {
    match v {
        Value::Number(_) => *v = json!(0),
        Value::Object(m) => m.clear(),
        _ => {}
    }
}

/// Adds `from` into `into`: numbers add, objects add key by key.
fn add(into: &mut Value, from: &Value) -> Result<(), NotSummed> {
    match (into, from) {
        (Value::Number(a), Value::Number(b)) => {
            let count = |n: &serde_json::Number| {
                n.as_u64()
                    .ok_or_else(|| NotSummed::NotACount(n.to_string()))
            };
            let sum = count(a)?.checked_add(count(b)?);
            *a = sum.ok_or(NotSummed::Overflow)?.into();
        }
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(mine) => add(mine, v)?,
                    None => {
                        a.insert(k.clone(), checked(v)?);
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `v` added to nothing: a count the merged report does not have yet is
/// held to what the others are (a count of rows, summed without overflow).
fn checked(v: &Value) -> Result<Value, NotSummed> {
    let mut mine = v.clone();
    zero(&mut mine);
    add(&mut mine, v)?;
    Ok(mine)
}

fn add_ai(
    ai: &mut Value,
    theirs: &Value,
    input: &Value,
    signals: &mut Map<String, Value>,
    p: &Part,
) -> anyhow::Result<()> {
    let Some(a) = ai.as_object_mut() else {
        return Ok(());
    };
    for key in AI_SUMMED {
        if let (Some(into), Some(from)) = (a.get_mut(*key), theirs.get(*key)) {
            add(into, from).map_err(|e| not_summed(p, key, e))?;
        }
    }
    if let (Some(Value::Array(mine)), Some(Value::Array(more))) = (
        a.get_mut("score_histogram")
            .and_then(|h| h.get_mut("counts")),
        theirs.pointer("/score_histogram/counts"),
    ) {
        for (x, y) in mine.iter_mut().zip(more) {
            add(x, y).map_err(|e| not_summed(p, "score_histogram", e))?;
        }
    }
    let columns = a["text_columns"].as_array_mut().expect("set by merge");
    for c in theirs["text_columns"].as_array().into_iter().flatten() {
        if !columns.contains(c) {
            columns.push(c.clone());
        }
    }
    if theirs["text_columns_inferred"] == json!(true) {
        a.insert("text_columns_inferred".into(), json!(true));
    }
    let review = a["review"].as_array_mut().expect("set by merge");
    for r in theirs["review"].as_array().into_iter().flatten() {
        if review.len() == REVIEW_LISTED {
            break;
        }
        let mut r = r.clone();
        if r.get("input").is_none() {
            r["input"] = input.clone();
        }
        review.push(r);
    }
    for s in theirs["top_signals"].as_array().into_iter().flatten() {
        if let (Some(name), Some(rows)) = (s["signal"].as_str(), s["rows"].as_u64()) {
            let n = signals.get(name).and_then(Value::as_u64).unwrap_or(0);
            let sum = n.checked_add(rows).ok_or(NotSummed::Overflow);
            let sum = sum.map_err(|e| not_summed(p, "top_signals", e))?;
            signals.insert(name.to_string(), json!(sum));
        }
    }
    Ok(())
}

fn time(path: &Path, r: &Value, field: &str) -> anyhow::Result<jiff::Timestamp> {
    let value = r[field].as_str().unwrap_or_default();
    value.parse().map_err(|e| {
        anyhow::anyhow!(
            "{}: {field} {value:?} is not an RFC 3339 time: {e}",
            path.display()
        )
    })
}

/// What `input` says of a merged report: the inputs' bytes added up, and
/// the blake3 of their blake3s in order; `merged_from` has each one.
fn merged_input(parts: &[Value]) -> Value {
    let inputs: Vec<&Value> = parts.iter().map(|p| &p["input"]).collect();
    let mut hasher = blake3::Hasher::new();
    for i in &inputs {
        hasher.update(i["blake3"].as_str().unwrap_or_default().as_bytes());
    }
    let same = |key: &str| inputs.iter().all(|i| i.get(key) == inputs[0].get(key));
    let mut input = json!({
        "path": format!("<merged: {} inputs>", parts.len()),
        "format": if same("format") { inputs[0]["format"].clone() } else { json!("mixed") },
        "bytes": inputs.iter().map(|i| i["bytes"].as_u64().unwrap_or(0)).sum::<u64>(),
        "blake3": hasher.finalize().to_hex().as_str(),
    });
    if same("object")
        && let Some(o) = inputs[0].get("object")
    {
        input["object"] = o.clone();
    }
    input
}
