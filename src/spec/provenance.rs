//! The provenance hash, version 1 (docs/provenance.md):
//!
//! ```text
//! provenance_hash = ALG ":" lowercase-hex( ALG( canonical(row) ) )
//! canonical(row)  = for each covered field, in ascending byte order of its name:
//!                   UTF-8(name) 0x1F UTF-8(value) 0x1E
//! ```
//! Values are hashed as read, with CRLF turned into LF, so that a file that
//! went through a Windows tool still verifies.

use std::fmt;

use sha2::Digest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Blake3,
    Sha256,
}

impl Algorithm {
    pub fn prefix(self) -> &'static str {
        match self {
            Algorithm::Blake3 => "blake3",
            Algorithm::Sha256 => "sha256",
        }
    }

    pub fn from_prefix(s: &str) -> Option<Algorithm> {
        match s {
            "blake3" => Some(Algorithm::Blake3),
            "sha256" => Some(Algorithm::Sha256),
            _ => None,
        }
    }
}

/// A parsed or computed provenance hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvenanceHash {
    pub algorithm: Algorithm,
    pub digest: [u8; 32],
}

impl fmt::Display for ProvenanceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm.prefix())?;
        f.write_str(":")?;
        for b in self.digest {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl ProvenanceHash {
    /// Parses `blake3:<64 hex>` or `sha256:<64 hex>`. Hex digits are accepted
    /// in either case (a hash copied through a spreadsheet may be upper-cased);
    /// surrounding spaces are not, since they would be kept in the CRM.
    pub fn parse(s: &str) -> Option<ProvenanceHash> {
        let (prefix, hex) = s.split_once(':')?;
        let algorithm = Algorithm::from_prefix(prefix)?;
        if hex.len() != 64 {
            return None;
        }
        let mut digest = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks_exact(2).enumerate() {
            digest[i] = (hex_val(pair[0])? << 4) | hex_val(pair[1])?;
        }
        Some(ProvenanceHash { algorithm, digest })
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

enum Hasher {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
            Hasher::Sha256(h) => h.update(bytes),
        }
    }
}

/// Computes the hash over the covered `(name, value)` pairs, given in any
/// order (they are sorted here, by the bytes of the name).
pub fn compute(algorithm: Algorithm, covered: &mut [(&str, &str)]) -> ProvenanceHash {
    covered.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut h = match algorithm {
        Algorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
    };
    for (name, value) in covered.iter() {
        h.update(name.as_bytes());
        h.update(&[0x1F]);
        let mut parts = value.split("\r\n");
        if let Some(first) = parts.next() {
            h.update(first.as_bytes());
        }
        for part in parts {
            h.update(b"\n");
            h.update(part.as_bytes());
        }
        h.update(&[0x1E]);
    }
    let digest = match h {
        Hasher::Blake3(h) => *h.finalize().as_bytes(),
        Hasher::Sha256(h) => h.finalize().into(),
    };
    ProvenanceHash { algorithm, digest }
}

/// The names listed in an `ai_generated_fields` value: `;`-separated, spaces
/// around a name ignored, empty entries skipped, each name once.
pub fn listed_fields(value: &str) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .split(';')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLENDER: [(&str, &str); 2] = [
        ("Subject", "Great blender"),
        (
            "Description",
            "This blender is a testament to modern kitchen design.",
        ),
    ];

    #[test]
    fn spec_vector_blake3() {
        let h = compute(Algorithm::Blake3, &mut BLENDER.clone());
        assert_eq!(
            h.to_string(),
            "blake3:06f3b4d1c437c399c73a0b55b59f6d19873bb2a00f7239760f90bb4905f5ce36"
        );
    }

    #[test]
    fn spec_vector_sha256() {
        let h = compute(Algorithm::Sha256, &mut BLENDER.clone());
        assert_eq!(
            h.to_string(),
            "sha256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674a"
        );
    }

    #[test]
    fn spec_vector_crlf_and_unicode() {
        let mut covered = [(
            "Review_Body__c",
            "Line one\r\nLine two, with \"quotes\" and ünïcödé",
        )];
        assert_eq!(
            compute(Algorithm::Blake3, &mut covered).to_string(),
            "blake3:b5b9476285a054ad2cf6461a3206a981e0d31e2313f45e8414a617fb0e4f0e6d"
        );
        let mut lf = [(
            "Review_Body__c",
            "Line one\nLine two, with \"quotes\" and ünïcödé",
        )];
        assert_eq!(
            compute(Algorithm::Blake3, &mut lf),
            compute(Algorithm::Blake3, &mut covered)
        );
    }

    #[test]
    fn spec_vector_no_covered_fields() {
        assert_eq!(
            compute(Algorithm::Blake3, &mut []).to_string(),
            "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    #[test]
    fn order_of_fields_does_not_matter_but_content_does() {
        let mut reversed = [BLENDER[1], BLENDER[0]];
        let a = compute(Algorithm::Blake3, &mut BLENDER.clone());
        assert_eq!(a, compute(Algorithm::Blake3, &mut reversed));
        let mut edited = [("Subject", "Great blender!"), BLENDER[1]];
        assert_ne!(a, compute(Algorithm::Blake3, &mut edited));
        // The separators keep a value from sliding into the next name.
        let mut shifted = [("Subject", "Great blende"), ("rDescription", BLENDER[1].1)];
        assert_ne!(a, compute(Algorithm::Blake3, &mut shifted));
    }

    #[test]
    fn parse_round_trips_and_rejects_malformed() {
        let s = "sha256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674a";
        let h = ProvenanceHash::parse(s).unwrap();
        assert_eq!(h.algorithm, Algorithm::Sha256);
        assert_eq!(h.to_string(), s);
        assert_eq!(
            ProvenanceHash::parse(&s.to_uppercase().replace("SHA256", "sha256")),
            Some(h)
        );
        for bad in [
            "",
            "sha256",
            "md5:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674a",
            "sha256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674",
            "sha256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674ag",
            "SHA256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674a",
            " sha256:d2fb98504bb234a38a90843ee95263813d618efdeb0f6ada0c02831ca2fc674a",
        ] {
            assert_eq!(ProvenanceHash::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn listed_fields_are_a_set() {
        assert_eq!(listed_fields(" b; a;;b ;"), vec!["a", "b"]);
        assert!(listed_fields(" ; ").is_empty());
    }
}
