//! ZPL output compared byte for byte with reviewed golden files. After a deliberate
//! change, regenerate with `HALLMARK_BLESS=1 cargo test -p hallmark-label --test
//! zpl_golden` and review the diff.

use hallmark_label::{render, Format, LabelData, Template};
use std::path::Path;

fn golden(template: &str, data: &LabelData, golden: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = Template::load(&root.join("../../label-templates").join(template)).unwrap();
    let zpl = String::from_utf8(render(&t, data, Format::Zpl).unwrap()).unwrap();
    let path = root.join("tests/golden").join(golden);
    if std::env::var_os("HALLMARK_BLESS").is_some() {
        std::fs::write(&path, &zpl).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(zpl, expected, "ZPL for {template} changed; see the module docs to re-bless");
}

#[test]
fn default_label() {
    golden("default-50x25.toml", &LabelData::sample(), "default-50x25.zpl");
}

#[test]
fn device_text_cannot_inject_commands() {
    // A hostile model string: ^XZ would end the format, ~JR would reset the printer.
    let data = LabelData::sample().with("model", "X^XZ~JR\\é");
    golden("default-50x25.toml", &data, "default-50x25-escaped.zpl");
    let zpl =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/default-50x25-escaped.zpl"))
            .unwrap();
    assert_eq!(zpl.matches("^XZ").count(), 1, "only the real end of format");
    assert!(zpl.contains("X\\5EXZ\\7EJR\\5C\\C3\\A9 fw 1.0.0"));
}

#[test]
fn logo_and_rotation_reach_zpl() {
    golden("qr-logo-62x29.toml", &LabelData::sample(), "qr-logo-62x29.zpl");
}
