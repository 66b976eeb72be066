//! The log against a real SQLite file.

use hallmark_store::{CertificateRecord, EventRecord, Phase, RunStart, Store, StoreError};
use serde_json::json;

fn start(uuid: &str) -> RunStart {
    RunStart {
        run_uuid: uuid.into(),
        station: "bench-1".into(),
        port: "/dev/ttyUSB0".into(),
        operator: Some("op-7".into()),
        tool_version: "test".into(),
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
            },
        )
        .unwrap();
    store
        .append_event(
            run,
            &EventRecord {
                step: "run",
                phase: Phase::End,
                outcome: Some("PASS"),
                duration_us: Some(9),
                detail: json!({"outcome": "PASS", "failure": null}),
            },
        )
        .unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!((r.outcome.as_str(), r.uid.as_deref(), r.cert_serial.as_deref()), ("PASS", Some("ABC"), Some("01ff")));
    assert_eq!(r.steps.len(), 1);
    assert_eq!(store.certificates_for_uid("ABC").unwrap(), vec![("01ff".to_string(), "aa".to_string())]);
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
    // Our own pid counts as "not running it" at start-up recovery.
    let closed = store.recover_interrupted().unwrap();
    assert_eq!(closed, vec!["r-crashed".to_string()]);
    let runs = store.runs().unwrap();
    assert_eq!(runs[0].outcome, "INTERRUPTED");
    assert_eq!(runs[0].failure.as_ref().unwrap()["code"], "INTERRUPTED");
    assert!(store.recover_interrupted().unwrap().is_empty(), "closed only once");
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
