//! The steps of a run, in order. Each returns its value and the detail to log.

use super::errors::{self, sanitize};
use super::plan::{self, Facts, Plan};
use super::{connect_serial, step_deadline, LinkTarget, Run, Step};
use crate::client::{unexpected, DeviceClient, LinkError, Timeouts};
use crate::probe::{rtt_link, ProbeTarget, RttTiming};
use crate::transport::Link;
use crate::uid::scheme;
use crate::{selftest, Failure, FailureCode, Uid};
use hallmark_ca::{fingerprint, Device, KeyAlgorithm as CertKeyAlgorithm, VerifiedCsr};
use hallmark_label::LabelError;
use hallmark_label::{render_pdf, LabelData};
use hallmark_protocol::{
    capability, DeviceInfo, KeyAlgorithm, ObjectId, Request, Response, NONCE_LEN, PROTOCOL_VERSION,
};
use hallmark_store::{CertificateRecord, IssuedCertificate, RevokedBy};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::future::Future;

type StepResult<T> = Result<(T, serde_json::Value), Failure>;

/// What is written to the board and must read back identically.
struct Installation {
    serial: String,
    certificate: Vec<u8>,
    chain: Vec<u8>,
    trust_anchor: Vec<u8>,
}

/// Runs every step on the request's link.
pub(crate) async fn all(run: &mut Run<'_>) -> Result<(), Failure> {
    run.begin(Step::Connect)?;
    match &run.request.port {
        LinkTarget::Serial(port) => {
            let connected = connect_serial(port, run.station.timeouts).map(|c| (c, json!({ "port": port.as_str() })));
            let mut client = run.end(connected)?;
            provision(run, &mut client).await
        }
        LinkTarget::Probe(target) => {
            let target = target.clone();
            let connected = attach_probe(run.station, &target).await;
            let (attached, chip_uid) = run.end(connected)?;
            run.chip_uid = chip_uid;
            let mut client = DeviceClient::new(rtt_link(attached, RttTiming::default()), run.station.timeouts);
            provision(run, &mut client).await
        }
    }
}

/// Attaches through the station's probe backend (blocking, off the runtime) within
/// the connect step's deadline.
async fn attach_probe(
    station: &super::Station,
    target: &ProbeTarget,
) -> StepResult<(Box<dyn crate::probe::RttPort>, Option<Vec<u8>>)> {
    let deadline = step_deadline(Step::Connect, &station.timeouts);
    let probes = station.probes.clone();
    let t = target.clone();
    let attached = tokio::task::spawn_blocking(move || probes.attach(&t, deadline)).await.map_err(|e| {
        Failure::new(FailureCode::ProbeFailed, format!("The probe task failed ({e})."), "Call the line engineer.")
    })?;
    let attached = attached.map_err(errors::probe)?;
    let (uid, uid_note) = match &attached.chip_uid {
        Ok(id) => (Some(id.clone()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let detail = json!({
        "probe": attached.probe, "selector": target.selector, "chip": target.chip,
        "chip_uid": uid.as_ref().map(hex::encode_upper), "chip_uid_note": uid_note, "flash": attached.flashed,
    });
    Ok(((attached.port, uid), detail))
}

/// Runs `work` as step `name` with the step's overall deadline.
async fn bounded<T>(timeouts: Timeouts, name: Step, work: impl Future<Output = StepResult<T>>) -> StepResult<T> {
    bounded_by(step_deadline(name, &timeouts), name, work).await
}

/// Runs `work` as step `name` within `deadline`.
async fn bounded_by<T>(
    deadline: std::time::Duration,
    name: Step,
    work: impl Future<Output = StepResult<T>>,
) -> StepResult<T> {
    match tokio::time::timeout(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(errors::link(name, LinkError::Timeout { waited: deadline })),
    }
}

/// Runs a read-only step, retrying it once on a link fault: reading twice is safe.
async fn read_step<L: Link, T>(
    run: &mut Run<'_>,
    name: Step,
    client: &mut DeviceClient<L>,
    f: impl AsyncFn(&mut DeviceClient<L>) -> StepResult<T>,
) -> Result<T, Failure> {
    run.begin(name)?;
    let t = run.station.timeouts;
    let mut result = bounded(t, name, f(client)).await;
    let retryable = |r: &StepResult<T>| matches!(r, Err(f) if matches!(f.code, FailureCode::LinkCorrupt | FailureCode::DeviceTimeout));
    if retryable(&result) {
        result = bounded(t, name, f(client)).await.map(|(v, mut d)| {
            d["retried"] = json!(true);
            (v, d)
        });
    }
    run.end(result)
}

/// Runs every step after `connect` on any link, following the plan.
pub(crate) async fn provision<L: Link>(run: &mut Run<'_>, client: &mut DeviceClient<L>) -> Result<(), Failure> {
    let t = run.station.timeouts;
    run.begin(Step::Identify)?;
    let r = bounded(t, Step::Identify, identify(run, client)).await;
    let (info, uid, plan) = run.end(r)?;
    run.record_identity()?;

    // Nothing is signed for a board whose label cannot be made.
    run.begin(Step::LabelCheck)?;
    let r = label_check(run, &uid, &info);
    run.end(r)?;

    let needs_install = !matches!(plan, Plan::Reverify { .. });
    let binding = CsrBinding::of(&info);
    let installation = match plan {
        Plan::Fresh { supersede } => {
            run.begin(Step::Keygen)?;
            let r = bounded(t, Step::Keygen, keygen(client, &info)).await;
            let public_key = run.end(r)?;
            let csr = csr_step(run, client, Some(public_key), binding).await?;
            sign_step(run, &uid, &csr, &supersede)?
        }
        Plan::Reissue { supersede } => {
            let csr = csr_step(run, client, None, binding).await?;
            sign_step(run, &uid, &csr, &supersede)?
        }
        Plan::ResumeInstall { serial } => {
            let cert = issued(run, &uid, &serial)?;
            let key = cert_public_key(&cert)?;
            let csr = csr_step(run, client, None, binding).await?;
            if csr.public_key == key {
                reuse(run, &cert)?
            } else {
                // The board has a new key since: that certificate can never be used.
                sign_step(run, &uid, &csr, &[serial])?
            }
        }
        Plan::Reverify { serial } => {
            let cert = issued(run, &uid, &serial)?;
            reuse(run, &cert)?
        }
    };
    if needs_install {
        run.begin(Step::Install)?;
        let r = bounded(t, Step::Install, install(client, &installation)).await;
        run.end(r)?;
    }
    read_step(run, Step::Readback, client, async |c| readback(c, &installation).await).await?;

    run.begin(Step::Selftest)?;
    let r = bounded_by(
        selftest_deadline(run.station),
        Step::Selftest,
        self_test(client, run.station, &info, uid.as_str(), &installation.certificate),
    )
    .await;
    run.end(r)?;

    run.begin(Step::Finish)?;
    let r = match client.call(&Request::Finish, client.timeouts().response).await {
        Ok(Response::Finished) => Ok(((), json!({ "link": client.stats() }))),
        Ok(other) => Err(errors::link(Step::Finish, unexpected("an end of session", &other))),
        Err(e) => Err(errors::link(Step::Finish, e)),
    };
    run.end(r)?;

    // Printed last, so that no label exists for a run that did not pass.
    run.begin(Step::Label)?;
    let r = label(run, &uid, &info, &installation);
    run.end(r)
}

/// How this board's CSR is bound to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CsrBinding {
    /// The board puts a station challenge into its CSR.
    Challenge,
    /// The board cannot (built to the original protocol).
    None,
}

impl CsrBinding {
    fn of(info: &DeviceInfo) -> CsrBinding {
        if info.capabilities & capability::CSR_CHALLENGE != 0 {
            CsrBinding::Challenge
        } else {
            CsrBinding::None
        }
    }
}

/// The `csr` step: bind, read and verify the board's CSR (read-only, so retried once).
async fn csr_step<L: Link>(
    run: &mut Run<'_>,
    client: &mut DeviceClient<L>,
    expected_key: Option<Vec<u8>>,
    binding: CsrBinding,
) -> Result<VerifiedCsr, Failure> {
    let allowed = run.station.leaf_profile.key_algorithms.clone();
    read_step(run, Step::Csr, client, async |c| csr(c, expected_key.clone(), &allowed, binding).await).await
}

async fn identify<L: Link>(run: &mut Run<'_>, client: &mut DeviceClient<L>) -> StepResult<(DeviceInfo, Uid, Plan)> {
    let hello = Request::Hello { min_version: hallmark_protocol::MIN_PROTOCOL_VERSION, max_version: PROTOCOL_VERSION };
    let info = match client.call(&hello, client.timeouts().response).await {
        Ok(Response::Hello(info)) => info,
        Ok(other) => return Err(errors::link(Step::Identify, unexpected("its description", &other))),
        Err(e) => return Err(errors::link(Step::Identify, e)),
    };
    if info.protocol_version != PROTOCOL_VERSION {
        return Err(Failure::new(
            FailureCode::UnsupportedProtocol,
            format!("The board chose protocol version {}, which this station does not speak.", info.protocol_version),
            "Update the station or the firmware.",
        ));
    }
    let hardware_id = hex::encode_upper(&info.hardware_id);
    if let Some(chip) = &run.chip_uid {
        if chip != &info.hardware_id {
            return Err(Failure::new(
                FailureCode::UidCollision,
                format!(
                    "The chip's unique id read over SWD is {} but the firmware reports {hardware_id}. The firmware \
                     reports a wrong or copied id.",
                    hex::encode_upper(chip)
                ),
                "Set the board aside for engineering.",
            ));
        }
    }
    let firmware = sanitize(&info.firmware_version);
    run.report.hardware_id = Some(hardware_id.clone());
    run.report.model = Some(sanitize(&info.model));
    run.report.firmware_version = Some(firmware.clone());
    run.report.sbom =
        run.station.config.config.firmware(&firmware).map(|f| json!({ "sbom": f.sbom, "sha256": f.sbom_sha256 }));
    let needed = capability::KEYGEN_P256 | capability::SELFTEST_SIGN;
    if info.capabilities & needed != needed {
        return Err(Failure::new(
            FailureCode::KeyUnsupported,
            "The board's firmware cannot generate a P-256 key or sign a self-test.",
            "Flash provisioning-capable firmware.",
        ));
    }
    if run.station.config.config.certificate.csr_binding == hallmark_config::CsrBinding::Required
        && CsrBinding::of(&info) == CsrBinding::None
    {
        return Err(Failure::new(
            FailureCode::CsrNotBound,
            "This board's firmware cannot bind its certificate request to the session, and this station requires it. \
             Nothing was generated or issued.",
            "Flash firmware with CSR binding, or ask the line engineer.",
        )
        .with_detail(format!("capabilities {:#x} lack CSR_CHALLENGE", info.capabilities)));
    }
    let uid = assign_uid(run, &info, &hardware_id)?;
    run.report.uid = Some(uid.to_string());
    let installed_fingerprint = if info.has_certificate {
        let der = client.read_object(ObjectId::Certificate).await.map_err(|e| errors::link(Step::Identify, e))?;
        Some(fingerprint(&der))
    } else {
        None
    };
    let issued = run.store.certificates(uid.as_str()).map_err(errors::log_failed)?;
    let store = run.store;
    let passed_since = |serial: &str| store.passed_since(uid.as_str(), serial).map_err(errors::log_failed);
    let plan = plan::decide(&Facts {
        uid: uid.as_str(),
        issued: &issued,
        installed_fingerprint: installed_fingerprint.as_deref(),
        board_has_key: info.has_key,
        policy: run.station.config.config.reprovision.policy,
        passed_since: &passed_since,
    })?;
    run.report.plan = Some(plan.name().to_string());
    let detail = json!({
        "uid": uid.as_str(),
        "hardware_id": hardware_id,
        "model": run.report.model,
        "firmware_version": firmware,
        "sbom": run.report.sbom,
        "protocol_version": info.protocol_version,
        "capabilities": info.capabilities,
        "csr_binding": CsrBinding::of(&info) == CsrBinding::Challenge,
        "has_key": info.has_key,
        "installed_fingerprint": installed_fingerprint,
        "plan": plan,
    });
    Ok(((info, uid, plan), detail))
}

fn assign_uid(run: &Run<'_>, info: &DeviceInfo, hardware_id: &str) -> Result<Uid, Failure> {
    let uid_invalid = |e: crate::uid::UidError| {
        Failure::new(
            FailureCode::UidInvalid,
            format!("No UID for this board (hardware id {hardware_id}): {e}."),
            "Set the board aside for engineering.",
        )
    };
    let config = &run.station.config.config;
    let choice = scheme::choose(
        &config.uid,
        &info.hardware_id,
        run.request.scanned_uid.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
    .map_err(uid_invalid)?;
    let name = scheme::scheme_name(&config.uid);
    let assigned = scheme::with_store_choice(&choice, |c| run.store.assign_uid(run.id, hardware_id, name, c))
        .map_err(errors::uid_store)?;
    Uid::parse(&assigned.uid).map_err(uid_invalid)
}

async fn keygen<L: Link>(client: &mut DeviceClient<L>, info: &DeviceInfo) -> StepResult<Vec<u8>> {
    let req = Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 };
    let (algorithm, public_key) = match client.call(&req, client.timeouts().keygen).await {
        Ok(Response::KeyGenerated { algorithm, public_key }) => (algorithm, public_key),
        Ok(other) => return Err(errors::link(Step::Keygen, unexpected("a public key", &other))),
        Err(e) => return Err(errors::link(Step::Keygen, e)),
    };
    check_public_key(algorithm, &public_key)?;
    Ok((public_key.clone(), json!({ "public_key": hex::encode(&public_key), "replaced_key": info.has_key })))
}

/// A key the station asked for (P-256) as a valid uncompressed point, checked when it
/// arrives rather than when the CSR fails to verify.
fn check_public_key(algorithm: KeyAlgorithm, public_key: &[u8]) -> Result<(), Failure> {
    let unsupported = |words: String| {
        Failure::new(
            FailureCode::KeyUnsupported,
            format!("The board generated {words}, but the station asked for an ECDSA P-256 key. Nothing was issued."),
            "Flash firmware that generates P-256 keys.",
        )
        .with_detail(format!(
            "KeyGenerated algorithm index {}, public key of {} bytes: {}",
            algorithm.index(),
            public_key.len(),
            hex::encode(&public_key[..public_key.len().min(16)])
        ))
    };
    if algorithm != KeyAlgorithm::EcdsaP256 {
        return Err(unsupported(format!("{} key", with_article(algorithm.words()))));
    }
    match (public_key.len(), public_key.first()) {
        (65, Some(0x04)) => {}
        (33, Some(0x02 | 0x03)) => return Err(unsupported("a key sent as a compressed point".into())),
        (97, Some(0x04)) | (49, Some(0x02 | 0x03)) => return Err(unsupported("an ECDSA P-384 key".into())),
        (133, Some(0x04)) | (67, Some(0x02 | 0x03)) => return Err(unsupported("an ECDSA P-521 key".into())),
        (n, _) => return Err(unsupported(format!("a public key of {n} bytes that is no P-256 point"))),
    }
    if p256::PublicKey::from_sec1_bytes(public_key).is_err() {
        return Err(Failure::new(
            FailureCode::KeyInvalid,
            "The board reported a public key that is not a valid P-256 key (not a point on the curve). Nothing was \
             issued. Its firmware or key storage is faulty.",
            "Set the board aside for engineering.",
        )
        .with_detail(format!("public key {}", hex::encode(public_key))));
    }
    Ok(())
}

/// "an ECDSA P-384" / "an Ed25519" / "an unknown key type".
fn with_article(words: &str) -> String {
    if words.starts_with("an ") {
        words.to_string()
    } else if words.starts_with(['A', 'E', 'I', 'O', 'U']) {
        format!("an {words}")
    } else {
        format!("a {words}")
    }
}

/// Binds (when the board can), reads and verifies the CSR; `expected_key` is the key
/// the board just generated.
async fn csr<L: Link>(
    client: &mut DeviceClient<L>,
    expected_key: Option<Vec<u8>>,
    allowed: &[CertKeyAlgorithm],
    binding: CsrBinding,
) -> StepResult<VerifiedCsr> {
    let challenge = match binding {
        CsrBinding::Challenge => {
            let challenge: [u8; NONCE_LEN] = rand::random();
            match client.call(&Request::CsrChallenge { challenge }, client.timeouts().response).await {
                Ok(Response::ChallengeAccepted) => {}
                Ok(other) => return Err(errors::link(Step::Csr, unexpected("a challenge acknowledgement", &other))),
                Err(e) => return Err(errors::link(Step::Csr, e)),
            }
            Some(hex::encode(challenge))
        }
        CsrBinding::None => None,
    };
    let der = client.read_object(ObjectId::Csr).await.map_err(|e| errors::link(Step::Csr, e))?;
    let csr = VerifiedCsr::from_der(&der).map_err(errors::csr)?;
    if !allowed.contains(&csr.algorithm) {
        return Err(errors::csr(hallmark_ca::CaError::CsrAlgorithm(csr.algorithm.words().to_string())));
    }
    if expected_key.is_some_and(|k| k != csr.public_key) {
        return Err(Failure::new(
            FailureCode::CsrKeyMismatch,
            "The board's certificate request is for a different key than the one it just generated. No certificate \
             was issued.",
            "Set the board aside for engineering.",
        ));
    }
    if let Some(expected) = &challenge {
        if csr.challenge.as_deref() != Some(expected.as_str()) {
            return Err(Failure::new(
                FailureCode::CsrNotBound,
                "The board's certificate request does not carry this session's challenge: it may have been recorded \
                 from another board. No certificate was issued.",
                "Set the board aside for engineering.",
            )
            .with_detail(match &csr.challenge {
                Some(c) => {
                    format!("challengePassword {:?}, expected {expected}", c.chars().take(80).collect::<String>())
                }
                None => format!("no challengePassword, expected {expected}"),
            }));
        }
    }
    let detail = json!({
        "csr_sha256": hex::encode(Sha256::digest(&der)), "csr_len": der.len(), "bound": challenge.is_some(),
        "key_sha256": hallmark_store::key_sha256(&csr.spki_der),
    });
    Ok((csr, detail))
}

/// The `sign` step: revoke what this certificate supersedes, then sign.
fn sign_step(run: &mut Run<'_>, uid: &Uid, csr: &VerifiedCsr, supersede: &[String]) -> Result<Installation, Failure> {
    run.begin(Step::Sign)?;
    let r = sign(run, uid, csr, supersede);
    run.end(r)
}

fn sign(run: &mut Run<'_>, uid: &Uid, csr: &VerifiedCsr, supersede: &[String]) -> StepResult<Installation> {
    let (station, store) = (run.station, run.store);
    // Whatever would stop the signing is checked before anything is revoked.
    let now = station.clock.now();
    if now >= station.ca.issuing_not_after() {
        return Err(Failure::new(
            FailureCode::SigningFailed,
            format!(
                "The station's issuing CA expired on {}. Nothing was revoked or issued.",
                station.ca.issuing_not_after()
            ),
            "Call the line engineer to renew it.",
        ));
    }
    // One public key, one identity: a key certified for another UID (a copied key, a
    // replayed CSR) is refused before anything is revoked or signed.
    let key_id = hallmark_store::key_sha256(&csr.spki_der);
    if let Some(owner) = store.key_owner(&key_id).map_err(errors::log_failed)? {
        if owner != uid.as_str() {
            return Err(errors::key_reused(&owner, &key_id));
        }
    }
    // Revoked before the new one exists: a crash in between leaves zero valid
    // certificates (resumable), never two.
    for serial in supersede {
        store.record_revocation(RevokedBy::Run(run.id), serial, "superseded").map_err(errors::log_failed)?;
        run.report.revoked_serials.push(serial.clone());
    }
    let unpublished = store.unpublished_revocations().map_err(errors::log_failed)?;
    if !supersede.is_empty() || unpublished {
        let published = station.publish_crl(store).map_err(|e| {
            Failure::new(
                FailureCode::CrlPublishFailed,
                format!("The old certificate was revoked but the CRL could not be published ({e})."),
                "Call the line engineer; run the board again afterwards.",
            )
        })?;
        run.report.crl_number = Some(published.number);
    }
    let hardware_id = run.report.hardware_id.clone().unwrap_or_default();
    let device = Device { uid: uid.as_str(), hardware_id: &hardware_id };
    let cert = station.ca.issue(device, csr, &station.leaf_profile, now).map_err(|e| {
        Failure::new(
            FailureCode::SigningFailed,
            format!("The station's CA could not sign ({e})."),
            "Call the line engineer.",
        )
    })?;
    let rfc3339 =
        |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    // Recorded before the certificate leaves the station.
    store
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
                key_sha256: &key_id,
            },
        )
        .map_err(|e| match e {
            hallmark_store::StoreError::KeyBound { uid: owner } => errors::key_reused(&owner, &key_id),
            other => errors::log_failed(other),
        })?;
    set_certificate(run, &cert.pem, &cert.serial_hex, &cert.fingerprint);
    let detail = json!({
        "serial": cert.serial_hex, "fingerprint": cert.fingerprint, "not_after": rfc3339(cert.not_after),
        "superseded": supersede,
    });
    let installation = Installation {
        serial: cert.serial_hex,
        certificate: cert.der,
        chain: station.ca.chain_der(),
        trust_anchor: station.ca.root_der().to_vec(),
    };
    Ok((installation, detail))
}

fn set_certificate(run: &mut Run<'_>, pem: &str, serial: &str, fingerprint: &str) {
    run.report.cert_pem = Some(pem.to_string());
    run.report.chain_pem = Some(run.station.ca.chain_pem());
    run.report.cert_serial = Some(serial.to_string());
    run.report.cert_fingerprint = Some(fingerprint.to_string());
}

/// The certificate with `serial` from the log.
fn issued(run: &Run<'_>, uid: &Uid, serial: &str) -> Result<IssuedCertificate, Failure> {
    run.store
        .certificates(uid.as_str())
        .map_err(errors::log_failed)?
        .into_iter()
        .find(|c| c.serial == serial)
        .ok_or_else(|| log_corrupt(format!("certificate {serial} vanished from the log")))
}

fn cert_der(cert: &IssuedCertificate) -> Result<Vec<u8>, Failure> {
    x509_parser::pem::parse_x509_pem(cert.pem.as_bytes())
        .map(|(_, p)| p.contents)
        .map_err(|e| log_corrupt(format!("certificate {} in the log is unreadable: {e}", cert.serial)))
}

fn cert_public_key(cert: &IssuedCertificate) -> Result<Vec<u8>, Failure> {
    let der = cert_der(cert)?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&der)
        .map_err(|e| log_corrupt(format!("certificate {} unreadable: {e}", cert.serial)))?;
    Ok(parsed.public_key().subject_public_key.data.to_vec())
}

/// Uses a certificate issued in an earlier run (no new certificate).
fn reuse(run: &mut Run<'_>, cert: &IssuedCertificate) -> Result<Installation, Failure> {
    let der = cert_der(cert)?;
    set_certificate(run, &cert.pem, &cert.serial, &cert.fingerprint);
    Ok(Installation {
        serial: cert.serial.clone(),
        certificate: der,
        chain: run.station.ca.chain_der(),
        trust_anchor: run.station.ca.root_der().to_vec(),
    })
}

async fn install<L: Link>(client: &mut DeviceClient<L>, inst: &Installation) -> StepResult<()> {
    let fail = |e| errors::link(Step::Install, e);
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
        Ok(other) => return Err(fail(unexpected("an install confirmation", &other))),
        Err(e) => return Err(fail(e)),
    }
    let detail = json!({
        "serial": inst.serial, "certificate_len": inst.certificate.len(), "chain_len": inst.chain.len(),
        "trust_anchor_len": inst.trust_anchor.len(),
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
        let read = client.read_object(object).await.map_err(|e| errors::link(Step::Readback, e))?;
        if &read != written {
            return Err(Failure::new(
                FailureCode::ReadbackMismatch,
                format!(
                    "The board returned a different {name} than was written ({} bytes read, {} written). Its storage \
                     may be faulty.",
                    read.len(),
                    written.len()
                ),
                "Set the board aside for engineering.",
            ));
        }
        detail.insert(format!("{}_sha256", name.replace(' ', "_")), json!(hex::encode(Sha256::digest(&read))));
    }
    Ok(((), serde_json::Value::Object(detail)))
}

/// The self-test step's deadline: the usual one, plus the broker's window twice
/// (the station's subscribe, then the board's connect and publish) in broker mode.
fn selftest_deadline(station: &super::Station) -> std::time::Duration {
    let base = step_deadline(Step::Selftest, &station.timeouts);
    match &station.config.config.selftest.broker {
        Some(b) if station.config.config.selftest.mode == hallmark_config::SelftestMode::Broker => {
            base + std::time::Duration::from_millis(2 * b.timeout_ms as u64)
        }
        _ => base,
    }
}

/// Runs the configured self-test against the installed `certificate`; also used on
/// its own to re-check a provisioned board.
pub(crate) async fn self_test<L: Link>(
    client: &mut DeviceClient<L>,
    station: &super::Station,
    info: &DeviceInfo,
    uid: &str,
    certificate: &[u8],
) -> StepResult<()> {
    use hallmark_config::SelftestMode;
    let offers_link = info.capabilities & capability::SELFTEST_TLS_LINK != 0;
    let mode = station.config.config.selftest.mode;
    let lacks = |what: &str, mode: &str| {
        Err(Failure::new(
            FailureCode::SelftestFailed,
            format!("The station is set to the {what} self-test, but this board's firmware does not offer it."),
            format!("Flash firmware that does, or set [selftest] mode = \"auto\" (now {mode:?})."),
        )
        .with_reason("unsupported"))
    };
    match (mode, offers_link) {
        (SelftestMode::Broker, _) => return broker_self_test(client, station, info, uid, certificate, lacks).await,
        (SelftestMode::Link, false) => return lacks("TLS link", "link"),
        (SelftestMode::Link | SelftestMode::Auto, true) => {
            return match selftest::tls_link(client, &station.ca, certificate).await {
                Ok(evidence) => Ok(((), json!({ "mode": "link", "evidence": evidence }))),
                Err(selftest::LinkFailure::Link(e)) => Err(errors::link(Step::Selftest, e)),
                Err(selftest::LinkFailure::Unsupported(detail)) => {
                    lacks("TLS link", "link").map_err(|f| f.with_detail(detail))
                }
                Err(selftest::LinkFailure::Refused(why)) => Err(Failure::new(
                    FailureCode::SelftestFailed,
                    format!(
                        "The board could not complete a mutual-TLS handshake with its new identity: {}.",
                        sanitize(&why)
                    ),
                    "Set it aside for engineering.",
                )
                .with_reason("tls-refused")),
            };
        }
        _ => {}
    }
    let nonce: [u8; NONCE_LEN] = rand::random();
    let signature = match client.call(&Request::SelfTest { nonce }, client.timeouts().response).await {
        Ok(Response::SelfTest { signature }) => signature,
        Ok(other) => return Err(errors::link(Step::Selftest, unexpected("a self-test signature", &other))),
        Err(e) => return Err(errors::link(Step::Selftest, e)),
    };
    selftest::verify_possession(certificate, &nonce, &signature).map_err(|why| {
        Failure::new(
            FailureCode::SelftestFailed,
            format!("The board could not prove it holds the key of its new certificate ({why})."),
            "Set it aside for engineering.",
        )
        .with_reason("wrong-key")
    })?;
    Ok(((), json!({ "mode": "possession", "nonce": hex::encode(nonce) })))
}

async fn broker_self_test<L: Link>(
    client: &mut DeviceClient<L>,
    station: &super::Station,
    info: &DeviceInfo,
    uid: &str,
    certificate: &[u8],
    lacks: impl Fn(&str, &str) -> StepResult<()>,
) -> StepResult<()> {
    let Some(broker) = &station.config.config.selftest.broker else {
        // The configuration is validated at load: broker mode always has a broker.
        return lacks("broker", "broker");
    };
    if info.capabilities & capability::SELFTEST_BROKER == 0 {
        return lacks("broker", "broker");
    }
    match selftest::broker_test(client, &station.ca, &station.station_id, broker, uid).await {
        Ok(evidence) => {
            Ok(((), json!({ "mode": "broker", "peer_fingerprint": fingerprint(certificate), "evidence": evidence })))
        }
        Err(selftest::BrokerFailure::Link(e)) => Err(errors::link(Step::Selftest, e)),
        Err(selftest::BrokerFailure::Station(e)) => {
            // Station-side text (socket, TLS, our own hints): bounded, no control characters.
            let detail: String = e.to_string().chars().filter(|c| !c.is_control()).take(400).collect();
            Err(Failure::new(
                FailureCode::BrokerUnavailable,
                format!(
                    "The station could not use the self-test broker at {}: {detail}. The board is not at fault.",
                    broker.address
                ),
                "Check that the broker runs, trusts this station's CA and lets the station read the self-test \
                 topics, then run the board again.",
            )
            .with_reason(e.outcome.name()))
        }
        Err(selftest::BrokerFailure::Board { reason, detail }) => Err(Failure::new(
            FailureCode::SelftestFailed,
            broker_what(reason, &broker.address, &detail),
            "Set the board aside for engineering.",
        )
        .with_reason(reason)),
    }
}

/// What happened when the board failed at the broker.
fn broker_what(reason: &str, address: &str, detail: &str) -> String {
    let what = match reason {
        "revoked" => "the broker refused the board's certificate as revoked",
        "unknown-ca" => "the broker does not know the CA of the certificate the board presented",
        "expired" => "the broker refused the board's certificate as expired",
        "not-authorized" => {
            "the broker refused the board's publish: its certificate CN (the broker username) does not own the topic"
        }
        "timeout" => "the broker did not answer the board in time",
        "unreachable" => "the board could not reach the broker",
        "broker-untrusted" => "the board does not trust the broker's certificate",
        "not-delivered" => "the board's message never reached the station",
        _ => "the board could not prove its identity at the broker",
    };
    format!("Self-test at the broker {address} failed: {what} ({detail}).")
}

/// The label's fields for this board; `certificate` is `None` before signing, when
/// the certificate's fields take the widest values they can have.
fn label_data(run: &Run<'_>, uid: &Uid, info: &DeviceInfo, certificate: Option<&Installation>) -> LabelData {
    let (serial, fingerprint) = match certificate {
        Some(inst) => {
            let fp = fingerprint(&inst.certificate);
            (inst.serial.to_uppercase(), fp.get(..16).unwrap_or(&fp).to_uppercase())
        }
        // Serials are 16 random bytes (32 hex digits); the label shows 16 of the
        // fingerprint's. 'D' is the widest hex digit in the label font.
        None => ("D".repeat(32), "D".repeat(16)),
    };
    LabelData::new()
        .with("uid", uid.as_str())
        .with("serial", serial)
        .with("hardware_id", hex::encode_upper(&info.hardware_id))
        .with("model", sanitize(&info.model))
        .with("firmware", sanitize(&info.firmware_version))
        .with("date", time::OffsetDateTime::now_utc().date().to_string())
        .with("cert_fingerprint", fingerprint)
        .with("station", run.station.station_id.clone())
        .with("operator", run.request.operator.clone().unwrap_or_default())
}

/// The `label-check` step: the label lays out with this board's real values before
/// anything is generated or signed for it.
fn label_check(run: &mut Run<'_>, uid: &Uid, info: &DeviceInfo) -> StepResult<()> {
    let data = label_data(run, uid, info, None);
    let template = &run.station.label_template;
    match template.validate(&data) {
        Ok(()) => Ok(((), json!({ "template": template.name }))),
        Err(e) => Err(label_unfit(&e, &template.name)),
    }
}

fn label_unfit(e: &LabelError, template: &str) -> Failure {
    Failure::new(
        FailureCode::LabelFailed,
        format!("This board's label cannot be made with the template \"{template}\": {e}. Nothing was issued."),
        "Call the line engineer to give the label more room or a fit rule (shrink, wrap, truncate).",
    )
    .with_detail(format!("{e:?}"))
}

fn label(run: &mut Run<'_>, uid: &Uid, info: &DeviceInfo, installation: &Installation) -> StepResult<()> {
    let station = run.station;
    let data = label_data(run, uid, info, Some(installation));
    let short_run = run.report.run_id.get(..8).unwrap_or_default().to_string();
    let (path, pdf, job) = produce_label(station, &data, &format!("{uid}-{short_run}"))?;
    run.report.label_pdf = Some(path.display().to_string());
    run.report.label_print = job.clone();
    let detail = json!({
        "path": path.display().to_string(), "sha256": hex::encode(Sha256::digest(&pdf)),
        "template": station.label_template.name, "fields": data.values(), "print": job,
    });
    Ok(((), detail))
}

/// Keeps the label as a PDF in the data directory and prints it on the configured
/// printer; also used for reprints.
pub(crate) fn produce_label(
    station: &super::Station,
    data: &LabelData,
    name: &str,
) -> Result<(std::path::PathBuf, Vec<u8>, Option<crate::printer::PrintJob>), Failure> {
    let label_failed = |what: &str, detail: String| {
        Failure::new(
            FailureCode::LabelFailed,
            format!("The label could not be produced: {what}."),
            "Call the line engineer.",
        )
        .with_detail(detail)
    };
    let pdf = render_pdf(&station.label_template, data)
        .map_err(|e| label_failed("the template could not be drawn", e.to_string()))?;
    let dir = station.data_dir.labels_dir();
    let unsaved = "its PDF could not be saved in the data directory";
    std::fs::create_dir_all(&dir).map_err(|e| label_failed(unsaved, format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf).map_err(|e| label_failed(unsaved, format!("{}: {e}", path.display())))?;
    let job = match &station.config.config.label.printer {
        Some(printer) => {
            Some(crate::printer::print(printer, &station.label_template, data, name, station.data_dir.path()).map_err(
                |e| {
                    Failure::new(
                        FailureCode::PrintFailed,
                        format!("The label did not print ({e})."),
                        "Fix the printer, then run the board again: it resumes without signing anything new.",
                    )
                },
            )?)
        }
        None => None,
    };
    Ok((path, pdf, job))
}

/// The log holds a certificate the station cannot use: it was changed outside the
/// station or is damaged.
fn log_corrupt(detail: String) -> Failure {
    Failure::new(
        FailureCode::LogFailed,
        "A certificate recorded in the QA log is missing or unreadable.",
        "Call the line engineer to check the log (hallmark log verify).",
    )
    .with_detail(detail)
}
