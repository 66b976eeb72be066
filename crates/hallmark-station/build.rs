//! Records the git revision the station is built from (`hallmark --version --json`).
//! `HALLMARK_GIT_REVISION` wins (a build from a source tarball); otherwise git is
//! asked, and the build re-runs only when the checked-out commit changes.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=HALLMARK_GIT_REVISION");
    let revision = match std::env::var("HALLMARK_GIT_REVISION") {
        Ok(r) if !r.is_empty() => r,
        _ => {
            if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
                let dir = std::path::PathBuf::from(dir);
                let head = dir.join("HEAD");
                println!("cargo:rerun-if-changed={}", head.display());
                // HEAD names a branch: its ref file (or packed-refs) moves on commit.
                if let Ok(text) = std::fs::read_to_string(&head) {
                    if let Some(reference) = text.trim().strip_prefix("ref: ") {
                        let common = git(&["rev-parse", "--git-common-dir"]).map(std::path::PathBuf::from);
                        for base in [Some(dir.clone()), common].into_iter().flatten() {
                            let file = if base.is_absolute() {
                                base.join(reference)
                            } else {
                                std::env::current_dir().unwrap_or_default().join(base).join(reference)
                            };
                            if file.exists() {
                                println!("cargo:rerun-if-changed={}", file.display());
                            }
                        }
                    }
                }
            }
            git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".to_string())
        }
    };
    println!("cargo:rustc-env=HALLMARK_GIT_REVISION={revision}");
}
