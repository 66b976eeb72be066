//! Rows K1–K9: the key and the CSR before anything is installed (sections 4.2, 4.3,
//! S1, S8, S9 and S11 of `docs/protocol.md`).

use super::session::prefix;
use super::{describe, expect_error, Kit, Outcome, Problem};
use crate::transport::Link;
use hallmark_ca::VerifiedCsr;
use hallmark_protocol::{capability, ErrorCode, KeyAlgorithm, ObjectId, Request, Response, PROTOCOL_VERSION};

impl<L: Link> Kit<L> {
    pub(super) async fn k1_selftest_without_identity(&mut self) -> Outcome {
        self.hello().await?;
        let answer = self.wire.call(&Request::SelfTest { nonce: rand::random() }).await?;
        expect_error(&answer.response, ErrorCode::BAD_STATE)
    }

    pub(super) async fn k2_read_without_identity(&mut self) -> Outcome {
        for object in [ObjectId::Certificate, ObjectId::Chain, ObjectId::TrustAnchor] {
            let answer = self.wire.call(&Request::ReadObject { object, offset: 0 }).await?;
            expect_error(&answer.response, ErrorCode::BAD_STATE).map_err(|p| prefix(&format!("{object:?}"), p))?;
        }
        Ok("BAD_STATE for all three".into())
    }

    pub(super) async fn k3_other_algorithms(&mut self) -> Outcome {
        let unknown = self.wire.call(&Request::GenerateKey { algorithm: KeyAlgorithm::Other(9) }).await?;
        expect_error(&unknown.response, ErrorCode::UNSUPPORTED).map_err(|p| prefix("algorithm 9", p))?;
        let ed25519 = self.wire.call(&Request::GenerateKey { algorithm: KeyAlgorithm::Ed25519 }).await?;
        match ed25519.response {
            Response::Error { code: ErrorCode::UNSUPPORTED, .. } => Ok("algorithm 9 and Ed25519: UNSUPPORTED".into()),
            Response::KeyGenerated { algorithm: KeyAlgorithm::Ed25519, public_key } if public_key.len() == 32 => {
                Ok("algorithm 9: UNSUPPORTED; Ed25519: a 32-byte key".into())
            }
            other => Err(Problem::Fail(format!("Ed25519 was answered {}", describe(&other)))),
        }
    }

    pub(super) async fn k4_generate_key(&mut self) -> Outcome {
        let id = self.wire.fresh_id();
        let body = Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 }.to_body();
        let first = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        let key = p256_key(&first.response)?;
        self.key = Some(key);
        let again = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        if again.received.block != first.received.block {
            // The board holds whatever it answered last: later rows go on with that.
            self.key = p256_key(&again.response).ok();
            return Err(Problem::Fail(format!(
                "the retransmitted GenerateKey was answered {} instead of the same bytes: it ran again",
                describe(&again.response)
            )));
        }
        Ok("a P-256 point; the retransmission got the same bytes".into())
    }

    /// Reads and verifies the CSR; it must carry the current key and `challenge`.
    pub(super) async fn checked_csr(&mut self, challenge: Option<&str>) -> Result<VerifiedCsr, Problem> {
        let key = self.key.clone().ok_or_else(|| Problem::Skip("needs the key from K4".into()))?;
        let der = self.read_object(ObjectId::Csr).await?;
        let csr = VerifiedCsr::from_der(&der).map_err(|e| Problem::Fail(format!("the CSR does not verify: {e}")))?;
        if csr.public_key != key {
            return Err(Problem::Fail("the CSR carries another key than the one generated".into()));
        }
        if csr.challenge.as_deref() != challenge {
            return Err(Problem::Fail(format!(
                "the CSR's challenge is {:?} where {:?} was expected",
                csr.challenge.as_deref(),
                challenge
            )));
        }
        Ok(csr)
    }

    pub(super) async fn k5_csr(&mut self) -> Outcome {
        let csr = self.checked_csr(None).await?;
        self.spki = Some(csr.spki_der.clone());
        Ok(format!("{} bytes, signature verified", csr.raw.len()))
    }

    pub(super) async fn k6_csr_offsets(&mut self) -> Outcome {
        if self.key.is_none() {
            return Err(Problem::Skip("needs the key from K4".into()));
        }
        let first = self.wire.call(&Request::ReadObject { object: ObjectId::Csr, offset: 0 }).await?;
        let Response::Chunk { total_len, .. } = first.response else {
            return Err(Problem::Fail(format!("the CSR was answered {}", describe(&first.response))));
        };
        let end = self.wire.call(&Request::ReadObject { object: ObjectId::Csr, offset: total_len }).await?;
        match &end.response {
            Response::Chunk { total_len: t, offset, data }
                if *t == total_len && *offset == total_len && data.is_empty() => {}
            other => return Err(Problem::Fail(format!("at its end the CSR was answered {}", describe(other)))),
        }
        let beyond = self.wire.call(&Request::ReadObject { object: ObjectId::Csr, offset: total_len + 1 }).await?;
        expect_error(&beyond.response, ErrorCode::BAD_OFFSET).map_err(|p| prefix("beyond the end", p))?;
        Ok(format!("empty chunk at {total_len}, BAD_OFFSET at {}", total_len + 1))
    }

    pub(super) async fn k7_challenge(&mut self) -> Outcome {
        if !self.capable(capability::CSR_CHALLENGE) {
            return Err(Problem::Skip("the board does not offer CSR binding (capability bit 4)".into()));
        }
        let mut latest = String::new();
        for _ in 0..2 {
            let challenge: [u8; 32] = rand::random();
            let answer = self.wire.call(&Request::CsrChallenge { challenge }).await?;
            if answer.response != Response::ChallengeAccepted {
                return Err(Problem::Fail(format!("CsrChallenge was answered {}", describe(&answer.response))));
            }
            latest = hex::encode(challenge);
        }
        self.checked_csr(Some(&latest)).await?;
        Ok("the CSR carries the second of two challenges".into())
    }

    pub(super) async fn k8_csr_later_session(&mut self) -> Outcome {
        if self.key.is_none() {
            return Err(Problem::Skip("needs the key from K4".into()));
        }
        let info = self.hello().await?;
        if !info.has_key {
            return Err(Problem::Fail("Hello reports has_key = false while the board holds a key".into()));
        }
        self.checked_csr(None).await?;
        Ok("same key, no challenge, has_key reported".into())
    }

    pub(super) async fn k9_new_key(&mut self) -> Outcome {
        let old = self.key.clone().ok_or_else(|| Problem::Skip("needs the key from K4".into()))?;
        let answer = self.wire.call(&Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 }).await?;
        let key = p256_key(&answer.response)?;
        if key == old {
            return Err(Problem::Fail("GenerateKey answered the old key again".into()));
        }
        self.key = Some(key);
        let csr = self.checked_csr(None).await?;
        self.spki = Some(csr.spki_der);
        Ok("a new key, and the CSR follows it".into())
    }
}

/// The P-256 point of a `KeyGenerated` answer, checked.
fn p256_key(response: &Response) -> Result<Vec<u8>, Problem> {
    match response {
        Response::KeyGenerated { algorithm: KeyAlgorithm::EcdsaP256, public_key } => {
            if public_key.len() != 65 || public_key[0] != 0x04 {
                return Err(Problem::Fail(format!(
                    "the key is {} bytes starting {:#04x}, not a 65-byte uncompressed point",
                    public_key.len(),
                    public_key.first().copied().unwrap_or(0)
                )));
            }
            p256::PublicKey::from_sec1_bytes(public_key)
                .map_err(|_| Problem::Fail("the key is not a point on P-256".into()))?;
            Ok(public_key.clone())
        }
        Response::KeyGenerated { algorithm, .. } => {
            Err(Problem::Fail(format!("asked for P-256, got a key of {}", algorithm.words())))
        }
        other => Err(Problem::Fail(format!("GenerateKey was answered {}", describe(other)))),
    }
}
