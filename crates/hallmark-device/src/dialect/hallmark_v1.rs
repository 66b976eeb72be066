//! Hallmark provisioning protocol v1 (`hallmark-protocol`): framed requests with
//! deadlines and retransmission ([`DeviceClient`]), objects moved in chunks, every
//! capability announced in `Hello`.

use super::{
    unsupported, BoardFacts, Capabilities, CsrBinding, DeviceError, Dialect, GeneratedKey, Installation, ReadBack,
    SelfTests,
};
use crate::client::{unexpected, DeviceClient};
use crate::selftest::{self, BrokerEvidence, BrokerFailure, LinkEvidence, LinkFailure};
use crate::transport::Link;
use crate::{Failure, FailureCode};
use hallmark_ca::{fingerprint, IssuingCa};
use hallmark_config::BrokerSection;
use hallmark_protocol::{
    capability, DeviceInfo, KeyAlgorithm, ObjectId, Request, Response, MIN_PROTOCOL_VERSION, NONCE_LEN,
    PROTOCOL_VERSION,
};
use hallmark_store::IssuedCertificate;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A board running Hallmark's agent.
pub struct HallmarkV1<L> {
    client: DeviceClient<L>,
    capabilities: u32,
}

impl<L: Link> HallmarkV1<L> {
    /// Speaks v1 through `client`.
    pub fn new(client: DeviceClient<L>) -> HallmarkV1<L> {
        HallmarkV1 { client, capabilities: 0 }
    }

    /// One request with its deadline (key generation takes longer than the rest).
    async fn call(&mut self, request: &Request) -> Result<Response, DeviceError> {
        let deadline = match request {
            Request::GenerateKey { .. } => self.client.timeouts().keygen,
            _ => self.client.timeouts().response,
        };
        Ok(self.client.call(request, deadline).await?)
    }

    fn offers(&self, bits: u32) -> bool {
        self.capabilities & bits == bits
    }
}

/// The capabilities a v1 board announces, as the seam's.
fn capabilities_of(info: &DeviceInfo) -> Capabilities {
    let has = |bits: u32| info.capabilities & bits == bits;
    Capabilities {
        generates_p256: has(capability::KEYGEN_P256),
        csr_binding: if has(capability::CSR_CHALLENGE) { CsrBinding::Challenge } else { CsrBinding::None },
        csr_for_existing_key: true,
        self_tests: SelfTests {
            possession: has(capability::SELFTEST_SIGN),
            tls_link: has(capability::SELFTEST_TLS_LINK),
            broker: has(capability::SELFTEST_BROKER),
            attested_key: false,
        },
    }
}

impl<L: Link> Dialect for HallmarkV1<L> {
    fn name(&self) -> &'static str {
        "hallmark-v1"
    }

    fn link_stats(&self) -> Option<crate::client::LinkStats> {
        Some(self.client.stats())
    }

    async fn identify(&mut self) -> Result<(BoardFacts, Capabilities), DeviceError> {
        let hello = Request::Hello { min_version: MIN_PROTOCOL_VERSION, max_version: PROTOCOL_VERSION };
        let info = match self.call(&hello).await? {
            Response::Hello(info) => info,
            other => return Err(DeviceError::Link(unexpected("its description", &other))),
        };
        if info.protocol_version != PROTOCOL_VERSION {
            return Err(DeviceError::Refused(Failure::new(
                FailureCode::UnsupportedProtocol,
                format!(
                    "The board chose protocol version {}, which this station does not speak.",
                    info.protocol_version
                ),
                "Update the station or the firmware.",
            )));
        }
        // Protocol v1 requires both: a board without them is not a provisioning board.
        let needed = capability::KEYGEN_P256 | capability::SELFTEST_SIGN;
        if info.capabilities & needed != needed {
            return Err(DeviceError::Refused(Failure::new(
                FailureCode::KeyUnsupported,
                "The board's firmware cannot generate a P-256 key or sign a self-test.",
                "Flash provisioning-capable firmware.",
            )));
        }
        self.capabilities = info.capabilities;
        let capabilities = capabilities_of(&info);
        let facts = BoardFacts {
            hardware_id: info.hardware_id,
            model: info.model,
            firmware_version: info.firmware_version,
            has_key: info.has_key,
            has_certificate: info.has_certificate,
            detail: json!({ "protocol_version": info.protocol_version, "capabilities": info.capabilities }),
        };
        Ok((facts, capabilities))
    }

    async fn installed_fingerprint(&mut self, _issued: &[IssuedCertificate]) -> Result<Option<String>, DeviceError> {
        Ok(Some(fingerprint(&self.read_certificate().await?)))
    }

    async fn read_certificate(&mut self) -> Result<Vec<u8>, DeviceError> {
        Ok(self.client.read_object(ObjectId::Certificate).await?)
    }

    async fn generate_key(&mut self) -> Result<GeneratedKey, DeviceError> {
        let request = Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 };
        match self.call(&request).await? {
            Response::KeyGenerated { algorithm, public_key } => {
                Ok(GeneratedKey { algorithm, public_key, detail: Value::Null })
            }
            other => Err(DeviceError::Link(unexpected("a public key", &other))),
        }
    }

    async fn certificate_request(&mut self, challenge: Option<&[u8]>) -> Result<Vec<u8>, DeviceError> {
        if let Some(challenge) = challenge {
            let Ok(challenge) = <[u8; NONCE_LEN]>::try_from(challenge) else {
                return Err(unsupported(self.name(), "a challenge that is not 32 bytes"));
            };
            match self.call(&Request::CsrChallenge { challenge }).await? {
                Response::ChallengeAccepted => {}
                other => return Err(DeviceError::Link(unexpected("a challenge acknowledgement", &other))),
            }
        }
        Ok(self.client.read_object(ObjectId::Csr).await?)
    }

    async fn install(&mut self, inst: &Installation) -> Result<Value, DeviceError> {
        self.client.write_object(ObjectId::Certificate, &inst.certificate).await?;
        self.client.write_object(ObjectId::Chain, &inst.chain).await?;
        self.client.write_object(ObjectId::TrustAnchor, &inst.trust_anchor).await?;
        let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
        let commit = Request::CommitInstall {
            certificate_sha256: sha(&inst.certificate),
            chain_sha256: sha(&inst.chain),
            trust_anchor_sha256: sha(&inst.trust_anchor),
        };
        match self.call(&commit).await? {
            Response::Installed => {}
            other => return Err(DeviceError::Link(unexpected("an install confirmation", &other))),
        }
        Ok(json!({
            "serial": inst.serial, "certificate_len": inst.certificate.len(), "chain_len": inst.chain.len(),
            "trust_anchor_len": inst.trust_anchor.len(),
        }))
    }

    async fn read_back(&mut self, inst: &Installation) -> Result<Vec<ReadBack>, DeviceError> {
        let objects = [
            (ObjectId::Certificate, &inst.certificate, "certificate"),
            (ObjectId::Chain, &inst.chain, "chain"),
            (ObjectId::TrustAnchor, &inst.trust_anchor, "trust anchor"),
        ];
        let mut read_back = Vec::with_capacity(objects.len());
        for (object, written, name) in objects {
            let read = self.client.read_object(object).await?;
            read_back.push(ReadBack {
                name,
                written_sha256: hex::encode(Sha256::digest(written)),
                read_sha256: hex::encode(Sha256::digest(&read)),
                written_len: written.len(),
                read_len: Some(read.len()),
            });
        }
        Ok(read_back)
    }

    async fn sign_nonce(&mut self, nonce: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let Ok(nonce) = <[u8; NONCE_LEN]>::try_from(nonce) else {
            return Err(unsupported(self.name(), "a nonce that is not 32 bytes"));
        };
        match self.call(&Request::SelfTest { nonce }).await? {
            Response::SelfTest { signature } => Ok(signature),
            other => Err(DeviceError::Link(unexpected("a self-test signature", &other))),
        }
    }

    async fn tls_link(&mut self, ca: &IssuingCa, certificate: &[u8]) -> Result<LinkEvidence, LinkFailure> {
        if !self.offers(capability::SELFTEST_TLS_LINK) {
            return Err(LinkFailure::Unsupported(format!("capabilities {:#x}", self.capabilities)));
        }
        selftest::tls_link(&mut self.client, ca, certificate).await
    }

    async fn broker_test(
        &mut self,
        ca: &IssuingCa,
        station_id: &str,
        broker: &BrokerSection,
        uid: &str,
    ) -> Result<BrokerEvidence, BrokerFailure> {
        selftest::broker_test(&mut self.client, ca, station_id, broker, uid).await
    }

    async fn finish(&mut self) -> Result<Value, DeviceError> {
        match self.call(&Request::Finish).await? {
            Response::Finished => Ok(json!({ "link": self.client.stats() })),
            other => Err(DeviceError::Link(unexpected("an end of session", &other))),
        }
    }
}
