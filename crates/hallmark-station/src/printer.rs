//! Label printers: a CUPS queue (`lp`, the PDF at the label's media size), raw ZPL
//! to TCP port 9100, or a folder. Only this module talks to printers; every job
//! comes back as a [`PrintJob`] for the log.

use hallmark_config::PrinterSection;
use hallmark_label::{render, Format, LabelData, Template};
use serde::Serialize;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One print job, as recorded with the run.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PrintJob {
    /// `cups:<queue>`, `zpl-tcp:<host:port>` or `folder:<path>`.
    pub printer: String,
    /// The printer's job id (CUPS), or the file written (folder).
    pub job_id: Option<String>,
    /// `submitted` (CUPS accepted it), `sent` (bytes delivered), `saved`.
    pub outcome: String,
    /// Bytes sent.
    pub bytes: usize,
}

/// Why a label did not print.
#[derive(Debug, thiserror::Error)]
#[error("printer {printer}: {reason}")]
pub struct PrintError {
    /// Which printer.
    pub printer: String,
    /// What went wrong.
    pub reason: String,
}

/// Prints one label; `name` (UID and run) names files and jobs; relative folder paths
/// are under `data_dir`.
pub fn print(
    printer: &PrinterSection,
    template: &Template,
    data: &LabelData,
    name: &str,
    data_dir: &Path,
) -> Result<PrintJob, PrintError> {
    let id = describe(printer);
    let fail = |reason: String| PrintError { printer: id.clone(), reason };
    match printer {
        PrinterSection::Folder { path, format } => {
            let format: Format = format.parse().map_err(fail)?;
            let bytes = render(template, data, format).map_err(|e| fail(e.to_string()))?;
            let dir = data_dir.join(path);
            std::fs::create_dir_all(&dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            let file = dir.join(format!("{name}.{}", format.extension()));
            // Through a temporary name: a hot folder must never pick up half a file.
            let partial = dir.join(format!(".{name}.partial"));
            std::fs::write(&partial, &bytes)
                .and_then(|_| std::fs::rename(&partial, &file))
                .map_err(|e| fail(format!("{}: {e}", file.display())))?;
            Ok(PrintJob {
                printer: id,
                job_id: Some(file.display().to_string()),
                outcome: "saved".into(),
                bytes: bytes.len(),
            })
        }
        PrinterSection::ZplTcp { address, timeout_ms } => {
            let bytes = render(template, data, Format::Zpl).map_err(|e| fail(e.to_string()))?;
            send_raw(address, &bytes, Duration::from_millis(*timeout_ms as u64)).map_err(fail)?;
            Ok(PrintJob { printer: id, job_id: None, outcome: "sent".into(), bytes: bytes.len() })
        }
        PrinterSection::Cups { queue, server, media, timeout_ms } => {
            let bytes = render(template, data, Format::Pdf).map_err(|e| fail(e.to_string()))?;
            let media = media
                .clone()
                .unwrap_or_else(|| format!("Custom.{}x{}mm", trim(template.width_mm), trim(template.height_mm)));
            let job = lp(queue, server.as_deref(), &media, name, &bytes, Duration::from_millis(*timeout_ms as u64))
                .map_err(fail)?;
            Ok(PrintJob { printer: id, job_id: Some(job), outcome: "submitted".into(), bytes: bytes.len() })
        }
    }
}

/// The printer as recorded in the log.
pub fn describe(printer: &PrinterSection) -> String {
    match printer {
        PrinterSection::Folder { path, .. } => format!("folder:{}", path.display()),
        PrinterSection::ZplTcp { address, .. } => format!("zpl-tcp:{address}"),
        PrinterSection::Cups { queue, .. } => format!("cups:{queue}"),
    }
}

fn trim(mm: f64) -> String {
    let s = format!("{mm:.1}");
    s.trim_end_matches(".0").to_string()
}

/// Sends raw bytes to a printer port and closes the connection.
fn send_raw(address: &str, bytes: &[u8], timeout: Duration) -> Result<(), String> {
    let addr = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?
        .next()
        .ok_or_else(|| format!("cannot resolve {address}"))?;
    let mut sock = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot connect to {address}: {e}. Is the printer on and on the network?"))?;
    sock.set_write_timeout(Some(timeout)).ok();
    sock.write_all(bytes).and_then(|_| sock.flush()).map_err(|e| format!("sending to {address}: {e}"))?;
    sock.shutdown(std::net::Shutdown::Write).ok();
    Ok(())
}

/// Submits a PDF with `lp`; returns the CUPS job id.
fn lp(
    queue: &str,
    server: Option<&str>,
    media: &str,
    title: &str,
    pdf: &[u8],
    timeout: Duration,
) -> Result<String, String> {
    let mut cmd = Command::new("lp");
    if let Some(s) = server {
        cmd.args(["-h", s]);
    }
    cmd.args(["-d", queue, "-o", &format!("media={media}"), "-o", "fit-to-page", "-t", title, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run lp (apt install cups-client): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(pdf).map_err(|e| format!("lp did not take the label: {e}"))?;
    }
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(_) => break,
            None if Instant::now() >= deadline => {
                child.kill().ok();
                child.wait().ok();
                return Err(format!(
                    "lp did not finish within {} ms: is the CUPS scheduler running?",
                    timeout.as_millis()
                ));
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("lp refused the job: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    // "request id is QUEUE-42 (1 file(s))"
    stdout
        .split_whitespace()
        .skip_while(|w| *w != "is")
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| format!("lp gave no job id: {}", stdout.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_names_drop_trailing_zeros() {
        assert_eq!(trim(50.0), "50");
        assert_eq!(trim(62.5), "62.5");
    }
}
