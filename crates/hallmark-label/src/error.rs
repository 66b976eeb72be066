use thiserror::Error;

/// Errors from templates and rendering. Each names the element at fault.
#[derive(Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum LabelError {
    /// The template file is not valid TOML for a template.
    #[error("label template is invalid: {0}")]
    Syntax(String),
    /// An element refers to a field that does not exist.
    #[error("element {element}: unknown field {{{field}}}; known fields are {known}")]
    UnknownField {
        /// Element index (1-based) and kind.
        element: String,
        /// The field name.
        field: String,
        /// The known fields.
        known: String,
    },
    /// An element does not fit on the label, or cannot be printed at this resolution.
    #[error("element {element}: {reason}")]
    DoesNotFit {
        /// Element index (1-based) and kind.
        element: String,
        /// Why.
        reason: String,
    },
    /// The label itself has a nonsensical size or margin.
    #[error("label: {0}")]
    BadLabel(String),
    /// The data cannot be encoded in the element's symbology.
    #[error("element {element}: cannot encode {value:?}: {reason}")]
    Unencodable {
        /// Element index (1-based) and kind.
        element: String,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// An image is missing or unreadable.
    #[error("element {element}: image {reason}")]
    Image {
        /// Element index (1-based) and kind.
        element: String,
        /// Why.
        reason: String,
    },
    /// Drawing failed.
    #[error("label could not be drawn: {0}")]
    Render(String),
}

impl LabelError {
    /// The 1-based number of the element at fault, when an element is (its name is
    /// always written by `Element::describe`: `#N (kind)`).
    pub fn element_number(&self) -> Option<usize> {
        let element = match self {
            LabelError::UnknownField { element, .. }
            | LabelError::DoesNotFit { element, .. }
            | LabelError::Unencodable { element, .. }
            | LabelError::Image { element, .. } => element,
            _ => return None,
        };
        element.strip_prefix('#')?.split(' ').next()?.parse().ok()
    }
}
