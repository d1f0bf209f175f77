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
