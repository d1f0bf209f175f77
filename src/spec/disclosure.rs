//! The disclosure fields of the contract: names, Salesforce aliases, and the
//! value vocabularies (booleans, digital source types).

use std::fmt;

/// A disclosure field, by its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Field {
    IsSynthetic,
    DataSource,
    AiModelVersion,
    GenerationTimestamp,
    ProvenanceHash,
    DigitalSourceType,
    AiGeneratedFields,
    HumanReviewed,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::IsSynthetic,
        Field::DataSource,
        Field::AiModelVersion,
        Field::GenerationTimestamp,
        Field::ProvenanceHash,
        Field::DigitalSourceType,
        Field::AiGeneratedFields,
        Field::HumanReviewed,
    ];
    pub const COUNT: usize = Field::ALL.len();

    pub fn name(self) -> &'static str {
        match self {
            Field::IsSynthetic => "is_synthetic",
            Field::DataSource => "data_source",
            Field::AiModelVersion => "ai_model_version",
            Field::GenerationTimestamp => "generation_timestamp",
            Field::ProvenanceHash => "provenance_hash",
            Field::DigitalSourceType => "digital_source_type",
            Field::AiGeneratedFields => "ai_generated_fields",
            Field::HumanReviewed => "human_reviewed",
        }
    }

    /// The Salesforce custom-field API name that carries this field.
    pub fn salesforce_alias(self) -> &'static str {
        match self {
            Field::IsSynthetic => "Is_Synthetic__c",
            Field::DataSource => "Data_Source__c",
            Field::AiModelVersion => "AI_Model_Version__c",
            Field::GenerationTimestamp => "Generation_Timestamp__c",
            Field::ProvenanceHash => "Provenance_Hash__c",
            Field::DigitalSourceType => "Digital_Source_Type__c",
            Field::AiGeneratedFields => "AI_Generated_Fields__c",
            Field::HumanReviewed => "Human_Reviewed__c",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Length limit of the text fields (Salesforce text(255)).
    pub fn max_chars(self) -> Option<usize> {
        match self {
            Field::DataSource | Field::AiModelVersion => Some(255),
            _ => None,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A small set of fields, used to say which disclosure values a row lacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldSet(u8);

impl FieldSet {
    pub fn insert(&mut self, f: Field) {
        self.0 |= 1 << f as u8;
    }
    pub fn contains(self, f: Field) -> bool {
        self.0 & (1 << f as u8) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }
    /// The fields in the order of [`Field::ALL`], whose i-th field is bit i:
    /// set bits only.
    pub fn iter(self) -> impl Iterator<Item = Field> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            let i = bits.trailing_zeros() as usize;
            bits &= bits.wrapping_sub(1);
            Field::ALL.get(i).copied()
        })
    }
}

impl FromIterator<Field> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Field>>(iter: I) -> Self {
        let mut s = FieldSet::default();
        for f in iter {
            s.insert(f);
        }
        s
    }
}

/// Parses a boolean from Data Loader's accepted set, any case, surrounding
/// spaces ignored (spreadsheets pad cells).
pub fn parse_bool(value: &str) -> Option<bool> {
    // Every row asks, several times: lowercased once into a buffer as long as
    // the longest word, then one match, rather than ten case-blind compares.
    let v = value.trim().as_bytes();
    let mut buf = [0u8; 5];
    let lower = buf.get_mut(..v.len())?;
    lower.copy_from_slice(v);
    lower.make_ascii_lowercase();
    match &*lower {
        b"true" | b"yes" | b"y" | b"1" | b"on" => Some(true),
        b"false" | b"no" | b"n" | b"0" | b"off" => Some(false),
        _ => None,
    }
}

/// What a digital source type term says about the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// AI-generated: contradicts `is_synthetic=false`.
    Ai,
    /// Not AI: contradicts `is_synthetic=true`.
    NotAi,
    /// Accepted, reported: says nothing either way.
    Ambiguous,
    /// A retired IPTC term: accepted with a warning.
    Retired,
}

pub const IPTC_BASE: &str = "http://cv.iptc.org/newscodes/digitalsourcetype/";
pub const C2PA_BASE: &str = "http://c2pa.org/digitalsourcetype/";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Vocabulary {
    Iptc,
    C2pa,
}

const SOURCE_TYPES: &[(&str, SourceKind, Vocabulary)] = &[
    ("trainedAlgorithmicMedia", SourceKind::Ai, Vocabulary::Iptc),
    (
        "compositeWithTrainedAlgorithmicMedia",
        SourceKind::Ai,
        Vocabulary::Iptc,
    ),
    ("compositeSynthetic", SourceKind::Ai, Vocabulary::Iptc),
    ("trainedAlgorithmicData", SourceKind::Ai, Vocabulary::C2pa),
    ("digitalCapture", SourceKind::NotAi, Vocabulary::Iptc),
    ("computationalCapture", SourceKind::NotAi, Vocabulary::Iptc),
    ("negativeFilm", SourceKind::NotAi, Vocabulary::Iptc),
    ("positiveFilm", SourceKind::NotAi, Vocabulary::Iptc),
    ("print", SourceKind::NotAi, Vocabulary::Iptc),
    ("humanEdits", SourceKind::NotAi, Vocabulary::Iptc),
    (
        "algorithmicallyEnhanced",
        SourceKind::NotAi,
        Vocabulary::Iptc,
    ),
    ("digitalCreation", SourceKind::NotAi, Vocabulary::Iptc),
    ("screenCapture", SourceKind::NotAi, Vocabulary::Iptc),
    ("compositeCapture", SourceKind::NotAi, Vocabulary::Iptc),
    ("virtualRecording", SourceKind::Ambiguous, Vocabulary::Iptc),
    ("composite", SourceKind::Ambiguous, Vocabulary::Iptc),
    ("algorithmicMedia", SourceKind::Ambiguous, Vocabulary::Iptc),
    ("dataDrivenMedia", SourceKind::Ambiguous, Vocabulary::Iptc),
    ("minorHumanEdits", SourceKind::Retired, Vocabulary::Iptc),
    ("digitalArt", SourceKind::Retired, Vocabulary::Iptc),
    ("softwareImage", SourceKind::Retired, Vocabulary::Iptc),
];

/// Classifies a `digital_source_type` value: an IPTC or C2PA URI, or its last
/// segment alone. Terms are case-sensitive as in the vocabularies; the URI
/// scheme may be `https` too. `None`: not a known term.
pub fn classify_source_type(value: &str) -> Option<SourceKind> {
    let v = value.trim();
    let (term, vocabulary) = if let Some(rest) = strip_base(v, IPTC_BASE) {
        (rest, Some(Vocabulary::Iptc))
    } else if let Some(rest) = strip_base(v, C2PA_BASE) {
        (rest, Some(Vocabulary::C2pa))
    } else if v.contains('/') {
        return None;
    } else {
        (v, None)
    };
    SOURCE_TYPES
        .iter()
        .find(|(t, _, voc)| *t == term && vocabulary.is_none_or(|v| v == *voc))
        .map(|(_, kind, _)| *kind)
}

fn strip_base<'a>(v: &'a str, base: &str) -> Option<&'a str> {
    let tail = base.strip_prefix("http://").unwrap_or(base);
    v.strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"))
        .and_then(|rest| rest.strip_prefix(tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_data_loader_set_any_case() {
        for t in ["true", "TRUE", "Yes", "y", "1", "on", " On "] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["false", "No", "N", "0", "OFF"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "2", "maybe", "tru", "yes please", "t"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn field_sets_iterate_in_field_order() {
        // Bit i is the i-th of Field::ALL: iterating set bits relies on it.
        for (i, f) in Field::ALL.into_iter().enumerate() {
            assert_eq!(f as usize, i, "{f:?}");
        }
        for mask in 0..=u8::MAX {
            let set: FieldSet = (Field::ALL.into_iter())
                .filter(|f| mask >> (*f as u8) & 1 == 1)
                .collect();
            let want: Vec<Field> = Field::ALL
                .into_iter()
                .filter(|f| set.contains(*f))
                .collect();
            assert_eq!(set.iter().collect::<Vec<_>>(), want, "{mask:#b}");
        }
    }

    #[test]
    fn field_set_union_holds_both_sides() {
        let a: FieldSet = [Field::IsSynthetic, Field::DataSource]
            .into_iter()
            .collect();
        let b: FieldSet = [Field::DataSource, Field::ProvenanceHash]
            .into_iter()
            .collect();
        let u: Vec<Field> = a.union(b).iter().collect();
        assert_eq!(
            u,
            vec![Field::IsSynthetic, Field::DataSource, Field::ProvenanceHash]
        );
        assert!(FieldSet::default().union(FieldSet::default()).is_empty());
    }

    #[test]
    fn booleans_as_ten_case_blind_compares_would_read_them() {
        let reference = |value: &str| {
            let v = value.trim();
            let is = |set: [&str; 5]| set.iter().any(|t| v.eq_ignore_ascii_case(t));
            if is(["true", "yes", "y", "1", "on"]) {
                Some(true)
            } else if is(["false", "no", "n", "0", "off"]) {
                Some(false)
            } else {
                None
            }
        };
        let words = [
            "true", "yes", "y", "1", "on", "false", "no", "n", "0", "off",
        ];
        let mut inputs: Vec<String> = Vec::new();
        for w in words {
            // Every capitalisation, padded or not, and each with a char more.
            for mask in 0..1u32 << w.len() {
                let cased: String = (w.chars().enumerate())
                    .map(|(i, c)| match mask >> i & 1 {
                        1 => c.to_ascii_uppercase(),
                        _ => c,
                    })
                    .collect();
                inputs.push(format!("\t{cased} "));
                inputs.push(format!("{cased}x"));
                inputs.push(cased);
            }
        }
        inputs.extend(
            [
                "",
                " ",
                "falsey",
                "fals",
                "tru\u{e9}",
                "\u{130}",
                "ÿes",
                "1 0",
            ]
            .map(String::from),
        );
        for v in &inputs {
            assert_eq!(parse_bool(v), reference(v), "{v:?}");
        }
    }

    #[test]
    fn source_types_by_uri_or_segment() {
        let ai = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
        assert_eq!(classify_source_type(ai), Some(SourceKind::Ai));
        assert_eq!(
            classify_source_type("trainedAlgorithmicMedia"),
            Some(SourceKind::Ai)
        );
        assert_eq!(
            classify_source_type("http://c2pa.org/digitalsourcetype/trainedAlgorithmicData"),
            Some(SourceKind::Ai)
        );
        assert_eq!(
            classify_source_type("https://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"),
            Some(SourceKind::NotAi)
        );
        assert_eq!(
            classify_source_type("composite"),
            Some(SourceKind::Ambiguous)
        );
        assert_eq!(
            classify_source_type("softwareImage"),
            Some(SourceKind::Retired)
        );
        assert_eq!(classify_source_type("madeUpTerm"), None);
        assert_eq!(classify_source_type("trainedalgorithmicmedia"), None);
        assert_eq!(
            classify_source_type("http://example.com/trainedAlgorithmicMedia"),
            None
        );
        assert_eq!(
            classify_source_type("http://c2pa.org/digitalsourcetype/digitalCapture"),
            None
        );
        assert_eq!(
            classify_source_type(
                "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicData"
            ),
            None
        );
    }

    #[test]
    fn field_names_and_aliases() {
        for f in Field::ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
            assert!(f.salesforce_alias().ends_with("__c"));
        }
    }
}
