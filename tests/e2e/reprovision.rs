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
fn interrupted_run_after_signing_never_issues_a_second_certificate() {
    let station = Station::new();
    let state = station.board_state("board");
    {
        let sim = Sim::start(&state, &["drop-after=csr"]);
        let (code, r) = station.provision(&sim.port, &["--response-timeout-ms", "400", "--attempts", "2"]);
        assert_eq!(code, 1);
        assert_eq!(r["failure"]["code"], "LINK_LOST");
    }
    assert_eq!(station.certificates_issued(), 1);
    let sim = Sim::start(&state, &[]);
    let (code, r) = station.provision(&sim.port, &[]);
    assert_eq!(code, 1);
    assert_eq!(r["failure"]["code"], "ALREADY_PROVISIONED");
    assert!(r["failure"]["message"].as_str().unwrap().contains("already issued"));
    assert_eq!(station.certificates_issued(), 1);
    assert!(sim.state_json()["certificate"].is_null());
}
