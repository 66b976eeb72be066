//! The broker self-test against a real mosquitto (from apt), started here on
//! 127.0.0.1 with the files `hallmark ca broker-config --mosquitto` writes:
//! require_certificate, CN as username and client id, an ACL per device, the
//! station's CRL, TCP_NODELAY.

use crate::support::*;
use serde_json::Value;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// A mosquitto process configured for `station`; killed on drop.
pub(crate) struct Broker {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Broker {
    fn start(station: &Station, config: &Path, port: u16) -> Broker {
        assert!(Path::new(MOSQUITTO).exists(), "mosquitto is not installed: run scripts/setup.sh");
        let dir = station.data_dir().join("broker");
        let out = station.hallmark(&[
            "ca",
            "broker-config",
            "--mosquitto",
            "--out",
            dir.to_str().unwrap(),
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--config",
            config.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        Broker::launch(&dir, port)
    }

    /// Starts mosquitto on the files `hallmark ca broker-config --mosquitto` wrote
    /// into `dir`, listening on `port`.
    pub(crate) fn launch(dir: &Path, port: u16) -> Broker {
        let mut conf = std::fs::read_to_string(dir.join("hallmark-mosquitto.conf")).unwrap();
        // Run as root, mosquitto would drop to its own user, which cannot read the
        // test's files.
        if nix_is_root() {
            conf.push_str("user root\n");
        }
        let log = dir.join("mosquitto.log");
        conf.push_str(&format!("log_dest file {}\nlog_type all\n", log.display()));
        let path = dir.join("test-mosquitto.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        let broker = Broker { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen: {}", broker.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    /// SIGHUP: mosquitto re-reads the CRL.
    pub(crate) fn reload(&self) {
        run_ok(Command::new("kill").args(["-HUP", &self.child.id().to_string()]));
        // Give it a moment to process the signal before the next connection.
        std::thread::sleep(Duration::from_millis(300));
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn nix_is_root() -> bool {
    run_ok(Command::new("id").arg("-u")).trim() == "0"
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A station whose configuration selects the broker self-test at `address`.
fn broker_station(address: &str, timeout_ms: u32) -> (Station, PathBuf) {
    let station = Station::new();
    let out = station.hallmark(&["ca", "init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config = station.config(&[
        ("id = \"bench-1\"", "id = \"e2e-bench\""),
        (
            "[selftest]\nmode = \"auto\"",
            &format!(
                "[selftest]\nmode = \"broker\"\n[selftest.broker]\naddress = \"{address}\"\nserver_name = \
                 \"localhost\"\ntimeout_ms = {timeout_ms}"
            ),
        ),
    ]);
    (station, config)
}

/// A station set to the broker self-test, and its running broker.
fn with_broker(timeout_ms: u32) -> (Station, PathBuf, Broker) {
    let port = free_port();
    let (station, config) = broker_station(&format!("127.0.0.1:{port}"), timeout_ms);
    let broker = Broker::start(&station, &config, port);
    (station, config, broker)
}

fn recheck(station: &Station, port: &str, config: &Path) -> (i32, Value) {
    let out = station.hallmark(&["selftest", "--json", "--port", port, "--config", config.to_str().unwrap()]);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn board_publishes_the_station_nonce_and_a_revoked_board_is_refused() {
    let (station, config, broker) = with_broker(5000);
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{r}\n{}", broker.log_text());
    let uid = r["uid"].as_str().unwrap().to_string();
    let d = station.step_detail("selftest");
    assert_eq!(d["mode"], "broker");
    assert_eq!(d["peer_fingerprint"], r["cert_fingerprint"]);
    let e = &d["evidence"];
    assert_eq!(e["topic"], format!("devices/{uid}/selftest"));
    assert_eq!(e["broker"], format!("127.0.0.1:{}", broker.port));
    assert_eq!(e["nonce"].as_str().unwrap().len(), 64);
    assert!(e["nonce_round_trip_ms"].as_f64().unwrap() > 0.0);
    // The broker saw the board under its UID and the station under its own name.
    let log = broker.log_text();
    assert!(log.contains(&format!("Received PUBLISH from {uid}")), "{log}");
    assert!(log.contains("hallmark-station.e2e-bench"), "{log}");

    // A re-check with the same identity passes and is audited.
    let (code, ok) = recheck(&station, &sim.port, &config);
    assert_eq!(code, 0, "{ok}");
    assert_eq!(ok["uid"], uid.as_str());
    assert_eq!(ok["issued_by_station"], true);

    let out =
        station.hallmark(&["ca", "revoke", &uid, "--reason", "keyCompromise", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    broker.reload();
    let (code, refused) = recheck(&station, &sim.port, &config);
    assert_eq!(code, 1, "{refused}");
    assert_eq!(refused["failure"]["code"], "SELFTEST_FAILED");
    assert_eq!(refused["failure"]["reason"], "revoked", "{refused}");
    assert!(refused["failure"]["message"].as_str().unwrap().contains("revoked"));
    assert_eq!(refused["revoked"], "keyCompromise");
    let audited: i64 =
        station.db().query_row("SELECT COUNT(*) FROM audit WHERE action = 'selftest'", [], |r| r.get(0)).unwrap();
    assert_eq!(audited, 2, "each re-check is in the audit log");
}

#[test]
fn board_with_a_foreign_ca_certificate_is_refused_as_unknown_ca() {
    let (station, config, broker) = with_broker(5000);
    let sim = Sim::start(&station.board_state("b"), &["foreign-ca"]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(failed_step(&r), "selftest");
    assert_eq!(r["failure"]["code"], "SELFTEST_FAILED");
    assert_eq!(r["failure"]["reason"], "unknown-ca", "{r}\n{}", broker.log_text());
    assert!(r["failure"]["message"].as_str().unwrap().contains("does not know the CA"));
    assert!(r["label_pdf"].is_null(), "no label for a board that failed its self-test");
}

#[test]
fn board_publishing_outside_its_own_topic_is_not_authorized() {
    let (station, config, broker) = with_broker(5000);
    let sim = Sim::start(&station.board_state("b"), &["broker-wrong-topic"]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["failure"]["reason"], "not-authorized", "{r}\n{}", broker.log_text());
    assert!(r["failure"]["message"].as_str().unwrap().contains("does not own the topic"));
}

#[test]
fn a_broker_that_never_answers_fails_within_the_deadline() {
    // Accepts TCP connections (the kernel's backlog) and never says a word.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = mute.local_addr().unwrap().to_string();
    let (station, config) = broker_station(&address, 1500);
    let sim = Sim::start(&station.board_state("b"), &[]);
    let started = Instant::now();
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{r}");
    assert_eq!(failed_step(&r), "selftest");
    assert_eq!(r["failure"]["code"], "BROKER_UNAVAILABLE");
    assert_eq!(r["failure"]["reason"], "timeout", "{r}");
    assert!(took < Duration::from_secs(15), "the deadline holds: {took:?}");
    drop(mute);
}

#[test]
fn an_unreachable_broker_is_the_stations_problem_not_the_boards() {
    let closed = free_port();
    let (station, config) = broker_station(&format!("127.0.0.1:{closed}"), 2000);
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["failure"]["code"], "BROKER_UNAVAILABLE");
    assert_eq!(r["failure"]["reason"], "unreachable", "{r}");
    assert!(r["failure"]["message"].as_str().unwrap().contains("not at fault"));
}

#[test]
fn a_broker_that_does_not_deliver_to_the_station_is_not_blamed_on_the_board() {
    let port = free_port();
    let (station, config) = broker_station(&format!("127.0.0.1:{port}"), 2000);
    // The broker's ACL was written for another station name than this one runs as.
    let other = station.config(&[("id = \"bench-1\"", "id = \"renamed\"")]);
    let broker = Broker::start(&station, &other, port);
    let sim = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&sim.port, &["--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["failure"]["code"], "BROKER_UNAVAILABLE", "{r}\n{}", broker.log_text());
    let message = r["failure"]["message"].as_str().unwrap();
    assert!(message.contains("hallmark-station.e2e-bench"), "{message}");
    assert!(message.contains("ACL"), "{message}");
}

/// Issues device certificates two days in the past.
struct TwoDaysAgo;

impl hallmark_station::clock::Clock for TwoDaysAgo {
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() - time::Duration::days(2)
    }
}

#[test]
fn a_board_with_an_expired_certificate_is_refused_at_the_broker_as_expired() {
    use hallmark_station::pipeline::{LinkTarget, RunRequest, Silent};
    let (station, config, broker) = with_broker(5000);
    // One-day certificates, issued two days ago: expired when the board presents it.
    let text = std::fs::read_to_string(&config).unwrap().replacen("validity_days = 3650", "validity_days = 1", 1);
    std::fs::write(&config, text).unwrap();
    // The station core in this process, started as the CLI starts it, with its clock
    // set through the one seam issuing time goes through.
    let options = hallmark_station::startup::OpenOptions {
        data_dir: hallmark_station::datadir::DataDir::at(station.data_dir()),
        config: hallmark_station::startup::ConfigChoice::Resolve(Some(config.clone())),
        overrides: hallmark_station::assemble::Overrides::default(),
        probes: std::sync::Arc::new(hallmark_station::probe::ProbeRs),
    };
    let secrets = hallmark_station::startup::GivenSecrets { passphrase: Some(PASSPHRASE.into()), token_pin: None };
    let (mut core, _) = hallmark_station::pipeline::Station::open(options, &secrets).unwrap();
    core.clock = std::sync::Arc::new(TwoDaysAgo);
    let store = hallmark_store::Store::open(&core.data_dir.log_path()).unwrap();
    let sim = Sim::start(&station.board_state("b"), &[]);
    let request = RunRequest {
        port: LinkTarget::Serial(hallmark_station::transport::PortName::parse(&sim.port).unwrap()),
        slot: None,
        operator: None,
        scanned_uid: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = rt.block_on(core.provision_serial(&store, &request, &Silent, std::future::pending())).unwrap();
    let failure = report.failure.expect("the run fails");
    assert_eq!(failure.code.as_str(), "SELFTEST_FAILED", "{failure:?}\n{}", broker.log_text());
    assert_eq!(failure.reason.as_deref(), Some("expired"), "{failure:?}");
    assert!(failure.message.contains("expired"), "{}", failure.message);
    // The certificate really is expired, as openssl sees it.
    let pem = report.cert_pem.expect("issued");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.pem"), &pem).unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-checkend", "0", "-noout", "-in"])
        .arg(dir.path().join("c.pem"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "openssl: the certificate has expired");
}
