//! Rows F1–F8: framing (section 1 and S4 of `docs/protocol.md`).

use super::wire::encoded;
use super::{describe, expect_written, Kit, Outcome, Problem};
use crate::transport::Link;
use hallmark_protocol::{capability, cobs, ObjectId, Request, Response, MAX_ENCODED_FRAME, PROTOCOL_VERSION};

/// The `Hello` a fresh session starts with.
const HELLO: Request = Request::Hello { min_version: 1, max_version: 1 };

impl<L: Link> Kit<L> {
    pub(super) async fn f1_hello(&mut self) -> Outcome {
        let info = self.hello().await?;
        if info.protocol_version != PROTOCOL_VERSION {
            return Err(Problem::Fail(format!("DeviceInfo says protocol version {}", info.protocol_version)));
        }
        let words = format!("protocol version 1, hardware id of {} bytes", info.hardware_id.len());
        self.info = Some(info);
        Ok(words)
    }

    pub(super) fn f2_device_info(&self) -> Outcome {
        let info = self.info.as_ref().ok_or_else(|| Problem::Skip("needs F1".into()))?;
        let mut wrong = Vec::new();
        if info.hardware_id.is_empty() || info.hardware_id.len() > hallmark_protocol::MAX_HARDWARE_ID {
            wrong.push(format!("hardware id of {} bytes", info.hardware_id.len()));
        }
        for (bit, name) in
            [(capability::KEYGEN_P256, "0 (KEYGEN_P256)"), (capability::SELFTEST_SIGN, "1 (SELFTEST_SIGN)")]
        {
            if info.capabilities & bit == 0 {
                wrong.push(format!("capability bit {name} is not set"));
            }
        }
        let reserved = info.capabilities & !capability::DEFINED;
        if reserved != 0 {
            wrong.push(format!("reserved capability bits are set ({reserved:#010x})"));
        }
        if !wrong.is_empty() {
            return Err(Problem::Fail(wrong.join("; ")));
        }
        let printable = |s: &str| s.bytes().all(|b| (0x20..0x7F).contains(&b));
        let note = if printable(&info.model) && printable(&info.firmware_version) {
            ""
        } else {
            " (model or firmware version is not printable ASCII, which it SHOULD be)"
        };
        Ok(format!("capabilities {:#09b}{note}", info.capabilities))
    }

    pub(super) async fn f3_idle_delimiters(&mut self) -> Outcome {
        self.wire.send_bytes(&[0; 16]).await?;
        self.hello().await?;
        self.wire.send_bytes(&[0; 16]).await?;
        self.hello().await?;
        Ok("Hello answered after 16 idle delimiters, twice".into())
    }

    pub(super) async fn f4_noise(&mut self) -> Outcome {
        self.wire.send_bytes(&[0x55; 40]).await?;
        // `hello` sends a delimiter first: it ends the noise as a broken frame.
        self.hello().await?;
        Ok("40 bytes of noise dropped; the next Hello answered".into())
    }

    pub(super) async fn f5_bad_crc(&mut self) -> Outcome {
        let id = self.wire.fresh_id();
        let body = HELLO.to_body();
        let good = encoded(PROTOCOL_VERSION, id, &body)?;
        let mut raw = cobs::decode(&good).ok_or_else(|| Problem::Fail("the kit's own frame did not decode".into()))?;
        if let Some(last) = raw.last_mut() {
            *last ^= 0xA5;
        }
        let mut bad = vec![0];
        bad.extend(cobs::encode(&raw));
        bad.push(0);
        self.wire.drain().await?;
        self.wire.send_bytes(&bad).await?;
        self.wire.expect_quiet("a frame with a wrong CRC").await?;
        match self.wire.exchange(PROTOCOL_VERSION, id, &body).await?.response {
            Response::Hello(_) => Ok("dropped silently; the intact frame was answered".into()),
            other => Err(Problem::Fail(format!("the intact frame was answered with {}", describe(&other)))),
        }
    }

    pub(super) async fn f6_oversized(&mut self) -> Outcome {
        self.wire.drain().await?;
        self.wire.send_bytes(&vec![0x33; MAX_ENCODED_FRAME + 100]).await?;
        self.wire.expect_quiet("an oversized frame").await?;
        self.hello().await?;
        Ok(format!("{} bytes without a delimiter dropped; the next Hello answered", MAX_ENCODED_FRAME + 100))
    }

    pub(super) async fn f7_cobs_edge(&mut self) -> Outcome {
        self.hello().await?;
        let mut seen = Vec::new();
        for final_code in [true, false] {
            let (id, form) = self.edge_frame(final_code)?;
            let mut wire = vec![0];
            wire.extend_from_slice(&form);
            wire.push(0);
            self.wire.drain().await?;
            self.wire.send_bytes(&wire).await?;
            let received = self.wire.frame_for(id, self.wire.answer).await.map_err(|p| match p {
                Problem::Fail(why) => Problem::Fail(format!(
                    "the form {} the final 0x01: {why}",
                    if final_code { "with" } else { "without" }
                )),
                other => other,
            })?;
            let response = Response::from_body(&received.frame.body)
                .map_err(|e| Problem::Fail(format!("the answer does not decode: {e}")))?;
            expect_written(&response, EDGE_DATA as u32)?;
            seen.push(form.len());
        }
        Ok(format!("both forms ({} and {} bytes encoded) written", seen[0], seen[1]))
    }

    /// A `WriteObject` frame whose last 254 bytes are non-zero and follow a zero,
    /// COBS-encoded with or without the final empty block (`0x01`).
    fn edge_frame(&mut self, final_code: bool) -> Result<(u16, Vec<u8>), Problem> {
        let request = Request::WriteObject {
            object: ObjectId::Certificate,
            offset: 0,
            total_len: EDGE_DATA as u32,
            data: vec![0x11; EDGE_DATA],
        };
        let body = request.to_body();
        for _ in 0..1000 {
            let id = self.wire.fresh_id();
            let wire = encoded(PROTOCOL_VERSION, id, &body)?;
            let raw = cobs::decode(&wire).ok_or_else(|| Problem::Fail("the kit's own frame did not decode".into()))?;
            let (head, run) = raw.split_at(raw.len() - 254);
            if head.last() != Some(&0) || run.contains(&0) {
                continue; // the CRC has a zero byte: try another id
            }
            // Encode by hand: the head's blocks, then 0xFF and the run, then the
            // optional empty block.
            let mut form = cobs::encode(&head[..head.len() - 1]);
            form.push(0xFF);
            form.extend_from_slice(run);
            if final_code {
                form.push(0x01);
            }
            if cobs::decode(&form).as_deref() != Some(&raw[..]) {
                return Err(Problem::Fail("the kit built a wrong COBS form (a bug in the kit)".into()));
            }
            return Ok((id, form));
        }
        Err(Problem::Fail("no request id gave a CRC without zero bytes (a bug in the kit)".into()))
    }

    pub(super) async fn f8_largest_chunk(&mut self) -> Outcome {
        self.hello().await?;
        let max = hallmark_protocol::MAX_CHUNK;
        let answer = self.write(ObjectId::Chain, 0, max as u32, &vec![0x5A; max]).await?;
        expect_written(&answer.response, max as u32)?;
        Ok(format!("{max} bytes written in one chunk"))
    }
}

/// Data bytes of the edge frame: with version, id, the WriteObject header
/// (3 bytes up to the zero offset, then two 2-byte varints) and the CRC, the bytes
/// after the offset's zero are 2 + 2 + 246 + 4 = 254.
const EDGE_DATA: usize = 246;
