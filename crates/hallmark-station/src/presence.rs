//! Is a board on this port? Used by auto-start: a short `Hello` with a tight
//! deadline, nothing else (no log entry, no state change on the board).

use crate::client::{DeviceClient, Timeouts};
use crate::transport::{open_serial, PortName, DEFAULT_BAUD};
use hallmark_protocol::{Request, Response, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};
use std::time::Duration;

/// The hardware id of the board answering on `port`, if one answers within `wait`.
pub async fn probe(port: &PortName, wait: Duration) -> Option<Vec<u8>> {
    let stream = open_serial(port, DEFAULT_BAUD).ok()?;
    let mut client = DeviceClient::new(stream, Timeouts { response: wait, keygen: wait, attempts: 1 });
    let hello = Request::Hello { min_version: MIN_PROTOCOL_VERSION, max_version: PROTOCOL_VERSION };
    match client.call(&hello, wait).await {
        Ok(Response::Hello(info)) => Some(info.hardware_id),
        _ => None,
    }
}
