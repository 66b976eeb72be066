//! PDF output (printpdf, built-in Helvetica: small files, no font embedding).

use crate::fields::substitute;
use crate::{Element, LabelData, LabelError, Template};
use printpdf::{
    BuiltinFont, Color, LinePoint, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point,
    Polygon, PolygonRing, Pt, Rgb, TextItem, WindingOrder,
};

const MM_PER_PT: f64 = 25.4 / 72.0;

/// Renders one label as a one-page PDF of the label's size.
pub fn render_pdf(template: &Template, data: &LabelData) -> Result<Vec<u8>, LabelError> {
    template.validate(data)?;
    let h = template.height_mm;
    let mut ops = vec![Op::SetFillColor { col: black() }];
    for (i, element) in template.elements.iter().enumerate() {
        match element {
            Element::Text { x_mm, y_mm, size_pt, text } => {
                let value = substitute(text, data);
                // PDF text is placed by its baseline; ~0.8 em below the top of the line.
                let baseline = h - y_mm - size_pt * MM_PER_PT * 0.8;
                ops.extend([
                    Op::StartTextSection,
                    Op::SetTextCursor { pos: Point::new(Mm(*x_mm as f32), Mm(baseline as f32)) },
                    Op::SetFont { font: PdfFontHandle::Builtin(BuiltinFont::Helvetica), size: Pt(*size_pt as f32) },
                    Op::ShowText { items: vec![TextItem::Text(value)] },
                    Op::EndTextSection,
                ]);
            }
            Element::Code128 { x_mm, y_mm, height_mm, module_dots, data: pattern } => {
                let name = format!("#{} (code128)", i + 1);
                let modules = template.code128_modules(&name, &substitute(pattern, data))?;
                let module_mm = *module_dots as f64 * template.dot_mm();
                let left = x_mm + crate::template::CODE128_QUIET_MODULES as f64 * module_mm;
                let (top, bottom) = (h - y_mm, h - y_mm - height_mm);
                for (start, len) in bar_runs(&modules) {
                    let x0 = left + start as f64 * module_mm;
                    let x1 = x0 + len as f64 * module_mm;
                    ops.push(rect(x0, bottom, x1, top));
                }
            }
        }
    }
    let page = PdfPage::new(Mm(template.width_mm as f32), Mm(h as f32), ops);
    let mut warnings = Vec::new();
    let bytes = PdfDocument::new(&template.name).with_pages(vec![page]).save(&PdfSaveOptions::default(), &mut warnings);
    Ok(bytes)
}

/// (first module, length) of each run of bar modules.
fn bar_runs(modules: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        if modules[i] == 1 {
            let start = i;
            while i < modules.len() && modules[i] == 1 {
                i += 1;
            }
            runs.push((start, i - start));
        } else {
            i += 1;
        }
    }
    runs
}

fn black() -> Color {
    Color::Rgb(Rgb { r: 0.0, g: 0.0, b: 0.0, icc_profile: None })
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Op {
    let p = |x: f64, y: f64| LinePoint { p: Point::new(Mm(x as f32), Mm(y as f32)), bezier: false };
    Op::DrawPolygon {
        polygon: Polygon {
            rings: vec![PolygonRing { points: vec![p(x0, y0), p(x1, y0), p(x1, y1), p(x0, y1)] }],
            mode: PaintMode::Fill,
            winding_order: WindingOrder::NonZero,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_bars() {
        assert_eq!(bar_runs(&[1, 1, 0, 1, 0, 0, 1, 1, 1]), vec![(0, 2), (3, 1), (6, 3)]);
    }

    #[test]
    fn renders_a_small_pdf() {
        let pdf = render_pdf(&Template::embedded_default(), &LabelData::new().with("uid", "0123456789ABCDEF")).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 20_000, "label PDF is {} bytes", pdf.len());
    }
}
