//! What a report says, in order.

/// A document: a title, then blocks top to bottom.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The title on the first page (and the PDF's title).
    pub title: String,
    /// A line under the title (what, for whom, when).
    pub subtitle: String,
    /// The content.
    pub blocks: Vec<Block>,
    /// A line at the bottom of every page, before the page number.
    pub footer: String,
}

/// One piece of a report.
#[derive(Clone, Debug)]
pub enum Block {
    /// A section heading.
    Heading(String),
    /// Running text, wrapped.
    Paragraph(String),
    /// Label / value pairs in two columns; long values wrap.
    Fields(Vec<(String, String)>),
    /// A table: column titles with their share of the width, then rows.
    Table {
        /// Column titles and relative widths.
        columns: Vec<(String, f32)>,
        /// Cells, row by row.
        rows: Vec<Vec<String>>,
    },
    /// Horizontal bars, one per category (a Pareto, a yield per station).
    Bars {
        /// The chart's title.
        title: String,
        /// The bars, top to bottom.
        bars: Vec<Bar>,
    },
    /// Vertical columns over an axis (throughput per hour), each split into a
    /// highlighted part and the rest.
    Columns {
        /// The chart's title.
        title: String,
        /// What the highlighted part and the rest are (legend).
        legend: (String, String),
        /// The columns, left to right.
        columns: Vec<Column>,
    },
}

/// One horizontal bar.
#[derive(Clone, Debug)]
pub struct Bar {
    /// Its category.
    pub label: String,
    /// Its length, against the longest bar.
    pub value: f64,
    /// The text at its end (the count, a percentage).
    pub note: String,
}

/// One vertical column.
#[derive(Clone, Debug)]
pub struct Column {
    /// Its place on the axis (an hour).
    pub label: String,
    /// Its whole height.
    pub total: f64,
    /// The highlighted part of it (passed runs), at the bottom.
    pub part: f64,
}
