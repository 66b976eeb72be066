//! The connection self-test: mutual TLS over the link by default, the possession
//! signature for boards without a TLS stack.

use crate::support::*;

#[test]
fn board_proves_its_identity_in_a_mutual_tls_handshake() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    let d = station.step_detail("selftest");
    assert_eq!(d["mode"], "link");
    assert_eq!(
        d["evidence"]["peer_fingerprint"], r["cert_fingerprint"],
        "the board presented exactly the new certificate"
    );
    assert!(d["evidence"]["cipher_suite"].as_str().unwrap().contains("TLSv1_3"));
    assert!(d["evidence"]["handshake_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn board_without_tls_falls_back_to_possession_unless_link_is_required() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("b"), &["no-tls"]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(station.step_detail("selftest")["mode"], "possession");

    let strict = station.config(&[("[selftest]\nmode = \"auto\"", "[selftest]\nmode = \"link\"")]);
    let sim = Sim::start(&station.board_state("c"), &["no-tls"]);
    let (code, r) = station.provision(&sim.port, &["--config", strict.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(r["failure"]["code"], "SELFTEST_FAILED");
    assert!(r["failure"]["message"].as_str().unwrap().contains("does not offer it"));
    assert_eq!(r["steps"].as_array().unwrap().last().unwrap()["name"], "identify", "refused before keygen: {r}");
    assert!(r["cert_serial"].is_null(), "nothing is issued for a board that cannot prove its identity: {r}");
}

#[test]
fn handshake_refused_when_the_key_does_not_match_the_certificate() {
    let station = Station::new();
    let sim = Sim::start(&station.board_state("b"), &["tls-wrong-key"]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["failure"]["code"], "SELFTEST_FAILED");
    let message = r["failure"]["message"].as_str().unwrap();
    assert!(message.contains("mutual-TLS handshake"), "{message}");
    assert!(message.contains("key does not match"), "{message}");
}
