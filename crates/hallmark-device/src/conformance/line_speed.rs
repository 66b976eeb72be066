//! Rows for the line-speed capabilities (`docs/protocol.md` section 6): read-back by
//! digest (bit 5) and link tuning (bit 6). A board without a bit has its rows skipped;
//! the station never sends it those requests.

use super::{describe, expect_error, Kit, Outcome, Problem};
use crate::transport::Link;
use hallmark_protocol::{
    capability, chunk_limit, ErrorCode, ObjectId, Request, Response, MAX_FRAME, MAX_LINK_FRAME, MIN_LINK_WINDOW,
    PROTOCOL_VERSION,
};
use sha2::{Digest, Sha256};

/// The frame size the kit offers in `DescribeLink`.
const OFFERED_FRAME: u32 = 4096;

impl<L: Link> Kit<L> {
    fn needs(&self, bit: u32, name: &str) -> Result<(), Problem> {
        if self.capable(bit) {
            Ok(())
        } else {
            Err(Problem::Skip(format!("the board does not offer {name}")))
        }
    }

    pub(super) async fn d1_digests_without_identity(&mut self) -> Outcome {
        self.needs(capability::READ_DIGESTS, "read-back by digest (capability bit 5)")?;
        self.hello().await?;
        let answer = self.wire.call(&Request::ReadDigests).await?;
        expect_error(&answer.response, ErrorCode::BAD_STATE)
    }

    pub(super) async fn d2_digests_of_the_install(&mut self) -> Outcome {
        self.needs(capability::READ_DIGESTS, "read-back by digest (capability bit 5)")?;
        let [certificate, chain, anchor] = self.installed()?;
        self.hello().await?;
        let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
        match self.wire.call(&Request::ReadDigests).await?.response {
            Response::Digests { certificate_sha256, chain_sha256, trust_anchor_sha256 }
                if [certificate_sha256, chain_sha256, trust_anchor_sha256]
                    == [sha(&certificate), sha(&chain), sha(&anchor)] =>
            {
                Ok("the SHA-256 of the certificate, chain and trust anchor installed".into())
            }
            Response::Digests { .. } => Err(Problem::Fail("the digests are not those of the objects installed".into())),
            other => Err(Problem::Fail(format!("ReadDigests was answered {}", describe(&other)))),
        }
    }

    pub(super) async fn l1_describe_link(&mut self) -> Outcome {
        self.needs(capability::LINK_TUNING, "link tuning (capability bit 6)")?;
        self.hello().await?;
        let too_small = self.wire.call(&Request::DescribeLink { max_frame: (MAX_FRAME - 1) as u32 }).await?;
        expect_error(&too_small.response, ErrorCode::MALFORMED)?;
        let (max_frame, window) =
            match self.wire.call(&Request::DescribeLink { max_frame: OFFERED_FRAME }).await?.response {
                Response::LinkInfo { max_frame, window, .. } => (max_frame, window),
                other => return Err(Problem::Fail(format!("DescribeLink was answered {}", describe(&other)))),
            };
        if !(MAX_FRAME as u32..=OFFERED_FRAME).contains(&max_frame) {
            return Err(Problem::Fail(format!(
                "the board chose {max_frame}-byte frames for an offer of {OFFERED_FRAME}"
            )));
        }
        self.hello().await?;
        Ok(format!("{max_frame}-byte frames, a window of {window}; under 1024 refused"))
    }

    pub(super) async fn l2_burst(&mut self) -> Outcome {
        self.needs(capability::LINK_TUNING, "link tuning (capability bit 6)")?;
        self.hello().await?;
        // MIN_LINK_WINDOW requests back to back, before any DescribeLink: each answered,
        // in order, with its own id.
        let body = Request::DescribeLink { max_frame: MAX_FRAME as u32 }.to_body();
        let ids: Vec<u16> = (0..MIN_LINK_WINDOW).map(|_| self.wire.fresh_id()).collect();
        let mut burst = vec![0u8];
        for id in &ids {
            burst.extend(super::wire::encoded(PROTOCOL_VERSION, *id, &body)?);
            burst.push(0);
        }
        self.wire.drain().await?;
        self.wire.send_bytes(&burst).await?;
        for (i, id) in ids.iter().enumerate() {
            let received = self.wire.frame_for(*id, self.wire.answer).await.map_err(|p| match p {
                Problem::Fail(why) => Problem::Fail(format!("answer {} of {}: {why}", i + 1, ids.len())),
                other => other,
            })?;
            match Response::from_body(&received.frame.body) {
                Ok(Response::LinkInfo { .. }) => {}
                Ok(other) => return Err(Problem::Fail(format!("answer {} was {}", i + 1, describe(&other)))),
                Err(e) => return Err(Problem::Fail(format!("answer {} does not decode: {e}", i + 1))),
            }
        }
        Ok(format!("{} requests sent back to back, answered in order", ids.len()))
    }

    pub(super) async fn l3_larger_chunks(&mut self) -> Outcome {
        self.needs(capability::LINK_TUNING, "link tuning (capability bit 6)")?;
        let [_, chain, _] = self.installed()?;
        self.hello().await?;
        let max_frame = match self.wire.call(&Request::DescribeLink { max_frame: OFFERED_FRAME }).await?.response {
            Response::LinkInfo { max_frame, .. } => max_frame as usize,
            other => return Err(Problem::Fail(format!("DescribeLink was answered {}", describe(&other)))),
        };
        self.wire.use_frame_size(max_frame);
        let read = self.wire.call(&Request::ReadObject { object: ObjectId::Chain, offset: 0 }).await;
        let expected = chain.len().min(chunk_limit(max_frame));
        let result = match read.map(|a| a.response) {
            Ok(Response::Chunk { data, .. }) if data.len() == expected && chain.starts_with(&data) => {
                Ok(format!("a {expected}-byte chunk of the chain on {max_frame}-byte frames"))
            }
            Ok(Response::Chunk { data, .. }) => Err(Problem::Fail(format!(
                "a {}-byte chunk where the agreed frames carry {expected} bytes of the chain",
                data.len()
            ))),
            Ok(other) => Err(Problem::Fail(format!("ReadObject was answered {}", describe(&other)))),
            Err(e) => Err(e),
        };
        // A new session is back at the base frame.
        self.hello().await?;
        self.wire.use_frame_size(MAX_FRAME.min(MAX_LINK_FRAME));
        result
    }
}
