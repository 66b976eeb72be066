//! The template format and its validation.

use crate::fields::{check_fields, substitute};
use crate::{LabelData, LabelError};
use serde::Deserialize;

/// Modules of quiet zone required on each side of a Code 128 symbol.
pub const CODE128_QUIET_MODULES: u32 = 10;
const MM_PER_INCH: f64 = 25.4;
const MM_PER_PT: f64 = MM_PER_INCH / 72.0;
/// Helvetica's widest upper-case/digit advance (em); used to bound text width.
const HELVETICA_MAX_ADVANCE_EM: f64 = 0.78;

/// A label template: size, printer resolution, elements.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Human-readable name.
    pub name: String,
    /// Label width in mm.
    pub width_mm: f64,
    /// Label height in mm.
    pub height_mm: f64,
    /// Printer resolution in dots per inch (203, 300 or 600).
    pub dpi: u32,
    /// What is printed.
    #[serde(rename = "element")]
    pub elements: Vec<Element>,
}

/// One thing on the label. Positions are from the label's top-left corner.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Element {
    /// A line of text in Helvetica.
    Text {
        /// Left edge.
        x_mm: f64,
        /// Top edge of the text line.
        y_mm: f64,
        /// Font size in points.
        size_pt: f64,
        /// Text with `{field}`s.
        text: String,
    },
    /// A Code 128 barcode (code set B).
    Code128 {
        /// Left edge of the quiet zone.
        x_mm: f64,
        /// Top edge of the bars.
        y_mm: f64,
        /// Bar height.
        height_mm: f64,
        /// Narrowest bar width in printer dots.
        module_dots: u32,
        /// Encoded data with `{field}`s.
        data: String,
    },
}

impl Element {
    fn label(&self, index: usize) -> String {
        let kind = match self {
            Element::Text { .. } => "text",
            Element::Code128 { .. } => "code128",
        };
        format!("#{} ({kind})", index + 1)
    }
}

impl Template {
    /// Parses and validates a template with sample data.
    pub fn from_toml(text: &str) -> Result<Template, LabelError> {
        let t: Template = toml::from_str(text).map_err(|e| LabelError::Syntax(e.to_string()))?;
        t.validate(&LabelData::sample())?;
        Ok(t)
    }

    /// The embedded default template.
    pub fn embedded_default() -> Template {
        // The embedded template is validated by a unit test; failure here is a build defect.
        Template::from_toml(crate::DEFAULT_TEMPLATE).expect("embedded default label template is valid")
    }

    /// Width of one printer dot in mm.
    pub fn dot_mm(&self) -> f64 {
        MM_PER_INCH / self.dpi as f64
    }

    /// Checks that every element uses known fields and fits the label with `data`.
    pub fn validate(&self, data: &LabelData) -> Result<(), LabelError> {
        if !(self.width_mm > 0.0 && self.height_mm > 0.0 && self.width_mm <= 300.0 && self.height_mm <= 300.0) {
            return Err(LabelError::BadLabel(format!("size {}x{} mm is out of range", self.width_mm, self.height_mm)));
        }
        if ![203, 300, 600].contains(&self.dpi) {
            return Err(LabelError::BadLabel(format!("dpi {} is not one of 203, 300, 600", self.dpi)));
        }
        for (i, e) in self.elements.iter().enumerate() {
            let name = e.label(i);
            let misfit = |reason: String| LabelError::DoesNotFit { element: name.clone(), reason };
            match e {
                Element::Text { x_mm, y_mm, size_pt, text } => {
                    check_fields(&name, text)?;
                    let value = substitute(text, data);
                    let width = value.chars().count() as f64 * HELVETICA_MAX_ADVANCE_EM * size_pt * MM_PER_PT;
                    if *x_mm < 0.0 || x_mm + width > self.width_mm {
                        return Err(misfit(format!(
                            "text {value:?} may need {width:.1} mm but only {:.1} mm are left",
                            self.width_mm - x_mm
                        )));
                    }
                    if *y_mm < 0.0 || y_mm + size_pt * MM_PER_PT > self.height_mm {
                        return Err(misfit("text runs off the bottom of the label".into()));
                    }
                }
                Element::Code128 { x_mm, y_mm, height_mm, module_dots, data: pattern } => {
                    check_fields(&name, pattern)?;
                    if *module_dots == 0 {
                        return Err(misfit("module_dots must be at least 1".into()));
                    }
                    let modules = self.code128_modules(&name, &substitute(pattern, data))?.len() as u32;
                    let width = self.code128_width_mm(modules, *module_dots);
                    if *x_mm < 0.0 || x_mm + width > self.width_mm {
                        return Err(misfit(format!(
                            "barcode needs {width:.1} mm with quiet zones at {} dpi x {module_dots} dots/module, \
                             only {:.1} mm available; use fewer dots per module, a higher dpi or a wider label",
                            self.dpi,
                            self.width_mm - x_mm
                        )));
                    }
                    if *y_mm < 0.0 || y_mm + height_mm > self.height_mm || *height_mm <= 0.0 {
                        return Err(misfit("barcode runs off the bottom of the label".into()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Module pattern (1 = bar) for `value`, code set B.
    pub(crate) fn code128_modules(&self, element: &str, value: &str) -> Result<Vec<u8>, LabelError> {
        let unencodable = || LabelError::Unencodable { element: element.to_string(), value: value.to_string() };
        if value.is_empty() || !value.chars().all(|c| (' '..='~').contains(&c)) {
            return Err(unencodable());
        }
        let code = barcoders::sym::code128::Code128::new(format!("\u{0181}{value}")).map_err(|_| unencodable())?;
        Ok(code.encode())
    }

    /// Width in mm of a symbol of `modules` modules plus quiet zones.
    pub(crate) fn code128_width_mm(&self, modules: u32, module_dots: u32) -> f64 {
        (modules + 2 * CODE128_QUIET_MODULES) as f64 * module_dots as f64 * self.dot_mm()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid() {
        let t = Template::embedded_default();
        t.validate(&LabelData::new().with("uid", "0123456789ABCDEF")).unwrap();
    }

    #[test]
    fn unknown_field_names_the_element() {
        let t = "name='x'\nwidth_mm=50\nheight_mm=25\ndpi=300\n[[element]]\nkind='text'\nx_mm=1\ny_mm=1\nsize_pt=8\ntext='{serial_no}'\n";
        let e = Template::from_toml(t).unwrap_err();
        assert!(
            matches!(&e, LabelError::UnknownField { element, field, .. } if element == "#1 (text)" && field == "serial_no"),
            "{e}"
        );
    }

    #[test]
    fn barcode_too_wide_at_203_dpi_is_refused() {
        // 16 characters, 2 dots per module at 203 dpi: 231 modules = 57.8 mm > 50 mm.
        let t = "name='x'\nwidth_mm=50\nheight_mm=25\ndpi=203\n[[element]]\nkind='code128'\nx_mm=0\ny_mm=1\nheight_mm=10\nmodule_dots=2\ndata='{uid}'\n";
        let t: Template = toml::from_str(t).unwrap();
        let e = t.validate(&LabelData::new().with("uid", "0123456789ABCDEF")).unwrap_err();
        assert!(e.to_string().contains("#1 (code128)") && e.to_string().contains("203 dpi"), "{e}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let t = "name='x'\nwidth_mm=50\nheight_mm=25\ndpi=300\ncolour='red'\nelement=[]\n";
        assert!(matches!(Template::from_toml(t), Err(LabelError::Syntax(_))));
    }
}
