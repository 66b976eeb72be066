//! Label templates and rendering.
//!
//! A [`Template`] (TOML, in `label-templates/`) places elements on a label of a given
//! size for a printer resolution. [`layout`](layout::layout) turns a template and a
//! record into shapes in whole printer dots, checking everything that would not print
//! (each error names its element); [`render`] draws that one layout as PDF, ZPL or PNG.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod fields;
mod font;
pub mod gs1;
mod image;
pub mod layout;
mod pdf;
mod preview;
mod symbols;
mod template;
mod zpl;

pub use error::LabelError;
pub use fields::{LabelData, KNOWN_FIELDS};
/// The shipped font, for other documents drawn in it (the evidence and QA reports).
pub use font::{advance_em, missing_glyphs, pdf_font};
pub use image::Bitmap;
pub use template::{Align, Direction, Dpi, Ecc, Element, Fit, Rotation, Template};
pub use zpl::escape as zpl_escape;

/// The template used when the station configuration names none.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../../label-templates/default-50x25.toml");

/// The source tree's `assets/` (images for templates without a directory of their own).
pub const ASSETS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets");

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// PDF at the label's size (CUPS printers, archive).
    Pdf,
    /// ZPL II (Zebra-compatible thermal printers).
    Zpl,
    /// 1-bit PNG at the printer's resolution (preview).
    Png,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "pdf" => Ok(Format::Pdf),
            "zpl" => Ok(Format::Zpl),
            "png" => Ok(Format::Png),
            _ => Err(format!("unknown label format {s:?}: use pdf, zpl or png")),
        }
    }
}

impl Format {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Zpl => "zpl",
            Format::Png => "png",
        }
    }
}

/// Lays out and draws one label.
pub fn render(template: &Template, data: &LabelData, format: Format) -> Result<Vec<u8>, LabelError> {
    let laid = layout::layout(template, data).map_err(|mut errors| errors.remove(0))?;
    match format {
        Format::Pdf => pdf::to_pdf(&laid).map_err(LabelError::Render),
        Format::Zpl => Ok(zpl::to_zpl(&laid).into_bytes()),
        Format::Png => preview::to_png(&laid).map_err(LabelError::Render),
    }
}

/// Renders a PDF (the station's archive copy).
pub fn render_pdf(template: &Template, data: &LabelData) -> Result<Vec<u8>, LabelError> {
    render(template, data, Format::Pdf)
}
