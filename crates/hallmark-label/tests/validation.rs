//! Each validation rule, driven by a template that breaks it: the error names the
//! element and says what to change.

use hallmark_label::{LabelData, LabelError, Template};
use std::path::Path;

fn check(file: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid").join(file);
    match Template::load_unchecked(&path) {
        Ok(t) => t.check(&LabelData::sample()).iter().map(ToString::to_string).collect(),
        Err(e) => vec![e.to_string()],
    }
}

fn assert_error(file: &str, needles: &[&str]) {
    let errors = check(file);
    assert_eq!(errors.len(), 1, "{file}: {errors:?}");
    for n in needles {
        assert!(errors[0].contains(n), "{file}: {:?} lacks {n:?}", errors[0]);
    }
}

#[test]
fn unknown_field() {
    assert_error("unknown-field.toml", &["element #1 (text)", "unknown field {serial_no}", "known fields are uid"]);
}

#[test]
fn text_that_cannot_fit() {
    assert_error("text-too-long.toml", &["element #1 (text)", "needs", "mm but only", "fit = \"shrink\""]);
}

#[test]
fn module_below_the_dot_pitch() {
    assert_error(
        "below-dot-pitch.toml",
        &["element #1 (code128)", "below the printer's dot pitch", "0.125 mm at 203 dpi"],
    );
}

#[test]
fn code128_too_wide_with_quiet_zones_at_203_dpi() {
    assert_error("code128-too-wide-203dpi.toml", &["element #1 (code128)", "needs 57.8 x", "quiet zones at 203 dpi"]);
}

#[test]
fn gs1_check_digit() {
    assert_error(
        "gs1-bad-check-digit.toml",
        &["element #1 (datamatrix)", "(01) 09501101530004 has a wrong check digit"],
    );
}

#[test]
fn missing_image() {
    assert_error("missing-image.toml", &["element #1 (image)", "no-such-logo.png"]);
}

#[test]
fn symbol_off_the_label() {
    assert_error("qr-off-the-label.toml", &["element #1 (qr)", "printable area is 58.9 x 26.0 mm"]);
}

#[test]
fn every_problem_is_reported_at_once() {
    let t = Template::from_toml("name='x'\nwidth_mm=20\nheight_mm=10\ndpi=300").unwrap();
    assert!(t.elements.is_empty());
    let text = "name='x'\nwidth_mm=20\nheight_mm=10\ndpi=300\n\
        [[element]]\nkind='text'\nx_mm=1\ny_mm=1\nsize_pt=8\ntext='{nope}'\n\
        [[element]]\nkind='qr'\nx_mm=15\ny_mm=1\nmodule_mm=0.5\ndata='{uid}'\n";
    let t = Template::parse_unchecked(text, Path::new(".")).unwrap();
    let errors = t.check(&LabelData::sample());
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(matches!(errors[0], LabelError::UnknownField { .. }));
    assert!(matches!(errors[1], LabelError::DoesNotFit { .. }));
}

#[test]
fn syntax_and_resolution_errors() {
    let e = Template::from_toml("name='x'\nwidth_mm=20\nheight_mm=10\ndpi=250").unwrap_err();
    assert!(e.to_string().contains("dpi 250 is not one of 203, 300, 600"), "{e}");
    let e = Template::from_toml("name='x'\nwidth_mm=20\nheight_mm=10\ndpi=300\ncolour='red'").unwrap_err();
    assert!(matches!(e, LabelError::Syntax(_)));
}

#[test]
fn shipped_templates_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../label-templates");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Template::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 3);
}
