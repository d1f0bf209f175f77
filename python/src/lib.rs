//! `crmguard._crmguard`: the Python package's native module. A thin layer:
//! every verdict comes from the crate's [`crmguard::batch`] API, which
//! presents rows to the same `check_row` the CLI runs; this file only moves
//! Arrow data across (the Arrow C Data Interface, through `arrow-pyarrow`),
//! releases the GIL while Rust works, and turns errors into
//! `crmguard.CrmguardError` carrying the CLI's one-line message.
//! python/crmguard/ holds the typed Python API over it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_pyarrow::PyArrowType;
use arrow_schema::{Field, Schema};
use crmguard::batch::Checker;
use crmguard::batch::arrow::{VerdictColumns, column_names, rows_from_batch};
use crmguard::batch::table::{PartChecker, PartSummary, TableAudit, TableInfo};
use crmguard::commands::judge::Judge;
use crmguard::policy::{DEFAULT_POLICY, Policy as EnginePolicy, PolicySource};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(
    _crmguard,
    CrmguardError,
    PyException,
    "An error crmguard reports: the same one line the command line prints."
);

fn err(e: anyhow::Error) -> PyErr {
    CrmguardError::new_err(crmguard::error::one_line(&e))
}

fn err_msg(e: impl std::fmt::Display) -> PyErr {
    CrmguardError::new_err(e.to_string())
}

/// A validated policy and the detector it selects, loaded once and shared
/// by every call. Pickles as its text, so Spark can ship it to executors.
#[pyclass(frozen, module = "crmguard._crmguard")]
struct Policy {
    policy: EnginePolicy,
    /// The policy's TOML, for pickling.
    text: String,
    /// `None` when the policy turns the detector off.
    judge: Option<Judge>,
}

impl Policy {
    fn new(policy: EnginePolicy, text: String) -> anyhow::Result<Policy> {
        let judge = match policy.detector.enabled {
            true => Some(Judge::load(&policy, None, None)?),
            false => None,
        };
        Ok(Policy {
            policy,
            text,
            judge,
        })
    }

    fn source_path(&self) -> Option<&Path> {
        match &self.policy.source {
            PolicySource::File(p) => Some(p),
            PolicySource::BuiltIn => None,
        }
    }

    fn checker(
        &self,
        names: &[String],
        object: Option<&str>,
        now: jiff::Timestamp,
    ) -> anyhow::Result<Checker<'_>> {
        let settings = self.judge.as_ref().map(Judge::settings);
        let checker =
            Checker::new(&self.policy, names, settings, now).map_err(anyhow::Error::msg)?;
        Ok(checker.with_object(object, None))
    }
}

#[pymethods]
impl Policy {
    /// The policy at `path`; without one, the CLI's choice: $CRMGUARD_POLICY,
    /// else ./crmguard.toml or the nearest one above, else the built-in policy.
    #[staticmethod]
    #[pyo3(signature = (path=None))]
    fn load(py: Python<'_>, path: Option<PathBuf>) -> PyResult<Policy> {
        py.detach(|| {
            let policy = EnginePolicy::discover(path.as_deref())?;
            let text = match &policy.source {
                PolicySource::File(p) => std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("{}: cannot read policy: {e}", p.display()))?,
                PolicySource::BuiltIn => DEFAULT_POLICY.to_string(),
            };
            Policy::new(policy, text)
        })
        .map_err(err)
    }

    /// A policy from its text; `path` names it in errors and reports.
    #[staticmethod]
    #[pyo3(signature = (text, path=None))]
    fn _from_text(text: String, path: Option<PathBuf>) -> PyResult<Policy> {
        let source = match path {
            Some(p) => PolicySource::File(p),
            None => PolicySource::BuiltIn,
        };
        let policy = EnginePolicy::parse(&text, source).map_err(err_msg)?;
        Policy::new(policy, text).map_err(err)
    }

    /// The file the policy came from; `None` for the built-in policy.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.source_path().map(Path::to_owned)
    }

    /// The policy's TOML text.
    #[getter]
    fn text(&self) -> &str {
        &self.text
    }

    /// Whether the detector of undisclosed AI text runs.
    #[getter]
    fn detector_enabled(&self) -> bool {
        self.judge.is_some()
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, Py<PyAny>)> {
        let py = slf.py();
        let ctor = slf.get_type().getattr("_from_text")?;
        let me = slf.get();
        let args = (me.text.clone(), me.path()).into_pyobject(py)?;
        Ok((ctor, args.into_any().unbind()))
    }

    fn __repr__(&self) -> String {
        match self.source_path() {
            Some(p) => format!("Policy.load({:?})", p.display().to_string()),
            None => "Policy.load()  # built-in".to_string(),
        }
    }
}

fn parse_now(now: Option<&str>) -> PyResult<jiff::Timestamp> {
    match now {
        None => Ok(jiff::Timestamp::now()),
        Some(s) => crmguard::rules::parse_timestamp(s)
            .ok_or_else(|| err_msg(format!("{s:?} is not an RFC 3339 time with an offset"))),
    }
}

/// Refuses input columns that would collide with crmguard's own.
fn output_schema(input: &Schema, extra: &[Field]) -> anyhow::Result<Arc<Schema>> {
    for f in extra {
        if input.field_with_name(f.name()).is_ok() {
            anyhow::bail!(
                "the input already has a column `{}`: was it checked before?",
                f.name()
            );
        }
    }
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.extend(extra.iter().cloned());
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        input.metadata().clone(),
    )))
}

/// The rows of `batch` with crmguard's five columns appended.
#[pyfunction]
#[pyo3(signature = (batch, policy, object=None, row_offset=0, text_columns=None, now=None))]
fn check_batch(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    policy: &Policy,
    object: Option<String>,
    row_offset: u64,
    text_columns: Option<Vec<String>>,
    now: Option<&str>,
) -> PyResult<PyArrowType<RecordBatch>> {
    let now = parse_now(now)?;
    let batch = batch.0;
    let out = py.detach(|| -> anyhow::Result<RecordBatch> {
        let names = column_names(&batch.schema());
        let schema = output_schema(&batch.schema(), &VerdictColumns::fields())?;
        let mut checker = policy.checker(&names, object.as_deref(), now)?;
        if let Some(t) = text_columns {
            checker.set_text_columns(t);
        }
        let mut rows = Vec::new();
        rows_from_batch(&batch, row_offset, &mut rows)?;
        let mut verdicts = Vec::new();
        checker.check(&rows, &mut verdicts);
        let mut columns = batch.columns().to_vec();
        columns.extend(VerdictColumns::new(&rows, &verdicts, None).all());
        Ok(RecordBatch::try_new(schema, columns)?)
    });
    out.map(PyArrowType).map_err(err)
}

/// The columns the detector would judge in a file starting with `batch`'s
/// rows (the CSV path infers them from its first batch); `None` with the
/// detector off.
#[pyfunction]
#[pyo3(signature = (batch, policy, object=None))]
fn infer_text_columns(
    py: Python<'_>,
    batch: PyArrowType<RecordBatch>,
    policy: &Policy,
    object: Option<String>,
) -> PyResult<Option<Vec<String>>> {
    let batch = batch.0;
    py.detach(|| -> anyhow::Result<Option<Vec<String>>> {
        let names = column_names(&batch.schema());
        let checker = policy.checker(&names, object.as_deref(), jiff::Timestamp::now())?;
        if !checker.needs_text_columns() {
            return Ok(checker.text_columns().map(<[String]>::to_vec));
        }
        let mut rows = Vec::new();
        rows_from_batch(&batch, 0, &mut rows)?;
        Ok(Some(checker.infer_text_columns(&rows)))
    })
    .map_err(err)
}

/// The detector's score of each text (three decimals, as the outputs write
/// it); `None` for a text too short to judge.
#[pyfunction]
#[pyo3(signature = (texts, policy=None))]
fn score_texts(
    py: Python<'_>,
    texts: Vec<String>,
    policy: Option<&Policy>,
) -> PyResult<Vec<Option<f64>>> {
    let detector = match policy.map(|p| p.judge.as_ref()) {
        Some(Some(judge)) => judge.detector(),
        Some(None) => return Err(err_msg("the policy turns the detector off")),
        None => crmguard::detector::Detector::embedded(),
    };
    Ok(py.detach(|| {
        use rayon::prelude::*;
        texts
            .par_iter()
            .map(|t| {
                let a = detector.assess(t, false);
                a.judged
                    .then(|| (f64::from(a.score) * 1000.0).round() / 1000.0)
            })
            .collect()
    }))
}

/// Runs `crmguard scan` on `path` in-process; returns the exit status and
/// the path of the file's report.
#[pyfunction]
#[pyo3(signature = (args))]
fn _scan(py: Python<'_>, args: Vec<String>) -> PyResult<u8> {
    use clap::Parser as _;
    let cli = crmguard::cli::Cli::try_parse_from(
        std::iter::once("crmguard".to_string()).chain(args.iter().cloned()),
    )
    .map_err(|e| err_msg(e.to_string().lines().next().unwrap_or_default().to_string()))?;
    let crmguard::cli::Command::Scan(mut scan) = cli.command else {
        return Err(err_msg("not a scan"));
    };
    scan.embedded = true;
    py.detach(|| crmguard::commands::scan::run(scan))
        .map_err(err)
}

/// One Spark partition's checking: its batches in order, then a summary
/// of counts and digests for the driver.
#[pyclass(module = "crmguard._crmguard")]
struct PartRun {
    policy: Py<Policy>,
    names: Vec<String>,
    object: Option<String>,
    text_columns: Option<Vec<String>>,
    now: jiff::Timestamp,
    part: Option<PartChecker>,
}

#[pymethods]
impl PartRun {
    #[new]
    #[pyo3(signature = (policy, names, first_row, text_columns=None, object=None, now=None))]
    fn new(
        policy: Py<Policy>,
        names: Vec<String>,
        first_row: u64,
        text_columns: Option<Vec<String>>,
        object: Option<String>,
        now: Option<&str>,
    ) -> PyResult<PartRun> {
        Ok(PartRun {
            policy,
            names,
            object,
            text_columns,
            now: parse_now(now)?,
            part: Some(PartChecker::new(first_row)),
        })
    }

    /// The batch with crmguard's columns and `crmguard_row_blake3` (the
    /// audit log's hash of each quarantined row; null for the others).
    fn check(
        &mut self,
        py: Python<'_>,
        batch: PyArrowType<RecordBatch>,
    ) -> PyResult<PyArrowType<RecordBatch>> {
        let batch = batch.0;
        let policy = self.policy.get();
        let Some(part) = self.part.as_mut() else {
            return Err(err_msg("this partition was finished"));
        };
        let (names, object, text, now) = (&self.names, &self.object, &self.text_columns, self.now);
        let out = py.detach(|| -> anyhow::Result<RecordBatch> {
            if column_names(&batch.schema()) != *names {
                anyhow::bail!("a batch's columns differ from the table's");
            }
            let mut extra = VerdictColumns::fields();
            extra.push(Field::new(
                "crmguard_row_blake3",
                arrow_schema::DataType::Utf8,
                true,
            ));
            let schema = output_schema(&batch.schema(), &extra)?;
            let mut checker = policy.checker(names, object.as_deref(), now)?;
            if let Some(t) = text {
                checker.set_text_columns(t.clone());
            }
            let checked = part.check(&mut checker, &batch)?;
            let mut columns = batch.columns().to_vec();
            columns.extend(checked.columns.all());
            columns.push(checked.row_blake3);
            Ok(RecordBatch::try_new(schema, columns)?)
        });
        out.map(PyArrowType).map_err(err)
    }

    /// The partition's summary as JSON; `part` is its index.
    fn finish(&mut self, part: u64) -> PyResult<String> {
        let Some(checker) = self.part.take() else {
            return Err(err_msg("this partition was finished"));
        };
        serde_json::to_string(&checker.finish(part)).map_err(err_msg)
    }
}

/// The driver's side of a table checked in partitions.
#[pyclass(module = "crmguard._crmguard")]
struct TableRun {
    audit: Option<TableAudit>,
}

#[pymethods]
impl TableRun {
    #[new]
    fn new() -> PyResult<TableRun> {
        Ok(TableRun {
            audit: Some(TableAudit::new().map_err(err_msg)?),
        })
    }

    /// Adds the next partition's summary (JSON from `PartRun.finish`).
    fn add_part(&mut self, summary: &str) -> PyResult<()> {
        let s: PartSummary = serde_json::from_str(summary).map_err(err_msg)?;
        self.audit_mut()?.add_part(&s).map_err(err)
    }

    /// Spools one quarantined row for the audit log, in row order.
    fn push_quarantined(&mut self, row: u64, reasons: &str, row_blake3: &str) -> PyResult<()> {
        self.audit_mut()?
            .push_quarantined(row, reasons, row_blake3)
            .map_err(err)
    }

    /// The table's report as JSON; recorded in `audit_log` when given.
    #[pyo3(signature = (policy, path, format, names, clean_path, quarantine_path, text_columns=None, object=None, now=None, audit_log=None))]
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        py: Python<'_>,
        policy: &Policy,
        path: PathBuf,
        format: &str,
        names: Vec<String>,
        clean_path: PathBuf,
        quarantine_path: PathBuf,
        text_columns: Option<Vec<String>>,
        object: Option<String>,
        now: Option<&str>,
        audit_log: Option<PathBuf>,
    ) -> PyResult<String> {
        let format: &'static str = match format {
            "spark" => "spark",
            "parquet" => "parquet",
            other => return Err(err_msg(format!("unknown table format {other:?}"))),
        };
        let scan_time = parse_now(now)?;
        let audit = self
            .audit
            .take()
            .ok_or_else(|| err_msg("this table was finished"))?;
        py.detach(|| -> anyhow::Result<String> {
            let settings = policy.judge.as_ref().map(Judge::settings);
            let info = TableInfo {
                path,
                format,
                names: &names,
                policy: &policy.policy,
                object: object.as_deref(),
                scan_time,
                ai: settings.map(|s| (s, text_columns.unwrap_or_default())),
                clean_path,
                quarantine_path,
            };
            let report = audit.finish(&info, audit_log.as_deref())?;
            Ok(serde_json::to_string(&report)?)
        })
        .map_err(err)
    }
}

impl TableRun {
    fn audit_mut(&mut self) -> PyResult<&mut TableAudit> {
        self.audit
            .as_mut()
            .ok_or_else(|| err_msg("this table was finished"))
    }
}

#[pymodule]
fn _crmguard(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CrmguardError", m.py().get_type::<CrmguardError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Policy>()?;
    m.add_class::<PartRun>()?;
    m.add_class::<TableRun>()?;
    m.add_function(wrap_pyfunction!(check_batch, m)?)?;
    m.add_function(wrap_pyfunction!(infer_text_columns, m)?)?;
    m.add_function(wrap_pyfunction!(score_texts, m)?)?;
    m.add_function(wrap_pyfunction!(_scan, m)?)?;
    Ok(())
}
