//! C2PA manifests, read and validated with the official `c2pa` crate: no
//! network (remote manifests are not fetched, certificate revocation is
//! not looked up), the native Rust crypto backend, trust judged against the
//! anchors the policy names (none by default).

use std::io::{Read, Seek};
use std::sync::Arc;

use anyhow::Context as _;
use c2pa::validation_results::ValidationState;
use serde_json::Value;

use super::{Claim, Manifest, ManifestOutcome, Validity};
use crate::spec::disclosure::{SourceKind, classify_source_type};

/// The status a signature has when it is valid but its signer is on no
/// trust list: not a failure for crmguard (docs/media.md).
const UNTRUSTED: &str = "signingCredential.untrusted";

/// Reads manifests; one per run, shared by the workers.
pub struct ManifestReader {
    context: Arc<c2pa::Context>,
}

impl ManifestReader {
    /// `trust_anchors`: PEM certificates whose signers count as trusted.
    pub fn new(trust_anchors: Option<&str>) -> anyhow::Result<ManifestReader> {
        let mut settings = serde_json::json!({
            "verify": {
                "verify_after_reading": true,
                "verify_trust": true,
                "ocsp_fetch": false,
                "remote_manifest_fetch": false,
            },
        });
        if let Some(pem) = trust_anchors {
            settings["trust"] = serde_json::json!({ "trust_anchors": pem });
        }
        let settings = c2pa::Settings::new()
            .with_json(&settings.to_string())
            .context("cannot configure the C2PA reader")?;
        let context = c2pa::Context::new()
            .with_settings(settings)
            .context("cannot configure the C2PA reader")?;
        Ok(ManifestReader {
            context: Arc::new(context),
        })
    }

    /// The file's manifest store, validated. `hint` is the file's extension,
    /// for formats the crate cannot tell from the bytes.
    pub fn read(&self, file: &mut (impl Read + Seek + Send), hint: &str) -> ManifestOutcome {
        let reader = c2pa::Reader::from_shared_context(&self.context).with_stream(hint, file);
        match reader {
            Ok(r) => ManifestOutcome::Read(facts(&r)),
            Err(c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing) => {
                ManifestOutcome::None
            }
            Err(c2pa::Error::UnsupportedType) => ManifestOutcome::Unsupported,
            Err(c2pa::Error::RemoteManifestUrl(url) | c2pa::Error::RemoteManifestFetch(url)) => {
                ManifestOutcome::Remote(url)
            }
            Err(e) => ManifestOutcome::Broken(e.to_string()),
        }
    }
}

fn facts(r: &c2pa::Reader) -> Manifest {
    let active = r.active_manifest();
    let label = r
        .active_label()
        .unwrap_or("(no active manifest)")
        .to_string();
    let signer = active.and_then(|m| m.common_name().or_else(|| m.issuer()));
    let validity = match r.validation_state() {
        ValidationState::Trusted => Validity::Trusted,
        ValidationState::Valid => Validity::Untrusted,
        ValidationState::Invalid => Validity::Invalid(failures(r)),
    };
    // The active manifest first, then the ones it was made from: an AI
    // image edited later keeps its origin in an ingredient's manifest.
    let mut manifests: Vec<(&str, &c2pa::Manifest)> =
        r.manifests().iter().map(|(l, m)| (l.as_str(), m)).collect();
    manifests.sort_by_key(|(l, _)| (Some(*l) != r.active_label(), *l));
    let ai = manifests.iter().find_map(|(l, m)| ai_claim(l, m));
    Manifest {
        label,
        signer,
        validity,
        ai,
    }
}

/// The failure codes behind an invalid manifest store, the active
/// manifest's first, without the untrusted-signer status.
fn failures(r: &c2pa::Reader) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    if let Some(results) = r.validation_results() {
        let active = results.active_manifest().map(|s| s.failure().iter());
        let ingredients = results
            .ingredient_deltas()
            .into_iter()
            .flatten()
            .flat_map(|d| d.validation_deltas().failure().iter());
        for s in active.into_iter().flatten().chain(ingredients) {
            if s.code() != UNTRUSTED && !codes.iter().any(|c| c == s.code()) {
                codes.push(s.code().to_string());
            }
        }
    }
    if codes.is_empty()
        && let Some(statuses) = r.validation_status()
    {
        codes.extend(
            statuses
                .iter()
                .map(|s| s.code().to_string())
                .filter(|c| c != UNTRUSTED),
        );
    }
    if codes.is_empty() {
        codes.push("invalid (no failure code given)".into());
    }
    codes
}

/// The first assertion of a manifest that names an AI digital source type.
fn ai_claim(label: &str, m: &c2pa::Manifest) -> Option<Claim> {
    m.assertions().iter().find_map(|a| {
        let value = a.value().ok()?;
        let (action, term) = find_source_type(value, None)?;
        Some(Claim {
            manifest: label.to_string(),
            assertion: a.label().to_string(),
            action,
            source_type: term,
        })
    })
}

/// Walks an assertion's JSON for a `digitalSourceType` (actions) or
/// `Iptc4xmpExt:DigitalSourceType` (metadata) whose term is AI; returns the
/// action it belongs to, if any, and the term.
fn find_source_type(v: &Value, action: Option<&str>) -> Option<(Option<String>, String)> {
    match v {
        Value::Object(map) => {
            let action = map.get("action").and_then(Value::as_str).or(action);
            for (k, val) in map {
                if (k == "digitalSourceType" || k.ends_with(":DigitalSourceType"))
                    && let Some(term) = val.as_str()
                    && classify_source_type(term) == Some(SourceKind::Ai)
                {
                    return Some((action.map(String::from), term.to_string()));
                }
            }
            map.values().find_map(|val| find_source_type(val, action))
        }
        Value::Array(items) => items.iter().find_map(|val| find_source_type(val, action)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_types_are_found_in_actions_and_metadata() {
        let ai = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
        let actions = serde_json::json!({"actions": [
            {"action": "c2pa.opened"},
            {"action": "c2pa.created", "digitalSourceType": ai},
        ]});
        assert_eq!(
            find_source_type(&actions, None),
            Some((Some("c2pa.created".into()), ai.into()))
        );
        let metadata = serde_json::json!({"@context": {}, "Iptc4xmpExt:DigitalSourceType": ai});
        assert_eq!(find_source_type(&metadata, None), Some((None, ai.into())));
        let camera = serde_json::json!({"actions": [{"action": "c2pa.created",
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]});
        assert_eq!(find_source_type(&camera, None), None);
    }
}
