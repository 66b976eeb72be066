//! The rendered label, rasterised by poppler and read back by zbar: what a scanner
//! on the line would see.

use hallmark_label::{render_pdf, LabelData, Template};
use std::process::Command;

fn scan(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let pdf_path = dir.path().join("label.pdf");
    std::fs::write(&pdf_path, pdf).unwrap();
    let png_prefix = dir.path().join("label");
    let st = Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(&pdf_path)
        .arg(&png_prefix)
        .status()
        .expect("pdftoppm (poppler-utils) must be installed: run scripts/setup.sh");
    assert!(st.success());
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(dir.path().join("label.png"))
        .output()
        .expect("zbarimg (zbar-tools) must be installed: run scripts/setup.sh");
    assert!(out.status.success(), "zbarimg found no barcode: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim_end().to_string()
}

#[test]
fn default_label_scans_to_exactly_the_uid() {
    for uid in ["0123456789ABCDEF", "A1B2-C3D4", "X"] {
        let data = LabelData::new().with("uid", uid).with("model", "HM-SIM").with("firmware", "1.0.0");
        let pdf = render_pdf(&Template::embedded_default(), &data).unwrap();
        assert_eq!(scan(&pdf), uid);
    }
}
