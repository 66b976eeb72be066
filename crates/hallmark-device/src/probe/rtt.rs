//! The provisioning byte stream over RTT. probe-rs reads and writes the target's RTT
//! ring buffers in blocking calls; a down-channel write may take only part of the
//! data (SEGGER's default down buffer is 16 bytes) and the up channel must be polled.
//! This pump turns that into a reliable tokio byte stream: it keeps what the target
//! has not yet accepted, retries as the firmware drains its buffer, and gives up
//! (closing the stream, which the client reports as a lost link) when the target
//! stops taking bytes for longer than the stall deadline.

use futures_util::FutureExt;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// A target's RTT channel pair, as a probe reaches it. Calls block.
pub trait RttPort: Send + 'static {
    /// Writes as much of `data` as the down buffer has room for; returns how much
    /// (0 when full).
    fn write_down(&mut self, data: &[u8]) -> Result<usize, super::ProbeIoError>;
    /// Reads what the up buffer holds into `buf`; returns how much (0 when empty).
    fn read_up(&mut self, buf: &mut [u8]) -> Result<usize, super::ProbeIoError>;
}

/// Pump timing.
#[derive(Clone, Copy, Debug)]
pub struct RttTiming {
    /// Fastest poll when bytes are moving.
    pub min_poll: Duration,
    /// Slowest poll when idle.
    pub max_poll: Duration,
    /// Longest the target may leave station bytes unaccepted.
    pub stall: Duration,
}

impl Default for RttTiming {
    fn default() -> Self {
        RttTiming {
            min_poll: Duration::from_micros(200),
            max_poll: Duration::from_millis(5),
            stall: Duration::from_secs(2),
        }
    }
}

/// Largest chunk moved per probe round.
const CHUNK: usize = 1024;

/// The station's end of a byte stream over `port`. A background task (on the
/// current tokio runtime) moves bytes until either end closes.
pub fn rtt_link(port: Box<dyn RttPort>, timing: RttTiming) -> DuplexStream {
    let (station, pump_end) = tokio::io::duplex(16 * 1024);
    tokio::spawn(pump(port, pump_end, timing));
    station
}

async fn pump(port: Box<dyn RttPort>, mut io: DuplexStream, timing: RttTiming) {
    let mut port = Some(port);
    let mut out: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    let mut poll = timing.min_poll;
    let mut last_progress = Instant::now();
    loop {
        if out.is_empty() {
            // Nothing to send: wait for the station, or poll the up channel.
            tokio::select! {
                r = io.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return, // the station closed the link
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                },
                () = tokio::time::sleep(poll) => {}
            }
        } else if out.len() < CHUNK {
            // Bytes are waiting for the target: take more from the station if they
            // are already there, but do not wait for them.
            match io.read(&mut buf).now_or_never() {
                Some(Ok(0)) | Some(Err(_)) => return,
                Some(Ok(n)) => out.extend_from_slice(&buf[..n]),
                None => {}
            }
        }
        let Some(mut p) = port.take() else { return };
        let pending = std::mem::take(&mut out);
        let round = tokio::task::spawn_blocking(move || {
            let written = if pending.is_empty() { 0 } else { p.write_down(&pending)? };
            let mut up = vec![0u8; CHUNK];
            let n = p.read_up(&mut up)?;
            up.truncate(n);
            Ok::<_, super::ProbeIoError>((p, pending, written, up))
        })
        .await;
        let Ok(Ok((p, pending, written, up))) = round else { return }; // the probe failed: close
        port = Some(p);
        out = pending[written..].to_vec();
        let moved = written > 0 || !up.is_empty();
        if moved || out.is_empty() {
            last_progress = Instant::now();
        } else if last_progress.elapsed() > timing.stall {
            return; // the target stopped draining its down buffer
        }
        if !up.is_empty() && io.write_all(&up).await.is_err() {
            return;
        }
        poll = if moved { timing.min_poll } else { (poll * 2).min(timing.max_poll) };
        if !out.is_empty() && !moved {
            // The target's down buffer is full: give the firmware time to drain it.
            tokio::time::sleep(poll).await;
        }
    }
}
