//! Reports for people, as A4 PDF: a small document model ([`Report`], [`Block`])
//! that the station fills with words and numbers, laid out here with the label's
//! font (embedded), wrapped to the page, broken across pages, each page numbered.
//! Charts are drawn as filled shapes, not pictures, so they stay sharp when printed
//! and their numbers sit beside them as text.
//!
//! This crate knows nothing of runs or certificates: the station decides what a
//! report says; this crate only decides where it goes on paper.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chart;
mod layout;
mod model;

pub use model::{Bar, Block, Column, Report};

/// Lays `report` out on A4 pages and returns the PDF.
pub fn to_pdf(report: &Report) -> Result<Vec<u8>, String> {
    layout::render(report)
}
