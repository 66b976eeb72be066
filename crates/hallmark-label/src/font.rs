//! The one font every output uses: DejaVu Sans Condensed, subset to Latin-1, Latin
//! Extended-A and common punctuation (32 KB, shipped in `assets/fonts` with its
//! licence), measured and rasterised with ab_glyph and embedded whole in PDFs. One
//! font, no kerning (PDF text is not kerned), so the fit check, the preview and the
//! PDF agree; a character outside the subset is a validation error.

use ab_glyph::{Font, FontRef, Glyph, PxScale, ScaleFont};
use std::sync::OnceLock;

/// The TTF bytes.
pub(crate) static FONT_TTF: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSansCondensed-Latin.ttf");

/// The font as printpdf embeds it; `None` only if the compiled-in font were broken.
pub fn pdf_font() -> Option<&'static printpdf::ParsedFont> {
    static FONT: OnceLock<Option<printpdf::ParsedFont>> = OnceLock::new();
    FONT.get_or_init(|| printpdf::ParsedFont::from_bytes(FONT_TTF, 0, &mut Vec::new())).as_ref()
}

pub(crate) fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    // The font is compiled in and parsed by a unit test: failure is a build defect.
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_TTF).expect("shipped font parses"))
}

fn units_per_em() -> f64 {
    font().units_per_em().unwrap_or(2048.0) as f64
}

/// Ascent above the baseline, in em.
pub(crate) fn ascent_em() -> f64 {
    font().ascent_unscaled() as f64 / units_per_em()
}

/// Line box height (ascent + descent), in em.
pub(crate) fn line_em() -> f64 {
    (font().ascent_unscaled() - font().descent_unscaled()) as f64 / units_per_em()
}

/// Advance width of `text`, in em (what the PDF reports measure with too).
pub fn advance_em(text: &str) -> f64 {
    let f = font();
    text.chars().map(|c| f.h_advance_unscaled(f.glyph_id(c)) as f64).sum::<f64>() / units_per_em()
}

/// Characters the font has no glyph for.
pub fn missing_glyphs(text: &str) -> Vec<char> {
    text.chars().filter(|c| !c.is_whitespace() && font().glyph_id(*c).0 == 0).collect()
}

/// Rasterises `text` at `em_px` pixels per em into a `width` x `height` bitmap
/// (line box), one bit per pixel (thermal printers print dots, not grey).
pub(crate) fn rasterize(text: &str, em_px: f64, width: usize, height: usize) -> crate::image::Bitmap {
    let f = font();
    let scale = PxScale::from((em_px * f.height_unscaled() as f64 / units_per_em()) as f32);
    let scaled = f.as_scaled(scale);
    let mut out = crate::image::Bitmap::new(width, height);
    let baseline = scaled.ascent();
    let mut x = 0.0f32;
    for c in text.chars() {
        let id = f.glyph_id(c);
        let glyph: Glyph = id.with_scale_and_position(scale, ab_glyph::point(x, baseline));
        if let Some(outline) = f.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + gx as i64;
                let py = bounds.min.y as i64 + gy as i64;
                if coverage >= 0.5 && px >= 0 && py >= 0 && (px as usize) < width && (py as usize) < height {
                    out.bits[py as usize * width + px as usize] = true;
                }
            });
        }
        x += scaled.h_advance(id);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_measures_and_draws() {
        assert!(advance_em("WWW") > advance_em("iii"));
        assert!(line_em() > 1.0 && ascent_em() < line_em());
        let b = rasterize("H", 40.0, 40, 48);
        assert!(b.bits.iter().filter(|&&x| x).count() > 50);
        assert!(missing_glyphs("A\u{E000}").contains(&'\u{E000}'));
    }
}
