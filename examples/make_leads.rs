//! Writes a large, realistic lead export for benchmarks: `make_leads ROWS`
//! to stdout. Deterministic (a fixed LCG), ~1% of rows with a problem, a few
//! disclosed synthetic rows, free-text descriptions of review length.
//!
//! `make_leads ROWS --long`: descriptions of about 850 bytes (call notes
//! strung together, several lines each), rows of about 900 bytes, as in
//! exports where the free text dominates: 1M rows make about 900 MB.

use std::io::{BufWriter, Write};

// Descriptions are assembled from clauses with numbers, months and names
// filled in, so that a million rows hold hundreds of thousands of distinct
// texts, as a real export does: a handful of texts repeated would keep every
// cache and branch predictor of the detector warm and flatter it.
const OPENERS: &[&str] = &[
    "Met at the {city} trade show",
    "Inbound from the pricing page",
    "Referred by {company}",
    "asked for a demo next {day}",
    "Downloaded the {topic} whitepaper",
    "Called in after the {month} webinar",
    "Replied to the newsletter",
    "Found us through a partner in {city}",
    "Chat on the website, asked about {topic}",
];
const MIDDLES: &[&str] = &[
    "wants pricing for {n} seats before Q{q}",
    "currently on a competitor, contract ends in {month}",
    "small team, {n} people, mostly remote",
    "interested in the wholesale catalogue only, not the subscription",
    "wants EU data residency + SSO, otherwise no deal",
    "main pain point is the reporting, \"too slow\" in her words",
    "budget not confirmed yet",
    "evaluating two other vendors and asked for references in {topic}",
    "runs {n} stores, inventory still in spreadsheets",
    "needs the {topic} integration before go-live in {month}",
];
const CLOSERS: &[&str] = &[
    "Call back after the {d}th.",
    "IT director joins the next call.",
    "Probably not a fit for the enterprise tier but could do the starter plan.",
    "prefers mornings",
    "Send the {topic} case study.",
    "follow up in {q} weeks",
    "",
];
const SEPS: &[&str] = &[". ", ", ", "; ", ".\n", " - "];
const CITIES: &[&str] = &[
    "Berlin", "Lyon", "Austin", "Osaka", "Porto", "Gdansk", "Leeds",
];
const DAYS: &[&str] = &["monday", "tuesday", "Thursday", "friday"];
const MONTHS: &[&str] = &["January", "March", "June", "September", "November"];
const TOPICS: &[&str] = &[
    "retail",
    "returns-policy",
    "Shopify",
    "ERP",
    "loyalty",
    "B2B",
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

/// `--long` strings descriptions together up to at least this many bytes.
const LONG_BYTES: usize = 780;

/// One lead description: an opener, one or two details and maybe a closer.
fn description(next: &mut impl FnMut(usize) -> usize) -> String {
    let mut out = String::new();
    let mut clauses = vec![OPENERS[next(OPENERS.len())], MIDDLES[next(MIDDLES.len())]];
    if next(2) == 0 {
        clauses.push(MIDDLES[next(MIDDLES.len())]);
    }
    clauses.push(CLOSERS[next(CLOSERS.len())]);
    for (k, clause) in clauses.iter().filter(|c| !c.is_empty()).enumerate() {
        if k > 0 {
            out.push_str(SEPS[next(SEPS.len())]);
        }
        let mut rest = *clause;
        while let Some(open) = rest.find('{') {
            let close = open + rest[open..].find('}').expect("closed placeholder");
            out.push_str(&rest[..open]);
            let value = match &rest[open + 1..close] {
                "city" => CITIES[next(CITIES.len())].to_string(),
                "company" => COMPANIES[next(COMPANIES.len())].to_string(),
                "day" => DAYS[next(DAYS.len())].to_string(),
                "month" => MONTHS[next(MONTHS.len())].to_string(),
                "topic" => TOPICS[next(TOPICS.len())].to_string(),
                "n" => (2 + next(400)).to_string(),
                "q" => (1 + next(4)).to_string(),
                "d" => (4 + next(25)).to_string(),
                other => panic!("unknown placeholder {other}"),
            };
            out.push_str(&value);
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
    }
    out
}

fn main() -> std::io::Result<()> {
    let rows: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let long = std::env::args().any(|a| a == "--long");
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
        let mut note = description(&mut next);
        while long && note.len() < LONG_BYTES {
            note.push_str(if next(3) == 0 { "\n" } else { " " });
            note.push_str(&description(&mut next));
        }
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
