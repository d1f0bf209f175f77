//! The repository's own documents: every relative link a reader follows lands on a
//! file that exists and, when it names a section, on a heading of that file. Docs
//! move (the detector's research log left docs/detector.md), and a reference that
//! outlives its section reads as an answer and leads nowhere.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown a user or contributor reads: the top-level documents, docs/, and
/// the data and Python directories' notes.
fn documents() -> Vec<PathBuf> {
    let root = root();
    let mut out = Vec::new();
    for dir in [".", "docs", "data/detect", "python", "bench", "fuzz"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// GitHub's anchor for a heading: lower case, letters, digits, `-` and `_` kept,
/// spaces made hyphens, everything else dropped; a repeated heading gets `-1`, `-2`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

struct Doc {
    anchors: HashSet<String>,
    /// Link targets, with the line each starts on.
    links: Vec<(usize, String)>,
}

fn read(path: &Path) -> Doc {
    let text = std::fs::read_to_string(path).unwrap();
    let mut anchors = HashSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut links = Vec::new();
    let mut heading: Option<String> = None;
    for (ev, range) in Parser::new_ext(&text, Options::all()).into_offset_iter() {
        match ev {
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                let s = slug(&heading.take().unwrap());
                let n = seen.entry(s.clone()).or_insert(0);
                anchors.insert(if *n == 0 { s } else { format!("{s}-{n}") });
                *n += 1;
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = &mut heading {
                    h.push_str(&t);
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                let line = text[..range.start].matches('\n').count() + 1;
                links.push((line, dest_url.to_string()));
            }
            _ => {}
        }
    }
    Doc { anchors, links }
}

#[test]
fn every_relative_link_in_the_docs_lands_on_a_file_and_heading() {
    let docs = documents();
    assert!(
        docs.iter().any(|p| p.ends_with("docs/detector.md")),
        "no documents found under {}",
        root().display()
    );
    let mut read_docs: BTreeMap<PathBuf, Doc> = BTreeMap::new();
    for p in &docs {
        read_docs.insert(p.canonicalize().unwrap(), read(p));
    }
    let mut broken = Vec::new();
    let mut checked = 0;
    for p in &docs {
        let doc = &read_docs[&p.canonicalize().unwrap()];
        for (line, url) in &doc.links {
            if url.contains("://") || url.starts_with("mailto:") {
                continue;
            }
            let (file, anchor) = url.split_once('#').unwrap_or((url, ""));
            let target = if file.is_empty() {
                p.clone()
            } else {
                p.parent().unwrap().join(file)
            };
            let rel = p.strip_prefix(root()).unwrap().display();
            let Ok(target) = target.canonicalize() else {
                broken.push(format!("{rel}:{line}: {url}: no such file"));
                continue;
            };
            checked += 1;
            if anchor.is_empty() || target.extension().is_none_or(|x| x != "md") {
                continue;
            }
            let found = match read_docs.get(&target) {
                Some(d) => d.anchors.contains(anchor),
                None => read(&target).anchors.contains(anchor),
            };
            if !found {
                broken.push(format!("{rel}:{line}: {url}: no such heading"));
            }
        }
    }
    assert!(checked > 50, "only {checked} relative links found");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_anchor_rule_is_githubs() {
    assert_eq!(
        slug("Presets and the review tier"),
        "presets-and-the-review-tier"
    );
    assert_eq!(
        slug("What the char n-grams buy, and which lengths"),
        "what-the-char-n-grams-buy-and-which-lengths"
    );
    assert_eq!(
        slug("The AI-text detector (`UNDISCLOSED_AI_TEXT`)"),
        "the-ai-text-detector-undisclosed_ai_text"
    );
}
