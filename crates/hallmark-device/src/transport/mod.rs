//! Links to boards. Only this module touches hardware.
//!
//! A link is any ordered, reliable-or-not byte stream; the protocol's framing, CRC
//! and retransmission sit above it in [`crate::client`].

mod serial;

pub use serial::{list_ports, open_modem, open_serial, PortError, PortInfo, PortName, DEFAULT_BAUD};

/// A byte stream to one board.
pub trait Link: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Link for T {}
