//! `crmguard scan` of Parquet: the same verdicts as the CSV path on the same
//! data, value-faithful outputs, and clear errors.
#![cfg(feature = "parquet")]

use crate::common;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Int64Array, RecordBatch, StringArray,
};
use common::{Workdir, quarantine_cells, status, stderr};
use crmguard::input::{CsvReader, RecordReader, Row};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const NOW: &str = "2026-06-01T12:00:00Z";

/// A CSV file's rows as a table of strings (binary where a column holds
/// bytes that are not UTF-8), leaving out rows whose field count differs
/// from the header's: a table cannot hold them.
fn table_of(csv: &Path) -> RecordBatch {
    let bytes = std::fs::read(csv).unwrap();
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&bytes)
        .to_vec();
    let rdr: Box<dyn std::io::BufRead + Send> = Box::new(std::io::Cursor::new(bytes));
    let mut reader = CsvReader::new(rdr, b',', csv, 1 << 30).unwrap();
    let names = reader.header().unwrap().names.clone();
    let mut cells: Vec<Vec<Vec<u8>>> = vec![Vec::new(); names.len()];
    let mut row = Row::default();
    while reader.read_row(&mut row).unwrap() {
        if row.csv_len() != names.len() {
            continue;
        }
        for (i, column) in cells.iter_mut().enumerate() {
            column.push(row.csv_field(i).unwrap().to_vec());
        }
    }
    let columns: Vec<(String, ArrayRef)> = names
        .into_iter()
        .zip(cells)
        .map(|(name, values)| {
            let array: ArrayRef = if values.iter().all(|v| std::str::from_utf8(v).is_ok()) {
                Arc::new(StringArray::from_iter_values(
                    values.iter().map(|v| std::str::from_utf8(v).unwrap()),
                ))
            } else {
                Arc::new(BinaryArray::from_iter_values(values.iter()))
            };
            (name, array)
        })
        .collect();
    RecordBatch::try_from_iter(columns).unwrap()
}

/// The table as a CSV file: the CSV record crmguard makes of each row.
fn write_csv(batch: &RecordBatch, path: &Path) {
    let mut out = Vec::new();
    let names = crmguard::batch::arrow::column_names(&batch.schema());
    let mut header = Row::default();
    crmguard::batch::encode_row(0, names.iter().map(|n| n.as_bytes()), &mut header);
    out.extend_from_slice(&header.raw);
    out.push(b'\n');
    let mut rows = Vec::new();
    crmguard::batch::arrow::rows_from_batch(batch, 0, &mut rows).unwrap();
    for row in &rows {
        out.extend_from_slice(&row.raw);
        out.push(b'\n');
    }
    std::fs::write(path, out).unwrap();
}

fn write_parquet(batch: &RecordBatch, path: &Path, rows_per_group: usize) {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(rows_per_group))
        .build();
    let mut w =
        ArrowWriter::try_new(File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

fn read_parquet(path: &Path) -> RecordBatch {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
        .unwrap()
        .schema()
        .clone();
    arrow_select::concat::concat_batches(&schema, &batches).unwrap()
}

/// (row, reasons, score, signals) of each row of a Parquet quarantine file.
fn quarantine_parquet(path: &Path) -> Vec<Vec<String>> {
    let b = read_parquet(path);
    let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
    let (row, reasons, score, signals) = (
        col("crmguard_row"),
        col("crmguard_reasons"),
        col("crmguard_ai_score"),
        col("crmguard_ai_signals"),
    );
    let score = score.as_primitive::<arrow_array::types::Float64Type>();
    (0..b.num_rows())
        .map(|i| {
            vec![
                row.as_primitive::<arrow_array::types::Int64Type>()
                    .value(i)
                    .to_string(),
                reasons.as_string::<i32>().value(i).to_string(),
                if score.is_null(i) {
                    String::new()
                } else {
                    // As the CSV writer prints a three-decimal score.
                    crmguard_csv_number(score.value(i))
                },
                signals.as_string::<i32>().value(i).to_string(),
            ]
        })
        .collect()
}

fn crmguard_csv_number(n: f64) -> String {
    if n.fract() == 0.0 {
        (n as i64).to_string()
    } else {
        n.to_string()
    }
}

/// Scans the same data as CSV and as Parquet and compares every verdict.
fn same_verdicts(table: &RecordBatch, rows_per_group: usize) -> serde_json::Value {
    let wd = Workdir::new();
    write_csv(table, &wd.join("a.csv"));
    write_parquet(table, &wd.join("b.parquet"), rows_per_group);
    let out = wd.run(&[
        "scan",
        "--now",
        NOW,
        "--fail-on",
        "never",
        "a.csv",
        "b.parquet",
    ]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let names = [
        "crmguard_row",
        "crmguard_reasons",
        "crmguard_ai_score",
        "crmguard_ai_signals",
    ];
    let from_csv = quarantine_cells(&wd.read("crmguard-out/a.quarantine.csv"), b',', &names);
    let from_parquet = quarantine_parquet(&wd.join("crmguard-out/b.quarantine.parquet"));
    assert!(!from_csv.is_empty());
    assert_eq!(from_csv, from_parquet);

    let (a, b) = (
        wd.report("crmguard-out/a.report.json"),
        wd.report("crmguard-out/b.report.json"),
    );
    for key in [
        "rows_total",
        "rows_clean",
        "rows_quarantined",
        "reasons",
        "missing_fields",
        "notices",
    ] {
        assert_eq!(a[key], b[key], "{key}");
    }
    for key in [
        "text_columns",
        "rows_judged",
        "rows_flagged",
        "rows_review",
        "rows_too_short",
        "rows_disclosed",
        "rows_without_text",
        "top_signals",
        "score_histogram",
    ] {
        assert_eq!(a["ai_text"][key], b["ai_text"][key], "ai_text.{key}");
    }
    let review = |r: &serde_json::Value| -> Vec<(u64, String, f64)> {
        (r["ai_text"]["review"].as_array().unwrap().iter())
            .map(|x| {
                (
                    x["row"].as_u64().unwrap(),
                    x["column"].as_str().unwrap().to_string(),
                    x["score"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(review(&a), review(&b));

    // Value-faithful: the clean file holds the input's clean rows, values
    // and schema as they were.
    let clean = read_parquet(&wd.join("crmguard-out/b.clean.parquet"));
    assert_eq!(clean.schema(), table.schema());
    let held: std::collections::HashSet<usize> = from_csv
        .iter()
        .map(|r| r[0].parse::<usize>().unwrap() - 1)
        .collect();
    let keep: BooleanArray = (0..table.num_rows())
        .map(|i| Some(!held.contains(&i)))
        .collect();
    let expected = arrow_select::filter::filter_record_batch(table, &keep).unwrap();
    assert_eq!(clean, expected);
    common::tools::validate_reports(&[wd.join("crmguard-out/b.report.json")]);
    b
}

#[test]
fn the_samples_get_the_same_verdicts_as_csv() {
    let table = table_of(&common::fixtures().join("samples/leads.csv"));
    let report = same_verdicts(&table, 50);
    assert_eq!(report["input"]["format"], "parquet");
    assert!(report["reasons"]["ENCODING_INVALID"].as_u64().unwrap() >= 1);
}

#[test]
fn generated_leads_get_the_same_verdicts_as_csv() {
    let wd = Workdir::new();
    let out = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "--example", "make_leads", "--", "20000"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = wd.write("leads.csv", &out.stdout);
    let table = table_of(&path);
    assert_eq!(table.num_rows(), 20_000);
    // Row groups smaller than a batch: batches span row groups.
    same_verdicts(&table, 3000);
}

#[test]
fn typed_columns_are_checked_as_text_and_written_as_they_were() {
    let wd = Workdir::new();
    let table = RecordBatch::try_from_iter([
        ("Id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        (
            "is_synthetic",
            Arc::new(BooleanArray::from(vec![Some(false), Some(true), None])),
        ),
        (
            "data_source",
            Arc::new(StringArray::from(vec![
                Some("web_form"),
                Some("ai_generated"),
                Some("crm"),
            ])),
        ),
    ])
    .unwrap();
    write_parquet(&table, &wd.join("t.parquet"), 2);
    let out = wd.run(&["scan", "--now", NOW, "t.parquet"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    // Row 2 discloses synthetic content without the fields that must come
    // with it; row 3 has no is_synthetic value at all.
    let q = quarantine_parquet(&wd.join("crmguard-out/t.quarantine.parquet"));
    let rows: Vec<&str> = q.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(rows, ["2", "3"]);
    let clean = read_parquet(&wd.join("crmguard-out/t.clean.parquet"));
    assert_eq!(clean, table.slice(0, 1));
    let held = read_parquet(&wd.join("crmguard-out/t.quarantine.parquet"));
    assert_eq!(held.schema().field(1), table.schema().field(1));
}

#[test]
fn a_file_that_is_not_parquet_is_one_line_and_writes_nothing() {
    let wd = Workdir::new();
    wd.write("dump.parquet", "a,b\n1,2\n");
    let out = wd.run(&["scan", "dump.parquet"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(
        err.starts_with("crmguard: error: dump.parquet: cannot read as Parquet"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!wd.join("crmguard-out/dump.clean.parquet").exists());
    let out = wd.run(&["scan", "--format", "parquet", "-"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("Parquet must be a plain file"),
        "{}",
        stderr(&out)
    );
}

/// The three values that make a binary column's rows quarantined.
fn hostile_bytes() -> [&'static [u8]; 3] {
    [b"=1+1", b"\x1b[2J", b"\xff\xfe\xfd\xfc"]
}

/// `Id`, `is_synthetic` and `data_source` of three clean rows, plus `v`.
fn with_column(v: ArrayRef) -> RecordBatch {
    RecordBatch::try_from_iter([
        ("Id", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef),
        ("is_synthetic", Arc::new(BooleanArray::from(vec![false; 3]))),
        ("data_source", Arc::new(StringArray::from(vec!["crm"; 3]))),
        ("v", v),
    ])
    .unwrap()
}

#[test]
fn fixed_size_and_dictionary_binary_are_checked_as_binary_is() {
    use arrow_array::types::Int32Type;
    let fixed =
        arrow_array::FixedSizeBinaryArray::try_from_iter(hostile_bytes().into_iter()).unwrap();
    let dict: arrow_array::DictionaryArray<Int32Type> = arrow_array::DictionaryArray::new(
        arrow_array::Int32Array::from(vec![0, 1, 2]),
        Arc::new(BinaryArray::from_iter_values(hostile_bytes())),
    );
    let wd = Workdir::new();
    for (name, column) in [
        (
            "binary",
            Arc::new(BinaryArray::from_iter_values(hostile_bytes())) as ArrayRef,
        ),
        ("fixed", Arc::new(fixed)),
        ("dict", Arc::new(dict)),
    ] {
        write_parquet(
            &with_column(column),
            &wd.join(&format!("{name}.parquet")),
            10,
        );
        let out = wd.run(&["scan", "--now", NOW, &format!("{name}.parquet")]);
        assert_eq!(status(&out), 1, "{name}: {}", stderr(&out));
        let q = quarantine_parquet(&wd.join(&format!("crmguard-out/{name}.quarantine.parquet")));
        let reasons: Vec<&str> = q.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(
            reasons,
            ["CSV_INJECTION", "CONTROL_CHARACTER", "ENCODING_INVALID"],
            "{name}"
        );
    }
}

#[test]
fn binary_inside_a_list_is_refused_not_passed_unseen() {
    let mut list =
        arrow_array::builder::ListBuilder::new(arrow_array::builder::BinaryBuilder::new());
    for v in hostile_bytes() {
        list.values().append_value(v);
        list.append(true);
    }
    let list = list.finish();
    let wd = Workdir::new();
    write_parquet(&with_column(Arc::new(list)), &wd.join("l.parquet"), 10);
    let out = wd.run(&["scan", "--now", NOW, "l.parquet"]);
    assert_eq!(status(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("crmguard: error: l.parquet: "), "{err}");
    assert!(err.contains("column `v` (List(Binary"), "{err}");
    assert!(err.contains("not checked as text"), "{err}");
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new(), "{err}");
}

/// `Id` 0..n, `is_synthetic` false, `data_source` "crm", in one row group.
fn plain_table(n: i64) -> RecordBatch {
    RecordBatch::try_from_iter([
        (
            "Id",
            Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
        ),
        (
            "is_synthetic",
            Arc::new(BooleanArray::from(vec![false; n as usize])),
        ),
        (
            "data_source",
            Arc::new(StringArray::from(vec!["crm"; n as usize])),
        ),
    ])
    .unwrap()
}

#[test]
fn a_corrupt_page_is_one_line_naming_the_row_group_not_a_panic() {
    let wd = Workdir::new();
    let path = wd.join("c.parquet");
    write_parquet(&plain_table(1000), &path, 1000);
    let mut bytes = std::fs::read(&path).unwrap();
    // Found by flipping each byte in turn: this one, in the footer's
    // account of a column chunk, sends the reader to a dictionary-encoded
    // page without its dictionary, where the parquet crate (60.1) panics
    // ("Decoder for dict should have been set") rather than returning an
    // error. Both the writer and the offset are pinned by Cargo.lock.
    assert_eq!(
        bytes.len(),
        10341,
        "the writer's output changed: find a new byte"
    );
    bytes[9702] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let out = wd.run(&["scan", "c.parquet"]);
    let err = stderr(&out);
    assert_eq!(status(&out), 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("crmguard: error: c.parquet: row group 1 of 1: cannot read as Parquet: "),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new(), "{err}");
}

/// A workdir with `limit.toml` setting `[limits] max_record_bytes`, and
/// `n.parquet` of one row whose `Notes` cell is `notes`.
fn one_row_under_limit(limit: usize, notes: &str) -> Workdir {
    let wd = Workdir::new();
    wd.write(
        "limit.toml",
        format!("[limits]\nmax_record_bytes = {limit}\n"),
    );
    let table = RecordBatch::try_from_iter([
        ("Id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        ("is_synthetic", Arc::new(BooleanArray::from(vec![false]))),
        ("data_source", Arc::new(StringArray::from(vec!["crm"]))),
        ("Notes", Arc::new(StringArray::from(vec![notes]))),
    ])
    .unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let file = File::create(wd.join("n.parquet")).unwrap();
    let mut w = ArrowWriter::try_new(file, table.schema(), Some(props)).unwrap();
    w.write(&table).unwrap();
    w.close().unwrap();
    wd
}

fn assert_over_limit(wd: &Workdir, out: &std::process::Output, at: &str, limit: usize) {
    let err = stderr(out);
    assert_eq!(status(out), 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("crmguard: error: n.parquet: {at}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("over {limit} bytes ([limits] max_record_bytes)")),
        "{err}"
    );
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new(), "{err}");
}

#[test]
fn a_parquet_bomb_is_refused_by_its_metadata_before_it_is_decoded() {
    // 1 MiB of one byte compresses to a few hundred: the footer still
    // says how large the page decodes to.
    let wd = one_row_under_limit(4096, &"a".repeat(1 << 20));
    assert!(std::fs::metadata(wd.join("n.parquet")).unwrap().len() < 4096);
    let out = wd.run(&["scan", "-p", "limit.toml", "n.parquet"]);
    assert_over_limit(&wd, &out, "row group 1 of 1, column `Notes`: ", 4096);
}

#[test]
fn a_parquet_record_over_the_limit_as_csv_is_refused_as_csv_is() {
    // The record as CSV, `1,false,crm,` and the notes, at the limit passes;
    // one byte more is refused, as in a CSV file.
    let limit = 200;
    let notes = |n: usize| "x".repeat(n - "1,false,crm,".len());
    let wd = one_row_under_limit(limit, &notes(limit));
    let out = wd.run(&["scan", "-p", "limit.toml", "n.parquet"]);
    assert_eq!(status(&out), 0, "{}", stderr(&out));
    let wd = one_row_under_limit(limit, &notes(limit + 1));
    let out = wd.run(&["scan", "-p", "limit.toml", "n.parquet"]);
    assert_over_limit(&wd, &out, "row 1: ", limit);
}

#[test]
fn a_parquet_export_gets_the_cleanup_plan_a_csv_one_does() {
    let wd = Workdir::new();
    let table = table_of(&common::fixtures().join("cleanup/contacts-export.csv"));
    write_csv(&table, &wd.join("a.csv"));
    write_parquet(&table, &wd.join("b.parquet"), 2);
    let out = wd.run(&["scan", "--now", NOW, "--cleanup-plan", "a.csv", "b.parquet"]);
    assert_eq!(status(&out), 1, "{}", stderr(&out));
    // The tag values hold each scan's id; the rest is the same.
    let plan = |name: &str| -> Vec<String> {
        (String::from_utf8(wd.read(&format!("crmguard-out/{name}.cleanup.csv")))
            .unwrap()
            .lines())
        .map(|l| l.split(',').take(3).collect::<Vec<_>>().join(","))
        .collect()
    };
    assert!(plan("a").len() > 1);
    assert_eq!(plan("a"), plan("b"));
    let report = wd.report("crmguard-out/b.report.json");
    assert_eq!(report["cleanup"]["rows"], plan("b").len() - 1);
    // The summary (on stderr) says so.
    let err = stderr(&out);
    assert!(err.contains("crmguard-out/b.cleanup.csv"), "{err}");

    // Without the Id column: refused before anything is written, as CSV.
    let wd = Workdir::new();
    write_parquet(&plain_table(3), &wd.join("n.parquet"), 10);
    wd.write("n.toml", "[cleanup]\nid_column = \"AccountId\"\n");
    let out = wd.run(&["scan", "-p", "n.toml", "--cleanup-plan", "n.parquet"]);
    let err = stderr(&out);
    assert_eq!(status(&out), 2, "{err}");
    assert!(err.contains("has no `AccountId` column"), "{err}");
    assert_eq!(wd.list("crmguard-out"), Vec::<String>::new(), "{err}");
}

/// Every `step`-th row of the Michigan reviews the repository ships (human
/// and GPT-4 hotel reviews, in that order), as a table of their text, label
/// and group.
fn michigan_rows(step: usize) -> RecordBatch {
    let path = common::fixtures().join("../data/detect/michigan_multilingual_hotel_gpt4.csv.zst");
    let mut rdr = csv::Reader::from_reader(zstd::Decoder::new(File::open(path).unwrap()).unwrap());
    let mut cols: [Vec<String>; 3] = Default::default();
    for r in rdr
        .deserialize::<std::collections::HashMap<String, String>>()
        .step_by(step)
    {
        let r = r.unwrap();
        for (col, key) in cols.iter_mut().zip(["text", "label", "group_id"]) {
            col.push(r[key].clone());
        }
    }
    let [text, label, group] = cols;
    let column = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    RecordBatch::try_from_iter([
        ("text", column(text)),
        ("label", column(label)),
        ("group_id", column(group)),
    ])
    .unwrap()
}

#[test]
fn calibrate_eval_and_train_read_parquet_as_they_read_its_csv() {
    let wd = Workdir::new();
    let table = michigan_rows(16);
    std::fs::create_dir_all(wd.join("csv")).unwrap();
    std::fs::create_dir_all(wd.join("pq")).unwrap();
    write_csv(&table, &wd.join("csv/reviews.csv"));
    // Row groups smaller than a batch: the rows come across groups.
    write_parquet(&table, &wd.join("pq/reviews.parquet"), 250);
    let run = |args: &[&str]| {
        let out = wd.run(args);
        assert_eq!(status(&out), 0, "{args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    for (csv, pq) in [("csv/reviews.csv", "pq/reviews.parquet"), ("csv", "pq")] {
        let calibrate = |f: &str| run(&["calibrate", f, "--fpr", "1%", "--json"]);
        let (a, b) = (calibrate(csv), calibrate(pq));
        assert!(a.contains("\"genuine\""), "{a}");
        assert_eq!(a.replace(csv, "F"), b.replace(pq, "F"));
    }
    run(&["eval", "csv", "--scores", "a.csv"]);
    run(&["eval", "pq", "--scores", "b.csv"]);
    let (a, b) = (wd.read("a.csv"), wd.read("b.csv"));
    assert!(a.split(|b| *b == b'\n').count() > 1000);
    assert_eq!(a, b);
    for (data, model) in [("csv", "a.bin"), ("pq", "b.bin")] {
        let args = ["train", "--data", data, "--out", model, "--trees", "0"];
        run(&args);
    }
    assert_eq!(
        std::fs::read(wd.join("a.bin")).unwrap(),
        std::fs::read(wd.join("b.bin")).unwrap()
    );
}

#[test]
fn a_labelled_parquet_file_that_does_not_decode_is_one_line() {
    let wd = Workdir::new();
    wd.write("texts.parquet", "text,label\nnot,parquet\n");
    let out = wd.run(&["calibrate", "texts.parquet"]);
    assert_eq!(status(&out), 2);
    let err = stderr(&out);
    assert!(
        err.starts_with("crmguard: error: texts.parquet: cannot read as Parquet"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Compressed around its own pages: it cannot be read by seeking.
    write_parquet(&michigan_rows(1000), &wd.join("t.parquet"), 10);
    std::fs::rename(wd.join("t.parquet"), wd.join("t.parquet.gz")).unwrap();
    let out = wd.run(&["eval", "t.parquet.gz"]);
    assert_eq!(status(&out), 2);
    assert!(
        stderr(&out).contains("Parquet must be a plain file"),
        "{}",
        stderr(&out)
    );
}
