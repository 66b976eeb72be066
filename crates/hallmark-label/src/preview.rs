//! PNG preview at the printer's resolution, one bit per dot: what the thermal head
//! will burn, for the GUI and for engineers' reviews.

use crate::font;
use crate::image::Bitmap;
use crate::layout::{Item, Layout};
use crate::template::Rotation;

/// The label as a 1-bit PNG with its resolution recorded (pHYs).
pub fn to_png(layout: &Layout) -> Result<Vec<u8>, String> {
    let (w, h) = (layout.width.max(1) as usize, layout.height.max(1) as usize);
    let mut canvas = Bitmap::new(w, h);
    let mut blit = |x0: i64, y0: i64, b: &Bitmap| {
        for y in 0..b.height {
            for x in 0..b.width {
                let (px, py) = (x0 + x as i64, y0 + y as i64);
                if b.get(x, y) && px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                    canvas.bits[py as usize * w + px as usize] = true;
                }
            }
        }
    };
    for item in &layout.items {
        match item {
            Item::Fill(r) => blit(
                r.x,
                r.y,
                &Bitmap { width: r.w as usize, height: r.h as usize, bits: vec![true; (r.w * r.h) as usize] },
            ),
            Item::Text { area, rotation, em, text, .. } => {
                let (tw, th) = match rotation {
                    Rotation::R0 | Rotation::R180 => (area.w, area.h),
                    Rotation::R90 | Rotation::R270 => (area.h, area.w),
                };
                let glyphs = font::rasterize(text, *em, tw as usize, th as usize);
                blit(area.x, area.y, &glyphs.rotated(rotation.degrees() / 90));
            }
            Item::Image { area, bitmap } => blit(area.x, area.y, bitmap),
        }
    }
    let row_bytes = w.div_ceil(8);
    let mut data = vec![0u8; row_bytes * h];
    for y in 0..h {
        for x in 0..w {
            // Grey 1-bit: 1 = white.
            if !canvas.bits[y * w + x] {
                data[y * row_bytes + x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        let per_metre = (layout.dpi.get() as f64 / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions { xppu: per_metre, yppu: per_metre, unit: png::Unit::Meter }));
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&data).map_err(|e| e.to_string())?;
    }
    Ok(out)
}
