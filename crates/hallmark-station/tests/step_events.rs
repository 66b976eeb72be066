//! The run record's step details, written by real runs in process: each reads back
//! through `StepEvent::parse` as its step's event, writes out as it was stored, and
//! has exactly the keys the pipeline wrote before the details were typed.

mod harness;

use hallmark_station::report::{Outcome, RunReport};
use hallmark_store::{Step, StepEvent, Store};
use harness::{board, paused_runtime, Bench};
use std::collections::BTreeSet;

/// The keys of each step's `PASS` detail in a fresh Hallmark v1 run over a link the
/// caller opened, as the `json!` literals wrote them.
const FRESH_KEYS: &[(&str, &[&str])] = &[
    ("connect", &["port", "link", "dialect"]),
    (
        "identify",
        &[
            "uid",
            "hardware_id",
            "model",
            "firmware_version",
            "sbom",
            "dialect",
            "csr_binding",
            "has_key",
            "installed_fingerprint",
            "plan",
            // Hallmark v1's own facts.
            "protocol_version",
            "capabilities",
        ],
    ),
    ("label-check", &["template"]),
    ("keygen", &["public_key", "replaced_key"]),
    ("csr", &["csr_sha256", "csr_len", "bound", "key_sha256"]),
    ("sign", &["serial", "fingerprint", "not_after", "superseded"]),
    // Issue #19 added what the line carried: objects the board held were not sent,
    // requests in bursts of the window, whether a burst lost an answer.
    (
        "install",
        &[
            "serial",
            "certificate_len",
            "chain_len",
            "trust_anchor_len",
            "chain_sent",
            "trust_anchor_sent",
            "requests",
            "window",
            "burst_lost_answer",
        ],
    ),
    // ... and how the read-back compared (the board's digests, or the bytes).
    ("readback", &["certificate_sha256", "chain_sha256", "trust_anchor_sha256", "compared"]),
    ("selftest", &["mode", "evidence"]),
    ("finish", &["link"]),
    ("label", &["path", "sha256", "template", "fields", "print"]),
];

/// Every step `end` event of the run, parsed, after checking it writes out as stored.
fn step_ends(store: &Store, report: &RunReport) -> Vec<(Step, serde_json::Value, StepEvent)> {
    let mut out = Vec::new();
    for (step, phase, _, _, detail) in store.run_events(&report.run_id).expect("events") {
        let Some(step) = Step::parse(&step) else { continue };
        if phase != "end" {
            continue;
        }
        let event = StepEvent::parse(step, &detail).unwrap_or_else(|e| panic!("{e}: {detail}"));
        assert_eq!(event.step(), step);
        assert_eq!(event.to_detail().expect("serialises"), detail, "{step}: read back and written out");
        out.push((step, detail, event));
    }
    out
}

#[test]
fn a_fresh_runs_details_have_the_keys_they_always_had() {
    let bench = Bench::new();
    let store = bench.store();
    let report = paused_runtime().block_on(bench.run(&store, &mut board(&[]), None)).expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
    let ends = step_ends(&store, &report);
    assert_eq!(ends.len(), FRESH_KEYS.len());
    for ((step, detail, _), (name, keys)) in ends.iter().zip(FRESH_KEYS) {
        assert_eq!(step.as_str(), *name);
        let found: BTreeSet<&str> = detail.as_object().expect("an object").keys().map(String::as_str).collect();
        let expected: BTreeSet<&str> = keys.iter().copied().collect();
        assert_eq!(found, expected, "{step}");
    }
    // What readers want comes typed.
    let Some((_, _, StepEvent::Identified(identified))) = ends.iter().find(|e| e.0 == Step::Identify) else {
        panic!("no identify event")
    };
    assert_eq!(Some(identified.uid.as_str()), report.uid.as_deref());
    assert_eq!(identified.plan, hallmark_store::PlanRecord::Fresh { supersede: vec![] });
    let Some((_, _, StepEvent::Labelled(label))) = ends.iter().find(|e| e.0 == Step::Label) else {
        panic!("no label event")
    };
    assert_eq!(label.fields.get("uid"), report.uid.as_ref());
}

#[test]
fn a_failed_step_records_its_failure_and_nothing_else() {
    let bench = Bench::new();
    let store = bench.store();
    let report = paused_runtime().block_on(bench.run(&store, &mut board(&["csr-wrong-key"]), None)).expect("run");
    assert_eq!(report.outcome, Outcome::Fail);
    let (step, detail, event) = step_ends(&store, &report).pop().expect("a step ended");
    assert_eq!(step, Step::Csr);
    assert_eq!(detail.as_object().map(|o| o.len()), Some(1), "{detail}");
    let StepEvent::Failed { failure, .. } = event else { panic!("not a failure: {event:?}") };
    assert_eq!(failure["code"], "CSR_KEY_MISMATCH");
    assert!(failure["what"].is_string() && failure["todo"].is_string(), "{failure}");
}

#[test]
fn a_p256_board_passes_the_possession_self_test_and_its_nonce_is_recorded() {
    let mut bench = Bench::new();
    bench.configure(|t| t.replace("\nmode = \"auto\"", "\nmode = \"possession\""));
    let store = bench.store();
    let report = paused_runtime().block_on(bench.run(&store, &mut board(&[]), None)).expect("run");
    assert_eq!(report.outcome, Outcome::Pass, "{:?}", report.failure);
    let ends = step_ends(&store, &report);
    let Some((_, detail, StepEvent::SelfTested(selftest))) = ends.iter().find(|e| e.0 == Step::Selftest) else {
        panic!("no selftest event")
    };
    let hallmark_store::SelfTested::Possession { nonce } = selftest else { panic!("not possession: {detail}") };
    assert_eq!(nonce.len(), 64, "the 32-byte nonce in hex: {detail}");
}
