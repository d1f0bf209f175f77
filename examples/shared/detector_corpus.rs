//! Text corpora shared by the detector's lab examples (`detector_bench`,
//! `detector_regress`), so both measure and check exactly the same texts.

use std::path::Path;

/// The `text` column of every CSV given, in order.
pub fn csv_texts(paths: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for p in paths {
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(Path::new(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        let col = rdr
            .headers()
            .unwrap_or_else(|e| panic!("{p}: {e}"))
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case("text"))
            .unwrap_or_else(|| panic!("{p}: no `text` column"));
        for rec in rdr.records() {
            let rec = rec.unwrap_or_else(|e| panic!("{p}: {e}"));
            if let Some(t) = rec.get(col) {
                out.push(t.to_string());
            }
        }
    }
    out
}

/// The texts cut into consecutive pieces of 100–300 characters (lengths from a
/// fixed LCG, cut on char boundaries): the size of a CRM description or note.
/// Tails shorter than 100 characters are dropped.
pub fn crm_pieces(texts: &[String]) -> Vec<String> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next_len = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        100 + ((state >> 33) as usize) % 201
    };
    let mut out = Vec::new();
    for t in texts {
        let bounds: Vec<usize> = t
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(t.len()))
            .collect();
        let n_chars = bounds.len() - 1;
        let mut at = 0;
        loop {
            let len = next_len();
            if at + len > n_chars {
                break;
            }
            out.push(t[bounds[at]..bounds[at + len]].to_string());
            at += len;
        }
    }
    out
}
