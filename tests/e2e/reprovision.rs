//! Policy: a board that already has an identity (or whose UID already got a
//! certificate) is refused; a second identity is never created silently.

use crate::support::*;

#[test]
fn second_run_on_a_provisioned_board_is_refused() {
    let station = Station::new();
    let state = station.board_state("board");
    let sim = Sim::start(&state, &[]);
    let (code, first) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{first}");
    let installed = sim.state_json()["certificate"].clone();

    // Same simulator process, board still on the bench.
    let (code, second) = station.provision(&sim.port, &[]);
    assert_eq!(code, 1);
    assert_eq!(second["failure"]["code"], "ALREADY_PROVISIONED");
    assert_eq!(failed_step(&second), "identify");
    assert_eq!(second["uid"], first["uid"]);
    drop(sim);

    // Power-cycled board (new simulator process, same flash): still refused.
    let sim = Sim::start(&state, &[]);
    let (code, third) = station.provision(&sim.port, &[]);
    assert_eq!(code, 1);
    assert_eq!(third["failure"]["code"], "ALREADY_PROVISIONED");
    assert_eq!(sim.state_json()["certificate"], installed, "the board keeps its first identity");
    assert_eq!(station.certificates_issued(), 1, "exactly one certificate for this board");
}

#[test]
fn run_interrupted_after_signing_resumes_with_the_same_certificate() {
    let station = Station::new();
    let state = station.board_state("board");
    let serial = {
        let sim = Sim::start(&state, &["drop-after=csr"]);
        let (code, r) = station.provision(&sim.port, &["--response-timeout-ms", "400", "--attempts", "2"]);
        assert_eq!(code, 1);
        assert_eq!(r["failure"]["code"], "LINK_LOST");
        r["cert_serial"].as_str().unwrap().to_string()
    };
    assert_eq!(station.certificates_issued(), 1);
    let sim = Sim::start(&state, &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["plan"], "resume-install");
    assert_eq!(r["cert_serial"], serial.as_str(), "the certificate signed before the interruption is installed");
    assert!(!step_names(&r).contains(&"sign".to_string()), "nothing is signed again");
    assert_eq!(station.certificates_issued(), 1);
    assert!(!sim.state_json()["certificate"].is_null());
}

#[test]
fn run_interrupted_after_install_is_reverified_not_reissued() {
    let station = Station::new();
    let state = station.board_state("board");
    let serial = {
        let sim = Sim::start(&state, &["drop-after=install"]);
        let (code, r) = station.provision(&sim.port, &["--response-timeout-ms", "400", "--attempts", "2"]);
        assert_eq!((code, r["failure"]["code"].as_str()), (1, Some("LINK_LOST")));
        assert_eq!(failed_step(&r), "readback");
        r["cert_serial"].as_str().unwrap().to_string()
    };
    let sim = Sim::start(&state, &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["plan"], "reverify");
    assert_eq!(r["cert_serial"], serial.as_str());
    assert_eq!(step_names(&r), ["connect", "identify", "label-check", "readback", "selftest", "finish", "label"]);
    assert_eq!(station.certificates_issued(), 1);
    // Completed now: a further run is refused under the default policy.
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!((code, r["failure"]["code"].as_str()), (1, Some("ALREADY_PROVISIONED")));
}

#[test]
fn reissue_policy_revokes_the_old_certificate_as_superseded() {
    let station = Station::new();
    let config = station.config(&[("[reprovision]\npolicy = \"refuse\"", "[reprovision]\npolicy = \"reissue\"")]);
    let sim = Sim::start(&station.board_state("board"), &[]);
    let args = ["--config", config.to_str().unwrap()];
    let (code, first) = station.provision(&sim.port, &args);
    assert_eq!(code, 0, "{first}");
    let (code, second) = station.provision(&sim.port, &args);
    assert_eq!(code, 0, "{second}");
    assert_eq!(second["plan"], "reissue");
    assert_eq!(second["uid"], first["uid"], "a board keeps its UID");
    assert_ne!(second["cert_serial"], first["cert_serial"]);
    assert_eq!(second["revoked_serials"], serde_json::json!([first["cert_serial"]]));
    let reason: String = station
        .db()
        .query_row("SELECT reason FROM revocations WHERE serial = ?1", [first["cert_serial"].as_str().unwrap()], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(reason, "superseded");
    // The superseded certificate is on the CRL the run published.
    assert_eq!(second["crl_number"], 1);
    let crl = std::fs::read_to_string(station.data_dir().join("ca/crl.pem")).unwrap();
    let text = run_ok(std::process::Command::new("openssl").args(["crl", "-noout", "-text"]).stdin_str(&crl));
    assert!(
        text.contains(&first["cert_serial"].as_str().unwrap().to_uppercase()) && text.contains("Superseded"),
        "{text}"
    );
    assert_eq!(station.valid_certificates(first["uid"].as_str().unwrap()), 1, "exactly one valid certificate");
    let installed = sim.state_json()["certificate"].as_str().unwrap().to_string();
    let (_, pem) = x509_parser::pem::parse_x509_pem(second["cert_pem"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(installed, pem.contents.iter().map(|b| format!("{b:02x}")).collect::<String>());
}
