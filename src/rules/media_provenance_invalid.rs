//! MEDIA_PROVENANCE_INVALID: a media file carries a C2PA manifest whose
//! signature or hashes do not validate (the file changed after signing, or
//! the manifest was forged), or a manifest store that cannot be read. A
//! signer on no trust list is not a failure: see docs/media.md.

use super::Verdict;
use super::media_files::{MediaKind, MediaRef};

pub fn check(refs: &[MediaRef], v: &mut Verdict) {
    for r in refs {
        if let Some(why) = r.inspection.invalid_evidence() {
            v.add_media(r.note(MediaKind::Invalid, why));
        }
    }
}

#[cfg(all(test, feature = "c2pa"))]
mod tests {
    use super::super::testing::*;

    #[test]
    fn a_file_changed_after_signing_does_not_validate() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/media");
        let v = media_verdict(&root, &human(&[("Image__c", "tampered.jpg")]));
        assert_eq!(codes(&v), "MEDIA_PROVENANCE_INVALID");
        assert!(
            v.media[0].detail.contains("assertion.dataHash.mismatch"),
            "{}",
            v.media[0].detail
        );
        let v = media_verdict(&root, &human(&[("Image__c", "camera-signed.jpg")]));
        assert_eq!(
            codes(&v),
            "",
            "valid, though its signer is on no trust list"
        );
    }
}
