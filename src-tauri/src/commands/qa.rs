//! QA commands: the runs table, run detail, statistics, log verification, exports.

use super::{log_error, open_log, AppState};
use crate::ipc::*;
use hallmark_store::{csv_header, LineFormat, OnboardingRecord, Page, RecordWriter, RunFilter};
use tauri::State;

fn filter(q: &RunQuery) -> RunFilter {
    let f = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    RunFilter {
        from: f(&q.from),
        to: f(&q.to),
        outcome: f(&q.outcome),
        uid: f(&q.uid),
        operator: f(&q.operator),
        slot: f(&q.slot),
        failing_step: f(&q.failing_step),
        ..RunFilter::default()
    }
}

fn run_row(r: hallmark_store::RunRecord) -> RunView {
    let failure = r.failure.as_ref().map(ApiError::recorded);
    RunView {
        run_id: r.run_id,
        outcome: r.outcome,
        slot: r.slot,
        uid: r.uid,
        operator: r.operator,
        started_at: Some(r.started_at),
        failure,
        failing_step: r.failing_step,
        steps: r.steps.into_iter().map(|s| StepView { name: s.name, outcome: s.outcome, ms: s.ms }).collect(),
        label_pdf: None,
        cert_serial: r.cert_serial,
    }
}

/// A page of runs, newest first.
#[tauri::command]
pub async fn runs_page(state: State<'_, AppState>, query: RunQuery) -> Result<RunPage, ApiError> {
    let store = open_log(&state)?;
    let f = filter(&query);
    let total = store.count_runs(&f).map_err(log_error)?;
    let size = u64::from(query.page_size.clamp(1, 500));
    let end = total.saturating_sub(u64::from(query.page) * size);
    let start = end.saturating_sub(size);
    let mut runs = Vec::new();
    store
        .for_each_run(&f, Some(Page { limit: end - start, offset: start }), |r| runs.push(run_row(r)))
        .map_err(log_error)?;
    runs.reverse();
    Ok(RunPage { total: total as u32, runs })
}

/// One run with its events and its UID's certificates.
#[tauri::command]
pub async fn run_detail(state: State<'_, AppState>, run_id: String) -> Result<RunDetail, ApiError> {
    let store = open_log(&state)?;
    let mut found = None;
    let f = RunFilter { run_id: Some(run_id.clone()), ..RunFilter::default() };
    store.for_each_run(&f, None, |r| found = Some(r)).map_err(log_error)?;
    let run = found.ok_or_else(|| {
        ApiError::new(FailureCode::LogUnavailable, format!("Run {run_id} is not in the log."), "Choose another run.")
    })?;
    let events = store
        .run_events(&run_id)
        .map_err(log_error)?
        .into_iter()
        .map(|(step, phase, outcome, us, detail)| EventView {
            step,
            phase,
            outcome,
            ms: us.map(|u| u as f64 / 1000.0),
            detail: detail.to_string(),
        })
        .collect();
    let certificates = match &run.uid {
        Some(uid) => store.certificates(uid).map_err(log_error)?.into_iter().map(certificate_view).collect(),
        None => Vec::new(),
    };
    Ok(RunDetail { run: run_row(run), events, certificates })
}

fn certificate_view(c: hallmark_store::IssuedCertificate) -> CertificateView {
    let (subject, not_before, not_after) =
        summary(&c.pem).unwrap_or_else(|| ("(unreadable)".into(), String::new(), String::new()));
    CertificateView { serial: c.serial, fingerprint: c.fingerprint, subject, not_before, not_after, revoked: c.revoked }
}

/// Checks the log's hash chains.
#[tauri::command]
pub async fn verify_log(state: State<'_, AppState>) -> Result<VerifyView, ApiError> {
    let store = open_log(&state)?;
    let report = store.verify_chain().map_err(log_error)?;
    let ok = report.first_broken_event.is_none() && report.first_broken_audit.is_none();
    Ok(VerifyView { ok, events: (report.events + report.audit_entries) as u32, problem: report.problem })
}

/// Yield, throughput and the failure Pareto.
#[tauri::command]
pub async fn statistics(state: State<'_, AppState>, query: RunQuery) -> Result<StatsView, ApiError> {
    let store = open_log(&state)?;
    let s = store.statistics(&filter(&query)).map_err(log_error)?;
    Ok(StatsView {
        runs: s.runs as u32,
        passed: s.passed as u32,
        yield_percent: s.yield_percent,
        first_pass_yield_percent: s.first_pass_yield_percent,
        failures_by_step: s
            .failures_by_step
            .iter()
            .map(|p| {
                (
                    format!("{} {}", p.step.clone().unwrap_or_default(), p.code.clone().unwrap_or_default()),
                    p.count as u32,
                )
            })
            .collect(),
        per_hour: s.throughput_per_hour.iter().map(|h| (h.hour.clone(), h.runs as u32, h.passed as u32)).collect(),
    })
}

/// Subject and validity of a PEM certificate.
fn summary(pem: &str) -> Option<(String, String, String)> {
    use x509_parser::prelude::*;
    let (_, p) = parse_x509_pem(pem.as_bytes()).ok()?;
    let (_, c) = parse_x509_certificate(&p.contents).ok()?;
    let fmt =
        |t: ASN1Time| t.to_datetime().format(&::time::format_description::well_known::Rfc3339).unwrap_or_default();
    Some((c.subject().to_string(), fmt(c.validity().not_before), fmt(c.validity().not_after)))
}

/// Writes an export of the runs the filter selects into `<data>/exports/`:
/// `csv` or `jsonl` run records (the CLI's `log export`), or `onboarding` (CSV of
/// passed boards for cloud onboarding, the CLI's `log onboarding`).
#[tauri::command]
pub async fn export_runs(state: State<'_, AppState>, query: RunQuery, kind: String) -> Result<ExportView, ApiError> {
    let store = open_log(&state)?;
    let dir = state.data_dir()?.exports_dir();
    let (format, extension) = match kind.as_str() {
        "csv" | "onboarding" => (LineFormat::Csv, "csv"),
        "jsonl" => (LineFormat::Jsonl, "jsonl"),
        other => {
            return Err(ApiError::new(
                FailureCode::ExportFailed,
                format!("There is no export {other:?}."),
                "Use csv, jsonl or onboarding.",
            ))
        }
    };
    let io = |e: std::io::Error| {
        ApiError::new(
            FailureCode::ExportFailed,
            "The export could not be written.",
            "Check the free space and permissions where exports go.",
        )
        .with_detail(e)
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let path = dir.join(format!("hallmark-{kind}-{stamp}.{extension}"));
    let partial = dir.join(format!(".hallmark-{kind}-{stamp}.partial"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io)?);
    let f = filter(&query);
    let rows = if kind == "onboarding" {
        let mut w = RecordWriter::new(&mut file, format, OnboardingRecord::csv_header());
        store.onboarding(&f, |r| w.push(&r, |r| r.to_csv())).map_err(log_error)?;
        w.finish().map_err(io)?
    } else {
        let mut w = RecordWriter::new(&mut file, format, csv_header());
        store.for_each_run(&f, None, |r| w.push(&r, |r| r.to_csv())).map_err(log_error)?;
        w.finish().map_err(io)?
    };
    std::io::Write::flush(&mut file).map_err(io)?;
    drop(file);
    std::fs::rename(&partial, &path).map_err(io)?;
    Ok(ExportView { path: path.display().to_string(), rows: rows as u32 })
}
