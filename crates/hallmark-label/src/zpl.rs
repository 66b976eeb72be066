//! ZPL II for Zebra-compatible thermal printers. Bars and modules are `^GB` boxes
//! from the layout (exactly the dots of the preview, not the printer's own
//! encoder), images are `^GFA` graphics, text uses the printer's scalable font 0
//! with field data hex-escaped through `^FH` (so `^`, `~` and non-ASCII bytes in a
//! device's model string can never become commands).

use crate::layout::{Item, Layout};
use crate::template::Rotation;
use std::fmt::Write;

/// The label as one ZPL format (`^XA` … `^XZ`).
pub fn to_zpl(layout: &Layout) -> String {
    let mut z = String::new();
    // Writing into a String cannot fail.
    let _ = write!(z, "^XA\n^CI28\n^PW{}\n^LL{}\n^LH0,0\n", layout.width, layout.height);
    for item in &layout.items {
        match item {
            Item::Fill(r) => {
                let _ = writeln!(z, "^FO{},{}^GB{},{},{},B,0^FS", r.x, r.y, r.w, r.h, r.w.min(r.h));
            }
            Item::Text { area, rotation, em, text, .. } => {
                let orientation = match rotation {
                    Rotation::R0 => 'N',
                    Rotation::R90 => 'R',
                    Rotation::R180 => 'I',
                    Rotation::R270 => 'B',
                };
                let h = em.round() as i64;
                let _ = writeln!(z, "^FO{},{}^A0{orientation},{h},{h}^FH\\^FD{}^FS", area.x, area.y, escape(text));
            }
            Item::Image { area, bitmap } => {
                let row_bytes = bitmap.width.div_ceil(8);
                let mut hex = String::with_capacity(row_bytes * bitmap.height * 2);
                for y in 0..bitmap.height {
                    for byte in 0..row_bytes {
                        let mut b = 0u8;
                        for bit in 0..8 {
                            let x = byte * 8 + bit;
                            if x < bitmap.width && bitmap.get(x, y) {
                                b |= 0x80 >> bit;
                            }
                        }
                        let _ = write!(hex, "{b:02X}");
                    }
                }
                let total = row_bytes * bitmap.height;
                let _ = writeln!(z, "^FO{},{}^GFA,{total},{total},{row_bytes},{hex}^FS", area.x, area.y);
            }
        }
    }
    z.push_str("^PQ1\n^XZ\n");
    z
}

/// Field data for `^FH\`: printable ASCII except `^ ~ \` as is, every other byte
/// (of the UTF-8 encoding) as `\hh`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7F).contains(&b) && !matches!(b, b'^' | b'~' | b'\\') {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_commands_and_non_ascii() {
        assert_eq!(escape("A^XZ~JR\\é"), "A\\5EXZ\\7EJR\\5C\\C3\\A9");
    }
}
