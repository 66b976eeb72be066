//! Reports read back by poppler (an independent PDF reader): the words are there, in
//! order, long values wrap instead of running off the page, long tables continue on
//! numbered pages, and charts put ink on the page.

use hallmark_report::{to_pdf, Bar, Block, Column, Report};
use std::process::Command;

fn poppler(tool: &str, pdf: &[u8], args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new(tool).args(args).arg(&path).arg(dir.path().join("out")).output().unwrap();
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read(dir.path().join("out")).unwrap_or_default();
    std::process::Output { stdout: text, ..out }
}

fn text_of(pdf: &[u8]) -> String {
    String::from_utf8(poppler("pdftotext", pdf, &["-layout"]).stdout).unwrap()
}

fn sample(rows: usize) -> Report {
    let hash = "ab".repeat(64);
    Report {
        title: "Device identity record HM-000123".into(),
        subtitle: "made by bench-1".into(),
        footer: "hallmark-evidence/1".into(),
        blocks: vec![
            Block::Heading("Device".into()),
            Block::Fields(vec![("UID".into(), "HM-000123".into()), ("Key SHA-256".into(), hash.clone())]),
            Block::Paragraph("Operator Zoë Ωmega checked the board.".into()),
            Block::Table {
                columns: vec![("Step".into(), 2.0), ("Outcome".into(), 1.0)],
                rows: (0..rows).map(|i| vec![format!("step-{i}"), "PASS".into()]).collect(),
            },
            Block::Bars {
                title: "Failures by step".into(),
                bars: vec![
                    Bar { label: "readback".into(), value: 12.0, note: "12 (60%)".into() },
                    Bar { label: "selftest".into(), value: 8.0, note: "8 (100%)".into() },
                ],
            },
            Block::Columns {
                title: "Runs per hour".into(),
                legend: ("passed".into(), "failed".into()),
                columns: (0..24)
                    .map(|h| Column { label: format!("{h:02}:00"), total: 10.0 + h as f64, part: 9.0 })
                    .collect(),
            },
        ],
    }
}

#[test]
fn words_wrap_and_pages_are_numbered() {
    let text = text_of(&to_pdf(&sample(5)).unwrap());
    for word in
        ["Device identity record HM-000123", "made by bench-1", "UID", "HM-000123", "step-4", "Failures by step"]
    {
        assert!(text.contains(word), "{word:?} missing from:\n{text}");
    }
    // A 128-character hash does not fit one line: it wraps, and every character is kept.
    let squeezed: String = text.split_whitespace().collect();
    assert!(squeezed.contains(&"ab".repeat(64)), "the hash was cut:\n{text}");
    assert!(text.lines().all(|l| !l.contains(&"ab".repeat(64))), "the hash ran off the page:\n{text}");
    // Characters outside the font print as '?', the rest as given.
    assert!(text.contains("Zoë ?mega"), "{text}");
    assert!(text.contains("page 1 of 1"), "{text}");
}

#[test]
fn a_long_table_continues_on_the_next_page_with_its_header() {
    let text = text_of(&to_pdf(&sample(150)).unwrap());
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert!(pages.len() >= 3, "150 rows fit {} pages", pages.len());
    assert!(text.contains(&format!("page 1 of {}", pages.len())), "{text}");
    assert!(pages[1].contains("Step") && pages[1].contains("Outcome"), "no header on page 2:\n{}", pages[1]);
    assert!(text.contains("step-0") && text.contains("step-149"));
}

#[test]
fn charts_put_colour_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("r.pdf");
    std::fs::write(&pdf, to_pdf(&sample(1)).unwrap()).unwrap();
    let out = Command::new("pdftoppm")
        .args(["-r", "30", "-png", "-singlefile"])
        .arg(&pdf)
        .arg(dir.path().join("p"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(dir.path().join("p.png")).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let coloured =
        buf[..info.buffer_size()].chunks(px).filter(|p| p.len() >= 3 && (p[0] as i32 - p[2] as i32).abs() > 60).count();
    assert!(coloured > 200, "the charts drew {coloured} coloured pixels");
}
