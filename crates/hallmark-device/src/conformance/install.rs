//! Rows W1–W14 (object writes, the install, read-back, possession), T1–T2 (the
//! self-tests a board does not offer) and E1 (`Finish`): sections 4.4–4.7, S2, S3,
//! S8, S9 and S11 of `docs/protocol.md`.

use super::session::prefix;
use super::test_ca::TestCa;
use super::{describe, expect_error, expect_written, Kit, Outcome, Problem};
use crate::selftest::verify_possession;
use crate::transport::Link;
use hallmark_protocol::{capability, ErrorCode, KeyAlgorithm, ObjectId, Request, Response, PROTOCOL_VERSION};
use sha2::{Digest, Sha256};

const OBJECTS: [ObjectId; 3] = [ObjectId::Certificate, ObjectId::Chain, ObjectId::TrustAnchor];

impl<L: Link> Kit<L> {
    fn test_ca(&mut self) -> Result<&TestCa, Problem> {
        if self.ca.is_none() {
            self.ca = Some(TestCa::new()?);
        }
        self.ca.as_ref().ok_or_else(|| Problem::Fail("the kit could not make its test CA".into()))
    }

    /// The board's SubjectPublicKeyInfo, from K5 or K9.
    fn board_spki(&self) -> Result<Vec<u8>, Problem> {
        self.spki.clone().ok_or_else(|| Problem::Skip("needs the board's CSR (K5)".into()))
    }

    /// Opens a session, writes the three objects and commits them with `hashes`
    /// (their own when `None`), returning the answer to `CommitInstall`.
    async fn install(&mut self, objects: &[Vec<u8>; 3], hashes: Option<[[u8; 32]; 3]>) -> Result<Response, Problem> {
        self.hello().await?;
        for (object, data) in OBJECTS.iter().zip(objects) {
            self.write_object(*object, data).await.map_err(|p| prefix(&format!("writing the {object:?}"), p))?;
        }
        let [c, h, t] = hashes.unwrap_or_else(|| objects.each_ref().map(|o| Sha256::digest(o).into()));
        let commit = Request::CommitInstall { certificate_sha256: c, chain_sha256: h, trust_anchor_sha256: t };
        Ok(self.wire.call(&commit).await?.response)
    }

    /// Certificate for `spki` (with `noise` in an extension), chain and trust anchor.
    fn identity_for(&mut self, spki: &[u8], noise: Option<&[u8]>) -> Result<[Vec<u8>; 3], Problem> {
        let ca = self.test_ca()?;
        Ok([ca.leaf(spki, noise)?, ca.chain(), ca.trust_anchor()])
    }

    pub(super) async fn w1_write_csr(&mut self) -> Outcome {
        self.hello().await?;
        let answer = self.write(ObjectId::Csr, 0, 10, &[0x30; 10]).await?;
        expect_error(&answer.response, ErrorCode::BAD_STATE)
    }

    pub(super) async fn w2_gap(&mut self) -> Outcome {
        self.hello().await?;
        let first = self.write(ObjectId::Chain, 0, 300, &[0x31; 100]).await?;
        expect_written(&first.response, 100)?;
        let gap = self.write(ObjectId::Chain, 200, 300, &[0x32; 100]).await?;
        expect_error(&gap.response, ErrorCode::BAD_OFFSET)
    }

    pub(super) async fn w3_total_len_changes(&mut self) -> Outcome {
        self.hello().await?;
        let first = self.write(ObjectId::TrustAnchor, 0, 300, &[0x31; 100]).await?;
        expect_written(&first.response, 100)?;
        let changed = self.write(ObjectId::TrustAnchor, 100, 400, &[0x32; 100]).await?;
        expect_error(&changed.response, ErrorCode::BAD_OFFSET)
    }

    pub(super) async fn w4_limits(&mut self) -> Outcome {
        self.hello().await?;
        let max = hallmark_protocol::MAX_CHUNK;
        let cases: [(&str, u32, Vec<u8>); 3] = [
            ("a 513-byte chunk", 600, vec![0x41; max + 1]),
            ("total_len 8193", hallmark_protocol::MAX_OBJECT as u32 + 1, vec![0x42; 10]),
            ("11 bytes into total_len 10", 10, vec![0x43; 11]),
        ];
        for (what, total_len, data) in cases {
            let answer = self.write(ObjectId::Certificate, 0, total_len, &data).await?;
            expect_error(&answer.response, ErrorCode::MALFORMED).map_err(|p| prefix(what, p))?;
        }
        Ok("MALFORMED for all three".into())
    }

    pub(super) async fn w5_hash_mismatch(&mut self) -> Outcome {
        let spki = self.board_spki()?;
        let objects = self.identity_for(&spki, None)?;
        let mut hashes: [[u8; 32]; 3] = objects.each_ref().map(|o| Sha256::digest(o).into());
        hashes[1][0] ^= 0x01;
        let answer = self.install(&objects, Some(hashes)).await?;
        expect_error(&answer, ErrorCode::HASH_MISMATCH)
    }

    pub(super) async fn w6_foreign_certificate(&mut self) -> Outcome {
        self.board_spki()?;
        let ca = self.test_ca()?;
        let objects = [ca.foreign_leaf(None)?, ca.chain(), ca.trust_anchor()];
        let answer = self.install(&objects, None).await?;
        expect_error(&answer, ErrorCode::KEY_MISMATCH)
    }

    pub(super) async fn w7_key_outside_spki(&mut self) -> Outcome {
        self.board_spki()?;
        let key = self.key.clone().ok_or_else(|| Problem::Skip("needs the key from K4".into()))?;
        let ca = self.test_ca()?;
        let objects = [ca.foreign_leaf(Some(&key))?, ca.chain(), ca.trust_anchor()];
        let answer = self.install(&objects, None).await?;
        expect_error(&answer, ErrorCode::KEY_MISMATCH)
    }

    pub(super) async fn w8_install(&mut self) -> Outcome {
        let spki = self.board_spki()?;
        let objects = self.identity_for(&spki, None)?;
        match self.install(&objects, None).await? {
            Response::Installed => {
                let sizes = objects.each_ref().map(|o| o.len());
                self.identity = Some(objects);
                Ok(format!("installed ({} + {} + {} bytes)", sizes[0], sizes[1], sizes[2]))
            }
            other => Err(Problem::Fail(format!("CommitInstall was answered {}", describe(&other)))),
        }
    }

    pub(super) fn installed(&self) -> Result<[Vec<u8>; 3], Problem> {
        self.identity.clone().ok_or_else(|| Problem::Skip("needs the identity installed by W8".into()))
    }

    pub(super) async fn w9_hello_after_install(&mut self) -> Outcome {
        self.installed()?;
        let info = self.hello().await?;
        match (info.has_key, info.has_certificate) {
            (true, true) => Ok("has_key and has_certificate".into()),
            (k, c) => Err(Problem::Fail(format!("has_key = {k}, has_certificate = {c}"))),
        }
    }

    pub(super) async fn w10_read_back(&mut self) -> Outcome {
        let identity = self.installed()?;
        for (object, written) in OBJECTS.iter().zip(&identity) {
            let read = self.read_object(*object).await?;
            if &read != written {
                return Err(Problem::Fail(format!(
                    "the {object:?} read back ({} bytes) differs from what was written ({} bytes)",
                    read.len(),
                    written.len()
                )));
            }
        }
        Ok("all three identical".into())
    }

    pub(super) async fn w11_self_test(&mut self) -> Outcome {
        let [certificate, ..] = self.installed()?;
        let nonce: [u8; 32] = rand::random();
        let id = self.wire.fresh_id();
        let body = Request::SelfTest { nonce }.to_body();
        let first = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        let Response::SelfTest { signature } = &first.response else {
            return Err(Problem::Fail(format!("SelfTest was answered {}", describe(&first.response))));
        };
        verify_possession(&certificate, &nonce, signature).map_err(|e| Problem::Fail(e.to_string()))?;
        let again = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        if again.received.block != first.received.block {
            return Err(Problem::Fail("the retransmitted SelfTest was not answered with the same bytes".into()));
        }
        Ok(format!("a {}-byte signature verified", signature.len()))
    }

    pub(super) async fn w12_keygen_locked(&mut self) -> Outcome {
        self.installed()?;
        let answer = self.wire.call(&Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 }).await?;
        expect_error(&answer.response, ErrorCode::ALREADY_PROVISIONED)
    }

    pub(super) async fn w13_csr_after_install(&mut self) -> Outcome {
        self.installed()?;
        // The install's Hello opened this session; no challenge was sent in it.
        self.checked_csr(None).await?;
        Ok("served, same key".into())
    }

    pub(super) async fn w14_reissue(&mut self) -> Outcome {
        self.installed()?;
        let spki = self.board_spki()?;
        let objects = self.identity_for(&spki, None)?;
        match self.install(&objects, None).await? {
            Response::Installed => {}
            other => return Err(Problem::Fail(format!("the second CommitInstall was answered {}", describe(&other)))),
        }
        let read = self.read_object(ObjectId::Certificate).await?;
        if read != objects[0] {
            return Err(Problem::Fail("the certificate read back is not the new one".into()));
        }
        self.identity = Some(objects);
        Ok("the new certificate replaced the old".into())
    }

    pub(super) async fn t1_tls_unsupported(&mut self) -> Outcome {
        if self.capable(capability::SELFTEST_TLS_LINK) {
            return Err(Problem::Skip(
                "the board offers the link self-test (bit 2): check it with `hallmark provision` and `[selftest] mode = \"link\"`"
                    .into(),
            ));
        }
        self.hello().await?;
        let answer = self.wire.call(&Request::TlsStart).await?;
        expect_error(&answer.response, ErrorCode::UNSUPPORTED)
    }

    pub(super) async fn t2_broker_unsupported(&mut self) -> Outcome {
        if self.capable(capability::SELFTEST_BROKER) {
            return Err(Problem::Skip(
                "the board offers the broker self-test (bit 3): check it with `hallmark provision` and `[selftest] mode = \"broker\"`"
                    .into(),
            ));
        }
        let request = Request::BrokerTest {
            host: "127.0.0.1".into(),
            port: 8883,
            server_name: "broker.invalid".into(),
            topic: "devices/conformance/selftest".into(),
            nonce: rand::random(),
            timeout_ms: 1000,
        };
        let answer = self.wire.call(&request).await?;
        expect_error(&answer.response, ErrorCode::UNSUPPORTED)
    }

    pub(super) async fn e1_finish(&mut self) -> Outcome {
        self.hello().await?;
        match self.wire.call(&Request::Finish).await?.response {
            Response::Finished => Ok("Finished".into()),
            other => Err(Problem::Fail(format!("Finish was answered {}", describe(&other)))),
        }
    }
}
