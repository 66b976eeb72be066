//! `Station::open`: the one start-up both front ends use. A real data directory, a
//! real (encrypted) CA and a real SQLite log.

use hallmark_station::assemble::Overrides;
use hallmark_station::datadir::DataDir;
use hallmark_station::fixture::LinkState;
use hallmark_station::pipeline::Station;
use hallmark_station::startup::{ConfigChoice, CrlAtStart, GivenSecrets, OpenOptions, StartupError, StartupReport};
use hallmark_store::{EventRecord, Phase, RevokedBy, RunStart, Store};
use std::path::Path;

const PASSPHRASE: &str = "correct horse battery staple";

fn options(dir: &Path, config: Option<&Path>) -> OpenOptions {
    OpenOptions {
        data_dir: DataDir::at(dir),
        config: ConfigChoice::Resolve(config.map(Path::to_path_buf)),
        overrides: Overrides::default(),
        probes: std::sync::Arc::new(hallmark_station::probe::SystemProbes),
    }
}

fn secrets() -> GivenSecrets {
    GivenSecrets { passphrase: Some(PASSPHRASE.into()), token_pin: None }
}

fn open(dir: &Path) -> (Station, StartupReport) {
    Station::open(options(dir, None), &secrets()).expect("station starts")
}

fn start(uuid: &str, slot: &str) -> RunStart {
    RunStart {
        run_uuid: uuid.into(),
        station: "bench-1".into(),
        port: "/dev/ttyUSB7".into(),
        operator: None,
        tool_version: "test".into(),
        slot: Some(slot.into()),
        config_hash: None,
    }
}

/// A certificate in the log (revocations refer to one), then its revocation, recorded
/// by a station that stopped before it signed the CRL.
fn revoke_without_crl(store: &Store) {
    let run = store.begin_run(&start("r-issued", "A")).unwrap();
    let cert = hallmark_store::CertificateRecord {
        uid: "HM-0001",
        serial: "0badc0de",
        fingerprint: "00",
        not_before: "2026-01-01T00:00:00Z",
        not_after: "2027-01-01T00:00:00Z",
        pem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        csr: b"csr",
        key_sha256: "11",
    };
    store.record_certificate(run, &cert).unwrap();
    store.record_revocation(RevokedBy::Actor("qa"), "0badc0de", "keyCompromise").unwrap();
}

#[test]
fn first_start_creates_the_ca_and_finds_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (station, report) = open(dir.path());
    assert!(report.ca_created);
    assert!(report.interrupted.is_empty());
    assert_eq!(report.crl, CrlAtStart::UpToDate);
    assert_eq!(report.notes(&station.data_dir.ca_dir()).len(), 1, "only the new CA is worth a note");
    // The embedded default's slot names a port this machine does not have.
    assert!(report.slots.iter().all(|s| s.state == LinkState::NoFixture), "{:?}", report.slots);
    drop(station);
    let (_, again) = open(dir.path());
    assert!(!again.ca_created, "the second start unlocks the same CA");
}

#[test]
fn a_run_left_open_is_closed_as_interrupted_and_the_report_names_its_board() {
    let dir = tempfile::tempdir().unwrap();
    let (station, _) = open(dir.path());
    let store = Store::open(&station.data_dir.log_path()).unwrap();
    drop(station);
    // A station that stopped mid-run: the run has a start and no end.
    let run = store.begin_run(&start("r-killed", "A")).unwrap();
    // Identified (as the pipeline records it), then into key generation.
    let identity = hallmark_store::Identity {
        uid: Some("HM-0042".into()),
        hardware_id: Some("0A0B0C".into()),
        ..Default::default()
    };
    store.record_identity(run, &identity).unwrap();
    let keygen = EventRecord {
        step: hallmark_store::Step::Keygen.as_str(),
        phase: Phase::Start,
        outcome: None,
        duration_us: None,
        detail: serde_json::Value::Null,
    };
    store.append_event(run, &keygen).unwrap();
    let (station, report) = open(dir.path());
    assert_eq!(report.interrupted.len(), 1, "{report:?}");
    assert_eq!(report.interrupted[0].run_id, "r-killed");
    let found = &report.interrupted[0];
    assert_eq!(
        (found.slot.as_deref(), found.uid.as_deref(), found.step.as_deref()),
        (Some("A"), Some("HM-0042"), Some("keygen"))
    );
    let notes = report.notes(&station.data_dir.ca_dir()).join("\n");
    assert!(notes.contains("Run board HM-0042 in slot A again (it stopped at keygen)"), "{notes}");
    let runs = store.runs().unwrap();
    assert_eq!(runs[0].outcome, "INTERRUPTED");
    assert!(store.verify_chain().unwrap().problem.is_none());
    let (_, later) = open(dir.path());
    assert!(later.interrupted.is_empty(), "closed once, not again at the next start");
}

#[test]
fn a_revocation_that_missed_its_crl_is_published_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (station, _) = open(dir.path());
    let store = Store::open(&station.data_dir.log_path()).unwrap();
    revoke_without_crl(&store);
    let crl_path = station.crl_path();
    drop(station);
    assert!(!crl_path.exists());
    let (station, report) = open(dir.path());
    let CrlAtStart::Published { number, revoked, path } = &report.crl else { panic!("{:?}", report.crl) };
    assert_eq!((*number, *revoked), (1, 1));
    assert_eq!(Path::new(path), crl_path);
    let pem = std::fs::read_to_string(&crl_path).unwrap();
    assert!(pem.starts_with("-----BEGIN X509 CRL-----"));
    assert!(report.notes(&station.data_dir.ca_dir()).iter().any(|n| n.contains("published CRL #1")));
    let (_, again) = open(dir.path());
    assert_eq!(again.crl, CrlAtStart::UpToDate, "nothing waits any more");
}

#[test]
fn a_crl_that_cannot_be_written_is_reported_and_the_station_still_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (station, _) = open(dir.path());
    let store = Store::open(&station.data_dir.log_path()).unwrap();
    revoke_without_crl(&store);
    drop(station);
    // The configured CRL path is under a file, so it cannot be created.
    let blocker = dir.path().join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let config = dir.path().join("station.toml");
    let text = hallmark_config::EXAMPLE.replacen(
        "[crl]",
        &format!("[crl]\npath = \"{}\"", blocker.join("crl.pem").display()),
        1,
    );
    assert_ne!(text, hallmark_config::EXAMPLE, "the example has a [crl] section");
    std::fs::write(&config, text).unwrap();
    let (_, report) = Station::open(options(dir.path(), Some(&config)), &secrets()).expect("starts anyway");
    let CrlAtStart::Failed { detail } = &report.crl else { panic!("{:?}", report.crl) };
    assert!(detail.contains("cannot write the CRL"), "{detail}");
}

#[test]
fn a_bad_configuration_stops_start_up_before_a_ca_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("station.toml");
    std::fs::write(&config, "[station]\nid = \"x\"\n[uid]\nscheme = \"no-such-scheme\"\n").unwrap();
    let e = Station::open(options(dir.path(), Some(&config)), &secrets()).err().expect("refused");
    assert!(matches!(e, StartupError::Config(_)), "{e}");
    assert!(!DataDir::at(dir.path()).ca_dir().exists(), "no CA was made for a station that cannot run");
}

#[test]
fn without_a_passphrase_start_up_says_how_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    let e = Station::open(options(dir.path(), None), &GivenSecrets::default()).err().expect("refused");
    assert!(e.to_string().contains("HALLMARK_CA_PASSPHRASE"), "{e}");
}
