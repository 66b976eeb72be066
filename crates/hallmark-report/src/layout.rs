//! Flowing blocks onto A4 pages: a cursor moves down the page; a block that does not
//! fit what is left starts a new page (a table repeats its header there).

use crate::chart;
use crate::model::{Block, Report};
use hallmark_label::{advance_em, missing_glyphs, pdf_font};
use printpdf::{
    Color, FontId, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Polygon,
    PolygonRing, Pt, Rgb, TextItem, TextMatrix, WindingOrder,
};

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
pub(crate) const MARGIN: f32 = 50.0;
const BOTTOM: f32 = 60.0;
pub(crate) const BODY: f32 = 9.0;
const LINE: f32 = 1.35;

pub(crate) const BLACK: (f32, f32, f32) = (0.0, 0.0, 0.0);
pub(crate) const GREY: (f32, f32, f32) = (0.45, 0.45, 0.45);
pub(crate) const RULE: (f32, f32, f32) = (0.8, 0.8, 0.8);

/// The pages being written and where the next line goes.
pub(crate) struct Pages {
    font: FontId,
    done: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// Baseline of the next line, from the bottom of the page.
    pub(crate) y: f32,
}

impl Pages {
    fn new(font: FontId) -> Pages {
        Pages { font, done: Vec::new(), ops: Vec::new(), y: PAGE_H - MARGIN }
    }

    /// Room left above the bottom margin.
    pub(crate) fn room(&self) -> f32 {
        self.y - BOTTOM
    }

    /// Starts a new page unless `height` still fits on this one.
    pub(crate) fn need(&mut self, height: f32) {
        if self.room() < height && self.y < PAGE_H - MARGIN {
            self.done.push(std::mem::take(&mut self.ops));
            self.y = PAGE_H - MARGIN;
        }
    }

    /// Text with its baseline at (`x`, `y`).
    pub(crate) fn text(&mut self, x: f32, y: f32, size: f32, color: (f32, f32, f32), text: &str) {
        self.ops.extend([
            Op::SetFillColor { col: rgb(color) },
            Op::StartTextSection,
            Op::SetFont { font: PdfFontHandle::External(self.font.clone()), size: Pt(size) },
            Op::SetTextMatrix { matrix: TextMatrix::Raw([1.0, 0.0, 0.0, 1.0, x, y]) },
            Op::ShowText { items: vec![TextItem::Text(printable(text))] },
            Op::EndTextSection,
        ]);
    }

    /// A filled rectangle, `y` its bottom edge.
    pub(crate) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: (f32, f32, f32)) {
        let p = |x: f32, y: f32| LinePoint { p: Point { x: Pt(x), y: Pt(y) }, bezier: false };
        self.ops.push(Op::SetFillColor { col: rgb(color) });
        self.ops.push(Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![PolygonRing { points: vec![p(x, y), p(x + w, y), p(x + w, y + h), p(x, y + h)] }],
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        });
    }

    /// Writes `text` wrapped to `width` from `x`, moving the cursor down.
    pub(crate) fn wrapped(&mut self, x: f32, width: f32, size: f32, color: (f32, f32, f32), text: &str) {
        for line in wrap(text, width, size) {
            self.need(size * LINE);
            self.text(x, self.y, size, color, &line);
            self.y -= size * LINE;
        }
    }
}

/// Text width in points.
pub(crate) fn width(text: &str, size: f32) -> f32 {
    advance_em(&printable(text)) as f32 * size
}

/// `text` with characters the font lacks shown as `?` (operator names in other
/// scripts); the JSON beside the PDF keeps them exactly.
fn printable(text: &str) -> String {
    let missing = missing_glyphs(text);
    text.chars().map(|c| if missing.contains(&c) { '?' } else { c }).collect()
}

/// Lines of at most `max` points: broken at spaces, and inside words longer than a
/// line (hashes, PEM).
pub(crate) fn wrap(text: &str, max: f32, size: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if width(&candidate, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                line.push(c);
                if width(&line, size) > max {
                    line.pop();
                    lines.push(std::mem::replace(&mut line, c.to_string()));
                }
            }
        }
        lines.push(line);
    }
    lines
}

fn rgb((r, g, b): (f32, f32, f32)) -> Color {
    Color::Rgb(Rgb { r, g, b, icc_profile: None })
}

pub(crate) fn render(report: &Report) -> Result<Vec<u8>, String> {
    let mut doc = PdfDocument::new(&report.title);
    let font = doc.add_font(pdf_font().ok_or("the shipped font cannot be embedded")?);
    let mut pages = Pages::new(font);
    let content = PAGE_W - 2.0 * MARGIN;
    pages.wrapped(MARGIN, content, 16.0, BLACK, &report.title);
    if !report.subtitle.is_empty() {
        pages.wrapped(MARGIN, content, BODY, GREY, &report.subtitle);
    }
    pages.y -= 6.0;
    for block in &report.blocks {
        match block {
            Block::Heading(h) => {
                pages.y -= 8.0;
                pages.need(12.0 * LINE + 3.0 * BODY * LINE);
                pages.text(MARGIN, pages.y, 12.0, BLACK, h);
                pages.y -= 4.0;
                pages.rect(MARGIN, pages.y, content, 0.6, RULE);
                pages.y -= 12.0 * LINE - 4.0;
            }
            Block::Paragraph(p) => {
                pages.wrapped(MARGIN, content, BODY, BLACK, p);
                pages.y -= 3.0;
            }
            Block::Fields(fields) => {
                let label_w = 130.0;
                for (label, value) in fields {
                    let lines = wrap(value, content - label_w, BODY);
                    pages.need(BODY * LINE * lines.len().min(4) as f32);
                    if width(label, BODY) > label_w - 6.0 {
                        // A long label (a certificate's subject) gets lines of its own.
                        pages.wrapped(MARGIN, content, BODY, GREY, label);
                    } else {
                        pages.text(MARGIN, pages.y, BODY, GREY, label);
                    }
                    for line in lines {
                        pages.need(BODY * LINE);
                        pages.text(MARGIN + label_w, pages.y, BODY, BLACK, &line);
                        pages.y -= BODY * LINE;
                    }
                }
            }
            Block::Table { columns, rows } => table(&mut pages, content, columns, rows),
            Block::Bars { title, bars } => chart::bars(&mut pages, content, title, bars),
            Block::Columns { title, legend, columns } => chart::columns(&mut pages, content, title, legend, columns),
        }
    }
    pages.done.push(pages.ops);
    let total = pages.done.len();
    let mut out = Vec::with_capacity(total);
    let font = pages.font.clone();
    for (i, ops) in pages.done.into_iter().enumerate() {
        let mut page = Pages { font: font.clone(), done: Vec::new(), ops, y: 0.0 };
        let number = format!("page {} of {total}", i + 1);
        page.text(MARGIN, 30.0, 7.0, GREY, &report.footer);
        page.text(PAGE_W - MARGIN - width(&number, 7.0), 30.0, 7.0, GREY, &number);
        out.push(PdfPage::new(Mm(210.0), Mm(297.0), page.ops));
    }
    let mut warnings = Vec::new();
    Ok(doc.with_pages(out).save(&PdfSaveOptions::default(), &mut warnings))
}

fn table(pages: &mut Pages, content: f32, columns: &[(String, f32)], rows: &[Vec<String>]) {
    let share: f32 = columns.iter().map(|(_, w)| w).sum::<f32>().max(f32::EPSILON);
    let widths: Vec<f32> = columns.iter().map(|(_, w)| content * w / share).collect();
    let size = BODY - 1.0;
    let header = |pages: &mut Pages| {
        let mut x = MARGIN;
        for ((title, _), w) in columns.iter().zip(&widths) {
            pages.text(x, pages.y, size, GREY, title);
            x += w;
        }
        pages.y -= 3.0;
        pages.rect(MARGIN, pages.y, content, 0.5, RULE);
        pages.y -= size * LINE;
    };
    pages.need(size * LINE * 3.0);
    header(pages);
    for row in rows {
        let cells: Vec<Vec<String>> = row.iter().zip(&widths).map(|(cell, w)| wrap(cell, w - 4.0, size)).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * size * LINE;
        if pages.room() < height {
            pages.need(f32::MAX);
            header(pages);
        }
        let mut x = MARGIN;
        for (lines, w) in cells.iter().zip(&widths) {
            for (i, line) in lines.iter().enumerate() {
                pages.text(x, pages.y - i as f32 * size * LINE, size, BLACK, line);
            }
            x += w;
        }
        pages.y -= height;
    }
    pages.y -= 4.0;
}
