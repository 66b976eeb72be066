//! One-bit bitmaps: logos from PNG, rasterised text, and the rotations both need.

/// A black-and-white bitmap, row-major, `true` = black (printed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` pixels.
    pub bits: Vec<bool>,
}

/// Largest image accepted from `assets/` (pixels per side).
const MAX_SIDE: u32 = 4096;

impl Bitmap {
    /// All white.
    pub fn new(width: usize, height: usize) -> Bitmap {
        Bitmap { width, height, bits: vec![false; width * height] }
    }

    /// Whether (x, y) is black.
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.bits[y * self.width + x]
    }

    /// Decodes a PNG; pixels darker than mid-grey (alpha-blended on white) are black.
    pub fn from_png(bytes: &[u8]) -> Result<Bitmap, String> {
        let mut decoder = png::Decoder::new(bytes);
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(|e| format!("not a readable PNG: {e}"))?;
        let info = reader.info();
        if info.width > MAX_SIDE || info.height > MAX_SIDE {
            return Err(format!("{}x{} px is larger than {MAX_SIDE} px per side", info.width, info.height));
        }
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).map_err(|e| format!("not a readable PNG: {e}"))?;
        let channels = frame.color_type.samples();
        let (w, h) = (frame.width as usize, frame.height as usize);
        let mut bits = Vec::with_capacity(w * h);
        for y in 0..h {
            let row = &buf[y * frame.line_size..];
            for x in 0..w {
                let px = &row[x * channels..(x + 1) * channels];
                let (grey, alpha) = match channels {
                    1 => (px[0] as f64, 255.0),
                    2 => (px[0] as f64, px[1] as f64),
                    3 => (luma(px), 255.0),
                    _ => (luma(px), px[3] as f64),
                };
                let on_white = grey * alpha / 255.0 + 255.0 * (1.0 - alpha / 255.0);
                bits.push(on_white < 128.0);
            }
        }
        Ok(Bitmap { width: w, height: h, bits })
    }

    /// Scaled to `width` x `height` (nearest neighbour).
    pub fn scaled(&self, width: usize, height: usize) -> Bitmap {
        let mut out = Bitmap::new(width, height);
        if self.width == 0 || self.height == 0 {
            return out;
        }
        for y in 0..height {
            let sy = y * self.height / height;
            for x in 0..width {
                out.bits[y * width + x] = self.get(x * self.width / width, sy);
            }
        }
        out
    }

    /// Rotated clockwise by `quarter_turns` × 90°.
    pub fn rotated(&self, quarter_turns: u32) -> Bitmap {
        let mut b = self.clone();
        for _ in 0..quarter_turns % 4 {
            let mut r = Bitmap::new(b.height, b.width);
            for y in 0..b.height {
                for x in 0..b.width {
                    // (x, y) → (H-1-y, x)
                    r.bits[x * r.width + (b.height - 1 - y)] = b.get(x, y);
                }
            }
            b = r;
        }
        b
    }
}

fn luma(px: &[u8]) -> f64 {
    0.299 * px[0] as f64 + 0.587 * px[1] as f64 + 0.114 * px[2] as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_moves_the_top_left_pixel_to_the_top_right() {
        let mut b = Bitmap::new(3, 2);
        b.bits[0] = true;
        let r = b.rotated(1);
        assert_eq!((r.width, r.height), (2, 3));
        assert!(r.get(1, 0));
        assert_eq!(b.rotated(4), b);
    }

    #[test]
    fn shipped_logo_decodes() {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/hallmark-logo.png")).unwrap();
        let b = Bitmap::from_png(&bytes).unwrap();
        assert_eq!((b.width, b.height), (240, 80));
        assert!(b.get(5, 5) && !b.get(0, 0));
        assert!(Bitmap::from_png(b"not a png").is_err());
    }
}
