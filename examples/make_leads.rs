//! Writes a large, realistic lead export for benchmarks: `make_leads ROWS`
//! to stdout. Deterministic (a fixed LCG), ~1% of rows with a problem, a few
//! disclosed synthetic rows, free-text descriptions of review length.

use std::io::{BufWriter, Write};

const NOTES: &[&str] = &[
    "Met at the Berlin trade show, wants pricing for 50 seats before Q3. Currently evaluating two other vendors and asked for references in retail.",
    "asked for a demo next tuesday, prefers mornings. small team, 12 people, mostly remote. budget not confirmed yet",
    "Inbound from the pricing page. Currently on a competitor, contract ends in March. Main pain point is the reporting, \"too slow\" in her words.",
    "Referred by Coho Winery. Interested in the wholesale catalogue only, not the subscription.\nCall back after the 15th.",
    "wants EU data residency + SSO, otherwise no deal. IT director joins the next call.",
    "Downloaded the returns-policy whitepaper; small shop, 3 staff. Probably not a fit for the enterprise tier but could do the starter plan.",
];
const FIRST: &[&str] = &[
    "Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Jürgen", "Keiko",
];
const LAST: &[&str] = &[
    "Lovelace", "Rossi", "Petrov", "Yilmaz", "Haddad", "Silva", "Sato", "Müller", "Tanaka",
    "Nilsson",
];
const COMPANIES: &[&str] = &[
    "Northwind Traders",
    "Contoso Retail",
    "Fabrikam Foods",
    "Tailspin Toys",
    "Wide World Importers",
    "Fourth Coffee",
];

fn main() -> std::io::Result<()> {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    writeln!(
        out,
        "Id,FirstName,LastName,Company,Email,Phone,LeadSource,Description,Is_Synthetic__c,Data_Source__c,AI_Model_Version__c,Generation_Timestamp__c,Provenance_Hash__c"
    )?;
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    for i in 0..rows {
        let (f, l, c) = (
            FIRST[next(FIRST.len())],
            LAST[next(LAST.len())],
            COMPANIES[next(COMPANIES.len())],
        );
        let note = NOTES[next(NOTES.len())];
        let problem = next(100);
        let (flag, source) = match problem {
            0 => ("maybe", "web_form"),
            1 => ("false", ""),
            _ => ("false", "web_form"),
        };
        let company = if problem == 2 { "=HYPERLINK(\"x\")" } else { c };
        let synthetic = problem == 3;
        write!(
            out,
            "00Q{i:012},{f},{l},\"{company}\",{}.{}@example.com,+1 (555) 010-{:04},Web,\"{}\",",
            f.to_lowercase(),
            l.to_lowercase(),
            i % 10_000,
            note.replace('"', "\"\"")
        )?;
        if synthetic {
            writeln!(
                out,
                "true,ai_generated,openai/gpt-4o-2024-08-06,2026-03-14T09:26:53Z,blake3:0000000000000000000000000000000000000000000000000000000000000000"
            )?;
        } else {
            writeln!(out, "{flag},{source},,,")?;
        }
    }
    out.flush()
}
