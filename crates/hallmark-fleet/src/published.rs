//! What the fleet's stations published for brokers: each station's CA chain (its
//! `ca-certificate` audit entry) and its newest CRL, read from the records they
//! synced. A broker serving devices of several stations loads every chain and every
//! CRL: with CRL checking on, a device whose issuing CA has no CRL loaded is refused.

use crate::client::{check_schema, Live};
use crate::{Fleet, FleetError};
use serde::Serialize;

/// One station's CA chain (issuing CA first), as PEM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StationCa {
    /// The station.
    pub station: String,
    /// SHA-256 of its issuing CA certificate.
    pub fingerprint: String,
    /// Issuing CA, intermediates, root (PEM).
    pub chain_pem: String,
}

/// One station's newest CRL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StationCrl {
    /// The station.
    pub station: String,
    /// Its number.
    pub number: i64,
    /// DER.
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// Every station's CA chain and newest CRL.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Published {
    /// Stations' CA chains, by station.
    pub cas: Vec<StationCa>,
    /// Stations' newest CRLs, by station.
    pub crls: Vec<StationCrl>,
}

impl Published {
    /// Stations with a CA but no CRL yet: a broker with CRL checking refuses their
    /// devices until they publish one (`hallmark ca crl`, then a sync).
    pub fn stations_without_crl(&self) -> Vec<String> {
        self.cas
            .iter()
            .filter(|ca| !self.crls.iter().any(|c| c.station == ca.station))
            .map(|ca| ca.station.clone())
            .collect()
    }
}

impl Fleet {
    /// Every station's newest CA chain and newest CRL, as synced.
    pub fn published(&mut self) -> Result<Published, FleetError> {
        self.call("reading the stations' CAs and CRLs", |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let cas = newest_per_station(&live, "audit", "AND r.body->>'action' = 'ca-certificate'")
                    .await?
                    .iter()
                    .filter_map(|r| {
                        let body: Option<String> = r.get(2);
                        let body: serde_json::Value = serde_json::from_str(body?.as_str()).ok()?;
                        // An audit entry's detail is JSON text in the row.
                        let detail = serde_json::from_str::<serde_json::Value>(body["detail"].as_str()?).ok()?;
                        Some(StationCa {
                            station: r.get(0),
                            fingerprint: detail["fingerprint"].as_str()?.to_string(),
                            chain_pem: detail["chain_pem"].as_str()?.to_string(),
                        })
                    })
                    .collect();
                let crls = newest_per_station(&live, "crls", "")
                    .await?
                    .iter()
                    .filter_map(|r| {
                        let body: Option<String> = r.get(2);
                        let body: serde_json::Value = serde_json::from_str(body?.as_str()).ok()?;
                        let der = hex::decode(body["der"].as_str()?).ok()?;
                        Some(StationCrl { station: r.get(0), number: r.get(1), der })
                    })
                    .collect();
                Ok(Published { cas, crls })
            }
            .await;
            (live, result)
        })
    }
}

/// Per station, its newest record of `tbl` (that also meets `and`, an SQL condition on
/// `r`): station, row id, body as JSON text. Through the (station, tbl, row_id) index.
async fn newest_per_station(
    live: &Live,
    tbl: &str,
    and: &str,
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    live.client
        .query(
            &format!(
                "SELECT s.station, x.row_id, x.body::text FROM hallmark.stations s CROSS JOIN LATERAL (
                    SELECT r.row_id, r.body FROM hallmark.records r
                     WHERE r.station = s.station AND r.tbl = $1 {and}
                     ORDER BY r.row_id DESC LIMIT 1) x
                  ORDER BY s.station"
            ),
            &[&tbl],
        )
        .await
}
