//! The steps of a run, in order. Each returns its value and the detail to log.

use super::errors::{self, sanitize};
use super::{connect_serial, Run};
use crate::client::{unexpected, DeviceClient, LinkError};
use crate::transport::{Link, PortName};
use crate::{selftest, Failure, FailureCode, Uid};
use hallmark_ca::VerifiedCsr;
use hallmark_label::{render_pdf, LabelData};
use hallmark_protocol::{
    capability, DeviceInfo, KeyAlgorithm, ObjectId, Request, Response, NONCE_LEN, PROTOCOL_VERSION,
};
use hallmark_store::CertificateRecord;
use serde_json::json;
use sha2::{Digest, Sha256};

type StepResult<T> = Result<(T, serde_json::Value), Failure>;

/// What is written to the board and must read back identically.
struct Installation {
    certificate: Vec<u8>,
    chain: Vec<u8>,
    trust_anchor: Vec<u8>,
}

/// Runs every step on a serial port.
pub(crate) async fn all(run: &mut Run<'_>, port: &PortName) -> Result<(), Failure> {
    run.begin("connect")?;
    let timeouts = run.station.timeouts;
    let connected = connect_serial(port, timeouts).map(|c| (c, json!({ "port": port.as_str() })));
    let mut client = run.end(connected)?;
    provision(run, &mut client).await
}

/// Runs every step after `connect` on any link.
pub(crate) async fn provision<L: Link>(run: &mut Run<'_>, client: &mut DeviceClient<L>) -> Result<(), Failure> {
    run.begin("identify")?;
    let r = identify(run, client).await;
    let (info, uid) = run.end(r)?;

    run.begin("keygen")?;
    let r = keygen(client, &info).await;
    let public_key = run.end(r)?;

    run.begin("csr")?;
    let r = csr(client, &public_key).await;
    let csr = run.end(r)?;

    run.begin("sign")?;
    let r = sign(run, &uid, &csr);
    let installation = run.end(r)?;

    run.begin("install")?;
    let r = install(client, &installation).await;
    run.end(r)?;

    run.begin("readback")?;
    let r = readback(client, &installation).await;
    run.end(r)?;

    run.begin("selftest")?;
    let r = self_test(client, &installation.certificate).await;
    run.end(r)?;

    run.begin("label")?;
    let r = label(run, &uid, &info);
    run.end(r)?;

    run.begin("finish")?;
    let r = match client.call(&Request::Finish, client.timeouts().response).await {
        Ok(Response::Finished) => Ok(((), json!({ "link": client.stats() }))),
        Ok(other) => Err(errors::link("finish", unexpected("Finished", &other))),
        Err(e) => Err(errors::link("finish", e)),
    };
    run.end(r)
}

async fn identify<L: Link>(run: &mut Run<'_>, client: &mut DeviceClient<L>) -> StepResult<(DeviceInfo, Uid)> {
    let hello = Request::Hello { min_version: hallmark_protocol::MIN_PROTOCOL_VERSION, max_version: PROTOCOL_VERSION };
    let info = match client.call(&hello, client.timeouts().response).await {
        Ok(Response::Hello(info)) => info,
        Ok(other) => return Err(errors::link("identify", unexpected("Hello", &other))),
        Err(e) => return Err(errors::link("identify", e)),
    };
    if info.protocol_version != PROTOCOL_VERSION {
        return Err(Failure::new(
            FailureCode::UnsupportedProtocol,
            format!("The board chose protocol version {}, which this station does not speak. Update the station or the firmware.", info.protocol_version),
        ));
    }
    let hardware_id = hex::encode_upper(&info.hardware_id);
    run.report.hardware_id = Some(hardware_id.clone());
    run.report.model = Some(sanitize(&info.model));
    run.report.firmware_version = Some(sanitize(&info.firmware_version));
    let needed = capability::KEYGEN_P256 | capability::SELFTEST_SIGN;
    if info.capabilities & needed != needed {
        return Err(Failure::new(
            FailureCode::KeyUnsupported,
            "The board's firmware cannot generate a P-256 key or sign a self-test. Flash provisioning-capable firmware.",
        ));
    }
    let uid = Uid::from_hardware_id(&info.hardware_id).map_err(|e| {
        Failure::new(
            FailureCode::UidInvalid,
            format!("No UID can be formed from hardware id {hardware_id}: {e}. Set the board aside for engineering."),
        )
    })?;
    run.report.uid = Some(uid.to_string());
    if info.has_certificate {
        return Err(Failure::new(
            FailureCode::AlreadyProvisioned,
            format!("Board {uid} already has an identity installed. Re-provisioning is not enabled on this station: put the board aside for QA."),
        ));
    }
    let issued = run.station.store.certificates_for_uid(uid.as_str()).map_err(errors::log_failed)?;
    if let Some((serial, _)) = issued.first() {
        return Err(Failure::new(
            FailureCode::AlreadyProvisioned,
            format!(
                "A certificate (serial {serial}) was already issued for UID {uid}, but the board does not hold it \
                 (an earlier run was interrupted). A second identity is never issued automatically: put the board \
                 aside for QA."
            ),
        ));
    }
    let detail = json!({
        "uid": uid.as_str(),
        "hardware_id": hardware_id,
        "model": run.report.model,
        "firmware_version": run.report.firmware_version,
        "protocol_version": info.protocol_version,
        "capabilities": info.capabilities,
        "has_key": info.has_key,
    });
    Ok(((info, uid), detail))
}

async fn keygen<L: Link>(client: &mut DeviceClient<L>, info: &DeviceInfo) -> StepResult<Vec<u8>> {
    let req = Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 };
    let public_key = match client.call(&req, client.timeouts().keygen).await {
        Ok(Response::KeyGenerated { algorithm: KeyAlgorithm::EcdsaP256, public_key }) => public_key,
        Ok(other) => return Err(errors::link("keygen", unexpected("KeyGenerated", &other))),
        Err(e) => return Err(errors::link("keygen", e)),
    };
    if public_key.len() != 65 || public_key[0] != 0x04 {
        return Err(errors::link(
            "keygen",
            LinkError::Unexpected("public key is not an uncompressed P-256 point".into()),
        ));
    }
    Ok((public_key.clone(), json!({ "public_key": hex::encode(&public_key), "replaced_key": info.has_key })))
}

async fn csr<L: Link>(client: &mut DeviceClient<L>, public_key: &[u8]) -> StepResult<VerifiedCsr> {
    let der = client.read_object(ObjectId::Csr).await.map_err(|e| errors::link("csr", e))?;
    let csr = VerifiedCsr::from_der(&der).map_err(errors::csr)?;
    if csr.public_key != public_key {
        return Err(Failure::new(
            FailureCode::CsrKeyMismatch,
            "The board's certificate request is for a different key than the one it just generated. No certificate \
             was issued. Set the board aside for engineering.",
        ));
    }
    let detail = json!({ "csr_sha256": hex::encode(Sha256::digest(&der)), "csr_len": der.len() });
    Ok((csr, detail))
}

fn sign(run: &mut Run<'_>, uid: &Uid, csr: &VerifiedCsr) -> StepResult<Installation> {
    let station = run.station;
    let now = time::OffsetDateTime::now_utc();
    let cert = station.ca.issue(uid.as_str(), csr, &station.leaf_profile, now).map_err(|e| {
        Failure::new(
            FailureCode::SigningFailed,
            format!("The station's CA could not sign ({e}). Call the line engineer."),
        )
    })?;
    let rfc3339 =
        |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    // Recorded before the certificate leaves the station.
    station
        .store
        .record_certificate(
            run.id,
            &CertificateRecord {
                uid: uid.as_str(),
                serial: &cert.serial_hex,
                fingerprint: &cert.fingerprint,
                not_before: &rfc3339(cert.not_before),
                not_after: &rfc3339(cert.not_after),
                pem: &cert.pem,
                csr: &csr.raw,
            },
        )
        .map_err(errors::log_failed)?;
    run.report.cert_pem = Some(cert.pem.clone());
    run.report.chain_pem = Some(station.ca.chain_pem());
    run.report.cert_serial = Some(cert.serial_hex.clone());
    run.report.cert_fingerprint = Some(cert.fingerprint.clone());
    let detail =
        json!({ "serial": cert.serial_hex, "fingerprint": cert.fingerprint, "not_after": rfc3339(cert.not_after) });
    let installation = Installation {
        certificate: cert.der,
        chain: station.ca.chain_der(),
        trust_anchor: station.ca.root_der().to_vec(),
    };
    Ok((installation, detail))
}

async fn install<L: Link>(client: &mut DeviceClient<L>, inst: &Installation) -> StepResult<()> {
    let fail = |e| errors::link("install", e);
    client.write_object(ObjectId::Certificate, &inst.certificate).await.map_err(fail)?;
    client.write_object(ObjectId::Chain, &inst.chain).await.map_err(fail)?;
    client.write_object(ObjectId::TrustAnchor, &inst.trust_anchor).await.map_err(fail)?;
    let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
    let commit = Request::CommitInstall {
        certificate_sha256: sha(&inst.certificate),
        chain_sha256: sha(&inst.chain),
        trust_anchor_sha256: sha(&inst.trust_anchor),
    };
    match client.call(&commit, client.timeouts().response).await {
        Ok(Response::Installed) => {}
        Ok(other) => return Err(fail(unexpected("Installed", &other))),
        Err(e) => return Err(fail(e)),
    }
    let detail = json!({
        "certificate_len": inst.certificate.len(), "chain_len": inst.chain.len(), "trust_anchor_len": inst.trust_anchor.len(),
    });
    Ok(((), detail))
}

async fn readback<L: Link>(client: &mut DeviceClient<L>, inst: &Installation) -> StepResult<()> {
    let expected = [
        (ObjectId::Certificate, &inst.certificate, "certificate"),
        (ObjectId::Chain, &inst.chain, "chain"),
        (ObjectId::TrustAnchor, &inst.trust_anchor, "trust anchor"),
    ];
    let mut detail = serde_json::Map::new();
    for (object, written, name) in expected {
        let read = client.read_object(object).await.map_err(|e| errors::link("readback", e))?;
        if &read != written {
            return Err(Failure::new(
                FailureCode::ReadbackMismatch,
                format!(
                    "The board returned a different {name} than was written ({} bytes read, {} written). Its storage \
                     may be faulty: set the board aside for engineering.",
                    read.len(),
                    written.len()
                ),
            ));
        }
        detail.insert(format!("{}_sha256", name.replace(' ', "_")), json!(hex::encode(Sha256::digest(&read))));
    }
    Ok(((), serde_json::Value::Object(detail)))
}

async fn self_test<L: Link>(client: &mut DeviceClient<L>, certificate: &[u8]) -> StepResult<()> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let signature = match client.call(&Request::SelfTest { nonce }, client.timeouts().response).await {
        Ok(Response::SelfTest { signature }) => signature,
        Ok(other) => return Err(errors::link("selftest", unexpected("SelfTest", &other))),
        Err(e) => return Err(errors::link("selftest", e)),
    };
    selftest::verify_possession(certificate, &nonce, &signature).map_err(|why| {
        Failure::new(
            FailureCode::SelftestFailed,
            format!("The board could not prove it holds the key of its new certificate ({why}). Set it aside for engineering."),
        )
    })?;
    Ok(((), json!({ "mode": "possession", "nonce": hex::encode(nonce) })))
}

fn label(run: &mut Run<'_>, uid: &Uid, info: &DeviceInfo) -> StepResult<()> {
    let station = run.station;
    let date = time::OffsetDateTime::now_utc().date().to_string();
    let data = LabelData::new()
        .with("uid", uid.as_str())
        .with("hardware_id", hex::encode_upper(&info.hardware_id))
        .with("model", sanitize(&info.model))
        .with("firmware", sanitize(&info.firmware_version))
        .with("date", date)
        .with("station", station.station_name.clone());
    let label_failed = |why: String| {
        Failure::new(
            FailureCode::LabelFailed,
            format!("The label could not be produced ({why}). Call the line engineer."),
        )
    };
    let pdf = render_pdf(&station.label_template, &data).map_err(|e| label_failed(e.to_string()))?;
    let dir = station.data_dir.labels_dir();
    std::fs::create_dir_all(&dir).map_err(|e| label_failed(format!("{}: {e}", dir.display())))?;
    let short_run = run.report.run_id.get(..8).unwrap_or_default().to_string();
    let path = dir.join(format!("{uid}-{short_run}.pdf"));
    std::fs::write(&path, &pdf).map_err(|e| label_failed(format!("{}: {e}", path.display())))?;
    run.report.label_pdf = Some(path.display().to_string());
    let detail = json!({
        "path": path.display().to_string(), "sha256": hex::encode(Sha256::digest(&pdf)),
        "template": station.label_template.name,
    });
    Ok(((), detail))
}
