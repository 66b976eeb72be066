//! A line with the timing of a real fixture (issue #19): every byte in and out takes
//! its time on a UART (10 bits: start, 8 data, stop), and the board's output reaches
//! the station the way a USB-UART delivers it: in 64-byte USB packets as they fill,
//! and a partly filled packet only once the board has been silent for the adapter's
//! latency timer (an FTDI chip's default is 16 ms). So an answer costs its bytes plus
//! one latency, and answers sent back to back (a burst) share one. A pseudo-terminal
//! alone has neither cost.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// A USB full-speed bulk packet: what the adapter sends the host in one go.
const USB_PACKET: usize = 64;

/// `io` paced at `baud`, its output delivered as a USB-UART with a `latency` timer would.
pub struct Paced<'a, IO: Write> {
    io: &'a mut IO,
    baud: u32,
    latency: Duration,
    /// Output in the adapter's buffer: less than a packet, waiting for the timer.
    held: Vec<u8>,
    /// When the board last wrote into `held`.
    held_since: Instant,
}

impl<'a, IO: Write> Paced<'a, IO> {
    /// Paces `io`; a `baud` of 0 leaves the bytes unpaced (the latency still applies).
    pub fn new(io: &'a mut IO, baud: u32, latency: Duration) -> Paced<'a, IO> {
        Paced { io, baud, latency, held: Vec::new(), held_since: Instant::now() }
    }

    fn on_the_wire(&self, bytes: usize) {
        if self.baud > 0 {
            std::thread::sleep(Duration::from_micros(bytes as u64 * 10_000_000 / self.baud as u64));
        }
    }

    /// Hands the adapter's partial packet to the host (the latency timer expired).
    fn deliver_held(&mut self) -> std::io::Result<()> {
        if !self.held.is_empty() {
            self.io.write_all(&self.held)?;
            self.io.flush()?;
            self.held.clear();
        }
        Ok(())
    }
}

impl<IO: Write> Drop for Paced<'_, IO> {
    fn drop(&mut self) {
        // Whatever the adapter holds still reaches the host; an error here has nobody
        // left to tell.
        let _ = self.deliver_held();
    }
}

impl<IO: Read + Write + AsFd> Read for Paced<'_, IO> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if !self.held.is_empty() {
            // The board is about to wait for input. If the station has sent more (the
            // rest of a burst), the board keeps answering and fills the packet;
            // otherwise the timer runs out and the partial packet goes.
            let left = self.latency.saturating_sub(self.held_since.elapsed());
            if !readable_within(self.io, left)? {
                self.deliver_held()?;
            }
        }
        let n = self.io.read(buf)?;
        self.on_the_wire(n);
        Ok(n)
    }
}

impl<IO: Write> Write for Paced<'_, IO> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.on_the_wire(buf.len());
        self.held.extend_from_slice(buf);
        self.held_since = Instant::now();
        let whole = self.held.len() / USB_PACKET * USB_PACKET;
        if whole > 0 {
            self.io.write_all(&self.held[..whole])?;
            self.io.flush()?;
            self.held.drain(..whole);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // The adapter, not the board, decides when a partial packet goes.
        Ok(())
    }
}

/// Whether `io` has input within `wait`.
fn readable_within(io: &impl AsFd, wait: Duration) -> std::io::Result<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let started = Instant::now();
    loop {
        let left = wait.saturating_sub(started.elapsed());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(io.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(std::io::Error::other(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn bytes_take_their_time_and_a_partial_packet_waits_for_the_latency_timer() {
        let (mut board_end, mut station_end) = UnixStream::pair().unwrap();
        station_end.write_all(&[0u8; 1152]).unwrap();
        let mut paced = Paced::new(&mut board_end, 115_200, Duration::from_millis(20));
        let started = Instant::now();
        let mut buf = [0u8; 1152];
        let mut n = 0;
        while n < 1152 {
            n += paced.read(&mut buf[n..]).unwrap();
        }
        // 1152 bytes at 115200 baud: 100 ms.
        let read = started.elapsed();
        assert!(read >= Duration::from_millis(100), "{read:?}");
        // Two answers back to back: 586 bytes on the wire (about 51 ms); nine whole
        // packets go at once, the 10-byte tail only when the board goes quiet.
        paced.write_all(&[1u8; 576]).unwrap();
        paced.write_all(&[2u8; 10]).unwrap();
        station_end.set_nonblocking(true).unwrap();
        let mut got = [0u8; 1024];
        assert_eq!(station_end.read(&mut got).unwrap(), 576, "only whole packets before the timer");
        let quiet = Instant::now();
        station_end.write_all(&[0]).unwrap();
        // Input is waiting: the board reads it at once and the tail stays held.
        assert_eq!(paced.read(&mut buf).unwrap(), 1);
        assert!(quiet.elapsed() < Duration::from_millis(15), "{:?}", quiet.elapsed());
        assert!(station_end.read(&mut got).is_err(), "the tail is still in the adapter");
        // Nothing more to read: the timer runs out and the tail goes; the station
        // answers it, which ends the board's read.
        station_end.set_nonblocking(false).unwrap();
        let station = std::thread::spawn(move || {
            let mut tail = [0u8; 16];
            let n = station_end.read(&mut tail).unwrap();
            station_end.write_all(&[0]).unwrap();
            n
        });
        let waited = Instant::now();
        assert_eq!(paced.read(&mut buf).unwrap(), 1);
        assert_eq!(station.join().unwrap(), 10);
        assert!(waited.elapsed() >= Duration::from_millis(15), "{:?}", waited.elapsed());
    }
}
