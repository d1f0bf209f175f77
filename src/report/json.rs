//! `--report json=PATH`: the run report as JSON, schema in
//! docs/run-report.schema.json.

use super::run::RunReport;

pub fn render(run: &RunReport) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(run).expect("the run report serialises");
    out.push(b'\n');
    out
}
