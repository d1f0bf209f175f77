//! The media files a row points at (`[media] columns`): whether each is
//! there, and what its provenance says: a C2PA manifest, validated, and
//! the IPTC `DigitalSourceType` in its XMP (docs/media.md). Pixels are never
//! decoded; a file over the size limit is not read; a worker has one media
//! file open at a time, and each is closed before the next is opened.

#[cfg(feature = "c2pa")]
mod manifest;
pub mod xmp;

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use crate::spec::disclosure::{SourceKind, classify_source_type};

/// What a C2PA manifest store says, as far as crmguard judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The active manifest's label (`urn:c2pa:…`).
    pub label: String,
    /// The signing certificate's common name, else its issuer.
    pub signer: Option<String>,
    pub validity: Validity,
    /// The first assertion, in the active manifest or one it was made from,
    /// that names an AI digital source type.
    pub ai: Option<Claim>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validity {
    /// Signature and hashes valid, signer on a trust anchor's chain.
    Trusted,
    /// Signature and hashes valid, signer on no trust list.
    Untrusted,
    /// A signature or hash that does not validate: the failure codes.
    Invalid(Vec<String>),
}

/// An AI digital source type stated in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub manifest: String,
    /// The assertion's label: `c2pa.actions.v2`, `c2pa.metadata`, …
    pub assertion: String,
    /// The action the source type belongs to: `c2pa.created`, …
    pub action: Option<String>,
    pub source_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestOutcome {
    /// No C2PA manifest in the file.
    None,
    /// A format the C2PA reader cannot read manifests from.
    Unsupported,
    /// The file points at a manifest elsewhere, which is not fetched.
    Remote(String),
    /// A manifest store that does not parse.
    Broken(String),
    Read(Manifest),
    /// This crmguard was built without the `c2pa` feature.
    NotBuilt,
}

/// An AI digital source type in the file's XMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmpClaim {
    pub container: &'static str,
    pub source_type: String,
}

/// What crmguard found for one referenced file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    /// Not there, or not readable as a file: why.
    Missing(String),
    /// There, but not checked: why (over the size limit, a URL).
    Unchecked(String),
    Checked {
        manifest: ManifestOutcome,
        xmp: Option<XmpClaim>,
    },
}

impl Inspection {
    /// The evidence that the file is AI-made: a manifest's claim first,
    /// then XMP's. A claim of AI origin counts whoever makes it (an
    /// untrusted signer, an invalid manifest, unsigned XMP): nobody claims
    /// it falsely to their own harm.
    pub fn ai_evidence(&self) -> Option<String> {
        let Inspection::Checked { manifest, xmp } = self else {
            return None;
        };
        if let ManifestOutcome::Read(m) = manifest
            && let Some(c) = &m.ai
        {
            let action = c
                .action
                .as_deref()
                .map_or(String::new(), |a| format!("{a} "));
            let of = match c.manifest == m.label {
                true => String::new(),
                false => format!(" (ingredient manifest {})", c.manifest),
            };
            return Some(format!(
                "C2PA manifest {}{of}, assertion {}: {action}digitalSourceType {}; {}",
                m.label,
                c.assertion,
                c.source_type,
                signed_by(m)
            ));
        }
        xmp.as_ref().map(|x| {
            format!(
                "XMP ({}): Iptc4xmpExt:DigitalSourceType {}; unsigned",
                x.container, x.source_type
            )
        })
    }

    /// The evidence that the file's provenance does not validate.
    pub fn invalid_evidence(&self) -> Option<String> {
        match self {
            Inspection::Checked {
                manifest: ManifestOutcome::Read(m),
                ..
            } => match &m.validity {
                Validity::Invalid(codes) => Some(format!(
                    "C2PA manifest {}: {}; {}",
                    m.label,
                    codes.join(", "),
                    signed_by(m)
                )),
                _ => None,
            },
            Inspection::Checked {
                manifest: ManifestOutcome::Broken(e),
                ..
            } => Some(format!("C2PA manifest store unreadable: {e}")),
            _ => None,
        }
    }
}

fn signed_by(m: &Manifest) -> String {
    let who = m.signer.as_deref().unwrap_or("an unnamed signer");
    match m.validity {
        Validity::Trusted => format!("signed by {who:?}, trusted"),
        Validity::Untrusted => format!("signed by {who:?}, on no trust list"),
        Validity::Invalid(_) => format!("signed by {who:?}"),
    }
}

/// Inspects media files; one per run, shared by the workers.
pub struct Inspector {
    #[cfg(feature = "c2pa")]
    manifests: manifest::ManifestReader,
    max_bytes: u64,
}

impl Inspector {
    /// `trust_anchors`: PEM certificates whose signers are trusted.
    pub fn new(max_bytes: u64, trust_anchors: Option<&str>) -> anyhow::Result<Inspector> {
        #[cfg(not(feature = "c2pa"))]
        let _ = trust_anchors;
        Ok(Inspector {
            #[cfg(feature = "c2pa")]
            manifests: manifest::ManifestReader::new(trust_anchors)?,
            max_bytes,
        })
    }

    /// Whether manifests are read (the `c2pa` feature).
    pub fn reads_manifests() -> bool {
        cfg!(feature = "c2pa")
    }

    /// Inspects the file at `path` (`value` is the cell it came from).
    pub fn inspect(&self, value: &str, path: &Path) -> Inspection {
        if is_url(value) {
            return Inspection::Unchecked("a URL, not a local file: not fetched".into());
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Inspection::Missing("no such file".into());
            }
            Err(e) => return Inspection::Missing(format!("cannot read: {e}")),
        };
        if !meta.is_file() {
            return Inspection::Missing("not a regular file".into());
        }
        if meta.len() > self.max_bytes {
            return Inspection::Unchecked(format!(
                "{} bytes, over [media] max_file_bytes ({})",
                meta.len(),
                self.max_bytes
            ));
        }
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) => return Inspection::Missing(format!("cannot read: {e}")),
        };
        let xmp = match xmp::find_packet(&mut file, meta.len()) {
            Ok(packet) => packet.and_then(|p| {
                xmp::digital_source_types(&p.text)
                    .into_iter()
                    .find(|t| classify_source_type(t) == Some(SourceKind::Ai))
                    .map(|source_type| XmpClaim {
                        container: p.container,
                        source_type,
                    })
            }),
            Err(e) => return Inspection::Missing(format!("cannot read: {e}")),
        };
        if let Err(e) = file.seek(SeekFrom::Start(0)) {
            return Inspection::Missing(format!("cannot read: {e}"));
        }
        let manifest = self.manifest(&mut file, path);
        Inspection::Checked { manifest, xmp }
    }

    #[cfg(feature = "c2pa")]
    fn manifest(&self, file: &mut File, path: &Path) -> ManifestOutcome {
        let hint = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("application/octet-stream")
            .to_ascii_lowercase();
        match crate::error::quiet::catch(|| self.manifests.read(file, &hint)) {
            Ok(outcome) => outcome,
            // A parser bug on a hostile file must not take the scan down:
            // the manifest could not be validated, which is what it says.
            Err(what) => ManifestOutcome::Broken(format!("the C2PA reader failed: {what}")),
        }
    }

    #[cfg(not(feature = "c2pa"))]
    fn manifest(&self, _file: &mut File, _path: &Path) -> ManifestOutcome {
        ManifestOutcome::NotBuilt
    }
}

/// `scheme://…`: a reference crmguard does not fetch.
fn is_url(value: &str) -> bool {
    let v = value.trim();
    v.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_not_files() {
        assert!(is_url("https://cdn.example.com/a.png"));
        assert!(is_url(" s3://bucket/a.png"));
        assert!(!is_url("C:\\files\\a.png"));
        assert!(!is_url("media/a.png"));
        assert!(!is_url("://x"));
    }

    #[test]
    fn files_that_are_not_there_or_too_big() {
        let dir = tempfile::tempdir().unwrap();
        let inspector = Inspector::new(10, None).unwrap();
        let at = |name: &str| inspector.inspect(name, &dir.path().join(name));
        assert_eq!(at("gone.png"), Inspection::Missing("no such file".into()));
        std::fs::create_dir(dir.path().join("d.png")).unwrap();
        assert_eq!(
            at("d.png"),
            Inspection::Missing("not a regular file".into())
        );
        std::fs::write(dir.path().join("big.png"), [0u8; 11]).unwrap();
        assert!(matches!(at("big.png"), Inspection::Unchecked(w) if w.contains("11 bytes")));
        std::fs::write(dir.path().join("small.bin"), [0u8; 10]).unwrap();
        assert!(matches!(
            at("small.bin"),
            Inspection::Checked { xmp: None, .. }
        ));
    }
}
