//! The issuing CA key in a real PKCS#11 token (SoftHSM2): initialise, issue, revoke,
//! publish the CRL — all verified by openssl — and the token's failure modes.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &str = "31415926";

/// A SoftHSM configuration with one initialised token in its own directory.
fn softhsm(dir: &Path, label: &str) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nlog.level = ERROR\n", tokens.display())).unwrap();
    run_ok(Command::new("softhsm2-util").env("SOFTHSM2_CONF", &conf).args([
        "--init-token",
        "--free",
        "--label",
        label,
        "--so-pin",
        "27182818",
        "--pin",
        PIN,
    ]));
    conf
}

#[test]
fn token_backed_ca_issues_revokes_and_publishes() {
    assert!(Path::new(MODULE).exists(), "SoftHSM2 is installed by scripts/setup.sh");
    let mut station = Station::new();
    let conf = softhsm(station.data_dir(), "hallmark");
    station.env =
        vec![("SOFTHSM2_CONF".into(), conf.display().to_string()), ("HALLMARK_PKCS11_PIN".into(), PIN.into())];
    let out = station.hallmark(&[
        "ca",
        "init",
        "--pkcs11-module",
        MODULE,
        "--token",
        "hallmark",
        "--key-label",
        "hallmark-issuing",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ca = station.data_dir().join("ca");
    assert!(!ca.join("issuing.key.pem").exists(), "no issuing key on disk");
    assert!(std::fs::read_to_string(ca.join("issuing.key.pkcs11.toml")).unwrap().contains("hallmark-issuing"));

    // Provisioning signs through the token; no CA passphrase is needed for that.
    station.env.push(("HALLMARK_CA_PASSPHRASE".into(), "not used: the key is in the token".into()));
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    let dir = station.data_dir();
    let blocks: Vec<String> =
        r["chain_pem"].as_str().unwrap().split_inclusive("-----END CERTIFICATE-----\n").map(str::to_string).collect();
    let (cert, issuing, root) = (dir.join("cert.pem"), dir.join("issuing.pem"), dir.join("root.pem"));
    std::fs::write(&cert, r["cert_pem"].as_str().unwrap()).unwrap();
    std::fs::write(&issuing, &blocks[0]).unwrap();
    std::fs::write(&root, &blocks[1]).unwrap();
    let verify = |crl: Option<&Path>| {
        let mut c = Command::new("openssl");
        c.args(["verify", "-x509_strict", "-CAfile"]).arg(&root).arg("-untrusted").arg(&issuing);
        if let Some(crl) = crl {
            c.arg("-crl_check").arg("-CRLfile").arg(crl);
        }
        c.arg(&cert).output().unwrap()
    };
    assert!(verify(None).status.success(), "token signature verifies with openssl");

    let out = station.hallmark(&["ca", "revoke", r["uid"].as_str().unwrap(), "--reason", "cessationOfOperation"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let refused = verify(Some(&ca.join("crl.pem")));
    assert!(!refused.status.success(), "the token-signed CRL revokes the certificate");
    let said = format!("{}{}", String::from_utf8_lossy(&refused.stdout), String::from_utf8_lossy(&refused.stderr));
    assert!(said.contains("certificate revoked"), "{said}");

    // Wrong PIN: a clear error, nothing issued.
    let issued_before = station.certificates_issued();
    station.env.retain(|(k, _)| k != "HALLMARK_PKCS11_PIN");
    station.env.push(("HALLMARK_PKCS11_PIN".into(), "00000000".into()));
    let sim2 = Sim::start(&station.board_state("b2"), &[]);
    let out = station.provision_output(&sim2.port, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("login failed"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(station.certificates_issued(), issued_before);

    // The token is gone (another token directory): a clear error too.
    let elsewhere = tempfile::tempdir().unwrap();
    let other = softhsm(elsewhere.path(), "some-other-token");
    station.env =
        vec![("SOFTHSM2_CONF".into(), other.display().to_string()), ("HALLMARK_PKCS11_PIN".into(), PIN.into())];
    let out = station.provision_output(&sim2.port, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no token labelled \"hallmark\""));
}
