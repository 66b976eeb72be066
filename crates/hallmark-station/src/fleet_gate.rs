//! What a run asks the fleet server itself, while the board waits: UID blocks when
//! the `sequence` scheme ran out of leased numbers, and, before anything is signed,
//! whether another station already holds this board's hardware id or its UID.
//!
//! The fleet client blocks, so each question runs on tokio's blocking pool with short
//! deadlines (2 s to connect, 5 s a call). After the server failed to answer, the
//! gate does not ask again for [`QUIET`]: a cut-off bench then costs no waiting per
//! board, and says so.

use crate::fleet_sync::SyncError;
use hallmark_config::FleetSection;
use hallmark_fleet::{Fleet, FleetClaim, FleetError, FleetOptions, RevocationRequest, UidBlock};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the gate answers "offline" after the server failed to answer.
pub const QUIET: Duration = Duration::from_secs(30);

/// The deadlines of a question asked while a board waits.
const OPTIONS: FleetOptions =
    FleetOptions { connect_timeout: Duration::from_secs(2), call_timeout: Duration::from_secs(5) };

/// A station's questions to the fleet during runs; one per station, shared by its slots.
pub struct FleetGate {
    settings: FleetSection,
    station: String,
    link: Mutex<Link>,
}

#[derive(Default)]
struct Link {
    fleet: Option<Fleet>,
    /// Until when the gate does not ask again, and why.
    quiet: Option<(Instant, String)>,
}

impl FleetGate {
    /// The gate of `station` to the fleet in `settings`; nothing connects until asked.
    pub fn new(settings: FleetSection, station: &str) -> Arc<FleetGate> {
        Arc::new(FleetGate { settings, station: station.to_string(), link: Mutex::new(Link::default()) })
    }

    /// The `[fleet]` settings it asks with.
    pub fn settings(&self) -> &FleetSection {
        &self.settings
    }

    /// Leases `count` blocks of `stem`, after checking that the fleet holds no more of
    /// this station's records than its log (`local_last_seq`): a log restored from an
    /// older copy would hand out numbers again. The caller records the blocks.
    pub async fn lease(
        self: &Arc<Self>,
        stem: &str,
        width: usize,
        count: usize,
        local_last_seq: i64,
    ) -> Result<Vec<UidBlock>, SyncError> {
        let (gate, stem) = (self.clone(), stem.to_string());
        let block = self.settings.uid_block;
        run_blocking(move || {
            gate.ask(|fleet, station| {
                let server = fleet.high_water(station)?;
                if server > local_last_seq {
                    return Err(SyncError::LogBehindFleet {
                        station: station.to_string(),
                        server,
                        local: local_last_seq,
                    });
                }
                (0..count).map(|_| Ok(fleet.lease_uid_block(station, &stem, width as u32, block)?)).collect()
            })
        })
        .await
    }

    /// What other stations hold of this board: its hardware id under `dialect`, or `uid`.
    pub async fn claims(
        self: &Arc<Self>,
        dialect: &str,
        hardware_id: &str,
        uid: Option<&str>,
    ) -> Result<Vec<FleetClaim>, SyncError> {
        let gate = self.clone();
        let (dialect, hardware_id, uid) = (dialect.to_string(), hardware_id.to_string(), uid.map(str::to_string));
        run_blocking(move || {
            gate.ask(|fleet, station| {
                // No UID yet (a sequence number is only taken once the board passes): an
                // empty UID matches none.
                Ok(fleet.claims(station, &dialect, &hardware_id, uid.as_deref().unwrap_or(""))?)
            })
        })
        .await
    }

    /// The revocations queued in the fleet for this station to carry out.
    pub async fn open_revocations(self: &Arc<Self>) -> Result<Vec<RevocationRequest>, SyncError> {
        let gate = self.clone();
        run_blocking(move || gate.ask(|fleet, station| Ok(fleet.open_revocations(Some(station))?))).await
    }

    /// Marks queued revocations `ids` carried out in CRL `crl_number`.
    pub async fn complete_revocations(self: &Arc<Self>, ids: Vec<i64>, crl_number: i64) -> Result<(), SyncError> {
        let gate = self.clone();
        run_blocking(move || {
            gate.ask(|fleet, station| {
                for id in ids {
                    fleet.complete_revocation(station, id, crl_number)?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Runs `question` on the open link (opened if needed); a failure drops the link
    /// and keeps the gate quiet for [`QUIET`].
    fn ask<T>(&self, question: impl FnOnce(&mut Fleet, &str) -> Result<T, SyncError>) -> Result<T, SyncError> {
        let mut link = self.link.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((until, why)) = &link.quiet {
            if Instant::now() < *until {
                return Err(SyncError::Offline { why: why.clone() });
            }
        }
        let result = match link.fleet.take() {
            Some(fleet) => Ok(fleet),
            None => hallmark_fleet::fleet_password(&self.settings.url)
                .and_then(|password| Fleet::connect_with(&self.settings.url, password.as_deref(), OPTIONS)),
        }
        .map_err(SyncError::from)
        .and_then(|mut fleet| {
            let answer = question(&mut fleet, &self.station);
            if !matches!(answer, Err(SyncError::Fleet(_))) {
                link.fleet = Some(fleet);
            }
            answer
        });
        match &result {
            // Only a server that cannot be reached makes the gate quiet; an answer it
            // gave (a full stem, nothing to revoke) is the answer.
            Err(SyncError::Fleet(
                e @ (FleetError::Connect { .. }
                | FleetError::Timeout { .. }
                | FleetError::ConnectionLost { .. }
                | FleetError::PasswordMissing { .. }
                | FleetError::LoginRefused { .. }),
            )) => link.quiet = Some((Instant::now() + QUIET, e.to_string())),
            _ => link.quiet = None,
        }
        result
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, SyncError> + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(SyncError::Offline { why: format!("the fleet question stopped: {e}") }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_the_server_could_not_be_reached_the_gate_stays_quiet() {
        // Nothing listens on port 1: the connection is refused at once.
        let gate = FleetGate::new(FleetSection::new("postgresql://bench@127.0.0.1:1/fleet"), "bench-1");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let first = rt.block_on(gate.claims("hallmark-v1", "HW-1", None)).unwrap_err();
        assert!(matches!(first, SyncError::Fleet(FleetError::Connect { .. })), "{first}");
        let started = Instant::now();
        let second = rt.block_on(gate.claims("hallmark-v1", "HW-2", None)).unwrap_err();
        assert!(matches!(&second, SyncError::Offline { why } if why.contains("cannot connect")), "{second}");
        assert!(started.elapsed() < Duration::from_millis(100), "the quiet gate does not ask again");
    }
}
