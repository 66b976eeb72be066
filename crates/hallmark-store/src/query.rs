//! QA filters, shared by listings, exports and statistics: what each filter means is
//! defined once here ([`RunFilter::conditions`]); each database only spells the
//! columns (the local log below, the fleet database in `hallmark-fleet`).

use rusqlite::types::Value as SqlValue;

/// Which runs to include. Every field narrows the selection; empty = all runs.
/// Serialised as given (a batch's evidence records the selection it was made from).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunFilter {
    /// Started at or after (RFC 3339 or a date `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Started before (RFC 3339 or a date; a date means the start of that day).
    pub to: Option<String>,
    /// PASS / FAIL / INTERRUPTED.
    pub outcome: Option<String>,
    /// Device UID.
    pub uid: Option<String>,
    /// Hardware id (hex).
    pub hardware_id: Option<String>,
    /// Operator.
    pub operator: Option<String>,
    /// Station id.
    pub station: Option<String>,
    /// Slot nickname.
    pub slot: Option<String>,
    /// The step that failed.
    pub failing_step: Option<String>,
    /// The device's firmware version (a batch of one firmware release).
    pub firmware_version: Option<String>,
    /// One run, by its UUID (unique index: a detail view without scanning the log).
    pub run_id: Option<String>,
}

/// Paging for listings.
#[derive(Clone, Copy, Debug)]
pub struct Page {
    /// Rows to return.
    pub limit: u64,
    /// Rows to skip.
    pub offset: u64,
}

/// A fact about a run that a filter compares, whichever database holds the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunColumn {
    /// When the run started: the station's RFC 3339 text, compared as text (byte
    /// order), so a bare date means the start of that day.
    StartedAt,
    /// The outcome in the run's result; a run without a result (still running, or
    /// interrupted and not yet closed) counts as [`NO_RESULT_OUTCOME`].
    Outcome,
    /// The UID in the run's result (not the one identification found: a run that has
    /// not ended has none).
    Uid,
    /// The hardware id in the run's result.
    HardwareId,
    /// The operator the run was started by.
    Operator,
    /// The station the run belongs to.
    Station,
    /// The slot the run was on.
    Slot,
    /// The step the run's result names as failed.
    FailingStep,
    /// The firmware version the run found: its result's, else identification's.
    FirmwareVersion,
    /// The run's UUID.
    RunUuid,
}

/// How a [`Condition`] compares its column with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `column >= value` (text order).
    AtLeast,
    /// `column < value` (text order).
    Below,
    /// `column = value`.
    Equals,
}

impl Comparison {
    /// The SQL operator (the same in SQLite and PostgreSQL).
    pub fn sql(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::Below => "<",
            Comparison::Equals => "=",
        }
    }
}

/// One condition of a filter: `column comparison value`. A run is selected when it
/// meets every condition; a NULL column meets none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Condition<'a> {
    /// What is compared.
    pub column: RunColumn,
    /// How.
    pub comparison: Comparison,
    /// With what (always text).
    pub value: &'a str,
}

/// What [`RunColumn::Outcome`] is for a run without a result.
pub const NO_RESULT_OUTCOME: &str = "INTERRUPTED";

impl RunFilter {
    /// The filter as conditions, in a fixed order: the one definition of what each
    /// field selects.
    pub fn conditions(&self) -> Vec<Condition<'_>> {
        use {Comparison::*, RunColumn::*};
        [
            (StartedAt, AtLeast, &self.from),
            (StartedAt, Below, &self.to),
            (Outcome, Equals, &self.outcome),
            (Uid, Equals, &self.uid),
            (RunColumn::HardwareId, Equals, &self.hardware_id),
            (Operator, Equals, &self.operator),
            (Station, Equals, &self.station),
            (Slot, Equals, &self.slot),
            (FailingStep, Equals, &self.failing_step),
            (FirmwareVersion, Equals, &self.firmware_version),
            (RunUuid, Equals, &self.run_id),
        ]
        .into_iter()
        .filter_map(|(column, comparison, value)| value.as_deref().map(|value| Condition { column, comparison, value }))
        .collect()
    }

    /// `WHERE 1 = 1 AND …` (so callers can append `AND …`) over `runs r LEFT JOIN run_results x`, with its parameters.
    pub(crate) fn sql(&self) -> (String, Vec<SqlValue>) {
        let mut sql = "WHERE 1 = 1".to_string();
        let mut params: Vec<SqlValue> = Vec::new();
        for c in self.conditions() {
            params.push(SqlValue::Text(c.value.to_string()));
            sql.push_str(&format!(" AND {} {} ?{}", local_column(c.column), c.comparison.sql(), params.len()));
        }
        (sql, params)
    }
}

/// How the local log spells a [`RunColumn`] over `runs r LEFT JOIN run_results x`.
fn local_column(column: RunColumn) -> String {
    match column {
        RunColumn::StartedAt => "r.started_at".into(),
        RunColumn::Outcome => format!("COALESCE(x.outcome, '{NO_RESULT_OUTCOME}')"),
        RunColumn::Uid => "x.uid".into(),
        RunColumn::HardwareId => "x.hardware_id".into(),
        RunColumn::Operator => "r.operator".into(),
        RunColumn::Station => "r.station".into(),
        RunColumn::Slot => "r.slot".into(),
        RunColumn::FailingStep => "x.failing_step".into(),
        RunColumn::FirmwareVersion => {
            "COALESCE(x.firmware_version, (SELECT i.firmware_version FROM run_identity i WHERE i.run_id = r.id))".into()
        }
        RunColumn::RunUuid => "r.run_uuid".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_one_condition_in_order() {
        let f = RunFilter {
            from: Some("2026-01-01".into()),
            to: Some("2026-02-01".into()),
            outcome: Some("FAIL".into()),
            station: Some("bench-1".into()),
            ..RunFilter::default()
        };
        let c = f.conditions();
        assert_eq!(c.len(), 4);
        assert_eq!(
            (c[0].column, c[0].comparison, c[0].value),
            (RunColumn::StartedAt, Comparison::AtLeast, "2026-01-01")
        );
        assert_eq!((c[1].column, c[1].comparison), (RunColumn::StartedAt, Comparison::Below));
        assert_eq!((c[3].column, c[3].value), (RunColumn::Station, "bench-1"));
        let (sql, params) = f.sql();
        assert_eq!(
            sql,
            "WHERE 1 = 1 AND r.started_at >= ?1 AND r.started_at < ?2 AND COALESCE(x.outcome, 'INTERRUPTED') = ?3 AND r.station = ?4"
        );
        assert_eq!(params.len(), 4);
        assert!(RunFilter::default().conditions().is_empty());
    }
}
