//! File-level diagnoses that turn a quarantine full of rows into one line
//! saying what is wrong with the file and how to fix it: a legacy encoding,
//! a disclosure column the policy does not know by that name.

use std::path::Path;

use crate::input::{Compression, Row};
use crate::policy::Policy;
use crate::report::FileFinding;
use crate::spec::{Field, FieldSet, FileCode};

/// Bytes of non-UTF-8 rows kept to guess their encoding from.
const SNIFF_BYTES: usize = 64 * 1024;

/// Guesses which legacy encoding a file's non-UTF-8 rows are in, from the
/// first `SNIFF_BYTES` of them.
#[derive(Default)]
pub struct EncodingSniff {
    rows: u64,
    kept: Vec<(u64, Vec<u8>)>,
    kept_bytes: usize,
    /// Valid UTF-8 rows that are not plain ASCII: the file is then mixed,
    /// and converting it whole would garble them.
    utf8_rows: u64,
}

impl EncodingSniff {
    /// Notes a row that is valid UTF-8 (called for every such row: a cheap
    /// ASCII test).
    pub fn add_valid(&mut self, row: &Row) {
        if !row.raw.is_ascii() {
            self.utf8_rows += 1;
        }
    }

    /// Adds a row whose bytes are not UTF-8.
    pub fn add(&mut self, row: &Row) {
        self.rows += 1;
        if self.kept_bytes < SNIFF_BYTES {
            self.kept_bytes += row.raw.len();
            self.kept.push((row.number, row.raw.clone()));
        }
    }

    /// A finding when most non-UTF-8 rows decode cleanly in one legacy
    /// encoding (chardetng's guess): the file was exported in it. `read_as`
    /// is the compression its content was read as: the fix must work as
    /// printed, so compressed content is decompressed before iconv, and the
    /// converted file gets a name scan reads as plain text. `bom`: the
    /// content starts with a UTF-8 byte-order mark, which iconv from a
    /// legacy encoding would turn into characters of the first column name.
    pub fn finding(&self, path: &Path, read_as: Compression, bom: bool) -> Option<FileFinding> {
        if self.rows == 0 {
            return None;
        }
        let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
        for (_, raw) in &self.kept {
            det.feed(raw, false);
        }
        det.feed(b"", true);
        let enc = det.guess(None, chardetng::Utf8Detection::Allow);
        if enc == encoding_rs::UTF_8 {
            return None;
        }
        let decoded: Vec<(u64, String)> = self
            .kept
            .iter()
            .filter_map(|(n, raw)| {
                enc.decode_without_bom_handling_and_without_replacement(raw)
                    .map(|s| (*n, s.into_owned()))
            })
            .collect();
        if decoded.len() * 2 <= self.kept.len() {
            return None;
        }
        let (row, text) = &decoded[0];
        let name = enc.name();
        if self.utf8_rows > 0 {
            return Some(FileFinding {
                code: FileCode::EncodingNotUtf8,
                message: format!(
                    "{} row{} read{} as {name} (row {row}: \"{}\") in a file whose other {} non-ASCII row{} {} UTF-8: rows from two exports were mixed",
                    self.rows,
                    if self.rows == 1 { "" } else { "s" },
                    if self.rows == 1 { "s" } else { "" },
                    example(text),
                    self.utf8_rows,
                    if self.utf8_rows == 1 { "" } else { "s" },
                    if self.utf8_rows == 1 { "is" } else { "are" },
                ),
                fix: Some(format!(
                    "re-export the quarantined ENCODING_INVALID rows as UTF-8 (converting the whole file with iconv would garble its {} UTF-8 row{})",
                    self.utf8_rows,
                    if self.utf8_rows == 1 { "" } else { "s" },
                )),
            });
        }
        Some(FileFinding {
            code: FileCode::EncodingNotUtf8,
            message: format!(
                "{} row{} {} not UTF-8 and read{} as {name} (row {row}: \"{}\"): the file was exported in a legacy encoding",
                self.rows,
                if self.rows == 1 { "" } else { "s" },
                if self.rows == 1 { "is" } else { "are" },
                if self.rows == 1 { "s" } else { "" },
                example(text)
            ),
            fix: Some(convert_fix(name, path, read_as, bom)),
        })
    }
}

/// How to get a UTF-8 file (or stream) from one in `name`: iconv, after
/// the decompressor when the content is compressed, or `--encoding`.
fn convert_fix(name: &str, path: &Path, read_as: Compression, bom: bool) -> String {
    // The steps of the pipe: decompress; drop a UTF-8 byte-order mark,
    // whose three bytes iconv from a legacy encoding would turn into
    // characters ("ï»¿" in windows-1252) glued to the first column's name;
    // convert.
    let mut steps: Vec<String> = Vec::new();
    if let Some(tool) = read_as.name() {
        steps.push(format!("{tool} -dc"));
    }
    if bom {
        steps.push("tail -c +4".into());
    }
    steps.push(format!("iconv -f {} -t UTF-8", name.to_ascii_uppercase()));
    let also = format!("or scan with --encoding {name}");
    if path.as_os_str() == "-" {
        // A pipe has no file to convert or name: the steps go in it.
        return format!(
            "put `{}` in the pipe before crmguard, {also}",
            steps.join(" | ")
        );
    }
    let file = path.display().to_string();
    let plain = String::from_utf8_lossy(Compression::split_name(file.as_bytes()).0);
    let out = shell_quote(&converted_name(&plain));
    // The first step reads the file.
    steps[0] = format!("{} {}", steps[0], shell_quote(&file));
    format!("{} > {out}, {also}", steps.join(" | "))
}

/// `leads.csv` → `leads.utf8.csv`.
fn converted_name(file: &str) -> String {
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.contains('/') => {
            format!("{stem}.utf8.{ext}")
        }
        _ => format!("{file}.utf8"),
    }
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-/+=:@".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The word around the first non-ASCII character: what a person will
/// recognise ("Müller").
fn example(text: &str) -> String {
    let Some(at) = text.find(|c: char| !c.is_ascii()) else {
        return text.chars().take(40).collect();
    };
    let word = |c: char| c.is_alphanumeric() || c == '\'' || c == '-';
    let start = text[..at]
        .char_indices()
        .rev()
        .find(|(_, c)| !word(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[at..]
        .char_indices()
        .find(|(_, c)| !word(*c))
        .map_or(text.len(), |(i, _)| at + i);
    text[start..end].chars().take(40).collect()
}

/// Column names as a person may have written a disclosure field: case,
/// spaces, dashes and underscores ignored, a Salesforce namespace prefix
/// (`acme__`) and custom-field suffix (`__c`) dropped.
fn normalise(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let base = lower.strip_suffix("__c").unwrap_or(&lower);
    let base = match base.split_once("__") {
        Some((_, rest)) if !rest.is_empty() => rest,
        _ => base,
    };
    base.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// For required fields no column carries: the columns that look like them,
/// as the `[aliases]` line that would map them. `None` when none does.
pub fn alias_hint<'n>(
    missing: FieldSet,
    names: impl Iterator<Item = &'n str> + Clone,
    policy: &Policy,
) -> Option<String> {
    let mut lines = Vec::new();
    for f in missing.iter() {
        let want = [normalise(f.name()), normalise(f.salesforce_alias())];
        let found: Vec<&str> = names
            .clone()
            .filter(|n| policy.field_of(n).is_none() && want.contains(&normalise(n)))
            .collect();
        if !found.is_empty() {
            lines.push(alias_line(f, &found));
        }
    }
    if lines.is_empty() {
        return None;
    }
    let file = match &policy.source {
        crate::policy::PolicySource::File(p) => p.display().to_string(),
        crate::policy::PolicySource::BuiltIn => "crmguard.toml (`crmguard init` writes one)".into(),
    };
    // Each on a line of its own: TOML takes no two keys on one line, so
    // a `;` between them would not paste.
    let lines: Vec<String> = lines.iter().map(|l| format!("`{l}`")).collect();
    Some(match lines.len() {
        1 => format!("add under [aliases] in {file}: {}", lines[0]),
        _ => format!(
            "add under [aliases] in {file}, a line each: {}",
            lines.join(", ")
        ),
    })
}

fn alias_line(f: Field, names: &[&str]) -> String {
    let quoted: Vec<String> = names
        .iter()
        .map(|n| serde_json::Value::from(*n).to_string())
        .collect();
    format!("{f} = [{}]", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_miss_names_map_to_their_field() {
        let policy = Policy::builtin();
        let names = ["Name", "acme__Is_Synthetic__c", "Data Source", "Notes"];
        let hint = alias_hint(policy.required, names.iter().copied(), &policy).unwrap();
        assert_eq!(
            hint,
            "add under [aliases] in crmguard.toml (`crmguard init` writes one), a line \
             each: `is_synthetic = [\"acme__Is_Synthetic__c\"]`, `data_source = [\"Data Source\"]`"
        );
        assert_eq!(
            alias_hint(policy.required, ["Name", "Notes"].into_iter(), &policy),
            None
        );
    }

    #[test]
    fn a_windows_1252_file_is_named_with_its_fix() {
        let mut sniff = EncodingSniff::default();
        for (i, text) in [
            &b"1,M\xfcller,Stra\xdfe 5,caf\xe9"[..],
            b"2,Fran\xe7ois,na\xefve",
        ]
        .into_iter()
        .enumerate()
        {
            let row = Row {
                number: i as u64 + 3,
                raw: text.to_vec(),
                ..Row::default()
            };
            sniff.add(&row);
        }
        let plain = Compression::None;
        let f = sniff
            .finding(Path::new("exports/leads 2026.csv"), plain, false)
            .unwrap();
        assert_eq!(f.code, FileCode::EncodingNotUtf8);
        assert!(
            f.message
                .starts_with("2 rows are not UTF-8 and read as windows-1252 (row 3: \"Müller\")"),
            "{}",
            f.message
        );
        assert_eq!(
            f.fix.unwrap(),
            "iconv -f WINDOWS-1252 -t UTF-8 'exports/leads 2026.csv' > 'exports/leads 2026.utf8.csv', or scan with --encoding windows-1252"
        );
        // After a byte-order mark, which iconv would turn into characters.
        let f = sniff.finding(Path::new("a.csv"), plain, true).unwrap();
        assert_eq!(
            f.fix.unwrap(),
            "tail -c +4 a.csv | iconv -f WINDOWS-1252 -t UTF-8 > a.utf8.csv, or scan with --encoding windows-1252"
        );
        let f = (sniff.finding(Path::new("a.csv.gz"), Compression::Gzip, true)).unwrap();
        assert!(
            f.fix
                .unwrap()
                .starts_with("gzip -dc a.csv.gz | tail -c +4 | iconv -f WINDOWS-1252"),
        );
        assert!(
            EncodingSniff::default()
                .finding(Path::new("x"), plain, false)
                .is_none()
        );
        // Beside UTF-8 rows, converting the file would break them: no iconv.
        sniff.add_valid(&Row {
            raw: "4,Zoë".as_bytes().to_vec(),
            ..Row::default()
        });
        let f = sniff.finding(Path::new("x.csv"), plain, false).unwrap();
        assert!(f.message.contains("mixed"), "{}", f.message);
        assert!(!f.fix.unwrap().starts_with("iconv"));
    }
}
