//! QA filters, shared by listings, exports and statistics.

use rusqlite::types::Value as SqlValue;

/// Which runs to include. Every field narrows the selection; empty = all runs.
#[derive(Clone, Debug, Default)]
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

impl RunFilter {
    /// `WHERE 1 = 1 AND …` (so callers can append `AND …`) over `runs r LEFT JOIN run_results x`, with its parameters.
    pub(crate) fn sql(&self) -> (String, Vec<SqlValue>) {
        let mut clauses: Vec<String> = Vec::new();
        let mut params: Vec<SqlValue> = Vec::new();
        let mut add = |clause: &str, value: &Option<String>| {
            if let Some(v) = value {
                params.push(SqlValue::Text(v.clone()));
                clauses.push(clause.replace('?', &format!("?{}", params.len())));
            }
        };
        add("r.started_at >= ?", &self.from);
        add("r.started_at < ?", &self.to);
        add("COALESCE(x.outcome, 'INTERRUPTED') = ?", &self.outcome);
        add("x.uid = ?", &self.uid);
        add("x.hardware_id = ?", &self.hardware_id);
        add("r.operator = ?", &self.operator);
        add("r.station = ?", &self.station);
        add("r.slot = ?", &self.slot);
        add("x.failing_step = ?", &self.failing_step);
        add("r.run_uuid = ?", &self.run_id);
        let mut sql = "WHERE 1 = 1".to_string();
        for c in clauses {
            sql.push_str(" AND ");
            sql.push_str(&c);
        }
        (sql, params)
    }
}
