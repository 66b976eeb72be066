//! The log against a real SQLite file.

use hallmark_store::{
    CertificateRecord, EventRecord, Phase, RunEnd, RunFailure, RunFilter, RunStart, Store, StoreError, UidChoice,
};
use serde_json::json;

fn start(uuid: &str) -> RunStart {
    RunStart {
        run_uuid: uuid.into(),
        station: "bench-1".into(),
        port: "/dev/ttyUSB0".into(),
        operator: Some("op-7".into()),
        tool_version: "test".into(),
        slot: Some("A".into()),
        config_hash: Some("cfg".into()),
    }
}

fn pass_end(uid: &str) -> RunEnd {
    RunEnd { outcome: "PASS".into(), uid: Some(uid.into()), detail: json!({}), ..RunEnd::default() }
}

fn fail_end(uid: &str, step: &str, code: &str) -> RunEnd {
    RunEnd {
        outcome: "FAIL".into(),
        uid: Some(uid.into()),
        failing_step: Some(step.into()),
        failure_code: Some(code.into()),
        detail: json!({}),
        ..RunEnd::default()
    }
}

fn step<'a>(name: &'a str, outcome: &'a str, ms: i64) -> EventRecord<'a> {
    EventRecord { step: name, phase: Phase::End, outcome: Some(outcome), duration_us: Some(ms), detail: json!({}) }
}

#[test]
fn records_a_run_and_exports_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    let run = store.begin_run(&start("r1")).unwrap();
    store
        .append_event(
            run,
            &EventRecord {
                step: "hello",
                phase: Phase::End,
                outcome: Some("PASS"),
                duration_us: Some(3),
                detail: json!({"uid": "ABC", "model": "M"}),
            },
        )
        .unwrap();
    store
        .record_certificate(
            run,
            &CertificateRecord {
                uid: "ABC",
                serial: "01ff",
                fingerprint: "aa",
                not_before: "x",
                not_after: "y",
                pem: "PEM",
                csr: b"csr",
                key_sha256: "k-abc",
            },
        )
        .unwrap();
    store.end_run(run, &pass_end("ABC")).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!((r.outcome.as_str(), r.uid.as_deref(), r.cert_serial.as_deref()), ("PASS", Some("ABC"), Some("01ff")));
    assert_eq!(r.steps.len(), 1);
    let certs = store.certificates("ABC").unwrap();
    assert_eq!((certs[0].serial.as_str(), certs[0].run_outcome.as_deref()), ("01ff", Some("PASS")));
    assert!(r.to_csv().contains("hello:PASS:0.003"));
    assert_eq!(store.verify_chain().unwrap().first_broken_event, None);
}

#[test]
fn history_cannot_be_updated_or_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&start("r1")).unwrap();
    store.append_event(run, &step("hello", "PASS", 1)).unwrap();
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    for sql in
        ["UPDATE events SET outcome = 'PASS'", "DELETE FROM events", "UPDATE runs SET port = 'x'", "DELETE FROM runs"]
    {
        let err = raw.execute(sql, []).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
}

#[test]
fn verify_names_the_first_tampered_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    let store = Store::open(&path).unwrap();
    let run = store.begin_run(&start("r1")).unwrap();
    for i in 0..5 {
        store.append_event(run, &step("s", "PASS", i)).unwrap();
    }
    assert_eq!(store.verify_chain().unwrap().events, 6);
    drop(store);
    // A forger who drops the triggers and edits one row.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("DROP TRIGGER events_append_only_u; UPDATE events SET outcome = 'FAIL' WHERE id = 4;").unwrap();
    drop(raw);
    let report = Store::open_read_only(&path).unwrap().verify_chain().unwrap();
    assert_eq!(report.first_broken_event, Some(4));
}

#[test]
fn dead_process_runs_become_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    let store = Store::open(&path).unwrap();
    store.begin_run(&start("r-crashed")).unwrap();
    // The caller names the failure; the store records it as given.
    let record = serde_json::json!({ "code": "INTERRUPTED", "message": "Stopped. Run it again.", "what": "Stopped." });
    let failure = RunFailure { code: "INTERRUPTED", message: "Stopped. Run it again.", record: &record };
    // Our own pid counts as "not running it" at start-up recovery.
    let closed = store.recover_interrupted(&failure).unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].run_id, "r-crashed");
    assert_eq!(closed[0].uid, None, "the run never got to identify");
    assert_eq!((closed[0].slot.as_deref(), closed[0].port.as_str()), (Some("A"), "/dev/ttyUSB0"));
    assert_eq!(closed[0].step, None);
    let runs = store.runs().unwrap();
    assert_eq!(runs[0].outcome, "INTERRUPTED");
    assert_eq!(runs[0].failure, Some(json!({ "code": "INTERRUPTED", "message": "Stopped. Run it again." })));
    // The end event keeps the failure as the caller recorded it.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let end: String =
        raw.query_row("SELECT detail FROM events WHERE step = 'run' AND phase = 'end'", [], |r| r.get(0)).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&end).unwrap()["failure"], record);
    assert!(store.recover_interrupted(&failure).unwrap().is_empty(), "closed only once");
    assert_eq!(store.verify_chain().unwrap().first_broken_event, None);
}

#[test]
fn newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    match Store::open(&path) {
        Err(e @ StoreError::NewerSchema { .. }) => assert!(e.to_string().contains("update Hallmark")),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("a newer log must be refused"),
    }
}

#[test]
fn version_1_log_upgrades_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/log-v1.sqlite"), &path).unwrap();
    let store = Store::open(&path).unwrap();
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 7);
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 2, "both version-1 runs are still there");
    // What identification found is a row per run now, from the version-1 events.
    let identities: Vec<(Option<String>, Option<String>)> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT hardware_id, model FROM run_identity ORDER BY run_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(identities.len(), 2);
    assert_eq!(identities[0].0, runs[0].hardware_id);
    assert_eq!(identities[0].1, runs[0].model);
    // The key of the version-1 certificate is bound to its UID by the migration.
    let bound: Vec<(String, String)> = rusqlite::Connection::open(&path)
        .unwrap()
        .prepare("SELECT key_sha256, uid FROM public_keys")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(bound.len(), 1);
    assert_eq!(Some(&bound[0].1), runs[0].uid.as_ref());
    assert_eq!(store.key_owner(&bound[0].0).unwrap(), runs[0].uid);
    assert_eq!(runs[0].outcome, "PASS");
    assert!(runs[0].uid.is_some() && runs[0].cert_serial.is_some());
    assert_eq!(runs[1].outcome, "FAIL");
    assert_eq!(runs[1].failing_step.as_deref(), Some("csr"));
    assert_eq!(runs[1].failure.as_ref().unwrap()["code"], "CSR_KEY_MISMATCH");
    assert_eq!(store.verify_chain().unwrap().first_broken_event, None, "migration never touches history");
    // The version-1 board keeps its UID under the new schema.
    let hw = runs[0].hardware_id.clone().unwrap();
    let again = store.begin_run(&start("r-new")).unwrap();
    let assigned = store.assign_uid(again, &hw, "hardware-id", UidChoice::Fixed(hw.clone())).unwrap();
    assert!(assigned.existing);
}

#[test]
fn a_uid_is_never_given_to_two_boards() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    let run = store.begin_run(&start("r1")).unwrap();
    let a = store.assign_uid(run, "HW-A", "scanned", UidChoice::Fixed("U1".into())).unwrap();
    assert!(!a.existing);
    let taken = store.assign_uid(run, "HW-B", "scanned", UidChoice::Fixed("U1".into())).unwrap_err();
    assert!(matches!(taken, StoreError::UidTaken { .. }), "{taken}");
    let mismatch = store.assign_uid(run, "HW-A", "scanned", UidChoice::Fixed("U2".into())).unwrap_err();
    assert!(matches!(mismatch, StoreError::UidMismatch { .. }), "{mismatch}");
    drop(store);
    // Enforced by the database itself, not only by code.
    let raw = rusqlite::Connection::open(dir.path().join("log.sqlite")).unwrap();
    let err = raw
        .execute(
            "INSERT INTO uids (uid, hardware_id, scheme, run_id, assigned_at) VALUES ('U1', 'HW-C', 'x', 1, 'now')",
            [],
        )
        .unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
}

#[test]
fn sequence_counts_up_and_boards_keep_their_uid() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    let run = store.begin_run(&start("r1")).unwrap();
    let finish = |s: &str| format!("{s}X");
    let seq = || UidChoice::Sequence { stem: "HM-2611".into(), width: 3, finish: &finish, leased: false };
    let uids: Vec<String> =
        ["a", "b", "c"].iter().map(|hw| store.assign_uid(run, hw, "sequence", seq()).unwrap().uid).collect();
    assert_eq!(uids, ["HM-2611001X", "HM-2611002X", "HM-2611003X"]);
    let again = store.assign_uid(run, "b", "sequence", seq()).unwrap();
    assert_eq!((again.uid.as_str(), again.existing), ("HM-2611002X", true));
    let small = |s: &str| s.to_string();
    for hw in 0..9 {
        store
            .assign_uid(
                run,
                &format!("s{hw}"),
                "sequence",
                UidChoice::Sequence { stem: "Z".into(), width: 1, finish: &small, leased: false },
            )
            .unwrap();
    }
    let full = store.assign_uid(
        run,
        "s9",
        "sequence",
        UidChoice::Sequence { stem: "Z".into(), width: 1, finish: &small, leased: false },
    );
    assert!(matches!(full, Err(StoreError::SequenceExhausted { .. })));
}

#[test]
fn filters_statistics_and_onboarding() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    let cert = |run, uid: &str, serial: &str| {
        store
            .record_certificate(
                run,
                &CertificateRecord {
                    uid,
                    serial,
                    fingerprint: "f",
                    not_before: "a",
                    not_after: "b",
                    pem: "PEM",
                    csr: b"c",
                    key_sha256: &format!("k-{uid}"),
                },
            )
            .unwrap()
    };
    // D1 passes first time; D2 fails at csr, then passes; D3 fails at install twice.
    let r = store.begin_run(&start("1")).unwrap();
    cert(r, "D1", "s1");
    store.end_run(r, &pass_end("D1")).unwrap();
    let r = store.begin_run(&start("2")).unwrap();
    store.end_run(r, &fail_end("D2", "csr", "CSR_SIGNATURE_INVALID")).unwrap();
    let r = store.begin_run(&start("3")).unwrap();
    cert(r, "D2", "s2");
    store.end_run(r, &pass_end("D2")).unwrap();
    for n in ["4", "5"] {
        let r = store.begin_run(&start(n)).unwrap();
        store.end_run(r, &fail_end("D3", "install", "LINK_LOST")).unwrap();
    }
    let s = store.statistics(&RunFilter::default()).unwrap();
    assert_eq!((s.runs, s.passed, s.failed, s.devices, s.devices_passed, s.devices_first_pass), (5, 2, 3, 3, 2, 1));
    assert_eq!(s.yield_percent, 66.7);
    assert_eq!(s.first_pass_yield_percent, 33.3);
    assert_eq!(s.failures_by_step[0].step.as_deref(), Some("install"));
    assert_eq!(s.failures_by_step[0].count, 2);
    assert_eq!(s.failures_by_step.last().unwrap().cumulative_percent, 100.0);
    assert_eq!(s.throughput_per_hour.iter().map(|h| h.passed).sum::<u64>(), 2);

    let only = |f: RunFilter| {
        let mut ids = Vec::new();
        store.for_each_run(&f, None, |r| ids.push(r.run_id)).unwrap();
        ids
    };
    assert_eq!(only(RunFilter { failing_step: Some("install".into()), ..RunFilter::default() }), ["4", "5"]);
    assert_eq!(only(RunFilter { uid: Some("D2".into()), ..RunFilter::default() }), ["2", "3"]);
    assert_eq!(only(RunFilter { outcome: Some("PASS".into()), ..RunFilter::default() }), ["1", "3"]);
    assert_eq!(only(RunFilter { slot: Some("B".into()), ..RunFilter::default() }), Vec::<String>::new());
    assert_eq!(only(RunFilter { to: Some("2000-01-01".into()), ..RunFilter::default() }), Vec::<String>::new());

    store.record_revocation(hallmark_store::RevokedBy::Actor("qa-1"), "s1", "keyCompromise").unwrap();
    assert_eq!(store.revocations().unwrap()[0].uid, "D1");
    assert!(store.verify_chain().unwrap().intact());
    assert_eq!(store.verify_chain().unwrap().audit_entries, 1);
    let mut onboard = Vec::new();
    store.onboarding(&RunFilter::default(), |o| onboard.push(o.uid)).unwrap();
    assert_eq!(onboard, ["D2"], "revoked D1 and never-passed D3 are not onboarded");
}

#[test]
fn a_public_key_is_bound_to_one_uid() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    let cert = |run, uid: &str, serial: &str| {
        store.record_certificate(
            run,
            &CertificateRecord {
                uid,
                serial,
                fingerprint: serial,
                not_before: "a",
                not_after: "b",
                pem: "PEM",
                csr: b"c",
                key_sha256: "same-key",
            },
        )
    };
    let r1 = store.begin_run(&start("1")).unwrap();
    cert(r1, "A1", "s1").unwrap();
    // The same UID may be certified again for its key (reissue)...
    cert(r1, "A1", "s2").unwrap();
    // ...another UID never, and nothing of the refused certificate is kept.
    let r2 = store.begin_run(&start("2")).unwrap();
    let refused = cert(r2, "B2", "s3").unwrap_err();
    assert!(matches!(&refused, hallmark_store::StoreError::KeyBound { uid } if uid == "A1"), "{refused}");
    assert!(store.certificates("B2").unwrap().is_empty());
    assert_eq!(store.key_owner("same-key").unwrap().as_deref(), Some("A1"));
    assert_eq!(store.key_owner("other").unwrap(), None);
    // The binding is append-only, like the rest of the log.
    let conn = rusqlite::Connection::open(dir.path().join("log.sqlite")).unwrap();
    assert!(conn.execute("DELETE FROM public_keys", []).is_err());
    assert!(conn.execute("UPDATE public_keys SET uid = 'B2'", []).is_err());
}

/// A log written by the version-4 station (`log-v4.sqlite`: one PASS run, and one run
/// whose station was killed during key generation). Version 5 reads what
/// identification found from its own table, so the killed run is closed with its
/// board's UID and hardware id, and the export shows both runs as before.
#[test]
fn version_4_log_upgrades_and_its_killed_run_is_closed_with_its_board() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/log-v4.sqlite"), &path).unwrap();
    let store = Store::open(&path).unwrap();
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 7);
    let record = serde_json::json!({ "code": "INTERRUPTED", "message": "m." });
    let failure = RunFailure { code: "INTERRUPTED", message: "m.", record: &record };
    let closed = store.recover_interrupted(&failure).unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!(closed[0].uid.as_deref(), Some("3BC6BD16EA6E4BC8"));
    assert_eq!(closed[0].hardware_id.as_deref(), Some("3BC6BD16EA6E4BC8"));
    assert_eq!(closed[0].step.as_deref(), Some("keygen"));
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 2);
    let pass = runs.iter().find(|r| r.outcome == "PASS").unwrap();
    assert_eq!(pass.uid.as_deref(), Some("19E64CC81DB2C24B"));
    assert_eq!(pass.model.as_deref(), Some("HM-SIM-1"));
    assert!(pass.cert_serial.is_some());
    let steps: Vec<&str> = pass.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        steps,
        hallmark_store::Step::FRESH_RUN.map(hallmark_store::Step::as_str),
        "a fresh run's steps, in order"
    );

    let killed = runs.iter().find(|r| r.outcome == "INTERRUPTED").unwrap();
    assert_eq!(killed.uid.as_deref(), Some("3BC6BD16EA6E4BC8"));
    assert_eq!(killed.failing_step.as_deref(), Some("keygen"));
    // The label of the passing run is found through the step's typed name.
    let (run, label) = store.last_passed_step("19E64CC81DB2C24B", hallmark_store::Step::Label).unwrap().unwrap();
    assert_eq!(run, pass.run_id);
    match label.expect("the v4 label detail reads as a label event") {
        hallmark_store::StepEvent::Labelled(label) => assert_eq!(label.fields["uid"], "19E64CC81DB2C24B"),
        other => panic!("not a label event: {other:?}"),
    }
    assert_eq!(store.verify_chain().unwrap().first_broken_event, None, "migration never touches history");
}

#[test]
fn an_open_run_shows_its_board_from_the_identity_recorded_when_it_was_identified() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    let run = store.begin_run(&start("r-open")).unwrap();
    let identity = hallmark_store::Identity {
        uid: Some("HM-7".into()),
        hardware_id: Some("0A0B".into()),
        model: Some("M".into()),
        firmware_version: Some("1.2".into()),
        sbom: Some(serde_json::json!({ "sbom": "urn:x", "sha256": "00" })),
    };
    store.record_identity(run, &identity).unwrap();
    // A second record for the same run does not replace the first.
    store.record_identity(run, &hallmark_store::Identity { uid: Some("OTHER".into()), ..identity.clone() }).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs[0].uid.as_deref(), Some("HM-7"));
    assert_eq!(runs[0].firmware_version.as_deref(), Some("1.2"));
    assert_eq!(runs[0].sbom.as_ref().unwrap()["sbom"], "urn:x");
}
