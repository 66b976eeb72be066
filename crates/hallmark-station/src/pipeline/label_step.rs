//! The label steps: `label-check` lays the label out with the board's real values
//! before anything is signed; `label` prints it last, once the run has passed.

use super::errors::sanitize;
use super::steps::StepResult;
use super::{Run, Station};
use crate::dialect::{BoardFacts, Installation};
use crate::{Failure, FailureCode, Uid};
use hallmark_ca::fingerprint;
use hallmark_label::{render_pdf, LabelData, LabelError};
use hallmark_store::{LabelChecked, Labelled};
use sha2::{Digest, Sha256};

/// The label's fields for this board; `certificate` is `None` before signing, when
/// the certificate's fields take the widest values they can have.
fn label_data(run: &Run<'_>, uid: &Uid, board: &BoardFacts, certificate: Option<&Installation>) -> LabelData {
    let (serial, fingerprint) = match certificate {
        Some(inst) => {
            let fp = fingerprint(&inst.certificate);
            (inst.serial.to_uppercase(), fp.get(..16).unwrap_or(&fp).to_uppercase())
        }
        // Serials are 16 random bytes (32 hex digits); the label shows 16 of the
        // fingerprint's. 'D' is the widest hex digit in the label font.
        None => ("D".repeat(32), "D".repeat(16)),
    };
    LabelData::new()
        .with("uid", uid.as_str())
        .with("serial", serial)
        .with("hardware_id", hex::encode_upper(&board.hardware_id))
        .with("model", sanitize(&board.model))
        .with("firmware", sanitize(&board.firmware_version))
        .with("date", time::OffsetDateTime::now_utc().date().to_string())
        .with("cert_fingerprint", fingerprint)
        .with("station", run.station.station_id.clone())
        .with("operator", run.request.operator.clone().unwrap_or_default())
}

/// The `label-check` step: the label lays out with this board's real values before
/// anything is generated or signed for it.
pub(super) fn label_check(run: &mut Run<'_>, uid: &Uid, board: &BoardFacts) -> StepResult<(), LabelChecked> {
    let data = label_data(run, uid, board, None);
    let template = &run.station.label_template;
    match template.validate(&data) {
        Ok(()) => Ok(((), LabelChecked { template: template.name.clone() })),
        Err(e) => Err(label_unfit(&e, &template.name)),
    }
}

fn label_unfit(e: &LabelError, template: &str) -> Failure {
    Failure::new(
        FailureCode::LabelFailed,
        format!("This board's label cannot be made with the template \"{template}\": {e}. Nothing was issued."),
        "Call the line engineer to give the label more room or a fit rule (shrink, wrap, truncate).",
    )
    .with_detail(format!("{e:?}"))
}

pub(super) fn label(
    run: &mut Run<'_>,
    uid: &Uid,
    board: &BoardFacts,
    installation: &Installation,
) -> StepResult<(), Labelled> {
    let station = run.station;
    let data = label_data(run, uid, board, Some(installation));
    let short_run = run.report.run_id.get(..8).unwrap_or_default().to_string();
    let (path, pdf, job) = produce_label(station, &data, &format!("{uid}-{short_run}"))?;
    run.report.label_pdf = Some(path.display().to_string());
    run.report.label_print = job.clone();
    let labelled = Labelled {
        path: path.display().to_string(),
        sha256: hex::encode(Sha256::digest(&pdf)),
        template: station.label_template.name.clone(),
        fields: data.values().clone(),
        // A print job is strings and numbers: serialising it cannot fail.
        print: job.and_then(|j| serde_json::to_value(j).ok()),
    };
    Ok(((), labelled))
}

/// Keeps the label as a PDF in the data directory and prints it on the configured
/// printer; also used for reprints.
pub(crate) fn produce_label(
    station: &Station,
    data: &LabelData,
    name: &str,
) -> Result<(std::path::PathBuf, Vec<u8>, Option<crate::printer::PrintJob>), Failure> {
    let label_failed = |what: &str, detail: String| {
        Failure::new(
            FailureCode::LabelFailed,
            format!("The label could not be produced: {what}."),
            "Call the line engineer.",
        )
        .with_detail(detail)
    };
    let pdf = render_pdf(&station.label_template, data)
        .map_err(|e| label_failed("the template could not be drawn", e.to_string()))?;
    let dir = station.data_dir.labels_dir();
    let unsaved = "its PDF could not be saved in the data directory";
    std::fs::create_dir_all(&dir).map_err(|e| label_failed(unsaved, format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf).map_err(|e| label_failed(unsaved, format!("{}: {e}", path.display())))?;
    let job = match &station.config.config.label.printer {
        Some(printer) => {
            Some(crate::printer::print(printer, &station.label_template, data, name, station.data_dir.path()).map_err(
                |e| {
                    Failure::new(
                        FailureCode::PrintFailed,
                        format!("The label did not print ({e})."),
                        "Fix the printer, then run the board again: it resumes without signing anything new.",
                    )
                },
            )?)
        }
        None => None,
    };
    Ok((path, pdf, job))
}
