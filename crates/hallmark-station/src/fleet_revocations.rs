//! Revocation from anywhere (issue #17), the station's side. A revocation asked for
//! a certificate this station did not issue is queued in the fleet
//! ([`Station::revoke_or_queue`]); the station that issued it — it holds the key —
//! finds it there, revokes it in its own log, publishes its CRL and marks the
//! request done with that CRL's number ([`Station::carry_out_fleet_revocations`]).
//! `hallmark fleet sync` does that on demand, `hallmark run` every sync interval.

use crate::crl::{CrlError, Published};
use crate::fleet_gate::FleetGate;
use crate::fleet_sync::SyncError;
use crate::pipeline::Station;
use hallmark_ca::Reason;
use hallmark_fleet::{Fleet, RevocationRequest};
use hallmark_store::{RevokedBy, Store};
use serde::Serialize;
use std::sync::Arc;

/// What a revocation asked at this station did.
#[derive(Clone, Debug)]
pub enum RevokeOutcome {
    /// This station issued the certificates: revoked and published here.
    Revoked {
        /// The serials revoked.
        serials: Vec<String>,
        /// The CRL that lists them.
        published: Published,
    },
    /// Another station issued them: queued in the fleet for it to carry out.
    Queued(Vec<RevocationRequest>),
}

/// Queued revocations this station carried out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CarriedOut {
    /// The requests, now marked done in the fleet.
    pub requests: Vec<RevocationRequest>,
    /// The CRL that lists them.
    pub crl_number: Option<u64>,
}

impl Station {
    /// Revokes `target` (a UID or a serial) here if this station issued it, otherwise,
    /// with a fleet configured, queues it for the station that did.
    pub fn revoke_or_queue(
        &self,
        store: &Store,
        target: &str,
        reason: Reason,
        actor: &str,
    ) -> Result<RevokeOutcome, CrlError> {
        match self.revoke(store, target, reason, actor) {
            Ok((serials, published)) => Ok(RevokeOutcome::Revoked { serials, published }),
            Err(CrlError::NothingToRevoke(_)) if self.config.config.fleet.is_some() && !issued_here(store, target)? => {
                let settings = self.config.config.fleet.as_ref().map(|f| f.url.clone()).unwrap_or_default();
                let mut fleet = Fleet::connect_with_stored_password(&settings).map_err(CrlError::Fleet)?;
                let queued = fleet
                    .request_revocation(&self.station_id, target, reason.as_str(), actor)
                    .map_err(CrlError::Fleet)?;
                Ok(RevokeOutcome::Queued(queued))
            }
            Err(e) => Err(e),
        }
    }

    /// Revokes in this log what the fleet queued for this station (`open`, its own
    /// requests), publishes one CRL, and returns which requests it covers. A request
    /// for a serial this log does not hold is left open.
    pub fn revoke_queued(&self, store: &Store, open: &[RevocationRequest]) -> Result<CarriedOut, CrlError> {
        let mut done = CarriedOut::default();
        for request in open.iter().filter(|r| r.issuer_station == self.station_id) {
            if store.serials_for(&request.serial)?.is_empty() {
                continue;
            }
            if !store.is_revoked(&request.serial)? {
                let reason: Reason = request.reason.parse().unwrap_or(Reason::Unspecified);
                let actor = format!("fleet: {} at {}", request.actor, request.requested_by);
                store.record_revocation(RevokedBy::Actor(&actor), &request.serial, reason.as_str())?;
            }
            done.requests.push(request.clone());
        }
        if !done.requests.is_empty() {
            self.publish_crl_if_needed(store)?;
            done.crl_number = store.latest_crl()?.map(|c| c.number);
        }
        Ok(done)
    }

    /// `hallmark fleet sync`: carries out every revocation queued for this station
    /// and marks it done in the fleet.
    pub fn carry_out_fleet_revocations(&self, store: &Store, fleet: &mut Fleet) -> Result<CarriedOut, SyncError> {
        let open = fleet.open_revocations(Some(&self.station_id))?;
        let done = self.revoke_queued(store, &open)?;
        if let Some(number) = done.crl_number {
            for request in &done.requests {
                fleet.complete_revocation(&self.station_id, request.id, number as i64)?;
            }
        }
        Ok(done)
    }

    /// `hallmark run`: carries out the revocations queued for this station every
    /// `[fleet] sync_interval_ms`, for as long as the future runs. Failures are
    /// retried at the next interval (the requests stay open until marked done).
    pub async fn serve_fleet_revocations(&self, store: &Store) {
        let Some(gate) = self.fleet.clone() else { return std::future::pending().await };
        let interval = std::time::Duration::from_millis(gate.settings().sync_interval_ms);
        loop {
            // Errors are the gate's to remember; the next round asks again.
            let _ = self.carry_out_queued(store).await;
            tokio::time::sleep(interval).await;
        }
    }

    /// One round of [`Station::serve_fleet_revocations`] (the window runs it on its
    /// own timer): nothing without a fleet.
    pub async fn carry_out_queued(&self, store: &Store) -> Result<CarriedOut, SyncError> {
        let Some(gate) = self.fleet.clone() else { return Ok(CarriedOut::default()) };
        self.carry_out_with(&gate, store).await
    }

    async fn carry_out_with(&self, gate: &Arc<FleetGate>, store: &Store) -> Result<CarriedOut, SyncError> {
        let open = gate.open_revocations().await?;
        let done = self.revoke_queued(store, &open)?;
        if let Some(number) = done.crl_number {
            gate.complete_revocations(done.requests.iter().map(|r| r.id).collect(), number as i64).await?;
        }
        Ok(done)
    }
}

/// Every revocation queued in the fleet and not yet published by its issuing
/// station (`hallmark ca show`).
pub fn pending_revocations(
    settings: &hallmark_config::FleetSection,
) -> Result<Vec<RevocationRequest>, hallmark_fleet::FleetError> {
    Fleet::connect_with_stored_password(&settings.url)?.open_revocations(None)
}

/// Whether this log issued a certificate for `target` (then a failed local revoke
/// means it is already revoked, not that another station must do it).
fn issued_here(store: &Store, target: &str) -> Result<bool, CrlError> {
    Ok(!store.serials_for(target.trim())?.is_empty())
}
