//! An RTT channel pair in memory with deliberately small ring buffers: the station
//! side is an [`RttPort`] (partial writes when the down buffer is full, empty reads
//! when the up buffer is), the target side a blocking `Read + Write` a simulated
//! board's agent serves, like firmware polling its RTT buffers. Used where no
//! physical probe exists: tests, the simulated probe, benchmarks.

use super::rtt::RttPort;
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

struct Rings {
    down: VecDeque<u8>,
    up: VecDeque<u8>,
    down_capacity: usize,
    up_capacity: usize,
    closed: bool,
    partial_writes: u64,
}

type Shared = Arc<(Mutex<Rings>, Condvar)>;

/// The station's side.
pub struct MemoryRttPort(Shared);

/// The target's side (what firmware sees).
pub struct MemoryRttTarget(Shared);

/// A connected pair with `down` and `up` bytes of buffer.
pub fn memory_rtt(down: usize, up: usize) -> (MemoryRttPort, MemoryRttTarget) {
    let rings = Rings {
        down: VecDeque::with_capacity(down),
        up: VecDeque::with_capacity(up),
        down_capacity: down.max(1),
        up_capacity: up.max(1),
        closed: false,
        partial_writes: 0,
    };
    let shared: Shared = Arc::new((Mutex::new(rings), Condvar::new()));
    (MemoryRttPort(shared.clone()), MemoryRttTarget(shared))
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Rings> {
    // A panic while holding this lock is a test bug; keep going with the data.
    shared.0.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemoryRttPort {
    /// How many station writes the down buffer accepted only in part.
    pub fn partial_writes(&self) -> u64 {
        lock(&self.0).partial_writes
    }
}

impl RttPort for MemoryRttPort {
    fn write_down(&mut self, data: &[u8]) -> Result<usize, super::ProbeIoError> {
        let mut r = lock(&self.0);
        let n = data.len().min(r.down_capacity - r.down.len());
        if n < data.len() {
            r.partial_writes += 1;
        }
        r.down.extend(&data[..n]);
        self.0 .1.notify_all();
        Ok(n)
    }

    fn read_up(&mut self, buf: &mut [u8]) -> Result<usize, super::ProbeIoError> {
        let mut r = lock(&self.0);
        let n = buf.len().min(r.up.len());
        for (slot, b) in buf.iter_mut().zip(r.up.drain(..n)) {
            *slot = b;
        }
        self.0 .1.notify_all();
        Ok(n)
    }
}

impl Drop for MemoryRttPort {
    fn drop(&mut self) {
        lock(&self.0).closed = true;
        self.0 .1.notify_all();
    }
}

impl io::Read for MemoryRttTarget {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut r = lock(&self.0);
        while r.down.is_empty() {
            if r.closed {
                return Ok(0);
            }
            r = self.0 .1.wait_timeout(r, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
        }
        let n = buf.len().min(r.down.len());
        for (slot, b) in buf.iter_mut().zip(r.down.drain(..n)) {
            *slot = b;
        }
        self.0 .1.notify_all();
        Ok(n)
    }
}

impl io::Write for MemoryRttTarget {
    /// Blocks until the up buffer has room, then writes what fits (firmware in
    /// blocking-skip mode does the same).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut r = lock(&self.0);
        while r.up.len() >= r.up_capacity {
            if r.closed {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "station detached"));
            }
            r = self.0 .1.wait_timeout(r, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
        }
        let n = buf.len().min(r.up_capacity - r.up.len());
        r.up.extend(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn small_buffers_take_writes_in_part() {
        let (mut port, mut target) = memory_rtt(16, 8);
        assert_eq!(port.write_down(&[7; 40]).unwrap(), 16);
        assert_eq!(port.write_down(&[7; 4]).unwrap(), 0);
        let mut buf = [0; 64];
        assert_eq!(target.read(&mut buf).unwrap(), 16);
        assert_eq!(target.write(&[1; 20]).unwrap(), 8);
        assert_eq!(port.read_up(&mut buf).unwrap(), 8);
        assert!(port.partial_writes() >= 2);
        drop(port);
        assert_eq!(target.read(&mut buf).unwrap(), 0, "the target sees the station detach");
    }
}
