//! `ARCHITECTURE.md` stays true: every crate (and the GUI shell) has its entry in the
//! code map, and every top-level module of a crate is named in that entry. Adding a
//! crate or a module without describing where it sits fails here.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The code map's entries: each bullet `- \`path\` — ...` with its continuation lines.
fn code_map(text: &str) -> Vec<(String, String)> {
    let section = text.split("## Code map").nth(1).expect("ARCHITECTURE.md has a \"## Code map\" section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in section.lines() {
        if let Some(rest) = line.strip_prefix("- `") {
            let path = rest.split('`').next().unwrap_or_default().trim_end_matches('/').to_string();
            entries.push((path, line.to_string()));
        } else if let Some((_, body)) = entries.last_mut() {
            body.push('\n');
            body.push_str(line);
        }
    }
    entries
}

/// Top-level modules of a crate: `src/*.rs` (but the crate roots) and `src/*/`.
fn modules(src: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(src)
        .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            if e.path().is_dir() {
                Some(format!("{name}/"))
            } else if name.ends_with(".rs") && name != "lib.rs" && name != "main.rs" {
                Some(name)
            } else {
                None
            }
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_crate_and_top_level_module_is_in_the_code_map() {
    let root = repo();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let map = code_map(&text);
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").exists())
        .collect();
    crates.push(root.join("src-tauri"));
    let mut missing = Vec::new();
    for dir in crates {
        let rel = dir.strip_prefix(&root).unwrap().display().to_string();
        let Some((_, entry)) = map.iter().find(|(path, _)| *path == rel) else {
            missing.push(format!("{rel}: no code-map entry"));
            continue;
        };
        for module in modules(&dir.join("src")) {
            // A module is named as `module.rs` / `module/` or as a path ending in it.
            let mentioned = entry.contains(&format!("`{module}")) || entry.contains(&format!("/{module}"));
            if !mentioned {
                missing.push(format!("{rel}: module {module} is not in its code-map entry"));
            }
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map is out of date:\n{}", missing.join("\n"));
}

#[test]
fn the_code_map_parser_reads_entries_with_continuation_lines() {
    let text = "# A\n## Code map\n\n- `crates/x` — one `a.rs`,\n  two `b/`.\n- `crates/y/` — none.\n## Invariants\n- `crates/z` — no.\n";
    let map = code_map(text);
    let paths: Vec<_> = map.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["crates/x", "crates/y"]);
    assert!(map[0].1.contains("`b/`"));
}
