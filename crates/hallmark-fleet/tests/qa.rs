//! QA across the fleet against a real PostgreSQL (tests/support): two stations' logs
//! written with the real store and pushed, then every filter's export, statistics and
//! onboarding export from the fleet compared with the store's own answers — per
//! station against that station's log, and across stations against one log holding
//! both stations' rows in start-time order (what the fleet is meant to be).

mod support;

use hallmark_fleet::{Fleet, FleetError, FleetOptions, OutboxRecord, SCHEMA_VERSION};
use hallmark_store::{
    CertificateRecord, EventRecord, Identity, OnboardingRecord, Page, Phase, RevokedBy, RunEnd, RunFilter, RunStart,
    Store, UidChoice,
};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::{TestPostgres, SUPERUSER};

macro_rules! server {
    ($name:expr) => {
        match TestPostgres::start($name) {
            Some(pg) => pg,
            None => return,
        }
    };
}

const A: &str = "bench-a";
const B: &str = "bench-b";

/// A fresh database with the fleet schema, and the superuser's fleet connection.
fn fleet_db(pg: &TestPostgres, db: &str) -> Fleet {
    pg.create_database(db);
    let mut fleet = Fleet::connect(&pg.url(SUPERUSER, db), Some(pg.password())).expect("connect as superuser");
    fleet.init().expect("init");
    fleet
}

/// A login role in `hallmark_station` and its fleet connection.
fn station_role(pg: &TestPostgres, db: &str, role: &str) -> Fleet {
    pg.admin(db)
        .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE hallmark_station"))
        .unwrap();
    Fleet::connect(&pg.url(role, db), Some(&format!("pw-{role}"))).unwrap()
}

fn step(store: &Store, run: hallmark_store::RunId, name: &str, outcome: &str, detail: Value) {
    store
        .append_event(
            run,
            &EventRecord { step: name, phase: Phase::End, outcome: Some(outcome), duration_us: Some(1234), detail },
        )
        .unwrap();
}

/// Two stations' logs, runs alternating between them: devices with two runs (some at
/// both stations, a failed first run then a pass), failures at two steps with codes,
/// an interrupted run without a step or code, a failed run whose result has no UID
/// although identification found one, SBOMs, a revoked certificate, and one run at
/// each station that has not ended.
fn two_station_logs(dir: &Path) -> (Store, Store) {
    let a = Store::open(&dir.join("a.sqlite")).unwrap();
    let b = Store::open(&dir.join("b.sqlite")).unwrap();
    for s in [&a, &b] {
        s.enable_outbox().unwrap();
    }
    let mut revoke: Option<String> = None;
    for i in 0..26u32 {
        let (store, station) = if i % 3 == 0 { (&b, B) } else { (&a, A) };
        let run = store
            .begin_run(&RunStart {
                run_uuid: format!("run-{i:02}"),
                station: station.into(),
                port: "/dev/ttyUSB0".into(),
                operator: Some(format!("op-{}", i % 2 + 1)),
                tool_version: "test".into(),
                slot: Some(if i % 4 < 2 { "A" } else { "B" }.into()),
                config_hash: Some("cfg".into()),
            })
            .unwrap();
        let device = i / 2;
        let uid = format!("DEV-{device:02}");
        let hardware_id = format!("HW{device:02}");
        step(store, run, "connect", "PASS", json!({}));
        store
            .record_identity(
                run,
                &Identity {
                    uid: Some(uid.clone()),
                    hardware_id: Some(hardware_id.clone()),
                    model: Some("M1".into()),
                    firmware_version: Some(if device % 3 == 0 { "1.1.0" } else { "1.0.0" }.into()),
                    sbom: (i % 2 == 0).then(|| json!({"sbom": format!("urn:sbom:{i}")})),
                },
            )
            .unwrap();
        step(store, run, "identify", "PASS", json!({"hardware_id": hardware_id, "dialect": "hallmark-v1"}));
        if i == 24 || i == 25 {
            continue; // not ended (the last run of each station)
        }
        store.assign_uid(run, &hardware_id, "scanned", UidChoice::Fixed(uid.clone())).unwrap();
        let fail = |failing_step: &str, code: &str, with_uid: bool| RunEnd {
            outcome: "FAIL".into(),
            uid: with_uid.then(|| uid.clone()),
            hardware_id: with_uid.then(|| hardware_id.clone()),
            model: Some("M1".into()),
            failing_step: Some(failing_step.into()),
            failure_code: Some(code.into()),
            failure_message: Some(format!("{code} at {failing_step}")),
            duration_us: Some(5000),
            detail: json!({}),
            ..RunEnd::default()
        };
        let end = if i == 6 {
            step(store, run, "keygen", "FAIL", json!({}));
            fail("keygen", "LINK_LOST", false)
        } else if i == 10 {
            RunEnd {
                outcome: "INTERRUPTED".into(),
                uid: Some(uid.clone()),
                hardware_id: Some(hardware_id.clone()),
                detail: json!({}),
                ..RunEnd::default()
            }
        } else if [1, 11, 16, 21].contains(&i) {
            step(store, run, "csr", "FAIL", json!({}));
            fail("csr", "CSR_SIGNATURE_INVALID", true)
        } else if [3, 13].contains(&i) {
            step(store, run, "install", "FAIL", json!({}));
            fail("install", "LINK_LOST", true)
        } else {
            let serial = format!("{:04x}", 0x1000 + i);
            store
                .record_certificate(
                    run,
                    &CertificateRecord {
                        uid: &uid,
                        serial: &serial,
                        fingerprint: &format!("fp-{serial}"),
                        not_before: "2026-01-01T00:00:00Z",
                        not_after: "2036-01-01T00:00:00Z",
                        pem: &format!("-----BEGIN CERTIFICATE-----\n{serial}\n-----END CERTIFICATE-----\n"),
                        csr: &[0x30, 0x00],
                        key_sha256: &format!("key-{serial}"),
                    },
                )
                .unwrap();
            step(store, run, "install", "PASS", json!({}));
            if station == B && revoke.is_none() {
                revoke = Some(serial.clone());
            }
            RunEnd {
                outcome: "PASS".into(),
                uid: Some(uid.clone()),
                hardware_id: Some(hardware_id.clone()),
                model: Some("M1".into()),
                firmware_version: Some("1.0.0".into()),
                duration_us: Some(4000),
                detail: json!({}),
                ..RunEnd::default()
            }
        };
        store.end_run(run, &end).unwrap();
    }
    b.record_revocation(RevokedBy::Actor("qa"), &revoke.expect("a pass at bench-b"), "keyCompromise").unwrap();
    (a, b)
}

/// One log holding both stations' rows, runs renumbered in start-time order (ties by
/// station): the store's answers over it are what the fleet's must be.
fn union_log(dir: &Path, a: &Store, b: &Store) -> Store {
    let path = dir.join("union.sqlite");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = OFF; ATTACH '{}' AS a; ATTACH '{}' AS b;
         CREATE TEMP TABLE map AS
           SELECT row_number() OVER (ORDER BY started_at, station, id) AS new, src, id FROM
             (SELECT 'a' AS src, id, started_at, station FROM a.runs UNION ALL SELECT 'b', id, started_at, station FROM b.runs);",
        a.path().display(),
        b.path().display()
    ))
    .unwrap();
    for src in ["a", "b"] {
        let m = format!("JOIN temp.map m ON m.src = '{src}' AND m.id");
        conn.execute_batch(&format!(
            "INSERT INTO runs SELECT m.new, r.run_uuid, r.started_at, r.station, r.port, r.operator, r.tool_version, r.pid,
                                     r.boot_id, r.slot, r.config_hash FROM {src}.runs r {m} = r.id;
             INSERT INTO run_identity SELECT m.new, i.uid, i.hardware_id, i.model, i.firmware_version, i.sbom
               FROM {src}.run_identity i {m} = i.run_id;
             INSERT INTO run_results SELECT m.new, x.ended_at, x.outcome, x.uid, x.hardware_id, x.model, x.firmware_version,
                                            x.failing_step, x.failure_code, x.failure_message, x.duration_us
               FROM {src}.run_results x {m} = x.run_id;
             INSERT INTO events (run_id, at, step, phase, outcome, duration_us, detail, prev_hash, hash)
               SELECT m.new, e.at, e.step, e.phase, e.outcome, e.duration_us, e.detail, e.prev_hash, e.hash
               FROM {src}.events e {m} = e.run_id ORDER BY e.id;
             INSERT INTO revocations SELECT v.serial, v.reason, v.revoked_at, NULL FROM {src}.revocations v;"
        ))
        .unwrap();
    }
    conn.execute_batch(
        "INSERT INTO certificates (run_id, uid, serial, fingerprint, not_before, not_after, pem, csr, issued_at)
           SELECT m.new, c.uid, c.serial, c.fingerprint, c.not_before, c.not_after, c.pem, c.csr, c.issued_at FROM
             (SELECT 'a' AS src, * FROM a.certificates UNION ALL SELECT 'b', * FROM b.certificates) c
             JOIN temp.map m ON m.src = c.src AND m.id = c.run_id
           ORDER BY c.issued_at, c.src, c.id;",
    )
    .unwrap();
    drop(conn);
    Store::open_read_only(&path).unwrap()
}

fn outbox(store: &Store) -> Vec<OutboxRecord> {
    store.outbox_after(0, 1_000_000).unwrap()
}

/// The runs as JSON values; `RUNNING` (a run the fleet holds without a result) read
/// as what a station says of its own run whose process is gone.
fn runs_json(runs: Vec<hallmark_store::RunRecord>) -> Vec<Value> {
    runs.iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap();
            if v["outcome"] == "RUNNING" {
                v["outcome"] = "INTERRUPTED".into();
            }
            v
        })
        .collect()
}

fn local_runs(store: &Store, filter: &RunFilter, page: Option<Page>) -> Vec<Value> {
    let mut out = Vec::new();
    store.for_each_run(filter, page, |r| out.push(r)).unwrap();
    runs_json(out)
}

fn fleet_runs(fleet: &mut Fleet, filter: &RunFilter, page: Option<Page>, batch: u64) -> Vec<Value> {
    let mut out = Vec::new();
    let n = fleet.for_each_run_in_batches(filter, page, batch, |r| out.push(r)).unwrap();
    assert_eq!(n as usize, out.len());
    runs_json(out)
}

fn local_onboarding(store: &Store, filter: &RunFilter) -> Vec<OnboardingRecord> {
    let mut out = Vec::new();
    store.onboarding(filter, |r| out.push(r)).unwrap();
    out
}

fn fleet_onboarding(fleet: &mut Fleet, filter: &RunFilter, batch: u64) -> Vec<OnboardingRecord> {
    let mut out = Vec::new();
    fleet.onboarding_in_batches(filter, batch, |r| out.push(r)).unwrap();
    out
}

/// `filter` narrowed to one station (itself when it names that station already).
fn with_station(filter: &RunFilter, station: &str) -> RunFilter {
    RunFilter { station: Some(station.into()), ..filter.clone() }
}

/// Whether `filter` can select runs of `station`.
fn admits(filter: &RunFilter, station: &str) -> bool {
    filter.station.as_deref().is_none_or(|s| s == station)
}

#[test]
fn the_fleet_answers_every_filter_as_the_stations_logs_do() {
    let pg = server!("qa_filters");
    drop(fleet_db(&pg, "fleet"));
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_station_logs(dir.path());
    let union = union_log(dir.path(), &a, &b);
    // Each station pushes with its own role; QA reads with a station's role too.
    station_role(&pg, "fleet", "station_a").push(A, &outbox(&a)).unwrap();
    station_role(&pg, "fleet", "station_b").push(B, &outbox(&b)).unwrap();
    let mut fleet = Fleet::connect(&pg.url("station_a", "fleet"), Some("pw-station_a")).unwrap();

    let all = local_runs(&union, &RunFilter::default(), None);
    assert_eq!(all.len(), 26);
    let started = |i: usize| all[i]["started_at"].as_str().unwrap().to_string();
    let uuid_of_10 = all.iter().find(|r| r["run_id"] == "run-10").unwrap()["run_id"].as_str().unwrap().to_string();
    let filters = [
        RunFilter::default(),
        RunFilter { outcome: Some("PASS".into()), ..RunFilter::default() },
        RunFilter { outcome: Some("FAIL".into()), ..RunFilter::default() },
        RunFilter { outcome: Some("INTERRUPTED".into()), ..RunFilter::default() },
        RunFilter { uid: Some("DEV-01".into()), ..RunFilter::default() },
        // Identification found DEV-03 for run 6, its result names no UID: only run 7 is DEV-03's.
        RunFilter { uid: Some("DEV-03".into()), ..RunFilter::default() },
        RunFilter { hardware_id: Some("HW05".into()), ..RunFilter::default() },
        RunFilter { operator: Some("op-2".into()), slot: Some("B".into()), ..RunFilter::default() },
        RunFilter { failing_step: Some("csr".into()), ..RunFilter::default() },
        RunFilter { failing_step: Some("install".into()), outcome: Some("FAIL".into()), ..RunFilter::default() },
        RunFilter { from: Some(started(8)), to: Some(started(19)), ..RunFilter::default() },
        RunFilter { from: Some("2999-01-01".into()), ..RunFilter::default() },
        RunFilter { to: Some("2000-01-01".into()), ..RunFilter::default() },
        RunFilter { run_id: Some(uuid_of_10), ..RunFilter::default() },
        RunFilter { station: Some(B.into()), ..RunFilter::default() },
        RunFilter { station: Some("bench-none".into()), ..RunFilter::default() },
        RunFilter { firmware_version: Some("1.1.0".into()), ..RunFilter::default() },
        RunFilter { firmware_version: Some("1.1.0".into()), outcome: Some("PASS".into()), ..RunFilter::default() },
    ];
    // The firmware filter selects some runs, not all (devices 0, 3, 6, … run 1.1.0).
    let one_release = local_runs(&union, &filters[filters.len() - 2], None);
    assert!(!one_release.is_empty() && one_release.len() < local_runs(&union, &RunFilter::default(), None).len());
    assert!(one_release.iter().all(|r| r["firmware_version"] == "1.1.0"), "{one_release:?}");
    for filter in &filters {
        let expected = local_runs(&union, filter, None);
        for batch in [1000, 3] {
            assert_eq!(fleet_runs(&mut fleet, filter, None, batch), expected, "{filter:?}, batch {batch}");
        }
        for (station, log) in [(A, &a), (B, &b)] {
            let mine = with_station(filter, station);
            assert_eq!(fleet_runs(&mut fleet, &mine, None, 4), local_runs(log, &mine, None), "{mine:?}");
        }
        assert_eq!(fleet.count_runs(filter).unwrap(), union.count_runs(filter).unwrap(), "{filter:?}");
        let stats = fleet.statistics(filter).unwrap();
        assert_eq!(
            serde_json::to_value(&stats.statistics).unwrap(),
            serde_json::to_value(union.statistics(filter).unwrap()).unwrap(),
            "{filter:?}"
        );
        for (station, log) in [(A, &a), (B, &b)] {
            let mine = with_station(filter, station);
            let local = log.statistics(&mine).unwrap();
            let fleet_stats = fleet.statistics(&mine).unwrap();
            assert_eq!(
                serde_json::to_value(&fleet_stats.statistics).unwrap(),
                serde_json::to_value(&local).unwrap(),
                "{mine:?}"
            );
            // Each station's line of the fleet-wide breakdown is its own log's yield.
            let line = stats.stations.iter().find(|s| s.station == station);
            if !admits(filter, station) {
                assert!(line.is_none(), "{filter:?}");
                continue;
            }
            match line {
                Some(y) => assert_eq!(
                    (y.runs, y.passed, y.failed, y.interrupted, y.devices, y.devices_passed, y.yield_percent),
                    (
                        local.runs,
                        local.passed,
                        local.failed,
                        local.interrupted,
                        local.devices,
                        local.devices_passed,
                        local.yield_percent
                    ),
                    "{mine:?}"
                ),
                None => assert_eq!(local.runs, 0, "{mine:?}"),
            }
        }
        for batch in [1000, 2] {
            assert_eq!(fleet_onboarding(&mut fleet, filter, batch), local_onboarding(&union, filter), "{filter:?}");
        }
    }

    // What the comparisons rest on: the scenario has what it is meant to have.
    let s = fleet.statistics(&RunFilter::default()).unwrap();
    assert_eq!(s.stations.iter().map(|y| y.station.as_str()).collect::<Vec<_>>(), [A, B]);
    assert!(s.statistics.failed >= 5 && s.statistics.interrupted == 3, "{:?}", s.statistics);
    assert!(s.statistics.devices_first_pass < s.statistics.devices_passed, "{:?}", s.statistics);
    assert!(s.statistics.failures_by_step.iter().any(|p| p.step.is_none()), "an interrupted run without a step");
    let history = fleet_runs(&mut fleet, &RunFilter { uid: Some("DEV-01".into()), ..RunFilter::default() }, None, 9);
    let stations: Vec<&str> = history.iter().map(|r| r["station"].as_str().unwrap()).collect();
    assert_eq!(stations, [A, B], "device DEV-01 was at both benches, in start order");
    assert_eq!(history[0]["steps"][0]["name"], "connect");
    assert!(history.iter().any(|r| r["cert_serial"].is_string()), "{history:?}");
    assert!(all.iter().any(|r| r["sbom"]["sbom"].is_string()));
    let onboarding = fleet_onboarding(&mut fleet, &RunFilter::default(), 1000);
    assert!(onboarding.iter().all(|o| o.certificate_pem.starts_with("-----BEGIN CERTIFICATE-----")));
    let local_total =
        local_onboarding(&a, &RunFilter::default()).len() + local_onboarding(&b, &RunFilter::default()).len();
    assert!(onboarding.len() < local_total, "a device at both benches is onboarded once, with its newest certificate");
    // A run without a result is not ended as far as the fleet knows.
    let mut open = Vec::new();
    fleet
        .for_each_run(&RunFilter { run_id: Some("run-25".into()), ..RunFilter::default() }, None, |r| open.push(r))
        .unwrap();
    assert_eq!((open.len(), open[0].outcome.as_str(), open[0].ended_at.as_deref()), (1, "RUNNING", None));

    // Pages: the same slices as the log's, across batch boundaries.
    for (limit, offset) in [(5, 0), (5, 3), (7, 20), (4, 26), (0, 0), (100, 1)] {
        let page = Some(Page { limit, offset });
        for batch in [1000, 2] {
            assert_eq!(
                fleet_runs(&mut fleet, &RunFilter::default(), page, batch),
                local_runs(&union, &RunFilter::default(), page),
                "limit {limit} offset {offset} batch {batch}"
            );
        }
    }
}

#[test]
fn runs_synced_before_the_qa_schema_are_found_after_the_upgrade_and_an_old_schema_is_refused_in_words() {
    let pg = server!("qa_upgrade");
    pg.create_database("fleet");
    let mut owner = Fleet::connect(&pg.url(SUPERUSER, "fleet"), Some(pg.password())).unwrap();
    let before = SCHEMA_VERSION - 1;
    assert_eq!(owner.init_up_to(before).unwrap().version, before);
    let dir = tempfile::tempdir().unwrap();
    let (a, _b) = two_station_logs(dir.path());
    // What the older fleet holds (pushed then; written here directly, the projection
    // trigger of that version filling its tables).
    let records = outbox(&a);
    let mut admin = pg.admin("fleet");
    for r in &records {
        admin
            .execute(
                "INSERT INTO hallmark.records (station, seq, tbl, row_id, body) VALUES ($1, $2, $3, $4, $5)",
                &[&A, &r.seq, &r.table, &r.row_id, &r.body],
            )
            .unwrap();
    }
    let filter = RunFilter { uid: Some("DEV-01".into()), ..RunFilter::default() };
    let e = owner.for_each_run(&filter, None, |_| {}).unwrap_err();
    assert!(matches!(e, FleetError::SchemaOutdated { found, .. } if found == before), "{e}");
    assert!(e.to_string().contains("hallmark fleet init"), "{e}");
    let e = owner.statistics(&filter).unwrap_err();
    assert!(matches!(e, FleetError::SchemaOutdated { .. }), "{e}");
    let e = owner.onboarding(&filter, |_| {}).unwrap_err();
    assert!(matches!(e, FleetError::SchemaOutdated { .. }), "{e}");

    let report = owner.init().unwrap();
    assert_eq!((report.from_version, report.version), (before, SCHEMA_VERSION));
    let mut fleet = Fleet::connect(&pg.url(SUPERUSER, "fleet"), Some(pg.password())).unwrap();
    for filter in [
        RunFilter::default(),
        filter,
        RunFilter { uid: Some("DEV-03".into()), ..RunFilter::default() },
        RunFilter { hardware_id: Some("HW04".into()), ..RunFilter::default() },
    ] {
        assert_eq!(fleet_runs(&mut fleet, &filter, None, 1000), local_runs(&a, &filter, None), "{filter:?}");
        assert_eq!(
            serde_json::to_value(fleet.statistics(&filter).unwrap().statistics).unwrap(),
            serde_json::to_value(a.statistics(&filter).unwrap()).unwrap()
        );
    }
}

#[test]
fn a_database_without_the_schema_or_a_fleet_that_is_down_is_an_error_in_words() {
    let mut pg = server!("qa_errors");
    pg.create_database("empty");
    let mut empty = Fleet::connect(&pg.url(SUPERUSER, "empty"), Some(pg.password())).unwrap();
    let e = empty.for_each_run(&RunFilter::default(), None, |_| {}).unwrap_err();
    assert!(matches!(e, FleetError::NoSchema), "{e}");
    assert!(matches!(empty.statistics(&RunFilter::default()), Err(FleetError::NoSchema)));
    assert!(matches!(empty.onboarding(&RunFilter::default(), |_| {}), Err(FleetError::NoSchema)));

    let options = FleetOptions { connect_timeout: Duration::from_secs(2), call_timeout: Duration::from_secs(2) };
    let mut fleet = fleet_db(&pg, "fleet");
    assert_eq!(fleet.for_each_run(&RunFilter::default(), None, |_| {}).unwrap(), 0, "an empty fleet has no runs");
    let mut fleet = Fleet::connect_with(&pg.url(SUPERUSER, "fleet"), Some(pg.password()), options).unwrap();
    pg.stop();
    for e in [
        fleet.for_each_run(&RunFilter::default(), None, |_| {}).unwrap_err(),
        fleet.statistics(&RunFilter::default()).unwrap_err(),
        fleet.onboarding(&RunFilter::default(), |_| {}).unwrap_err(),
    ] {
        assert!(matches!(e, FleetError::Connect { .. } | FleetError::ConnectionLost { .. }), "{e:?}");
        assert!(e.to_string().contains("fleet server"), "{e}");
    }
    pg.start_again();
    let s = fleet.statistics(&RunFilter::default()).unwrap();
    assert_eq!((s.statistics.runs, s.stations.len()), (0, 0), "the next call connects again");
}

#[test]
fn a_read_only_qa_login_as_docs_fleet_md_sets_it_up_reads_and_cannot_write() {
    let pg = server!("qa_role");
    drop(fleet_db(&pg, "fleet"));
    let dir = tempfile::tempdir().unwrap();
    let (a, _b) = two_station_logs(dir.path());
    station_role(&pg, "fleet", "station_a").push(A, &outbox(&a)).unwrap();
    // docs/fleet.md, "Roles and grants".
    pg.admin("fleet")
        .batch_execute(
            "CREATE ROLE qa LOGIN PASSWORD 'pw-qa'; GRANT USAGE ON SCHEMA hallmark TO qa;
             GRANT SELECT ON ALL TABLES IN SCHEMA hallmark TO qa;
             GRANT EXECUTE ON FUNCTION hallmark.json_bigint(jsonb) TO qa;",
        )
        .unwrap();
    let mut qa = Fleet::connect(&pg.url("qa", "fleet"), Some("pw-qa")).unwrap();
    let all = RunFilter::default();
    assert_eq!(fleet_runs(&mut qa, &all, None, 1000), local_runs(&a, &all, None));
    assert_eq!(qa.statistics(&all).unwrap().statistics.runs, a.statistics(&all).unwrap().runs);
    assert_eq!(fleet_onboarding(&mut qa, &all, 1000), local_onboarding(&a, &all));
    let e = qa.push("bench-qa", &outbox(&a)[..1]).unwrap_err();
    assert!(matches!(e, FleetError::PermissionDenied { .. }), "{e}");
}
