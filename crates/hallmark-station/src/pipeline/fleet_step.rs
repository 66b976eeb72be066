//! The fleet's part of identification (issue #17), before anything is generated or
//! signed: the fleet check (does another station hold this board's hardware id or
//! its UID?) and numbering from UID blocks the fleet leased, under the `sequence`
//! scheme. Without `[fleet]` it is the station's own numbering, as before.

use super::errors;
use super::Run;
use crate::dialect::BoardFacts;
use crate::fleet_gate::FleetGate;
use crate::fleet_sync::SyncError;
use crate::uid::scheme::{self, Choice};
use crate::{Failure, FailureCode, Uid};
use hallmark_config::WhenOffline;
use hallmark_fleet::FleetError;
use hallmark_store::{StoreError, UidLease};
use serde_json::{json, Value};
use std::sync::Arc;

/// The board's UID and, with a fleet, what the fleet check found (for the log).
pub(super) async fn numbered_and_checked(
    run: &Run<'_>,
    board: &BoardFacts,
    hardware_id: &str,
    dialect: &str,
) -> Result<(Uid, Option<Value>), Failure> {
    let uid_invalid = |e: crate::uid::UidError| {
        Failure::new(
            FailureCode::UidInvalid,
            format!("No UID for this board (hardware id {hardware_id}): {e}."),
            "Set the board aside for engineering.",
        )
    };
    let config = &run.station.config.config;
    let choice = scheme::choose(
        &config.uid,
        &board.hardware_id,
        run.request.scanned_uid.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
    .map_err(uid_invalid)?;
    let gate = run.station.fleet.as_ref();
    let fleet_check = match gate {
        Some(gate) => {
            let uid = match &choice {
                Choice::Fixed(uid) => Some(uid.as_str()),
                Choice::Sequence { .. } => None,
            };
            Some(fleet_check(gate, dialect, hardware_id, uid).await?)
        }
        None => None,
    };
    let name = scheme::scheme_name(&config.uid);
    let leased = gate.is_some();
    let assign = || scheme::with_store_choice(&choice, leased, |c| run.store.assign_uid(run.id, hardware_id, name, c));
    let assigned = match (assign(), gate, &choice) {
        (Err(StoreError::UidBlocksExhausted { stem }), Some(gate), Choice::Sequence { width, .. }) => {
            lease_now(run, gate, &stem, *width).await?;
            assign()
        }
        (other, _, _) => other,
    }
    .map_err(errors::uid_store)?;
    let uid = Uid::parse(&assigned.uid).map_err(uid_invalid)?;
    Ok((uid, fleet_check))
}

/// Asks the fleet whether another station holds this board; refuses when one does,
/// and when the fleet cannot be asked if the station is set to refuse then.
async fn fleet_check(
    gate: &Arc<FleetGate>,
    dialect: &str,
    hardware_id: &str,
    uid: Option<&str>,
) -> Result<Value, Failure> {
    match gate.claims(dialect, hardware_id, uid).await {
        Ok(claims) => match claims.first() {
            None => Ok(json!({ "result": "clear" })),
            Some(held) => {
                let what = if held.what == "uid" {
                    format!(
                        "The UID {} already belongs to another board (hardware id {}) of station {} in the fleet \
                         record. Nothing was generated or issued.",
                        held.uid, held.hardware_id, held.station
                    )
                } else {
                    format!(
                        "This board (hardware id {hardware_id}) already has the identity {} from station {} in the \
                         fleet record. Nothing was generated or issued.",
                        held.uid, held.station
                    )
                };
                Err(Failure::new(FailureCode::UidCollision, what, "Set the board aside for QA.")
                    .with_reason("fleet-claim")
                    .with_detail(serde_json::to_string(&claims).unwrap_or_default()))
            }
        },
        Err(e) => match gate.settings().when_offline {
            WhenOffline::Proceed => Ok(json!({ "result": "not-checked", "why": e.to_string() })),
            WhenOffline::Refuse => Err(Failure::new(
                FailureCode::FleetUnavailable,
                "The station could not ask the fleet whether another station already provisioned this board, and it \
                 is set to refuse then. Nothing was generated or issued.",
                "Call the line engineer to restore the connection to the fleet server (hallmark fleet status), then \
                 start the board again.",
            )
            .with_reason("fleet-check")
            .with_detail(e.to_string())),
        },
    }
}

/// Leases a block to number from now and one in reserve, and records both, or says
/// why the board cannot be numbered.
async fn lease_now(run: &Run<'_>, gate: &Arc<FleetGate>, stem: &str, width: usize) -> Result<(), Failure> {
    let local = run.store.outbox_state().map_err(errors::log_failed)?.last_seq;
    match gate.lease(stem, width, 2, local).await {
        Ok(blocks) => {
            for block in blocks {
                let lease = UidLease { stem: block.stem, first: block.first as u64, last: block.last as u64, width };
                run.store.record_uid_lease(&lease, &run.station.station_id).map_err(errors::log_failed)?;
            }
            Ok(())
        }
        Err(SyncError::Fleet(e @ FleetError::StemExhausted { .. })) => {
            Err(Failure::new(FailureCode::UidInvalid, format!("{e}."), "Call the line engineer.")
                .with_reason("uid-stem-exhausted"))
        }
        Err(e) => {
            let reason =
                if matches!(e, SyncError::LogBehindFleet { .. }) { "log-behind-fleet" } else { "uid-blocks-exhausted" };
            Err(Failure::new(
                FailureCode::FleetUnavailable,
                format!(
                    "This station has used every UID number the fleet leased to it for {stem} and could not lease \
                     more. Nothing was generated or issued."
                ),
                "Call the line engineer to restore the connection to the fleet server (hallmark fleet status), then \
                 start the board again.",
            )
            .with_reason(reason)
            .with_detail(e.to_string()))
        }
    }
}
