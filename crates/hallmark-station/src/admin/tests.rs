//! The administration service against a real station (new CA, SQLite log, files in
//! a temporary data directory): what is audited, in which order, and what is left
//! on disk and in force when a change is refused or fails.

use super::*;
use crate::assemble::Overrides;
use crate::datadir::DataDir;
use crate::engineer::{EngineerError, LOCKOUT, MAX_FAILURES};
use crate::pipeline::Station;
use crate::startup::{ConfigChoice, GivenSecrets, OpenOptions};
use hallmark_config::{ConfigEdit, EXAMPLE};
use hallmark_store::Store;
use std::time::Instant;

const PASSPHRASE: &str = "administration test passphrase";

/// A station started on its saved `station.toml` (the shipped example).
struct Bench {
    station: Station,
    source: ConfigSource,
    dir: tempfile::TempDir,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::at(dir.path());
        std::fs::write(data.config_path(), EXAMPLE).unwrap();
        let options = OpenOptions {
            data_dir: data.clone(),
            config: ConfigChoice::Resolve(None),
            overrides: Overrides::default(),
            probes: std::sync::Arc::new(crate::probe::SystemProbes),
        };
        let secrets = GivenSecrets { passphrase: Some(PASSPHRASE.into()), token_pin: None };
        let (station, _) = Station::open(options, &secrets).unwrap();
        let source = ConfigSource::load(None, &data).unwrap();
        assert_eq!(source.file, data.config_path());
        Bench { station, source, dir }
    }

    fn data(&self) -> DataDir {
        DataDir::at(self.dir.path())
    }

    fn store(&self) -> Store {
        Store::open(&self.data().log_path()).unwrap()
    }

    /// The saved configuration with the station id changed.
    fn renamed(&self, id: &str) -> ConfigChange {
        let mut edit = ConfigEdit::from_config(&self.source.config.config);
        edit.station_id = id.into();
        self.source.change(&edit, ENGINEER, false).unwrap()
    }

    fn audits(&self, actions: &[&str]) -> Vec<i64> {
        let store = self.store();
        actions.iter().map(|a| store.audit_count(a).unwrap()).collect()
    }
}

const CONFIG_ACTIONS: [&str; 3] = ["config-change", "config-change-failed", "config-changed"];

#[test]
fn a_change_is_audited_saved_with_the_previous_file_and_put_in_force() {
    let mut b = Bench::new();
    let change = b.renamed("bench-2");
    assert_eq!(change.changes, [r#"station_id: "bench-1" → "bench-2""#]);
    let now = b.station.change_configuration(&b.store(), change).unwrap();
    assert_eq!(b.station.station_id, "bench-2");
    assert_eq!(b.station.config.hash, now.config.hash);
    let saved = std::fs::read_to_string(&now.file).unwrap();
    assert_eq!(saved, now.text);
    assert!(saved.contains("id = \"bench-2\"") && saved.contains("# How a board gets its UID"), "{saved}");
    let previous = std::fs::read_to_string(b.data().path().join("station.toml.previous")).unwrap();
    assert_eq!(previous, EXAMPLE);
    assert_eq!(b.audits(&CONFIG_ACTIONS), [1, 0, 1]);
    assert!(b.store().verify_chain().unwrap().intact());
}

#[test]
fn a_failed_save_is_audited_after_the_change_and_nothing_changes() {
    let mut b = Bench::new();
    // A directory where the temporary file goes: the save fails after the backup.
    let blocked = b.data().path().join("station.toml.new");
    std::fs::create_dir(&blocked).unwrap();
    let before = b.station.config.hash.clone();
    let err = b.station.change_configuration(&b.store(), b.renamed("bench-2")).unwrap_err();
    assert!(matches!(err, AdminError::NotSaved { .. }), "{err}");
    assert!(err.to_string().contains("Is a directory"), "{err}");
    assert_eq!(b.audits(&CONFIG_ACTIONS), [1, 1, 0]);
    assert_eq!(std::fs::read_to_string(b.data().config_path()).unwrap(), EXAMPLE);
    assert_eq!((b.station.station_id.as_str(), b.station.config.hash.as_str()), ("bench-1", before.as_str()));

    // A directory where the configuration file itself goes: refused the same way.
    std::fs::remove_dir(&blocked).unwrap();
    let elsewhere = b.data().path().join("elsewhere.toml");
    std::fs::create_dir(&elsewhere).unwrap();
    let mut change = b.renamed("bench-3");
    change.file = elsewhere.clone();
    assert!(matches!(b.station.change_configuration(&b.store(), change), Err(AdminError::NotSaved { .. })));
    assert_eq!(b.audits(&CONFIG_ACTIONS), [2, 2, 0]);
    assert!(elsewhere.is_dir());
    assert_eq!(b.station.station_id, "bench-1");
}

#[test]
fn no_audit_entry_no_change() {
    let mut b = Bench::new();
    let read_only = Store::open_read_only(&b.data().log_path()).unwrap();
    let err = b.station.change_configuration(&read_only, b.renamed("bench-2")).unwrap_err();
    assert!(matches!(err, AdminError::NotAudited(_)), "{err}");
    assert_eq!(std::fs::read_to_string(b.data().config_path()).unwrap(), EXAMPLE);
    assert!(!b.data().path().join("station.toml.previous").exists());
    assert_eq!(b.station.station_id, "bench-1");
}

#[test]
fn an_invalid_configuration_is_refused_with_nothing_audited_or_saved() {
    let mut b = Bench::new();
    // Refused by the parser: a broker self-test without a broker.
    let mut edit = ConfigEdit::from_config(&b.source.config.config);
    edit.selftest.mode = "broker".into();
    let err = b.source.change(&edit, ENGINEER, false).unwrap_err();
    assert!(matches!(&err, AdminError::InvalidConfig(m) if m.contains("[selftest.broker]")), "{err}");
    // Refused by the station's checks: the label template it names does not exist.
    let mut edit = ConfigEdit::from_config(&b.source.config.config);
    edit.label_template = "label-templates/missing.toml".into();
    let change = b.source.change(&edit, ENGINEER, false).unwrap();
    let err = b.station.change_configuration(&b.store(), change).unwrap_err();
    assert!(matches!(&err, AdminError::InvalidConfig(m) if m.contains("missing.toml")), "{err}");
    // And an edit that changes nothing is no change.
    let same = ConfigEdit::from_config(&b.source.config.config);
    assert!(matches!(b.source.change(&same, ENGINEER, false), Err(AdminError::NothingChanged)));
    assert_eq!(b.audits(&CONFIG_ACTIONS), [0, 0, 0]);
    assert_eq!(std::fs::read_to_string(b.data().config_path()).unwrap(), EXAMPLE);
    assert!(!b.data().path().join("station.toml.previous").exists());
}

#[test]
fn the_first_pin_needs_the_ca_passphrase_then_the_role() {
    let b = Bench::new();
    let store = b.store();
    let role = EngineerRole::new(&b.data(), FirstPin::CaSecret);
    let t0 = Instant::now();
    assert!(role.status(t0).needs_ca_secret && !role.status(t0).pin_set);
    let weak = role.set_pin(&store, "123456", Some(PASSPHRASE), t0);
    assert!(matches!(weak, Err(AdminError::Pin(EngineerError::WeakPin(_)))), "{weak:?}");
    assert!(matches!(role.set_pin(&store, "482916", None, t0), Err(AdminError::CaSecretMissing)));
    assert!(matches!(role.set_pin(&store, "482916", Some(""), t0), Err(AdminError::CaSecretMissing)));
    assert_eq!(b.audits(&["engineer-pin-refused"]), [0]);
    let wrong = role.set_pin(&store, "482916", Some("not the passphrase"), t0);
    assert!(matches!(wrong, Err(AdminError::CaSecretWrong)), "{wrong:?}");
    assert_eq!(b.audits(&["engineer-pin-refused", "engineer-pin-set"]), [1, 0]);
    assert!(!role.status(t0).pin_set && !role.status(t0).unlocked);

    role.set_pin(&store, "482916", Some(PASSPHRASE), t0).unwrap();
    assert_eq!(b.audits(&["engineer-pin-set"]), [1]);
    let status = role.status(t0);
    assert!(status.pin_set && status.unlocked && status.minutes_left == 15, "{status:?}");

    // Changing it needs the unlocked role, not the passphrase.
    role.logout();
    assert!(matches!(role.set_pin(&store, "739105", Some(PASSPHRASE), t0), Err(AdminError::EngineerOnly)));
    role.login(&store, "482916", t0).unwrap();
    role.set_pin(&store, "739105", None, t0).unwrap();
    assert_eq!(b.audits(&["engineer-pin-set", "engineer-pin-changed", "engineer-login"]), [1, 1, 1]);
    role.logout();
    role.login(&store, "739105", t0).unwrap();
}

#[test]
fn a_demo_station_sets_its_first_pin_without_the_ca() {
    let b = Bench::new();
    let role = EngineerRole::new(&b.data(), FirstPin::Free);
    assert!(!role.status(Instant::now()).needs_ca_secret);
    role.set_pin(&b.store(), "482916", None, Instant::now()).unwrap();
    assert_eq!(b.audits(&["engineer-pin-set"]), [1]);
}

#[test]
fn wrong_pins_lock_the_role_out_and_sessions_expire() {
    let b = Bench::new();
    let store = b.store();
    let role = EngineerRole::new(&b.data(), FirstPin::Free);
    let t0 = Instant::now();
    let not_set = role.login(&store, "482916", t0);
    assert!(matches!(not_set, Err(AdminError::Pin(EngineerError::NotSet))), "{not_set:?}");
    role.set_pin(&store, "482916", None, t0).unwrap();
    role.logout();
    for left in (1..MAX_FAILURES).rev() {
        let e = role.login(&store, "000001", t0).unwrap_err();
        assert!(matches!(e, AdminError::Pin(EngineerError::Wrong { remaining }) if remaining == left), "{e}");
    }
    assert!(matches!(role.login(&store, "000001", t0), Err(AdminError::Pin(EngineerError::LockedOut { .. }))));
    // Even the right PIN is refused during the lockout, and the refusal is audited.
    let locked = role.login(&store, "482916", t0 + LOCKOUT / 2);
    assert!(matches!(locked, Err(AdminError::Pin(EngineerError::LockedOut { .. }))), "{locked:?}");
    assert!(!role.status(t0 + LOCKOUT / 2).unlocked);
    assert_eq!(b.audits(&["engineer-login-failed", "engineer-login"]), [i64::from(MAX_FAILURES) + 2, 0]);

    let t1 = t0 + LOCKOUT;
    role.login(&store, "482916", t1).unwrap();
    assert_eq!(b.audits(&["engineer-login"]), [1]);
    // Each engineer action keeps the role open for another session; then it locks.
    role.require(t1 + SESSION / 2).unwrap();
    assert!(role.status(t1 + SESSION).unlocked);
    let end = t1 + SESSION / 2 + SESSION;
    assert!(!role.status(end).unlocked);
    assert!(matches!(role.require(end), Err(AdminError::EngineerOnly)));
}

#[test]
fn a_failed_login_that_cannot_be_audited_does_not_open_the_role() {
    let b = Bench::new();
    let role = EngineerRole::new(&b.data(), FirstPin::Free);
    let t0 = Instant::now();
    role.set_pin(&b.store(), "482916", None, t0).unwrap();
    role.logout();
    let read_only = Store::open_read_only(&b.data().log_path()).unwrap();
    assert!(matches!(role.login(&read_only, "482916", t0), Err(AdminError::NotAudited(_))));
    assert!(!role.status(t0).unlocked);
    assert!(matches!(role.set_pin(&read_only, "739105", None, t0), Err(AdminError::EngineerOnly)));
}

#[test]
fn the_station_template_is_checked_audited_written_and_put_in_force() {
    let mut b = Bench::new();
    let path = b.data().path().join(STATION_TEMPLATE);
    let broken = hallmark_label::DEFAULT_TEMPLATE.replacen("data = \"{uid}\"", "data = \"{colour}\"", 1);
    let err = b.station.save_label_template(&b.store(), &b.source, &broken, ENGINEER).unwrap_err();
    assert!(matches!(err, AdminError::TemplateInvalid(_)) && err.to_string().contains("colour"), "{err}");
    assert!(!path.exists());
    let actions = ["label-template-change", "config-change", "config-changed"];
    assert_eq!(b.audits(&actions), [0, 0, 0]);

    let text = hallmark_label::DEFAULT_TEMPLATE.replace("size_pt = 6.0", "size_pt = 5.5");
    let now = b.station.save_label_template(&b.store(), &b.source, &text, ENGINEER).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(now.template_path().as_deref(), Some(path.as_path()));
    assert!(std::fs::read_to_string(&now.file).unwrap().contains(STATION_TEMPLATE));
    assert_eq!(b.audits(&actions), [1, 1, 1]);
    // Saved again unchanged: still a reload, so the file's content is in force.
    b.station.save_label_template(&b.store(), &now, &text, ENGINEER).unwrap();
    assert_eq!(b.audits(&actions), [2, 2, 2]);
}

#[test]
fn a_template_write_that_fails_leaves_the_configuration_alone() {
    let mut b = Bench::new();
    // A directory where the template's temporary file goes.
    std::fs::create_dir_all(b.data().path().join("label-templates/station.toml.new")).unwrap();
    let err = b.station.save_label_template(&b.store(), &b.source, hallmark_label::DEFAULT_TEMPLATE, ENGINEER);
    assert!(matches!(err, Err(AdminError::TemplateNotWritten { .. })), "{err:?}");
    assert_eq!(b.audits(&["label-template-change", "config-change"]), [1, 0]);
    assert_eq!(std::fs::read_to_string(b.data().config_path()).unwrap(), EXAMPLE);
}
