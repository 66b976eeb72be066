//! The fleet store against a real PostgreSQL started by the test (tests/support):
//! schema and version check, ordered idempotent pushes, gaps, fleet-wide conflicts,
//! the station role's rights, outages and a server that stops answering, TLS.

mod support;

use hallmark_fleet::{Fleet, FleetError, FleetOptions, OutboxRecord, SCHEMA_VERSION};
use hallmark_store::{CertificateRecord, EventRecord, Phase, RunEnd, RunStart, Store, UidChoice};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{TestPostgres, SUPERUSER};

macro_rules! server {
    ($name:expr) => {
        match TestPostgres::start($name) {
            Some(pg) => pg,
            None => return,
        }
    };
}

/// A fresh database with the fleet schema, and the superuser's fleet connection.
fn fleet_db(pg: &TestPostgres, db: &str) -> Fleet {
    pg.create_database(db);
    let mut fleet = Fleet::connect(&pg.url(SUPERUSER, db), Some(pg.password())).expect("connect as superuser");
    fleet.init().expect("init");
    fleet
}

/// A plain connection as `role` (not through the code under test): what a station's
/// login may do on the server itself.
fn login(pg: &TestPostgres, db: &str, role: &str, password: &str) -> postgres::Client {
    postgres::Config::new()
        .host("127.0.0.1")
        .port(pg.port())
        .user(role)
        .password(password)
        .dbname(db)
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("{role} logs in to {db}: {e}"))
}

fn count(pg: &TestPostgres, db: &str, sql: &str) -> i64 {
    pg.admin(db).query_one(sql, &[]).expect(sql).get(0)
}

/// A real station log: `runs` boards provisioned through the real store with the
/// outbox on, each with its identification (dialect), UID, certificate and result.
fn station_log(dir: &std::path::Path, station: &str, runs: usize) -> Vec<OutboxRecord> {
    let store = Store::open(&dir.join(format!("{station}.sqlite"))).expect("open log");
    store.enable_outbox().expect("enable outbox");
    for i in 0..runs {
        let run = store
            .begin_run(&RunStart {
                run_uuid: format!("{station}-run-{i}"),
                station: station.into(),
                port: "/dev/ttyUSB0".into(),
                operator: Some("op-7".into()),
                tool_version: "test".into(),
                slot: Some("A".into()),
                config_hash: None,
            })
            .expect("begin run");
        let hardware_id = format!("{station}-HW-{i:05}");
        let uid = format!("{station}-U{i:05}");
        store
            .append_event(
                run,
                &EventRecord {
                    step: "identify",
                    phase: Phase::End,
                    outcome: Some("PASS"),
                    duration_us: Some(10),
                    detail: json!({"hardware_id": hardware_id, "model": "M1", "dialect": "hallmark-v1"}),
                },
            )
            .expect("identify");
        store.assign_uid(run, &hardware_id, "scanned", UidChoice::Fixed(uid.clone())).expect("assign uid");
        let serial = format!("{station}-serial-{i}");
        let fingerprint = format!("{station}-fp-{i}");
        let key = format!("{station}-key-{i}");
        store
            .record_certificate(
                run,
                &CertificateRecord {
                    uid: &uid,
                    serial: &serial,
                    fingerprint: &fingerprint,
                    not_before: "2026-01-01T00:00:00Z",
                    not_after: "2036-01-01T00:00:00Z",
                    pem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
                    csr: &[0x30, 0x00],
                    key_sha256: &key,
                },
            )
            .expect("certificate");
        store
            .end_run(
                run,
                &RunEnd {
                    outcome: "PASS".into(),
                    uid: Some(uid.clone()),
                    hardware_id: Some(hardware_id.clone()),
                    model: Some("M1".into()),
                    detail: json!({}),
                    ..RunEnd::default()
                },
            )
            .expect("end run");
    }
    let records = store.outbox_after(0, 1_000_000).expect("outbox");
    assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as i64 + 1), "the store numbers without gaps");
    records
}

/// Hand-made records of one station, numbered from `first`.
fn numbered(first: i64, rows: Vec<(&str, i64, Value)>) -> Vec<OutboxRecord> {
    rows.into_iter()
        .enumerate()
        .map(|(i, (table, row_id, body))| OutboxRecord { seq: first + i as i64, table: table.into(), row_id, body })
        .collect()
}

/// One board's identification, UID and certificate, as a station's log lists them.
fn claim(run: i64, dialect: &str, uid: &str, hardware_id: &str, serial: &str) -> Vec<(&'static str, i64, Value)> {
    let detail = json!({"hardware_id": hardware_id, "dialect": dialect}).to_string();
    vec![
        ("runs", run, json!({"id": run, "run_uuid": format!("{uid}-{run}"), "started_at": "2026-12-01T10:00:00Z"})),
        (
            "events",
            run * 10,
            json!({"id": run * 10, "run_id": run, "step": "identify", "phase": "end", "detail": detail}),
        ),
        (
            "uids",
            run,
            json!({"uid": uid, "hardware_id": hardware_id, "scheme": "sequence", "run_id": run, "assigned_at": "2026-12-01T10:00:01Z"}),
        ),
        (
            "certificates",
            run,
            json!({"id": run, "run_id": run, "uid": uid, "serial": serial, "fingerprint": format!("fp-{serial}")}),
        ),
    ]
}

#[test]
fn init_twice_is_idempotent_reports_the_version_and_a_newer_schema_is_refused() {
    let pg = server!("init_twice");
    pg.create_database("fleet");
    let mut fleet = Fleet::connect(&pg.url(SUPERUSER, "fleet"), Some(pg.password())).unwrap();
    let status = fleet.status("bench-1");
    assert!(status.connected);
    assert_eq!(status.schema_version, None);
    assert!(status.error.as_deref().unwrap_or("").contains("hallmark fleet init"), "{status:?}");
    assert!(matches!(fleet.push("bench-1", &numbered(1, vec![("runs", 1, json!({}))])), Err(FleetError::NoSchema)));

    let first = fleet.init().unwrap();
    assert_eq!((first.from_version, first.version), (0, SCHEMA_VERSION));
    let again = fleet.init().unwrap();
    assert_eq!((again.from_version, again.version), (SCHEMA_VERSION, SCHEMA_VERSION));
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_schema"), SCHEMA_VERSION as i64);
    let status = fleet.status("bench-1");
    assert_eq!(status.schema_version, Some(SCHEMA_VERSION));
    assert_eq!((status.high_water, status.stations, status.open_conflicts), (Some(0), Some(0), Some(0)));
    assert_eq!(status.error, None);
    let json = serde_json::to_value(&status).unwrap();
    assert_eq!(json["schema_version"], SCHEMA_VERSION);
    assert_eq!(json["connected"], true);

    // A database a newer Hallmark upgraded: refused in words, by init, push and status.
    pg.admin("fleet")
        .execute("INSERT INTO hallmark.fleet_schema (version, tool_version) VALUES (99, 'future')", &[])
        .unwrap();
    let e = fleet.init().unwrap_err();
    assert!(matches!(e, FleetError::SchemaTooNew { found: 99, .. }), "{e}");
    assert!(e.to_string().contains("update Hallmark"), "{e}");
    let mut fresh = Fleet::connect(&pg.url(SUPERUSER, "fleet"), Some(pg.password())).unwrap();
    let e = fresh.push("bench-1", &numbered(1, vec![("runs", 1, json!({}))])).unwrap_err();
    assert!(matches!(e, FleetError::SchemaTooNew { .. }), "{e}");
    assert!(fresh.status("bench-1").error.unwrap_or_default().contains("newer than this Hallmark"));
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), 0);
}

#[test]
fn a_thousand_records_in_batches_then_a_retry_changes_nothing() {
    let pg = server!("thousand_records");
    let mut fleet = fleet_db(&pg, "fleet");
    let dir = tempfile::tempdir().unwrap();
    let mut records = station_log(dir.path(), "bench-1", 120);
    assert!(records.len() >= 1000, "{} records", records.len());
    records.truncate(1000);
    let uids = records.iter().filter(|r| r.table == "uids").count() as i64;
    let certificates = records.iter().filter(|r| r.table == "certificates").count() as i64;

    assert_eq!(fleet.high_water("bench-1").unwrap(), 0);
    let started = Instant::now();
    for batch in records.chunks(100) {
        let report = fleet.push("bench-1", batch).unwrap();
        assert_eq!(report.inserted, batch.len() as u64);
        assert_eq!(report.already_held, 0);
        assert_eq!(report.high_water, batch[batch.len() - 1].seq);
        assert!(report.conflicts.is_empty(), "{:?}", report.conflicts);
        assert_eq!(fleet.high_water("bench-1").unwrap(), report.high_water);
    }
    eprintln!("pushed 1,000 records in batches of 100 in {:?}", started.elapsed());

    // Every batch again (a sync that lost its acknowledgements), then one that
    // overlaps the end: nothing new, nothing doubled, no alarm.
    for batch in records.chunks(250) {
        let report = fleet.push("bench-1", batch).unwrap();
        assert_eq!((report.inserted, report.already_held), (0, batch.len() as u64));
        assert!(report.conflicts.is_empty());
    }
    let tail = &records[990..];
    let report = fleet.push("bench-1", tail).unwrap();
    assert_eq!((report.inserted, report.high_water), (0, 1000));

    assert_eq!(fleet.high_water("bench-1").unwrap(), 1000);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), 1000);
    assert_eq!(count(&pg, "fleet", "SELECT count(DISTINCT seq) FROM hallmark.records WHERE station = 'bench-1'"), 1000);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_uids"), uids);
    assert_eq!(
        count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_hardware_ids WHERE dialect = 'hallmark-v1'"),
        uids
    );
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_certificates"), certificates);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_conflicts"), 0);
    assert_eq!(
        count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_runs WHERE outcome = 'PASS' AND uid IS NOT NULL"),
        { records.iter().filter(|r| r.table == "run_results").count() as i64 }
    );
    // The bodies arrive as the store wrote them (hash chain fields included).
    let stored: Value = pg
        .admin("fleet")
        .query_one("SELECT body FROM hallmark.records WHERE station = 'bench-1' AND seq = $1", &[&records[5].seq])
        .unwrap()
        .get(0);
    assert_eq!(stored, records[5].body);
    let status = fleet.status("bench-1");
    assert_eq!((status.high_water, status.stations, status.open_conflicts), (Some(1000), Some(1), Some(0)));

    // The same numbers with other content: the station's log was replaced.
    let mut forged = records[10..12].to_vec();
    forged[1].body["outcome"] = json!("FORGED");
    let e = fleet.push("bench-1", &forged).unwrap_err();
    assert!(matches!(e, FleetError::Diverged { seq, .. } if seq == records[11].seq), "{e}");
    assert!(e.to_string().contains("replaced or reset"), "{e}");
}

#[test]
fn a_gap_is_refused_in_words() {
    let pg = server!("gap");
    let mut fleet = fleet_db(&pg, "fleet");
    let rows = |n: i64| (0..n).map(|i| ("audit", i + 1, json!({"id": i + 1}))).collect::<Vec<_>>();
    let e = fleet.push("bench-1", &numbered(2, rows(3))).unwrap_err();
    assert!(matches!(e, FleetError::Gap { high_water: 0, first: 2, .. }), "{e}");
    assert!(e.to_string().contains("record 1 is missing; send from 1 on"), "{e}");
    fleet.push("bench-1", &numbered(1, rows(10))).unwrap();
    let e = fleet.push("bench-1", &numbered(15, rows(3))).unwrap_err();
    assert!(e.to_string().contains("records 11 to 14 are missing; send from 11 on"), "{e}");
    assert_eq!(fleet.high_water("bench-1").unwrap(), 10);
    // Another station's numbers are its own.
    assert_eq!(fleet.push("bench-2", &numbered(1, rows(2))).unwrap().high_water, 2);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), 12);
}

#[test]
fn a_second_claim_becomes_an_alarm_and_overwrites_nothing() {
    let pg = server!("conflicts");
    let mut fleet = fleet_db(&pg, "fleet");
    let a = numbered(1, claim(1, "hallmark-v1", "UID-1", "HW-1", "S-1"));
    assert!(fleet.push("bench-a", &a).unwrap().conflicts.is_empty());

    // bench-b hands out the same UID to another board.
    let b = numbered(1, claim(1, "hallmark-v1", "UID-1", "HW-2", "S-2"));
    let report = fleet.push("bench-b", &b).unwrap();
    assert_eq!(report.inserted, 4, "the records are kept as received");
    let uid_alarm = report.conflicts.iter().find(|c| c.what == "uid").expect("uid alarm");
    assert_eq!(
        (uid_alarm.value.as_str(), uid_alarm.seq, uid_alarm.holder_station.as_deref(), uid_alarm.holder_seq),
        ("UID-1", 3, Some("bench-a"), Some(3))
    );
    // Its certificate for bench-a's UID is an alarm too (the certificate exists).
    assert!(report.conflicts.iter().any(|c| c.what == "certificate_uid" && c.seq == 4), "{:?}", report.conflicts);
    let holder: (String, String) = {
        let row = pg
            .admin("fleet")
            .query_one("SELECT station, hardware_id FROM hallmark.fleet_uids WHERE uid = 'UID-1'", &[])
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(holder, ("bench-a".to_string(), "HW-1".to_string()), "nothing overwritten");
    assert_eq!(
        count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_hardware_ids WHERE hardware_id = 'HW-2'"),
        0,
        "a refused claim is taken whole or not at all"
    );

    // A retry of bench-b's batch: no second alarm, and the report still names it.
    let alarms = count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_conflicts");
    let retry = fleet.push("bench-b", &b).unwrap();
    assert_eq!(retry.inserted, 0);
    assert_eq!(retry.conflicts, report.conflicts);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_conflicts"), alarms);

    // bench-c: the same board (hardware id, same dialect) under another UID, and a
    // certificate with bench-a's serial and fingerprint.
    let c = numbered(1, claim(1, "hallmark-v1", "UID-9", "HW-1", "S-1"));
    let report = fleet.push("bench-c", &c).unwrap();
    let whats: Vec<&str> = report.conflicts.iter().map(|c| c.what.as_str()).collect();
    assert_eq!(whats, ["hardware_id", "serial", "fingerprint"], "{:?}", report.conflicts);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_uids WHERE uid = 'UID-9'"), 0);
    let serial_holder: String = pg
        .admin("fleet")
        .query_one("SELECT station FROM hallmark.fleet_certificates WHERE serial = 'S-1'", &[])
        .unwrap()
        .get(0);
    assert_eq!(serial_holder, "bench-a");

    // The same hardware id in another dialect is another board.
    let d = numbered(1, claim(1, "nrf91-at", "UID-7", "HW-1", "S-7"));
    assert!(fleet.push("bench-d", &d).unwrap().conflicts.is_empty());

    let status = fleet.status("bench-a");
    assert_eq!(status.stations, Some(4));
    assert_eq!(status.open_conflicts, Some(5));
    assert_eq!(status.station_open_conflicts, Some(5), "bench-a holds every value claimed twice");
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), 16);
}

#[test]
fn a_station_role_inserts_but_the_server_refuses_update_and_delete() {
    let pg = server!("station_role");
    let mut admin_fleet = fleet_db(&pg, "fleet");
    admin_fleet.push("bench-a", &numbered(1, claim(1, "hallmark-v1", "UID-1", "HW-1", "S-1"))).unwrap();
    pg.admin("fleet")
        .batch_execute("CREATE ROLE station_b LOGIN PASSWORD 'station-b-password' IN ROLE hallmark_station")
        .unwrap();

    let url = pg.url("station_b", "fleet");
    let e = Fleet::connect(&url, None).err().expect("no password");
    assert!(matches!(e, FleetError::PasswordMissing { .. }), "{e}");
    let e = Fleet::connect(&url, Some("wrong")).err().expect("wrong password");
    assert!(matches!(e, FleetError::LoginRefused { .. }), "{e}");
    assert!(!e.to_string().contains("wrong"), "{e}");

    let mut station = Fleet::connect(&url, Some("station-b-password")).unwrap();
    let report = station.push("bench-b", &numbered(1, claim(1, "hallmark-v1", "UID-2", "HW-2", "S-2"))).unwrap();
    assert_eq!((report.inserted, report.high_water), (4, 4));
    assert!(report.conflicts.is_empty());
    // The projections were filled for it (it cannot write them itself).
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_uids WHERE station = 'bench-b'"), 1);
    // Conflicts are still caught when a station pushes.
    let report = station.push("bench-b", &numbered(5, claim(2, "hallmark-v1", "UID-1", "HW-3", "S-3"))).unwrap();
    assert!(report.conflicts.iter().any(|c| c.what == "uid"), "{:?}", report.conflicts);
    assert_eq!(station.high_water("bench-b").unwrap(), 8);
    assert_eq!(station.status("bench-b").error, None);
    let e = station.init().unwrap_err();
    assert!(matches!(e, FleetError::PermissionDenied { .. }), "{e}");

    let mut raw = login(&pg, "fleet", "station_b", "station-b-password");
    for sql in [
        "UPDATE hallmark.records SET body = '{}'",
        "DELETE FROM hallmark.records",
        "TRUNCATE hallmark.records",
        "UPDATE hallmark.fleet_uids SET station = 'bench-b'",
        "DELETE FROM hallmark.fleet_uids",
        "INSERT INTO hallmark.fleet_uids (uid, station, seq, hardware_id, dialect) VALUES ('X', 'bench-b', 1, 'H', '')",
        "UPDATE hallmark.fleet_conflicts SET resolved_at = now()",
        "DELETE FROM hallmark.fleet_conflicts",
        "INSERT INTO hallmark.fleet_certificates (serial, fingerprint, uid, station, seq, row_id) VALUES ('s', 'f', 'u', 'b', 1, 1)",
    ] {
        let e = raw.batch_execute(sql).expect_err(sql);
        assert_eq!(e.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{sql}: {e:?}");
        let message = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
        assert!(message.contains("permission denied"), "{sql}: {message}");
    }
    // It reads what it needs.
    let n: i64 = raw.query_one("SELECT count(*) FROM hallmark.fleet_uids", &[]).unwrap().get(0);
    assert_eq!(n, 2);
    // Even the owner cannot rewrite what stations sent.
    let e = pg.admin("fleet").batch_execute("DELETE FROM hallmark.records WHERE station = 'bench-b'").unwrap_err();
    assert!(e.as_db_error().map(|d| d.message().contains("append-only")).unwrap_or(false), "{e:?}");
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), 12);
}

#[test]
fn the_server_stopped_mid_way_then_everything_arrives_once() {
    let mut pg = server!("outage");
    pg.create_database("fleet");
    let url = pg.url(SUPERUSER, "fleet");
    let options = FleetOptions { connect_timeout: Duration::from_secs(2), call_timeout: Duration::from_secs(3) };
    let mut fleet = Fleet::connect_with(&url, Some(pg.password()), options).unwrap();
    fleet.init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let records = station_log(dir.path(), "bench-1", 30);
    let (first, second) = records.split_at(records.len() / 2);
    fleet.push("bench-1", first).unwrap();

    // A restart between two calls: the next call notices the closed connection and
    // opens a new one instead of failing.
    pg.stop();
    pg.start_again();
    assert_eq!(fleet.high_water("bench-1").unwrap(), first.len() as i64);

    pg.stop();
    for _ in 0..2 {
        let started = Instant::now();
        let e = fleet.push("bench-1", second).unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "failed after {took:?}: {e}");
        assert!(
            matches!(e, FleetError::ConnectionLost { .. } | FleetError::Connect { .. } | FleetError::Timeout { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("keeps working locally"), "{e}");
        eprintln!("while stopped ({took:?}): {e}");
    }
    let status = fleet.status("bench-1");
    assert!(!status.connected);
    assert!(status.error.is_some());

    pg.start_again();
    // The station asks where to go on, and sends the rest.
    let high_water = fleet.high_water("bench-1").unwrap();
    assert_eq!(high_water, first.len() as i64);
    let rest: Vec<OutboxRecord> = records.iter().filter(|r| r.seq > high_water).cloned().collect();
    let report = fleet.push("bench-1", &rest).unwrap();
    assert_eq!(report.high_water, records.len() as i64);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), records.len() as i64);
    assert_eq!(count(&pg, "fleet", "SELECT count(DISTINCT seq) FROM hallmark.records"), records.len() as i64);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_conflicts"), 0);
    assert!(fleet.status("bench-1").connected);
}

#[test]
fn a_server_that_stops_answering_times_out_and_nothing_half_done_stays() {
    let pg = server!("frozen");
    pg.create_database("fleet");
    let options = FleetOptions { connect_timeout: Duration::from_secs(1), call_timeout: Duration::from_secs(2) };
    let mut fleet = Fleet::connect_with(&pg.url(SUPERUSER, "fleet"), Some(pg.password()), options).unwrap();
    fleet.init().unwrap();
    let rows =
        |first: i64, n: i64| numbered(first, (0..n).map(|i| ("audit", first + i, json!({"id": first + i}))).collect());
    fleet.push("bench-1", &rows(1, 5)).unwrap();

    // Freeze the server process serving this connection (the host still answers TCP).
    let pid: i32 = pg
        .admin("fleet")
        .query_one("SELECT pid FROM pg_stat_activity WHERE application_name = 'hallmark-station'", &[])
        .unwrap()
        .get(0);
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success();
        assert!(ok, "kill {sig} {pid}");
    };
    signal("-STOP");
    let started = Instant::now();
    let e = fleet.push("bench-1", &rows(6, 5)).unwrap_err();
    let took = started.elapsed();
    signal("-CONT");
    assert!(matches!(e, FleetError::Timeout { .. }), "{e}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(4), "{took:?}");
    assert!(e.to_string().contains("did not answer storing records within 2 s"), "{e}");

    // The next call connects afresh; the abandoned push left nothing behind.
    assert_eq!(fleet.high_water("bench-1").unwrap(), 5);
    fleet.push("bench-1", &rows(6, 5)).unwrap();
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), 10);

    // A "server" that accepts the connection and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("postgresql://u@127.0.0.1:{}/db", listener.local_addr().unwrap().port());
    let started = Instant::now();
    let e = Fleet::connect_with(&silent, None, options).err().expect("no answer");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert!(matches!(e, FleetError::Timeout { .. } | FleetError::Connect { .. }), "{e}");
    drop(listener);
}

#[test]
fn tls_with_verify_full_checks_the_server_certificate() {
    let pg = server!("tls");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "fleet test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server_cert =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().signed_by(&server_key, &ca).unwrap();
    pg.enable_tls(&server_cert.pem(), &server_key.serialize_pem());
    pg.create_database("fleet");

    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let url = format!("{}?sslmode=verify-full&sslrootcert={}", pg.url(SUPERUSER, "fleet"), ca_file.display());
    let mut fleet = Fleet::connect(&url, Some(pg.password())).unwrap();
    fleet.init().unwrap();
    assert_eq!(fleet.push("bench-1", &numbered(1, vec![("audit", 1, json!({"id": 1}))])).unwrap().high_water, 1);
    let encrypted: i64 = pg
        .admin("fleet")
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
              WHERE a.application_name = 'hallmark-station' AND s.ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(encrypted, 1);

    // Another CA: the server is not believed.
    let other_key = rcgen::KeyPair::generate().unwrap();
    let mut other_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    other_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other = rcgen::CertifiedIssuer::self_signed(other_params, other_key).unwrap();
    let other_file = dir.path().join("other.pem");
    std::fs::write(&other_file, other.pem()).unwrap();
    let url = format!("{}?sslmode=verify-full&sslrootcert={}", pg.url(SUPERUSER, "fleet"), other_file.display());
    let e = Fleet::connect(&url, Some(pg.password())).err().expect("unknown CA");
    assert!(matches!(e, FleetError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");

    let missing = format!("{}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", pg.url(SUPERUSER, "fleet"));
    let e = Fleet::connect(&missing, Some(pg.password())).err().expect("missing CA file");
    assert!(matches!(e, FleetError::TlsCa { .. }), "{e}");
}

#[test]
fn two_stations_racing_for_the_same_uids_get_one_holder_and_one_alarm_each() {
    let pg = server!("race");
    drop(fleet_db(&pg, "fleet"));
    let url = pg.url(SUPERUSER, "fleet");
    let boards = 60;
    let threads: Vec<_> = ["bench-a", "bench-b"]
        .into_iter()
        .map(|station| {
            let url = url.clone();
            let password = pg.password().to_string();
            std::thread::spawn(move || {
                let mut rows = Vec::new();
                for i in 0..boards {
                    let hardware_id = format!("{station}-HW-{i}");
                    let serial = format!("{station}-S-{i}");
                    rows.extend(claim(i + 1, "hallmark-v1", &format!("UID-{i}"), &hardware_id, &serial));
                }
                let records = numbered(1, rows);
                let mut fleet = Fleet::connect(&url, Some(&password)).unwrap();
                let mut alarms = 0;
                for batch in records.chunks(8) {
                    alarms += fleet.push(station, batch).unwrap().conflicts.iter().filter(|c| c.what == "uid").count();
                }
                alarms
            })
        })
        .collect();
    let alarms: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(alarms, boards as usize, "one alarm per UID claimed twice");
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_uids"), boards);
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_conflicts WHERE what = 'uid'"), boards);
    // Each alarm names the other station as holder, and the holder is in fleet_uids.
    assert_eq!(
        count(
            &pg,
            "fleet",
            "SELECT count(*) FROM hallmark.fleet_conflicts c JOIN hallmark.fleet_uids u ON u.uid = c.value
              WHERE c.what = 'uid' AND u.station = c.holder_station AND c.station <> c.holder_station"
        ),
        boards
    );
    // No half-taken claim: every hardware id in the fleet belongs to a UID its station holds.
    assert_eq!(
        count(
            &pg,
            "fleet",
            "SELECT count(*) FROM hallmark.fleet_hardware_ids h
              LEFT JOIN hallmark.fleet_uids u ON u.uid = h.uid AND u.station = h.station WHERE u.uid IS NULL"
        ),
        0
    );
}

/// A login role in `hallmark_station` and its fleet connection.
fn station_role(pg: &TestPostgres, db: &str, role: &str) -> Fleet {
    pg.admin(db)
        .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE hallmark_station"))
        .unwrap();
    Fleet::connect(&pg.url(role, db), Some(&format!("pw-{role}"))).unwrap()
}

#[test]
fn a_station_id_belongs_to_the_role_that_first_pushed_it() {
    let pg = server!("station_binding");
    drop(fleet_db(&pg, "fleet"));
    let mut a = station_role(&pg, "fleet", "station_a");
    let mut b = station_role(&pg, "fleet", "station_b");
    a.push("bench-a", &numbered(1, claim(1, "hallmark-v1", "UID-1", "HW-1", "S-1"))).unwrap();
    let role: String = pg
        .admin("fleet")
        .query_one("SELECT role FROM hallmark.stations WHERE station = 'bench-a'", &[])
        .unwrap()
        .get(0);
    assert_eq!(role, "station_a");

    // station_b under bench-a's id: the next records, and a retry of bench-a's own.
    for batch in [
        numbered(5, claim(2, "hallmark-v1", "UID-2", "HW-2", "S-2")),
        numbered(1, claim(1, "hallmark-v1", "UID-1", "HW-1", "S-1")),
    ] {
        let e = b.push("bench-a", &batch).unwrap_err();
        assert!(
            matches!(&e, FleetError::StationTaken { station, holder, role }
                if station == "bench-a" && holder == "station_a" && role == "station_b"),
            "{e}"
        );
        assert!(e.to_string().contains("each station needs its own role and station id"), "{e}");
    }
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.records"), 4, "nothing stored");
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.fleet_uids"), 1);
    // The server refuses it itself, not only the client.
    let mut raw = login(&pg, "fleet", "station_b", "pw-station_b");
    let e = raw
        .batch_execute(
            "INSERT INTO hallmark.records (station, seq, tbl, row_id, body) VALUES ('bench-a', 5, 'audit', 1, '{}')",
        )
        .unwrap_err();
    assert!(
        e.as_db_error().map(|d| d.message().contains("belongs to database role station_a")).unwrap_or(false),
        "{e:?}"
    );
    raw.batch_execute("SET ROLE hallmark_station").unwrap();
    assert!(raw
        .batch_execute(
            "INSERT INTO hallmark.records (station, seq, tbl, row_id, body) VALUES ('bench-a', 5, 'audit', 1, '{}')"
        )
        .is_err());
    // Its own id is its own; station_a goes on.
    assert_eq!(b.push("bench-b", &numbered(1, claim(1, "hallmark-v1", "UID-3", "HW-3", "S-3"))).unwrap().high_water, 4);
    assert_eq!(a.push("bench-a", &numbered(5, claim(2, "hallmark-v1", "UID-2", "HW-2", "S-2"))).unwrap().high_water, 8);
    // The owner is no exception: it binds the ids it pushes under too.
    let mut owner = Fleet::connect(&pg.url(SUPERUSER, "fleet"), Some(pg.password())).unwrap();
    let e = owner.push("bench-a", &numbered(9, vec![("audit", 1, json!({"id": 1}))])).unwrap_err();
    assert!(matches!(e, FleetError::StationTaken { .. }), "{e}");
}

#[test]
fn a_version_1_fleet_is_upgraded_and_its_stations_are_bound_on_their_next_push() {
    let pg = server!("upgrade_v1");
    pg.create_database("fleet");
    let mut owner = Fleet::connect(&pg.url(SUPERUSER, "fleet"), Some(pg.password())).unwrap();
    assert_eq!(owner.init_up_to(1).unwrap().version, 1);
    // What a version 1 fleet holds (pushed then, written here directly).
    pg.admin("fleet")
        .batch_execute(
            "INSERT INTO hallmark.records (station, seq, tbl, row_id, body)
             VALUES ('bench-a', 1, 'audit', 1, '{\"id\": 1}'), ('bench-a', 2, 'audit', 2, '{\"id\": 2}')",
        )
        .unwrap();
    let mut b = station_role(&pg, "fleet", "station_b");
    let e = b.push("bench-a", &numbered(3, vec![("audit", 3, json!({"id": 3}))])).unwrap_err();
    assert!(matches!(e, FleetError::SchemaOutdated { found: 1, .. }), "{e}");

    let report = owner.init().unwrap();
    assert_eq!((report.from_version, report.version), (1, SCHEMA_VERSION));
    let role: Option<String> = pg
        .admin("fleet")
        .query_one("SELECT role FROM hallmark.stations WHERE station = 'bench-a'", &[])
        .unwrap()
        .get(0);
    assert_eq!(role, None, "rows of version 1 are bound by their next push");
    let mut b = Fleet::connect(&pg.url("station_b", "fleet"), Some("pw-station_b")).unwrap();
    assert_eq!(b.push("bench-a", &numbered(3, vec![("audit", 3, json!({"id": 3}))])).unwrap().high_water, 3);
    let role: Option<String> = pg
        .admin("fleet")
        .query_one("SELECT role FROM hallmark.stations WHERE station = 'bench-a'", &[])
        .unwrap()
        .get(0);
    assert_eq!(role.as_deref(), Some("station_b"));
    let e = owner.push("bench-a", &numbered(4, vec![("audit", 4, json!({"id": 4}))])).unwrap_err();
    assert!(matches!(e, FleetError::StationTaken { .. }), "{e}");
}

#[test]
fn verify_passes_a_clean_fleet_and_names_a_tampered_row() {
    let pg = server!("verify");
    let mut fleet = fleet_db(&pg, "fleet");
    let dir = tempfile::tempdir().unwrap();
    let mut a = station_role(&pg, "fleet", "station_a");
    let mut b = station_role(&pg, "fleet", "station_b");
    let log_a = station_log(dir.path(), "bench-a", 5);
    let log_b = station_log(dir.path(), "bench-b", 3);
    a.push("bench-a", &log_a).unwrap();
    b.push("bench-b", &log_b).unwrap();

    let report = b.verify().unwrap();
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.stations.len(), 2);
    let events = |log: &[OutboxRecord]| log.iter().filter(|r| r.table == "events").count() as u64;
    let sa = &report.stations[0];
    assert_eq!((sa.station.as_str(), sa.role.as_deref()), ("bench-a", Some("station_a")));
    assert_eq!((sa.records, sa.high_water, sa.events), (log_a.len() as i64, log_a.len() as i64, events(&log_a)));
    assert!(sa.events >= 5);
    assert_eq!(report.stations[1].events, events(&log_b));
    assert_eq!((report.open_conflicts, report.cross_check_failures), (0, 0));
    assert!(serde_json::to_value(&report).unwrap()["stations"][0]["first_bad"].is_null());

    // The superuser edits one of bench-b's events behind the append-only trigger.
    let victim = log_b.iter().filter(|r| r.table == "events").nth(1).unwrap();
    let mut admin = pg.admin("fleet");
    admin
        .batch_execute(&format!(
            "ALTER TABLE hallmark.records DISABLE TRIGGER ALL;
             UPDATE hallmark.records SET body = jsonb_set(body, '{{detail}}', to_jsonb('{{\"forged\": true}}'::text))
              WHERE station = 'bench-b' AND seq = {};
             ALTER TABLE hallmark.records ENABLE TRIGGER ALL;",
            victim.seq
        ))
        .unwrap();
    let report = fleet.verify().unwrap();
    assert!(!report.ok);
    assert!(report.stations[0].first_bad.is_none(), "{report:#?}");
    let bad = report.stations[1].first_bad.as_ref().expect("bench-b is named");
    assert_eq!(
        (bad.station.as_str(), bad.seq, bad.table.as_deref(), bad.row_id),
        ("bench-b", Some(victim.seq), Some("events"), Some(victim.row_id))
    );
    assert!(bad.why.contains("was edited"), "{}", bad.why);

    // A record removed the same way is a hole; an open conflict fails verify too.
    let last = log_a.len() as i64;
    admin
        .batch_execute(&format!(
            "ALTER TABLE hallmark.records DISABLE TRIGGER ALL;
             DELETE FROM hallmark.records WHERE station = 'bench-a' AND seq = {};
             ALTER TABLE hallmark.records ENABLE TRIGGER ALL;",
            last - 1
        ))
        .unwrap();
    let report = fleet.verify().unwrap();
    let bad = report.stations[0].first_bad.as_ref().expect("bench-a has a hole");
    assert_eq!(bad.seq, Some(last - 1), "{bad:?}");
    assert!(bad.why.contains("is missing"), "{}", bad.why);
}

#[test]
fn stations_leasing_one_stem_at_once_get_blocks_that_never_overlap() {
    let pg = server!("uid_leases");
    drop(fleet_db(&pg, "fleet"));
    let roles = ["lease_a", "lease_b", "lease_c"];
    for role in roles {
        drop(station_role(&pg, "fleet", role));
    }
    // Three stations, twenty leases each, all at once; block sizes differ per station.
    let blocks: Vec<(String, i64, i64)> = std::thread::scope(|s| {
        let handles: Vec<_> = roles
            .iter()
            .enumerate()
            .map(|(i, role)| {
                let url = pg.url(role, "fleet");
                s.spawn(move || {
                    let mut fleet = Fleet::connect(&url, Some(&format!("pw-{role}"))).unwrap();
                    (0..20)
                        .map(|_| {
                            let b = fleet.lease_uid_block(&format!("bench-{i}"), "HM-2612", 6, 7 + i as u64).unwrap();
                            assert_eq!((b.stem.as_str(), b.width), ("HM-2612", 6));
                            assert_eq!(b.last - b.first + 1, 7 + i as i64);
                            (format!("bench-{i}"), b.first, b.last)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = blocks.clone();
    sorted.sort_by_key(|b| b.1);
    assert_eq!(sorted[0].1, 1, "the first block starts at 1");
    for pair in sorted.windows(2) {
        assert_eq!(pair[1].1, pair[0].2 + 1, "blocks follow each other without overlap or hole: {pair:?}");
    }
    // What the server holds is what the stations were told, and each lists its own.
    assert_eq!(count(&pg, "fleet", "SELECT count(*) FROM hallmark.uid_blocks"), 60);
    let mut a = Fleet::connect(&pg.url("lease_a", "fleet"), Some("pw-lease_a")).unwrap();
    let listed = a.uid_blocks("bench-0", "HM-2612").unwrap();
    let told: Vec<(i64, i64)> = blocks.iter().filter(|b| b.0 == "bench-0").map(|b| (b.1, b.2)).collect();
    assert_eq!(listed.iter().map(|b| (b.first, b.last)).collect::<Vec<_>>(), told);
    // Another stem counts on its own; a station cannot lease under another's id.
    assert_eq!(a.lease_uid_block("bench-0", "HM-2701", 6, 5).unwrap().first, 1);
    let e = a.lease_uid_block("bench-1", "HM-2612", 6, 5).unwrap_err();
    assert!(matches!(&e, FleetError::StationTaken { holder, .. } if holder == "lease_b"), "{e}");
    // Stations cannot write the blocks themselves.
    let mut raw = login(&pg, "fleet", "lease_a", "pw-lease_a");
    for sql in [
        "INSERT INTO hallmark.uid_blocks (stem, first, last, width, station, role) VALUES ('HM-2612', 1, 5, 6, 'bench-0', 'lease_a')",
        "UPDATE hallmark.uid_blocks SET station = 'bench-0'",
        "DELETE FROM hallmark.uid_blocks",
    ] {
        let e = raw.batch_execute(sql).expect_err(sql);
        assert_eq!(e.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{sql}: {e:?}");
    }
}

#[test]
fn a_lease_starts_after_synced_uids_and_a_full_stem_is_refused_in_words() {
    let pg = server!("uid_lease_edges");
    let mut owner = fleet_db(&pg, "fleet");
    // A bench numbered HM-0001..HM-0042 on its own before the fleet leased anything.
    owner.push("bench-a", &numbered(1, claim(1, "hallmark-v1", "HM-0042", "HW-42", "S-42"))).unwrap();
    let mut b = station_role(&pg, "fleet", "station_b");
    let block = b.lease_uid_block("bench-b", "HM-", 4, 50).unwrap();
    assert_eq!((block.first, block.last), (43, 92));
    // The last block is cut at what four digits allow; then the stem is full.
    let block = b.lease_uid_block("bench-b", "HM-", 4, 10_000).unwrap();
    assert_eq!((block.first, block.last), (93, 9_999));
    let e = b.lease_uid_block("bench-b", "HM-", 4, 1).unwrap_err();
    assert!(matches!(&e, FleetError::StemExhausted { top: 9_999, .. }), "{e}");
    assert!(e.to_string().contains("[uid] width"), "{e}");
    // A station on an older schema is told to upgrade, not given a lease.
    pg.admin("fleet").batch_execute("DELETE FROM hallmark.fleet_schema WHERE version >= 3").unwrap();
    let mut fresh = Fleet::connect(&pg.url("station_b", "fleet"), Some("pw-station_b")).unwrap();
    let e = fresh.lease_uid_block("bench-b", "HM-", 5, 1).unwrap_err();
    assert!(matches!(e, FleetError::SchemaOutdated { found: 2, .. }), "{e}");
}

#[test]
fn claims_name_the_station_holding_a_hardware_id_or_a_uid() {
    let pg = server!("claims");
    let mut owner = fleet_db(&pg, "fleet");
    owner.push("bench-a", &numbered(1, claim(1, "hallmark-v1", "UID-1", "HW-1", "S-1"))).unwrap();
    let mut b = station_role(&pg, "fleet", "station_b");
    assert!(b.claims("bench-b", "hallmark-v1", "HW-9", "UID-9").unwrap().is_empty(), "a new board");
    assert!(b.claims("bench-a", "hallmark-v1", "HW-1", "UID-1").unwrap().is_empty(), "its own board");
    assert!(b.claims("bench-a", "hallmark-v1", "HW-1", "").unwrap().is_empty(), "its own board, no UID yet");
    let held = b.claims("bench-b", "hallmark-v1", "HW-1", "UID-9").unwrap();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (held[0].what.as_str(), held[0].station.as_str(), held[0].uid.as_str()),
        ("hardware_id", "bench-a", "UID-1")
    );
    let held = b.claims("bench-b", "hallmark-v1", "HW-9", "UID-1").unwrap();
    assert_eq!((held[0].what.as_str(), held[0].hardware_id.as_str()), ("uid", "HW-1"));
    // Hardware ids are unique per dialect: the same id under another dialect is another board.
    assert!(b.claims("bench-b", "nrf91-at", "HW-1", "UID-9").unwrap().is_empty());
}

#[test]
fn a_revocation_asked_anywhere_is_carried_out_only_by_the_issuing_station() {
    let pg = server!("revocation_queue");
    drop(fleet_db(&pg, "fleet"));
    let mut a = station_role(&pg, "fleet", "station_a");
    let mut b = station_role(&pg, "fleet", "station_b");
    a.push("bench-a", &numbered(1, claim(1, "hallmark-v1", "UID-1", "HW-1", "5e1a"))).unwrap();
    b.push("bench-b", &numbered(1, claim(1, "hallmark-v1", "UID-2", "HW-2", "5e1b"))).unwrap();

    let asked = b.request_revocation("bench-b", "UID-1", "keyCompromise", "qa-anna").unwrap();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let r = &asked[0];
    assert_eq!((r.serial.as_str(), r.issuer_station.as_str(), r.requested_by.as_str()), ("5e1a", "bench-a", "bench-b"));
    assert_eq!((r.reason.as_str(), r.actor.as_str(), r.done_at.as_deref()), ("keyCompromise", "qa-anna", None));
    // Asking again (by serial, upper case, at another station) keeps the first request.
    let again = a.request_revocation("bench-a", " 5E1A ", "superseded", "op-7").unwrap();
    assert_eq!((again[0].id, again[0].reason.as_str()), (r.id, "keyCompromise"));
    assert_eq!(b.open_revocations(None).unwrap().len(), 1);
    assert!(b.open_revocations(Some("bench-b")).unwrap().is_empty(), "nothing for bench-b to carry out");

    // Only the issuing station marks it done, once.
    assert!(!b.complete_revocation("bench-b", r.id, 3).unwrap());
    let e = b.complete_revocation("bench-a", r.id, 3).unwrap_err();
    assert!(matches!(e, FleetError::StationTaken { .. }), "{e}");
    let mine = a.open_revocations(Some("bench-a")).unwrap();
    assert_eq!(mine.iter().map(|m| m.id).collect::<Vec<_>>(), [r.id]);
    assert!(a.complete_revocation("bench-a", r.id, 7).unwrap());
    assert!(!a.complete_revocation("bench-a", r.id, 8).unwrap(), "already done");
    assert!(a.open_revocations(None).unwrap().is_empty());
    let crl: i64 = pg
        .admin("fleet")
        .query_one("SELECT crl_number FROM hallmark.revocation_requests WHERE id = $1", &[&r.id])
        .unwrap()
        .get(0);
    assert_eq!(crl, 7);

    // Once the revocation reached the fleet there is nothing left to ask for.
    a.push(
        "bench-a",
        &numbered(
            5,
            vec![(
                "revocations",
                1,
                json!({"serial": "5e1a", "reason": "keyCompromise", "revoked_at": "2026-12-03T11:00:00Z"}),
            )],
        ),
    )
    .unwrap();
    for target in ["UID-1", "5e1a", "UID-404"] {
        let e = b.request_revocation("bench-b", target, "keyCompromise", "qa-anna").unwrap_err();
        assert!(matches!(&e, FleetError::NothingToRevoke { .. }), "{target}: {e}");
        assert!(e.to_string().contains("wait until the station that issued it has synced"), "{e}");
    }
    // Stations cannot edit the queue itself.
    let mut raw = login(&pg, "fleet", "station_b", "pw-station_b");
    for sql in [
        "UPDATE hallmark.revocation_requests SET done_at = now()",
        "DELETE FROM hallmark.revocation_requests",
        "INSERT INTO hallmark.revocation_requests (serial, uid, reason, issuer_station, requested_by, role, actor) VALUES ('x', 'u', 'r', 'bench-a', 'bench-b', 'station_b', 'me')",
    ] {
        let e = raw.batch_execute(sql).expect_err(sql);
        assert_eq!(e.code(), Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE), "{sql}: {e:?}");
    }
}
