use std::time::Duration;
use thiserror::Error;

/// Why a fleet call failed; each message says what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The configured URL cannot be used.
    #[error("the fleet URL {url:?} cannot be used: {why}; write it as postgresql://USER@HOST:PORT/DB")]
    Url {
        /// The URL as configured (never holds a password: such URLs are refused first).
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The URL carries a password.
    #[error("the fleet URL carries a password; take it out of the URL and the configuration, and give it in HALLMARK_FLEET_PASSWORD or a pgpass file instead")]
    PasswordInUrl,
    /// The pgpass file exists but cannot be used.
    #[error("the password file {path} cannot be used: {why}")]
    PasswordFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// A TLS mode other than none or `verify-full`.
    #[error("sslmode={mode} is not supported for the fleet connection: use sslmode=verify-full with sslrootcert=CA-FILE (the server's certificate is verified), or leave sslmode out for a plain connection")]
    TlsMode {
        /// The mode asked for.
        mode: String,
    },
    /// The CA file for `verify-full` cannot be used.
    #[error("the CA file {path} for the fleet connection cannot be used: {why}; point sslrootcert at the PEM file of the CA that signed the fleet server's certificate")]
    TlsCa {
        /// The file.
        path: String,
        /// What is wrong with it.
        why: String,
    },
    /// The server asks for a password and none was given.
    #[error("the fleet server {target} asks for a password: set HALLMARK_FLEET_PASSWORD or add a line for it to the pgpass file (PGPASSFILE or ~/.pgpass)")]
    PasswordMissing {
        /// `USER@HOST:PORT/DB`.
        target: String,
    },
    /// The server refused the login.
    #[error("the fleet server {target} refused the login: {detail}; check the user name in the URL and the password in HALLMARK_FLEET_PASSWORD or the pgpass file")]
    LoginRefused {
        /// `USER@HOST:PORT/DB`.
        target: String,
        /// The server's words.
        detail: String,
    },
    /// No connection could be made.
    #[error("cannot connect to the fleet server {target}: {detail}; check that it runs and that this station reaches it (the station keeps working locally and retries)")]
    Connect {
        /// `USER@HOST:PORT/DB`.
        target: String,
        /// The cause.
        detail: String,
    },
    /// The server did not answer in time; the connection is dropped and opened again
    /// by the next call.
    #[error("the fleet server {target} did not answer {what} within {} s; check the network and the server (the station keeps working locally and retries)", .after.as_secs_f64())]
    Timeout {
        /// `USER@HOST:PORT/DB`.
        target: String,
        /// The call.
        what: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// The connection broke during a call; nothing of an unfinished push was kept.
    #[error("the connection to the fleet server {target} was lost while {what}: {detail}; the station keeps working locally and retries")]
    ConnectionLost {
        /// `USER@HOST:PORT/DB`.
        target: String,
        /// The call.
        what: &'static str,
        /// The cause.
        detail: String,
    },
    /// The database role lacks a privilege.
    #[error("the fleet server refused {what}: permission denied ({detail}); a station's role must be a member of hallmark_station, and `hallmark fleet init` needs the database owner with CREATEROLE")]
    PermissionDenied {
        /// The call.
        what: &'static str,
        /// The server's words.
        detail: String,
    },
    /// The database has no fleet schema yet.
    #[error("the fleet database has no Hallmark schema yet; run `hallmark fleet init` with an administrator role")]
    NoSchema,
    /// The database's schema is newer than this build.
    #[error("the fleet schema is version {found}, newer than this Hallmark knows ({supported}); update Hallmark on this station before using this fleet")]
    SchemaTooNew {
        /// Version in the database.
        found: i32,
        /// Newest version this build knows.
        supported: i32,
    },
    /// The database's schema is older than this build.
    #[error("the fleet schema is version {found}, this Hallmark needs version {supported}; run `hallmark fleet init` to upgrade it")]
    SchemaOutdated {
        /// Version in the database.
        found: i32,
        /// Version this build needs.
        supported: i32,
    },
    /// The batch does not continue what the fleet holds.
    #[error("the fleet holds records of station {station} up to {high_water}, but this batch starts at {first}: {}; send from {} on", missing(*.high_water, *.first), .high_water + 1)]
    Gap {
        /// The station.
        station: String,
        /// Highest sequence number the fleet holds.
        high_water: i64,
        /// First of the batch.
        first: i64,
    },
    /// A record differs from the one the fleet already holds under its number.
    #[error("record {seq} of station {station} differs from the one the fleet already holds under that number: this station's log was replaced or reset; stop its sync and ask QA (the fleet keeps the first version)")]
    Diverged {
        /// The station.
        station: String,
        /// The record.
        seq: i64,
    },
    /// Another database role already pushed records under this station id; the server
    /// stored nothing of the batch.
    #[error("the fleet refused the records of station {station}: that station id belongs to database role {holder}, and this station logs in as {role}; each station needs its own role and station id: give this station a station id of its own, or, if it replaces {station} under a new role, have the fleet administrator move the id (UPDATE hallmark.stations SET role = '{role}' WHERE station = '{station}')")]
    StationTaken {
        /// The station id.
        station: String,
        /// The role the fleet bound it to.
        holder: String,
        /// The role this connection logs in as.
        role: String,
    },
    /// Every counter of a UID stem is leased: the `sequence` scheme has no number left.
    #[error("the fleet has leased every counter of the UID stem {stem:?} (up to {top}): no station can number more boards with it; the line engineer must widen the counter ([uid] width) or change the prefix or date part")]
    StemExhausted {
        /// Prefix and date part.
        stem: String,
        /// The highest counter the width allows.
        top: i64,
    },
    /// A revocation named nothing the fleet holds unrevoked.
    #[error("the fleet holds no unrevoked certificate for {target:?}: check the UID or serial (hallmark log history UID --fleet), or wait until the station that issued it has synced")]
    NothingToRevoke {
        /// The UID or serial asked for.
        target: String,
    },
    /// The batch itself is malformed (a bug in the caller, not a network problem).
    #[error("the batch for station {station:?} cannot be sent: {why}")]
    BadBatch {
        /// The station.
        station: String,
        /// What is wrong.
        why: String,
    },
    /// Two transactions got in each other's way (two stations claiming the same values
    /// in different orders at the same moment); nothing was stored.
    #[error("the fleet server asked to retry {what} ({detail}); nothing was stored and the station retries")]
    Retry {
        /// The call.
        what: &'static str,
        /// The server's words.
        detail: String,
    },
    /// The server refused a statement for another reason.
    #[error("the fleet server refused {what}: {detail}")]
    Server {
        /// The call.
        what: &'static str,
        /// The server's words.
        detail: String,
    },
    /// The runtime for the connection could not be started.
    #[error("cannot start the fleet connection's runtime: {0}; the machine is out of threads or file descriptors")]
    Runtime(#[source] std::io::Error),
}

/// "record 5 is missing" / "records 5 to 9 are missing".
fn missing(high_water: i64, first: i64) -> String {
    if first - 1 == high_water + 1 {
        format!("record {} is missing", high_water + 1)
    } else {
        format!("records {} to {} are missing", high_water + 1, first - 1)
    }
}

/// The error and its causes in words (tokio-postgres prints only its kind at the top).
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(detail) = db.detail() {
            s.push_str(" (");
            s.push_str(detail);
            s.push(')');
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// Sorts a failed statement into what the user can act on.
pub(crate) fn classify(e: tokio_postgres::Error, target: &str, what: &'static str) -> FleetError {
    use tokio_postgres::error::SqlState;
    let detail = describe(&e);
    match e.code() {
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => FleetError::PermissionDenied { what, detail },
        Some(c) if *c == SqlState::UNDEFINED_TABLE || *c == SqlState::INVALID_SCHEMA_NAME => FleetError::NoSchema,
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE => {
            FleetError::Retry { what, detail }
        }
        Some(c) if *c == SqlState::ADMIN_SHUTDOWN || *c == SqlState::CRASH_SHUTDOWN => {
            FleetError::ConnectionLost { target: target.into(), what, detail }
        }
        Some(_) => FleetError::Server { what, detail },
        None => FleetError::ConnectionLost { target: target.into(), what, detail },
    }
}
