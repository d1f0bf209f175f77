//! The columns of a CSV file as the rules see them, resolved against the
//! policy once per file.

use crate::error::excerpt;
use crate::input::Header;
use crate::policy::Policy;
use crate::spec::{Field, FieldSet};

/// What the rules know about one CSV column, resolved once per file.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub field: Option<Field>,
    pub injection_exempt: bool,
    pub added: bool,
}

/// What the rules know about the columns of a CSV file, resolved once.
#[derive(Debug, Clone)]
pub struct Columns {
    pub columns: Vec<Column>,
    /// The column of each disclosure field (duplicates are refused before
    /// any row is read).
    pub(super) by_field: [Option<usize>; Field::COUNT],
}

impl Columns {
    pub fn resolve(header: &Header, policy: &Policy) -> Columns {
        let columns: Vec<Column> = header
            .names
            .iter()
            .map(|n| Column {
                name: n.clone(),
                field: policy.field_of(n),
                injection_exempt: policy.injection_exempt(n),
                added: policy.is_added_column(n),
            })
            .collect();
        let mut by_field = [None; Field::COUNT];
        for (i, c) in columns.iter().enumerate() {
            if let Some(f) = c.field {
                by_field[f as usize] = Some(i);
            }
        }
        Columns { columns, by_field }
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Columns carrying the same name ignoring case, or the same disclosure
    /// field (e.g. `is_synthetic` beside `Is_Synthetic__c`): which one counts
    /// would be a guess, so the file is refused (HEADER_DUPLICATE). The
    /// second column's index, and what is wrong.
    pub fn duplicate(&self) -> Option<(usize, String)> {
        // One pass with a set: a pairwise check took 23 s on 60,000 columns
        // and did not end on a million.
        let mut seen = std::collections::HashMap::with_capacity(self.columns.len());
        let mut fields: [Option<&str>; Field::COUNT] = [None; Field::COUNT];
        for (j, cb) in self.columns.iter().enumerate() {
            let b = &cb.name;
            if crate::spec::is_quarantine_column(b) {
                return Some((j, added_column(j, b)));
            }
            if let Some(i) = seen.insert(b.trim().to_ascii_lowercase(), j) {
                return Some((
                    j,
                    format!(
                        "columns {} and {} are both named `{}` (names are case-insensitive)",
                        i + 1,
                        j + 1,
                        excerpt(b)
                    ),
                ));
            }
            if let Some(fb) = cb.field {
                if let Some(a) = fields[fb as usize] {
                    return Some((
                        j,
                        format!(
                            "columns `{}` and `{}` both carry the disclosure field `{fb}`",
                            excerpt(a),
                            excerpt(b)
                        ),
                    ));
                }
                fields[fb as usize] = Some(b);
            }
        }
        None
    }

    /// The required disclosure fields no column carries.
    pub fn missing(&self, policy: &Policy) -> FieldSet {
        policy
            .required
            .iter()
            .filter(|f| self.by_field[*f as usize].is_none())
            .collect()
    }
}

/// Why a column named as one crmguard adds is refused, and what to do.
fn added_column(j: usize, name: &str) -> String {
    format!(
        "column {} is named `{}`, as a column crmguard adds to quarantined rows: is this \
         the quarantine file of an earlier scan? Drop crmguard's columns before scanning it again",
        j + 1,
        excerpt(name)
    )
}
