//! Planning a run: each input's format and output names, and the checks
//! that no output would overwrite an input or another output.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};

use crate::input::{Compression, Format};
use crate::output::OutputPaths;
use crate::policy::Policy;

/// One input to scan, with where its outputs go.
#[derive(Debug, Clone)]
pub struct Input {
    /// As given on the command line; `-` is stdin.
    pub path: PathBuf,
    pub format: Format,
    pub compression: Compression,
    pub outputs: OutputPaths,
}

impl Input {
    /// Works out the format (from the extension unless `format` is given)
    /// and the output names: `NAME.EXT` gives `NAME.clean.EXT`,
    /// `NAME.quarantine.EXT` and `NAME.report.json`.
    pub fn plan(
        path: &Path,
        format: Option<Format>,
        delimiter: Option<u8>,
        out_dir: &Path,
    ) -> anyhow::Result<Input> {
        let is_stdin = path.as_os_str() == "-";
        let file_name = if is_stdin {
            "stdin".to_string()
        } else {
            path.file_name()
                .ok_or_else(|| anyhow!("{}: not a file name", path.display()))?
                .to_string_lossy()
                .into_owned()
        };
        let (name, compression) = Compression::split_name(&file_name);
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
            _ => (name, None),
        };
        let mut format = match (format, ext.and_then(Format::from_extension)) {
            (Some(f), _) | (None, Some(f)) => f,
            (None, None) if is_stdin => Format::Csv { delimiter: b',' },
            (None, None) => bail!(
                "{}: cannot tell the format from the extension; use --format csv|tsv|json|ndjson",
                path.display()
            ),
        };
        if let (Format::Csv { delimiter: d }, Some(given)) = (&mut format, delimiter) {
            *d = given;
        }
        let ext = match (ext, format) {
            (Some(e), _) => e.to_string(),
            (None, Format::Csv { delimiter: b'\t' }) => "tsv".into(),
            (None, f) => f.name().into(),
        };
        Ok(Input {
            path: path.to_owned(),
            format,
            compression,
            outputs: OutputPaths::new(out_dir, stem, &ext),
        })
    }
}

impl Input {
    /// The target object the policy's file patterns give this input.
    pub fn object_from_file<'p>(&self, policy: &'p Policy) -> Option<&'p str> {
        let name = self.path.file_name()?.to_str()?;
        policy.object_for_file(name)
    }
}

/// Refuses plans that would write one output twice or over an input.
pub fn check_plans(inputs: &[Input]) -> anyhow::Result<()> {
    let stdin_count = inputs.iter().filter(|i| i.path.as_os_str() == "-").count();
    if stdin_count > 1 {
        bail!("`-` (stdin) is given {stdin_count} times");
    }
    for (i, a) in inputs.iter().enumerate() {
        for b in &inputs[i + 1..] {
            if a.outputs.report == b.outputs.report {
                bail!(
                    "{} and {} would both write {}; scan them into different --out-dir",
                    a.path.display(),
                    b.path.display(),
                    a.outputs.report.display()
                );
            }
        }
        for out in a.outputs.all() {
            for input in inputs {
                if crate::output::same_file(out, &input.path) {
                    bail!(
                        "{}: refusing to write over the input {}",
                        out.display(),
                        input.path.display()
                    );
                }
            }
        }
    }
    Ok(())
}
