//! UID schemes from the configuration, end to end.

use crate::support::*;

fn scheme(station: &Station, uid_section: &str) -> String {
    station.config(&[("[uid]\nscheme = \"hardware-id\"\nprefix = \"\"", uid_section)]).to_str().unwrap().to_string()
}

#[test]
fn sequence_allocates_in_order_and_a_board_keeps_its_uid() {
    let station = Station::new();
    let config = scheme(
        &station,
        "[uid]\nscheme = \"sequence\"\nprefix = \"HM-\"\ndate = \"YY\"\nwidth = 4\ncheck = \"iso7064-mod37-36\"",
    );
    let yy = &time::OffsetDateTime::now_utc().year().to_string()[2..];
    let a = Sim::start(&station.board_state("a"), &[]);
    let b = Sim::start(&station.board_state("b"), &[]);
    let (_, ra) = station.provision(&a.port, &["--config", &config]);
    let (_, rb) = station.provision(&b.port, &["--config", &config]);
    let (ua, ub) = (ra["uid"].as_str().unwrap(), rb["uid"].as_str().unwrap());
    assert!(ua.starts_with(&format!("HM-{yy}0001")) && ua.len() == 10, "{ua}");
    assert!(ub.starts_with(&format!("HM-{yy}0002")), "{ub}");
    assert_eq!((ra["outcome"].as_str(), rb["outcome"].as_str()), (Some("PASS"), Some("PASS")));
    // Board A again: refused, but under its own UID, and no number is consumed.
    let (code, again) = station.provision(&a.port, &["--config", &config]);
    assert_eq!((code, again["uid"].as_str()), (1, Some(ua)));
    let c = Sim::start(&station.board_state("c"), &[]);
    let (_, rc) = station.provision(&c.port, &["--config", &config]);
    assert!(rc["uid"].as_str().unwrap().starts_with(&format!("HM-{yy}0003")));
}

#[test]
fn scanned_uids_are_checked_and_never_reused() {
    let station = Station::new();
    let config = scheme(&station, "[uid]\nscheme = \"scanned\"\ncheck = \"luhn-mod36\"");
    let a = Sim::start(&station.board_state("a"), &[]);
    let (code, r) = station.provision(&a.port, &["--config", &config]);
    assert_eq!((code, r["failure"]["code"].as_str()), (1, Some("UID_INVALID")), "no scan, no run");
    let (code, r) = station.provision(&a.port, &["--config", &config, "--uid", "LBL-0000170"]);
    assert_eq!(r["failure"]["code"], "UID_INVALID", "wrong check character: {r}");
    assert_eq!(code, 1);
    let good = luhn_uid("LBL-000017");
    let (code, r) = station.provision(&a.port, &["--config", &config, "--uid", &good]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["uid"], good.as_str());
    let b = Sim::start(&station.board_state("b"), &[]);
    let (code, r) = station.provision(&b.port, &["--config", &config, "--uid", &good]);
    assert_eq!((code, r["failure"]["code"].as_str()), (1, Some("UID_COLLISION")), "{r}");
    assert_eq!(station.certificates_issued(), 1);
}

/// Luhn mod 36, written out independently of the station's implementation.
fn luhn_uid(payload: &str) -> String {
    let alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut sum = 0;
    let mut factor = 2;
    for c in payload.chars().rev().filter(|c| c.is_ascii_alphanumeric()) {
        let v = alphabet.find(c).unwrap() as u32 * factor;
        sum += v / 36 + v % 36;
        factor = 3 - factor;
    }
    let check = alphabet.as_bytes()[((36 - sum % 36) % 36) as usize] as char;
    format!("{payload}{check}")
}
