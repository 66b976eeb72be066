//! The fleet outbox against a real SQLite file: off by default, filled in the same
//! transaction as the rows it lists, gap-free, append-only.

use hallmark_store::{RunEnd, RunStart, Store, StoreError, UidChoice};
use serde_json::json;

fn start(uuid: &str) -> RunStart {
    RunStart {
        run_uuid: uuid.into(),
        station: "bench-1".into(),
        port: "/dev/ttyUSB0".into(),
        operator: Some("op-7".into()),
        tool_version: "test".into(),
        slot: Some("A".into()),
        config_hash: None,
    }
}

fn one_run(store: &Store, uuid: &str, hardware_id: &str, uid: &str) {
    let run = store.begin_run(&start(uuid)).unwrap();
    store.assign_uid(run, hardware_id, "scanned", UidChoice::Fixed(uid.into())).unwrap();
    store
        .end_run(run, &RunEnd { outcome: "PASS".into(), uid: Some(uid.into()), detail: json!({}), ..RunEnd::default() })
        .unwrap();
}

#[test]
fn without_a_fleet_nothing_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    one_run(&store, "r1", "HW-A", "U1");
    let state = store.outbox_state().unwrap();
    assert!(!state.enabled);
    assert_eq!(state.last_seq, 0);
    assert!(store.outbox_after(0, 100).unwrap().is_empty());
}

#[test]
fn enabling_lists_the_history_then_every_new_row_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    one_run(&store, "r1", "HW-A", "U1");
    store.enable_outbox().unwrap();
    store.enable_outbox().unwrap(); // idempotent: nothing listed twice
    let history = store.outbox_after(0, 1000).unwrap();
    let seqs: Vec<i64> = history.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=history.len() as i64).collect::<Vec<_>>(), "no gaps");
    assert_eq!(history[0].table, "runs", "referenced tables first");
    assert_eq!(history[0].body["run_uuid"], "r1");
    assert!(history.iter().any(|r| r.table == "uids" && r.body["uid"] == "U1" && r.body["hardware_id"] == "HW-A"));
    let events = history.iter().filter(|r| r.table == "events").count();
    assert!(events >= 2, "the run's start and end events");

    one_run(&store, "r2", "HW-B", "U2");
    let new = store.outbox_after(history.len() as i64, 1000).unwrap();
    assert_eq!(new[0].seq, history.len() as i64 + 1);
    assert_eq!(new[0].table, "runs");
    assert_eq!(new[0].body["run_uuid"], "r2");
    let tables: Vec<&str> = new.iter().map(|r| r.table.as_str()).collect();
    assert!(tables.contains(&"uids") && tables.contains(&"run_results"), "{tables:?}");
    // Event rows keep their chain hashes for the fleet to verify.
    let event = new.iter().find(|r| r.table == "events").unwrap();
    assert_eq!(event.body["hash"].as_str().unwrap().len(), 64, "{}", event.body);
    // Paging.
    let page = store.outbox_after(0, 3).unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(page[2].seq, 3);
}

#[test]
fn a_refused_write_lists_nothing_and_leaves_no_gap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
    store.enable_outbox().unwrap();
    one_run(&store, "r1", "HW-A", "U1");
    let before = store.outbox_state().unwrap().last_seq;
    let run = store.begin_run(&start("r2")).unwrap();
    let taken = store.assign_uid(run, "HW-B", "scanned", UidChoice::Fixed("U1".into())).unwrap_err();
    assert!(matches!(taken, StoreError::UidTaken { .. }));
    let after = store.outbox_after(before, 100).unwrap();
    assert!(after.iter().all(|r| !(r.table == "uids" && r.body["hardware_id"] == "HW-B")));
    let seqs: Vec<i64> = after.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (before + 1..=before + after.len() as i64).collect::<Vec<_>>());
}

#[test]
fn acknowledgements_only_move_forward_and_the_outbox_is_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    let store = Store::open(&path).unwrap();
    store.enable_outbox().unwrap();
    one_run(&store, "r1", "HW-A", "U1");
    let last = store.outbox_state().unwrap().last_seq;
    assert_eq!(store.outbox_state().unwrap().waiting(), last);
    store.acknowledge_outbox(3).unwrap();
    store.acknowledge_outbox(2).unwrap(); // a late, older acknowledgement changes nothing
    let state = store.outbox_state().unwrap();
    assert_eq!(state.acknowledged, 3);
    assert_eq!(state.waiting(), last - 3);
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    for sql in ["UPDATE outbox SET tbl = 'x'", "DELETE FROM outbox", "DELETE FROM outbox_acks"] {
        let err = raw.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}
