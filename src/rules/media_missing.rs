//! MEDIA_MISSING: a media file the row names is not there (or is not a
//! file crmguard can read): the record would be imported without it.

use super::Verdict;
use super::media_files::{MediaKind, MediaRef};
use crate::media::Inspection;

pub fn check(refs: &[MediaRef], v: &mut Verdict) {
    for r in refs {
        if let Inspection::Missing(why) = &r.inspection {
            v.add_media(r.note(MediaKind::Missing, why.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;

    #[test]
    fn a_named_file_that_is_not_there() {
        let dir = tempfile::tempdir().unwrap();
        // A real image: one that does not parse as its type is
        // MEDIA_PROVENANCE_INVALID (its provenance cannot be read).
        let png =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/media/unsigned.png");
        std::fs::copy(png, dir.path().join("here.png")).unwrap();
        let row = |file: &'static str| media_verdict(dir.path(), &human(&[("Image__c", file)]));
        let v = row("gone.png");
        assert_eq!(codes(&v), "MEDIA_MISSING");
        assert_eq!(
            v.media[0].text(),
            "MEDIA_MISSING Image__c=gone.png: no such file"
        );
        assert_eq!(codes(&row("here.png")), "");
        assert_eq!(codes(&row("")), "", "an empty cell names no file");
    }
}
