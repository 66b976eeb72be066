//! The AT command line: one command out, lines back until the final result code.
//!
//! Hand-written because the framing is three rules (CR LF line ends, a final `OK`,
//! `ERROR` or `+CME ERROR: <n>`) and every byte comes from an untrusted modem: each
//! line and each reply is bounded, every command has a deadline, and nothing is
//! interpreted beyond the line structure here.

use crate::client::LinkError;
use crate::transport::Link;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};

/// The longest line accepted (a `%KEYGEN` answer is about 700 characters).
pub const MAX_LINE: usize = 4096;
/// The most lines one reply may have before its result code.
pub const MAX_LINES: usize = 64;

/// How commands are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtMode {
    /// `AT+CGSN` (Nordic's AT host / serial LTE modem firmware).
    Plain,
    /// `at AT+CGSN` (firmware running Nordic's shell).
    Shell,
}

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AtOutcome {
    /// `OK`, with the lines before it.
    Ok(Vec<String>),
    /// `ERROR`.
    Error,
    /// `+CME ERROR: <n>`.
    Cme(u16),
}

/// Bytes and commands, for the log.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct AtStats {
    /// Commands sent.
    pub commands: u32,
    /// Bytes written.
    pub bytes_out: u64,
    /// Bytes read.
    pub bytes_in: u64,
}

/// An AT command channel over any link.
pub struct AtChannel<L> {
    link: L,
    mode: AtMode,
    pending: Vec<u8>,
    stats: AtStats,
}

impl<L: Link> AtChannel<L> {
    /// A channel writing commands in `mode`.
    pub fn new(link: L, mode: AtMode) -> AtChannel<L> {
        AtChannel { link, mode, pending: Vec::new(), stats: AtStats::default() }
    }

    /// The mode commands are written in.
    pub fn mode(&self) -> AtMode {
        self.mode
    }

    /// Changes how commands are written (after detection).
    pub fn set_mode(&mut self, mode: AtMode) {
        self.mode = mode;
    }

    /// Traffic so far.
    pub fn stats(&self) -> AtStats {
        self.stats
    }

    /// Sends a bare line ending, waits `settle` and drops whatever arrived: a
    /// half-typed command or an unsolicited result from before the session.
    pub async fn reset_line(&mut self, settle: Duration) -> Result<(), LinkError> {
        self.write(b"\r\n").await?;
        let until = Instant::now() + settle;
        let mut buf = [0u8; 256];
        loop {
            match timeout_at(until, self.link.read(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(0)) => return Err(LinkError::Lost("the port reported end of stream".into())),
                Ok(Ok(n)) => self.stats.bytes_in += n as u64,
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Ok(Err(e)) => return Err(LinkError::Lost(e.to_string())),
            }
        }
        self.pending.clear();
        Ok(())
    }

    /// Sends `command` (without its line ending) and reads the reply within `deadline`.
    pub async fn command(&mut self, command: &str, deadline: Duration) -> Result<AtOutcome, LinkError> {
        let line = match self.mode {
            AtMode::Plain => format!("{command}\r\n"),
            AtMode::Shell => format!("at {command}\r\n"),
        };
        self.pending.clear();
        self.stats.commands += 1;
        self.write(line.as_bytes()).await?;
        let echo = line.trim_end();
        let until = Instant::now() + deadline;
        let mut lines = Vec::new();
        loop {
            let text = self.read_line(until, deadline).await?;
            let text = text.trim();
            // Blank lines, and the command echoed back, carry nothing.
            if text.is_empty() || text == echo {
                continue;
            }
            match text {
                "OK" => return Ok(AtOutcome::Ok(lines)),
                "ERROR" => return Ok(AtOutcome::Error),
                _ => {}
            }
            if let Some(code) = text.strip_prefix("+CME ERROR:") {
                return match code.trim().parse::<u16>() {
                    Ok(n) => Ok(AtOutcome::Cme(n)),
                    Err(_) => Err(LinkError::Unexpected {
                        words: "the modem sent an error without a number".into(),
                        detail: bounded(text),
                    }),
                };
            }
            if lines.len() == MAX_LINES {
                return Err(LinkError::Unexpected {
                    words: format!("the modem sent more than {MAX_LINES} lines in one reply"),
                    detail: format!("to {}", bounded(command)),
                });
            }
            lines.push(text.to_string());
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.link.write_all(bytes).await.map_err(|e| LinkError::Lost(e.to_string()))?;
        self.link.flush().await.map_err(|e| LinkError::Lost(e.to_string()))?;
        self.stats.bytes_out += bytes.len() as u64;
        Ok(())
    }

    /// One line (without its line end), bounded in length and time.
    async fn read_line(&mut self, until: Instant, deadline: Duration) -> Result<String, LinkError> {
        let mut buf = [0u8; 512];
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return text(&line[..line.len() - 1]);
            }
            if self.pending.len() > MAX_LINE {
                return Err(LinkError::TooLarge);
            }
            match timeout_at(until, self.link.read(&mut buf)).await {
                Err(_) => return Err(LinkError::Timeout { waited: deadline }),
                Ok(Ok(0)) => return Err(LinkError::Lost("the port reported end of stream".into())),
                Ok(Ok(n)) => {
                    self.stats.bytes_in += n as u64;
                    self.pending.extend_from_slice(&buf[..n]);
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Ok(Err(e)) => return Err(LinkError::Lost(e.to_string())),
            }
        }
    }
}

/// A line as text: printable ASCII (and tabs) only; anything else is a modem that
/// does not speak AT (wrong baud rate, binary firmware, line noise).
fn text(line: &[u8]) -> Result<String, LinkError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE {
        return Err(LinkError::TooLarge);
    }
    if let Some(bad) = line.iter().find(|&&b| !(b == b'\t' || (0x20..0x7F).contains(&b))) {
        return Err(LinkError::Undecodable(format!(
            "byte {bad:#04x} in a line from the modem: {}",
            bounded(&String::from_utf8_lossy(line))
        )));
    }
    // Checked above: every byte is ASCII.
    Ok(line.iter().map(|&b| b as char).collect())
}

/// At most 120 characters of device text, for the log.
pub fn bounded(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    async fn modem_says(script: &'static [u8], mode: AtMode) -> (Result<AtOutcome, LinkError>, Vec<u8>) {
        let (station, mut modem) = duplex(1 << 16);
        let mut channel = AtChannel::new(station, mode);
        let modem_side = async move {
            let mut got = vec![0u8; 64];
            let n = modem.read(&mut got).await.unwrap();
            got.truncate(n);
            modem.write_all(script).await.unwrap();
            (got, modem)
        };
        let (result, (sent, _modem)) = tokio::join!(channel.command("AT+CGSN", Duration::from_secs(1)), modem_side);
        (result, sent)
    }

    #[tokio::test(start_paused = true)]
    async fn lines_before_ok_are_the_reply_and_echo_is_ignored() {
        let (r, sent) = modem_says(b"AT+CGSN\r\n\r\n352656100367872\r\nOK\r\n", AtMode::Plain).await;
        assert_eq!(sent, b"AT+CGSN\r\n");
        assert_eq!(r.unwrap(), AtOutcome::Ok(vec!["352656100367872".into()]));
    }

    #[tokio::test(start_paused = true)]
    async fn shell_mode_prefixes_the_command() {
        let (r, sent) = modem_says(b"OK\r\n", AtMode::Shell).await;
        assert_eq!(sent, b"at AT+CGSN\r\n");
        assert_eq!(r.unwrap(), AtOutcome::Ok(vec![]));
    }

    #[tokio::test(start_paused = true)]
    async fn error_and_cme_errors_are_results() {
        assert_eq!(modem_says(b"ERROR\r\n", AtMode::Plain).await.0.unwrap(), AtOutcome::Error);
        assert_eq!(modem_says(b"+CME ERROR: 518\r\n", AtMode::Plain).await.0.unwrap(), AtOutcome::Cme(518));
        assert!(matches!(modem_says(b"+CME ERROR: x\r\n", AtMode::Plain).await.0, Err(LinkError::Unexpected { .. })));
    }

    #[tokio::test(start_paused = true)]
    async fn silence_times_out_and_garbage_is_refused() {
        assert!(matches!(modem_says(b"", AtMode::Plain).await.0, Err(LinkError::Timeout { .. })));
        assert!(matches!(modem_says(b"\x00\xff\xfe\r\n", AtMode::Plain).await.0, Err(LinkError::Undecodable(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn endless_lines_and_endless_replies_are_bounded() {
        static LONG: [u8; MAX_LINE + 600] = [b'A'; MAX_LINE + 600];
        assert!(matches!(modem_says(&LONG, AtMode::Plain).await.0, Err(LinkError::TooLarge)));
        static MANY: &[u8] = b"x\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\nx\r\n";
        assert!(matches!(modem_says(MANY, AtMode::Plain).await.0, Err(LinkError::Unexpected { .. })));
    }
}
