//! `hallmark ca …`.

use crate::args::{CaArgs, CaCommand};
use crate::error::CliError;
use crate::passphrase;
use crate::setup::{data_dir, load_config, open_station, open_store};
use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;
use hallmark_ca::import::ImportKey;
use hallmark_ca::pkcs11::TokenRef;
use hallmark_ca::{fingerprint, CaStore, Reason};
use hallmark_station::broker_files::{write_mosquitto, MosquittoOptions};
use hallmark_store::{RevokedBy, Store};
use serde_json::json;
use std::process::ExitCode;
use x509_parser::prelude::parse_x509_certificate;

/// Warn when the CRL's nextUpdate is this close.
const CRL_WARNING_DAYS: i64 = 2;

pub fn run(cmd: CaCommand) -> Result<ExitCode, CliError> {
    match cmd {
        CaCommand::Init { ca, pkcs11_module, token, key_label } => {
            let dir = data_dir(ca.data_dir.clone())?;
            let store = CaStore::new(dir.ca_dir());
            if store.exists() {
                return Err(CliError::Usage(format!("a CA already exists in {}", store.dir().display())));
            }
            let created = match (pkcs11_module, token, key_label) {
                (Some(module), Some(token_label), Some(key_label)) => {
                    let r = TokenRef { module, token_label, key_label };
                    let pin = passphrase::token_pin()?;
                    store.create_with_token(&passphrase::obtain(true)?, &r, &pin, OffsetDateTime::now_utc())?
                }
                _ => store.create(&passphrase::obtain(true)?, OffsetDateTime::now_utc())?,
            };
            println!("created the station CA in {}", store.dir().display());
            print!("{}", created.chain_pem());
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Import { cert, chain, key, pkcs11_module, token, key_label, ca } => {
            let store = CaStore::new(data_dir(ca.data_dir.clone())?.ca_dir());
            let read = |p: &std::path::Path| {
                std::fs::read_to_string(p)
                    .map_err(|source| CliError::Io { what: format!("cannot read {}", p.display()), source })
            };
            let (issuing, chain_text) = (read(&cert)?, read(&chain)?);
            let import_passphrase = std::env::var("HALLMARK_IMPORT_KEY_PASSPHRASE").ok();
            let key_text;
            let token_ref;
            let pin;
            let key = match (key, pkcs11_module, token, key_label) {
                (Some(path), _, _, _) => {
                    key_text = read(&path)?;
                    ImportKey::File { pem: &key_text, passphrase: import_passphrase.as_deref() }
                }
                (None, Some(module), Some(token_label), Some(key_label)) => {
                    token_ref = TokenRef { module, token_label, key_label };
                    pin = passphrase::token_pin()?;
                    ImportKey::Token { token: &token_ref, pin: &pin }
                }
                _ => {
                    return Err(CliError::Usage(
                        "give --key FILE, or --pkcs11-module with --token and --key-label".into(),
                    ))
                }
            };
            store.import(&issuing, &chain_text, key, &passphrase::obtain(true)?)?;
            println!("imported the issuing CA into {}", store.dir().display());
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::ExportRootKey { out, remove, ca } => {
            let store = CaStore::new(data_dir(ca.data_dir.clone())?.ca_dir());
            store.export_root_key(&out, remove)?;
            println!(
                "root key copied to {}{}",
                out.display(),
                if remove { "; removed from the station (it now keeps only the issuing CA)" } else { "" }
            );
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Show { ca, json } => show(&ca, json),
        CaCommand::Revoke { target, reason, actor, ca } => {
            let reason: Reason = reason.parse().map_err(CliError::Usage)?;
            let station = open_station(&ca.station())?;
            let store = open_store(&station.data_dir)?;
            let serials = store.serials_for(&target)?;
            let fresh: Vec<String> = serials.into_iter().filter(|s| !store.is_revoked(s).unwrap_or(false)).collect();
            if fresh.is_empty() {
                return Err(CliError::Usage(format!(
                    "no valid certificate for {target:?} (neither a serial nor a UID with an unrevoked certificate)"
                )));
            }
            let actor = actor.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
            for serial in &fresh {
                store.record_revocation(RevokedBy::Actor(&actor), serial, reason.as_str())?;
                println!("revoked {serial} ({reason})");
            }
            publish(&station, &store)?;
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Crl { out, der, ca } => {
            let station = open_station(&ca.station())?;
            let store = open_store(&station.data_dir)?;
            let published = publish(&station, &store)?;
            if let Some(out) = out {
                let bytes = if der { published.crl.der.clone() } else { published.crl.pem.clone().into_bytes() };
                std::fs::write(&out, bytes)
                    .map_err(|source| CliError::Io { what: format!("cannot write {}", out.display()), source })?;
            }
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::BrokerConfig { mosquitto: _, out, hosts, port, bind, days, ca } => {
            let station = open_station(&ca.station())?;
            let store = open_store(&station.data_dir)?;
            // The broker loads the CRL the station re-writes on every revocation.
            let published = publish(&station, &store)?;
            let options = MosquittoOptions { hosts, port, bind, days };
            let files = write_mosquitto(&station, &published.path, &out, &options)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            println!(
                "wrote {} (with the CA file, the broker's certificate and key, and the ACL beside it); the broker \
                 reads the CRL at {}: reload it after every revocation",
                files.conf.display(),
                files.crlfile.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Signs and writes a fresh CRL and says where it went.
fn publish(
    station: &hallmark_station::pipeline::Station,
    store: &Store,
) -> Result<hallmark_station::crl::Published, CliError> {
    let published = station.publish_crl(store).map_err(|e| CliError::Usage(e.to_string()))?;
    println!("CRL #{} with {} entries written to {}", published.number, published.revoked, published.path.display());
    Ok(published)
}

fn show(ca: &CaArgs, as_json: bool) -> Result<ExitCode, CliError> {
    let config = load_config(&ca.station())?;
    let dir = data_dir(ca.data_dir.clone())?;
    let (root, issuing) = CaStore::new(dir.ca_dir()).certificates()?;
    let log = dir.log_path();
    let store = if log.exists() { Some(Store::open_read_only(&log)?) } else { None };
    let (issued, revoked) = match &store {
        Some(s) => s.certificate_counts()?,
        None => (0, 0),
    };
    let crl = match &store {
        Some(s) => s.latest_crl()?,
        None => None,
    };
    let now = OffsetDateTime::now_utc();
    let describe = |der: &[u8]| -> Result<(serde_json::Value, OffsetDateTime), CliError> {
        let (_, c) =
            parse_x509_certificate(der).map_err(|e| CliError::Usage(format!("CA certificate unreadable: {e}")))?;
        let not_after = c.validity().not_after.to_datetime();
        Ok((
            json!({
                "subject": c.subject().to_string(),
                "serial": c.raw_serial_as_string(),
                "not_before": c.validity().not_before.to_datetime().format(&Rfc3339).unwrap_or_default(),
                "not_after": not_after.format(&Rfc3339).unwrap_or_default(),
                "sha256": fingerprint(der),
            }),
            not_after,
        ))
    };
    let (root_info, _) = describe(&root)?;
    let (issuing_info, issuing_end) = describe(&issuing)?;
    let mut warnings = Vec::new();
    if issuing_end - now < ::time::Duration::days(config.config.ca.expiry_warning_days.into()) {
        warnings.push(format!("the issuing CA expires on {}", issuing_info["not_after"].as_str().unwrap_or("")));
    }
    let profile = hallmark_station::profile::leaf_profile(&config.config.certificate).map_err(CliError::Usage)?;
    let leaf_end = profile.validity.not_after(now);
    if leaf_end > issuing_end {
        warnings.push("device certificates issued now would outlive the issuing CA: shorten certificate.validity_days or renew the CA".into());
    }
    match &crl {
        None if revoked > 0 => {
            warnings.push("certificates are revoked but no CRL was ever published: run `hallmark ca crl`".into())
        }
        Some(c) => {
            if let Ok(next) = OffsetDateTime::parse(&c.next_update, &Rfc3339) {
                if next - now < ::time::Duration::days(CRL_WARNING_DAYS) {
                    warnings.push(format!(
                        "the CRL's nextUpdate is {}: run `hallmark ca crl` and reload the broker",
                        c.next_update
                    ));
                }
            }
        }
        None => {}
    }
    let report = json!({
        "root": root_info,
        "issuing": issuing_info,
        "certificates_issued": issued,
        "certificates_revoked": revoked,
        "crl": crl.as_ref().map(|c| json!({"number": c.number, "this_update": c.this_update, "next_update": c.next_update, "entries": c.revoked})),
        "warnings": warnings,
    });
    if as_json {
        println!("{report}");
    } else {
        for (name, info) in [("root", &report["root"]), ("issuing", &report["issuing"])] {
            println!("{name:<8} {}", info["subject"].as_str().unwrap_or(""));
            println!(
                "         valid {} .. {}",
                info["not_before"].as_str().unwrap_or(""),
                info["not_after"].as_str().unwrap_or("")
            );
            println!("         sha256 {}", info["sha256"].as_str().unwrap_or(""));
        }
        println!("issued {issued}, revoked {revoked}");
        match &crl {
            Some(c) => println!("CRL #{} ({} entries), next update {}", c.number, c.revoked, c.next_update),
            None => println!("no CRL published yet"),
        }
        for w in &warnings {
            println!("warning: {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
