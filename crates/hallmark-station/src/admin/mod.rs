//! Station administration, the same for every front end: changing the
//! configuration (`config.rs`), saving the station's label template (`template.rs`)
//! and the engineer role with its PIN (`role.rs`). Revocation is
//! [`Station::revoke`](crate::pipeline::Station::revoke) (`crl.rs`).
//!
//! The one rule everything here keeps: **an engineer change is audited before it
//! acts**, and again with its result. A check that fails refuses the change before
//! anything is written; an audit entry that cannot be written stops the change with
//! nothing done. The front ends only choose where the request comes from (a window
//! form, a command line) and how the [`AdminError`] is worded for their user.

mod config;
mod error;
mod role;
mod template;

pub use config::{save_keeping_previous, ConfigChange, ConfigSource};
pub use error::AdminError;
pub use role::{EngineerRole, FirstPin, RoleStatus, ENGINEER, SESSION};
pub use template::STATION_TEMPLATE;

use hallmark_store::Store;
use serde_json::Value;

/// Appends the audit entry a change needs before it acts: without it, nothing is done.
fn audit_before(store: &Store, actor: &str, action: &str, detail: &Value) -> Result<(), AdminError> {
    store.append_audit(actor, action, detail).map_err(AdminError::NotAudited)
}

#[cfg(test)]
mod tests;
