//! Revocation from anywhere (issue #17): any station queues a revocation for a
//! certificate the fleet knows; the station that issued it (it holds the key) carries
//! it out, publishes its CRL and marks the request done with that CRL's number.

use crate::client::{check_schema, check_station, station_taken, Fail};
use crate::schema::NOTHING_TO_REVOKE;
use crate::{Fleet, FleetError};
use serde::Serialize;
use tokio_postgres::Row;

/// One queued revocation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevocationRequest {
    /// Its number in the fleet.
    pub id: i64,
    /// The certificate (hex serial).
    pub serial: String,
    /// Its UID.
    pub uid: String,
    /// RFC 5280 reason name (`keyCompromise`, ...).
    pub reason: String,
    /// The station that issued the certificate and carries the revocation out.
    pub issuer_station: String,
    /// The station that asked.
    pub requested_by: String,
    /// Who asked there.
    pub actor: String,
    /// When (RFC 3339).
    pub requested_at: String,
    /// When the issuing station published it, if it has.
    pub done_at: Option<String>,
    /// The CRL that lists it.
    pub crl_number: Option<i64>,
}

const COLUMNS: &str = "id, serial, uid, reason, issuer_station, requested_by, actor,
    to_char(requested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
    to_char(done_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), crl_number";

fn request(r: &Row) -> RevocationRequest {
    RevocationRequest {
        id: r.get(0),
        serial: r.get(1),
        uid: r.get(2),
        reason: r.get(3),
        issuer_station: r.get(4),
        requested_by: r.get(5),
        actor: r.get(6),
        requested_at: r.get(7),
        done_at: r.get(8),
        crl_number: r.get(9),
    }
}

impl Fleet {
    /// Queues the revocation of every unrevoked certificate the fleet holds for
    /// `target` (a UID or a serial), asked at `station` by `actor` for `reason`. A
    /// certificate already queued keeps its first request, which is returned.
    pub fn request_revocation(
        &mut self,
        station: &str,
        target: &str,
        reason: &str,
        actor: &str,
    ) -> Result<Vec<RevocationRequest>, FleetError> {
        check_station(station)?;
        let role = self.user().to_string();
        let (target, reason, actor) = (target.to_string(), reason.to_string(), actor.to_string());
        self.call("queueing a revocation", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let rows = live
                    .client
                    .query(
                        &format!("SELECT {COLUMNS} FROM hallmark.request_revocation($1, $2, $3, $4)"),
                        &[&station, &target, &reason, &actor],
                    )
                    .await
                    .map_err(|e| match e.as_db_error() {
                        Some(db) if db.code().code() == NOTHING_TO_REVOKE => {
                            Fail::Fleet(FleetError::NothingToRevoke { target: target.clone() })
                        }
                        _ => station_taken(e, station, &role),
                    })?;
                Ok(rows.iter().map(request).collect())
            }
            .await;
            (live, result)
        })
    }

    /// Open requests: those `issuer` must carry out, or with `None` the whole fleet's,
    /// oldest first.
    pub fn open_revocations(&mut self, issuer: Option<&str>) -> Result<Vec<RevocationRequest>, FleetError> {
        let issuer = issuer.map(str::to_string);
        self.call("reading the revocation queue", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let rows = live
                    .client
                    .query(
                        &format!(
                            "SELECT {COLUMNS} FROM hallmark.revocation_requests
                              WHERE done_at IS NULL AND ($1::text IS NULL OR issuer_station = $1) ORDER BY id"
                        ),
                        &[&issuer],
                    )
                    .await?;
                Ok(rows.iter().map(request).collect())
            }
            .await;
            (live, result)
        })
    }

    /// Marks request `id` carried out by `station` (its issuer) in CRL `crl_number`.
    /// `false` when it is not this station's or was already marked.
    pub fn complete_revocation(&mut self, station: &str, id: i64, crl_number: i64) -> Result<bool, FleetError> {
        check_station(station)?;
        let role = self.user().to_string();
        self.call("marking a revocation published", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let row = live
                    .client
                    .query_one("SELECT hallmark.complete_revocation($1, $2, $3)", &[&station, &id, &crl_number])
                    .await
                    .map_err(|e| station_taken(e, station, &role))?;
                Ok(row.get(0))
            }
            .await;
            (live, result)
        })
    }
}
