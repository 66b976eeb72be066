//! PDF output: the layout at the label's size, text in the shipped font (embedded,
//! subset to the glyphs used), every bar and module a filled rectangle on whole
//! printer dots.

use crate::font::pdf_font;
use crate::layout::{Item, Layout, Rect};
use crate::template::Rotation;
use printpdf::{
    Color, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Polygon,
    PolygonRing, Pt, Rgb, TextItem, TextMatrix, WindingOrder,
};

/// Draws `layout` as a one-page PDF.
pub fn to_pdf(layout: &Layout) -> Result<Vec<u8>, String> {
    let dot = layout.dpi.dot_mm();
    let height_mm = layout.height as f64 * dot;
    let mut doc = PdfDocument::new(&layout.name);
    let font = pdf_font().ok_or("the shipped font cannot be embedded")?;
    let font_id = doc.add_font(font);
    let mut ops = vec![Op::SetFillColor { col: Color::Rgb(Rgb { r: 0.0, g: 0.0, b: 0.0, icc_profile: None }) }];
    let rect = |r: Rect| {
        let (x0, x1) = (r.x as f64 * dot, (r.x + r.w) as f64 * dot);
        let (y0, y1) = (height_mm - (r.y + r.h) as f64 * dot, height_mm - r.y as f64 * dot);
        let p = |x: f64, y: f64| LinePoint { p: Point::new(Mm(x as f32), Mm(y as f32)), bezier: false };
        Op::DrawPolygon {
            polygon: Polygon {
                rings: vec![PolygonRing { points: vec![p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1)] }],
                mode: PaintMode::Fill,
                winding_order: WindingOrder::NonZero,
            },
        }
    };
    for item in &layout.items {
        match item {
            Item::Fill(r) => ops.push(rect(*r)),
            Item::Text { area, rotation, em, ascent, text } => {
                let (px, py) = baseline_origin(*area, *rotation, *ascent);
                let to_pt = |dots: f64| dots * dot * 72.0 / 25.4;
                let (x, y) = (to_pt(px), to_pt(layout.height as f64 - py));
                let phi = -(rotation.degrees() as f64).to_radians();
                let (c, s) = (phi.cos() as f32, phi.sin() as f32);
                ops.extend([
                    Op::StartTextSection,
                    Op::SetFont { font: PdfFontHandle::External(font_id.clone()), size: Pt(to_pt(*em) as f32) },
                    Op::SetTextMatrix { matrix: TextMatrix::Raw([c, s, -s, c, x as f32, y as f32]) },
                    Op::ShowText { items: vec![TextItem::Text(text.clone())] },
                    Op::EndTextSection,
                ]);
            }
            Item::Image { area, bitmap } => {
                for y in 0..bitmap.height {
                    let mut x = 0;
                    while x < bitmap.width {
                        if bitmap.get(x, y) {
                            let start = x;
                            while x < bitmap.width && bitmap.get(x, y) {
                                x += 1;
                            }
                            ops.push(rect(Rect {
                                x: area.x + start as i64,
                                y: area.y + y as i64,
                                w: (x - start) as i64,
                                h: 1,
                            }));
                        } else {
                            x += 1;
                        }
                    }
                }
            }
        }
    }
    let page = PdfPage::new(Mm((layout.width as f64 * dot) as f32), Mm(height_mm as f32), ops);
    let mut warnings = Vec::new();
    Ok(doc.with_pages(vec![page]).save(&PdfSaveOptions::default(), &mut warnings))
}

/// Where the text's baseline starts on the label, in dots, for a line box rotated
/// into `area`.
pub(crate) fn baseline_origin(area: Rect, rotation: Rotation, ascent: f64) -> (f64, f64) {
    let (tw, th) = match rotation {
        Rotation::R0 | Rotation::R180 => (area.w as f64, area.h as f64),
        Rotation::R90 | Rotation::R270 => (area.h as f64, area.w as f64),
    };
    let (rx, ry) = match rotation {
        Rotation::R0 => (0.0, ascent),
        Rotation::R90 => (th - ascent, 0.0),
        Rotation::R180 => (tw, th - ascent),
        Rotation::R270 => (ascent, tw),
    };
    (area.x as f64 + rx, area.y as f64 + ry)
}
