//! Writing records as JSON Lines or CSV (header first), for every exporter (CLI,
//! station window). The store calls back once per record and cannot stop on a write
//! error, so the first one is kept and reported at the end.

use serde::Serialize;
use std::io::Write;

/// Output format of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    /// Comma-separated, with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Records to a writer.
pub struct RecordWriter<'a> {
    w: &'a mut dyn Write,
    format: LineFormat,
    result: std::io::Result<()>,
    rows: u64,
}

impl<'a> RecordWriter<'a> {
    /// Starts an export; CSV gets `csv_header` first.
    pub fn new(w: &'a mut dyn Write, format: LineFormat, csv_header: &str) -> RecordWriter<'a> {
        let result = match format {
            LineFormat::Csv => writeln!(w, "{csv_header}"),
            LineFormat::Jsonl => Ok(()),
        };
        RecordWriter { w, format, result, rows: 0 }
    }

    /// Writes one record (`csv` renders its CSV line).
    pub fn push<T: Serialize>(&mut self, record: &T, csv: impl Fn(&T) -> String) {
        if self.result.is_ok() {
            let line = match self.format {
                LineFormat::Jsonl => serde_json::to_string(record).unwrap_or_default(),
                LineFormat::Csv => csv(record),
            };
            self.result = writeln!(self.w, "{line}");
            self.rows += 1;
        }
    }

    /// The number of records, or the first write error.
    pub fn finish(self) -> std::io::Result<u64> {
        self.result.map(|()| self.rows)
    }
}
