//! UNDISCLOSED_AI_MEDIA: a media file's C2PA manifest or XMP says it was
//! made by a generative model (IPTC `trainedAlgorithmicMedia`,
//! `compositeWithTrainedAlgorithmicMedia`…), but the row says
//! `is_synthetic` false or does not say. A row that discloses it follows
//! the sync filter, as synthetic text does. Media without provenance is not
//! judged.

use super::media_files::{MediaKind, MediaRef};
use super::{RowView, Verdict};

pub fn check(row: &RowView, refs: &[MediaRef], v: &mut Verdict) {
    let disclosed = row.synthetic() == Some(true);
    for r in refs {
        if let Some(evidence) = r.inspection.ai_evidence() {
            let kind = match disclosed {
                true => MediaKind::DisclosedAi,
                false => MediaKind::UndisclosedAi,
            };
            v.add_media(r.note(kind, evidence));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::rules::media_files::MediaKind;
    use crate::spec::provenance::{Algorithm, compute};

    fn root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/media")
    }

    #[test]
    fn ai_media_is_undisclosed_only_in_rows_not_marked_synthetic() {
        let ai: &[&str] = match cfg!(feature = "c2pa") {
            true => &["ai-signed.png", "iptc-ai.jpg"],
            false => &["iptc-ai.jpg"],
        };
        for file in ai {
            let v = media_verdict(&root(), &human(&[("Image__c", file)]));
            assert_eq!(codes(&v), "UNDISCLOSED_AI_MEDIA", "{file}");
        }
        for file in ["camera-signed.jpg", "unsigned.png"] {
            let v = media_verdict(&root(), &human(&[("Image__c", file)]));
            assert_eq!(codes(&v), "", "{file}: no AI claim, not judged AI");
        }
        // Disclosed: no code of its own; the sync filter decides.
        let hash = compute(Algorithm::Blake3, &mut [("Image__c", "iptc-ai.jpg")]).to_string();
        let row = [
            ("Image__c", "iptc-ai.jpg"),
            ("is_synthetic", "true"),
            ("data_source", "ai_generated"),
            ("ai_model_version", "openai/gpt-image-1"),
            ("generation_timestamp", "2026-01-01T00:00:00Z"),
            ("provenance_hash", hash.as_str()),
        ];
        let v = media_verdict(&root(), &row);
        assert_eq!(codes(&v), "");
        assert_eq!(v.media[0].kind, MediaKind::DisclosedAi);
    }
}
