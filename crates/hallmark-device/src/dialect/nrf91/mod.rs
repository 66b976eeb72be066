//! nRF91 cellular modems (nRF9160, nRF9151, nRF9131) over AT commands, as Nordic's
//! `device_credentials_installer` drives them: the modem generates its key and CSR
//! in one command (`AT%KEYGEN`) with an attestation, keeps credentials by sec tag
//! (`AT%CMNG`) and reports only the SHA-256 of what it stores.
//!
//! What such a modem cannot do, it does not claim: it cannot bind a CSR to a station
//! challenge, request a certificate for a key it already holds, sign a nonce on
//! request or run TLS over the provisioning line. Its self-test is the attested key
//! ([`SelfTests::attested_key`]): the attestation checked at key generation, the
//! read-back digests, and the certificate's key being the attested one.

pub mod at;
mod cbor;
mod cme;
pub mod cmng;
mod firmware;
pub mod keygen;
pub mod token;

use super::{
    unsupported, BoardFacts, Capabilities, CsrBinding, DeviceError, Dialect, GeneratedKey, Installation, ReadBack,
    SelfTests,
};
use crate::client::LinkError;
use crate::selftest::{BrokerEvidence, BrokerFailure, LinkEvidence, LinkFailure};
use crate::transport::Link;
use crate::{Failure, FailureCode};
use at::{AtChannel, AtMode, AtOutcome};
use cmng::{CredentialType, Listed};
use hallmark_ca::{fingerprint, IssuingCa};
use hallmark_config::BrokerSection;
use hallmark_protocol::KeyAlgorithm;
use hallmark_store::IssuedCertificate;
use keygen::KeygenAnswer;
use serde_json::{json, Value};
use std::time::Duration;

pub use firmware::{ModemFirmware, MIN_FIRMWARE};

/// What identifies a modem as its hardware id (and so its UID under the
/// `hardware-id` scheme).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ModemId {
    /// The IMEI (`AT+CGSN`): shown as `0` + its 15 digits.
    #[default]
    Imei,
    /// The device UUID (`AT%ATTESTTOKEN`): its 16 bytes.
    Uuid,
}

/// How the station talks to one nRF91 slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nrf91Options {
    /// The sec tag the identity lives in.
    pub sec_tag: u32,
    /// How commands are written; `None` detects it (plain first, then shell).
    pub mode: Option<AtMode>,
    /// The CA certificate (DER) the modem is to trust for its broker (type 0); `None`
    /// installs the station's root.
    pub broker_ca: Option<Vec<u8>>,
    /// What the hardware id is.
    pub hardware_id: ModemId,
    /// Deadline of an ordinary command.
    pub command: Duration,
    /// Deadline of `AT%KEYGEN` (key generation takes seconds on a modem).
    pub keygen: Duration,
}

impl Nrf91Options {
    /// Defaults for sec tag `sec_tag`: detect the mode, 5 s per command, 30 s keygen.
    pub fn for_sec_tag(sec_tag: u32) -> Nrf91Options {
        Nrf91Options {
            sec_tag,
            mode: None,
            broker_ca: None,
            hardware_id: ModemId::Imei,
            command: Duration::from_secs(5),
            keygen: Duration::from_secs(30),
        }
    }
}

/// An nRF91 modem on an AT command line.
pub struct Nrf91At<L> {
    at: AtChannel<L>,
    options: Nrf91Options,
    /// What `AT%CMNG=1,<tag>` listed at identification.
    listed: Vec<Listed>,
    /// The key generated in this session.
    generated: Option<KeygenAnswer>,
    /// What `AT%ATTESTTOKEN` said at identification, if the modem answered it.
    token: Option<token::DeviceToken>,
}

impl<L: Link> Nrf91At<L> {
    /// A modem on `link`.
    pub fn new(link: L, options: Nrf91Options) -> Nrf91At<L> {
        let mode = options.mode.unwrap_or(AtMode::Plain);
        Nrf91At { at: AtChannel::new(link, mode), options, listed: Vec::new(), generated: None, token: None }
    }

    /// Runs `command`; `OK` gives its lines, anything else is a refusal in words.
    async fn ok(&mut self, command: &str, doing: &str) -> Result<Vec<String>, DeviceError> {
        self.run(command, doing, false).await
    }

    /// As [`Self::ok`]; with `missing_is_empty`, "not found" (`+CME ERROR: 513`) is an
    /// empty answer (listing an empty tag, deleting what is not there).
    async fn run(&mut self, command: &str, doing: &str, missing_is_empty: bool) -> Result<Vec<String>, DeviceError> {
        let deadline = if command.starts_with("AT%KEYGEN") { self.options.keygen } else { self.options.command };
        match self.at.command(command, deadline).await? {
            AtOutcome::Ok(lines) => Ok(lines),
            AtOutcome::Cme(cme::NOT_FOUND) if missing_is_empty => Ok(Vec::new()),
            AtOutcome::Error => Err(DeviceError::Refused(cme::error(doing, command))),
            AtOutcome::Cme(code) => Err(DeviceError::Refused(cme::failure(code, doing, command))),
        }
    }

    /// The one line a query answers with.
    async fn one_line(&mut self, command: &str, doing: &str) -> Result<String, DeviceError> {
        let lines = self.ok(command, doing).await?;
        match lines.as_slice() {
            [line] => Ok(line.clone()),
            _ => Err(DeviceError::Link(LinkError::Unexpected {
                words: format!("the modem answered {command} with {} lines instead of one", lines.len()),
                detail: lines.iter().map(|l| at::bounded(l)).collect::<Vec<_>>().join(" | "),
            })),
        }
    }

    /// Plain AT first, then Nordic's shell (`at <command>`), unless configured.
    async fn detect_mode(&mut self) -> Result<String, DeviceError> {
        if self.options.mode.is_some() {
            return self.one_line("AT+CGSN", "reading the IMEI").await;
        }
        for mode in [AtMode::Plain, AtMode::Shell] {
            self.at.set_mode(mode);
            match self.at.command("AT+CGSN", self.options.command).await {
                Ok(AtOutcome::Ok(lines)) if lines.len() == 1 => return Ok(lines[0].clone()),
                Ok(_) | Err(LinkError::Timeout { .. }) | Err(LinkError::Undecodable(_)) => {
                    self.at.reset_line(Duration::from_millis(200)).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(DeviceError::Refused(Failure::new(
            FailureCode::DeviceTimeout,
            "The modem did not answer AT+CGSN, neither as plain AT commands nor through Nordic's shell.",
            "Check power, cable and that the modem runs AT command firmware (at_client or serial LTE modem), then \
             run it again.",
        )))
    }

    /// The device token, if the modem gives one (every modem firmware that can be
    /// provisioned does; a refusal is recorded as none).
    async fn device_token(&mut self) -> Result<Option<token::DeviceToken>, DeviceError> {
        match self.at.command("AT%ATTESTTOKEN", self.options.command).await? {
            AtOutcome::Ok(lines) => token::parse(&lines).map(Some).map_err(|why| {
                DeviceError::Link(LinkError::Unexpected {
                    words: "the modem's attestation token is malformed".into(),
                    detail: why,
                })
            }),
            AtOutcome::Error | AtOutcome::Cme(_) => Ok(None),
        }
    }

    /// The credentials of the sec tag, as the modem lists them now.
    async fn list(&mut self) -> Result<Vec<Listed>, DeviceError> {
        let tag = self.options.sec_tag;
        // Some firmware answers "not found" for a tag that holds nothing.
        let lines = self.run(&format!("AT%CMNG=1,{tag}"), "listing its credentials", true).await?;
        let listed = cmng::parse_list(&lines).map_err(|why| {
            DeviceError::Link(LinkError::Unexpected {
                words: "the modem's credential list is unreadable".into(),
                detail: why,
            })
        })?;
        Ok(listed.into_iter().filter(|l| l.sec_tag == tag).collect())
    }

    fn listed(&self, kind: CredentialType) -> Option<&Listed> {
        self.listed.iter().find(|l| l.kind == kind)
    }

    /// The text written as the client certificate: the leaf alone, as Nordic's
    /// installer writes it (the broker holds the chain), so that the digest the modem
    /// lists identifies the certificate.
    fn client_text(certificate: &[u8]) -> String {
        cmng::pem_text(&[certificate])
    }

    fn ca_text(&self, inst: &Installation) -> String {
        cmng::pem_text(&[self.options.broker_ca.as_deref().unwrap_or(&inst.trust_anchor)])
    }

    async fn write(&mut self, kind: CredentialType, text: &str, doing: &str) -> Result<(), DeviceError> {
        let command = format!("AT%CMNG=0,{},{},\"{text}\"", self.options.sec_tag, kind.number());
        self.ok(&command, doing).await.map(|_| ())
    }

    /// Deletes a credential; one that is not there is fine.
    async fn delete(&mut self, kind: CredentialType) -> Result<(), DeviceError> {
        let command = format!("AT%CMNG=3,{},{}", self.options.sec_tag, kind.number());
        self.run(&command, "deleting an old credential", true).await.map(|_| ())
    }
}

impl<L: Link> Dialect for Nrf91At<L> {
    fn name(&self) -> &'static str {
        "nrf91-at"
    }

    async fn identify(&mut self) -> Result<(BoardFacts, Capabilities), DeviceError> {
        self.at.reset_line(Duration::from_millis(200)).await?;
        let imei_line = self.detect_mode().await?;
        self.ok("AT+CMEE=1", "enabling numeric errors").await?;
        // Key generation and credential writes are refused while the modem is on.
        self.ok("AT+CFUN=4", "switching the modem offline").await?;
        let imei = imei(&imei_line)?;
        let model = self.one_line("AT+CGMM", "reading the model").await?;
        let firmware_line = self.one_line("AT+CGMR", "reading the modem firmware").await?;
        let firmware = ModemFirmware::parse(&firmware_line).map_err(DeviceError::Refused)?;
        firmware.check_supported().map_err(DeviceError::Refused)?;
        self.token = self.device_token().await?;
        let hardware_id =
            match (self.options.hardware_id, &self.token) {
                (ModemId::Imei, _) => imei_bytes(&imei),
                (ModemId::Uuid, Some(token)) => hex::decode(token.device_uuid.replace('-', "")).unwrap_or_default(),
                (ModemId::Uuid, None) => return Err(DeviceError::Refused(Failure::new(
                    FailureCode::UidInvalid,
                    "The modem did not report its device UUID (AT%ATTESTTOKEN), and this slot identifies modems by \
                     UUID. Nothing was generated or issued.",
                    "Check the modem firmware, or ask the line engineer to identify modems by IMEI.",
                ))),
            };
        self.listed = self.list().await?;
        let facts = BoardFacts {
            hardware_id,
            model,
            firmware_version: firmware_line.clone(),
            has_key: self.listed(CredentialType::PrivateKey).is_some(),
            has_certificate: self.listed(CredentialType::ClientCertificate).is_some(),
            detail: json!({
                "imei": imei, "modem_firmware": firmware.to_string(), "sec_tag": self.options.sec_tag,
                "device_uuid": self.token.as_ref().map(|t| t.device_uuid.clone()),
                "device_type": self.token.as_ref().map(|t| t.device_type),
                "at_mode": match self.at.mode() { AtMode::Plain => "plain", AtMode::Shell => "shell" },
                "credentials": self.listed,
            }),
        };
        let capabilities = Capabilities {
            generates_p256: true,
            csr_binding: CsrBinding::None,
            csr_for_existing_key: false,
            self_tests: SelfTests { attested_key: true, ..SelfTests::default() },
        };
        Ok((facts, capabilities))
    }

    async fn installed_fingerprint(&mut self, issued: &[IssuedCertificate]) -> Result<Option<String>, DeviceError> {
        let Some(listed) = self.listed(CredentialType::ClientCertificate).and_then(|l| l.sha256.clone()) else {
            return Ok(None);
        };
        // The modem only knows the digest of the text it holds: find the issued
        // certificate whose text (as this station writes it) has that digest.
        for cert in issued {
            let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(cert.pem.as_bytes()) else { continue };
            if cmng::text_sha256(&Self::client_text(&pem.contents)) == listed {
                return Ok(Some(fingerprint(&pem.contents)));
            }
        }
        Ok(Some(format!("unknown-pem-sha256:{listed}")))
    }

    async fn read_certificate(&mut self) -> Result<Vec<u8>, DeviceError> {
        Err(unsupported(self.name(), "reading the certificate back"))
    }

    async fn generate_key(&mut self) -> Result<GeneratedKey, DeviceError> {
        // A new key replaces whatever the tag held; the certificate for the old key
        // goes with it.
        if self.listed(CredentialType::ClientCertificate).is_some() {
            self.delete(CredentialType::ClientCertificate).await?;
        }
        if self.listed(CredentialType::PrivateKey).is_some() {
            self.delete(CredentialType::PrivateKey).await?;
        }
        let tag = self.options.sec_tag;
        let lines = self.ok(&format!("AT%KEYGEN={tag},2,0"), "generating the key").await?;
        let answer = keygen::parse(&lines, tag).map_err(|e| DeviceError::Refused(cme::keygen_refused(&e)))?;
        let (public_key, cn) = csr_key_and_cn(&answer.csr).map_err(|why| {
            DeviceError::Refused(cme::keygen_refused(&keygen::KeygenError::Malformed(format!("CSR: {why}"))))
        })?;
        if let Some(token) = self.token.as_ref().filter(|t| t.device_uuid != answer.attestation.device_uuid) {
            return Err(DeviceError::Refused(cme::keygen_refused(&keygen::KeygenError::Mismatch(format!(
                "the key attestation names device {}, the modem reported {} at identification",
                answer.attestation.device_uuid, token.device_uuid
            )))));
        }
        if cn.as_deref() != Some(answer.attestation.device_uuid.as_str()) {
            return Err(DeviceError::Refused(cme::keygen_refused(&keygen::KeygenError::Mismatch(format!(
                "the CSR names {:?}, the attestation device {}",
                cn.as_deref().map(at::bounded).unwrap_or_default(),
                answer.attestation.device_uuid
            )))));
        }
        let detail = json!({ "attestation": answer.attestation, "cose_sha256": answer.cose_sha256 });
        self.generated = Some(answer);
        Ok(GeneratedKey { algorithm: KeyAlgorithm::EcdsaP256, public_key, detail })
    }

    async fn certificate_request(&mut self, challenge: Option<&[u8]>) -> Result<Vec<u8>, DeviceError> {
        if challenge.is_some() {
            return Err(unsupported(self.name(), "a CSR bound to a station challenge"));
        }
        match &self.generated {
            Some(answer) => Ok(answer.csr.clone()),
            None => Err(unsupported(self.name(), "a CSR for a key it already holds")),
        }
    }

    async fn install(&mut self, inst: &Installation) -> Result<Value, DeviceError> {
        let client = Self::client_text(&inst.certificate);
        let ca = self.ca_text(inst);
        self.write(CredentialType::ClientCertificate, &client, "storing the certificate").await?;
        self.write(CredentialType::RootCa, &ca, "storing the CA certificate").await?;
        Ok(json!({
            "serial": inst.serial, "sec_tag": self.options.sec_tag,
            "client_certificate_sha256": cmng::text_sha256(&client), "client_certificate_len": client.len(),
            "ca_sha256": cmng::text_sha256(&ca), "ca_len": ca.len(),
        }))
    }

    async fn read_back(&mut self, inst: &Installation) -> Result<Vec<ReadBack>, DeviceError> {
        self.listed = self.list().await?;
        if self.listed(CredentialType::PrivateKey).is_none() {
            return Err(DeviceError::Refused(Failure::new(
                FailureCode::ReadbackMismatch,
                format!(
                    "The modem no longer lists the private key in sec tag {}: its certificate cannot be used.",
                    self.options.sec_tag
                ),
                "Set the modem aside for engineering.",
            )));
        }
        let client = Self::client_text(&inst.certificate);
        let ca = self.ca_text(inst);
        let entry = |name: &'static str, text: &str, kind| ReadBack {
            name,
            written_sha256: cmng::text_sha256(text),
            read_sha256: self.listed(kind).and_then(|l| l.sha256.clone()).unwrap_or_else(|| "not listed".to_string()),
            written_len: text.len(),
            read_len: None,
        };
        Ok(vec![
            entry("certificate", &client, CredentialType::ClientCertificate),
            entry("CA certificate", &ca, CredentialType::RootCa),
        ])
    }

    async fn attested_key(&mut self, certificate: &[u8]) -> Result<Value, DeviceError> {
        let key = cert_public_key(certificate).map_err(|why| {
            DeviceError::Refused(
                Failure::new(
                    FailureCode::SelftestFailed,
                    "The certificate for this modem cannot be read.",
                    "Call the line engineer.",
                )
                .with_detail(why),
            )
        })?;
        let Some(answer) = &self.generated else {
            // Re-verified without a new key: the attestation is in the run that made it.
            return Ok(json!({ "attested_in_this_run": false, "key_listed": true }));
        };
        let (attested, _) = csr_key_and_cn(&answer.csr).map_err(|why| {
            DeviceError::Refused(cme::keygen_refused(&keygen::KeygenError::Malformed(format!("CSR: {why}"))))
        })?;
        if attested != key {
            return Err(DeviceError::Refused(
                Failure::new(
                    FailureCode::SelftestFailed,
                    "The certificate is not for the key the modem generated and attested.",
                    "Set the modem aside for engineering.",
                )
                .with_reason("wrong-key"),
            ));
        }
        Ok(json!({
            "attested_in_this_run": true, "key_listed": true, "certificate_key_is_attested_key": true,
            "attestation": answer.attestation,
        }))
    }

    async fn sign_nonce(&mut self, _nonce: &[u8]) -> Result<Vec<u8>, DeviceError> {
        Err(unsupported(self.name(), "signing a nonce"))
    }

    async fn tls_link(&mut self, _ca: &IssuingCa, _certificate: &[u8]) -> Result<LinkEvidence, LinkFailure> {
        Err(LinkFailure::Unsupported("an nRF91 modem runs TLS only over its own network connection".into()))
    }

    async fn broker_test(
        &mut self,
        _ca: &IssuingCa,
        _station_id: &str,
        _broker: &BrokerSection,
        _uid: &str,
    ) -> Result<BrokerEvidence, BrokerFailure> {
        Err(BrokerFailure::Board {
            reason: "unsupported",
            detail: "the station cannot have an nRF91 modem connect to a broker over AT commands".into(),
        })
    }

    async fn finish(&mut self) -> Result<Value, DeviceError> {
        Ok(json!({ "at": self.at.stats() }))
    }
}

/// An IMEI: 15 digits with a valid Luhn check digit.
fn imei(line: &str) -> Result<String, DeviceError> {
    let digits = line.trim().trim_matches('"');
    let valid = digits.len() == 15 && digits.bytes().all(|b| b.is_ascii_digit()) && luhn_ok(digits);
    if valid {
        Ok(digits.to_string())
    } else {
        Err(DeviceError::Refused(
            Failure::new(
                FailureCode::UidInvalid,
                "The modem reported an IMEI that is not 15 digits with a valid check digit.",
                "Set the modem aside for engineering.",
            )
            .with_detail(format!("AT+CGSN answered {:?}", at::bounded(line))),
        ))
    }
}

fn luhn_ok(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The IMEI as the hardware id: its digits read as hex after a leading 0, so that
/// the hex form the station shows is `0` + the IMEI.
fn imei_bytes(imei: &str) -> Vec<u8> {
    hex::decode(format!("0{imei}")).unwrap_or_default()
}

/// The public key (SEC1 point) and subject CN of a CSR, unverified (the `csr` step
/// verifies it).
fn csr_key_and_cn(der: &[u8]) -> Result<(Vec<u8>, Option<String>), String> {
    use x509_parser::prelude::FromDer;
    let (_, csr) =
        x509_parser::certification_request::X509CertificationRequest::from_der(der).map_err(|e| e.to_string())?;
    let info = &csr.certification_request_info;
    let cn = info.subject.iter_common_name().next().and_then(|c| c.as_str().ok()).map(str::to_string);
    Ok((info.subject_pki.subject_public_key.data.to_vec(), cn))
}

fn cert_public_key(der: &[u8]) -> Result<Vec<u8>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imeis_are_checked() {
        assert!(imei("352656100367872").is_ok());
        assert!(imei("352656100367873").is_err(), "check digit");
        assert!(imei("35265610036787").is_err(), "14 digits");
        assert!(imei("35265610036787x").is_err());
        assert_eq!(hex::encode_upper(imei_bytes("352656100367872")), "0352656100367872");
    }
}
