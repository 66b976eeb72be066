//! Keeping the fleet record up to date from this station's log (issue #17).
//!
//! The local log is the source of truth and the station provisions whether or not
//! the fleet server answers. With `[fleet]` configured, start-up turns the log's
//! outbox on ([`hallmark_store::Store::enable_outbox`]) and [`FleetSync::sync`] sends
//! what is waiting: it asks the server how far it got (its high-water mark for this
//! station, which survives a kill of either side), sends the rows after that in
//! batches, each one server transaction, and records each acknowledgement locally
//! only after the server committed. A failed call drops the connection; the next
//! sync opens it again and starts from the server's mark, so nothing is lost or sent
//! twice. [`spawn`] runs that in a background thread for `hallmark run` and the window,
//! publishing a [`SyncState`] the operator screen shows.

use crate::uid::scheme::stems_ahead;
use hallmark_config::{FleetSection, UidScheme};
use hallmark_fleet::{Conflict, Fleet, FleetError, UidBlock};
use hallmark_store::{LeasePosition, Store, StoreError, UidLease};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a sync did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The fleet server could not be reached or refused the records.
    #[error("{0}")]
    Fleet(#[from] FleetError),
    /// The local log could not be read or written.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The fleet server failed to answer a moment ago; the run's question was not
    /// asked again ([`crate::fleet_gate::QUIET`]).
    #[error("the fleet server did not answer a moment ago ({why}); the station asks again in a few seconds")]
    Offline {
        /// The last failure, in words.
        why: String,
    },
    /// A queued revocation could not be carried out in this log.
    #[error("{0}")]
    Revocation(#[from] crate::crl::CrlError),
    /// The server holds more records from this station than its log has: the log
    /// was replaced or restored from an older copy. Sending on would lose records.
    #[error(
        "the fleet holds {server} records from station {station} but its log only {local}: this log was replaced or \
         restored from an older copy. Nothing more is sent; ask QA to compare the log with the fleet before going on"
    )]
    LogBehindFleet {
        /// This station.
        station: String,
        /// The server's high-water mark.
        server: i64,
        /// The newest local outbox row.
        local: i64,
    },
}

/// What one sync did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncReport {
    /// Records the server stored in this sync.
    pub sent: u64,
    /// The server's high-water mark for this station afterwards.
    pub high_water: i64,
    /// Records still waiting (0 after a complete sync).
    pub waiting: i64,
    /// Alarms the server raised for records of this sync.
    pub conflicts: Vec<Conflict>,
    /// UID blocks leased in this sync (`sequence` scheme).
    pub leased: Vec<UidLease>,
    /// Revocations other stations queued for this station that still wait for it
    /// (it holds the key): [`FleetSync::carry_out`] does them.
    pub revocations_waiting: Vec<hallmark_fleet::RevocationRequest>,
    /// Revocations this sync carried out and marked done.
    pub revocations_carried_out: Vec<hallmark_fleet::RevocationRequest>,
}

/// Where numbering stands for one stem the station numbers under (`sequence`).
#[derive(Clone, Debug, Serialize)]
pub struct StemState {
    /// Prefix + date part.
    pub stem: String,
    /// Counter digits.
    pub width: usize,
    /// The leased blocks and what is left of them.
    #[serde(flatten)]
    pub position: LeasePosition,
}

/// The sync as the operator screen shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncState {
    /// A fleet is configured.
    pub configured: bool,
    /// The last sync reached the server.
    pub connected: bool,
    /// Records waiting to be sent.
    pub waiting: i64,
    /// When the last complete sync ended (RFC 3339).
    pub last_sync: Option<String>,
    /// Why the last sync failed, in words.
    pub last_error: Option<String>,
    /// Alarms raised for this station's records since start-up.
    pub conflicts: u64,
    /// UID numbers left in leased blocks, per stem (`sequence` scheme).
    pub uid_blocks: Vec<StemState>,
}

/// One station's link to the fleet server.
pub struct FleetSync {
    settings: FleetSection,
    station: String,
    fleet: Option<Fleet>,
    /// The station's UID scheme: under `sequence`, each sync keeps leased blocks in hand.
    numbering: Option<UidScheme>,
}

impl FleetSync {
    /// A link for `station`; nothing is connected until the first sync.
    pub fn new(settings: FleetSection, station: &str) -> FleetSync {
        FleetSync { settings, station: station.to_string(), fleet: None, numbering: None }
    }

    /// The same link, keeping UID blocks leased for `scheme` (a `sequence` scheme
    /// leases; others do nothing).
    pub fn with_numbering(mut self, scheme: UidScheme) -> FleetSync {
        self.numbering = Some(scheme);
        self
    }

    /// Where numbering stands in the leased blocks, per stem ahead (local only).
    pub fn uid_blocks(&self, store: &Store) -> Result<Vec<StemState>, StoreError> {
        let Some(scheme) = &self.numbering else { return Ok(Vec::new()) };
        stems_ahead(scheme, time::OffsetDateTime::now_utc())
            .into_iter()
            .map(|(stem, width)| Ok(StemState { position: store.lease_position(&stem, width)?, stem, width }))
            .collect()
    }

    /// Records blocks the fleet leased to this station that its log lacks (a kill
    /// between the server's commit and the log's), then leases until each stem ahead
    /// has a number at hand and a block in reserve. Runs after a sync, so the log was
    /// found not to be behind the fleet.
    fn keep_blocks(&mut self, store: &Store) -> Result<Vec<UidLease>, SyncError> {
        let Some(scheme) = self.numbering.clone() else { return Ok(Vec::new()) };
        let (station, size) = (self.station.clone(), self.settings.uid_block);
        let fleet = self.fleet()?;
        let mut leased = Vec::new();
        for (stem, width) in stems_ahead(&scheme, time::OffsetDateTime::now_utc()) {
            for block in fleet.uid_blocks(&station, &stem)? {
                if block.width as usize == width {
                    store.record_uid_lease(&lease_of(&block, width), &station)?;
                }
            }
            for _ in 0..store.lease_position(&stem, width)?.blocks_wanted() {
                let lease = lease_of(&fleet.lease_uid_block(&station, &stem, width as u32, size)?, width);
                store.record_uid_lease(&lease, &station)?;
                leased.push(lease);
            }
        }
        Ok(leased)
    }

    /// The link of the station whose log is at `log_path`, numbering under
    /// `numbering`, with that log open and its outbox on (what `hallmark fleet
    /// status|sync` work on).
    pub fn open(
        settings: FleetSection,
        station: &str,
        numbering: UidScheme,
        log_path: &std::path::Path,
    ) -> Result<(FleetSync, Store), StoreError> {
        let store = Store::open(log_path)?;
        store.enable_outbox()?;
        Ok((FleetSync::new(settings, station).with_numbering(numbering), store))
    }

    /// The open connection, opened if needed.
    pub fn fleet(&mut self) -> Result<&mut Fleet, FleetError> {
        let fleet = match self.fleet.take() {
            Some(open) => open,
            None => Fleet::connect_with_stored_password(&self.settings.url)?,
        };
        Ok(self.fleet.insert(fleet))
    }

    /// Sends every waiting record of `store`.
    pub fn sync(&mut self, store: &Store) -> Result<SyncReport, SyncError> {
        let result = self.try_sync(store);
        if result.is_err() {
            // A broken connection is opened again by the next sync.
            self.fleet = None;
        }
        result
    }

    fn try_sync(&mut self, store: &Store) -> Result<SyncReport, SyncError> {
        let station = self.station.clone();
        let batch = self.settings.batch;
        let fleet = self.fleet()?;
        let mut high_water = fleet.high_water(&station)?;
        let local = store.outbox_state()?.last_seq;
        if high_water > local {
            return Err(SyncError::LogBehindFleet { station, server: high_water, local });
        }
        store.acknowledge_outbox(high_water)?;
        let mut report = SyncReport::default();
        high_water = push_waiting(fleet, store, &station, batch, high_water, &mut report)?;
        report.leased = self.keep_blocks(store)?;
        // The leases' audit entries (none when nothing was leased or recovered).
        let fleet = self.fleet()?;
        high_water = push_waiting(fleet, store, &station, batch, high_water, &mut report)?;
        report.revocations_waiting = self.fleet()?.open_revocations(Some(&station))?;
        report.high_water = high_water;
        report.waiting = store.outbox_state()?.waiting();
        Ok(report)
    }
}

impl FleetSync {
    /// Syncs, and when other stations queued revocations for this station, carries
    /// them out with `station`'s CA and syncs again so the fleet has the revocations
    /// and the new CRL.
    pub fn sync_and_revoke(
        &mut self,
        store: &Store,
        station: &crate::pipeline::Station,
    ) -> Result<SyncReport, SyncError> {
        let first = self.sync(store)?;
        if first.revocations_waiting.is_empty() {
            return Ok(first);
        }
        let done = station.carry_out_fleet_revocations(store, self.fleet()?)?;
        let mut report = self.sync(store)?;
        report.sent += first.sent;
        report.leased.extend(first.leased);
        report.conflicts.splice(0..0, first.conflicts);
        report.revocations_carried_out = done.requests;
        Ok(report)
    }
}

/// Sends the rows after `high_water` in batches, acknowledging each locally once the
/// server committed it; returns the new high-water mark.
fn push_waiting(
    fleet: &mut Fleet,
    store: &Store,
    station: &str,
    batch: usize,
    mut high_water: i64,
    report: &mut SyncReport,
) -> Result<i64, SyncError> {
    loop {
        let rows = store.outbox_after(high_water, batch)?;
        let Some(last) = rows.last().map(|r| r.seq) else { return Ok(high_water) };
        let pushed = fleet.push(station, &rows)?;
        report.sent += pushed.inserted;
        report.conflicts.extend(pushed.conflicts);
        high_water = pushed.high_water.max(last);
        // Only now: the server committed everything up to here.
        store.acknowledge_outbox(high_water)?;
    }
}

/// The local record of a block the fleet leased.
fn lease_of(block: &UidBlock, width: usize) -> UidLease {
    UidLease { stem: block.stem.clone(), first: block.first as u64, last: block.last as u64, width }
}

/// The background sync of a running station.
pub struct SyncHandle {
    state: Arc<Mutex<SyncState>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SyncHandle {
    /// The sync as it stands.
    pub fn state(&self) -> SyncState {
        self.watch().state()
    }

    /// A view of the sync's state that other threads can keep (the window's commands).
    pub fn watch(&self) -> SyncWatch {
        SyncWatch(self.state.clone())
    }
}

/// Reads a running sync's state from anywhere; outlives nothing (after the sync
/// stops it shows its last state).
#[derive(Clone)]
pub struct SyncWatch(Arc<Mutex<SyncState>>);

impl SyncWatch {
    /// The sync as it stands.
    pub fn state(&self) -> SyncState {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

/// Starts syncing the log at `log_path` every `settings.sync_interval_ms` until the
/// handle is dropped. The thread opens its own connection to the log.
pub fn spawn(log_path: PathBuf, settings: FleetSection, station: &str, numbering: UidScheme) -> SyncHandle {
    let state = Arc::new(Mutex::new(SyncState { configured: true, ..SyncState::default() }));
    let stop = Arc::new(AtomicBool::new(false));
    let interval = Duration::from_millis(settings.sync_interval_ms);
    let mut sync = FleetSync::new(settings, station).with_numbering(numbering);
    let (shared, stopping) = (state.clone(), stop.clone());
    let thread = std::thread::spawn(move || {
        let mut store: Option<Store> = None;
        while !stopping.load(Ordering::Relaxed) {
            let outcome = match store.as_ref() {
                Some(s) => sync.sync(s),
                None => Store::open(&log_path).map_err(SyncError::from).and_then(|s| sync.sync(store.insert(s))),
            };
            if let Ok(mut st) = shared.lock() {
                match outcome {
                    Ok(report) => {
                        st.uid_blocks = store.as_ref().and_then(|s| sync.uid_blocks(s).ok()).unwrap_or_default();
                        st.connected = true;
                        st.waiting = report.waiting;
                        st.last_sync = Some(hallmark_store::now_rfc3339());
                        st.last_error = None;
                        st.conflicts += report.conflicts.len() as u64;
                    }
                    Err(e) => {
                        st.connected = false;
                        st.waiting = store
                            .as_ref()
                            .and_then(|s| s.outbox_state().ok())
                            .map(|o| o.waiting())
                            .unwrap_or(st.waiting);
                        st.last_error = Some(e.to_string());
                        if let Some(blocks) = store.as_ref().and_then(|s| sync.uid_blocks(s).ok()) {
                            st.uid_blocks = blocks;
                        }
                    }
                }
            }
            let until = std::time::Instant::now() + interval;
            while !stopping.load(Ordering::Relaxed) && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    });
    SyncHandle { state, stop, thread: Some(thread) }
}

/// `hallmark fleet status`: this station's outbox and what the server says.
#[derive(Clone, Debug, Serialize)]
pub struct FleetReport {
    /// This station.
    pub station: String,
    /// The local outbox (on, newest row, newest acknowledged, waiting).
    pub local: hallmark_store::OutboxState,
    /// Records waiting to be sent.
    pub waiting: i64,
    /// When the server last acknowledged records (RFC 3339), if ever.
    pub last_sync: Option<String>,
    /// The server's view; `connected = false` and `error` when it cannot be reached.
    pub server: hallmark_fleet::FleetStatus,
    /// UID numbers left in leased blocks, per stem ahead (`sequence` scheme; empty
    /// for other schemes).
    pub uid_blocks: Vec<StemState>,
}

impl FleetSync {
    /// The status of this station's link: the local outbox always, the server's view
    /// when it answers.
    pub fn status(&mut self, store: &Store) -> Result<FleetReport, StoreError> {
        let local = store.outbox_state()?;
        let last_sync = store.outbox_acknowledged_at()?;
        let station = self.station.clone();
        let server = match self.fleet() {
            Ok(fleet) => fleet.status(&station),
            Err(e) => {
                self.fleet = None;
                unreachable_status(&self.settings.url, &self.station, &e)
            }
        };
        let uid_blocks = self.uid_blocks(store)?;
        Ok(FleetReport {
            station: self.station.clone(),
            waiting: local.waiting(),
            local,
            last_sync,
            server,
            uid_blocks,
        })
    }
}

/// The server's status when it could not even be connected to.
fn unreachable_status(url: &str, station: &str, e: &FleetError) -> hallmark_fleet::FleetStatus {
    let target = hallmark_fleet::FleetUrl::parse(url).map(|u| u.target()).unwrap_or_else(|_| url.to_string());
    hallmark_fleet::FleetStatus::unanswered(&target, station, Some(e.to_string()))
}

/// `hallmark fleet init`: creates or upgrades the fleet schema at `url` (run by the
/// database's administrator, whose URL may differ from the stations').
pub fn init_fleet(url: &str) -> Result<hallmark_fleet::InitReport, FleetError> {
    Fleet::connect_with_stored_password(url)?.init()
}

/// `hallmark fleet verify`: checks every station's chains and the cross-checks in the
/// fleet at `url` (a station's role may run it).
pub fn verify_fleet(url: &str) -> Result<hallmark_fleet::VerifyReport, FleetError> {
    Fleet::connect_with_stored_password(url)?.verify()
}

impl crate::pipeline::Station {
    /// Starts the background fleet sync when `[fleet]` is configured; it runs until
    /// the handle is dropped.
    pub fn start_fleet_sync(&self) -> Option<SyncHandle> {
        let settings = self.config.config.fleet.clone()?;
        Some(spawn(self.data_dir.log_path(), settings, &self.station_id, self.config.config.uid.clone()))
    }
}
