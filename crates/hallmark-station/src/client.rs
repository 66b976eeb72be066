//! The station's side of the protocol: one request at a time, each with a deadline,
//! retransmitted (same id) when the answer is lost or corrupted. The device answers
//! a retransmission from its replay cache, so nothing runs twice on the board.

use crate::transport::Link;
use hallmark_protocol::{
    ErrorCode, Frame, FrameDecoder, FrameError, ObjectId, Request, Response, MAX_CHUNK, MAX_OBJECT, PROTOCOL_VERSION,
};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// How long to wait for the device.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// Per attempt, for ordinary requests.
    pub response: Duration,
    /// Per attempt, for key generation (slow on some secure elements).
    pub keygen: Duration,
    /// Attempts per request (1 = no retransmission).
    pub attempts: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { response: Duration::from_millis(2000), keygen: Duration::from_millis(10_000), attempts: 3 }
    }
}

/// Why a request did not get a usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// No answer within the deadline on any attempt.
    Timeout {
        /// Total time waited.
        waited: Duration,
    },
    /// The link closed or failed.
    Lost(String),
    /// Every attempt got corrupted frames back.
    Corrupt {
        /// Corrupted frames seen.
        frames: u32,
    },
    /// The device sent a frame over the size limit.
    TooLarge,
    /// A CRC-valid frame whose body is not a valid response.
    Undecodable(String),
    /// A valid response of the wrong kind or with inconsistent content.
    Unexpected(String),
    /// The device answered with an error.
    Device {
        /// Its code.
        code: ErrorCode,
        /// Its detail text.
        detail: String,
    },
}

/// Link health for the log.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct LinkStats {
    /// Requests sent again after a timeout or corruption.
    pub retransmissions: u32,
    /// Frames dropped for a bad CRC or encoding.
    pub corrupt_frames: u32,
    /// Frames with an unexpected request id (stale answers).
    pub stale_frames: u32,
}

/// A protocol session with one board.
pub struct DeviceClient<L> {
    link: L,
    decoder: FrameDecoder,
    pending: VecDeque<u8>,
    next_id: u16,
    timeouts: Timeouts,
    stats: LinkStats,
}

enum Attempt {
    Answer(Response),
    Retry { corrupt: bool },
}

impl<L: Link> DeviceClient<L> {
    /// A client on an open link.
    pub fn new(link: L, timeouts: Timeouts) -> Self {
        DeviceClient {
            link,
            decoder: FrameDecoder::new(),
            pending: VecDeque::new(),
            next_id: rand::random(),
            timeouts,
            stats: LinkStats::default(),
        }
    }

    /// The timeouts in force.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Link statistics so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Sends `request` and returns the device's answer. A device `Error` response is
    /// returned as [`LinkError::Device`].
    pub async fn call(&mut self, request: &Request, per_attempt: Duration) -> Result<Response, LinkError> {
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let wire = Frame { version: PROTOCOL_VERSION, request_id: id, body: request.to_body() }
            .encode()
            .ok_or_else(|| LinkError::Unexpected("request too large for one frame".into()))?;
        let started = Instant::now();
        let mut last_corrupt = false;
        for attempt in 0..self.timeouts.attempts.max(1) {
            if attempt > 0 {
                self.stats.retransmissions += 1;
            }
            // A leading delimiter makes the device drop any partial frame left on the
            // line (e.g. by a station that was killed mid-write).
            self.link.write_all(&[0]).await.map_err(|e| LinkError::Lost(e.to_string()))?;
            self.link.write_all(&wire).await.map_err(|e| LinkError::Lost(e.to_string()))?;
            self.link.flush().await.map_err(|e| LinkError::Lost(e.to_string()))?;
            match self.await_answer(id, Instant::now() + per_attempt).await? {
                Attempt::Answer(Response::Error { code, detail }) => return Err(LinkError::Device { code, detail }),
                Attempt::Answer(response) => return Ok(response),
                Attempt::Retry { corrupt } => last_corrupt = corrupt,
            }
        }
        if last_corrupt {
            Err(LinkError::Corrupt { frames: self.stats.corrupt_frames })
        } else {
            Err(LinkError::Timeout { waited: started.elapsed() })
        }
    }

    async fn await_answer(&mut self, id: u16, deadline: Instant) -> Result<Attempt, LinkError> {
        let mut buf = [0u8; 256];
        loop {
            while let Some(byte) = self.pending.pop_front() {
                match self.decoder.push(byte) {
                    None => {}
                    Some(Ok(frame)) if frame.request_id == id => {
                        if frame.version != PROTOCOL_VERSION {
                            return Err(LinkError::Unexpected(format!("frame version {}", frame.version)));
                        }
                        return Response::from_body(&frame.body)
                            .map(Attempt::Answer)
                            .map_err(|e| LinkError::Undecodable(e.to_string()));
                    }
                    Some(Ok(_stale)) => self.stats.stale_frames += 1,
                    Some(Err(FrameError::TooLarge)) => return Err(LinkError::TooLarge),
                    Some(Err(_)) => {
                        self.stats.corrupt_frames += 1;
                        // Ask again now rather than wait out the deadline.
                        return Ok(Attempt::Retry { corrupt: true });
                    }
                }
            }
            match timeout_at(deadline, self.link.read(&mut buf)).await {
                Err(_elapsed) => return Ok(Attempt::Retry { corrupt: false }),
                Ok(Ok(0)) => return Err(LinkError::Lost("the port reported end of stream".into())),
                Ok(Ok(n)) => self.pending.extend(&buf[..n]),
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Ok(Err(e)) => return Err(LinkError::Lost(e.to_string())),
            }
        }
    }

    /// Reads a whole object in chunks, checking every chunk for consistency.
    pub async fn read_object(&mut self, object: ObjectId) -> Result<Vec<u8>, LinkError> {
        let mut out: Vec<u8> = Vec::new();
        let mut total: Option<u32> = None;
        loop {
            let req = Request::ReadObject { object, offset: out.len() as u32 };
            match self.call(&req, self.timeouts.response).await? {
                Response::Chunk { total_len, offset, data } => {
                    if offset as usize != out.len() || total.is_some_and(|t| t != total_len) {
                        return Err(LinkError::Unexpected(format!("inconsistent chunk of {object:?}")));
                    }
                    total = Some(total_len);
                    if data.is_empty() && out.len() < total_len as usize {
                        return Err(LinkError::Unexpected(format!("empty chunk before the end of {object:?}")));
                    }
                    out.extend_from_slice(&data);
                    if out.len() >= total_len as usize {
                        return Ok(out);
                    }
                }
                other => return Err(unexpected("Chunk", &other)),
            }
        }
    }

    /// Writes a whole object into the device's staging area.
    pub async fn write_object(&mut self, object: ObjectId, data: &[u8]) -> Result<(), LinkError> {
        if data.len() > MAX_OBJECT {
            return Err(LinkError::Unexpected(format!("{object:?} is larger than the protocol allows")));
        }
        let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(MAX_CHUNK).collect() };
        let mut offset = 0usize;
        for chunk in chunks {
            let req = Request::WriteObject {
                object,
                offset: offset as u32,
                total_len: data.len() as u32,
                data: chunk.to_vec(),
            };
            offset += chunk.len();
            match self.call(&req, self.timeouts.response).await? {
                Response::Written { received } if received as usize == offset => {}
                other => return Err(unexpected("Written", &other)),
            }
        }
        Ok(())
    }
}

/// An error for a response of the wrong kind.
pub fn unexpected(expected: &str, got: &Response) -> LinkError {
    let mut got = format!("{got:?}");
    got.truncate(80);
    LinkError::Unexpected(format!("expected {expected}, got {got}"))
}
