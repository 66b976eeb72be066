//! QA commands: the runs table, run detail, statistics, log verification, exports.
//! With the fleet scope (`RunQuery::fleet`) the table, statistics (with each
//! station's yield) and exports read every station's synced runs from the fleet
//! database, as `hallmark log … --fleet` does.

use super::{lock, log_error, open_log, AppState};
use crate::ipc::*;
use hallmark_fleet::{Fleet, FleetError, FleetStatistics};
use hallmark_store::{csv_header, LineFormat, OnboardingRecord, Page, RecordWriter, RunFilter};
use tauri::State;

/// The fleet database the configuration in force names, or why there is none.
fn fleet_url(state: &AppState) -> Result<String, ApiError> {
    lock(&state.config).config.config.fleet.as_ref().map(|f| f.url.clone()).ok_or_else(|| {
        ApiError::new(
            FailureCode::LogUnavailable,
            "This station has no fleet database configured.",
            "Show this station's runs, or ask the line engineer to add [fleet] to the configuration.",
        )
    })
}

/// Runs `ask` on a fresh fleet connection off the async runtime (the client blocks).
async fn with_fleet<T: Send + 'static>(
    url: String,
    ask: impl FnOnce(&mut Fleet) -> Result<T, FleetError> + Send + 'static,
) -> Result<T, ApiError> {
    let fleet_error = |e: String| {
        ApiError::new(
            FailureCode::LogUnavailable,
            "The fleet database cannot be read.",
            "Check the connection to the fleet server (hallmark fleet status), or show this station's runs.",
        )
        .with_detail(e)
    };
    tauri::async_runtime::spawn_blocking(move || {
        Fleet::connect_with_stored_password(&url).and_then(|mut fleet| ask(&mut fleet))
    })
    .await
    .map_err(|e| fleet_error(e.to_string()))?
    .map_err(|e| fleet_error(e.to_string()))
}

/// The fleet's statistics for `query`.
async fn fleet_statistics(state: &AppState, query: &RunQuery) -> Result<FleetStatistics, ApiError> {
    let f = filter(query);
    with_fleet(fleet_url(state)?, move |fleet| fleet.statistics(&f)).await
}

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
        station: Some(r.station),
    }
}

/// A page of runs, newest first.
#[tauri::command]
pub async fn runs_page(state: State<'_, AppState>, query: RunQuery) -> Result<RunPage, ApiError> {
    let f = filter(&query);
    let store = if query.fleet { None } else { Some(open_log(&state)?) };
    let total = match &store {
        Some(store) => store.count_runs(&f).map_err(log_error)?,
        None => {
            let f = f.clone();
            with_fleet(fleet_url(&state)?, move |fleet| fleet.count_runs(&f)).await?
        }
    };
    let size = u64::from(query.page_size.clamp(1, 500));
    let end = total.saturating_sub(u64::from(query.page) * size);
    let start = end.saturating_sub(size);
    let page = Page { limit: end - start, offset: start };
    let mut runs = match store {
        Some(store) => {
            let mut runs = Vec::new();
            store.for_each_run(&f, Some(page), |r| runs.push(run_row(r))).map_err(log_error)?;
            runs
        }
        None => {
            with_fleet(fleet_url(&state)?, move |fleet| {
                let mut runs = Vec::new();
                fleet.for_each_run(&f, Some(page), |r| runs.push(run_row(r)))?;
                Ok(runs)
            })
            .await?
        }
    };
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
    let (s, stations) = if query.fleet {
        let fleet = fleet_statistics(&state, &query).await?;
        let stations = fleet
            .stations
            .iter()
            .map(|y| (y.station.clone(), y.runs as u32, y.devices as u32, y.devices_passed as u32, y.yield_percent))
            .collect();
        (fleet.statistics, stations)
    } else {
        (open_log(&state)?.statistics(&filter(&query)).map_err(log_error)?, Vec::new())
    };
    Ok(StatsView {
        stations,
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

/// Writes run records (or, `onboarding`, the onboarding records) in `format` to
/// `file`, from `runs` / `boards`, which call the push they are given for each record;
/// returns the source's error, or the file's outcome (rows written).
fn write_records<E>(
    file: &mut std::io::BufWriter<std::fs::File>,
    format: LineFormat,
    onboarding: bool,
    runs: impl FnOnce(&mut dyn FnMut(hallmark_store::RunRecord)) -> Result<(), E>,
    boards: impl FnOnce(&mut dyn FnMut(OnboardingRecord)) -> Result<(), E>,
) -> Result<std::io::Result<u64>, E> {
    let written = if onboarding {
        let mut w = RecordWriter::new(file, format, OnboardingRecord::csv_header());
        boards(&mut |r| w.push(&r, |r| r.to_csv()))?;
        w.finish()
    } else {
        let mut w = RecordWriter::new(file, format, csv_header());
        runs(&mut |r| w.push(&r, |r| r.to_csv()))?;
        w.finish()
    };
    Ok(written.and_then(|rows| std::io::Write::flush(file).map(|()| rows)))
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
/// Writes the signed evidence of `uid` into `<data>/exports/evidence` (the CLI's
/// `hallmark evidence`); audited.
#[tauri::command]
pub async fn write_evidence(state: State<'_, AppState>, uid: String) -> Result<EvidenceView, ApiError> {
    let uid = uid.trim().to_string();
    state.runner.ask(|reply| crate::runner::Command::Evidence { uid, actor: "qa".into(), reply }).await
}

/// `csv` or `jsonl` run records (the CLI's `log export`), or `onboarding` (CSV of
/// passed boards for cloud onboarding, the CLI's `log onboarding`).
#[tauri::command]
pub async fn export_runs(state: State<'_, AppState>, query: RunQuery, kind: String) -> Result<ExportView, ApiError> {
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
    let f = filter(&query);
    let onboarding = kind == "onboarding";
    let written = if query.fleet {
        let partial = partial.clone();
        with_fleet(fleet_url(&state)?, move |fleet| {
            let mut file = match std::fs::File::create(&partial) {
                Ok(file) => std::io::BufWriter::new(file),
                Err(e) => return Ok(Err(e)),
            };
            // Two borrows of one connection, used one after the other.
            let fleet = std::cell::RefCell::new(fleet);
            write_records(
                &mut file,
                format,
                onboarding,
                |push| fleet.borrow_mut().for_each_run(&f, None, push).map(drop),
                |push| fleet.borrow_mut().onboarding(&f, push).map(drop),
            )
        })
        .await?
    } else {
        let store = open_log(&state)?;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&partial).map_err(io)?);
        write_records(
            &mut file,
            format,
            onboarding,
            |push| store.for_each_run(&f, None, push),
            |push| store.onboarding(&f, push),
        )
        .map_err(log_error)?
    };
    let rows = written.map_err(io)?;
    std::fs::rename(&partial, &path).map_err(io)?;
    Ok(ExportView { path: path.display().to_string(), rows: rows as u32 })
}
