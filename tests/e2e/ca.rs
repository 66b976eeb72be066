//! The CA's revocation, CRL and broker hand-off, checked with openssl.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Provisions one board; returns its report and the files openssl needs.
fn provisioned(station: &Station) -> (serde_json::Value, PathBuf, PathBuf, PathBuf, Sim) {
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    let dir = station.data_dir();
    let chain = r["chain_pem"].as_str().unwrap();
    let blocks: Vec<&str> = chain.split_inclusive("-----END CERTIFICATE-----\n").collect();
    let (cert, issuing, root) = (dir.join("cert.pem"), dir.join("issuing.pem"), dir.join("root.pem"));
    std::fs::write(&cert, r["cert_pem"].as_str().unwrap()).unwrap();
    std::fs::write(&issuing, blocks[0]).unwrap();
    std::fs::write(&root, blocks[1]).unwrap();
    (r, cert, issuing, root, sim)
}

fn verify_with_crl(cert: &Path, issuing: &Path, root: &Path, crl: &Path) -> std::process::Output {
    Command::new("openssl")
        .args(["verify", "-crl_check", "-x509_strict", "-CAfile"])
        .arg(root)
        .arg("-untrusted")
        .arg(issuing)
        .arg("-CRLfile")
        .arg(crl)
        .arg(cert)
        .output()
        .unwrap()
}

#[test]
fn revocation_reaches_the_crl_and_openssl_refuses_the_certificate() {
    let station = Station::new();
    let (r, cert, issuing, root, _sim) = provisioned(&station);
    let uid = r["uid"].as_str().unwrap();
    let before = station.data_dir().join("before.pem");
    let out = station.hallmark(&["ca", "crl", "--out", before.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ok = verify_with_crl(&cert, &issuing, &root, &before);
    assert!(ok.status.success(), "valid before revocation: {}", String::from_utf8_lossy(&ok.stdout));

    let out = station.hallmark(&["ca", "revoke", uid, "--reason", "keyCompromise", "--actor", "qa-anna"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let crl = station.data_dir().join("ca/crl.pem");
    let refused = verify_with_crl(&cert, &issuing, &root, &crl);
    assert!(!refused.status.success());
    let said = format!("{}{}", String::from_utf8_lossy(&refused.stdout), String::from_utf8_lossy(&refused.stderr));
    assert!(said.contains("certificate revoked"), "{said}");
    let text = run_ok(Command::new("openssl").args(["crl", "-noout", "-text", "-in"]).arg(&crl));
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains(&r["cert_serial"].as_str().unwrap().to_uppercase()));
    assert!(text.contains("X509v3 CRL Number: \n                2"), "second CRL: {text}");

    // Nothing left to revoke; an unknown reason is refused.
    assert_eq!(station.hallmark(&["ca", "revoke", uid, "--reason", "keyCompromise"]).status.code(), Some(2));
    let bad = station.hallmark(&["ca", "revoke", uid, "--reason", "boredom"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("keyCompromise"));

    let show: serde_json::Value = serde_json::from_slice(&station.hallmark(&["ca", "show", "--json"]).stdout).unwrap();
    assert_eq!((show["certificates_issued"].as_u64(), show["certificates_revoked"].as_u64()), (Some(1), Some(1)));
    assert_eq!(show["crl"]["number"], 2);
    assert_eq!(show["issuing"]["sha256"].as_str().unwrap().len(), 64);

    // The revocation is in the audit chain, which detects tampering.
    let verify: serde_json::Value =
        serde_json::from_slice(&station.hallmark(&["log", "verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["audit_entries"], 3, "CRL #1, the revocation, CRL #2");
    let db = station.data_dir().join("hallmark-log.sqlite");
    run_ok(
        Command::new("sqlite3")
            .arg(&db)
            .arg("DROP TRIGGER audit_append_only_u; UPDATE audit SET actor = 'someone-else';"),
    );
    let verify = station.hallmark(&["log", "verify"]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("BROKEN at audit entry 1"));
}

#[test]
fn broker_config_writes_what_mosquitto_needs() {
    let station = Station::new();
    let (_r, cert, _issuing, _root, _sim) = provisioned(&station);
    let out_dir = station.data_dir().join("broker");
    let out = station.hallmark(&["ca", "broker-config", "--mosquitto", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let conf = std::fs::read_to_string(out_dir.join("hallmark-mosquitto.conf")).unwrap();
    for line in [
        "require_certificate true",
        "use_identity_as_username true",
        "use_username_as_clientid true",
        "set_tcp_nodelay true",
        "crlfile ",
    ] {
        assert!(conf.contains(line), "missing {line:?} in {conf}");
    }
    assert!(std::fs::read_to_string(out_dir.join("hallmark-acl")).unwrap().contains("pattern readwrite devices/%u/#"));
    // The CA file verifies our device certificate on its own.
    let ok = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(out_dir.join("hallmark-ca.pem"))
        .arg(&cert)
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    // The broker reads the CRL where the station re-writes it on every revocation.
    let crlfile = conf.lines().find_map(|l| l.strip_prefix("crlfile ")).unwrap();
    assert_eq!(Path::new(crlfile), station.data_dir().join("ca/crl.pem").canonicalize().unwrap());
    let crl = Command::new("openssl").args(["crl", "-noout", "-in", crlfile]).output().unwrap();
    assert!(crl.status.success());
    // The broker's own certificate is a server certificate for its names, its key
    // readable by its owner only.
    let server = Command::new("openssl")
        .args(["verify", "-purpose", "sslserver", "-verify_hostname", "localhost", "-CAfile"])
        .arg(out_dir.join("hallmark-ca.pem"))
        .arg(out_dir.join("hallmark-broker.crt.pem"))
        .output()
        .unwrap();
    assert!(server.status.success(), "{}", String::from_utf8_lossy(&server.stderr));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out_dir.join("hallmark-broker.key.pem")).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "broker key mode {mode:o}");
    assert!(std::fs::read_to_string(out_dir.join("hallmark-acl")).unwrap().contains("user hallmark-station.bench-1"));
}

#[test]
fn certificate_profile_comes_from_the_configuration() {
    let station = Station::new();
    let config = station.config(&[(
        "key_algorithms = [\"p256\"]                 # also \"p384\", \"ed25519\"",
        "key_algorithms = [\"p256\"]\nno_expiry = true\nsan_uri = \"urn:dev:hallmark:{uid}\"\norganization = \"Example GmbH\"",
    )]);
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}");
    let cert = station.data_dir().join("c.pem");
    std::fs::write(&cert, r["cert_pem"].as_str().unwrap()).unwrap();
    let text = run_ok(Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(&cert));
    let uid = r["uid"].as_str().unwrap();
    assert!(text.contains("Not After : Dec 31 23:59:59 9999 GMT"), "{text}");
    assert!(text.contains(&format!("URI:urn:dev:hallmark:{uid}")), "{text}");
    assert!(text.contains(&format!("O = Example GmbH, CN = {uid}")), "{text}");
}

#[test]
fn device_key_algorithm_outside_the_profile_is_refused_before_signing() {
    let station = Station::new();
    let config = station.config(&[("key_algorithms = [\"p256\"]", "key_algorithms = [\"p384\"]")]);
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(r["failure"]["code"], "CSR_ALGORITHM_REJECTED");
    assert_eq!(failed_step(&r), "csr");
    assert_eq!(station.certificates_issued(), 0);
}

#[test]
fn ca_show_warns_about_what_will_bite() {
    let station = Station::new();
    assert!(station.hallmark(&["ca", "init"]).status.success());
    let config = station.config(&[
        ("validity_days = 3650", "validity_days = 15000"),
        ("expiry_warning_days = 365", "expiry_warning_days = 10000"),
    ]);
    let out = station.hallmark(&["ca", "show", "--config", config.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("warning: the issuing CA expires on"), "{text}");
    assert!(text.contains("would outlive the issuing CA"), "{text}");
    assert!(text.contains("no CRL published yet"), "{text}");
    let quiet = station.hallmark(&["ca", "show"]);
    assert!(!String::from_utf8_lossy(&quiet.stdout).contains("warning:"), "defaults raise no warning");
}

#[test]
fn a_revocation_that_could_not_be_published_is_published_at_the_next_start() {
    let station = Station::new();
    let (r, cert, issuing, root, _sim) = provisioned(&station);
    let blocked = station.config(&[(
        "# path = \"/etc/mosquitto/hallmark-crl.pem\"   # default: <data dir>/ca/crl.pem",
        "path = \"/proc/hallmark-cannot-write-here/crl.pem\"",
    )]);
    let out = station.hallmark(&[
        "ca",
        "revoke",
        r["uid"].as_str().unwrap(),
        "--reason",
        "keyCompromise",
        "--config",
        blocked.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "publishing failed and says so");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the CRL"));
    assert!(!station.data_dir().join("ca/crl.pem").exists());
    // The revocation itself is recorded; the next station start publishes it.
    let sim = Sim::start(&station.board_state("next"), &[]);
    let out = station.provision_output(&sim.port, &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("published CRL #1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = verify_with_crl(&cert, &issuing, &root, &station.data_dir().join("ca/crl.pem"));
    assert!(!refused.status.success(), "the revoked certificate is on the CRL now");
}

/// Lifecycle (issue #18): certificates that end soon are listed; a device taken out of
/// service is revoked for cessationOfOperation, audited as a retirement, published in
/// the CRL (openssl refuses it) and no longer listed.
#[test]
fn expiring_certificates_are_listed_and_a_retired_device_is_revoked_for_cessation_of_operation() {
    let station = Station::new();
    let (r, cert, issuing, root, _sim) = provisioned(&station);
    let uid = r["uid"].as_str().unwrap();
    let list = |within: &str| -> (i32, serde_json::Value) {
        let out = station.hallmark(&["ca", "expiring", "--within", within, "--json"]);
        (out.status.code().unwrap_or(-1), serde_json::from_slice(&out.stdout).unwrap_or_default())
    };
    // The default profile issues for years: nothing ends within 90 days; everything
    // within 100 years.
    assert_eq!(list("90d"), (0, serde_json::json!([])));
    let (code, all) = list("5218w");
    assert_eq!(code, 0);
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!((&all[0]["uid"], &all[0]["serial"]), (&r["uid"], &r["cert_serial"]));
    assert_eq!(all[0]["expired"], false);
    assert!(all[0]["days_left"].as_i64().unwrap() > 90);
    let bad = station.hallmark(&["ca", "expiring", "--within", "3 months"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("12w"));

    let out = station.hallmark(&["ca", "retire", uid, "--actor", "service-desk"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cessationOfOperation"));
    let crl = station.data_dir().join("ca/crl.pem");
    assert!(!verify_with_crl(&cert, &issuing, &root, &crl).status.success(), "openssl refuses a retired device");
    let text = run_ok(Command::new("openssl").args(["crl", "-noout", "-text", "-in"]).arg(&crl));
    assert!(text.contains("Cessation Of Operation"), "{text}");
    assert_eq!(list("5218w"), (0, serde_json::json!([])), "a retired device's certificate no longer ends");
    let audited: Vec<(String, String)> = station
        .db()
        .prepare("SELECT action, actor FROM audit WHERE action IN ('retire', 'revoke') ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(String, String)> = [("retire", "service-desk"), ("revoke", "service-desk")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(audited, expected, "the retirement is audited before the revocation");
    // A device with nothing left to revoke: said, exit 2.
    assert_eq!(station.hallmark(&["ca", "retire", uid]).status.code(), Some(2));
}
