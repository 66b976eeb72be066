//! A factory's own PKI: an issuing CA signed by the customer's offline root is
//! imported; and a station-made root key is exported and removed.

use crate::support::*;
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(Command::new("openssl").current_dir(dir).args(args));
}

/// Customer root + issuing CA made with openssl, as a customer's PKI team would.
fn customer_pki(dir: &Path) {
    std::fs::write(
        dir.join("ext.cnf"),
        "[root]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n\
         [issuing]\nbasicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n[leafish]\nbasicConstraints=CA:false\n",
    )
    .unwrap();
    openssl(dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "root.key"]);
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-subj",
            "/O=Customer/CN=Customer Root",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:true",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "root.pem",
        ],
    );
    openssl(dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "issuing.key"]);
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "issuing.key",
            "-subj",
            "/O=Customer/CN=Customer Line 3 Issuing",
            "-out",
            "issuing.csr",
        ],
    );
    // The issuing CA, and the same request signed without CA rights.
    for (extensions, out) in [("issuing", "issuing.pem"), ("leafish", "not-a-ca.pem")] {
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "issuing.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-days",
                "1825",
                "-extfile",
                "ext.cnf",
                "-extensions",
                extensions,
                "-out",
                out,
            ],
        );
    }
    openssl(dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "other.key"]);
}

#[test]
fn imported_issuing_ca_signs_devices_that_chain_to_the_customer_root() {
    let station = Station::new();
    let pki = station.data_dir().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    customer_pki(&pki);
    let p = |f: &str| pki.join(f).display().to_string();

    // Refused: key of another CA, a certificate that is no CA, a chain that does not fit.
    for (cert, chain, key, why) in [
        ("issuing.pem", "root.pem", "other.key", "does not belong"),
        ("not-a-ca.pem", "root.pem", "issuing.key", "not a CA"),
        ("issuing.pem", "issuing.pem", "issuing.key", "is not signed by"),
    ] {
        let out = station.hallmark(&["ca", "import", "--cert", &p(cert), "--chain", &p(chain), "--key", &p(key)]);
        assert_eq!(out.status.code(), Some(2), "{why}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{why}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(!station.data_dir().join("ca/issuing.crt.pem").exists(), "nothing written for a refused import");
    }

    let out = station.hallmark(&[
        "ca",
        "import",
        "--cert",
        &p("issuing.pem"),
        "--chain",
        &p("root.pem"),
        "--key",
        &p("issuing.key"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stored_key = std::fs::read_to_string(station.data_dir().join("ca/issuing.key.pem")).unwrap();
    assert!(stored_key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"), "re-encrypted at rest");
    assert!(!station.data_dir().join("ca/root.key.pem").exists(), "the customer's root key never comes here");

    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    let cert = station.data_dir().join("device.pem");
    std::fs::write(&cert, r["cert_pem"].as_str().unwrap()).unwrap();
    let ok = Command::new("openssl")
        .args(["verify", "-x509_strict", "-CAfile", &p("root.pem"), "-untrusted", &p("issuing.pem")])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(r["chain_pem"].as_str().unwrap().ends_with(&std::fs::read_to_string(pki.join("root.pem")).unwrap()));
}

#[test]
fn root_key_can_leave_the_station() {
    let station = Station::new();
    assert!(station.hallmark(&["ca", "init"]).status.success());
    let out_key = station.data_dir().join("offline-root.key.pem");
    let out = station.hallmark(&["ca", "export-root-key", "--out", out_key.to_str().unwrap(), "--remove"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&out_key).unwrap().contains("ENCRYPTED PRIVATE KEY"));
    assert!(!station.data_dir().join("ca/root.key.pem").exists());
    // The station still provisions with the issuing CA alone.
    let sim = Sim::start(&station.board_state("b"), &[]);
    assert_eq!(station.provision(&sim.port, &[]).0, 0);
    let again = station.hallmark(&["ca", "export-root-key", "--out", out_key.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
}
