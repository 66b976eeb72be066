//! `hallmark ca …`.

use crate::args::{CaArgs, CaCommand};
use crate::error::CliError;
use crate::passphrase;
use crate::setup::{data_dir, load_config, open_station, open_store};
use ::time::OffsetDateTime;
use hallmark_ca::import::ImportKey;
use hallmark_ca::pkcs11::TokenRef;
use hallmark_ca::{CaStore, Reason};
use hallmark_station::broker_files::{fleet_broker_files, write_mosquitto, MosquittoOptions};
use hallmark_station::ca_hierarchy::sign_station;
use hallmark_station::ca_status::ca_status;
use hallmark_station::fleet_revocations::{pending_revocations, RevokeOutcome};
use hallmark_station::lifecycle::{expiring, parse_window};
use hallmark_store::Store;
use std::process::ExitCode;

pub fn run(cmd: CaCommand) -> Result<ExitCode, CliError> {
    match cmd {
        CaCommand::Init { ca, pkcs11_module, token, key_label, issuing_csr, name } => {
            let dir = data_dir(ca.data_dir.clone())?;
            let store = CaStore::new(dir.ca_dir());
            if store.exists() {
                return Err(CliError::Usage(format!("a CA already exists in {}", store.dir().display())));
            }
            if let Some(out) = issuing_csr {
                let name = match name {
                    Some(n) => n,
                    None => format!("Hallmark Issuing CA {}", load_config(&ca.station())?.config.station.id),
                };
                let token_ref = match (pkcs11_module, token, key_label) {
                    (Some(module), Some(token_label), Some(key_label)) => {
                        Some((TokenRef { module, token_label, key_label }, passphrase::token_pin()?))
                    }
                    _ => None,
                };
                let token = token_ref.as_ref().map(|(r, pin)| (r, pin.as_str()));
                let request = store.request_issuing(&name, &passphrase::obtain(true)?, token)?;
                std::fs::write(&out, &request)
                    .map_err(|source| CliError::Io { what: format!("cannot write {}", out.display()), source })?;
                println!(
                    "created the issuing key of {name:?} in {}; its request is in {}: have the fleet root sign it \
                     (hallmark ca sign-station --csr {}), then install the answer with hallmark ca import --cert \
                     ISSUING.pem --chain ROOT.pem",
                    store.dir().display(),
                    out.display(),
                    out.display()
                );
                return Ok(ExitCode::SUCCESS);
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
            let key =
                match (key, pkcs11_module, token, key_label) {
                    (Some(path), _, _, _) => {
                        key_text = read(&path)?;
                        ImportKey::File { pem: &key_text, passphrase: import_passphrase.as_deref() }
                    }
                    (None, Some(module), Some(token_label), Some(key_label)) => {
                        token_ref = TokenRef { module, token_label, key_label };
                        pin = passphrase::token_pin()?;
                        ImportKey::Token { token: &token_ref, pin: &pin }
                    }
                    (None, None, None, None) if store.pending_request().is_some() => ImportKey::Pending,
                    _ => return Err(CliError::Usage(
                        "give --key FILE, or --pkcs11-module with --token and --key-label (or, after hallmark ca init \
                         --issuing-csr, neither)"
                            .into(),
                    )),
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
        CaCommand::SignStation { csr, out, chain_out, days, actor, json, ca } => {
            let dir = data_dir(ca.data_dir.clone())?;
            let request = std::fs::read_to_string(&csr)
                .map_err(|source| CliError::Io { what: format!("cannot read {}", csr.display()), source })?;
            let actor = actor.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
            let signed = sign_station(&dir, &request, &passphrase::obtain(false)?, days, &actor)?;
            let chain_out = chain_out.unwrap_or_else(|| out.with_file_name("root.crt.pem"));
            for (path, text) in [(&out, &signed.cert_pem), (&chain_out, &signed.chain_pem)] {
                std::fs::write(path, text)
                    .map_err(|source| CliError::Io { what: format!("cannot write {}", path.display()), source })?;
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "name": signed.name, "serial": signed.serial_hex, "fingerprint": signed.fingerprint,
                        "key_sha256": signed.key_sha256, "not_after": rfc3339(signed.not_after),
                        "cert": out, "chain": chain_out,
                    })
                );
            } else {
                println!(
                    "signed {:?} (key sha256 {}; certificate serial {}, valid until {}): {} and {}",
                    signed.name,
                    signed.key_sha256,
                    signed.serial_hex,
                    rfc3339(signed.not_after),
                    out.display(),
                    chain_out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Revoke { target, reason, actor, ca } => {
            let reason: Reason = reason.parse().map_err(CliError::Usage)?;
            let station = open_station(&ca.station())?;
            let store = open_store(&station.data_dir)?;
            let actor = actor.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
            let outcome =
                station.revoke_or_queue(&store, &target, reason, &actor).map_err(|e| CliError::Usage(e.to_string()))?;
            print_revocation(&outcome, reason);
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Expiring { within, json, ca } => {
            let window = parse_window(&within).ok_or_else(|| {
                CliError::Usage(format!("--within {within:?}: give days (90d, or 90) or weeks (12w)"))
            })?;
            let store = open_store(&data_dir(ca.data_dir.clone())?)?;
            let ending = expiring(&store, OffsetDateTime::now_utc(), window)?;
            if json {
                println!("{}", serde_json::to_string(&ending).map_err(|e| CliError::Usage(e.to_string()))?);
            } else {
                println!("{} device certificates end within {within}", ending.len());
                for e in &ending {
                    let c = &e.certificate;
                    let when = if e.expired {
                        format!("ENDED {} days ago", -e.days_left)
                    } else {
                        format!("in {} days", e.days_left)
                    };
                    println!("  {} serial {} ends {} ({when})", c.uid, c.serial, c.not_after);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        CaCommand::Retire { uid, actor, ca } => {
            let station = open_station(&ca.station())?;
            let store = open_store(&station.data_dir)?;
            let actor = actor.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
            let outcome = station.retire(&store, &uid, &actor).map_err(|e| CliError::Usage(e.to_string()))?;
            print_revocation(&outcome, Reason::CessationOfOperation);
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
        CaCommand::BrokerConfig { mosquitto: _, out, hosts, port, bind, days, fleet, ca } => {
            let station = open_station(&ca.station())?;
            let store = open_store(&station.data_dir)?;
            // The broker loads the CRL the station re-writes on every revocation.
            let published = publish(&station, &store)?;
            let options = MosquittoOptions { hosts, port, bind, days };
            if fleet {
                let (files, bundle) =
                    fleet_broker_files(&station, &store, &out, &options).map_err(|e| CliError::Usage(e.to_string()))?;
                println!(
                    "wrote {} for the devices of stations {}; CRLs: {}",
                    files.conf.display(),
                    bundle.stations.join(", "),
                    bundle.crls.iter().map(|(s, n)| format!("{s} #{n}")).collect::<Vec<_>>().join(", ")
                );
                for s in &bundle.without_crl {
                    println!(
                        "warning: station {s} has published no CRL yet: the broker refuses its devices until it does \
                         (hallmark ca crl there, then hallmark fleet sync)"
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
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

/// What a revocation did, in words.
fn print_revocation(outcome: &RevokeOutcome, reason: Reason) {
    match outcome {
        RevokeOutcome::Revoked { serials, published } => {
            for serial in serials {
                println!("revoked {serial} ({reason})");
            }
            println!(
                "CRL #{} with {} entries written to {}",
                published.number,
                published.revoked,
                published.path.display()
            );
        }
        RevokeOutcome::Queued(requests) => {
            for r in requests {
                println!(
                    "queued the revocation of {} (UID {}, {}) for station {}, which issued it: it is revoked and \
                     published at that station's next sync (hallmark ca show lists it until then)",
                    r.serial, r.uid, r.reason, r.issuer_station
                );
            }
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
    let status = ca_status(&dir, &config.config, OffsetDateTime::now_utc()).map_err(CliError::Setup)?;
    // With a fleet: revocations asked anywhere that their issuing station has not
    // published yet (an unreachable fleet is said, not fatal).
    let pending = config.config.fleet.as_ref().map(pending_revocations);
    if as_json {
        let mut json = serde_json::to_value(&status).map_err(|e| CliError::Usage(e.to_string()))?;
        match &pending {
            Some(Ok(list)) => json["fleet_pending_revocations"] = serde_json::json!(list),
            Some(Err(e)) => json["fleet_error"] = serde_json::json!(e.to_string()),
            None => {}
        }
        println!("{json}");
    } else {
        match &pending {
            Some(Ok(list)) => {
                println!("{} revocations pending in the fleet", list.len());
                for r in list {
                    println!(
                        "  PENDING {} (UID {}, {}) asked at {} by {} on {}: waits for station {} to publish it",
                        r.serial, r.uid, r.reason, r.requested_by, r.actor, r.requested_at, r.issuer_station
                    );
                }
            }
            Some(Err(e)) => println!("fleet revocations unknown: {e}"),
            None => {}
        }
        for (name, info) in [("root", &status.root), ("issuing", &status.issuing)] {
            println!("{name:<8} {}", info.subject);
            println!("         valid {} .. {}", info.not_before, info.not_after);
            println!("         sha256 {}", info.sha256);
        }
        println!("issued {}, revoked {}", status.certificates_issued, status.certificates_revoked);
        match &status.crl {
            Some(c) => println!("CRL #{} ({} entries), next update {}", c.number, c.entries, c.next_update),
            None => println!("no CRL published yet"),
        }
        for w in &status.warnings {
            println!("warning: {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A time as RFC 3339 text.
fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&::time::format_description::well_known::Rfc3339).unwrap_or_default()
}
