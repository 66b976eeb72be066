//! Replays every committed corpus file, and every kept crash reproducer, through
//! the fuzz targets on stable `cargo test`: what the fuzzer once explored (or once
//! crashed on) keeps being checked without the fuzzer.
//!
//! Layout (`fuzz/`): `corpus/<target>/*` (seeds from `examples/seeds.rs` plus
//! libFuzzer's minimised finds) and `artifacts/<target>/*` (reproducers of fixed
//! findings, kept as regression inputs). A target without a non-empty corpus
//! directory fails the test, so it cannot pass by finding nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Regular files of `dir`, sorted (hidden files such as `.gitkeep` skipped).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    out.sort();
    out
}

/// Runs `target` on each file; a panic names the file to reproduce it with.
fn replay(name: &str, target: hallmark_fuzz::Target, inputs: &[PathBuf]) {
    for path in inputs {
        let data = match fs::read(path) {
            Ok(data) => data,
            // A fuzzer running on this corpus (scripts/fuzz.sh) replaces inputs with
            // smaller ones while it runs; a file it removed since the listing is gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        };
        let started = Instant::now();
        if std::panic::catch_unwind(|| target(&data)).is_err() {
            panic!("{name} panicked on {} (reproduce: scripts/fuzz.sh {name} -- {})", path.display(), path.display());
        }
        let took = started.elapsed();
        assert!(took.as_secs() < 5, "{name} took {took:?} on {}", path.display());
    }
}

#[test]
fn every_target_has_a_corpus_and_replays_it() {
    let mut missing = Vec::new();
    let mut total = 0;
    for (name, target) in hallmark_fuzz::TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        if corpus.is_empty() {
            missing.push(*name);
            continue;
        }
        replay(name, *target, &corpus);
        total += corpus.len();
    }
    assert!(missing.is_empty(), "no corpus (or an empty one) under fuzz/corpus/ for {missing:?}");
    assert!(total > 0);
}

#[test]
fn kept_reproducers_replay() {
    for (name, target) in hallmark_fuzz::TARGETS {
        replay(name, *target, &files(&fuzz_dir().join("artifacts").join(name)));
    }
}

#[test]
fn every_corpus_directory_is_a_target() {
    // A renamed target must not leave its corpus behind unreplayed.
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = fs::read_dir(fuzz_dir().join(dir)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                assert!(hallmark_fuzz::target(&name).is_some(), "fuzz/{dir}/{name} belongs to no target");
            }
        }
    }
}

#[test]
fn every_target_has_a_fuzz_binary() {
    let manifest = fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for (name, _) in hallmark_fuzz::TARGETS {
        let source = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let text = fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert!(
            text.contains(&format!("hallmark_fuzz::{name}(")),
            "{} does not call hallmark_fuzz::{name}",
            source.display()
        );
        assert!(manifest.contains(&format!("name = \"{name}\"")), "fuzz/Cargo.toml has no [[bin]] {name}");
    }
}
