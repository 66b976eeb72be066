//! Auto-start: a slot with `auto_start` watches its port; when a board answers it
//! starts a run, waits for it to end, then waits until that board is taken out
//! before it watches again (the result stays on the tile until then).

use crate::ipc::RunEvent;
use crate::runner::{emit, Command};
use hallmark_station::presence::probe;
use hallmark_station::transport::PortName;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;
use tauri::AppHandle;

const POLL: Duration = Duration::from_millis(500);
const PROBE_WAIT: Duration = Duration::from_millis(300);

/// One slot's watcher.
pub struct Watcher {
    /// Slot.
    pub slot: String,
    /// Its port.
    pub port: PortName,
    /// To the station actor.
    pub tx: tokio::sync::mpsc::UnboundedSender<Command>,
    /// To the window.
    pub app: AppHandle,
    /// Slots running now: a running slot's port is not probed.
    pub busy: Rc<RefCell<BTreeSet<String>>>,
    /// The configuration generation in force.
    pub generation: Rc<Cell<u64>>,
    /// The generation this watcher belongs to; it stops when that changes.
    pub mine: u64,
}

impl Watcher {
    fn current(&self) -> bool {
        self.generation.get() == self.mine
    }

    /// The slot is running (the borrow ends here, never across an await).
    fn running(&self) -> bool {
        self.busy.borrow().contains(&self.slot)
    }

    /// Watches until the configuration changes.
    pub async fn run(self) {
        while self.current() {
            emit(&self.app, RunEvent::Waiting { slot: self.slot.clone() });
            let board = loop {
                if !self.current() {
                    return;
                }
                if !self.running() {
                    if let Some(hw) = probe(&self.port, PROBE_WAIT).await {
                        break hw;
                    }
                }
                tokio::time::sleep(POLL).await;
            };
            let (done, finished) = tokio::sync::oneshot::channel();
            let start = Command::Start { slot: self.slot.clone(), operator: None, scanned_uid: None, done: Some(done) };
            if self.tx.send(start).is_err() {
                return;
            }
            // Dropped unsent when the slot was busy: then there is nothing to wait for.
            finished.await.ok();
            while self.current() && (self.running() || probe(&self.port, PROBE_WAIT).await.as_ref() == Some(&board)) {
                tokio::time::sleep(POLL).await;
            }
        }
    }
}
