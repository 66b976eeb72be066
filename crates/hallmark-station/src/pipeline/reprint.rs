//! Reprinting the label of a provisioned board from what the log recorded when it
//! passed: the same field values, the current template and printer. Audited as a
//! reprint (before printing, and with the job after), never as a new run.

use super::errors;
use super::label_step::produce_label;
use super::Station;
use crate::printer::PrintJob;
use crate::{Failure, FailureCode};
use hallmark_label::LabelData;
use hallmark_store::{StepEvent, Store};
use serde::Serialize;
use serde_json::json;

/// What a reprint did.
#[derive(Clone, Debug, Serialize)]
pub struct Reprint {
    /// The board.
    pub uid: String,
    /// The passing run whose label was reprinted.
    pub run_id: String,
    /// The PDF kept for this reprint.
    pub label_pdf: String,
    /// The print job, when a printer is configured.
    pub print: Option<PrintJob>,
}

impl Station {
    /// Reprints the label of `uid`'s latest passing run.
    pub fn reprint(&self, store: &Store, uid: &str, actor: &str) -> Result<Reprint, Failure> {
        let (run_id, event) =
            store.last_passed_step(uid, super::Step::Label).map_err(errors::log_failed)?.ok_or_else(|| {
                Failure::new(
                    FailureCode::LabelFailed,
                    format!("No passing run of {uid} is in the log, so there is no label to reprint."),
                    "Check the UID.",
                )
            })?;
        let labelled = match event {
            Ok(StepEvent::Labelled(labelled)) => labelled,
            // Logs from before the label's fields were recorded.
            other => {
                let why = other.map_or_else(|e| e.to_string(), |e| format!("a {} event", e.step()));
                return Err(Failure::new(
                    FailureCode::LabelFailed,
                    format!("Run {run_id} of {uid} predates recorded label fields."),
                    "Provision the board again to relabel it.",
                )
                .with_detail(why));
            }
        };
        let data = labelled.fields.iter().fold(LabelData::new(), |d, (k, v)| d.with(k, v.as_str()));
        store
            .append_audit(actor, "label-reprint", &json!({ "uid": uid, "run_id": run_id, "station": self.station_id }))
            .map_err(errors::log_failed)?;
        let count = store.audit_count("label-reprint").map_err(errors::log_failed)?;
        let name = format!("{uid}-{}-reprint{count}", run_id.get(..8).unwrap_or_default());
        let result = produce_label(self, &data, &name);
        let outcome = match &result {
            Ok((path, _, job)) => json!({ "uid": uid, "run_id": run_id, "path": path, "print": job }),
            Err(f) => json!({ "uid": uid, "run_id": run_id, "failure": f }),
        };
        store.append_audit(actor, "label-reprinted", &outcome).map_err(errors::log_failed)?;
        let (path, _, print) = result?;
        Ok(Reprint { uid: uid.to_string(), run_id, label_pdf: path.display().to_string(), print })
    }
}

/// What a test print did.
#[derive(Clone, Debug, Serialize)]
pub struct TestPrint {
    /// The PDF kept for it.
    pub label_pdf: String,
    /// The print job (none when no printer is configured: the PDF is all there is).
    pub print: Option<PrintJob>,
}

impl Station {
    /// Prints the current template with sample values (UID `TEST-PRINT`) on the
    /// configured printer, audited before and after like a reprint.
    pub fn test_print(&self, store: &Store, actor: &str) -> Result<TestPrint, Failure> {
        let data = LabelData::sample().with("uid", "TEST-PRINT").with("station", self.station_id.clone());
        let printer = self.config.config.label.printer.as_ref().map(crate::printer::describe);
        store
            .append_audit(actor, "label-test-print", &json!({ "printer": printer, "station": self.station_id }))
            .map_err(errors::log_failed)?;
        let count = store.audit_count("label-test-print").map_err(errors::log_failed)?;
        let result = produce_label(self, &data, &format!("test-print-{count}"));
        let outcome = match &result {
            Ok((path, _, job)) => json!({ "path": path, "print": job }),
            Err(f) => json!({ "failure": f }),
        };
        store.append_audit(actor, "label-test-printed", &outcome).map_err(errors::log_failed)?;
        let (path, _, print) = result?;
        Ok(TestPrint { label_pdf: path.display().to_string(), print })
    }
}
