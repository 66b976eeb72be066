//! The steps of a run, in order. Each returns its value and the detail to log.

use super::errors::{self, sanitize};
use super::fleet_step;
use super::label_step::{label, label_check};
use super::plan::{self, Facts, Plan};
use super::selftest_step::{self, self_test, selftest_deadline};
use super::{connect_serial, step_deadline, LinkTarget, Run, Step};
use crate::client::{DeviceClient, LinkError, Timeouts};
use crate::dialect::{BoardFacts, Capabilities, CsrBinding, Dialect, HallmarkV1, Installation};
use crate::probe::{rtt_link, ProbeTarget, RttTiming};
use crate::{Failure, FailureCode, Uid};
use hallmark_ca::{Device, KeyAlgorithm as CertKeyAlgorithm, VerifiedCsr};
use hallmark_protocol::{KeyAlgorithm, NONCE_LEN};
use hallmark_store::{
    CertificateRecord, Connected, CsrVerified, Finished, Installed, IssuedCertificate, KeyGenerated, ReadBack, Retried,
    RevokedBy, Signed, StepEvent,
};
use sha2::{Digest, Sha256};
use std::future::Future;

/// A step's value and the event its end records.
pub(super) type StepResult<T, E = StepEvent> = Result<(T, E), Failure>;

/// Runs every step on the request's link.
pub(crate) async fn all(run: &mut Run<'_>) -> Result<(), Failure> {
    run.begin(Step::Connect)?;
    match &run.request.port {
        LinkTarget::Serial(port) => {
            let connected = connect_serial(port, run.station.timeouts)
                .map(|c| (c, Connected::Serial { port: port.as_str().to_string() }));
            let client = run.end(connected)?;
            provision(run, &mut HallmarkV1::new(client).tuned(run.station.link_tuning())).await
        }
        LinkTarget::Modem(target) => {
            let connected = super::modem::connect_modem(&target.port).map(|line| {
                let modem = crate::dialect::Nrf91At::new(line, target.options.clone());
                let connected = Connected::Link {
                    port: target.port.to_string(),
                    link: hallmark_store::LinkState::Open,
                    dialect: modem.name().into(),
                };
                (modem, connected)
            });
            let mut modem = run.end(connected)?;
            provision(run, &mut modem).await
        }
        LinkTarget::Probe(target) => {
            let target = target.clone();
            let connected = attach_probe(run.station, &target).await;
            let (attached, chip_uid) = run.end(connected)?;
            run.chip_uid = chip_uid;
            let client = DeviceClient::new(rtt_link(attached, RttTiming::default()), run.station.timeouts);
            provision(run, &mut HallmarkV1::new(client).tuned(run.station.link_tuning())).await
        }
    }
}

/// Attaches through the station's probe backend (blocking, off the runtime) within
/// the connect step's deadline.
async fn attach_probe(
    station: &super::Station,
    target: &ProbeTarget,
) -> StepResult<(Box<dyn crate::probe::RttPort>, Option<Vec<u8>>), Connected> {
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
    let connected = Connected::Probe {
        probe: attached.probe,
        selector: target.selector.clone(),
        chip: target.chip.clone(),
        chip_uid: uid.as_ref().map(hex::encode_upper),
        chip_uid_note: uid_note,
        // A flash record is strings and numbers: serialising it cannot fail.
        flash: attached.flashed.and_then(|f| serde_json::to_value(f).ok()),
    };
    Ok(((attached.port, uid), connected))
}

/// Runs `work` as step `name` with the step's overall deadline.
async fn bounded<T, E>(
    timeouts: Timeouts,
    name: Step,
    work: impl Future<Output = StepResult<T, E>>,
) -> StepResult<T, E> {
    bounded_by(step_deadline(name, &timeouts), name, work).await
}

/// Runs `work` as step `name` within `deadline`.
async fn bounded_by<T, E>(
    deadline: std::time::Duration,
    name: Step,
    work: impl Future<Output = StepResult<T, E>>,
) -> StepResult<T, E> {
    match tokio::time::timeout(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(errors::link(name, LinkError::Timeout { waited: deadline })),
    }
}

/// Runs a read-only step, retrying it once on a link fault: reading twice is safe,
/// and its event says it read twice.
async fn read_step<D: Dialect, T, E: Retried + Into<StepEvent>>(
    run: &mut Run<'_>,
    name: Step,
    dialect: &mut D,
    f: impl AsyncFn(&mut D) -> StepResult<T, E>,
) -> Result<T, Failure> {
    run.begin(name)?;
    let t = run.station.timeouts;
    let mut result = bounded(t, name, f(dialect)).await;
    let retryable = |r: &StepResult<T, E>| matches!(r, Err(f) if matches!(f.code, FailureCode::LinkCorrupt | FailureCode::DeviceTimeout));
    if retryable(&result) {
        result = bounded(t, name, f(dialect)).await.map(|(v, e)| (v, e.retried()));
    }
    run.end(result)
}

/// What identification established.
struct Identified {
    board: BoardFacts,
    capabilities: Capabilities,
    uid: Uid,
    plan: Plan,
}

/// Runs every step after `connect` through the board's dialect, following the plan.
pub(crate) async fn provision<D: Dialect>(run: &mut Run<'_>, dialect: &mut D) -> Result<(), Failure> {
    let result = provision_steps(run, dialect).await;
    // What crossed the link, whether the run passed or not (issue #19).
    run.report.link = dialect.link_stats();
    result
}

async fn provision_steps<D: Dialect>(run: &mut Run<'_>, dialect: &mut D) -> Result<(), Failure> {
    let t = run.station.timeouts;
    run.begin(Step::Identify)?;
    let r = bounded(t, Step::Identify, identify(run, dialect)).await;
    let Identified { board, capabilities, uid, plan } = run.end(r)?;
    run.record_identity()?;

    // Nothing is signed for a board whose label cannot be made.
    run.begin(Step::LabelCheck)?;
    let r = label_check(run, &uid, &board);
    run.end(r)?;

    let needs_install = !matches!(plan, Plan::Reverify { .. });
    let binding = capabilities.csr_binding;
    let installation = match plan {
        Plan::Fresh { supersede } => fresh_key(run, dialect, &uid, &board, binding, &supersede).await?,
        // A board that cannot request a certificate for the key it holds gets a new one.
        Plan::Reissue { supersede } if !capabilities.csr_for_existing_key => {
            fresh_key(run, dialect, &uid, &board, binding, &supersede).await?
        }
        Plan::Reissue { supersede } => {
            let csr = csr_step(run, dialect, None, binding).await?;
            sign_step(run, &uid, &csr, &supersede)?
        }
        Plan::ResumeInstall { serial } if !capabilities.csr_for_existing_key => {
            // The board cannot show it still holds that key: that certificate is
            // superseded by one for a new key.
            fresh_key(run, dialect, &uid, &board, binding, &[serial]).await?
        }
        Plan::ResumeInstall { serial } => {
            let cert = issued(run, &uid, &serial)?;
            let key = cert_public_key(&cert)?;
            let csr = csr_step(run, dialect, None, binding).await?;
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
        let r = bounded(t, Step::Install, install(dialect, &installation)).await;
        run.end(r)?;
    }
    read_step(run, Step::Readback, dialect, async |d| readback(d, &installation).await).await?;

    run.begin(Step::Selftest)?;
    let r = bounded_by(
        selftest_deadline(run.station),
        Step::Selftest,
        self_test(dialect, &capabilities, run.station, uid.as_str(), &installation.certificate),
    )
    .await;
    run.end(r)?;

    run.begin(Step::Finish)?;
    let r = dialect.finish().await.map(|detail| ((), Finished { detail })).map_err(|e| e.at(Step::Finish));
    run.end(r)?;

    // Printed last, so that no label exists for a run that did not pass.
    run.begin(Step::Label)?;
    let r = label(run, &uid, &board, &installation);
    run.end(r)
}

/// `keygen`, `csr` and `sign` for a new key, revoking `supersede` first.
async fn fresh_key<D: Dialect>(
    run: &mut Run<'_>,
    dialect: &mut D,
    uid: &Uid,
    board: &BoardFacts,
    binding: CsrBinding,
    supersede: &[String],
) -> Result<Installation, Failure> {
    run.begin(Step::Keygen)?;
    let r = bounded(run.station.timeouts, Step::Keygen, keygen(dialect, board.has_key)).await;
    let public_key = run.end(r)?;
    let csr = csr_step(run, dialect, Some(public_key), binding).await?;
    sign_step(run, uid, &csr, supersede)
}

/// The `csr` step: bind, read and verify the board's CSR (read-only, so retried once).
async fn csr_step<D: Dialect>(
    run: &mut Run<'_>,
    dialect: &mut D,
    expected_key: Option<Vec<u8>>,
    binding: CsrBinding,
) -> Result<VerifiedCsr, Failure> {
    let allowed = run.station.leaf_profile.key_algorithms.clone();
    read_step(run, Step::Csr, dialect, async |d| csr(d, expected_key.clone(), &allowed, binding).await).await
}

async fn identify<D: Dialect>(
    run: &mut Run<'_>,
    dialect: &mut D,
) -> StepResult<Identified, hallmark_store::Identified> {
    let (board, capabilities) = dialect.identify().await.map_err(|e| e.at(Step::Identify))?;
    let hardware_id = hex::encode_upper(&board.hardware_id);
    if let Some(chip) = &run.chip_uid {
        if chip != &board.hardware_id {
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
    let firmware = sanitize(&board.firmware_version);
    let model = sanitize(&board.model);
    run.report.hardware_id = Some(hardware_id.clone());
    run.report.model = Some(model.clone());
    run.report.firmware_version = Some(firmware.clone());
    run.report.sbom = run
        .station
        .config
        .config
        .firmware(&firmware)
        .map(|f| serde_json::json!({ "sbom": f.sbom, "sha256": f.sbom_sha256 }));
    if !capabilities.generates_p256 {
        return Err(Failure::new(
            FailureCode::KeyUnsupported,
            "The board's firmware cannot generate a P-256 key.",
            "Flash provisioning-capable firmware.",
        ));
    }
    if run.station.config.config.certificate.csr_binding == hallmark_config::CsrBinding::Required
        && capabilities.csr_binding == CsrBinding::None
    {
        return Err(Failure::new(
            FailureCode::CsrNotBound,
            "This board's firmware cannot bind its certificate request to the session, and this station requires it. \
             Nothing was generated or issued.",
            "Flash firmware with CSR binding, or ask the line engineer.",
        )
        .with_detail(format!("{}: {} offers no CSR challenge", dialect.name(), board.detail)));
    }
    // The self-test is checked now, so that a board that could not prove its new
    // identity is refused before anything is generated or issued.
    selftest_step::choose(run.station, &capabilities)?;
    let (uid, fleet_check) = fleet_step::numbered_and_checked(run, &board, &hardware_id, dialect.name()).await?;
    run.report.uid = Some(uid.to_string());
    let issued = run.store.certificates(uid.as_str()).map_err(errors::log_failed)?;
    let installed_fingerprint = if board.has_certificate {
        dialect.installed_fingerprint(&issued).await.map_err(|e| e.at(Step::Identify))?
    } else {
        None
    };
    let store = run.store;
    let passed_since = |serial: &str| store.passed_since(uid.as_str(), serial).map_err(errors::log_failed);
    let plan = plan::decide(&Facts {
        uid: uid.as_str(),
        issued: &issued,
        installed_fingerprint: installed_fingerprint.as_deref(),
        board_has_key: board.has_key,
        policy: run.station.config.config.reprovision.policy,
        passed_since: &passed_since,
    })?;
    run.report.plan = Some(plan.name().to_string());
    let identified = hallmark_store::Identified {
        uid: uid.as_str().to_string(),
        hardware_id,
        model,
        firmware_version: firmware,
        sbom: run.report.sbom.clone(),
        dialect: Some(dialect.name().to_string()),
        csr_binding: capabilities.csr_binding == CsrBinding::Challenge,
        has_key: board.has_key,
        installed_fingerprint,
        plan: (&plan).into(),
        extra: Default::default(),
    }
    .with_extra(&board.detail)
    .with_fleet_check(fleet_check);
    Ok((Identified { board, capabilities, uid, plan }, identified))
}

async fn keygen<D: Dialect>(dialect: &mut D, replaced_key: bool) -> StepResult<Vec<u8>, KeyGenerated> {
    let key = dialect.generate_key().await.map_err(|e| e.at(Step::Keygen))?;
    check_public_key(key.algorithm, &key.public_key)?;
    let generated = KeyGenerated {
        public_key: hex::encode(&key.public_key),
        replaced_key,
        device: Some(key.detail).filter(|d| !d.is_null()),
    };
    Ok((key.public_key, generated))
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
async fn csr<D: Dialect>(
    dialect: &mut D,
    expected_key: Option<Vec<u8>>,
    allowed: &[CertKeyAlgorithm],
    binding: CsrBinding,
) -> StepResult<VerifiedCsr, CsrVerified> {
    let challenge: Option<[u8; NONCE_LEN]> = match binding {
        CsrBinding::Challenge => Some(rand::random()),
        CsrBinding::None => None,
    };
    let der =
        dialect.certificate_request(challenge.as_ref().map(|c| c.as_slice())).await.map_err(|e| e.at(Step::Csr))?;
    let challenge = challenge.map(hex::encode);
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
    let verified = CsrVerified {
        csr_sha256: hex::encode(Sha256::digest(&der)),
        csr_len: der.len(),
        bound: challenge.is_some(),
        key_sha256: hallmark_store::key_sha256(&csr.spki_der),
        retried: false,
    };
    Ok((csr, verified))
}

/// The `sign` step: revoke what this certificate supersedes, then sign.
fn sign_step(run: &mut Run<'_>, uid: &Uid, csr: &VerifiedCsr, supersede: &[String]) -> Result<Installation, Failure> {
    run.begin(Step::Sign)?;
    let r = sign(run, uid, csr, supersede);
    run.end(r)
}

fn sign(run: &mut Run<'_>, uid: &Uid, csr: &VerifiedCsr, supersede: &[String]) -> StepResult<Installation, Signed> {
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
    let signed = Signed {
        serial: cert.serial_hex.clone(),
        fingerprint: cert.fingerprint.clone(),
        not_after: rfc3339(cert.not_after),
        superseded: supersede.to_vec(),
    };
    let installation = Installation {
        serial: cert.serial_hex,
        certificate: cert.der,
        chain: station.ca.chain_der(),
        trust_anchor: station.ca.root_der().to_vec(),
    };
    Ok((installation, signed))
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

async fn install<D: Dialect>(dialect: &mut D, inst: &Installation) -> StepResult<(), Installed> {
    let detail = dialect.install(inst).await.map_err(|e| e.at(Step::Install))?;
    Ok(((), Installed { detail }))
}

async fn readback<D: Dialect>(dialect: &mut D, inst: &Installation) -> StepResult<(), ReadBack> {
    let read_back = dialect.read_back(inst).await.map_err(|e| e.at(Step::Readback))?;
    let compared = if read_back.iter().all(|item| item.read_len.is_some()) {
        hallmark_store::ReadbackCompared::Bytes
    } else {
        hallmark_store::ReadbackCompared::Digests
    };
    let mut digests = std::collections::BTreeMap::new();
    for item in read_back {
        if !item.matches() {
            let read = match item.read_len {
                Some(n) => format!("{n} bytes read"),
                None => "a different digest read".to_string(),
            };
            return Err(Failure::new(
                FailureCode::ReadbackMismatch,
                format!(
                    "The board returned a different {} than was written ({read}, {} written). Its storage may be \
                     faulty.",
                    item.name, item.written_len
                ),
                "Set the board aside for engineering.",
            )
            .with_detail(format!("{}: wrote sha256 {}, read {}", item.name, item.written_sha256, item.read_sha256)));
        }
        digests.insert(format!("{}_sha256", item.name.replace(' ', "_")), item.read_sha256);
    }
    Ok(((), ReadBack { digests, retried: false, compared: Some(compared) }))
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
