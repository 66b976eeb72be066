//! The connection to the fleet server and the calls a station makes.

use crate::error::{classify, describe};
use crate::schema::{BOOTSTRAP, MIGRATIONS, ROLES, SCHEMA_VERSION, STATION_TAKEN};
use crate::verify::{verify_tx, VerifyReport};
use crate::{FleetError, FleetUrl, OutboxRecord};
use serde::Serialize;
use std::future::Future;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Deadlines of the fleet connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FleetOptions {
    /// Opening a connection (TCP, TLS, login).
    pub connect_timeout: Duration,
    /// Each call once connected (a whole push is one call). Also the server's
    /// `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`,
    /// so the server gives up what the station gave up.
    pub call_timeout: Duration,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions { connect_timeout: Duration::from_secs(5), call_timeout: Duration::from_secs(30) }
    }
}

/// A station's connection to the fleet database. Blocking; every call has a deadline.
pub struct Fleet {
    target: String,
    /// The login role (the URL's user).
    user: String,
    config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
    options: FleetOptions,
    live: Option<Live>,
    // Declared last: dropped after the connection task it drives.
    rt: Runtime,
}

/// An open connection.
pub(crate) struct Live {
    pub(crate) client: Client,
    task: JoinHandle<()>,
    /// The schema version was checked on this connection.
    schema_checked: bool,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What [`Fleet::init`] found and left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InitReport {
    /// The schema version before (0: there was none).
    pub from_version: i32,
    /// The schema version now.
    pub version: i32,
}

/// One alarm: a record claimed what another record already holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// `uid`, `hardware_id`, `serial`, `fingerprint`, `public_key`,
    /// `certificate_uid` (a certificate for a UID another station holds) or
    /// `malformed` (a row the projections cannot read).
    pub what: String,
    /// The value claimed twice (or what is wrong, for `malformed`).
    pub value: String,
    /// The record of this station that made the claim.
    pub seq: i64,
    /// The station holding the value.
    pub holder_station: Option<String>,
    /// The record that holds it.
    pub holder_seq: Option<i64>,
}

/// What one [`Fleet::push`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushReport {
    /// The station.
    pub station: String,
    /// Records stored by this call.
    pub inserted: u64,
    /// Records of the batch the fleet already held (identical; a retry).
    pub already_held: u64,
    /// The highest sequence number the fleet holds for the station now.
    pub high_water: i64,
    /// Alarms raised by this batch's records, also those raised when an earlier
    /// attempt of the same batch committed (the alarm rows exist once).
    pub conflicts: Vec<Conflict>,
}

/// The fleet at a glance, for `hallmark fleet status [--json]` and the operator
/// screen. Fields the server could not be asked are `None`; `error` says why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FleetStatus {
    /// `USER@HOST:PORT/DB`.
    pub target: String,
    /// A connection is open.
    pub connected: bool,
    /// The schema version in the database.
    pub schema_version: Option<i32>,
    /// The schema version this build needs.
    pub schema_supported: i32,
    /// The station asked about.
    pub station: String,
    /// The highest sequence number the fleet holds for it.
    pub high_water: Option<i64>,
    /// Stations the fleet has heard from.
    pub stations: Option<i64>,
    /// Unresolved alarms in the whole fleet.
    pub open_conflicts: Option<i64>,
    /// Unresolved alarms this station is part of (claimant or holder).
    pub station_open_conflicts: Option<i64>,
    /// Why something is missing or wrong, in words.
    pub error: Option<String>,
}

impl FleetStatus {
    /// The status of `station` at `target` before (or without) the server answering:
    /// not connected, nothing known, `error` saying why if given.
    pub fn unanswered(target: &str, station: &str, error: Option<String>) -> FleetStatus {
        FleetStatus {
            target: target.to_string(),
            connected: false,
            schema_version: None,
            schema_supported: SCHEMA_VERSION,
            station: station.to_string(),
            high_water: None,
            stations: None,
            open_conflicts: None,
            station_open_conflicts: None,
            error,
        }
    }
}

/// A failure inside a call: the server's, or one of ours.
pub(crate) enum Fail {
    Pg(tokio_postgres::Error),
    Fleet(FleetError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Pg(e)
    }
}

impl From<FleetError> for Fail {
    fn from(e: FleetError) -> Self {
        Fail::Fleet(e)
    }
}

impl Fleet {
    /// Connects to the fleet server at `url` (`postgresql://USER@HOST:PORT/DB`) with the
    /// default deadlines. `password` comes from [`crate::fleet_password`], never from
    /// the URL (one with a password is refused).
    pub fn connect(url: &str, password: Option<&str>) -> Result<Fleet, FleetError> {
        Fleet::connect_with(url, password, FleetOptions::default())
    }

    /// [`Fleet::connect`] with the password from [`crate::fleet_password`]
    /// (`HALLMARK_FLEET_PASSWORD` or the pgpass file): how a station or an
    /// administrator's command connects.
    pub fn connect_with_stored_password(url: &str) -> Result<Fleet, FleetError> {
        let password = crate::fleet_password(url)?;
        Fleet::connect(url, password.as_deref())
    }

    /// [`Fleet::connect`] with other deadlines.
    pub fn connect_with(url: &str, password: Option<&str>, options: FleetOptions) -> Result<Fleet, FleetError> {
        let url = FleetUrl::parse(url)?;
        let tls = match &url.verify_full_ca {
            Some(ca) => Some(crate::tls::connector(ca)?),
            None => None,
        };
        let mut config = tokio_postgres::Config::new();
        config
            .user(&url.user)
            .host(&url.host)
            .port(url.port)
            .dbname(&url.dbname)
            .application_name("hallmark-station")
            .connect_timeout(options.connect_timeout)
            .tcp_user_timeout(options.call_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            .options(format!(
                "-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout={ms}",
                ms = options.call_timeout.as_millis().max(1)
            ))
            .ssl_mode(if tls.is_some() {
                tokio_postgres::config::SslMode::Require
            } else {
                tokio_postgres::config::SslMode::Disable
            });
        if let Some(password) = password {
            config.password(password);
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(FleetError::Runtime)?;
        let mut fleet = Fleet { target: url.target(), user: url.user.clone(), config, tls, options, live: None, rt };
        fleet.open()?;
        Ok(fleet)
    }

    /// `USER@HOST:PORT/DB`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The login role (the URL's user).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether a connection is open (as far as known without asking the server).
    pub fn is_connected(&self) -> bool {
        self.live.as_ref().is_some_and(|l| !l.client.is_closed())
    }

    /// Opens the connection if there is none (or it broke).
    fn open(&mut self) -> Result<(), FleetError> {
        if self.live.is_some() {
            // The connection task only runs inside calls: let it read what arrived
            // meanwhile, so a connection the server closed (a restart) is known closed
            // now and replaced, instead of failing this call.
            self.rt.block_on(async { tokio::time::sleep(Duration::from_millis(1)).await });
        }
        if self.is_connected() {
            return Ok(());
        }
        self.live = None;
        let config = self.config.clone();
        let tls = self.tls.clone();
        let connect = async move {
            match tls {
                Some(tls) => {
                    let (client, connection) = config.connect(tls).await?;
                    Ok::<_, tokio_postgres::Error>((client, tokio::spawn(async move { drop(connection.await) })))
                }
                None => {
                    let (client, connection) = config.connect(NoTls).await?;
                    Ok((client, tokio::spawn(async move { drop(connection.await) })))
                }
            }
        };
        // tokio-postgres applies connect_timeout per address; this bounds the whole.
        let deadline = self.options.connect_timeout + Duration::from_millis(500);
        match self.rt.block_on(async { tokio::time::timeout(deadline, connect).await }) {
            Ok(Ok((client, task))) => {
                self.live = Some(Live { client, task, schema_checked: false });
                Ok(())
            }
            Ok(Err(e)) => Err(self.connect_error(e)),
            Err(_) => Err(FleetError::Timeout { target: self.target.clone(), what: "the connection", after: deadline }),
        }
    }

    fn connect_error(&self, e: tokio_postgres::Error) -> FleetError {
        let detail = describe(&e);
        match e.code() {
            Some(c) if *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                FleetError::LoginRefused { target: self.target.clone(), detail }
            }
            _ if detail.contains("password missing") => FleetError::PasswordMissing { target: self.target.clone() },
            _ => FleetError::Connect { target: self.target.clone(), detail },
        }
    }

    /// Runs one call on the open connection (opening it first) within the call
    /// deadline. The call owns the connection while it runs and hands it back; a
    /// timeout drops it with the unfinished call (the server rolls back what was not
    /// committed), a broken one is dropped too, and the next call connects afresh.
    pub(crate) fn call<T, F, Fut>(&mut self, what: &'static str, body: F) -> Result<T, FleetError>
    where
        F: FnOnce(Live) -> Fut,
        Fut: Future<Output = (Live, Result<T, Fail>)>,
    {
        let deadline = self.options.call_timeout;
        self.call_within(what, deadline, body)
    }

    /// [`Fleet::call`] with another deadline.
    pub(crate) fn call_within<T, F, Fut>(
        &mut self,
        what: &'static str,
        deadline: Duration,
        body: F,
    ) -> Result<T, FleetError>
    where
        F: FnOnce(Live) -> Fut,
        Fut: Future<Output = (Live, Result<T, Fail>)>,
    {
        self.open()?;
        let Some(live) = self.live.take() else {
            return Err(FleetError::Connect { target: self.target.clone(), detail: "no connection".into() });
        };
        let outcome = self.rt.block_on(async { tokio::time::timeout(deadline, body(live)).await });
        match outcome {
            Ok((live, Ok(value))) => {
                self.live = Some(live);
                Ok(value)
            }
            Ok((live, Err(Fail::Fleet(e)))) => {
                self.live = Some(live);
                Err(e)
            }
            Ok((live, Err(Fail::Pg(e)))) => {
                let error = classify(e, &self.target, what);
                if !matches!(error, FleetError::ConnectionLost { .. }) && !live.client.is_closed() {
                    self.live = Some(live);
                }
                Err(error)
            }
            Err(_) => Err(FleetError::Timeout { target: self.target.clone(), what, after: deadline }),
        }
    }

    /// Creates the fleet schema or upgrades it to [`SCHEMA_VERSION`], and the group
    /// role `hallmark_station` with its grants. Idempotent; one transaction; refuses a
    /// schema newer than this build. Needs the database owner with CREATEROLE (or the
    /// role created beforehand).
    pub fn init(&mut self) -> Result<InitReport, FleetError> {
        self.init_up_to(SCHEMA_VERSION)
    }

    /// [`Fleet::init`] stopping at an older `version`: for tests of the upgrade path.
    #[doc(hidden)]
    pub fn init_up_to(&mut self, version: i32) -> Result<InitReport, FleetError> {
        self.call("initialising the fleet schema", |mut live| async move {
            let result = init_tx(&mut live, version).await;
            (live, result)
        })
    }

    /// Checks the whole fleet (`hallmark fleet verify`): every station's event and
    /// audit hash chains recomputed from the records as its own log computes them,
    /// its records numbered 1 to its high-water mark without a hole, every
    /// certificate's UID held by the same station in `fleet_uids` (unless a conflict
    /// explains it), and no open conflict. One read-only snapshot; a station role may
    /// run it. Its deadline is ten minutes or the call deadline, whichever is longer.
    /// `Err` only when it cannot run; what it finds is in the [`VerifyReport`].
    pub fn verify(&mut self) -> Result<VerifyReport, FleetError> {
        let deadline = self.report_deadline();
        let target = self.target.clone();
        self.call_within("verifying the fleet", deadline, |mut live| async move {
            let result = async {
                check_schema(&mut live).await?;
                let tx = snapshot(&mut live.client, Some(deadline)).await?;
                let report = verify_tx(&tx, &target).await?;
                tx.commit().await?;
                Ok::<_, Fail>(report)
            }
            .await;
            (live, result)
        })
    }

    /// The deadline of a report over the whole fleet (verify, QA statistics): ten
    /// minutes or the call deadline, whichever is longer.
    pub(crate) fn report_deadline(&self) -> Duration {
        self.options.call_timeout.max(Duration::from_secs(600))
    }

    /// The highest sequence number the fleet holds for `station` (0 if none): the
    /// station sends from the next one on, after a crash too.
    pub fn high_water(&mut self, station: &str) -> Result<i64, FleetError> {
        check_station(station)?;
        self.call("reading the high-water mark", |live| async move {
            let result = live
                .client
                .query_one("SELECT COALESCE(MAX(seq), 0) FROM hallmark.records WHERE station = $1", &[&station])
                .await
                .map(|row| row.get(0))
                .map_err(Fail::from);
            (live, result)
        })
    }

    /// Stores `records` of `station` in order, in one transaction, and fills the
    /// projections. Idempotent: records the fleet already holds are checked to be the
    /// same and skipped (no second alarm). Refuses a batch that does not continue
    /// what the fleet holds ([`FleetError::Gap`]) or rewrites it
    /// ([`FleetError::Diverged`]). Claims another station holds are not stored in the
    /// projections but reported in [`PushReport::conflicts`].
    pub fn push(&mut self, station: &str, records: &[OutboxRecord]) -> Result<PushReport, FleetError> {
        check_station(station)?;
        check_batch(station, records)?;
        let role = self.user.clone();
        self.call("storing records", |mut live| async move {
            let result = push_tx(&mut live, station, &role, records).await;
            (live, result)
        })
    }

    /// Connection, schema, how far `station` is, and the fleet's alarms. Never fails:
    /// what cannot be known is `None`, with the reason in `error`.
    pub fn status(&mut self, station: &str) -> FleetStatus {
        let mut status = FleetStatus::unanswered(&self.target, station, None);
        let asked = self.call("reading the fleet status", |live| async move {
            let result = status_query(&live, station).await;
            (live, result)
        });
        status.connected = self.is_connected();
        match asked {
            Ok(None) => status.error = Some(FleetError::NoSchema.to_string()),
            Ok(Some((version, high_water, stations, open, mine))) => {
                status.schema_version = version;
                status.high_water = Some(high_water);
                status.stations = Some(stations);
                status.open_conflicts = Some(open);
                status.station_open_conflicts = Some(mine);
                status.error = match version {
                    Some(found) if found > SCHEMA_VERSION => {
                        Some(FleetError::SchemaTooNew { found, supported: SCHEMA_VERSION }.to_string())
                    }
                    Some(found) if found < SCHEMA_VERSION => {
                        Some(FleetError::SchemaOutdated { found, supported: SCHEMA_VERSION }.to_string())
                    }
                    Some(_) => None,
                    None => Some(FleetError::NoSchema.to_string()),
                };
            }
            Err(e) => status.error = Some(e.to_string()),
        }
        status
    }
}

/// A read-only transaction that sees one snapshot of the whole fleet (repeatable
/// read), with `deadline` as its statement timeout when given (reports that may run
/// longer than a call).
pub(crate) async fn snapshot(
    client: &mut Client,
    deadline: Option<Duration>,
) -> Result<tokio_postgres::Transaction<'_>, tokio_postgres::Error> {
    let tx = client
        .build_transaction()
        .read_only(true)
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .start()
        .await?;
    if let Some(deadline) = deadline {
        tx.batch_execute(&format!("SET LOCAL statement_timeout = {}", deadline.as_millis())).await?;
    }
    Ok(tx)
}

/// The init transaction.
async fn init_tx(live: &mut Live, target: i32) -> Result<InitReport, Fail> {
    let tx = live.client.transaction().await?;
    // One init at a time per database.
    tx.batch_execute("SELECT pg_advisory_xact_lock(hashtextextended('hallmark.fleet_schema', 0))").await?;
    tx.batch_execute(BOOTSTRAP).await?;
    let found: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM hallmark.fleet_schema", &[]).await?.get(0);
    if found > SCHEMA_VERSION {
        return Err(FleetError::SchemaTooNew { found, supported: SCHEMA_VERSION }.into());
    }
    for version in found + 1..=target.min(SCHEMA_VERSION) {
        let Some(sql) = usize::try_from(version - 1).ok().and_then(|i| MIGRATIONS.get(i)) else {
            return Err(FleetError::SchemaOutdated { found, supported: SCHEMA_VERSION }.into());
        };
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO hallmark.fleet_schema (version, tool_version) VALUES ($1, $2)",
            &[&version, &env!("CARGO_PKG_VERSION")],
        )
        .await?;
    }
    tx.batch_execute(ROLES).await?;
    tx.commit().await?;
    live.schema_checked = false;
    Ok(InitReport { from_version: found, version: found.max(target.min(SCHEMA_VERSION)) })
}

/// Schema version, high water, stations, open alarms (fleet, this station); `None`
/// without a schema.
type StatusRow = (Option<i32>, i64, i64, i64, i64);

async fn status_query(live: &Live, station: &str) -> Result<Option<StatusRow>, Fail> {
    let exists: bool =
        live.client.query_one("SELECT to_regclass('hallmark.fleet_schema') IS NOT NULL", &[]).await?.get(0);
    if !exists {
        return Ok(None);
    }
    let row = live
        .client
        .query_one(
            "SELECT (SELECT MAX(version) FROM hallmark.fleet_schema),
                    (SELECT COALESCE(MAX(seq), 0) FROM hallmark.records WHERE station = $1),
                    (SELECT count(*) FROM hallmark.stations),
                    (SELECT count(*) FROM hallmark.fleet_conflicts WHERE resolved_at IS NULL),
                    (SELECT count(*) FROM hallmark.fleet_conflicts
                      WHERE resolved_at IS NULL AND (station = $1 OR holder_station = $1))",
            &[&station],
        )
        .await?;
    Ok(Some((row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))))
}

/// The push transaction.
/// Refuses a database without the schema this build needs (once per connection).
pub(crate) async fn check_schema(live: &mut Live) -> Result<(), Fail> {
    if !live.schema_checked {
        let found: Option<i32> =
            live.client.query_one("SELECT MAX(version) FROM hallmark.fleet_schema", &[]).await?.get(0);
        match found {
            None => return Err(FleetError::NoSchema.into()),
            Some(found) if found > SCHEMA_VERSION => {
                return Err(FleetError::SchemaTooNew { found, supported: SCHEMA_VERSION }.into())
            }
            Some(found) if found < SCHEMA_VERSION => {
                return Err(FleetError::SchemaOutdated { found, supported: SCHEMA_VERSION }.into())
            }
            Some(_) => live.schema_checked = true,
        }
    }
    Ok(())
}

/// The push transaction; `role` is the login role, named if the station id is
/// another role's.
async fn push_tx(live: &mut Live, station: &str, role: &str, records: &[OutboxRecord]) -> Result<PushReport, Fail> {
    check_schema(live).await?;
    let tx = live.client.transaction().await?;
    // One push per station at a time (two processes of one station, say).
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('hallmark.records:' || $1, 0))", &[&station]).await?;
    let held: i64 = tx
        .query_one("SELECT COALESCE(MAX(seq), 0) FROM hallmark.records WHERE station = $1", &[&station])
        .await?
        .get(0);
    let (Some(first), Some(last)) = (records.first(), records.last()) else {
        return Ok(PushReport {
            station: station.into(),
            inserted: 0,
            already_held: 0,
            high_water: held,
            conflicts: Vec::new(),
        });
    };
    let (first, last) = (first.seq, last.seq);
    if first > held + 1 {
        return Err(FleetError::Gap { station: station.into(), high_water: held, first }.into());
    }
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    let tables: Vec<&str> = records.iter().map(|r| r.table.as_str()).collect();
    let row_ids: Vec<i64> = records.iter().map(|r| r.row_id).collect();
    let bodies: Vec<&serde_json::Value> = records.iter().map(|r| &r.body).collect();
    if first <= held {
        let differs = tx
            .query_opt(
                "SELECT u.seq FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::jsonb[]) AS u(seq, tbl, row_id, body)
                   JOIN hallmark.records r ON r.station = $1 AND r.seq = u.seq
                  WHERE r.tbl <> u.tbl OR r.row_id <> u.row_id OR r.body <> u.body
                  ORDER BY u.seq LIMIT 1",
                &[&station, &seqs, &tables, &row_ids, &bodies],
            )
            .await?;
        if let Some(row) = differs {
            return Err(FleetError::Diverged { station: station.into(), seq: row.get(0) }.into());
        }
    }
    let inserted = tx
        .execute(
            "INSERT INTO hallmark.records (station, seq, tbl, row_id, body)
             SELECT $1, u.seq, u.tbl, u.row_id, u.body
               FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::jsonb[]) AS u(seq, tbl, row_id, body)
              ORDER BY u.seq
             ON CONFLICT (station, seq) DO NOTHING",
            &[&station, &seqs, &tables, &row_ids, &bodies],
        )
        .await
        .map_err(|e| station_taken(e, station, role))?;
    let conflicts = tx
        .query(
            "SELECT what, value, seq, holder_station, holder_seq FROM hallmark.fleet_conflicts
              WHERE station = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq, id",
            &[&station, &first, &last],
        )
        .await?
        .iter()
        .map(|r| Conflict {
            what: r.get(0),
            value: r.get(1),
            seq: r.get(2),
            holder_station: r.get(3),
            holder_seq: r.get(4),
        })
        .collect();
    tx.commit().await?;
    Ok(PushReport {
        station: station.into(),
        inserted,
        already_held: records.len() as u64 - inserted,
        high_water: held.max(last),
        conflicts,
    })
}

/// The server's refusal of a station id another role holds, in words; any other
/// failure as it is.
pub(crate) fn station_taken(e: tokio_postgres::Error, station: &str, role: &str) -> Fail {
    match e.as_db_error() {
        Some(db) if db.code().code() == STATION_TAKEN => Fail::Fleet(FleetError::StationTaken {
            station: station.into(),
            holder: db.detail().unwrap_or("another role").to_string(),
            role: role.into(),
        }),
        _ => Fail::Pg(e),
    }
}

/// A station id the fleet can key records by.
pub(crate) fn check_station(station: &str) -> Result<(), FleetError> {
    let why = if station.trim().is_empty() {
        "the station id is empty; set the station's name in its configuration"
    } else if station.chars().count() > 200 {
        "the station id is longer than 200 characters"
    } else if station.chars().any(char::is_control) {
        "the station id holds control characters"
    } else {
        return Ok(());
    };
    Err(FleetError::BadBatch { station: station.into(), why: why.into() })
}

/// A batch numbered 1, 2, 3, ... without holes, each record a JSON object PostgreSQL
/// can store.
fn check_batch(station: &str, records: &[OutboxRecord]) -> Result<(), FleetError> {
    let bad = |why: String| FleetError::BadBatch { station: station.into(), why };
    let Some(first) = records.first() else { return Ok(()) };
    if first.seq < 1 {
        return Err(bad(format!("sequence numbers start at 1, this batch at {}", first.seq)));
    }
    for (i, pair) in records.windows(2).enumerate() {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(bad(format!(
                "record {} follows record {} (position {}); a batch must be consecutive",
                pair[1].seq,
                pair[0].seq,
                i + 1
            )));
        }
    }
    for r in records {
        if r.table.is_empty() {
            return Err(bad(format!("record {} names no table", r.seq)));
        }
        if !r.body.is_object() {
            return Err(bad(format!("record {} ({} row {}) is not a JSON object", r.seq, r.table, r.row_id)));
        }
        if holds_nul(&r.body) {
            return Err(bad(format!(
                "record {} ({} row {}) holds a NUL character, which PostgreSQL cannot store",
                r.seq, r.table, r.row_id
            )));
        }
    }
    Ok(())
}

fn holds_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(holds_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(seq: i64) -> OutboxRecord {
        OutboxRecord { seq, table: "runs".into(), row_id: seq, body: json!({"id": seq}) }
    }

    #[test]
    fn batches_must_be_consecutive_objects() {
        assert!(check_batch("s", &[]).is_ok());
        assert!(check_batch("s", &[rec(3), rec(4), rec(5)]).is_ok());
        let e = check_batch("s", &[rec(3), rec(5)]).unwrap_err().to_string();
        assert!(e.contains("consecutive"), "{e}");
        let e = check_batch("s", &[rec(0)]).unwrap_err().to_string();
        assert!(e.contains("start at 1"), "{e}");
        let mut r = rec(1);
        r.body = json!([1]);
        assert!(check_batch("s", &[r]).unwrap_err().to_string().contains("not a JSON object"));
        let mut r = rec(1);
        r.body = json!({"detail": {"x": ["a\u{0}b"]}});
        assert!(check_batch("s", &[r]).unwrap_err().to_string().contains("NUL"));
    }

    #[test]
    fn station_ids_are_checked() {
        assert!(check_station("bench-1").is_ok());
        assert!(check_station(" ").is_err());
        assert!(check_station("a\nb").is_err());
    }

    #[test]
    fn a_fleet_connection_can_move_to_the_sync_thread() {
        fn send<T: Send>() {}
        send::<Fleet>();
        send::<FleetError>();
    }

    #[test]
    fn every_version_has_its_migration() {
        assert_eq!(MIGRATIONS.len(), SCHEMA_VERSION as usize);
        assert!(MIGRATIONS[2].contains(&format!("ERRCODE = '{}'", crate::schema::STEM_EXHAUSTED)));
        assert!(MIGRATIONS[3].contains(&format!("ERRCODE = '{}'", crate::schema::NOTHING_TO_REVOKE)));
        assert!(MIGRATIONS[1].contains(&format!("ERRCODE = '{STATION_TAKEN}'")));
    }

    #[test]
    fn messages_say_what_to_do() {
        let gap = FleetError::Gap { station: "b1".into(), high_water: 10, first: 15 }.to_string();
        assert!(gap.contains("records 11 to 14 are missing; send from 11 on"), "{gap}");
        let t = FleetError::Timeout {
            target: "u@h:1/d".into(),
            what: "storing records",
            after: Duration::from_millis(1500),
        };
        assert!(t.to_string().contains("within 1.5 s"), "{t}");
    }
}
