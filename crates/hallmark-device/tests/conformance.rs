//! The conformance kit against the simulated board on a real pseudo-terminal: the
//! reference agent passes every row it can be checked on, and each protocol-breaking
//! fault fails exactly the rows that check what it breaks.

use hallmark_device::conformance::{self, Options, Report, Verdict, CHECKS};
use hallmark_device::transport::{open_serial, PortName, DEFAULT_BAUD};
use hallmark_sim::{Board, BoardState, Fault, Pty};
use std::collections::BTreeSet;
use std::time::Duration;

/// Serves a fresh simulated board with `faults` on a pty and runs the kit on it.
async fn kit_against(faults: &[&str], state: BoardState) -> Result<Report, conformance::ConformanceError> {
    let faults: Vec<Fault> = faults.iter().map(|f| f.parse().expect("fault")).collect();
    let mut pty = Pty::open().expect("pty");
    let port = PortName::parse(pty.path.to_str().expect("pty path")).expect("port name");
    let mut board = Board::new(state, None, faults).expect("board");
    std::thread::spawn(move || board.serve(&mut pty.master));
    let link = open_serial(&port, DEFAULT_BAUD).expect("open the pty");
    let options = Options { quiet: Duration::from_millis(200), ..Options::default() };
    conformance::run(link, options).await
}

fn ids(report: &Report, verdict: Verdict) -> BTreeSet<&'static str> {
    report.rows.iter().filter(|r| r.verdict == verdict).map(|r| r.check.id).collect()
}

fn table(report: &Report) -> String {
    report.rows.iter().map(|r| format!("{:4} {} {}\n", r.check.id, r.verdict.as_str(), r.detail)).collect()
}

/// The rows the simulator skips: it offers the link and broker self-tests, which
/// the kit leaves to `hallmark provision`.
const SIM_SKIPS: [&str; 2] = ["T1", "T2"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_agent_passes_every_row() {
    let report = kit_against(&[], BoardState::fresh()).await.expect("kit runs");
    assert_eq!(report.rows.len(), CHECKS.len());
    assert!(report.passed(), "{}", table(&report));
    assert_eq!(ids(&report, Verdict::Skip), SIM_SKIPS.into_iter().collect(), "{}", table(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_without_tls_gets_its_unsupported_answers_checked() {
    let report = kit_against(&["no-tls"], BoardState::fresh()).await.expect("kit runs");
    assert!(report.passed(), "{}", table(&report));
    assert!(ids(&report, Verdict::Skip).is_empty(), "{}", table(&report));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_without_csr_binding_skips_only_the_challenge_row() {
    let report = kit_against(&["no-csr-binding"], BoardState::fresh()).await.expect("kit runs");
    assert!(report.passed(), "{}", table(&report));
    assert!(ids(&report, Verdict::Skip).contains("K7"), "{}", table(&report));
}

/// Each fault, and the rows it must fail (and no others).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_breaking_faults_fail_the_right_rows() {
    let cases: &[(&str, &[&str])] = &[
        // Retransmissions run again: a second chunk appended out of order, a second
        // key, a second signature.
        // (A deterministic ECDSA signature looks the same when signed twice: W11 passes.)
        ("no-replay-cache", &["R1", "K4", "S7"]),
        ("version-error-id-zero", &["S1", "S2", "S6", "R3"]),
        // Noise, a broken CRC and an oversized frame all end as a bad frame.
        ("answer-bad-frames", &["F4", "F5", "F6"]),
        // Claims nothing, yet runs the TLS and broker self-tests.
        ("no-capabilities", &["F2", "T1", "T2"]),
        // Everything after the key is skipped: there is no valid key to go on with.
        ("keygen-off-curve", &["K4"]),
        // The faulty CSR is served without regard to the session (S7) or its end (K6).
        ("csr-wrong-key", &["S7", "K5", "K6", "K7", "K8", "K9"]),
        // The stored certificate differs: read whole or by digest.
        ("readback-mismatch", &["W10", "D2", "W14"]),
        // A board of the first v1 release: the line-speed rows are skipped, none fails.
        ("legacy", &[]),
        ("selftest-wrong-key", &["W11"]),
        ("reject-install", &["W5", "W8"]),
    ];
    let mut wrong = Vec::new();
    for (fault, expected) in cases {
        let report = kit_against(&[fault], BoardState::fresh()).await.expect("kit runs");
        let failed = ids(&report, Verdict::Fail);
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        if failed != expected {
            wrong.push(format!("{fault}: failed {failed:?}, expected {expected:?}\n{}", table(&report)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_that_holds_an_identity_is_refused_before_anything_is_sent() {
    // Provision a board through the kit, then run the kit on its flash again.
    let dir = tempfile::tempdir().expect("tempdir");
    let state_path = dir.path().join("board.json");
    let state = BoardState::load_or_create(&state_path).expect("state");
    {
        let mut pty = Pty::open().expect("pty");
        let port = PortName::parse(pty.path.to_str().expect("pty path")).expect("port name");
        let mut board = Board::new(state, Some(state_path.clone()), Vec::new()).expect("board");
        std::thread::spawn(move || board.serve(&mut pty.master));
        let link = open_serial(&port, DEFAULT_BAUD).expect("open the pty");
        let report = conformance::run(link, Options::default()).await.expect("kit runs");
        assert!(report.passed(), "{}", table(&report));
    }
    let provisioned = BoardState::load_or_create(&state_path).expect("state");
    assert!(provisioned.identity().is_some(), "the kit leaves its test identity installed");
    let refused = kit_against(&[], provisioned).await.expect_err("a provisioned board is refused");
    assert!(refused.to_string().contains("erase"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_board_is_reported_as_not_answering() {
    let options = Options { answer: Duration::from_millis(300), ..Options::default() };
    let mut pty = Pty::open().expect("pty");
    let port = PortName::parse(pty.path.to_str().expect("pty path")).expect("port name");
    let mut board = Board::new(BoardState::fresh(), None, vec![Fault::Silent]).expect("board");
    std::thread::spawn(move || board.serve(&mut pty.master));
    let link = open_serial(&port, DEFAULT_BAUD).expect("open the pty");
    let err = conformance::run(link, options).await.expect_err("no Hello");
    assert!(err.to_string().contains("did not answer the first Hello"), "{err}");
}
