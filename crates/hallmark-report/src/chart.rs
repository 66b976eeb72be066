//! Charts as filled rectangles with their numbers written beside them.

use crate::layout::{width, Pages, BLACK, BODY, GREY, MARGIN};
use crate::model::{Bar, Column};

const BAR_COLOR: (f32, f32, f32) = (0.85, 0.33, 0.10);
const PART_COLOR: (f32, f32, f32) = (0.16, 0.50, 0.73);
const REST_COLOR: (f32, f32, f32) = (0.93, 0.55, 0.45);

fn title(pages: &mut Pages, text: &str, height: f32) {
    pages.y -= 4.0;
    pages.need(height + BODY * 2.0);
    pages.text(MARGIN, pages.y, BODY + 1.0, BLACK, text);
    pages.y -= BODY * 1.8;
}

/// Horizontal bars: label, bar scaled to the largest value, note at its end.
pub(crate) fn bars(pages: &mut Pages, content: f32, heading: &str, bars: &[Bar]) {
    let row = BODY * 1.6;
    title(pages, heading, row * bars.len().min(8) as f32);
    let label_w = bars.iter().map(|b| width(&b.label, BODY)).fold(60.0f32, f32::max).min(content * 0.4) + 6.0;
    let note_w = bars.iter().map(|b| width(&b.note, BODY)).fold(0.0f32, f32::max) + 6.0;
    let span = (content - label_w - note_w).max(20.0);
    let max = bars.iter().map(|b| b.value).fold(0.0f64, f64::max);
    for bar in bars {
        pages.need(row);
        let y = pages.y;
        pages.text(MARGIN, y, BODY, BLACK, &bar.label);
        let length = if max > 0.0 { (bar.value / max) as f32 * span } else { 0.0 };
        pages.rect(MARGIN + label_w, y - 2.0, length.max(0.5), BODY + 1.0, BAR_COLOR);
        pages.text(MARGIN + label_w + length + 4.0, y, BODY, GREY, &bar.note);
        pages.y -= row;
    }
    if bars.is_empty() {
        pages.text(MARGIN, pages.y, BODY, GREY, "(nothing to show)");
        pages.y -= row;
    }
    pages.y -= 4.0;
}

/// Vertical columns on a baseline, the highlighted part at the bottom, the largest
/// total written above the axis, every label below (thinned when crowded).
pub(crate) fn columns(pages: &mut Pages, content: f32, heading: &str, legend: &(String, String), columns: &[Column]) {
    let plot_h = 140.0;
    title(pages, heading, plot_h + BODY * 4.0);
    // Legend.
    let y = pages.y;
    pages.rect(MARGIN, y - 1.0, 8.0, 8.0, PART_COLOR);
    pages.text(MARGIN + 12.0, y, BODY, BLACK, &legend.0);
    let x = MARGIN + 24.0 + width(&legend.0, BODY);
    pages.rect(x, y - 1.0, 8.0, 8.0, REST_COLOR);
    pages.text(x + 12.0, y, BODY, BLACK, &legend.1);
    pages.y -= BODY * 1.8;

    let max = columns.iter().map(|c| c.total).fold(0.0f64, f64::max);
    let axis_w = width(&format!("{max:.0}"), BODY - 1.0) + 6.0;
    let base = pages.y - plot_h;
    let left = MARGIN + axis_w;
    let span = content - axis_w;
    pages.rect(left, base, span, 0.6, GREY);
    pages.rect(left, base, 0.6, plot_h, GREY);
    pages.text(MARGIN, base + plot_h - BODY, BODY - 1.0, GREY, &format!("{max:.0}"));
    pages.text(MARGIN, base, BODY - 1.0, GREY, "0");
    let n = columns.len().max(1) as f32;
    let slot = span / n;
    let bar_w = (slot * 0.7).max(0.8);
    let label_every = ((width("00:00", BODY - 2.0) + 4.0) / slot).ceil().max(1.0) as usize;
    for (i, c) in columns.iter().enumerate() {
        let x = left + slot * i as f32 + (slot - bar_w) / 2.0;
        let scale = |v: f64| if max > 0.0 { (v / max) as f32 * (plot_h - 4.0) } else { 0.0 };
        let (whole, part) = (scale(c.total), scale(c.part.min(c.total)));
        pages.rect(x, base, bar_w, part, PART_COLOR);
        pages.rect(x, base + part, bar_w, whole - part, REST_COLOR);
        if i % label_every == 0 {
            pages.text(x, base - BODY, BODY - 2.0, GREY, &c.label);
        }
    }
    if columns.is_empty() {
        pages.text(left + 6.0, base + plot_h / 2.0, BODY, GREY, "(nothing to show)");
    }
    pages.y = base - BODY * 3.0;
}
