//! What a station asks the fleet before it numbers or signs: UID counter blocks under
//! the `sequence` scheme, and whether another station already holds a board's
//! hardware id or UID.

use crate::client::{check_schema, check_station, station_taken, Fail};
use crate::schema::STEM_EXHAUSTED;
use crate::{Fleet, FleetError};
use serde::Serialize;

/// A block of UID counters the fleet leased to one station: `first..=last` after
/// `stem`, `width` digits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UidBlock {
    /// Prefix and date part.
    pub stem: String,
    /// First counter.
    pub first: i64,
    /// Last counter (inclusive).
    pub last: i64,
    /// Counter digits.
    pub width: i32,
}

/// A claim another station holds on what this board would get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FleetClaim {
    /// `hardware_id` (this board, under another UID or station) or `uid` (this UID,
    /// for another board).
    pub what: String,
    /// The station holding it.
    pub station: String,
    /// The UID it holds.
    pub uid: String,
    /// The board it holds it for.
    pub hardware_id: String,
}

impl Fleet {
    /// Leases the next `size` counters of `stem` (fewer at the end of what `width`
    /// digits allow) to `station`. Blocks never overlap and start after every counter
    /// a synced UID of the stem already uses.
    pub fn lease_uid_block(
        &mut self,
        station: &str,
        stem: &str,
        width: u32,
        size: u64,
    ) -> Result<UidBlock, FleetError> {
        check_station(station)?;
        let role = self.user().to_string();
        let (stem, width) = (stem.to_string(), i32::try_from(width).unwrap_or(i32::MAX));
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        self.call("leasing UID numbers", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let row = live
                    .client
                    .query_one(
                        "SELECT lease_first, lease_last FROM hallmark.lease_uid_block($1, $2, $3, $4)",
                        &[&station, &stem, &width, &size],
                    )
                    .await
                    .map_err(|e| match e.as_db_error() {
                        Some(db) if db.code().code() == STEM_EXHAUSTED => Fail::Fleet(FleetError::StemExhausted {
                            stem: stem.clone(),
                            top: db.detail().and_then(|d| d.parse().ok()).unwrap_or(0),
                        }),
                        _ => station_taken(e, station, &role),
                    })?;
                Ok(UidBlock { stem: stem.clone(), first: row.get(0), last: row.get(1), width })
            }
            .await;
            (live, result)
        })
    }

    /// Every block of `stem` the fleet leased to `station`, oldest first: how a station
    /// recovers a lease it did not record (killed between the server's commit and its
    /// own).
    pub fn uid_blocks(&mut self, station: &str, stem: &str) -> Result<Vec<UidBlock>, FleetError> {
        let (station, stem) = (station.to_string(), stem.to_string());
        self.call("reading the UID blocks", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let rows = live
                    .client
                    .query(
                        "SELECT first, last, width FROM hallmark.uid_blocks WHERE station = $1 AND stem = $2 ORDER BY first",
                        &[&station, &stem],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| UidBlock { stem: stem.clone(), first: r.get(0), last: r.get(1), width: r.get(2) })
                    .collect())
            }
            .await;
            (live, result)
        })
    }

    /// What *other* stations hold of this board's identity: its hardware id (of its
    /// dialect) under any UID, or `uid` (empty: none yet) for any board. Empty when
    /// the fleet knows of no such claim. This station's own claims are its log's to
    /// judge (it gives a known board its UID again). Only what has been synced is
    /// known.
    pub fn claims(
        &mut self,
        station: &str,
        dialect: &str,
        hardware_id: &str,
        uid: &str,
    ) -> Result<Vec<FleetClaim>, FleetError> {
        let (station, dialect, hardware_id, uid) =
            (station.to_string(), dialect.to_string(), hardware_id.to_string(), uid.to_string());
        self.call("checking the board against the fleet", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let rows = live
                    .client
                    .query(
                        "SELECT 'hardware_id', x.station, x.uid, x.hardware_id FROM hallmark.fleet_hardware_ids x
                          WHERE x.hardware_id = $3 AND x.dialect IN ($2, '') AND x.station <> $1
                         UNION ALL
                         SELECT 'uid', u.station, u.uid, u.hardware_id FROM hallmark.fleet_uids u
                          WHERE u.uid = $4 AND u.station <> $1",
                        &[&station, &dialect, &hardware_id, &uid],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|r| FleetClaim { what: r.get(0), station: r.get(1), uid: r.get(2), hardware_id: r.get(3) })
                    .collect())
            }
            .await;
            (live, result)
        })
    }
}
