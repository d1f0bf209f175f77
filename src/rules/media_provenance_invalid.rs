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
