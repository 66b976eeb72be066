//! A deliberately small MQTT 5 client over mutual TLS: just enough to prove an
//! identity at the broker (connect, publish QoS 1, subscribe, receive), with a
//! deadline on every wait and every broker answer bounded and checked.
//!
//! Both sides of the broker self-test use it: the simulated board (what firmware does
//! with its MQTT stack) and the station (its own subscriber). Failures carry a
//! [`BrokerOutcome`] so that "revoked", "unknown CA", "not authorised" and "timeout"
//! stay distinguishable from the socket up to the operator's screen.

mod error;
mod packet;
mod session;
mod tls;

pub use error::MqttError;
pub use hallmark_protocol::BrokerOutcome;
pub use session::{Canceller, Endpoint, Message, Session};
pub use tls::{client_config, split_der};
