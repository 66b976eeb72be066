//! Barcode symbols as module grids: what every output draws, module by module.

use crate::gs1;
use crate::template::Ecc;

/// A symbol: `width` x `height` modules, row-major, `true` = dark. Code 128 is one
/// row stretched to the bar height.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// Modules across.
    pub width: usize,
    /// Modules down.
    pub height: usize,
    /// Dark modules.
    pub dark: Vec<bool>,
    /// Quiet zone on each side, in modules.
    pub quiet: usize,
}

/// Code 128 (code set B), or GS1-128 from `(AI)value` data.
pub fn code128(value: &str, gs1: bool) -> Result<Symbol, String> {
    // barcoders' control characters: Ɓ start B, Ć start C, Ź FNC1.
    let data = if gs1 {
        let elements = gs1::parse(value)?;
        format!("\u{0181}\u{0179}{}", gs1::encode(&elements, "\u{0179}"))
    } else {
        if value.is_empty() || !value.chars().all(|c| (' '..='~').contains(&c)) {
            return Err(format!("Code 128 (set B) cannot encode {value:?}: use printable ASCII"));
        }
        format!("\u{0181}{value}")
    };
    let code = barcoders::sym::code128::Code128::new(data).map_err(|e| format!("Code 128: {e}"))?;
    let dark: Vec<bool> = code.encode().into_iter().map(|m| m == 1).collect();
    Ok(Symbol { width: dark.len(), height: 1, dark, quiet: 10 })
}

/// QR code, byte mode.
pub fn qr(value: &str, ecc: Ecc) -> Result<Symbol, String> {
    let level = match ecc {
        Ecc::L => qrcode::EcLevel::L,
        Ecc::M => qrcode::EcLevel::M,
        Ecc::Q => qrcode::EcLevel::Q,
        Ecc::H => qrcode::EcLevel::H,
    };
    let code = qrcode::QrCode::with_error_correction_level(value.as_bytes(), level)
        .map_err(|e| format!("QR: {e} ({} bytes)", value.len()))?;
    let width = code.width();
    let dark = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
    Ok(Symbol { width, height: width, dark, quiet: 4 })
}

/// Data Matrix ECC 200; GS1 with a leading FNC1 and GS separators.
pub fn datamatrix(value: &str, gs1: bool) -> Result<Symbol, String> {
    use datamatrix::{DataMatrix, SymbolList};
    let code = if gs1 {
        let elements = gs1::parse(value)?;
        let data = gs1::encode(&elements, &gs1::GS.to_string());
        DataMatrix::encode_gs1(data.as_bytes(), SymbolList::default())
    } else {
        DataMatrix::encode_str(value, SymbolList::default())
    }
    .map_err(|e| format!("Data Matrix: {e:?}"))?;
    let bitmap = code.bitmap();
    let (width, height) = (bitmap.width(), bitmap.height());
    let mut dark = vec![false; width * height];
    for (x, y) in bitmap.pixels() {
        dark[y * width + x] = true;
    }
    Ok(Symbol { width, height, dark, quiet: 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_characters_of_code128_are_211_modules() {
        let s = code128("0123456789ABCDEF", false).unwrap();
        assert_eq!(s.width, 211);
        assert!(code128("é", false).is_err());
    }

    #[test]
    fn two_d_symbols_are_square_grids() {
        let q = qr("https://example.com/d/0123456789ABCDEF", Ecc::M).unwrap();
        assert_eq!(q.dark.len(), q.width * q.width);
        let d = datamatrix("0123456789ABCDEF", false).unwrap();
        assert_eq!(d.dark.len(), d.width * d.height);
        assert!(datamatrix("(01)09501101530003(21)A1", true).is_ok());
    }
}
