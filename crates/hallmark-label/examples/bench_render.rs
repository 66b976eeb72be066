//! Benchmark: render time per label and output format for every shipped template.
//!
//! `cargo run --release -p hallmark-label --example bench_render -- 500`
//!
//! Figures go to docs/performance.md; this is a measurement, never a test.

use hallmark_label::{render, Format, LabelData, Template};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../label-templates");
    println!("{n} renders each, release build; median / p95 in ms, output size");
    println!("{:<28} {:<4} {:>8} {:>8} {:>9}", "template", "fmt", "median", "p95", "bytes");
    for name in ["default-50x25.toml", "datamatrix-25x12.toml", "qr-logo-62x29.toml"] {
        let t = Template::load(&dir.join(name)).expect("template");
        for format in [Format::Pdf, Format::Zpl, Format::Png] {
            let mut times = Vec::with_capacity(n);
            let mut size = 0;
            for i in 0..n {
                let data = LabelData::sample().with("uid", format!("{:016X}", 0xA000_0000_0000_0000u64 + i as u64));
                let t0 = Instant::now();
                size = render(&t, &data, format).expect("render").len();
                times.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
            println!("{name:<28} {:<4} {:>8.3} {:>8.3} {size:>9}", format.extension(), pick(0.5), pick(0.95));
        }
    }
}
