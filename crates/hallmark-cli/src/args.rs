//! Command-line interface. Names, flags and exit codes are a contract with factory
//! scripts: add to them, never change them.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "hallmark",
    about = "Hallmark factory provisioning station",
    disable_version_flag = true,
    arg_required_else_help = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Print the version; with --json also the git revision and the SHA-256 of the
    /// SBOMs installed with the station.
    #[arg(short = 'V', long)]
    pub version: bool,
    /// With --version: print JSON (version, git_revision, sbom, sbom_sha256).
    #[arg(long, requires = "version")]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Provision one board: identity, certificate, self-test, label. Exit 0 on PASS,
    /// 1 on FAIL, 2 when the station itself cannot run (CA, log, arguments).
    Provision(ProvisionArgs),
    /// Run a simulated board on a pseudo-terminal; prints the port path as the first
    /// line on stdout and serves until killed.
    #[cfg(feature = "demo")]
    Sim(SimArgs),
    /// Start a fresh simulated board and provision it end to end (the demo).
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Run every slot of the station configuration in parallel, each with its own
    /// board; one JSON line per finished run with --json.
    Run(RunArgs),
    /// Certificate authority: create, inspect, revoke, publish the CRL, broker files.
    Ca {
        #[command(subcommand)]
        command: CaCommand,
    },
    /// QA log commands.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Re-run the connection self-test on a provisioned board with the identity it
    /// holds (nothing is written to the board). Exit 0 on PASS, 1 on FAIL, 2 when the
    /// station cannot run. Recorded in the audit log.
    Selftest(SelftestArgs),
    /// Label templates: validate, render, reprint.
    Label {
        #[command(subcommand)]
        command: LabelCommand,
    },
    /// Debug probes.
    Probe {
        #[command(subcommand)]
        command: ProbeCommand,
    },
    /// Several stations, one record: the fleet database on PostgreSQL ([fleet] in the
    /// station configuration; docs/fleet.md).
    Fleet {
        #[command(subcommand)]
        command: FleetCommand,
    },
    /// Check a board's provisioning agent against docs/protocol.md: every request and
    /// edge case, valid and invalid, one PASS/FAIL/SKIP row each. For firmware teams:
    /// it installs a throwaway test identity (erase the board afterwards) and refuses
    /// a board that already holds one. Needs no station set-up. Exit 0 when no row
    /// failed, 1 when one did, 2 when the board could not be checked at all.
    Conformance(ConformanceArgs),
    /// Signed evidence of a device's identity, for an auditor or a customer: in
    /// --out, <UID>.json (every step, certificate, self-test, label, revocation and
    /// later run of the UID), <UID>.json.p7s (detached CMS signature; `openssl cms
    /// -verify -binary -inform DER` checks it with only the root certificate) and
    /// <UID>.pdf. With --batch and the QA filters (--from/--to a shift, --station, …):
    /// every device those runs touched, plus manifest.json (each record's SHA-256),
    /// manifest.json.p7s and report.pdf (yield, failure Pareto and throughput charts,
    /// the CA chain and the CRL). Unlocks the CA like `hallmark ca revoke`. Exit 0 when
    /// written, 2 when the station cannot (unknown UID, CA locked, folder not writable).
    Evidence(EvidenceArgs),
    /// List serial ports on this machine.
    Ports {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct StationArgs {
    /// Data directory (log, CA, labels). Default: $HALLMARK_DATA_DIR, else the
    /// platform's app-data directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Station configuration (TOML). Default: the embedded example
    /// (config/station.example.toml).
    #[arg(long, value_name = "FILE", env = "HALLMARK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Station id recorded with each run. Default: station.id from the configuration.
    #[arg(long)]
    pub station: Option<String>,
    /// Operator badge recorded with the run.
    #[arg(long)]
    pub operator: Option<String>,
    /// Label template file (TOML). Default: the embedded 50x25 mm template.
    #[arg(long, value_name = "FILE")]
    pub label_template: Option<PathBuf>,
    /// Per-attempt deadline for a device answer. Default: timeouts.response_ms.
    #[arg(long, value_name = "MS")]
    pub response_timeout_ms: Option<u64>,
    /// Per-attempt deadline for on-device key generation. Default: timeouts.keygen_ms.
    #[arg(long, value_name = "MS")]
    pub keygen_timeout_ms: Option<u64>,
    /// Attempts per request before giving up (retransmissions + 1). Default: timeouts.attempts.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub attempts: Option<u32>,
}

#[derive(clap::Args, Debug)]
pub struct ProvisionArgs {
    /// Serial port of the board (e.g. /dev/ttyUSB0, or the path `hallmark sim` printed).
    #[arg(long, required_unless_present = "probe", conflicts_with = "probe")]
    pub port: Option<String>,
    /// Debug probe selector VID:PID[:SERIAL] (`hallmark probe list`) to provision
    /// over SWD/RTT; `sim[:STATE.json]` is a simulated board on an in-memory probe.
    #[arg(long, requires = "chip")]
    pub probe: Option<String>,
    /// probe-rs chip name for --probe, e.g. nRF52840_xxAA.
    #[arg(long)]
    pub chip: Option<String>,
    /// Flash this image (.elf, .hex, .bin) with verification before provisioning.
    #[arg(long, value_name = "FILE", requires = "probe")]
    pub flash: Option<PathBuf>,
    /// Load address of a .bin image.
    #[arg(long, value_parser = parse_address, requires = "flash")]
    pub bin_base: Option<u64>,
    /// Permit irreversible operations (chip erase, unlocking a protected chip).
    #[arg(long, requires = "probe")]
    pub allow_erase_all: bool,
    /// What the board on --port speaks: Hallmark's agent, or an nRF91 modem's AT
    /// commands.
    #[arg(long, value_enum, default_value = "hallmark", requires = "port")]
    pub dialect: DialectArg,
    /// The modem's sec tag for the identity (nrf91-at; required there).
    #[arg(long, value_name = "TAG")]
    pub sec_tag: Option<u32>,
    /// How AT commands are written (nrf91-at): auto, plain or shell.
    #[arg(long, value_enum, default_value = "auto")]
    pub at_mode: AtModeArg,
    /// What the modem's hardware id is (nrf91-at): its IMEI or its device UUID.
    #[arg(long, value_enum, default_value = "imei")]
    pub hardware_id: ModemIdArg,
    /// CA certificate (PEM) the modem is to trust for its broker (nrf91-at; default:
    /// the station's root).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Print one JSON object with the run's result on stdout.
    #[arg(long)]
    pub json: bool,
    /// Slot nickname recorded with the run.
    #[arg(long)]
    pub slot: Option<String>,
    /// UID scanned from the board's pre-printed label (scheme "scanned").
    #[arg(long)]
    pub uid: Option<String>,
    #[command(flatten)]
    pub station: StationArgs,
}

#[derive(Subcommand, Debug)]
pub enum LabelCommand {
    /// Validate a template (every element, with sample data or --field values).
    /// Exit 0 when it prints, 1 with the errors.
    Check {
        /// Template file (TOML).
        template: PathBuf,
        /// A field value, e.g. uid=0123456789ABCDEF (others take sample values).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        /// Print JSON: {"ok": bool, "errors": [..]}.
        #[arg(long)]
        json: bool,
    },
    /// Render a template for one record.
    Render {
        /// Template file (TOML).
        template: PathBuf,
        /// A field value, e.g. uid=0123456789ABCDEF (others take sample values).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        /// pdf, zpl or png.
        #[arg(long, default_value = "pdf")]
        format: String,
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Reprint the label of a board's latest passing run (same field values, the
    /// current template and printer), recorded in the audit log as a reprint.
    Reprint {
        /// The board's UID.
        uid: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        station: StationArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct SelftestArgs {
    /// Serial port of the board.
    #[arg(long)]
    pub port: String,
    /// Print one JSON object with the result on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub station: StationArgs,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Run each slot once, then exit (0 if every run passed, 1 otherwise).
    /// Without it, slots with auto_start run each board that appears, until Ctrl-C.
    #[arg(long)]
    pub once: bool,
    /// Print one JSON object per finished run on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub station: StationArgs,
}

#[derive(clap::Args, Debug)]
pub struct SimArgs {
    /// What the simulated board speaks: Hallmark's agent, or an nRF91 modem's AT
    /// commands.
    #[arg(long, value_enum, default_value = "hallmark")]
    pub dialect: DialectArg,
    /// Pace the simulated line at this baud rate, both ways (10 bits a byte), as a
    /// fixture's UART would; a pseudo-terminal alone has none.
    #[arg(long, value_name = "BAUD")]
    pub baud: Option<u32>,
    /// The USB-UART's latency timer: the board's output reaches the station in 64-byte
    /// packets, and a partly filled one only after the board has been silent this long
    /// (FTDI's default is 16 ms; so each answer, or burst of answers, waits once).
    #[arg(long, value_name = "MS")]
    pub turnaround_ms: Option<u64>,
    /// The board's firmware carries this chain for its whole batch (PEM: the issuing CA
    /// first, the root last, e.g. the station's <data>/ca/issuing.crt.pem followed by
    /// root.crt.pem). A station then sends it only the certificate. Hallmark dialect.
    #[arg(long, value_name = "FILE")]
    pub carry_chain: Option<PathBuf>,
    /// The board's "flash" (JSON). Created as a fresh board if missing.
    /// Default: <data dir>/sim/board.json.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Misbehave on purpose: slow-keygen[=MS], drop-after=STEP, corrupt-frames=RATE,
    /// bad-csr-signature, csr-wrong-key, oversized-frame, silent, wrong-protocol-version,
    /// no-capabilities, garbage-response, storage-error, readback-mismatch,
    /// selftest-wrong-key, tls-wrong-key, no-tls, foreign-ca, broker-wrong-topic,
    /// key-of=FILE, replay-csr=FILE, no-csr-binding, answer-ahead, flood-answers,
    /// keygen-p384, keygen-compressed, keygen-off-curve, tls-unsupported, garbage-csr,
    /// reject-install, no-replay-cache, version-error-id-zero, answer-bad-frames,
    /// legacy, lose-commit-answer, link-info-oversized.
    /// Repeatable. For
    /// nrf91-at: modem-on, key-missing, storage-full, malformed-keygen,
    /// attestation-mismatch, plain-csr, wrong-readback, old-firmware, shell, garbage,
    /// silent, other-uuid, credential-missing.
    #[arg(long = "fault", value_name = "FAULT")]
    pub faults: Vec<String>,
    /// Data directory (only used for the default state path).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Create or upgrade the fleet schema and the hallmark_station role (run once, as
    /// the database's owner). Exit 0 when done, 1 when the server refused or could not
    /// be reached.
    Init {
        /// The administrator's URL (postgresql://OWNER@HOST:PORT/DB). Default: [fleet] url.
        #[arg(long)]
        url: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        station: StationArgs,
    },
    /// This station's link: records waiting, last sync, and the server's view. Exit 0
    /// when the server answered, 1 when it could not be reached (the local part is
    /// still printed).
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        station: StationArgs,
    },
    /// Send every waiting record now, keep UID blocks leased (`sequence`) and carry out
    /// the revocations other stations queued for this one (the CA is unlocked only
    /// then). Exit 0 when nothing is left waiting, 1 when the server could not be
    /// reached or refused, or revocations still wait.
    Sync {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        station: StationArgs,
    },
    /// Check the whole fleet: every station's event and audit hash chains recomputed
    /// from its records, no record number missing, every certificate's UID held by
    /// its station, and no open conflict. Exit 0 when all hold, 1 when a chain is
    /// broken or a check failed, 2 when it could not run.
    Verify {
        /// The fleet's URL (postgresql://USER@HOST:PORT/DB). Default: [fleet] url.
        #[arg(long)]
        url: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        station: StationArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct EvidenceArgs {
    /// The device's UID.
    #[arg(value_name = "UID", required_unless_present = "batch", conflicts_with = "batch")]
    pub device: Option<String>,
    /// Every device of the runs the filters select, with a signed manifest and a QA
    /// report.
    #[arg(long)]
    pub batch: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The folder the files go into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Who asks (recorded in the record and the audit log). Default: $USER.
    #[arg(long)]
    pub actor: Option<String>,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub ca: CaArgs,
}

#[derive(clap::Args, Debug)]
pub struct ConformanceArgs {
    /// Serial port of the board (required unless --list).
    #[arg(long, required_unless_present = "list")]
    pub port: Option<String>,
    /// Baud rate of the board's UART.
    #[arg(long, default_value_t = hallmark_station::transport::DEFAULT_BAUD)]
    pub baud: u32,
    /// Deadline for each answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    pub answer_ms: u64,
    /// Deadline for key generation, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub keygen_ms: u64,
    /// How long the board must stay silent after a frame it must drop, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub quiet_ms: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// List the checks without touching a board.
    #[arg(long)]
    pub list: bool,
}

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    #[command(flatten)]
    pub station: StationArgs,
}

/// Which runs: every given filter narrows the selection.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Runs started at or after (YYYY-MM-DD or RFC 3339, UTC).
    #[arg(long)]
    pub from: Option<String>,
    /// Runs started before (YYYY-MM-DD or RFC 3339, UTC).
    #[arg(long)]
    pub to: Option<String>,
    /// PASS, FAIL or INTERRUPTED.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Device UID.
    #[arg(long)]
    pub uid: Option<String>,
    /// Hardware id (hex).
    #[arg(long)]
    pub hardware_id: Option<String>,
    /// Operator badge.
    #[arg(long)]
    pub operator: Option<String>,
    /// Station id.
    #[arg(long)]
    pub station: Option<String>,
    /// Slot nickname.
    #[arg(long)]
    pub slot: Option<String>,
    /// The step that failed.
    #[arg(long = "failing-step")]
    pub failing_step: Option<String>,
    /// The device's firmware version.
    #[arg(long = "firmware")]
    pub firmware: Option<String>,
}

/// Where a QA command reads: this station's log, or with --fleet the fleet database.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FleetQaArgs {
    /// Read the fleet database ([fleet] url in the station configuration) instead of
    /// this station's log: every station's runs, as far as each has synced
    /// (docs/fleet.md, "QA across the fleet").
    #[arg(long)]
    pub fleet: bool,
    /// Station configuration (TOML) whose [fleet] section --fleet reads. Default: the
    /// one saved in the data directory, else the embedded default (which has none).
    #[arg(long, value_name = "FILE", env = "HALLMARK_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Export runs (one record per run), oldest first.
    Export {
        /// Output format.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Write to a file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// At most this many runs.
        #[arg(long)]
        limit: Option<u64>,
        /// Skip this many runs first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        source: FleetQaArgs,
    },
    /// Every run of one device, oldest first (JSON Lines); with --fleet from every
    /// station.
    History {
        /// The device UID.
        uid: String,
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        #[command(flatten)]
        source: FleetQaArgs,
    },
    /// Yield, first-pass yield, failures by step (Pareto), throughput per hour; with
    /// --fleet also each station's yield.
    Stats {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        source: FleetQaArgs,
    },
    /// UID + certificate of every device that passed, for a cloud device registry.
    Onboarding {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Write to a file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        source: FleetQaArgs,
    },
    /// Check the log's hash chain; exit 0 if intact, 1 if broken.
    Verify {
        /// Data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How AT commands are written, on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtModeArg {
    /// Plain AT first, then Nordic's shell.
    Auto,
    /// `AT+CGSN`.
    Plain,
    /// `at AT+CGSN`.
    Shell,
}

/// What identifies a modem, on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModemIdArg {
    /// The IMEI.
    Imei,
    /// The device UUID.
    Uuid,
}

/// A device dialect on the command line.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialectArg {
    /// Hallmark's own agent (protocol v1).
    Hallmark,
    /// An nRF91 modem over AT commands.
    #[value(name = "nrf91-at")]
    Nrf91At,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

/// Where the CA and its configuration are.
#[derive(clap::Args, Debug, Clone)]
pub struct CaArgs {
    /// Data directory (log, CA, labels).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Station configuration (TOML).
    #[arg(long, value_name = "FILE", env = "HALLMARK_CONFIG")]
    pub config: Option<PathBuf>,
}

impl CaArgs {
    pub fn station(&self) -> StationArgs {
        StationArgs { data_dir: self.data_dir.clone(), config: self.config.clone(), ..StationArgs::default() }
    }
}

#[derive(Subcommand, Debug)]
pub enum CaCommand {
    /// Create the station's root and issuing CA (refuses if one exists). The
    /// passphrase comes from $HALLMARK_CA_PASSPHRASE or is asked for. With
    /// --issuing-csr, create only the issuing key and write a request for the fleet
    /// root to sign (`hallmark ca sign-station`), then `hallmark ca import` the answer.
    Init {
        #[command(flatten)]
        ca: CaArgs,
        /// Under a fleet root: write the issuing CA's request here instead of creating
        /// a root.
        #[arg(long, value_name = "FILE")]
        issuing_csr: Option<PathBuf>,
        /// The issuing CA's name (with --issuing-csr). Default: "Hallmark Issuing CA
        /// <station id>".
        #[arg(long, requires = "issuing_csr")]
        name: Option<String>,
        /// Generate the issuing key in a PKCS#11 token: the module (shared library).
        #[arg(long, value_name = "MODULE", requires_all = ["token", "key_label"])]
        pkcs11_module: Option<PathBuf>,
        /// Token label.
        #[arg(long)]
        token: Option<String>,
        /// Label for the new key.
        #[arg(long)]
        key_label: Option<String>,
    },
    /// Use an issuing CA signed by your own (offline) root: its certificate, its key
    /// (PKCS#8 file, re-encrypted with the station passphrase; or a PKCS#11 key; or,
    /// after `ca init --issuing-csr`, the key this station generated: give neither)
    /// and the chain above it up to the root. An encrypted key file's passphrase comes
    /// from $HALLMARK_IMPORT_KEY_PASSPHRASE.
    Import {
        /// The issuing CA certificate (PEM).
        #[arg(long, value_name = "FILE")]
        cert: PathBuf,
        /// Intermediates (if any) then the root (PEM).
        #[arg(long, value_name = "FILE")]
        chain: PathBuf,
        /// The issuing CA key (PKCS#8 PEM).
        #[arg(long, value_name = "FILE", conflicts_with = "pkcs11_module")]
        key: Option<PathBuf>,
        /// The key is in a PKCS#11 token: the module.
        #[arg(long, value_name = "MODULE", requires_all = ["token", "key_label"])]
        pkcs11_module: Option<PathBuf>,
        /// Token label.
        #[arg(long)]
        token: Option<String>,
        /// Key label.
        #[arg(long)]
        key_label: Option<String>,
        #[command(flatten)]
        ca: CaArgs,
    },
    /// Where the fleet root is: sign a station's issuing CA request (from `hallmark ca
    /// init --issuing-csr`) with the root key; recorded in this station's audit log.
    SignStation {
        /// The station's request (PEM).
        #[arg(long, value_name = "FILE")]
        csr: PathBuf,
        /// Write the station's issuing CA certificate here (for `ca import --cert`).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Write the chain above it (the root) here (for `ca import --chain`). Default:
        /// beside --out, named root.crt.pem.
        #[arg(long, value_name = "FILE")]
        chain_out: Option<PathBuf>,
        /// Validity in days (capped at the root's end).
        #[arg(long, default_value_t = 3650)]
        days: u32,
        /// Who signs (recorded in the audit log). Default: $USER.
        #[arg(long)]
        actor: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ca: CaArgs,
    },
    /// Copy the (encrypted) root key out, and with --remove delete it from the
    /// station, which then keeps only the issuing CA.
    ExportRootKey {
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Delete it from the station after a verified copy.
        #[arg(long)]
        remove: bool,
        #[command(flatten)]
        ca: CaArgs,
    },
    /// Chain, fingerprints, validity, certificates issued and revoked, CRL, warnings.
    Show {
        #[command(flatten)]
        ca: CaArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device certificate (by serial) or every valid certificate of a UID,
    /// and publish a new CRL. With [fleet], a certificate another station issued is
    /// queued for that station, which revokes it and publishes its CRL at its next
    /// sync.
    Revoke {
        /// UID or certificate serial (hex).
        target: String,
        /// keyCompromise, superseded, cessationOfOperation, affiliationChanged,
        /// certificateHold, privilegeWithdrawn or unspecified.
        #[arg(long)]
        reason: String,
        /// Who revokes (recorded in the audit log). Default: $USER.
        #[arg(long)]
        actor: Option<String>,
        #[command(flatten)]
        ca: CaArgs,
    },
    /// Device certificates (not revoked) that end within a window, soonest first;
    /// already ended ones included.
    Expiring {
        /// The window: days (`90d`, or just `90`) or weeks (`12w`).
        #[arg(long, default_value = "90d")]
        within: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        ca: CaArgs,
    },
    /// Take a device out of service: revoke its certificates for
    /// cessationOfOperation (audited as a retirement) and publish the CRL; with
    /// [fleet], another station's device is queued for that station.
    Retire {
        /// The device UID.
        uid: String,
        /// Who retires it (recorded in the audit log). Default: $USER.
        #[arg(long)]
        actor: Option<String>,
        #[command(flatten)]
        ca: CaArgs,
    },
    /// Sign a fresh CRL (next number) and write it.
    Crl {
        /// Also write it here.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// DER instead of PEM for --out.
        #[arg(long)]
        der: bool,
        #[command(flatten)]
        ca: CaArgs,
    },
    /// Write the files a broker needs: CA file, CRL and a configuration fragment.
    BrokerConfig {
        /// Mosquitto (the only broker supported so far).
        #[arg(long, required = true)]
        mosquitto: bool,
        /// Directory to write to.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Names and addresses the broker is reached by (its certificate's
        /// subjectAltName); repeat for several. Default: localhost and 127.0.0.1.
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        /// Listener port.
        #[arg(long, default_value_t = 8883)]
        port: u16,
        /// Address the listener binds to. Default: all interfaces.
        #[arg(long, value_name = "ADDR")]
        bind: Option<String>,
        /// Validity of the broker's server certificate, days (capped at the issuing CA).
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Trust every fleet station's CA and load every station's newest CRL (from
        /// the fleet database, [fleet] in the configuration), for a broker serving
        /// the whole fleet's devices.
        #[arg(long)]
        fleet: bool,
        #[command(flatten)]
        ca: CaArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProbeCommand {
    /// List connected debug probes with their selectors.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a chip name against probe-rs's target registry.
    Chip {
        /// probe-rs target name.
        name: String,
    },
}

fn parse_address(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("{s:?} is not an address: {e}"))
}
