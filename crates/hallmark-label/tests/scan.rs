//! Every shipped template, rendered for a sample record, read back the way the line
//! reads it: PDF → poppler → zbar (Code 128, QR) or libdmtx (Data Matrix), and the
//! PNG preview straight into the same readers.

use hallmark_label::{render, Format, LabelData, Template};
use std::path::{Path, PathBuf};
use std::process::Command;

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../label-templates")
}

fn shipped(name: &str) -> Template {
    Template::load(&templates_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn record(uid: &str) -> LabelData {
    LabelData::sample().with("uid", uid)
}

/// Rasterises a PDF at 300 dpi and returns the PNG path.
fn rasterise(pdf: &[u8], dir: &Path) -> PathBuf {
    let pdf_path = dir.join("label.pdf");
    std::fs::write(&pdf_path, pdf).unwrap();
    let st = Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(&pdf_path)
        .arg(dir.join("label"))
        .status()
        .expect("pdftoppm (poppler-utils) must be installed: run scripts/setup.sh");
    assert!(st.success());
    dir.join("label.png")
}

fn zbar(png: &Path) -> Vec<String> {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png)
        .output()
        .expect("zbarimg (zbar-tools) must be installed: run scripts/setup.sh");
    assert!(out.status.success(), "zbarimg found no barcode in {}", png.display());
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

fn dmtx(png: &Path) -> String {
    let out = Command::new("dmtxread")
        .args(["-N", "1", "-m", "5000"])
        .arg(png)
        .output()
        .expect("dmtxread (dmtx-utils) must be installed: run scripts/setup.sh");
    assert!(out.status.success(), "dmtxread found no Data Matrix in {}", png.display());
    String::from_utf8(out.stdout).unwrap()
}

/// The PDF and the PNG preview of one label, as images a reader can open.
fn both_images(template: &Template, data: &LabelData, dir: &Path) -> [PathBuf; 2] {
    let pdf = rasterise(&render(template, data, Format::Pdf).unwrap(), dir);
    let preview = dir.join("preview.png");
    std::fs::write(&preview, render(template, data, Format::Png).unwrap()).unwrap();
    [pdf, preview]
}

#[test]
fn default_code128_label_scans_to_exactly_the_uid() {
    let t = shipped("default-50x25.toml");
    for uid in ["0123456789ABCDEF", "A1B2-C3D4", "X"] {
        let dir = tempfile::tempdir().unwrap();
        for image in both_images(&t, &record(uid), dir.path()) {
            assert_eq!(zbar(&image), vec![uid.to_string()], "{}", image.display());
        }
    }
}

#[test]
fn qr_label_scans_to_the_registration_url() {
    let t = shipped("qr-logo-62x29.toml");
    let dir = tempfile::tempdir().unwrap();
    for image in both_images(&t, &record("FE0F8BEB099A0867"), dir.path()) {
        assert_eq!(zbar(&image), vec!["HTTPS://ID.EXAMPLE.COM/D/FE0F8BEB099A0867".to_string()]);
    }
}

#[test]
fn gs1_datamatrix_label_carries_gtin_and_serial() {
    let t = shipped("datamatrix-25x12.toml");
    let dir = tempfile::tempdir().unwrap();
    for image in both_images(&t, &record("FE0F8BEB099A0867"), dir.path()) {
        // FNC1 first (GS1), then (01) GTIN and (21) the UID as serial number.
        assert_eq!(dmtx(&image), "0109501101530003".to_string() + "21FE0F8BEB099A0867");
    }
}

#[test]
fn gs1_128_separates_a_variable_length_serial_with_gs() {
    let t = Template::from_toml(
        "name='g'\nwidth_mm=80\nheight_mm=20\ndpi=300\n[[element]]\nkind='code128'\nx_mm=2\ny_mm=2\nheight_mm=12\n\
         module_mm=0.17\ngs1=true\ndata='(21){uid}(01)09501101530003'\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    for image in both_images(&t, &record("A1B2"), dir.path()) {
        assert_eq!(zbar(&image), vec!["21A1B2\u{1D}0109501101530003".to_string()]);
    }
}

#[test]
fn labels_stay_small() {
    for name in ["default-50x25.toml", "datamatrix-25x12.toml", "qr-logo-62x29.toml"] {
        let pdf = render(&shipped(name), &LabelData::sample(), Format::Pdf).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 64 * 1024, "{name}: {} bytes", pdf.len());
    }
}

#[test]
fn rotated_symbols_still_scan_and_stay_on_the_label() {
    for rotation in [90, 180, 270] {
        let t = Template::from_toml(&format!(
            "name='r'\nwidth_mm=60\nheight_mm=60\ndpi=300\n[[element]]\nkind='code128'\nx_mm=5\ny_mm=5\n\
             height_mm=10\nmodule_mm=0.17\ndata='{{uid}}'\nrotation={rotation}\n[[element]]\nkind='text'\nx_mm=45\n\
             y_mm=45\nsize_pt=8\ntext='{{model}}'\nrotation={rotation}\n"
        ))
        .unwrap_or_else(|e| panic!("rotation {rotation}: {e}"));
        let dir = tempfile::tempdir().unwrap();
        for image in both_images(&t, &record("ROT0123456789ABC"), dir.path()) {
            assert_eq!(zbar(&image), vec!["ROT0123456789ABC".to_string()], "rotation {rotation}");
        }
    }
}
