//! The station as a Debian package (issue #18): `scripts/package.sh` packages the
//! binaries this test run built; the package is unpacked into a fresh root the way
//! dpkg installs it, and the installed `hallmark` runs the demo from there, finds its
//! SBOMs and names them by one hash.

use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_deb_installs_runs_the_demo_from_its_paths_and_carries_its_sbom() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_hallmark")).parent().unwrap().to_path_buf();
    assert!(
        bin_dir.join("hallmark-station").exists(),
        "the window's binary is not built in {}: run the whole workspace's tests (cargo test --workspace), or \
         cargo build -p hallmark-gui first",
        bin_dir.display()
    );
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(repo().join("scripts/package.sh"))
        .args(["--bin-dir", bin_dir.to_str().unwrap(), "--compression", "none"])
        .env("CARGO_TARGET_DIR", work.path().join("target"))
        .output()
        .unwrap();
    assert!(out.status.success(), "package.sh: {}", String::from_utf8_lossy(&out.stderr));
    let deb = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().lines().last().unwrap());
    assert!(deb.exists(), "{}", deb.display());

    // What dpkg reads: the control fields.
    let info = run_ok(Command::new("dpkg-deb").arg("-I").arg(&deb));
    assert!(info.contains("Package: hallmark"), "{info}");
    for dependency in ["libc6", "libwebkit2gtk-4.1-0", "libgtk-3-0"] {
        assert!(info.contains(dependency), "{dependency} not declared:\n{info}");
    }
    let listing = run_ok(Command::new("dpkg-deb").arg("-c").arg(&deb));
    for path in [
        "./usr/bin/hallmark",
        "./usr/bin/hallmark-station",
        "./usr/share/applications/hallmark-station.desktop",
        "./usr/share/icons/hicolor/64x64/apps/hallmark-station.png",
        "./usr/share/hallmark/label-templates/default-50x25.toml",
        "./usr/share/hallmark/station.example.toml",
        "./usr/lib/systemd/user/hallmark-run.service",
        "./usr/share/hallmark/sbom/hallmark.cdx.json",
        "./usr/share/hallmark/sbom/hallmark-station.cdx.json",
        "./usr/share/hallmark/sbom/hallmark-ui.cdx.json",
        "./usr/share/hallmark/sbom/SHA256SUMS",
    ] {
        assert!(listing.contains(path), "{path} not in the package:\n{listing}");
    }

    // Installed into a fresh root, as dpkg unpacks it.
    let root = work.path().join("root");
    run_ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root));
    let hallmark = root.join("usr/bin/hallmark");
    let sbom = root.join("usr/share/hallmark/sbom");
    run_ok(Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&sbom));
    for file in ["hallmark.cdx.json", "hallmark-station.cdx.json", "hallmark-ui.cdx.json"] {
        let bom: Value = serde_json::from_slice(&std::fs::read(sbom.join(file)).unwrap()).unwrap();
        assert_eq!(bom["bomFormat"], "CycloneDX", "{file}");
        assert!(bom["components"].as_array().is_some_and(|c| !c.is_empty()), "{file} lists no components");
    }
    let bom: Value = serde_json::from_slice(&std::fs::read(sbom.join("hallmark.cdx.json")).unwrap()).unwrap();
    let names: Vec<&str> = bom["components"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    for crate_name in ["rcgen", "rusqlite", "tokio-serial"] {
        assert!(names.contains(&crate_name), "{crate_name} missing from the CLI's SBOM");
    }

    // --version --json names the SBOM set by the hash of its SHA256SUMS.
    let out = Command::new(&hallmark).args(["--version", "--json"]).env_remove("HALLMARK_SBOM_DIR").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let version: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(version["git_revision"].as_str().unwrap().len(), 40, "{version}");
    let sums = run_ok(Command::new("sha256sum").arg(sbom.join("SHA256SUMS")));
    assert_eq!(version["sbom_sha256"].as_str().unwrap(), sums.split_whitespace().next().unwrap(), "{version}");
    assert_eq!(version["sbom"].as_array().unwrap().len(), 3);

    // The demo from the installed binary, with a data directory of its own.
    let data = work.path().join("data");
    let out = Command::new(&hallmark)
        .arg("demo")
        .env("HALLMARK_DATA_DIR", &data)
        .env("HALLMARK_CA_PASSPHRASE", "correct horse battery staple")
        .env_remove("HALLMARK_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "the installed demo failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("PASS"), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(data.join("hallmark-log.sqlite").exists());
}
