//! One CA hierarchy for a fleet (issue #17), with real processes: a fleet root signs
//! each bench's issuing CA (`ca init --issuing-csr`, `ca sign-station`, `ca import`);
//! a revocation asked at bench B for a board bench A provisioned is queued in a real
//! PostgreSQL, carried out and published by A (it holds the key), and a real
//! mosquitto loaded with the fleet CRL file (`ca broker-config --fleet`) refuses the
//! board.

use crate::broker::{free_port, Broker};
use crate::fleet::pg::{TestPostgres, SUPERUSER};
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A bench under the fleet root: its data directory, configuration and role.
struct Bench {
    station: Station,
    config: PathBuf,
    role: String,
}

impl Bench {
    /// A bench `bench-<role>` whose self-test goes through the broker at `broker`,
    /// syncing to the fleet database `db`.
    fn new(pg: &TestPostgres, db: &str, role: &str, broker: &str) -> Bench {
        let station = Station::new();
        let config = station.config(&[
            ("id = \"bench-1\"", &format!("id = \"bench-{role}\"")),
            (
                "[selftest]\nmode = \"auto\"",
                &format!(
                    "[selftest]\nmode = \"broker\"\n[selftest.broker]\naddress = \"{broker}\"\nserver_name = \
                     \"localhost\"\ntimeout_ms = 5000"
                ),
            ),
        ]);
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("\n[fleet]\nurl = \"{}\"\n", pg.url(role, db)));
        std::fs::write(&config, text).unwrap();
        Bench { station, config, role: role.to_string() }
    }

    /// `hallmark ARGS --config C --data-dir D`, with this bench's fleet password.
    fn run(&self, args: &[&str]) -> Output {
        hallmark()
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(self.station.data_dir())
            .env("HALLMARK_FLEET_PASSWORD", format!("pw-{}", self.role))
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = self.run(args);
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("{args:?}: {} {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap_or(-1), json)
    }

    /// Its issuing CA, requested here and signed by the fleet `root`.
    fn join_root(&self, root: &Station) {
        let dir = self.station.data_dir();
        let (csr, cert, chain) = (dir.join("issuing.csr"), dir.join("issuing.crt"), dir.join("root.crt"));
        let name = format!("Hallmark Issuing CA bench-{}", self.role);
        self.ok(&["ca", "init", "--issuing-csr", csr.to_str().unwrap(), "--name", &name]);
        let out = root.hallmark(&[
            "ca",
            "sign-station",
            "--csr",
            csr.to_str().unwrap(),
            "--out",
            cert.to_str().unwrap(),
            "--chain-out",
            chain.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        self.ok(&["ca", "import", "--cert", cert.to_str().unwrap(), "--chain", chain.to_str().unwrap()]);
    }
}

fn root_certificate(root: &Station) -> PathBuf {
    root.data_dir().join("ca").join("root.crt.pem")
}

fn openssl_verify(root: &Path, untrusted: &Path, leaf: &str) -> bool {
    let leaf_file = untrusted.with_extension("leaf.pem");
    std::fs::write(&leaf_file, leaf).unwrap();
    std::process::Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(root)
        .arg("-untrusted")
        .arg(untrusted)
        .arg(&leaf_file)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn a_revocation_queued_at_one_bench_is_published_by_the_issuing_bench_and_the_broker_refuses_the_board() {
    let Some(pg) = TestPostgres::start("fleet_ca_revocation") else { return };
    pg.create_database("fleet_ca");
    let out = hallmark()
        .args(["fleet", "init", "--url", &pg.url(SUPERUSER, "fleet_ca")])
        .env("HALLMARK_FLEET_PASSWORD", pg.password())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut admin = pg.admin("fleet_ca");
    for role in ["a", "b"] {
        admin
            .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}' IN ROLE hallmark_station"))
            .unwrap();
    }

    // The fleet root (kept offline in a factory; a data directory here) signs both benches.
    let root = Station::new();
    let out = root.hallmark(&["ca", "init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let (a, b) = (Bench::new(&pg, "fleet_ca", "a", &address), Bench::new(&pg, "fleet_ca", "b", &address));
    for bench in [&a, &b] {
        bench.join_root(&root);
        // Each publishes a CRL and syncs: the fleet learns its CA and its CRL.
        bench.ok(&["ca", "crl"]);
        let (code, synced) = bench.json(&["fleet", "sync", "--json"]);
        assert_eq!(code, 0, "{synced}");
    }
    let audited: i64 =
        root.db().query_row("SELECT COUNT(*) FROM audit WHERE action = 'ca-sign-station'", [], |r| r.get(0)).unwrap();
    assert_eq!(audited, 2, "the root's log records what it signed");

    // One broker for the whole fleet, its files written at bench B.
    let dir = b.station.data_dir().join("broker");
    let broker_files = |bench: &Bench| {
        let printed = bench.ok(&[
            "ca",
            "broker-config",
            "--mosquitto",
            "--fleet",
            "--out",
            dir.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ]);
        assert!(printed.contains("bench-a") && printed.contains("bench-b"), "{printed}");
        assert!(!printed.contains("warning"), "every station has a CRL: {printed}");
    };
    broker_files(&b);
    let cafile = std::fs::read_to_string(dir.join("hallmark-ca.pem")).unwrap();
    assert_eq!(cafile.matches("BEGIN CERTIFICATE").count(), 3, "the root once, and both issuing CAs");
    let crls = std::fs::read_to_string(dir.join("hallmark-fleet-crl.pem")).unwrap();
    assert_eq!(crls.matches("BEGIN X509 CRL").count(), 2, "both stations' CRLs");
    let broker = Broker::launch(&dir, port);

    // Bench A provisions a board; its self-test passes through the fleet broker.
    let sim = Sim::start(&a.station.board_state("board"), &[]);
    let (code, provisioned) = a.json(&["provision", "--json", "--port", &sim.port]);
    assert_eq!(code, 0, "{provisioned}\n{}", broker.log_text());
    let uid = provisioned["uid"].as_str().unwrap().to_string();
    let issuing_a = a.station.data_dir().join("ca").join("issuing.crt.pem");
    assert!(
        openssl_verify(&root_certificate(&root), &issuing_a, provisioned["cert_pem"].as_str().unwrap()),
        "openssl: device ← bench A's issuing CA ← fleet root"
    );
    let (code, synced) = a.json(&["fleet", "sync", "--json"]);
    assert_eq!(code, 0, "{synced}");

    // QA at bench B revokes it: B did not issue it, so it is queued for A.
    let printed = b.ok(&["ca", "revoke", &uid, "--reason", "keyCompromise", "--actor", "qa-anna"]);
    assert!(printed.contains("queued") && printed.contains("bench-a"), "{printed}");
    let (_, shown) = b.json(&["ca", "show", "--json"]);
    let pending = shown["fleet_pending_revocations"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{shown}");
    assert_eq!(
        (&pending[0]["uid"], &pending[0]["issuer_station"]),
        (&Value::from(uid.as_str()), &Value::from("bench-a"))
    );
    // Not refused yet: bench A has not published it.
    let (code, still) = a.json(&["selftest", "--json", "--port", &sim.port]);
    assert_eq!(code, 0, "{still}");

    // Bench A's next sync revokes it with A's key, publishes CRL #2 and marks it done.
    let (code, carried) = a.json(&["fleet", "sync", "--json"]);
    assert_eq!(code, 0, "{carried}");
    let done = carried["revocations_carried_out"].as_array().unwrap();
    assert_eq!(done.len(), 1, "{carried}");
    assert!(carried["revocations_waiting"].as_array().unwrap().is_empty(), "{carried}");
    let revoked_by: String =
        a.station.db().query_row("SELECT actor FROM audit WHERE action = 'revoke'", [], |r| r.get(0)).unwrap();
    assert!(revoked_by.contains("qa-anna") && revoked_by.contains("bench-b"), "{revoked_by}");
    let (number, completed): (i64, bool) = pg
        .admin("fleet_ca")
        .query_one("SELECT crl_number, done_at IS NOT NULL FROM hallmark.revocation_requests", &[])
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert!(completed && number >= 2, "published in CRL #{number}");
    let (_, shown) = b.json(&["ca", "show", "--json"]);
    assert!(shown["fleet_pending_revocations"].as_array().unwrap().is_empty(), "{shown}");

    // The broker's files refreshed from the fleet, reloaded: the board is refused.
    broker_files(&b);
    broker.reload();
    let (code, refused) = a.json(&["selftest", "--json", "--port", &sim.port]);
    assert_eq!(code, 1, "{refused}\n{}", broker.log_text());
    assert_eq!(refused["failure"]["reason"], "revoked", "{refused}");
}
