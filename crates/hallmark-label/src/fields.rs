//! `{field}` substitution.

use crate::LabelError;
use std::collections::BTreeMap;

/// Field names a template may use.
pub const KNOWN_FIELDS: &[&str] = &["uid", "model", "firmware", "date", "station", "hardware_id"];

/// Values for the fields of one label.
#[derive(Clone, Debug, Default)]
pub struct LabelData {
    values: BTreeMap<String, String>,
}

impl LabelData {
    /// Empty data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field value.
    pub fn with(mut self, field: &str, value: impl Into<String>) -> Self {
        self.values.insert(field.to_string(), value.into());
        self
    }

    /// Sample values for validation.
    pub fn sample() -> Self {
        KNOWN_FIELDS.iter().fold(LabelData::new(), |d, f| d.with(f, "SAMPLE"))
    }
}

/// The field names used in `text`, in order.
pub fn fields_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Checks every `{field}` in `text` is known.
pub fn check_fields(element: &str, text: &str) -> Result<(), LabelError> {
    for f in fields_in(text) {
        if !KNOWN_FIELDS.contains(&f) {
            return Err(LabelError::UnknownField {
                element: element.to_string(),
                field: f.to_string(),
                known: KNOWN_FIELDS.join(", "),
            });
        }
    }
    Ok(())
}

/// Replaces each `{field}` with its value (missing values become empty).
pub fn substitute(text: &str, data: &LabelData) -> String {
    let mut out = text.to_string();
    for f in fields_in(text) {
        let value = data.values.get(f).map(String::as_str).unwrap_or("");
        out = out.replace(&format!("{{{f}}}"), value);
    }
    out
}
