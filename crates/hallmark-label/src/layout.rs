//! The one layout model: a template and a record become shapes in whole printer
//! dots. PDF, ZPL and PNG only draw what is here, so the preview is the print.

use crate::fields::{check_fields, substitute};
use crate::font;
use crate::image::Bitmap;
use crate::symbols::{self, Symbol};
use crate::template::{Align, Direction, Dpi, Element, Fit, Rotation, Template};
use crate::{LabelData, LabelError};

const MM_PER_PT: f64 = 25.4 / 72.0;

/// A label laid out in printer dots, origin top-left.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Label width, dots.
    pub width: i64,
    /// Label height, dots.
    pub height: i64,
    /// Resolution.
    pub dpi: Dpi,
    /// Template name (PDF title).
    pub name: String,
    /// What to draw, in order.
    pub items: Vec<Item>,
}

/// A rectangle in dots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left.
    pub x: i64,
    /// Top.
    pub y: i64,
    /// Width.
    pub w: i64,
    /// Height.
    pub h: i64,
}

/// One thing to draw.
#[derive(Clone, Debug)]
pub enum Item {
    /// A filled black rectangle (bars, modules, lines).
    Fill(Rect),
    /// One line of text.
    Text {
        /// The rotated box on the label.
        area: Rect,
        /// Rotation.
        rotation: Rotation,
        /// Font size: dots per em.
        em: f64,
        /// Baseline below the top of the unrotated line box, dots.
        ascent: f64,
        /// The text.
        text: String,
    },
    /// A one-bit image, already scaled and rotated to `area`.
    Image {
        /// Where.
        area: Rect,
        /// Pixels, one per dot.
        bitmap: Bitmap,
    },
}

/// An element before rotation and placement: its box and contents.
struct Local {
    w: i64,
    h: i64,
    items: Vec<Item>,
}

/// Lays out `template` for `data`; every problem found, each naming its element.
pub fn layout(template: &Template, data: &LabelData) -> Result<Layout, Vec<LabelError>> {
    let dpi = template.dpi;
    let label = |reason: String| vec![LabelError::BadLabel(reason)];
    if !(template.width_mm > 0.0
        && template.height_mm > 0.0
        && template.width_mm <= 300.0
        && template.height_mm <= 300.0)
    {
        return Err(label(format!(
            "size {}x{} mm is out of range (0 to 300 mm)",
            template.width_mm, template.height_mm
        )));
    }
    if !(0.0..template.width_mm.min(template.height_mm) / 2.0).contains(&template.margin_mm) {
        return Err(label(format!("margin {} mm leaves no printable area", template.margin_mm)));
    }
    let mut out = Layout {
        width: dpi.dots(template.width_mm),
        height: dpi.dots(template.height_mm),
        dpi,
        name: template.name.clone(),
        items: Vec::new(),
    };
    let margin = dpi.dots(template.margin_mm);
    let mut errors = Vec::new();
    for (i, element) in template.elements.iter().enumerate() {
        let name = element.describe(i);
        match place_element(template, element, &name, data, margin, &out) {
            Ok(items) => out.items.extend(items),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn place_element(
    t: &Template,
    element: &Element,
    name: &str,
    data: &LabelData,
    margin: i64,
    label: &Layout,
) -> Result<Vec<Item>, LabelError> {
    let misfit = |reason: String| LabelError::DoesNotFit { element: name.to_string(), reason };
    let dpi = t.dpi;
    let (x_mm, y_mm, rotation, local) = match element {
        Element::Text { x_mm, y_mm, size_pt, text, align, max_width_mm, fit, min_size_pt, max_lines, rotation } => {
            check_fields(name, text)?;
            let value = substitute(text, data);
            let missing = font::missing_glyphs(&value);
            if !missing.is_empty() {
                return Err(misfit(format!("the label font has no glyph for {missing:?}")));
            }
            let available_mm = match max_width_mm {
                Some(w) => *w,
                None => match rotation {
                    Rotation::R0 | Rotation::R180 => t.width_mm - t.margin_mm - x_mm,
                    Rotation::R90 | Rotation::R270 => t.height_mm - t.margin_mm - y_mm,
                },
            };
            let spec = TextSpec {
                size_pt: *size_pt,
                align: *align,
                boxed: max_width_mm.is_some(),
                fit: *fit,
                min_size_pt: min_size_pt.unwrap_or(5.0),
                max_lines: max_lines.unwrap_or(2),
            };
            (*x_mm, *y_mm, *rotation, text_local(&value, available_mm, &spec, dpi).map_err(misfit)?)
        }
        Element::Code128 { x_mm, y_mm, height_mm, module_mm, data: pattern, gs1, rotation } => {
            check_fields(name, pattern)?;
            let value = substitute(pattern, data);
            let symbol = symbols::code128(&value, *gs1).map_err(|reason| unencodable(name, &value, reason))?;
            let module = module_dots(*module_mm, dpi).map_err(misfit)?;
            let bars = dpi.dots(*height_mm);
            if bars < 1 {
                return Err(misfit("height_mm must be at least one printer dot".into()));
            }
            (*x_mm, *y_mm, *rotation, symbol_local(&symbol, module, Some(bars)))
        }
        Element::Qr { x_mm, y_mm, module_mm, data: pattern, ecc, rotation } => {
            check_fields(name, pattern)?;
            let value = substitute(pattern, data);
            let symbol = symbols::qr(&value, *ecc).map_err(|reason| unencodable(name, &value, reason))?;
            let module = module_dots(*module_mm, dpi).map_err(misfit)?;
            (*x_mm, *y_mm, *rotation, symbol_local(&symbol, module, None))
        }
        Element::Datamatrix { x_mm, y_mm, module_mm, data: pattern, gs1, rotation } => {
            check_fields(name, pattern)?;
            let value = substitute(pattern, data);
            let symbol = symbols::datamatrix(&value, *gs1).map_err(|reason| unencodable(name, &value, reason))?;
            let module = module_dots(*module_mm, dpi).map_err(misfit)?;
            (*x_mm, *y_mm, *rotation, symbol_local(&symbol, module, None))
        }
        Element::Line { x_mm, y_mm, length_mm, thickness_mm, direction } => {
            let thick = stroke_dots(*thickness_mm, dpi).map_err(misfit)?;
            let len = dpi.dots(*length_mm).max(1);
            let (w, h) = match direction {
                Direction::Horizontal => (len, thick),
                Direction::Vertical => (thick, len),
            };
            (*x_mm, *y_mm, Rotation::R0, Local { w, h, items: vec![Item::Fill(Rect { x: 0, y: 0, w, h })] })
        }
        Element::Box { x_mm, y_mm, width_mm, height_mm, thickness_mm } => {
            let s = stroke_dots(*thickness_mm, dpi).map_err(misfit)?;
            let (w, h) = (dpi.dots(*width_mm), dpi.dots(*height_mm));
            if w < 2 * s || h < 2 * s {
                return Err(misfit("the box is smaller than its own lines".into()));
            }
            let items = [(0, 0, w, s), (0, h - s, w, s), (0, 0, s, h), (w - s, 0, s, h)]
                .into_iter()
                .map(|(x, y, w, h)| Item::Fill(Rect { x, y, w, h }))
                .collect();
            (*x_mm, *y_mm, Rotation::R0, Local { w, h, items })
        }
        Element::Image { x_mm, y_mm, width_mm, height_mm, path, rotation } => {
            let source = t.images.get(path).ok_or_else(|| LabelError::Image {
                element: name.to_string(),
                reason: format!("{path} was not loaded with the template"),
            })?;
            let (w, h) = (dpi.dots(*width_mm), dpi.dots(*height_mm));
            if w < 1 || h < 1 {
                return Err(misfit("the image is smaller than a printer dot".into()));
            }
            // Before scaling: an image larger than the label can never fit, and scaling
            // it first would allocate w x h pixels (fuzzing: 1.4 TB for 100 m sides).
            if w.max(h) > label.width.max(label.height) {
                return Err(misfit("the image is larger than the label".into()));
            }
            let bitmap = source.scaled(w as usize, h as usize);
            (
                *x_mm,
                *y_mm,
                *rotation,
                Local { w, h, items: vec![Item::Image { area: Rect { x: 0, y: 0, w, h }, bitmap }] },
            )
        }
    };
    let (x0, y0) = (dpi.dots(x_mm), dpi.dots(y_mm));
    let (bw, bh) = match rotation {
        Rotation::R0 | Rotation::R180 => (local.w, local.h),
        Rotation::R90 | Rotation::R270 => (local.h, local.w),
    };
    let dot = dpi.dot_mm();
    if x0 < margin || y0 < margin || x0 + bw > label.width - margin || y0 + bh > label.height - margin {
        return Err(misfit(format!(
            "needs {:.1} x {:.1} mm at ({x_mm}, {y_mm}) with its quiet zones at {} dpi, but the printable area is \
             {:.1} x {:.1} mm inside a {:.1} mm margin: move or shrink it, or use a larger label",
            bw as f64 * dot,
            bh as f64 * dot,
            dpi.get(),
            (label.width - 2 * margin) as f64 * dot,
            (label.height - 2 * margin) as f64 * dot,
            margin as f64 * dot,
        )));
    }
    Ok(local.items.into_iter().map(|item| rotate(item, rotation, local.w, local.h, x0, y0)).collect())
}

fn unencodable(element: &str, value: &str, reason: String) -> LabelError {
    LabelError::Unencodable { element: element.to_string(), value: value.to_string(), reason }
}

/// A module size snapped to whole dots; smaller than one dot cannot print.
fn module_dots(module_mm: f64, dpi: Dpi) -> Result<i64, String> {
    let dot = dpi.dot_mm();
    if module_mm + 1e-9 < dot {
        return Err(format!(
            "module {module_mm} mm is below the printer's dot pitch ({dot:.3} mm at {} dpi): use at least {dot:.3} mm",
            dpi.get()
        ));
    }
    Ok(dpi.dots(module_mm).max(1))
}

fn stroke_dots(thickness_mm: f64, dpi: Dpi) -> Result<i64, String> {
    module_dots(thickness_mm, dpi).map_err(|e| e.replace("module", "line thickness"))
}

/// A symbol's modules as filled runs, quiet zone included in the box.
fn symbol_local(symbol: &Symbol, module: i64, bar_height: Option<i64>) -> Local {
    let q = symbol.quiet as i64 * module;
    let (rows, row_h) = match bar_height {
        Some(h) => (1, h),
        None => (symbol.height, module),
    };
    let mut items = Vec::new();
    for row in 0..rows {
        let cells = &symbol.dark[row * symbol.width..(row + 1) * symbol.width];
        let mut x = 0;
        while x < cells.len() {
            if cells[x] {
                let start = x;
                while x < cells.len() && cells[x] {
                    x += 1;
                }
                items.push(Item::Fill(Rect {
                    x: q + start as i64 * module,
                    y: if bar_height.is_some() { 0 } else { q + row as i64 * module },
                    w: (x - start) as i64 * module,
                    h: row_h,
                }));
            } else {
                x += 1;
            }
        }
    }
    let w = symbol.width as i64 * module + 2 * q;
    let h = match bar_height {
        Some(h) => h,
        None => symbol.height as i64 * module + 2 * q,
    };
    Local { w, h, items }
}

struct TextSpec {
    size_pt: f64,
    align: Align,
    boxed: bool,
    fit: Fit,
    min_size_pt: f64,
    max_lines: u32,
}

/// Lines of text fitted into `available_mm` by the element's rule.
fn text_local(value: &str, available_mm: f64, spec: &TextSpec, dpi: Dpi) -> Result<Local, String> {
    let width_mm = |s: &str, pt: f64| font::advance_em(s) * pt * MM_PER_PT;
    let mut size = spec.size_pt;
    if !(2.0..=200.0).contains(&size) {
        return Err(format!("size_pt {size} is outside 2 to 200"));
    }
    // Shrinking steps down to min_size_pt: unbounded, it never ends (fuzzing).
    if spec.fit == Fit::Shrink && !(2.0..=200.0).contains(&spec.min_size_pt) {
        return Err(format!("min_size_pt {} is outside 2 to 200", spec.min_size_pt));
    }
    let mut lines = vec![value.to_string()];
    let too_wide = |w: f64| {
        format!(
            "text {value:?} needs {w:.1} mm but only {available_mm:.1} mm are available: shorten it, use a smaller \
             size_pt, or set fit = \"shrink\" or \"wrap\""
        )
    };
    match spec.fit {
        Fit::Error => {
            let w = width_mm(value, size);
            if w > available_mm {
                return Err(too_wide(w));
            }
        }
        Fit::Shrink => {
            while width_mm(value, size) > available_mm && size - 0.25 >= spec.min_size_pt {
                size -= 0.25;
            }
            if width_mm(value, size) > available_mm {
                lines = vec![truncate(value, |s| width_mm(s, size) <= available_mm)];
            }
        }
        Fit::Wrap => {
            lines = wrap(value, |s| width_mm(s, size) <= available_mm);
            let max = (spec.max_lines as usize).max(1);
            if lines.len() > max {
                let rest = lines[max - 1..].join(" ");
                lines.truncate(max - 1);
                lines.push(truncate(&rest, |s| width_mm(s, size) <= available_mm));
            }
        }
        Fit::Truncate => {
            if width_mm(value, size) > available_mm {
                lines = vec![truncate(value, |s| width_mm(s, size) <= available_mm)];
            }
        }
    }
    let em = size / 72.0 * dpi.get() as f64;
    let line_h = (font::line_em() * em).ceil() as i64;
    let box_w = if spec.boxed {
        dpi.dots(available_mm)
    } else {
        lines.iter().map(|l| (font::advance_em(l) * em).ceil() as i64).max().unwrap_or(0)
    };
    let mut items = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let w = (font::advance_em(line) * em).ceil() as i64;
        let x = match spec.align {
            Align::Left => 0,
            Align::Center => (box_w - w) / 2,
            Align::Right => box_w - w,
        };
        items.push(Item::Text {
            area: Rect { x, y: i as i64 * line_h, w, h: line_h },
            rotation: Rotation::R0,
            em,
            ascent: font::ascent_em() * em,
            text: line.clone(),
        });
    }
    Ok(Local { w: box_w, h: line_h * lines.len() as i64, items })
}

/// What marks text that was cut to fit.
pub const TRUNCATION_MARKER: &str = "\u{2026}";

/// The longest start of `text` that fits with [`TRUNCATION_MARKER`] after it (the
/// marker alone if nothing does).
fn truncate(text: &str, fits: impl Fn(&str) -> bool) -> String {
    let mut cut: Vec<char> = text.chars().collect();
    while !cut.is_empty() {
        cut.pop();
        let candidate = format!("{}{TRUNCATION_MARKER}", cut.iter().collect::<String>().trim_end());
        if fits(&candidate) {
            return candidate;
        }
    }
    TRUNCATION_MARKER.to_string()
}

/// Greedy word wrap; a word longer than a line is broken between characters.
fn wrap(text: &str, fits: impl Fn(&str) -> bool) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
        if fits(&candidate) {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        for c in word.chars() {
            let mut next = current.clone();
            next.push(c);
            if !current.is_empty() && !fits(&next) {
                lines.push(std::mem::take(&mut current));
                next = c.to_string();
            }
            current = next;
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

/// Rotates a rect inside a `w` x `h` box clockwise, then moves the box to (x0, y0).
fn rotate_rect(r: Rect, rotation: Rotation, w: i64, h: i64, x0: i64, y0: i64) -> Rect {
    let moved = match rotation {
        Rotation::R0 => r,
        Rotation::R90 => Rect { x: h - (r.y + r.h), y: r.x, w: r.h, h: r.w },
        Rotation::R180 => Rect { x: w - (r.x + r.w), y: h - (r.y + r.h), ..r },
        Rotation::R270 => Rect { x: r.y, y: w - (r.x + r.w), w: r.h, h: r.w },
    };
    Rect { x: moved.x + x0, y: moved.y + y0, ..moved }
}

fn rotate(item: Item, rotation: Rotation, w: i64, h: i64, x0: i64, y0: i64) -> Item {
    match item {
        Item::Fill(r) => Item::Fill(rotate_rect(r, rotation, w, h, x0, y0)),
        Item::Text { area, em, ascent, text, .. } => {
            Item::Text { area: rotate_rect(area, rotation, w, h, x0, y0), rotation, em, ascent, text }
        }
        Item::Image { area, bitmap } => Item::Image {
            area: rotate_rect(area, rotation, w, h, x0, y0),
            bitmap: bitmap.rotated(rotation.degrees() / 90),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_the_longest_start_that_fits_with_the_marker() {
        let fits = |s: &str| s.chars().count() <= 5;
        assert_eq!(truncate("abcdefgh", fits), "abcd\u{2026}");
        assert_eq!(truncate("ab   cdefgh", fits), "ab\u{2026}");
        assert_eq!(truncate("abc", |_| false), "\u{2026}");
        assert!(crate::font::missing_glyphs(TRUNCATION_MARKER).is_empty(), "the shipped font draws the marker");
    }

    #[test]
    fn wrap_breaks_at_spaces_then_inside_words() {
        let fits = |s: &str| s.len() <= 5;
        assert_eq!(wrap("ab cd ef", fits), vec!["ab cd", "ef"]);
        assert_eq!(wrap("abcdefgh", fits), vec!["abcde", "fgh"]);
    }

    #[test]
    fn quarter_turn_keeps_the_box_at_its_corner() {
        let r = Rect { x: 0, y: 0, w: 10, h: 2 };
        assert_eq!(rotate_rect(r, Rotation::R90, 10, 2, 5, 5), Rect { x: 5, y: 5, w: 2, h: 10 });
        assert_eq!(rotate_rect(r, Rotation::R180, 10, 4, 0, 0), Rect { x: 0, y: 2, w: 10, h: 2 });
    }
}
