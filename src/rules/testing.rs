//! Builds rows for rule tests from a header and values.
use super::{Columns, Context, MediaContext, Verdict, check_row};
use crate::input::{Content, Header, Row};
use crate::policy::Policy;

pub fn policy(text: &str) -> Policy {
    Policy::parse(text, crate::policy::PolicySource::BuiltIn).unwrap()
}

pub fn scan_time() -> jiff::Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

/// A comma-separated header of `names` on line 1.
pub fn csv_header(names: &[&str]) -> Header {
    Header {
        raw: Vec::new(),
        terminator: Default::default(),
        names: names.iter().map(|n| n.to_string()).collect(),
        line: 1,
        delimiter: b',',
    }
}

/// A scan's context at the fixtures' time with no object, detector or media:
/// tests set what they need with `..context(policy, columns)`.
pub fn context<'a>(policy: &'a Policy, columns: &'a Columns) -> Context<'a> {
    Context {
        policy,
        scan_time: scan_time(),
        columns: Some(columns),
        object_flag: None,
        object_from_file: None,
        ai: None,
        media: None,
    }
}

pub fn csv_row(values: &[&str]) -> Row {
    let mut fields = Vec::new();
    let mut ends = Vec::new();
    for v in values {
        fields.extend_from_slice(v.as_bytes());
        ends.push(fields.len());
    }
    Row {
        number: 1,
        line: 2,
        raw: values.join(",").into_bytes(),
        utf8: true,
        content: Content::Csv { fields, ends },
        ..Row::default()
    }
}

/// Runs every rule on a CSV row under `policy`.
pub fn verdict_with(policy: &Policy, pairs: &[(&str, &str)]) -> Verdict {
    verdict_for(policy, None, pairs)
}

/// Runs every rule on a CSV row bound for `object` (as `--object`).
pub fn verdict_for(policy: &Policy, object: Option<&str>, pairs: &[(&str, &str)]) -> Verdict {
    let names: Vec<&str> = pairs.iter().map(|(n, _)| *n).collect();
    let header = csv_header(&names);
    let columns = Columns::resolve(&header, policy);
    let ctx = Context {
        object_flag: object,
        ..context(policy, &columns)
    };
    let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
    check_row(&csv_row(&values), &ctx)
}

/// Runs every rule on a CSV row whose `Image__c` names a media file
/// under `root`, under the rule fixtures' policy.
pub fn media_verdict(root: &std::path::Path, pairs: &[(&str, &str)]) -> Verdict {
    let policy = policy("[synthetic]\nallow = true\n");
    let names: Vec<&str> = pairs.iter().map(|(n, _)| *n).collect();
    let header = csv_header(&names);
    let columns = Columns::resolve(&header, &policy);
    let inspector = crate::media::Inspector::new(1 << 20, None).unwrap();
    let media_columns = ["Image__c".to_string()];
    let ctx = Context {
        media: Some(MediaContext {
            inspector: &inspector,
            root,
            columns: &media_columns,
        }),
        ..context(&policy, &columns)
    };
    let values: Vec<&str> = pairs.iter().map(|(_, v)| *v).collect();
    check_row(&csv_row(&values), &ctx)
}

pub fn verdict(pairs: &[(&str, &str)]) -> Verdict {
    verdict_with(&Policy::builtin(), pairs)
}

/// A disclosed human row that passes every check, plus `extra`.
pub fn human(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("Name", "Ada Lovelace"),
        ("is_synthetic", "false"),
        ("data_source", "web_form"),
    ];
    v.extend_from_slice(extra);
    v
}

pub fn codes(v: &Verdict) -> String {
    v.reasons.joined()
}
