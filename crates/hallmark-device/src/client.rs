//! The station's side of the protocol: one request at a time, each with a deadline,
//! retransmitted (same id) when the answer is lost or corrupted. The device answers
//! a retransmission from its replay cache, so nothing runs twice on the board.
//!
//! The client takes frames up to [`MAX_LINK_FRAME`] at any time, whatever the
//! session agreed: a board may still be finishing a large answer of a session a killed
//! station left behind, and that tail must be dropped as stale, not end the next
//! session. Chunks larger than this session agreed on are still refused, when the
//! answer is decoded; a frame larger than any session may agree on is
//! [`LinkError::TooLarge`].
//!
//! On a link that agreed on it (`DescribeLink`), [`DeviceClient::call_burst`] sends
//! several requests before reading their answers, so they share one turnaround. A
//! burst is all or nothing: when an answer is lost the caller repeats the work one
//! request at a time, which is why only requests that are safe to run again (reads,
//! object writes from offset 0, a commit) travel in bursts.
//!
//! Answers are bound to their request: every request gets a fresh random id (never
//! the previous one), whatever arrived before the request was sent is discarded, and
//! a device that keeps sending frames for other ids is cut off after
//! [`MAX_STALE_FRAMES`], so it cannot guess an id by flooding the line.

use crate::transport::Link;
use hallmark_protocol::{
    chunk_limit, ErrorCode, Frame, FrameDecoder, FrameError, ObjectId, Request, Response, MAX_FRAME, MAX_LINK_FRAME,
    MAX_OBJECT, PROTOCOL_VERSION,
};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// Frames with a wrong request id tolerated while waiting for one answer. A real
/// device sends at most a late answer or two to an earlier request; more is a board
/// trying ids.
pub const MAX_STALE_FRAMES: u32 = 8;

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
    /// A CRC-valid frame whose body is not a valid response (technical detail).
    Undecodable(String),
    /// A valid response of the wrong kind or with inconsistent content.
    Unexpected {
        /// What happened, in words for the operator.
        words: String,
        /// Technical detail for the log.
        detail: String,
    },
    /// The device sent many frames answering requests that were never made.
    Flooded {
        /// Such frames seen while waiting for one answer.
        frames: u32,
    },
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
    /// Bytes written to the board, delimiters and retransmissions included (what the
    /// line carried; issue #19 measures runs by it).
    pub bytes_to_device: u64,
    /// Bytes read from the board, whatever they were.
    pub bytes_from_device: u64,
    /// Turnarounds: times the station stopped sending to wait for the board (one per
    /// request sent alone, retransmissions included; one per burst). Each costs the
    /// link's latency (a USB-UART's latency timer, say).
    pub round_trips: u32,
    /// Requests written, retransmissions included.
    pub requests: u32,
}

/// The answers to a burst.
#[derive(Debug)]
pub enum Burst {
    /// Every answer arrived, in order (device errors among them).
    Complete(Vec<Response>),
    /// An answer was lost, corrupted or skipped: the answers before it (which are
    /// valid), and nothing is known of the rest.
    Broken(Vec<Response>),
}

/// A protocol session with one board.
pub struct DeviceClient<L> {
    link: L,
    decoder: FrameDecoder,
    pending: VecDeque<u8>,
    last_id: u16,
    timeouts: Timeouts,
    stats: LinkStats,
    /// Largest frame both ways: the protocol's base frame until `DescribeLink` agreed
    /// on another.
    max_frame: usize,
}

enum Attempt {
    Answer { id: u16, response: Response },
    Retry { corrupt: bool },
}

impl<L: Link> DeviceClient<L> {
    /// A client on an open link.
    pub fn new(link: L, timeouts: Timeouts) -> Self {
        DeviceClient {
            link,
            decoder: FrameDecoder::with_limit(MAX_LINK_FRAME),
            pending: VecDeque::new(),
            last_id: rand::random(),
            timeouts,
            stats: LinkStats::default(),
            max_frame: MAX_FRAME,
        }
    }

    /// Uses frames of up to `max_frame` bytes both ways from the next request on (the
    /// size the board agreed to in `LinkInfo`, already bounds-checked).
    pub fn use_frame_size(&mut self, max_frame: usize) {
        self.max_frame = max_frame;
    }

    /// The largest chunk of object or TLS data a frame carries on this link.
    pub fn chunk_size(&self) -> usize {
        chunk_limit(self.max_frame)
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
        let id = self.fresh_id();
        let wire = self.encode(id, request)?;
        // Nothing received before this request can be its answer.
        self.pending.clear();
        self.decoder = FrameDecoder::with_limit(MAX_LINK_FRAME);
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
            self.stats.bytes_to_device += 1 + wire.len() as u64;
            self.stats.round_trips += 1;
            self.stats.requests += 1;
            match self.await_answer(&[id], Instant::now() + per_attempt).await? {
                Attempt::Answer { response: Response::Error { code, detail }, .. } => {
                    return Err(LinkError::Device { code, detail })
                }
                Attempt::Answer { response, .. } => return Ok(response),
                Attempt::Retry { corrupt } => last_corrupt = corrupt,
            }
        }
        if last_corrupt {
            Err(LinkError::Corrupt { frames: self.stats.corrupt_frames })
        } else {
            Err(LinkError::Timeout { waited: started.elapsed() })
        }
    }

    /// Sends `requests` back to back (at most the board's window; the caller checks)
    /// and reads their answers in order, each within `per_answer` of the one before:
    /// one turnaround for all. Nothing is retransmitted; see [`Burst`].
    pub async fn call_burst(&mut self, requests: &[Request], per_answer: Duration) -> Result<Burst, LinkError> {
        let mut ids = Vec::with_capacity(requests.len());
        let mut wire = vec![0u8];
        for request in requests {
            let id = self.fresh_id();
            wire.extend(self.encode(id, request)?);
            ids.push(id);
        }
        self.pending.clear();
        self.decoder = FrameDecoder::with_limit(MAX_LINK_FRAME);
        self.link.write_all(&wire).await.map_err(|e| LinkError::Lost(e.to_string()))?;
        self.link.flush().await.map_err(|e| LinkError::Lost(e.to_string()))?;
        self.stats.bytes_to_device += wire.len() as u64;
        self.stats.round_trips += 1;
        self.stats.requests += requests.len() as u32;
        let mut answers = Vec::with_capacity(requests.len());
        for i in 0..ids.len() {
            // Any later id of the burst is accepted too: arriving first, it shows
            // that this answer was lost.
            match self.await_answer(&ids[i..], Instant::now() + per_answer).await? {
                Attempt::Answer { id, response } if id == ids[i] => answers.push(response),
                Attempt::Answer { .. } | Attempt::Retry { .. } => return Ok(Burst::Broken(answers)),
            }
        }
        Ok(Burst::Complete(answers))
    }

    fn encode(&self, id: u16, request: &Request) -> Result<Vec<u8>, LinkError> {
        Frame { version: PROTOCOL_VERSION, request_id: id, body: request.to_body() }
            .encode_within(self.max_frame)
            .ok_or_else(|| LinkError::Unexpected {
                words: "the station built a request too large for one frame".into(),
                detail: format!("{request:?}").chars().take(200).collect(),
            })
    }

    /// A random request id, never the previous one: a device cannot predict the id of
    /// the next request, and a late answer to the previous one is never taken for it.
    fn fresh_id(&mut self) -> u16 {
        loop {
            let id: u16 = rand::random();
            if id != self.last_id {
                self.last_id = id;
                return id;
            }
        }
    }

    /// Waits for an answer to one of `ids` (the awaited request's first).
    async fn await_answer(&mut self, ids: &[u16], deadline: Instant) -> Result<Attempt, LinkError> {
        let mut buf = [0u8; 1024];
        let mut stale = 0u32;
        loop {
            while let Some(byte) = self.pending.pop_front() {
                match self.decoder.push(byte) {
                    None => {}
                    Some(Ok(frame)) if ids.contains(&frame.request_id) => {
                        if frame.version != PROTOCOL_VERSION {
                            return Err(LinkError::Unexpected {
                                words: format!("the board answered in protocol version {}", frame.version),
                                detail: format!("frame version {}", frame.version),
                            });
                        }
                        return Response::from_body_within(&frame.body, self.chunk_size())
                            .map(|response| Attempt::Answer { id: frame.request_id, response })
                            .map_err(|e| LinkError::Undecodable(e.to_string()));
                    }
                    Some(Ok(_stale)) => {
                        self.stats.stale_frames += 1;
                        stale += 1;
                        if stale > MAX_STALE_FRAMES {
                            return Err(LinkError::Flooded { frames: stale });
                        }
                    }
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
                Ok(Ok(n)) => {
                    self.stats.bytes_from_device += n as u64;
                    self.pending.extend(&buf[..n]);
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Ok(Err(e)) => return Err(LinkError::Lost(e.to_string())),
            }
        }
    }

    /// Reads a whole object in chunks, checking every chunk for consistency.
    pub async fn read_object(&mut self, object: ObjectId) -> Result<Vec<u8>, LinkError> {
        let first = self.call(&Request::ReadObject { object, offset: 0 }, self.timeouts.response).await?;
        self.read_object_from(object, first).await
    }

    /// Reads the rest of an object whose first chunk (offset 0) is `first`.
    pub async fn read_object_from(&mut self, object: ObjectId, first: Response) -> Result<Vec<u8>, LinkError> {
        let mut out: Vec<u8> = Vec::new();
        let mut total: Option<u32> = None;
        let mut answer = first;
        loop {
            match answer {
                Response::Chunk { total_len, offset, data } => {
                    if offset as usize != out.len() || total.is_some_and(|t| t != total_len) {
                        return Err(LinkError::Unexpected {
                            words: format!("the board sent the {} out of order", object_words(object)),
                            detail: format!(
                                "chunk of {object:?} at offset {offset} (expected {}) of {total_len} bytes (before: {total:?})",
                                out.len()
                            ),
                        });
                    }
                    total = Some(total_len);
                    if data.is_empty() && out.len() < total_len as usize {
                        return Err(LinkError::Unexpected {
                            words: format!("the board stopped sending the {} before its end", object_words(object)),
                            detail: format!("empty chunk of {object:?} at {} of {total_len} bytes", out.len()),
                        });
                    }
                    out.extend_from_slice(&data);
                    if out.len() >= total_len as usize {
                        return Ok(out);
                    }
                }
                Response::Error { code, detail } => return Err(LinkError::Device { code, detail }),
                other => return Err(unexpected("a piece of stored data", &other)),
            }
            let req = Request::ReadObject { object, offset: out.len() as u32 };
            answer = self.call(&req, self.timeouts.response).await?;
        }
    }

    /// The `WriteObject` requests that stage a whole object, in chunks of this link's
    /// size from offset 0 (an empty object is one empty chunk).
    pub fn write_requests(&self, object: ObjectId, data: &[u8]) -> Result<Vec<Request>, LinkError> {
        if data.len() > MAX_OBJECT {
            return Err(LinkError::Unexpected {
                words: format!("the {} is larger than the protocol allows", object_words(object)),
                detail: format!("{object:?} of {} bytes", data.len()),
            });
        }
        let chunks: Vec<&[u8]> = if data.is_empty() { vec![&[][..]] } else { data.chunks(self.chunk_size()).collect() };
        let mut offset = 0usize;
        Ok(chunks
            .into_iter()
            .map(|chunk| {
                let request = Request::WriteObject {
                    object,
                    offset: offset as u32,
                    total_len: data.len() as u32,
                    data: chunk.to_vec(),
                };
                offset += chunk.len();
                request
            })
            .collect())
    }

    /// Writes a whole object into the device's staging area, one chunk at a time.
    pub async fn write_object(&mut self, object: ObjectId, data: &[u8]) -> Result<(), LinkError> {
        for request in self.write_requests(object, data)? {
            let answer = self.call(&request, self.timeouts.response).await?;
            check_written(&request, &answer)?;
        }
        Ok(())
    }
}

/// Checks the board's answer to one `WriteObject`: it acknowledged every byte up to
/// the chunk's end.
pub fn check_written(request: &Request, answer: &Response) -> Result<(), LinkError> {
    let Request::WriteObject { object, offset, data, .. } = request else {
        return Err(unexpected("an answer to a write", answer));
    };
    let end = *offset as usize + data.len();
    match answer {
        Response::Written { received } if *received as usize == end => Ok(()),
        Response::Written { received } => Err(LinkError::Unexpected {
            words: format!(
                "the board acknowledged {received} bytes of the {} where {end} were sent",
                object_words(*object)
            ),
            detail: format!("Written {{ received: {received} }} for {object:?} up to {end}"),
        }),
        Response::Error { code, detail } => Err(LinkError::Device { code: *code, detail: detail.clone() }),
        other => Err(unexpected("a write acknowledgement", other)),
    }
}

/// An error for a response of the wrong kind; `expected` says in words what the
/// station asked for ("a public key").
pub fn unexpected(expected: &str, got: &Response) -> LinkError {
    LinkError::Unexpected {
        words: format!("the board answered with {} where {expected} was expected", got.words()),
        detail: format!("{got:?}").chars().take(200).collect(),
    }
}

/// An object's name in words.
pub fn object_words(object: ObjectId) -> &'static str {
    match object {
        ObjectId::Csr => "certificate request",
        ObjectId::Certificate => "certificate",
        ObjectId::Chain => "certificate chain",
        ObjectId::TrustAnchor => "trust anchor",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallmark_protocol::KeyAlgorithm;
    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt, DuplexStream};

    fn wire(id: u16, response: &Response) -> Vec<u8> {
        Frame { version: PROTOCOL_VERSION, request_id: id, body: response.to_body() }.encode().unwrap()
    }

    fn key(byte: u8) -> Response {
        Response::KeyGenerated { algorithm: KeyAlgorithm::EcdsaP256, public_key: vec![byte; 65] }
    }

    /// Reads one request frame from the station's side of the link.
    async fn next_request(device: &mut DuplexStream, decoder: &mut FrameDecoder) -> Frame {
        let mut byte = [0u8; 1];
        loop {
            device.read_exact(&mut byte).await.unwrap();
            if let Some(Ok(frame)) = decoder.push(byte[0]) {
                return frame;
            }
        }
    }

    fn client(link: DuplexStream) -> DeviceClient<DuplexStream> {
        let t = Timeouts { response: Duration::from_millis(200), keygen: Duration::from_millis(200), attempts: 2 };
        DeviceClient::new(link, t)
    }

    #[tokio::test(start_paused = true)]
    async fn request_ids_are_fresh_and_unpredictable() {
        let mut c = client(duplex(4096).0);
        let ids: Vec<u16> = (0..200).map(|_| c.fresh_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] != w[1]), "never the previous id");
        let sequential = ids.windows(2).filter(|w| w[1] == w[0].wrapping_add(1)).count();
        assert!(sequential < 3, "ids must not count up: {sequential} of 199 steps were +1");
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_sent_before_its_request_is_discarded() {
        let (station, mut device) = duplex(1 << 16);
        let mut c = client(station);
        let task = tokio::spawn(async move {
            let mut decoder = FrameDecoder::new();
            let hello = next_request(&mut device, &mut decoder).await;
            device.write_all(&wire(hello.request_id, &Response::Finished)).await.unwrap();
            // Forged answers for every id a sequential station might use next.
            for ahead in 1..=4u16 {
                device.write_all(&wire(hello.request_id.wrapping_add(ahead), &key(0xEE))).await.unwrap();
            }
            let keygen = next_request(&mut device, &mut decoder).await;
            device.write_all(&wire(keygen.request_id, &key(0x04))).await.unwrap();
            device
        });
        assert_eq!(c.call(&Request::Finish, Duration::from_millis(200)).await.unwrap(), Response::Finished);
        // Let the forged frames arrive before the next request is sent.
        tokio::task::yield_now().await;
        let got = c.call(&Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 }, Duration::from_millis(200));
        assert_eq!(got.await.unwrap(), key(0x04), "the genuine answer, not a forged early one");
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_device_flooding_other_ids_is_cut_off() {
        let (station, mut device) = duplex(1 << 20);
        let mut c = client(station);
        let task = tokio::spawn(async move {
            let mut decoder = FrameDecoder::new();
            let req = next_request(&mut device, &mut decoder).await;
            for id in 0..=MAX_STALE_FRAMES as u16 + 1 {
                let id = if id == req.request_id { id.wrapping_add(1000) } else { id };
                device.write_all(&wire(id, &key(0xEE))).await.unwrap();
            }
            device
        });
        let got =
            c.call(&Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 }, Duration::from_millis(200)).await;
        assert_eq!(got, Err(LinkError::Flooded { frames: MAX_STALE_FRAMES + 1 }));
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_answer_or_two_is_tolerated() {
        let (station, mut device) = duplex(1 << 16);
        let mut c = client(station);
        let task = tokio::spawn(async move {
            let mut decoder = FrameDecoder::new();
            let req = next_request(&mut device, &mut decoder).await;
            let late = wire(req.request_id.wrapping_add(7), &Response::Installed);
            let answer = wire(req.request_id, &Response::Finished);
            device.write_all(&late).await.unwrap();
            device.write_all(&answer).await.unwrap();
            (device, req.request_id, (late.len() + answer.len()) as u64)
        });
        assert_eq!(c.call(&Request::Finish, Duration::from_millis(200)).await, Ok(Response::Finished));
        let (_device, id, sent_back) = task.await.unwrap();
        let stats = c.stats();
        assert_eq!(stats.stale_frames, 1);
        // What crossed the line: one request (with its leading delimiter), both frames back.
        let request =
            Frame { version: PROTOCOL_VERSION, request_id: id, body: Request::Finish.to_body() }.encode().unwrap();
        assert_eq!((stats.round_trips, stats.bytes_to_device), (1, 1 + request.len() as u64));
        assert_eq!(stats.bytes_from_device, sent_back);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_write_acknowledgement_is_explained_in_words() {
        let (station, mut device) = duplex(1 << 16);
        let mut c = client(station);
        let task = tokio::spawn(async move {
            let mut decoder = FrameDecoder::new();
            let req = next_request(&mut device, &mut decoder).await;
            device.write_all(&wire(req.request_id, &Response::Written { received: 0 })).await.unwrap();
            device
        });
        match c.write_object(ObjectId::Certificate, &[1, 2, 3]).await {
            Err(LinkError::Unexpected { words, detail }) => {
                assert_eq!(words, "the board acknowledged 0 bytes of the certificate where 3 were sent");
                assert!(detail.contains("received: 0"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_shares_one_turnaround_and_a_lost_answer_breaks_it() {
        let (station, mut device) = duplex(1 << 16);
        let mut c = client(station);
        let task = tokio::spawn(async move {
            let mut decoder = FrameDecoder::new();
            // First burst: both answered, in order.
            for _ in 0..2 {
                let req = next_request(&mut device, &mut decoder).await;
                device.write_all(&wire(req.request_id, &Response::ChallengeAccepted)).await.unwrap();
            }
            // Second burst: the first answer is lost, the second arrives.
            let _lost = next_request(&mut device, &mut decoder).await;
            let second = next_request(&mut device, &mut decoder).await;
            device.write_all(&wire(second.request_id, &Response::Finished)).await.unwrap();
            device
        });
        let two = [Request::CsrChallenge { challenge: [1; 32] }, Request::CsrChallenge { challenge: [2; 32] }];
        match c.call_burst(&two, Duration::from_millis(200)).await.unwrap() {
            Burst::Complete(answers) => assert_eq!(answers, vec![Response::ChallengeAccepted; 2]),
            other => panic!("{other:?}"),
        }
        assert_eq!((c.stats().round_trips, c.stats().requests), (1, 2));
        match c.call_burst(&two, Duration::from_millis(200)).await.unwrap() {
            Burst::Broken(answered) => assert!(answered.is_empty(), "{answered:?}"),
            other => panic!("{other:?}"),
        }
        assert_eq!((c.stats().round_trips, c.stats().requests, c.stats().retransmissions), (2, 4, 0));
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn larger_chunks_only_after_the_link_agreed_on_them() {
        let (station, mut device) = duplex(1 << 16);
        let mut c = client(station);
        let big = Response::Chunk { total_len: 3000, offset: 0, data: vec![7; 3000] };
        let big_wire = Frame { version: PROTOCOL_VERSION, request_id: 0, body: big.to_body() };
        let task = tokio::spawn(async move {
            let mut decoder = FrameDecoder::with_limit(4096);
            for _ in 0..2 {
                let req = next_request(&mut device, &mut decoder).await;
                let frame = Frame { request_id: req.request_id, ..big_wire.clone() };
                device.write_all(&frame.encode_within(4096).unwrap()).await.unwrap();
            }
            device
        });
        let read = Request::ReadObject { object: ObjectId::Csr, offset: 0 };
        // The frame is taken (it could be a stale one); its chunk is over this session's size.
        assert!(matches!(c.call(&read, Duration::from_millis(200)).await, Err(LinkError::Undecodable(_))));
        c.use_frame_size(4096);
        assert_eq!(c.chunk_size(), 4096 - hallmark_protocol::CHUNK_OVERHEAD);
        assert_eq!(c.call(&read, Duration::from_millis(200)).await, Ok(big));
        let writes = c.write_requests(ObjectId::Chain, &[1; 5000]).unwrap();
        assert_eq!(writes.len(), 2, "5000 bytes in chunks of {}", c.chunk_size());
        task.await.unwrap();
    }
}
