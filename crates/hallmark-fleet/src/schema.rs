//! The fleet schema in PostgreSQL: migrations keyed by `hallmark.fleet_schema`, the
//! projection trigger, and the station group role with its grants.
//!
//! Everything lives in the schema `hallmark`. `records` holds what stations sent, as
//! received; an AFTER INSERT trigger (running as the schema's owner, so stations need
//! no rights on the projections) fills the typed projections in the same transaction
//! and writes an alarm to `fleet_conflicts` instead of any claim another station
//! already holds. The trigger fires only for rows really inserted, so a retried batch
//! (`ON CONFLICT (station, seq) DO NOTHING`) raises no second alarm.
//!
//! Version 2 binds each station id to the database role that first pushed records
//! under it (`stations.role`, from `session_user`): a BEFORE INSERT trigger, running
//! as the owner, refuses records under a station id another role holds
//! ([`STATION_TAKEN`]), so one station's login cannot write in another's name.
//!
//! Version 3 hands out UID counters under the `sequence` scheme in blocks
//! (`uid_blocks`) through `lease_uid_block`, a function running as the owner: it
//! serialises leases per stem with an advisory lock, starts after every block leased
//! and every counter a synced UID of that stem already uses, and binds the station id
//! to the caller's role as a push does. Stations cannot write `uid_blocks` directly.
//!
//! Version 4 queues revocations centrally (`revocation_requests`): any station may
//! ask, through `request_revocation`, for a certificate the fleet knows to be revoked;
//! only the station that issued it (it holds the key) marks the request carried out,
//! through `complete_revocation`, with the number of the CRL that lists it.
//!
//! Version 5 serves QA across the fleet (`qa.rs`): the UID and hardware id of each
//! run's *result* kept apart from what identification found (the local log's filters
//! and yields read the result's), filled by a second trigger on `run_results` records
//! that fires after the projection's; the order QA lists runs and certificates in
//! (start or issue time, station, row) as indexes in byte order (`COLLATE "C"`, as
//! the stations' SQLite compares text); and the events of a run found by its run id.

/// The schema version this build creates and needs.
pub const SCHEMA_VERSION: i32 = 5;

/// The group role stations log in through (NOLOGIN itself).
pub const STATION_ROLE: &str = "hallmark_station";

/// The SQLSTATE the server raises for records under a station id another role holds;
/// its DETAIL is the holding role.
pub(crate) const STATION_TAKEN: &str = "HMS01";

/// The SQLSTATE the server raises when every counter of a stem is leased; its DETAIL
/// is the highest counter.
pub(crate) const STEM_EXHAUSTED: &str = "HMS02";

/// The SQLSTATE the server raises when a revocation names no certificate the fleet
/// holds unrevoked.
pub(crate) const NOTHING_TO_REVOKE: &str = "HMS03";

/// Created before the migrations, so the version can be read.
pub(crate) const BOOTSTRAP: &str = r#"
CREATE SCHEMA IF NOT EXISTS hallmark;
CREATE TABLE IF NOT EXISTS hallmark.fleet_schema (
    version      integer PRIMARY KEY,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    tool_version text NOT NULL
);
"#;

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// Version 1: records, stations, the projections, conflicts, the trigger.
const V1: &str = r#"
CREATE TABLE hallmark.stations (
    station    text PRIMARY KEY,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL
);

-- What the stations sent, as received: one row per row of a station's local log.
CREATE TABLE hallmark.records (
    station     text NOT NULL CHECK (station <> ''),
    seq         bigint NOT NULL CHECK (seq >= 1),
    tbl         text NOT NULL,
    row_id      bigint NOT NULL,
    body        jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, seq)
);
CREATE INDEX records_row ON hallmark.records (station, tbl, row_id);

-- Projections. Times are the stations' own RFC 3339 text, as in their local logs.
-- (station, seq) names the record a row came from.
CREATE TABLE hallmark.fleet_runs (
    station          text NOT NULL,
    run_id           bigint NOT NULL,
    run_uuid         text,
    started_at       text,
    slot             text,
    port             text,
    operator         text,
    tool_version     text,
    config_hash      text,
    dialect          text,
    uid              text,
    hardware_id      text,
    model            text,
    firmware_version text,
    ended_at         text,
    outcome          text,
    failing_step     text,
    failure_code     text,
    failure_message  text,
    duration_us      bigint,
    PRIMARY KEY (station, run_id)
);
CREATE INDEX fleet_runs_started ON hallmark.fleet_runs (started_at);
CREATE INDEX fleet_runs_outcome ON hallmark.fleet_runs (outcome, started_at);
CREATE INDEX fleet_runs_uid ON hallmark.fleet_runs (uid);
CREATE INDEX fleet_runs_hardware ON hallmark.fleet_runs (hardware_id);
CREATE INDEX fleet_runs_step ON hallmark.fleet_runs (failing_step);
CREATE INDEX fleet_runs_uuid ON hallmark.fleet_runs (run_uuid);

CREATE TABLE hallmark.fleet_uids (
    uid         text PRIMARY KEY,
    station     text NOT NULL,
    seq         bigint NOT NULL,
    hardware_id text NOT NULL,
    dialect     text NOT NULL,
    scheme      text,
    run_id      bigint,
    assigned_at text
);
CREATE INDEX fleet_uids_station ON hallmark.fleet_uids (station);

-- A hardware id is unique per dialect ('' when the station's log names none).
CREATE TABLE hallmark.fleet_hardware_ids (
    dialect     text NOT NULL,
    hardware_id text NOT NULL,
    uid         text NOT NULL,
    station     text NOT NULL,
    seq         bigint NOT NULL,
    PRIMARY KEY (dialect, hardware_id)
);

CREATE TABLE hallmark.fleet_certificates (
    serial      text PRIMARY KEY,
    fingerprint text NOT NULL UNIQUE,
    uid         text NOT NULL,
    station     text NOT NULL,
    seq         bigint NOT NULL,
    row_id      bigint NOT NULL,
    run_id      bigint,
    not_before  text,
    not_after   text,
    issued_at   text
);
CREATE INDEX fleet_certificates_uid ON hallmark.fleet_certificates (uid);
CREATE INDEX fleet_certificates_station ON hallmark.fleet_certificates (station);

CREATE TABLE hallmark.fleet_public_keys (
    key_sha256 text PRIMARY KEY,
    uid        text NOT NULL,
    station    text NOT NULL,
    seq        bigint NOT NULL,
    run_id     bigint,
    bound_at   text
);

CREATE TABLE hallmark.fleet_revocations (
    serial     text PRIMARY KEY,
    station    text NOT NULL,
    seq        bigint NOT NULL,
    reason     text,
    revoked_at text
);

-- Alarms: a record (station, seq) claimed what another record (holder_station,
-- holder_seq) holds. Open until an administrator resolves it.
CREATE TABLE hallmark.fleet_conflicts (
    id             bigserial PRIMARY KEY,
    what           text NOT NULL,
    value          text NOT NULL,
    station        text NOT NULL,
    seq            bigint NOT NULL,
    holder_station text,
    holder_seq     bigint,
    at             timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    resolution     text,
    UNIQUE (station, seq, what)
);
CREATE INDEX fleet_conflicts_open ON hallmark.fleet_conflicts (id) WHERE resolved_at IS NULL;

CREATE FUNCTION hallmark.json_bigint(v jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'number' AND v::text ~ '^-?[0-9]{1,18}$' THEN v::text::bigint END
$$;

CREATE FUNCTION hallmark.records_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'hallmark.records is append-only: stations'' records are never changed or removed'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON hallmark.records
    FOR EACH ROW EXECUTE FUNCTION hallmark.records_append_only();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON hallmark.records
    FOR EACH STATEMENT EXECUTE FUNCTION hallmark.records_append_only();

CREATE FUNCTION hallmark.project_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    b jsonb := NEW.body;
    v_run bigint;
    v_uid text;
    v_hw text;
    v_dialect text;
    v_serial text;
    v_fp text;
    v_key text;
    v_detail jsonb;
    h record;
    clash boolean := false;
    new_uid boolean;
    new_hw boolean;
BEGIN
    INSERT INTO hallmark.stations AS s (station, first_seen, last_seen)
    VALUES (NEW.station, NEW.received_at, NEW.received_at)
    ON CONFLICT (station) DO UPDATE SET last_seen = EXCLUDED.last_seen WHERE s.last_seen < EXCLUDED.last_seen;

    IF NEW.tbl = 'runs' THEN
        INSERT INTO hallmark.fleet_runs AS f (station, run_id, run_uuid, started_at, slot, port, operator,
                                              tool_version, config_hash)
        VALUES (NEW.station, NEW.row_id, b->>'run_uuid', b->>'started_at', b->>'slot', b->>'port', b->>'operator',
                b->>'tool_version', b->>'config_hash')
        ON CONFLICT (station, run_id) DO UPDATE SET
            run_uuid = EXCLUDED.run_uuid, started_at = EXCLUDED.started_at, slot = EXCLUDED.slot,
            port = EXCLUDED.port, operator = EXCLUDED.operator, tool_version = EXCLUDED.tool_version,
            config_hash = EXCLUDED.config_hash;

    ELSIF NEW.tbl = 'events' THEN
        -- The dialect a run spoke, from its identification: hardware ids are unique per dialect.
        v_run := hallmark.json_bigint(b->'run_id');
        IF v_run IS NOT NULL AND b->>'step' = 'identify' AND b->>'phase' = 'end'
           AND position('"dialect"' IN coalesce(b->>'detail', '')) > 0 THEN
            BEGIN
                v_detail := (b->>'detail')::jsonb;
            EXCEPTION WHEN others THEN
                v_detail := NULL;
            END;
            IF jsonb_typeof(v_detail->'dialect') = 'string' THEN
                INSERT INTO hallmark.fleet_runs AS f (station, run_id, dialect)
                VALUES (NEW.station, v_run, v_detail->>'dialect')
                ON CONFLICT (station, run_id) DO UPDATE SET dialect = EXCLUDED.dialect;
            END IF;
        END IF;

    ELSIF NEW.tbl = 'run_identity' THEN
        v_run := coalesce(hallmark.json_bigint(b->'run_id'), NEW.row_id);
        INSERT INTO hallmark.fleet_runs AS f (station, run_id, uid, hardware_id, model, firmware_version)
        VALUES (NEW.station, v_run, b->>'uid', b->>'hardware_id', b->>'model', b->>'firmware_version')
        ON CONFLICT (station, run_id) DO UPDATE SET
            uid = coalesce(EXCLUDED.uid, f.uid), hardware_id = coalesce(EXCLUDED.hardware_id, f.hardware_id),
            model = coalesce(EXCLUDED.model, f.model),
            firmware_version = coalesce(EXCLUDED.firmware_version, f.firmware_version);

    ELSIF NEW.tbl = 'run_results' THEN
        v_run := coalesce(hallmark.json_bigint(b->'run_id'), NEW.row_id);
        INSERT INTO hallmark.fleet_runs AS f (station, run_id, ended_at, outcome, uid, hardware_id, model,
                                              firmware_version, failing_step, failure_code, failure_message,
                                              duration_us)
        VALUES (NEW.station, v_run, b->>'ended_at', b->>'outcome', b->>'uid', b->>'hardware_id', b->>'model',
                b->>'firmware_version', b->>'failing_step', b->>'failure_code', b->>'failure_message',
                hallmark.json_bigint(b->'duration_us'))
        ON CONFLICT (station, run_id) DO UPDATE SET
            ended_at = EXCLUDED.ended_at, outcome = EXCLUDED.outcome,
            uid = coalesce(EXCLUDED.uid, f.uid), hardware_id = coalesce(EXCLUDED.hardware_id, f.hardware_id),
            model = coalesce(EXCLUDED.model, f.model),
            firmware_version = coalesce(EXCLUDED.firmware_version, f.firmware_version),
            failing_step = EXCLUDED.failing_step, failure_code = EXCLUDED.failure_code,
            failure_message = EXCLUDED.failure_message, duration_us = EXCLUDED.duration_us;

    ELSIF NEW.tbl = 'uids' THEN
        v_uid := b->>'uid';
        v_hw := b->>'hardware_id';
        v_run := hallmark.json_bigint(b->'run_id');
        IF v_uid IS NULL OR v_hw IS NULL THEN
            INSERT INTO hallmark.fleet_conflicts (what, value, station, seq)
            VALUES ('malformed', 'uids row without uid or hardware_id', NEW.station, NEW.seq)
            ON CONFLICT (station, seq, what) DO NOTHING;
            RETURN NULL;
        END IF;
        v_dialect := coalesce(b->>'dialect',
                              (SELECT f.dialect FROM hallmark.fleet_runs f WHERE f.station = NEW.station AND f.run_id = v_run),
                              '');
        -- Insert first, then look: a concurrent claim waits on the unique index and is
        -- then seen here, never dropped in silence.
        INSERT INTO hallmark.fleet_uids (uid, station, seq, hardware_id, dialect, scheme, run_id, assigned_at)
        VALUES (v_uid, NEW.station, NEW.seq, v_hw, v_dialect, b->>'scheme', v_run, b->>'assigned_at')
        ON CONFLICT (uid) DO NOTHING;
        new_uid := FOUND;
        INSERT INTO hallmark.fleet_hardware_ids (dialect, hardware_id, uid, station, seq)
        VALUES (v_dialect, v_hw, v_uid, NEW.station, NEW.seq)
        ON CONFLICT (dialect, hardware_id) DO NOTHING;
        new_hw := FOUND;
        IF NOT new_uid THEN
            SELECT u.station, u.seq, u.hardware_id INTO h FROM hallmark.fleet_uids u WHERE u.uid = v_uid;
            IF h.station <> NEW.station OR h.hardware_id <> v_hw THEN
                INSERT INTO hallmark.fleet_conflicts (what, value, station, seq, holder_station, holder_seq)
                VALUES ('uid', v_uid, NEW.station, NEW.seq, h.station, h.seq)
                ON CONFLICT (station, seq, what) DO NOTHING;
                clash := true;
            END IF;
        END IF;
        IF NOT new_hw THEN
            SELECT x.station, x.seq, x.uid INTO h FROM hallmark.fleet_hardware_ids x
             WHERE x.dialect = v_dialect AND x.hardware_id = v_hw;
            IF h.station <> NEW.station OR h.uid <> v_uid THEN
                INSERT INTO hallmark.fleet_conflicts (what, value, station, seq, holder_station, holder_seq)
                VALUES ('hardware_id', v_hw, NEW.station, NEW.seq, h.station, h.seq)
                ON CONFLICT (station, seq, what) DO NOTHING;
                clash := true;
            END IF;
        END IF;
        -- A claim is taken whole or not at all.
        IF clash AND new_uid THEN
            DELETE FROM hallmark.fleet_uids u WHERE u.uid = v_uid AND u.station = NEW.station AND u.seq = NEW.seq;
        END IF;
        IF clash AND new_hw THEN
            DELETE FROM hallmark.fleet_hardware_ids x
             WHERE x.dialect = v_dialect AND x.hardware_id = v_hw AND x.station = NEW.station AND x.seq = NEW.seq;
        END IF;

    ELSIF NEW.tbl = 'certificates' THEN
        v_serial := b->>'serial';
        v_fp := b->>'fingerprint';
        v_uid := b->>'uid';
        IF v_serial IS NULL OR v_fp IS NULL OR v_uid IS NULL THEN
            INSERT INTO hallmark.fleet_conflicts (what, value, station, seq)
            VALUES ('malformed', 'certificates row without serial, fingerprint or uid', NEW.station, NEW.seq)
            ON CONFLICT (station, seq, what) DO NOTHING;
            RETURN NULL;
        END IF;
        INSERT INTO hallmark.fleet_certificates (serial, fingerprint, uid, station, seq, row_id, run_id,
                                                 not_before, not_after, issued_at)
        VALUES (v_serial, v_fp, v_uid, NEW.station, NEW.seq, NEW.row_id, hallmark.json_bigint(b->'run_id'),
                b->>'not_before', b->>'not_after', b->>'issued_at')
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            FOR h IN SELECT 'serial' AS what, v_serial AS value, c.station, c.seq, c.row_id
                       FROM hallmark.fleet_certificates c WHERE c.serial = v_serial
                     UNION ALL
                     SELECT 'fingerprint', v_fp, c.station, c.seq, c.row_id
                       FROM hallmark.fleet_certificates c WHERE c.fingerprint = v_fp
            LOOP
                IF h.station <> NEW.station OR h.row_id <> NEW.row_id THEN
                    INSERT INTO hallmark.fleet_conflicts (what, value, station, seq, holder_station, holder_seq)
                    VALUES (h.what, h.value, NEW.station, NEW.seq, h.station, h.seq)
                    ON CONFLICT (station, seq, what) DO NOTHING;
                END IF;
            END LOOP;
        ELSE
            -- The certificate exists whatever the fleet says; an alarm if its UID is another station's.
            SELECT u.station, u.seq INTO h FROM hallmark.fleet_uids u WHERE u.uid = v_uid;
            IF FOUND AND h.station <> NEW.station THEN
                INSERT INTO hallmark.fleet_conflicts (what, value, station, seq, holder_station, holder_seq)
                VALUES ('certificate_uid', v_uid, NEW.station, NEW.seq, h.station, h.seq)
                ON CONFLICT (station, seq, what) DO NOTHING;
            END IF;
        END IF;

    ELSIF NEW.tbl = 'public_keys' THEN
        v_key := b->>'key_sha256';
        v_uid := b->>'uid';
        IF v_key IS NULL OR v_uid IS NULL THEN
            INSERT INTO hallmark.fleet_conflicts (what, value, station, seq)
            VALUES ('malformed', 'public_keys row without key_sha256 or uid', NEW.station, NEW.seq)
            ON CONFLICT (station, seq, what) DO NOTHING;
            RETURN NULL;
        END IF;
        INSERT INTO hallmark.fleet_public_keys (key_sha256, uid, station, seq, run_id, bound_at)
        VALUES (v_key, v_uid, NEW.station, NEW.seq, hallmark.json_bigint(b->'run_id'), b->>'bound_at')
        ON CONFLICT (key_sha256) DO NOTHING;
        IF NOT FOUND THEN
            SELECT k.station, k.seq, k.uid INTO h FROM hallmark.fleet_public_keys k WHERE k.key_sha256 = v_key;
            IF h.station <> NEW.station OR h.uid <> v_uid THEN
                INSERT INTO hallmark.fleet_conflicts (what, value, station, seq, holder_station, holder_seq)
                VALUES ('public_key', v_key, NEW.station, NEW.seq, h.station, h.seq)
                ON CONFLICT (station, seq, what) DO NOTHING;
            END IF;
        END IF;

    ELSIF NEW.tbl = 'revocations' THEN
        IF b->>'serial' IS NOT NULL THEN
            INSERT INTO hallmark.fleet_revocations (serial, station, seq, reason, revoked_at)
            VALUES (b->>'serial', NEW.station, NEW.seq, b->>'reason', b->>'revoked_at')
            ON CONFLICT (serial) DO NOTHING;
        END IF;
    END IF;
    -- audit, crls and tables this version does not know: kept in records only.
    RETURN NULL;
END
$fn$;
CREATE TRIGGER records_project AFTER INSERT ON hallmark.records
    FOR EACH ROW EXECUTE FUNCTION hallmark.project_record();
"#;

/// Version 2: a station id belongs to the role that first pushed it. Rows of version 1
/// get no role: the station id is bound by its next push.
const V2: &str = r#"
ALTER TABLE hallmark.stations ADD COLUMN role text;

CREATE FUNCTION hallmark.bind_station() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    holder text;
BEGIN
    -- session_user: the login role, which SET ROLE does not change (current_user is
    -- the owner here).
    INSERT INTO hallmark.stations (station, first_seen, last_seen, role)
    VALUES (NEW.station, NEW.received_at, NEW.received_at, session_user)
    ON CONFLICT (station) DO NOTHING;
    IF NOT FOUND THEN
        SELECT s.role INTO holder FROM hallmark.stations s WHERE s.station = NEW.station FOR UPDATE;
        IF holder IS NULL THEN
            UPDATE hallmark.stations SET role = session_user WHERE station = NEW.station;
        ELSIF holder <> session_user THEN
            RAISE EXCEPTION 'station id % belongs to database role %, not to %', NEW.station, holder, session_user
                USING ERRCODE = 'HMS01', DETAIL = holder,
                      HINT = 'each station needs its own role and station id';
        END IF;
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER records_bind_station BEFORE INSERT ON hallmark.records
    FOR EACH ROW EXECUTE FUNCTION hallmark.bind_station();
"#;

/// Version 3: UID counter blocks leased to stations (`sequence` scheme).
const V3: &str = r#"
CREATE TABLE hallmark.uid_blocks (
    stem      text NOT NULL,
    first     bigint NOT NULL CHECK (first >= 1),
    last      bigint NOT NULL CHECK (last >= first),
    width     integer NOT NULL CHECK (width BETWEEN 1 AND 18),
    station   text NOT NULL,
    role      text NOT NULL,
    leased_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stem, first)
);
CREATE INDEX uid_blocks_station ON hallmark.uid_blocks (station, stem, first);

-- The station id is the caller's, as for its records (version 2).
CREATE FUNCTION hallmark.claim_station(p_station text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    holder text;
BEGIN
    IF p_station IS NULL OR p_station = '' THEN
        RAISE EXCEPTION 'a station id is needed' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO hallmark.stations (station, first_seen, last_seen, role)
    VALUES (p_station, now(), now(), session_user)
    ON CONFLICT (station) DO NOTHING;
    IF NOT FOUND THEN
        SELECT s.role INTO holder FROM hallmark.stations s WHERE s.station = p_station FOR UPDATE;
        IF holder IS NULL THEN
            UPDATE hallmark.stations SET role = session_user WHERE station = p_station;
        ELSIF holder <> session_user THEN
            RAISE EXCEPTION 'station id % belongs to database role %, not to %', p_station, holder, session_user
                USING ERRCODE = 'HMS01', DETAIL = holder, HINT = 'each station needs its own role and station id';
        END IF;
    END IF;
END
$fn$;

CREATE FUNCTION hallmark.lease_uid_block(p_station text, p_stem text, p_width integer, p_size bigint)
RETURNS TABLE (lease_first bigint, lease_last bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    leased bigint;
    used bigint;
    top bigint;
    v_first bigint;
    v_last bigint;
BEGIN
    IF p_station IS NULL OR p_station = '' OR p_stem IS NULL OR p_width IS NULL OR p_width NOT BETWEEN 1 AND 18
       OR p_size IS NULL OR p_size NOT BETWEEN 1 AND 1000000 THEN
        RAISE EXCEPTION 'lease_uid_block(%, %, %, %): station, stem, a width of 1 to 18 and a size of 1 to 1000000 are needed',
            p_station, p_stem, p_width, p_size USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM hallmark.claim_station(p_station);
    -- One lease per stem at a time: blocks never overlap.
    PERFORM pg_advisory_xact_lock(hashtextextended('hallmark.uid_blocks:' || p_stem, 0));
    SELECT max(b.last) INTO leased FROM hallmark.uid_blocks b WHERE b.stem = p_stem;
    -- Counters stations used before the fleet leased any (their synced UIDs).
    SELECT max(substr(u.uid, length(p_stem) + 1, p_width)::bigint) INTO used
      FROM hallmark.fleet_uids u
     WHERE left(u.uid, length(p_stem)) = p_stem
       AND length(u.uid) BETWEEN length(p_stem) + p_width AND length(p_stem) + p_width + 1
       AND substr(u.uid, length(p_stem) + 1, p_width) ~ '^[0-9]+$';
    top := (10::numeric ^ p_width)::bigint - 1;
    v_first := greatest(coalesce(leased, 0), coalesce(used, 0)) + 1;
    IF v_first > top THEN
        RAISE EXCEPTION 'every counter of UID stem % is leased', p_stem USING ERRCODE = 'HMS02', DETAIL = top::text;
    END IF;
    v_last := least(v_first + p_size - 1, top);
    INSERT INTO hallmark.uid_blocks (stem, first, last, width, station, role)
    VALUES (p_stem, v_first, v_last, p_width, p_station, session_user);
    RETURN QUERY SELECT v_first, v_last;
END
$fn$;
"#;

/// Version 4: revocations requested anywhere, carried out by the issuing station.
const V4: &str = r#"
CREATE TABLE hallmark.revocation_requests (
    id             bigserial PRIMARY KEY,
    serial         text NOT NULL,
    uid            text NOT NULL,
    reason         text NOT NULL,
    issuer_station text NOT NULL,
    requested_by   text NOT NULL,
    role           text NOT NULL,
    actor          text NOT NULL,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    done_at        timestamptz,
    crl_number     bigint
);
CREATE UNIQUE INDEX revocation_requests_open ON hallmark.revocation_requests (serial) WHERE done_at IS NULL;
CREATE INDEX revocation_requests_issuer ON hallmark.revocation_requests (issuer_station, id) WHERE done_at IS NULL;

CREATE FUNCTION hallmark.request_revocation(p_station text, p_target text, p_reason text, p_actor text)
RETURNS SETOF hallmark.revocation_requests
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    c record;
    r hallmark.revocation_requests;
    found_any boolean := false;
BEGIN
    PERFORM hallmark.claim_station(p_station);
    IF p_reason IS NULL OR p_reason = '' OR p_actor IS NULL OR p_actor = '' THEN
        RAISE EXCEPTION 'a revocation needs a reason and who asks' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR c IN SELECT f.serial, f.uid, f.station FROM hallmark.fleet_certificates f
              WHERE (f.serial IN (btrim(p_target), lower(btrim(p_target))) OR f.uid = btrim(p_target))
                AND NOT EXISTS (SELECT 1 FROM hallmark.fleet_revocations v WHERE v.serial = f.serial)
              ORDER BY f.serial
    LOOP
        found_any := true;
        -- One open request per certificate: asking twice returns the first.
        INSERT INTO hallmark.revocation_requests (serial, uid, reason, issuer_station, requested_by, role, actor)
        VALUES (c.serial, c.uid, p_reason, c.station, p_station, session_user, p_actor)
        ON CONFLICT (serial) WHERE done_at IS NULL DO NOTHING
        RETURNING * INTO r;
        IF NOT FOUND THEN
            SELECT * INTO r FROM hallmark.revocation_requests q WHERE q.serial = c.serial AND q.done_at IS NULL;
        END IF;
        RETURN NEXT r;
    END LOOP;
    IF NOT found_any THEN
        RAISE EXCEPTION 'the fleet holds no unrevoked certificate for %', p_target USING ERRCODE = 'HMS03';
    END IF;
END
$fn$;

CREATE FUNCTION hallmark.complete_revocation(p_station text, p_id bigint, p_crl_number bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM hallmark.claim_station(p_station);
    UPDATE hallmark.revocation_requests SET done_at = now(), crl_number = p_crl_number
     WHERE id = p_id AND issuer_station = p_station AND done_at IS NULL;
    RETURN FOUND;
END
$fn$;
"#;

/// Version 5: QA across the fleet. Runs synced before it get their result's UID and
/// hardware id from their `run_results` records.
const V5: &str = r#"
ALTER TABLE hallmark.fleet_runs ADD COLUMN result_uid text, ADD COLUMN result_hardware_id text;
UPDATE hallmark.fleet_runs f
   SET result_uid = r.body->>'uid', result_hardware_id = r.body->>'hardware_id'
  FROM hallmark.records r
 WHERE r.tbl = 'run_results' AND r.station = f.station
   AND coalesce(hallmark.json_bigint(r.body->'run_id'), r.row_id) = f.run_id;

-- Fires after records_project (triggers fire in name order), which has made the row.
CREATE FUNCTION hallmark.project_run_result() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    UPDATE hallmark.fleet_runs
       SET result_uid = NEW.body->>'uid', result_hardware_id = NEW.body->>'hardware_id'
     WHERE station = NEW.station AND run_id = coalesce(hallmark.json_bigint(NEW.body->'run_id'), NEW.row_id);
    RETURN NULL;
END
$fn$;
CREATE TRIGGER records_project_results AFTER INSERT ON hallmark.records
    FOR EACH ROW WHEN (NEW.tbl = 'run_results') EXECUTE FUNCTION hallmark.project_run_result();

CREATE INDEX fleet_runs_qa_order ON hallmark.fleet_runs (started_at COLLATE "C", station COLLATE "C", run_id);
CREATE INDEX fleet_runs_qa_uid ON hallmark.fleet_runs (result_uid);
CREATE INDEX fleet_runs_qa_hardware ON hallmark.fleet_runs (result_hardware_id);
CREATE INDEX fleet_certificates_qa_order
    ON hallmark.fleet_certificates (issued_at COLLATE "C", station COLLATE "C", row_id);
CREATE INDEX records_events_run ON hallmark.records (station, hallmark.json_bigint(body->'run_id'), row_id)
    WHERE tbl = 'events';
"#;

/// The station group role and its grants, applied by every `init` (idempotent; tables
/// a later migration adds are covered by running it again).
pub(crate) const ROLES: &str = r#"
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'hallmark_station') THEN
        BEGIN
            CREATE ROLE hallmark_station NOLOGIN;
        EXCEPTION WHEN duplicate_object THEN
            NULL; -- created meanwhile by an init of another database of this cluster
        END;
    END IF;
END
$$;
REVOKE ALL ON SCHEMA hallmark FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA hallmark FROM PUBLIC;
GRANT USAGE ON SCHEMA hallmark TO hallmark_station;
REVOKE ALL ON ALL TABLES IN SCHEMA hallmark FROM hallmark_station;
GRANT SELECT ON ALL TABLES IN SCHEMA hallmark TO hallmark_station;
GRANT INSERT ON hallmark.records TO hallmark_station;
-- Pure; in the index that finds a run's events (version 5), which inserting roles evaluate.
GRANT EXECUTE ON FUNCTION hallmark.json_bigint(jsonb) TO hallmark_station;
DO $$
BEGIN
    IF to_regprocedure('hallmark.lease_uid_block(text, text, integer, bigint)') IS NOT NULL THEN
        GRANT EXECUTE ON FUNCTION hallmark.lease_uid_block(text, text, integer, bigint) TO hallmark_station;
    END IF;
    IF to_regprocedure('hallmark.request_revocation(text, text, text, text)') IS NOT NULL THEN
        GRANT EXECUTE ON FUNCTION hallmark.request_revocation(text, text, text, text) TO hallmark_station;
        GRANT EXECUTE ON FUNCTION hallmark.complete_revocation(text, bigint, bigint) TO hallmark_station;
    END IF;
END
$$;
"#;
