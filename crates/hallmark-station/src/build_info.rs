//! What this station is: its version, the commit it was built from, and the software
//! bill of materials shipped beside it (`hallmark --version --json`, issue #18).
//!
//! The SBOMs (CycloneDX JSON, one per shipped program and one for the window's npm
//! packages) are installed in `<prefix>/share/hallmark/sbom/` next to `<prefix>/bin`,
//! with a `SHA256SUMS` of them; `sbom_sha256` is the SHA-256 of that list, so one hash
//! names the whole set. A build that was not packaged has none and says so.

use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One SBOM file.
#[derive(Clone, Debug, Serialize)]
pub struct SbomFile {
    /// File name.
    pub file: String,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// The station's identity as software.
#[derive(Clone, Debug, Serialize)]
pub struct BuildInfo {
    /// Hallmark's version.
    pub version: &'static str,
    /// The git commit it was built from (`unknown` outside a checkout).
    pub git_revision: &'static str,
    /// Where the SBOMs were looked for.
    pub sbom_dir: Option<PathBuf>,
    /// The SBOM files found there, by name.
    pub sbom: Vec<SbomFile>,
    /// SHA-256 of the `SHA256SUMS`-style list of them; `None` without SBOMs.
    pub sbom_sha256: Option<String>,
}

impl BuildInfo {
    /// This program's build facts, with the SBOMs installed beside `exe` (or in
    /// `$HALLMARK_SBOM_DIR`).
    pub fn current(exe: Option<&Path>) -> BuildInfo {
        let dir = std::env::var_os("HALLMARK_SBOM_DIR")
            .map(PathBuf::from)
            .or_else(|| exe.and_then(Path::parent).map(|bin| bin.join("../share/hallmark/sbom")));
        let sbom = dir.as_deref().map(sbom_files).unwrap_or_default();
        let sbom_sha256 = (!sbom.is_empty()).then(|| hex::encode(Sha256::digest(sums(&sbom).as_bytes())));
        BuildInfo {
            version: crate::VERSION,
            git_revision: env!("HALLMARK_GIT_REVISION"),
            sbom_dir: dir.filter(|d| d.is_dir()).map(|d| d.canonicalize().unwrap_or(d)),
            sbom,
            sbom_sha256,
        }
    }
}

/// `sha256sum` lines for `files` (what `SHA256SUMS` holds).
pub fn sums(files: &[SbomFile]) -> String {
    files.iter().map(|f| format!("{}  {}\n", f.sha256, f.file)).collect()
}

/// Every `*.cdx.json` in `dir`, by name.
fn sbom_files(dir: &Path) -> Vec<SbomFile> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<SbomFile> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".cdx.json"))
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            Some(SbomFile {
                file: e.file_name().to_string_lossy().to_string(),
                sha256: hex::encode(Sha256::digest(&bytes)),
            })
        })
        .collect();
    files.sort_by(|a, b| a.file.cmp(&b.file));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sbom_hash_names_the_set_of_files() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        let sbom = dir.path().join("share/hallmark/sbom");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&sbom).unwrap();
        let none = BuildInfo::current(Some(&bin.join("hallmark")));
        assert!(none.sbom.is_empty() && none.sbom_sha256.is_none());
        std::fs::write(sbom.join("b.cdx.json"), b"{\"bomFormat\":\"CycloneDX\"}").unwrap();
        std::fs::write(sbom.join("a.cdx.json"), b"{}").unwrap();
        std::fs::write(sbom.join("notes.txt"), b"not an SBOM").unwrap();
        let info = BuildInfo::current(Some(&bin.join("hallmark")));
        let names: Vec<&str> = info.sbom.iter().map(|f| f.file.as_str()).collect();
        assert_eq!(names, ["a.cdx.json", "b.cdx.json"]);
        let first = info.sbom_sha256.clone().unwrap();
        std::fs::write(sbom.join("b.cdx.json"), b"{\"bomFormat\":\"CycloneDX\",\"x\":1}").unwrap();
        assert_ne!(BuildInfo::current(Some(&bin.join("hallmark"))).sbom_sha256.unwrap(), first, "an edit changes it");
        assert!(!info.git_revision.is_empty());
    }
}
