//! UID counter blocks a fleet leased to this station (`sequence` scheme under a
//! fleet). The fleet hands out blocks that never overlap; the station numbers boards
//! only from its own blocks, oldest first, so two stations never give out one UID,
//! also while the fleet server cannot be reached. A block is recorded here (with an
//! audit entry, so the lease is in the chained log) before any counter of it is used.

use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension, Transaction};

/// One block: counters `first..=last` after `stem`, `width` digits.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UidLease {
    /// Prefix + date part.
    pub stem: String,
    /// First counter.
    pub first: u64,
    /// Last counter (inclusive).
    pub last: u64,
    /// Counter digits.
    pub width: usize,
}

/// Where numbering stands in the leased blocks of one stem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LeasePosition {
    /// Blocks leased.
    pub blocks: usize,
    /// The counter the next board gets, if any is left.
    pub next: Option<u64>,
    /// Counters left in all blocks.
    pub left: u64,
    /// Blocks not touched yet.
    pub untouched: usize,
    /// Untouched blocks after the one the next number comes from: the reserve the
    /// station keeps for an outage.
    pub reserve: usize,
}

impl LeasePosition {
    /// Blocks to lease now so that the next number is at hand and one block is in
    /// reserve.
    pub fn blocks_wanted(&self) -> usize {
        usize::from(self.next.is_none()) + usize::from(self.reserve == 0)
    }
}

impl Store {
    /// Records a block the fleet leased to this station (idempotent: a block already
    /// recorded is kept as it is). Returns whether it was new.
    pub fn record_uid_lease(&self, lease: &UidLease, actor: &str) -> Result<bool, StoreError> {
        let tx = self.begin()?;
        let added = tx.execute(
            "INSERT OR IGNORE INTO uid_leases (stem, first, last, width, leased_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![lease.stem, lease.first as i64, lease.last as i64, lease.width as i64, crate::now_rfc3339()],
        )? == 1;
        if added {
            let detail = serde_json::json!({
                "stem": lease.stem, "first": lease.first, "last": lease.last, "width": lease.width
            });
            crate::audit::insert_audit(&tx, actor, "uid-lease", &detail)?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Where numbering stands in the blocks of `stem` with `width` digits.
    pub fn lease_position(&self, stem: &str, width: usize) -> Result<LeasePosition, StoreError> {
        let tx = self.begin()?;
        let position = lease_position(&tx, stem, width)?;
        tx.commit()?;
        Ok(position)
    }
}

/// The blocks of `stem`, oldest first.
fn blocks(tx: &Transaction<'_>, stem: &str, width: usize) -> Result<Vec<(u64, u64)>, StoreError> {
    let mut stmt = tx.prepare("SELECT first, last FROM uid_leases WHERE stem = ?1 AND width = ?2 ORDER BY first")?;
    let rows =
        stmt.query_map(params![stem, width as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The highest counter a UID of this log uses within `first..=last` of `stem`.
fn highest_used(
    tx: &Transaction<'_>,
    stem: &str,
    width: usize,
    first: u64,
    last: u64,
) -> Result<Option<u64>, StoreError> {
    // UIDs are stem + `width` digits (+ a check character): within a block they sort
    // by counter as text, so the range is an index walk on the primary key.
    let low = format!("{stem}{first:0width$}");
    let high = format!("{stem}{last:0width$}\u{7f}");
    let uid: Option<String> = tx
        .query_row(
            "SELECT uid FROM uids WHERE uid >= ?1 AND uid < ?2 AND length(uid) BETWEEN ?3 AND ?3 + 1
             ORDER BY uid DESC LIMIT 1",
            params![low, high, (stem.len() + width) as i64],
            |r| r.get(0),
        )
        .optional()?;
    Ok(uid.and_then(|u| u.get(stem.len()..stem.len() + width).and_then(|d| d.parse().ok())))
}

pub(crate) fn lease_position(tx: &Transaction<'_>, stem: &str, width: usize) -> Result<LeasePosition, StoreError> {
    let blocks = blocks(tx, stem, width)?;
    let mut used = None;
    for &(first, last) in blocks.iter().rev() {
        if let Some(c) = highest_used(tx, stem, width, first, last)? {
            used = Some(c);
            break;
        }
    }
    let candidate = used.map_or(0, |c| c + 1);
    let mut position = LeasePosition { blocks: blocks.len(), ..LeasePosition::default() };
    for &(first, last) in &blocks {
        if last < candidate {
            continue;
        }
        let from = first.max(candidate);
        let current = position.next.is_none();
        position.next.get_or_insert(from);
        position.left += last - from + 1;
        if used.is_none_or(|u| first > u) {
            position.untouched += 1;
            if !current {
                position.reserve += 1;
            }
        }
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RunStart, UidChoice};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("log.sqlite")).unwrap();
        (dir, store)
    }

    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn assign(store: &Store, hardware_id: &str) -> Result<String, StoreError> {
        let run = store
            .begin_run(&RunStart {
                run_uuid: format!("run-{hardware_id}-{}", RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
                station: "s".into(),
                port: "p".into(),
                operator: None,
                tool_version: "t".into(),
                slot: None,
                config_hash: None,
            })
            .unwrap();
        let finish = |s: &str| s.to_string();
        store
            .assign_uid(
                run,
                hardware_id,
                "sequence",
                UidChoice::Sequence { stem: "HM-".into(), width: 4, finish: &finish, leased: true },
            )
            .map(|a| a.uid)
    }

    fn lease(first: u64, last: u64) -> UidLease {
        UidLease { stem: "HM-".into(), first, last, width: 4 }
    }

    #[test]
    fn numbers_come_only_from_leased_blocks_in_order() {
        let (_dir, store) = store();
        assert!(matches!(assign(&store, "HW-0"), Err(StoreError::UidBlocksExhausted { .. })), "no lease, no number");
        assert!(store.record_uid_lease(&lease(11, 13), "bench").unwrap());
        assert!(!store.record_uid_lease(&lease(11, 13), "bench").unwrap(), "recorded once");
        assert!(store.record_uid_lease(&lease(40, 41), "bench").unwrap());
        let p = store.lease_position("HM-", 4).unwrap();
        assert_eq!(p, LeasePosition { blocks: 2, next: Some(11), left: 5, untouched: 2, reserve: 1 });
        assert_eq!(p.blocks_wanted(), 0);
        let uids: Vec<String> = (1..=5).map(|i| assign(&store, &format!("HW-{i}")).unwrap()).collect();
        assert_eq!(uids, ["HM-0011", "HM-0012", "HM-0013", "HM-0040", "HM-0041"]);
        assert_eq!(
            store.lease_position("HM-", 4).unwrap(),
            LeasePosition { blocks: 2, next: None, left: 0, untouched: 0, reserve: 0 }
        );
        assert!(matches!(assign(&store, "HW-6"), Err(StoreError::UidBlocksExhausted { .. })));
        // A board seen before keeps its UID without a number.
        assert_eq!(assign(&store, "HW-2").unwrap(), "HM-0012");
        // The lease is in the chained audit log.
        let n: i64 =
            store.conn.query_row("SELECT count(*) FROM audit WHERE action = 'uid-lease'", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn a_block_partly_used_counts_as_current_and_later_ones_as_reserve() {
        let (_dir, store) = store();
        store.record_uid_lease(&lease(1, 3), "bench").unwrap();
        store.record_uid_lease(&lease(4, 6), "bench").unwrap();
        assign(&store, "HW-1").unwrap();
        let p = store.lease_position("HM-", 4).unwrap();
        assert_eq!(p, LeasePosition { blocks: 2, next: Some(2), left: 5, untouched: 1, reserve: 1 });
        assert_eq!(p.blocks_wanted(), 0);
        for i in 2..=3 {
            assign(&store, &format!("HW-{i}")).unwrap();
        }
        // Numbering moved into the second block: nothing in reserve any more.
        let p = store.lease_position("HM-", 4).unwrap();
        assert_eq!(p, LeasePosition { blocks: 2, next: Some(4), left: 3, untouched: 1, reserve: 0 });
        assert_eq!(p.blocks_wanted(), 1);
        assert_eq!(LeasePosition::default().blocks_wanted(), 2, "none leased: one to number from, one in reserve");
        // Another width is another counter space.
        assert_eq!(store.lease_position("HM-", 5).unwrap(), LeasePosition::default());
    }
}
