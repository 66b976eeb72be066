//! The template format: a label of a given size for a printer resolution, and the
//! elements on it. TOML, because engineers edit these by hand next to the station
//! configuration (same syntax, comments allowed, unknown keys are errors).

use crate::image::Bitmap;
use crate::LabelError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

pub(crate) const MM_PER_INCH: f64 = 25.4;

/// Largest magnitude of a length in printer dots ([`Dpi::dots`]): far beyond any label
/// (300 mm at 600 dpi is 7,087 dots), and small enough that the sums and products of
/// positions, sizes and module counts in the layout cannot overflow whatever a
/// template says (fuzzing found `length_mm = 1e70` overflowing the fit check).
pub(crate) const MAX_DOTS: i64 = 1 << 24;

/// Printer resolution: one of the three thermal-printer standards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u32")]
pub struct Dpi(u32);

impl TryFrom<u32> for Dpi {
    type Error = String;
    fn try_from(v: u32) -> Result<Dpi, String> {
        if [203, 300, 600].contains(&v) {
            Ok(Dpi(v))
        } else {
            Err(format!("dpi {v} is not one of 203, 300, 600"))
        }
    }
}

impl Dpi {
    /// Dots per inch.
    pub fn get(self) -> u32 {
        self.0
    }

    /// One dot in mm.
    pub fn dot_mm(self) -> f64 {
        MM_PER_INCH / self.0 as f64
    }

    /// `mm` in whole dots (rounded), within ±`MAX_DOTS`.
    pub fn dots(self, mm: f64) -> i64 {
        ((mm / self.dot_mm()).round() as i64).clamp(-MAX_DOTS, MAX_DOTS)
    }
}

/// Clockwise rotation of an element about its top-left corner; (x, y) stays the
/// top-left of what is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u32")]
pub enum Rotation {
    /// Upright.
    #[default]
    R0,
    /// 90° clockwise (reads top to bottom).
    R90,
    /// Upside down.
    R180,
    /// 270° clockwise (reads bottom to top).
    R270,
}

impl TryFrom<u32> for Rotation {
    type Error = String;
    fn try_from(v: u32) -> Result<Rotation, String> {
        Ok(match v {
            0 => Rotation::R0,
            90 => Rotation::R90,
            180 => Rotation::R180,
            270 => Rotation::R270,
            _ => return Err(format!("rotation {v} is not one of 0, 90, 180, 270")),
        })
    }
}

impl Rotation {
    /// Degrees clockwise.
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }
}

/// Horizontal alignment of text within its `max_width_mm`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// Flush left (default).
    #[default]
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// What to do with text wider than its `max_width_mm`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Refuse the template (default): the engineer must make room.
    #[default]
    Error,
    /// Reduce the font size, down to `min_size_pt`; text still too wide there is cut
    /// with a marker (…), so a long value from a board never fails the label.
    Shrink,
    /// Break at spaces onto more lines, up to `max_lines`; the last line is cut with
    /// a marker (…) if the text needs more.
    Wrap,
    /// Cut text that is too wide at `size_pt` with a marker (…).
    Truncate,
}

/// QR error-correction level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum Ecc {
    /// ~7 %.
    L,
    /// ~15 % (default).
    #[default]
    M,
    /// ~25 %.
    Q,
    /// ~30 %.
    H,
}

/// Direction of a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Left to right (default).
    #[default]
    Horizontal,
    /// Top to bottom.
    Vertical,
}

/// A label template.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Human-readable name.
    pub name: String,
    /// Label width in mm.
    pub width_mm: f64,
    /// Label height in mm.
    pub height_mm: f64,
    /// Printer resolution.
    pub dpi: Dpi,
    /// Unprintable border on every side, mm.
    #[serde(default)]
    pub margin_mm: f64,
    /// What is printed, in drawing order.
    #[serde(rename = "element", default)]
    pub elements: Vec<Element>,
    /// Images the elements use, loaded with the template.
    #[serde(skip)]
    pub(crate) images: BTreeMap<String, Bitmap>,
}

/// One thing on the label. Positions are mm from the label's top-left corner.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Element {
    /// Text in the shipped font (DejaVu Sans Condensed).
    Text {
        /// Left edge (of `max_width_mm` when aligned).
        x_mm: f64,
        /// Top edge of the first line.
        y_mm: f64,
        /// Font size in points.
        size_pt: f64,
        /// Text with `{field}`s.
        text: String,
        /// Alignment within `max_width_mm`.
        #[serde(default)]
        align: Align,
        /// Widest the text may be; default: up to the right margin.
        #[serde(default)]
        max_width_mm: Option<f64>,
        /// What to do when it is wider.
        #[serde(default)]
        fit: Fit,
        /// Smallest size `shrink` may go to (default 5 pt).
        #[serde(default)]
        min_size_pt: Option<f64>,
        /// Most lines `wrap` may make (default 2).
        #[serde(default)]
        max_lines: Option<u32>,
        /// Rotation.
        #[serde(default)]
        rotation: Rotation,
    },
    /// A Code 128 barcode; with `gs1`, GS1-128 from `(AI)value` data.
    Code128 {
        /// Left edge of the quiet zone.
        x_mm: f64,
        /// Top edge of the bars.
        y_mm: f64,
        /// Bar height.
        height_mm: f64,
        /// Narrowest bar, mm (snapped to whole printer dots).
        module_mm: f64,
        /// Data with `{field}`s.
        data: String,
        /// GS1-128: data is `(AI)value...`, encoded with FNC1.
        #[serde(default)]
        gs1: bool,
        /// Rotation.
        #[serde(default)]
        rotation: Rotation,
    },
    /// A QR code.
    Qr {
        /// Left edge of the quiet zone.
        x_mm: f64,
        /// Top edge of the quiet zone.
        y_mm: f64,
        /// Module size, mm (snapped to whole printer dots).
        module_mm: f64,
        /// Data with `{field}`s.
        data: String,
        /// Error correction.
        #[serde(default)]
        ecc: Ecc,
        /// Rotation.
        #[serde(default)]
        rotation: Rotation,
    },
    /// A Data Matrix (ECC 200); with `gs1`, GS1 DataMatrix from `(AI)value` data.
    Datamatrix {
        /// Left edge of the quiet zone.
        x_mm: f64,
        /// Top edge of the quiet zone.
        y_mm: f64,
        /// Module size, mm (snapped to whole printer dots).
        module_mm: f64,
        /// Data with `{field}`s.
        data: String,
        /// GS1: data is `(AI)value...`, encoded with a leading FNC1.
        #[serde(default)]
        gs1: bool,
        /// Rotation.
        #[serde(default)]
        rotation: Rotation,
    },
    /// A straight line.
    Line {
        /// Start, left.
        x_mm: f64,
        /// Start, top.
        y_mm: f64,
        /// Length.
        length_mm: f64,
        /// Thickness (at least one printer dot).
        thickness_mm: f64,
        /// Direction.
        #[serde(default)]
        direction: Direction,
    },
    /// A rectangle outline.
    Box {
        /// Left.
        x_mm: f64,
        /// Top.
        y_mm: f64,
        /// Outer width.
        width_mm: f64,
        /// Outer height.
        height_mm: f64,
        /// Line thickness (at least one printer dot).
        thickness_mm: f64,
    },
    /// A PNG from `assets/`, printed black where darker than mid-grey.
    Image {
        /// Left.
        x_mm: f64,
        /// Top.
        y_mm: f64,
        /// Printed width.
        width_mm: f64,
        /// Printed height.
        height_mm: f64,
        /// File name under `assets/`.
        path: String,
        /// Rotation.
        #[serde(default)]
        rotation: Rotation,
    },
}

impl Element {
    /// The element's name in messages: 1-based index and kind.
    pub fn describe(&self, index: usize) -> String {
        let kind = match self {
            Element::Text { .. } => "text",
            Element::Code128 { .. } => "code128",
            Element::Qr { .. } => "qr",
            Element::Datamatrix { .. } => "datamatrix",
            Element::Line { .. } => "line",
            Element::Box { .. } => "box",
            Element::Image { .. } => "image",
        };
        format!("#{} ({kind})", index + 1)
    }
}

impl Template {
    /// Parses a template whose images are under `assets`, and validates it with
    /// sample data.
    pub fn parse(text: &str, assets: &Path) -> Result<Template, LabelError> {
        let t = Template::parse_unchecked(text, assets)?;
        t.validate(&crate::LabelData::sample())?;
        Ok(t)
    }

    /// Parses a template and loads its images without laying it out, so that
    /// [`Template::check`] can report every problem at once.
    pub fn parse_unchecked(text: &str, assets: &Path) -> Result<Template, LabelError> {
        let mut t: Template = toml::from_str(text).map_err(|e| LabelError::Syntax(e.to_string()))?;
        t.load_images(assets)?;
        Ok(t)
    }

    /// Parses a template without images (the embedded default, tests).
    pub fn from_toml(text: &str) -> Result<Template, LabelError> {
        Template::parse(text, Path::new(crate::ASSETS_DIR))
    }

    /// Loads a template file; images come from `assets/` beside its directory
    /// (`label-templates/x.toml` → `assets/`), else the source tree's.
    pub fn load(path: &Path) -> Result<Template, LabelError> {
        let t = Template::load_unchecked(path)?;
        t.validate(&crate::LabelData::sample())?;
        Ok(t)
    }

    /// [`Template::load`] without the layout check.
    pub fn load_unchecked(path: &Path) -> Result<Template, LabelError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LabelError::Syntax(format!("cannot read {}: {e}", path.display())))?;
        let beside = path.parent().and_then(Path::parent).map(|p| p.join("assets"));
        let assets = match beside {
            Some(dir) if dir.is_dir() => dir,
            _ => Path::new(crate::ASSETS_DIR).to_path_buf(),
        };
        Template::parse_unchecked(&text, &assets)
    }

    /// The embedded default template.
    pub fn embedded_default() -> Template {
        // The embedded template is validated by a unit test; failure here is a build defect.
        Template::from_toml(crate::DEFAULT_TEMPLATE).expect("embedded default label template is valid")
    }

    fn load_images(&mut self, assets: &Path) -> Result<(), LabelError> {
        for (i, e) in self.elements.iter().enumerate() {
            if let Element::Image { path, .. } = e {
                let element = e.describe(i);
                if path.contains("..") || Path::new(path).is_absolute() {
                    return Err(LabelError::Image {
                        element,
                        reason: format!("{path:?} must be a file under assets/"),
                    });
                }
                let bytes = std::fs::read(assets.join(path))
                    .map_err(|err| LabelError::Image { element: element.clone(), reason: format!("{path}: {err}") })?;
                let bitmap = Bitmap::from_png(&bytes).map_err(|reason| LabelError::Image { element, reason })?;
                self.images.insert(path.clone(), bitmap);
            }
        }
        Ok(())
    }

    /// Checks the template with `data`; the first problem.
    pub fn validate(&self, data: &crate::LabelData) -> Result<(), LabelError> {
        match self.check(data).into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Every problem of the template with `data`, each naming its element.
    pub fn check(&self, data: &crate::LabelData) -> Vec<LabelError> {
        match crate::layout::layout(self, data) {
            Ok(_) => Vec::new(),
            Err(errors) => errors,
        }
    }
}
