//! `{field}` substitution. `{date}` takes a format: `{date:DD.MM.YYYY}` (tokens
//! YYYY, YY, MM, DD, WW for the ISO week; anything else is copied).

use crate::LabelError;
use std::collections::BTreeMap;

/// Field names a template may use.
pub const KNOWN_FIELDS: &[&str] =
    &["uid", "serial", "model", "firmware", "date", "cert_fingerprint", "station", "operator", "hardware_id"];

/// Values for the fields of one label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelData {
    values: BTreeMap<String, String>,
}

impl LabelData {
    /// Empty data.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a field value (`date` as YYYY-MM-DD).
    pub fn with(mut self, field: &str, value: impl Into<String>) -> Self {
        self.values.insert(field.to_string(), value.into());
        self
    }

    /// A field's value.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }

    /// All values (for the log, and a reprint).
    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// Realistic sample values (full-length UID, serial, fingerprint) for validation
    /// and previews.
    pub fn sample() -> Self {
        LabelData::new()
            .with("uid", "0123456789ABCDEF")
            .with("serial", "7A47CBA256325CF19E31F5BB881241EF")
            .with("model", "HM-SIM-1")
            .with("firmware", "1.0.0")
            .with("date", "2026-11-22")
            .with("cert_fingerprint", "D3D7692886417")
            .with("station", "bench-1")
            .with("operator", "OP-0001")
            .with("hardware_id", "515B053526DFB49F")
    }
}

/// The `{...}` placeholders in `text`: (name, optional format), in order.
fn placeholders(text: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let inner = &after[..close];
                out.push(match inner.split_once(':') {
                    Some((name, format)) => (name, Some(format)),
                    None => (inner, None),
                });
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Checks every `{field}` in `text` is known and only `date` has a format.
pub fn check_fields(element: &str, text: &str) -> Result<(), LabelError> {
    for (name, format) in placeholders(text) {
        if !KNOWN_FIELDS.contains(&name) {
            return Err(LabelError::UnknownField {
                element: element.to_string(),
                field: name.to_string(),
                known: KNOWN_FIELDS.join(", "),
            });
        }
        if format.is_some() && name != "date" {
            return Err(LabelError::UnknownField {
                element: element.to_string(),
                field: format!("{name}:{}", format.unwrap_or_default()),
                known: "a format only for {date:...}".into(),
            });
        }
    }
    Ok(())
}

/// Replaces each `{field}` with its value (missing values become empty).
pub fn substitute(text: &str, data: &LabelData) -> String {
    let mut out = text.to_string();
    for (name, format) in placeholders(text) {
        let value = data.get(name).unwrap_or("");
        let value = match format {
            Some(f) if name == "date" => format_date(value, f),
            _ => value.to_string(),
        };
        let placeholder = match format {
            Some(f) => format!("{{{name}:{f}}}"),
            None => format!("{{{name}}}"),
        };
        out = out.replacen(&placeholder, &value, 1);
    }
    out
}

/// Formats a YYYY-MM-DD date with YYYY, YY, MM, DD and WW tokens.
fn format_date(iso: &str, format: &str) -> String {
    let parsed = time::Date::parse(iso, time::macros::format_description!("[year]-[month]-[day]"));
    let Ok(date) = parsed else { return iso.to_string() };
    let mut out = String::new();
    let mut rest = format;
    while !rest.is_empty() {
        let (token, value) = match rest {
            r if r.starts_with("YYYY") => ("YYYY", format!("{:04}", date.year())),
            r if r.starts_with("YY") => ("YY", format!("{:02}", date.year() % 100)),
            r if r.starts_with("MM") => ("MM", format!("{:02}", date.month() as u8)),
            r if r.starts_with("DD") => ("DD", format!("{:02}", date.day())),
            r if r.starts_with("WW") => ("WW", format!("{:02}", date.iso_week())),
            r => {
                let c = r.chars().next().unwrap_or(' ');
                out.push(c);
                rest = &rest[c.len_utf8()..];
                continue;
            }
        };
        out.push_str(&value);
        rest = &rest[token.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_fields_and_formats_dates() {
        let d = LabelData::new().with("uid", "A1").with("date", "2026-01-05");
        assert_eq!(substitute("{uid} {date} {date:DD.MM.YY} W{date:WW}", &d), "A1 2026-01-05 05.01.26 W02");
        assert_eq!(substitute("{operator}", &d), "");
    }

    #[test]
    fn unknown_fields_and_formats_are_errors() {
        assert!(check_fields("#1", "{uid} {date:YYYY}").is_ok());
        assert!(check_fields("#1", "{serial_no}").is_err());
        assert!(check_fields("#1", "{uid:X}").is_err());
    }
}
