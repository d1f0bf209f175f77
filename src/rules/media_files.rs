//! The media files a row names (`[media] columns`), each inspected once
//! (crate::media) for the three media codes: MEDIA_MISSING,
//! MEDIA_PROVENANCE_INVALID and UNDISCLOSED_AI_MEDIA. One file is open at
//! a time, and only while it is inspected.

use std::path::Path;

use super::{Context, RowView};
use crate::media::{Inspection, Inspector};
use crate::spec::Reason;

/// What the media checks need besides the row.
pub struct MediaContext<'a> {
    pub inspector: &'a Inspector,
    /// Relative paths are resolved against this: `--media-root`, else the
    /// input file's directory.
    pub root: &'a Path,
    pub columns: &'a [String],
}

/// What a media file contributed to a row's verdict: the evidence behind a
/// code, or a finding that decides nothing but is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaNote {
    /// The column (or key) naming the file.
    pub column: String,
    /// The file as the row names it.
    pub file: String,
    pub kind: MediaKind,
    /// Which assertion, status or error decided.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Missing,
    Invalid,
    UndisclosedAi,
    /// AI media in a row that discloses it: the sync filter decides.
    DisclosedAi,
    /// Not checked: over the size limit, or a URL.
    Unchecked,
}

impl MediaKind {
    pub fn code(self) -> Option<Reason> {
        match self {
            MediaKind::Missing => Some(Reason::MediaMissing),
            MediaKind::Invalid => Some(Reason::MediaProvenanceInvalid),
            MediaKind::UndisclosedAi => Some(Reason::UndisclosedAiMedia),
            MediaKind::DisclosedAi | MediaKind::Unchecked => None,
        }
    }
}

impl MediaNote {
    /// As the quarantine file's `crmguard_media` shows it.
    pub fn text(&self) -> String {
        let code = self.kind.code().map_or("", Reason::code);
        format!("{code} {}={}: {}", self.column, self.file, self.detail)
    }
}

/// A referenced file and what its inspection found.
pub struct MediaRef {
    pub column: String,
    pub file: String,
    pub inspection: Inspection,
}

impl MediaRef {
    pub fn note(&self, kind: MediaKind, detail: String) -> MediaNote {
        MediaNote {
            column: self.column.clone(),
            file: self.file.clone(),
            kind,
            detail,
        }
    }
}

/// Inspects the files the row's media cells name, in the policy's column
/// order, one after the other. Empty cells name nothing. Sets bit i of
/// `seen` for a cell of the i-th column, empty or not.
pub fn inspect(row: &RowView, ctx: &Context, seen: &mut u64) -> Vec<MediaRef> {
    let Some(media) = &ctx.media else {
        return Vec::new();
    };
    let mut refs = Vec::new();
    for (i, name) in media.columns.iter().enumerate() {
        let Some(cell) = row
            .cells()
            .find(|c| !c.added && c.name.trim().eq_ignore_ascii_case(name))
        else {
            continue;
        };
        *seen |= super::column_bit(i);
        let value = cell.text();
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let path = media.root.join(value);
        refs.push(MediaRef {
            column: cell.name.to_string(),
            file: value.to_string(),
            inspection: media.inspector.inspect(value, &path),
        });
    }
    refs
}

/// Files that were not read (over the size limit, a URL): no code, but the
/// report counts and lists them, and `--fail-on warning` fails on them.
pub fn note_unchecked(refs: &[MediaRef], v: &mut super::Verdict) {
    for r in refs {
        if let Inspection::Unchecked(why) = &r.inspection {
            v.add_media(r.note(MediaKind::Unchecked, why.clone()));
        }
    }
}
