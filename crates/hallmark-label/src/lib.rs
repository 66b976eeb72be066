//! Label templates and rendering.
//!
//! A [`Template`] (TOML, in `label-templates/`) places elements on a label of a given
//! size for a printer resolution; [`Template::validate`] catches what would not print
//! before any board is run; [`render_pdf`] draws it with barcode modules snapped to
//! whole printer dots.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod fields;
mod pdf;
mod template;

pub use error::LabelError;
pub use fields::LabelData;
pub use pdf::render_pdf;
pub use template::{Element, Template};

/// The template used when the station configuration names none.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../../label-templates/default-50x25.toml");
