//! Serial ports via tokio-serial (USB-UART adapters, and pseudo-terminals for the
//! simulated board).

/// A serial port that cannot be named, opened or listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// Not a serial port name.
    #[error("{0:?} is not a serial port name (expected e.g. /dev/ttyUSB0)")]
    Name(String),
    /// The serial port could not be opened.
    #[error("cannot open {port}: {source}")]
    Open {
        /// The port.
        port: String,
        /// Why.
        #[source]
        source: tokio_serial::Error,
    },
    /// The serial ports could not be listed.
    #[error("cannot list the serial ports: {0}")]
    List(#[source] tokio_serial::Error),
}

use serde::Serialize;
use std::fmt;
use tokio_serial::{SerialPortBuilderExt, SerialStream};

/// A serial port path such as `/dev/ttyUSB0`, `/dev/pts/3` or `COM4`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortName(String);

impl PortName {
    /// Parses a port name: non-empty, no control characters, at most 255 bytes.
    pub fn parse(s: &str) -> Result<PortName, PortError> {
        if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) {
            return Err(PortError::Name(s.to_string()));
        }
        Ok(PortName(s.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Baud rate used by the Hallmark protocol on UART links.
pub const DEFAULT_BAUD: u32 = 115_200;

/// Opens a port exclusively (no other program can open it while the run lasts).
pub fn open_serial(port: &PortName, baud: u32) -> Result<SerialStream, PortError> {
    tokio_serial::new(port.as_str(), baud)
        .timeout(std::time::Duration::from_millis(100))
        .open_native_async()
        .map_err(|source| PortError::Open { port: port.to_string(), source })
}

/// Opens a modem's line: 115200 baud with RTS/CTS flow control, as nRF91 modems
/// and Nordic's tools use it.
pub fn open_modem(port: &PortName) -> Result<SerialStream, PortError> {
    tokio_serial::new(port.as_str(), DEFAULT_BAUD)
        .flow_control(tokio_serial::FlowControl::Hardware)
        .timeout(std::time::Duration::from_millis(100))
        .open_native_async()
        .map_err(|source| PortError::Open { port: port.to_string(), source })
}

/// A port found on this machine.
#[derive(Clone, Debug, Serialize)]
pub struct PortInfo {
    /// Path to open.
    pub name: String,
    /// Kind and, for USB, vendor/product/serial.
    pub description: String,
}

/// Lists serial ports (pseudo-terminals are never listed; pass their path directly).
pub fn list_ports() -> Result<Vec<PortInfo>, PortError> {
    let ports = tokio_serial::available_ports().map_err(PortError::List)?;
    Ok(ports
        .into_iter()
        .map(|p| {
            let description = match p.port_type {
                tokio_serial::SerialPortType::UsbPort(u) => format!(
                    "USB {:04x}:{:04x} {} {} serial {}",
                    u.vid,
                    u.pid,
                    u.manufacturer.unwrap_or_default(),
                    u.product.unwrap_or_default(),
                    u.serial_number.unwrap_or_default()
                ),
                tokio_serial::SerialPortType::PciPort => "PCI".into(),
                tokio_serial::SerialPortType::BluetoothPort => "Bluetooth".into(),
                tokio_serial::SerialPortType::Unknown => "unknown".into(),
            };
            PortInfo { name: p.port_name, description }
        })
        .collect())
}
