//! Rows S1–S7 (versions, undecodable bodies, the session) and R1–R3
//! (retransmission), sections 2, 4.1, S5, S6 and S7 of `docs/protocol.md`.

use super::{describe, expect_error, expect_written, Kit, Outcome, Problem};
use crate::transport::Link;
use hallmark_protocol::{ErrorCode, ObjectId, Request, Response, PROTOCOL_VERSION};

/// A frame version no v1 device speaks.
const OTHER_VERSION: u8 = 2;
/// The first of three chunks of a 300-byte object the session rows stage.
const CHUNK: usize = 100;
const TOTAL: u32 = 300;

impl<L: Link> Kit<L> {
    /// Opens a session and stages the first chunk of the certificate.
    async fn stage_first_chunk(&mut self) -> Result<(), Problem> {
        self.hello().await?;
        let answer = self.write(ObjectId::Certificate, 0, TOTAL, &[0x21; CHUNK]).await?;
        expect_written(&answer.response, CHUNK as u32)
    }

    fn second_chunk() -> Request {
        Request::WriteObject {
            object: ObjectId::Certificate,
            offset: CHUNK as u32,
            total_len: TOTAL,
            data: vec![0x22; CHUNK],
        }
    }

    pub(super) async fn s1_frame_version(&mut self) -> Outcome {
        let id = self.wire.fresh_id();
        let body = Request::Hello { min_version: 1, max_version: 1 }.to_body();
        let answer = self.wire.exchange(OTHER_VERSION, id, &body).await?;
        expect_error(&answer.response, ErrorCode::UNSUPPORTED_VERSION)
    }

    pub(super) async fn s2_no_common_version(&mut self) -> Outcome {
        let answer = self.wire.call(&Request::Hello { min_version: 2, max_version: 3 }).await?;
        expect_error(&answer.response, ErrorCode::UNSUPPORTED_VERSION)
    }

    pub(super) async fn s3_negotiates(&mut self) -> Outcome {
        match self.wire.call(&Request::Hello { min_version: 1, max_version: 7 }).await?.response {
            Response::Hello(info) if info.protocol_version == PROTOCOL_VERSION => Ok("version 1".into()),
            Response::Hello(info) => Err(Problem::Fail(format!("negotiated version {}", info.protocol_version))),
            other => Err(Problem::Fail(format!("answered {}", describe(&other)))),
        }
    }

    pub(super) async fn s4_undecodable(&mut self) -> Outcome {
        self.hello().await?;
        let mut details = Vec::new();
        // Request variant 127 does not exist; a WriteObject cut off after its object.
        for body in [vec![0x7F], vec![0x03, 0x01]] {
            let id = self.wire.fresh_id();
            let answer = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
            details.push(expect_error(&answer.response, ErrorCode::MALFORMED)?);
        }
        Ok(details.join("; "))
    }

    pub(super) async fn s5_hello_discards_staging(&mut self) -> Outcome {
        self.stage_first_chunk().await?;
        self.hello().await?;
        let answer = self.wire.call(&Self::second_chunk()).await?;
        expect_error(&answer.response, ErrorCode::BAD_OFFSET)
            .map(|d| format!("the chunk after Hello continued nothing: {d}"))
    }

    pub(super) async fn s6_failed_hello_keeps_staging(&mut self) -> Outcome {
        self.stage_first_chunk().await?;
        let refused = self.wire.call(&Request::Hello { min_version: 2, max_version: 3 }).await?;
        expect_error(&refused.response, ErrorCode::UNSUPPORTED_VERSION)?;
        let answer = self.wire.call(&Self::second_chunk()).await?;
        expect_written(&answer.response, 2 * CHUNK as u32)?;
        Ok("the staged chunk survived the refused Hello".into())
    }

    pub(super) async fn s7_finish(&mut self) -> Outcome {
        self.hello().await?;
        let id = self.wire.fresh_id();
        let body = Request::Finish.to_body();
        let first = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        if first.response != Response::Finished {
            return Err(Problem::Fail(format!("Finish was answered {}", describe(&first.response))));
        }
        let again = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        if again.received.block != first.received.block {
            return Err(Problem::Fail(format!(
                "Finish sent again was answered {} instead of the same bytes",
                describe(&again.response)
            )));
        }
        let finish = self.wire.call(&Request::Finish).await?;
        expect_error(&finish.response, ErrorCode::BAD_STATE).map_err(|p| prefix("a new Finish", p))?;
        let read = self.wire.call(&Request::ReadObject { object: ObjectId::Csr, offset: 0 }).await?;
        expect_error(&read.response, ErrorCode::BAD_STATE).map_err(|p| prefix("ReadObject after Finish", p))?;
        self.hello().await?;
        Ok("Finished, the same bytes again, then BAD_STATE until Hello".into())
    }

    pub(super) async fn r1_retransmission(&mut self) -> Outcome {
        self.stage_first_chunk().await?;
        let id = self.wire.fresh_id();
        let body = Self::second_chunk().to_body();
        let first = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        expect_written(&first.response, 2 * CHUNK as u32)?;
        let again = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        if again.received.block != first.received.block {
            // Executed again, the chunk would be out of order (or appended twice).
            return Err(Problem::Fail(format!(
                "the retransmitted chunk was answered {} instead of the same bytes: it ran again",
                describe(&again.response)
            )));
        }
        let third = self.write(ObjectId::Certificate, 2 * CHUNK as u32, TOTAL, &[0x23; CHUNK]).await?;
        expect_written(&third.response, TOTAL)?;
        Ok("same bytes, and the object grew once".into())
    }

    pub(super) async fn r2_same_id_other_body(&mut self) -> Outcome {
        self.hello().await?;
        let id = self.wire.fresh_id();
        let first = Request::WriteObject {
            object: ObjectId::Certificate,
            offset: 0,
            total_len: TOTAL,
            data: vec![0x21; CHUNK],
        };
        let answer = self.wire.exchange(PROTOCOL_VERSION, id, &first.to_body()).await?;
        expect_written(&answer.response, CHUNK as u32)?;
        let answer = self.wire.exchange(PROTOCOL_VERSION, id, &Self::second_chunk().to_body()).await?;
        expect_written(&answer.response, 2 * CHUNK as u32)
            .map_err(|p| prefix("the second request under the same id", p))?;
        Ok("executed as a new request".into())
    }

    pub(super) async fn r3_same_id_other_version(&mut self) -> Outcome {
        self.hello().await?;
        let id = self.wire.fresh_id();
        let body = Request::WriteObject {
            object: ObjectId::Certificate,
            offset: 0,
            total_len: TOTAL,
            data: vec![0x21; CHUNK],
        }
        .to_body();
        let answer = self.wire.exchange(PROTOCOL_VERSION, id, &body).await?;
        expect_written(&answer.response, CHUNK as u32)?;
        let answer = self.wire.exchange(OTHER_VERSION, id, &body).await?;
        expect_error(&answer.response, ErrorCode::UNSUPPORTED_VERSION)
    }
}

/// Says which request of a row a failure belongs to.
pub(super) fn prefix(what: &str, problem: Problem) -> Problem {
    match problem {
        Problem::Fail(why) => Problem::Fail(format!("{what}: {why}")),
        other => other,
    }
}
