//! The fleet store: every station's log in one PostgreSQL database (issue #17).
//!
//! The local SQLite log stays each station's source of truth; with a fleet configured
//! it lists every new row in its outbox ([`hallmark_store::OutboxRecord`]) and a
//! background sync hands them to [`Fleet::push`] in order. The server keeps them as
//! received in `hallmark.records` (keyed by station and sequence number, so a retry
//! never makes a duplicate) and, in the same transaction, fills typed projections
//! with fleet-wide unique constraints (UID, hardware id per dialect, certificate
//! serial and fingerprint, public key). A claim another station already holds is
//! never written over: it becomes an alarm row in `hallmark.fleet_conflicts` and is
//! reported in the [`PushReport`].
//!
//! The API is blocking (the station calls it from its sync thread) and every call has
//! a hard deadline ([`FleetOptions`]): a server that stops answering makes a call fail
//! with [`FleetError::Timeout`], never hang. A lost connection is opened again by the
//! next call.
//!
//! # Connecting
//!
//! The station configuration names the server as `postgresql://USER@HOST:PORT/DB`.
//! The password is never in the URL nor in the TOML: [`fleet_password`] takes it from
//! `HALLMARK_FLEET_PASSWORD`, else from the pgpass file (`PGPASSFILE` or
//! `~/.pgpass`, lines `host:port:database:user:password`, `*` matching anything, `\:`
//! and `\\` escapes, readable by its owner only). TLS with certificate verification:
//! `?sslmode=verify-full&sslrootcert=/path/to/ca.pem` (the server's certificate must
//! chain to that CA and name the URL's host); without `sslmode` the connection is
//! plain, and other modes are refused.
//!
//! # The schema, roles and grants
//!
//! [`Fleet::init`] (`hallmark fleet init`) creates or upgrades the schema `hallmark`
//! (version in `hallmark.fleet_schema`; a database newer than this build is refused)
//! and the group role `hallmark_station` (NOLOGIN). Run it as the database owner with
//! the right to create roles (`CREATEROLE`), or create the group role beforehand. The
//! group may read every fleet table and insert into `hallmark.records`, nothing more:
//! no UPDATE, DELETE or TRUNCATE anywhere, no direct writes to the projections (they
//! are filled by a trigger owned by the administrator, so a station cannot bypass the
//! conflict checks). `hallmark.records` also refuses UPDATE, DELETE and TRUNCATE by
//! trigger, even from its owner.
//!
//! An administrator gives each station its own login role in that group:
//!
//! ```sql
//! CREATE ROLE station_a LOGIN PASSWORD 'a long random password' IN ROLE hallmark_station;
//! ```
//!
//! and puts `postgresql://station_a@fleet-db:5432/hallmark` in that station's
//! configuration and the password in its `HALLMARK_FLEET_PASSWORD` or pgpass file.
//! Taking a station out of service: `ALTER ROLE station_a NOLOGIN;` (its rows stay).
//!
//! A station id belongs to the role that first pushed records under it
//! (`hallmark.stations.role`, schema version 2): the server refuses records under that
//! id from any other role, and [`Fleet::push`] reports it as
//! [`FleetError::StationTaken`]. Each station needs its own role and station id.
//!
//! # UID numbers and claims
//!
//! Under the `sequence` scheme a station numbers boards only from counter blocks the
//! fleet leased to it ([`Fleet::lease_uid_block`], schema version 3), so two stations
//! never hand out one UID. Before signing, a station asks [`Fleet::claims`] whether
//! another station already holds the board's hardware id or its UID.
//!
//! # Revocation from anywhere
//!
//! Any station queues a revocation for a certificate the fleet holds
//! ([`Fleet::request_revocation`], schema version 4); the station that issued it
//! finds it in [`Fleet::open_revocations`], revokes with its own key, publishes its
//! CRL and marks the request with [`Fleet::complete_revocation`]. Until then the
//! request is open, and shown as pending.
//!
//! # QA across the fleet
//!
//! [`Fleet::for_each_run`], [`Fleet::statistics`] and [`Fleet::onboarding`] answer
//! the local log's QA queries (`hallmark log export|history|stats|onboarding
//! --fleet`) over every station's synced runs, with the same filters
//! ([`hallmark_store::RunFilter`]) and record types, and each station's yield
//! ([`StationYield`]); how they differ from one log's answers is in `qa.rs`.
//!
//! # Verifying
//!
//! [`Fleet::verify`] (`hallmark fleet verify`) recomputes every station's hash chains
//! from the records, checks that no record number is missing and cross-checks the
//! projections; see [`VerifyReport`].

mod client;
mod error;
mod leases;
mod password;
mod published;
mod qa;
mod revocations;
mod schema;
mod tls;
mod url;
mod verify;

pub use client::{Conflict, Fleet, FleetOptions, FleetStatus, InitReport, PushReport};
pub use error::FleetError;
pub use hallmark_store::OutboxRecord;
pub use leases::{FleetClaim, UidBlock};
pub use password::fleet_password;
pub use published::{Published, StationCa, StationCrl};
pub use qa::{FleetStatistics, StationYield};
pub use revocations::RevocationRequest;
pub use schema::{SCHEMA_VERSION, STATION_ROLE};
pub use url::FleetUrl;
pub use verify::{BadRow, StationCheck, VerifyReport};
