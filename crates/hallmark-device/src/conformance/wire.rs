//! The kit's own end of the line: frames sent exactly as a check wants them (any
//! version, any request id, a broken CRC, a chosen COBS form) and every frame the
//! board sends, kept as it arrived. [`crate::client::DeviceClient`] cannot be used
//! for this on purpose: it never sends a malformed frame and hides retransmissions.

use super::Problem;
use crate::transport::Link;
use hallmark_protocol::{Frame, FrameDecoder, FrameError, Request, Response, PROTOCOL_VERSION};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// One frame the board sent, with the exact bytes it arrived in.
#[derive(Clone, Debug)]
pub(super) struct Received {
    pub frame: Frame,
    /// The COBS block (delimiter excluded), for comparing a replayed answer byte for byte.
    pub block: Vec<u8>,
}

/// What the board's answer to one request was.
#[derive(Clone, Debug)]
pub(super) struct Answer {
    pub received: Received,
    pub response: Response,
}

pub(super) struct Wire<L> {
    link: L,
    decoder: FrameDecoder,
    block: Vec<u8>,
    pending: VecDeque<u8>,
    last_id: u16,
    /// Per-answer deadline.
    pub answer: Duration,
    /// Per-answer deadline of `GenerateKey`.
    pub keygen: Duration,
    /// How long the board must stay quiet for "no answer" to hold.
    pub quiet: Duration,
    /// Largest frame the board may send (the base frame unless `DescribeLink` agreed).
    max_frame: usize,
}

impl<L: Link> Wire<L> {
    pub fn new(link: L, answer: Duration, keygen: Duration, quiet: Duration) -> Self {
        Wire {
            link,
            decoder: FrameDecoder::new(),
            block: Vec::new(),
            pending: VecDeque::new(),
            last_id: rand::random(),
            answer,
            keygen,
            quiet,
            max_frame: hallmark_protocol::MAX_FRAME,
        }
    }

    /// Takes answers in frames of up to `max_frame` bytes (what `DescribeLink` agreed).
    pub fn use_frame_size(&mut self, max_frame: usize) {
        self.max_frame = max_frame;
        self.decoder.set_limit(max_frame);
    }

    /// A random request id, never the previous one.
    pub fn fresh_id(&mut self) -> u16 {
        loop {
            let id: u16 = rand::random();
            if id != self.last_id {
                self.last_id = id;
                return id;
            }
        }
    }

    /// Writes bytes as they are.
    pub async fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), Problem> {
        self.link.write_all(bytes).await.map_err(|e| Problem::Lost(format!("writing to the board failed: {e}")))?;
        self.link.flush().await.map_err(|e| Problem::Lost(format!("writing to the board failed: {e}")))
    }

    /// Sends a frame, preceded by a delimiter as the station does.
    pub async fn send_frame(&mut self, version: u8, request_id: u16, body: &[u8]) -> Result<(), Problem> {
        let wire = encoded(version, request_id, body)?;
        let mut out = Vec::with_capacity(wire.len() + 2);
        out.push(0);
        out.extend_from_slice(&wire);
        out.push(0);
        self.send_bytes(&out).await
    }

    /// Waits up to `within` for the next frame from the board. Frames that fail to
    /// decode are returned as errors: a board must never send one.
    pub async fn next(&mut self, within: Duration) -> Result<Option<Result<Received, FrameError>>, Problem> {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 256];
        loop {
            while let Some(byte) = self.pending.pop_front() {
                if byte != 0 && self.block.len() <= hallmark_protocol::encoded_limit(self.max_frame) {
                    self.block.push(byte);
                }
                if let Some(decoded) = self.decoder.push(byte) {
                    let block = std::mem::take(&mut self.block);
                    return Ok(Some(decoded.map(|frame| Received { frame, block })));
                }
                if byte == 0 {
                    self.block.clear();
                }
            }
            match timeout_at(deadline, self.link.read(&mut buf)).await {
                Err(_elapsed) => return Ok(None),
                Ok(Ok(0)) => return Err(Problem::Lost("the port reported end of stream".into())),
                Ok(Ok(n)) => self.pending.extend(&buf[..n]),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Ok(Err(e)) => return Err(Problem::Lost(format!("reading from the board failed: {e}"))),
            }
        }
    }

    /// Drops whatever the board sent so far.
    pub async fn drain(&mut self) -> Result<(), Problem> {
        while self.next(Duration::from_millis(20)).await?.is_some() {}
        Ok(())
    }

    /// The board's frame for `request_id`, within `within`. A frame for another id,
    /// a broken frame or silence is a failure of the row.
    pub async fn frame_for(&mut self, request_id: u16, within: Duration) -> Result<Received, Problem> {
        match self.next(within).await? {
            None => Err(Problem::Fail(format!("no answer within {} ms", within.as_millis()))),
            Some(Err(e)) => Err(Problem::Fail(format!("the board sent a broken frame ({e})"))),
            Some(Ok(r)) if r.frame.request_id != request_id => Err(Problem::Fail(format!(
                "the answer carries request id {:#06x}, the request had {request_id:#06x}",
                r.frame.request_id
            ))),
            Some(Ok(r)) => Ok(r),
        }
    }

    /// Sends `body` under `request_id` in `version` and returns the decoded answer.
    pub async fn exchange(&mut self, version: u8, request_id: u16, body: &[u8]) -> Result<Answer, Problem> {
        self.drain().await?;
        self.send_frame(version, request_id, body).await?;
        let within = match Request::from_body(body) {
            Ok(Request::GenerateKey { .. }) => self.keygen,
            _ => self.answer,
        };
        let received = self.frame_for(request_id, within).await?;
        if received.frame.version != PROTOCOL_VERSION {
            return Err(Problem::Fail(format!("the answer is in frame version {}, not 1", received.frame.version)));
        }
        let response = Response::from_body_within(&received.frame.body, hallmark_protocol::chunk_limit(self.max_frame))
            .map_err(|e| Problem::Fail(format!("the answer does not decode: {e}")))?;
        Ok(Answer { received, response })
    }

    /// Sends `request` with a fresh id and returns the answer.
    pub async fn call(&mut self, request: &Request) -> Result<Answer, Problem> {
        let id = self.fresh_id();
        self.exchange(PROTOCOL_VERSION, id, &request.to_body()).await
    }

    /// Passes when nothing at all arrives within the quiet time.
    pub async fn expect_quiet(&mut self, after: &str) -> Result<(), Problem> {
        match self.next(self.quiet).await? {
            None => Ok(()),
            Some(Ok(r)) => Err(Problem::Fail(format!(
                "the board answered {after} (request id {:#06x}); it must drop it silently",
                r.frame.request_id
            ))),
            Some(Err(e)) => Err(Problem::Fail(format!("the board sent a broken frame after {after} ({e})"))),
        }
    }
}

/// A frame's wire form without delimiters.
pub(super) fn encoded(version: u8, request_id: u16, body: &[u8]) -> Result<Vec<u8>, Problem> {
    let mut wire = Frame { version, request_id, body: body.to_vec() }
        .encode()
        .ok_or_else(|| Problem::Fail("the kit built a frame over the size limit (a bug in the kit)".into()))?;
    wire.pop(); // the delimiter
    Ok(wire)
}
