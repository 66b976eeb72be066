//! A line with the timing of a real fixture (issue #19): every byte in and out takes
//! its time on a UART (10 bits: start, 8 data, stop) and each answer waits out a
//! turnaround first — what a USB-UART's latency timer does to the first byte after the
//! board stops listening. A pseudo-terminal alone has neither.

use std::io::{Read, Write};
use std::time::Duration;

/// `io` paced at `baud`, with `turnaround` before the first byte of each answer.
pub struct Paced<'a, IO> {
    io: &'a mut IO,
    baud: u32,
    turnaround: Duration,
    /// The board has read since it last wrote: its next write starts an answer.
    listening: bool,
}

impl<'a, IO> Paced<'a, IO> {
    /// Paces `io`; a `baud` of 0 leaves the bytes unpaced (turnaround still applies).
    pub fn new(io: &'a mut IO, baud: u32, turnaround: Duration) -> Paced<'a, IO> {
        Paced { io, baud, turnaround, listening: true }
    }

    fn on_the_wire(&self, bytes: usize) {
        if self.baud > 0 {
            std::thread::sleep(Duration::from_micros(bytes as u64 * 10_000_000 / self.baud as u64));
        }
    }
}

impl<IO: Read> Read for Paced<'_, IO> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.io.read(buf)?;
        self.on_the_wire(n);
        self.listening = true;
        Ok(n)
    }
}

impl<IO: Write> Write for Paced<'_, IO> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::mem::take(&mut self.listening) {
            std::thread::sleep(self.turnaround);
        }
        // A UART FIFO's worth at a time, so the station sees the answer arrive as it
        // would from a real line.
        let chunk = &buf[..buf.len().min(64)];
        self.on_the_wire(chunk.len());
        self.io.write(chunk)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.io.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn bytes_take_their_time_and_each_answer_waits_out_the_turnaround() {
        let mut line = std::io::Cursor::new(vec![0u8; 1152]);
        let mut paced = Paced::new(&mut line, 115_200, Duration::from_millis(20));
        let started = Instant::now();
        let mut buf = [0u8; 1152];
        let n = paced.read(&mut buf).unwrap();
        assert_eq!(n, 1152);
        // 1152 bytes at 115200 baud: 100 ms.
        let read = started.elapsed();
        assert!(read >= Duration::from_millis(100), "{read:?}");
        paced.write_all(&[1u8; 576]).unwrap();
        paced.write_all(&[2u8; 10]).unwrap();
        // One turnaround (20 ms) for the answer, however many writes it takes, then
        // 586 bytes on the wire (about 51 ms).
        let answered = started.elapsed() - read;
        assert!(answered >= Duration::from_millis(70), "{answered:?}");
        assert!(answered < Duration::from_millis(70 + 20 + 60), "a second turnaround crept in: {answered:?}");
    }
}
