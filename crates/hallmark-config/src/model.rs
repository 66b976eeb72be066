//! The configuration's shape. Every struct rejects unknown keys.

use serde::Deserialize;
use std::path::PathBuf;

/// The whole station configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// Must be [`crate::CONFIG_VERSION`].
    pub version: u32,
    /// Identity of this station.
    pub station: StationSection,
    /// Fixtures.
    #[serde(default)]
    pub slot: Vec<SlotConfig>,
    /// How UIDs are assigned.
    pub uid: UidScheme,
    /// What to do with boards that already have an identity.
    #[serde(default)]
    pub reprovision: ReprovisionSection,
    /// Device certificate profile.
    #[serde(default)]
    pub certificate: CertificateSection,
    /// The connection self-test.
    #[serde(default)]
    pub selftest: SelftestSection,
    /// The certificate authority.
    #[serde(default)]
    pub ca: CaSection,
    /// Certificate revocation lists.
    #[serde(default)]
    pub crl: CrlSection,
    /// Label.
    #[serde(default)]
    pub label: LabelSection,
    /// Device deadlines.
    #[serde(default)]
    pub timeouts: TimeoutSection,
    /// How the station uses a board's line (frame size, bursts, read-back).
    #[serde(default)]
    pub link: LinkSection,
    /// Firmware versions and their SBOM references.
    #[serde(default)]
    pub firmware: Vec<FirmwareRef>,
    /// The fleet record on PostgreSQL; absent = this station is on its own.
    #[serde(default)]
    pub fleet: Option<FleetSection>,
}

/// `[fleet]`: several stations, one record (`docs/fleet.md`). The local log stays the
/// source of truth; the fleet server gets a copy of every row.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSection {
    /// `postgresql://USER@HOST:PORT/DB`, with
    /// `?sslmode=verify-full&sslrootcert=CA.pem` for TLS with certificate
    /// verification. No password here: it comes from `HALLMARK_FLEET_PASSWORD` or a
    /// pgpass file.
    pub url: String,
    /// How often the background sync looks for new rows, in milliseconds.
    #[serde(default = "default_sync_interval_ms")]
    pub sync_interval_ms: u64,
    /// Rows sent in one server transaction.
    #[serde(default = "default_sync_batch")]
    pub batch: usize,
    /// UID counters leased from the fleet at a time under the `sequence` scheme. The
    /// station keeps one unused block in reserve, so it provisions that many boards
    /// (and what is left of the current block) through an outage.
    #[serde(default = "default_uid_block")]
    pub uid_block: u64,
    /// What a station does when the fleet cannot be asked before signing whether
    /// another station already gave this board (its hardware id) or its UID an
    /// identity.
    #[serde(default)]
    pub when_offline: WhenOffline,
    /// Never valid: named only so that a password here is refused in words.
    #[serde(default)]
    password: Option<toml::Value>,
}

fn default_sync_interval_ms() -> u64 {
    2000
}

fn default_sync_batch() -> usize {
    500
}

fn default_uid_block() -> u64 {
    1000
}

/// `[fleet] when_offline`: the fleet check before signing when the server does not
/// answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenOffline {
    /// Provision on the local log's word; a claim another station holds is raised as
    /// an alarm when the records reach the fleet (the reconciliation), and the run
    /// records that it was not checked.
    #[default]
    Proceed,
    /// Refuse to sign until the fleet answers.
    Refuse,
}

impl FleetSection {
    /// The section for `url` with every default.
    pub fn new(url: &str) -> FleetSection {
        FleetSection {
            url: url.to_string(),
            sync_interval_ms: default_sync_interval_ms(),
            batch: default_sync_batch(),
            uid_block: default_uid_block(),
            when_offline: WhenOffline::default(),
            password: None,
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.password.is_some() {
            return Err("[fleet] password: the fleet password never goes in the configuration; set \
                        HALLMARK_FLEET_PASSWORD or a pgpass file instead"
                .into());
        }
        let rest = self
            .url
            .strip_prefix("postgresql://")
            .or_else(|| self.url.strip_prefix("postgres://"))
            .ok_or_else(|| format!("[fleet] url {:?} must start with postgresql://", self.url))?;
        let userinfo = rest.split(['/', '?']).next().unwrap_or_default().rsplit_once('@').map(|(u, _)| u);
        match userinfo {
            None | Some("") => {
                return Err("[fleet] url must name the station's database user: postgresql://USER@HOST:PORT/DB".into())
            }
            Some(u) if u.contains(':') => {
                return Err(
                    "[fleet] url carries a password; remove it and set HALLMARK_FLEET_PASSWORD or a pgpass file".into(),
                )
            }
            Some(_) => {}
        }
        if !(100..=3_600_000).contains(&self.sync_interval_ms) {
            return Err("[fleet] sync_interval_ms must be 100 to 3600000".into());
        }
        if !(1..=10_000).contains(&self.batch) {
            return Err("[fleet] batch must be 1 to 10000".into());
        }
        if !(1..=1_000_000).contains(&self.uid_block) {
            return Err("[fleet] uid_block must be 1 to 1000000".into());
        }
        Ok(())
    }
}

/// `[station]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSection {
    /// Station id recorded with every run.
    pub id: String,
}

/// `[[slot]]`: one fixture.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// Nickname shown to the operator and recorded with runs.
    pub name: String,
    /// Serial port of the fixture (or `probe` for SWD).
    #[serde(default)]
    pub port: String,
    /// Debug probe selector `VID:PID[:SERIAL]` (`hallmark probe list`): the slot
    /// provisions over SWD/RTT instead of a serial port.
    #[serde(default)]
    pub probe: Option<String>,
    /// probe-rs chip name (with `probe`), e.g. `nRF52840_xxAA`.
    #[serde(default)]
    pub chip: Option<String>,
    /// Production image to flash before provisioning (with `probe`): .elf, .hex or .bin.
    #[serde(default)]
    pub flash: Option<PathBuf>,
    /// Load address of a .bin image.
    #[serde(default)]
    pub bin_base: Option<u64>,
    /// Permit irreversible operations: chip erase, unlocking a read-protected chip.
    #[serde(default)]
    pub allow_erase_all: bool,
    /// Start a run as soon as a board answers on the port.
    #[serde(default)]
    pub auto_start: bool,
    /// What the slot's board speaks: `hallmark` (the agent, the default) or
    /// `nrf91-at` (an nRF91 modem over AT commands; serial slots only).
    #[serde(default)]
    pub dialect: DialectKind,
    /// The modem's sec tag the identity goes into (`nrf91-at`; required there).
    #[serde(default)]
    pub sec_tag: Option<u32>,
    /// The CA certificate (PEM) the modem is to trust for its broker, written as
    /// credential type 0 (`nrf91-at`; default: the station's root).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// How AT commands are written (`nrf91-at`): `auto` (detected), `plain`, `shell`.
    #[serde(default)]
    pub at_mode: AtModeSetting,
    /// What a modem's hardware id is (`nrf91-at`): `imei` (the default) or `uuid`
    /// (the device UUID); the `hardware-id` UID scheme makes the UID from it.
    #[serde(default)]
    pub hardware_id: ModemIdSetting,
}

/// What identifies a modem.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ModemIdSetting {
    /// The IMEI.
    #[default]
    Imei,
    /// The device UUID.
    Uuid,
}

impl ModemIdSetting {
    /// The name in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            ModemIdSetting::Imei => "imei",
            ModemIdSetting::Uuid => "uuid",
        }
    }
}

/// What a slot's board speaks.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DialectKind {
    /// Hallmark's agent (protocol v1).
    #[default]
    Hallmark,
    /// An nRF91 modem over AT commands.
    Nrf91At,
}

impl DialectKind {
    /// The name in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            DialectKind::Hallmark => "hallmark",
            DialectKind::Nrf91At => "nrf91-at",
        }
    }
}

/// How AT commands are written to a modem.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AtModeSetting {
    /// Plain AT first, then Nordic's shell (`at <command>`).
    #[default]
    Auto,
    /// `AT+CGSN`.
    Plain,
    /// `at AT+CGSN` (firmware running Nordic's shell).
    Shell,
}

impl AtModeSetting {
    /// The name in the configuration file.
    pub fn name(self) -> &'static str {
        match self {
            AtModeSetting::Auto => "auto",
            AtModeSetting::Plain => "plain",
            AtModeSetting::Shell => "shell",
        }
    }
}

/// Sec tags from 2147483648 up are reserved for the modem's own use.
pub const MAX_SEC_TAG: u32 = 2_147_483_647;

/// `[uid]`: the UID scheme.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "scheme", rename_all = "kebab-case", deny_unknown_fields)]
pub enum UidScheme {
    /// From the device's hardware id: `prefix` + hardware id in upper-case hex.
    HardwareId {
        /// Text before the hex digits (A-Z, 0-9, '-').
        #[serde(default)]
        prefix: String,
    },
    /// Station-allocated: `prefix` + date parts + zero-padded counter + check character.
    Sequence {
        /// Text before the date (A-Z, 0-9, '-').
        #[serde(default)]
        prefix: String,
        /// Date part: any of `YYYY`, `YY`, `MM`, `DD`, `WW` (ISO week); empty for none.
        #[serde(default)]
        date: String,
        /// Counter digits (zero-padded).
        width: u8,
        /// Check character.
        #[serde(default)]
        check: CheckCharacter,
    },
    /// Scanned from a pre-printed label (`--uid`, or the scanner in the GUI).
    Scanned {
        /// Check character the printed UIDs carry, verified on scan.
        #[serde(default)]
        check: CheckCharacter,
    },
}

/// Check character appended to UIDs.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CheckCharacter {
    /// No check character.
    #[default]
    None,
    /// Luhn mod 36 over 0-9A-Z.
    LuhnMod36,
    /// ISO/IEC 7064 MOD 37,36 (hybrid) over 0-9A-Z.
    #[serde(rename = "iso7064-mod37-36")]
    Iso7064Mod3736,
}

/// `[reprovision]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReprovisionSection {
    /// Policy for boards that already hold an identity from a completed run.
    #[serde(default)]
    pub policy: ReprovisionPolicy,
}

/// What to do with a board that already has an identity.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReprovisionPolicy {
    /// Refuse it (`ALREADY_PROVISIONED`).
    #[default]
    Refuse,
    /// Issue a new certificate and revoke the old one as superseded.
    Reissue,
}

/// `[certificate]`: the device certificate profile.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSection {
    /// Validity of device certificates, in days (unless `not_after` or `no_expiry`).
    #[serde(default = "default_validity_days")]
    pub validity_days: u32,
    /// Fixed end of validity (RFC 3339), instead of `validity_days`.
    #[serde(default)]
    pub not_after: Option<String>,
    /// IEEE 802.1AR "no well-defined expiration" (notAfter 99991231235959Z).
    #[serde(default)]
    pub no_expiry: bool,
    /// Device key algorithms accepted: "p256" (default), "p384", "ed25519".
    #[serde(default = "default_key_algorithms")]
    pub key_algorithms: Vec<String>,
    /// subjectAltName URI pattern (`{uid}`, `{hardware_id}`).
    #[serde(default)]
    pub san_uri: Option<String>,
    /// subjectAltName DNS pattern.
    #[serde(default)]
    pub san_dns: Option<String>,
    /// CRL Distribution Point URL.
    #[serde(default)]
    pub crl_url: Option<String>,
    /// Authority Information Access caIssuers URL.
    #[serde(default)]
    pub ca_issuers_url: Option<String>,
    /// Subject O.
    #[serde(default)]
    pub organization: Option<String>,
    /// Subject OU.
    #[serde(default)]
    pub organizational_unit: Option<String>,
    /// Subject serialNumber pattern.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// Whether a board's CSR must be bound to the session (the station's challenge
    /// inside the CSR; `docs/protocol.md`). Boards that offer it always get it.
    #[serde(default)]
    pub csr_binding: CsrBinding,
}

/// Binding a board's CSR to the provisioning session.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CsrBinding {
    /// Bind it when the board offers it; boards built to the original protocol still
    /// provision (their key is still checked against every key ever certified).
    #[default]
    WhenOffered,
    /// Refuse boards that cannot bind their CSR to the session (`CSR_NOT_BOUND`).
    Required,
}

fn default_key_algorithms() -> Vec<String> {
    vec!["p256".into()]
}

fn default_validity_days() -> u32 {
    3650
}

impl Default for CertificateSection {
    fn default() -> Self {
        CertificateSection {
            validity_days: default_validity_days(),
            not_after: None,
            no_expiry: false,
            key_algorithms: default_key_algorithms(),
            san_uri: None,
            san_dns: None,
            crl_url: None,
            ca_issuers_url: None,
            organization: None,
            organizational_unit: None,
            serial_number: None,
            csr_binding: CsrBinding::WhenOffered,
        }
    }
}

/// `[selftest]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelftestSection {
    /// How the board proves its new identity.
    #[serde(default)]
    pub mode: SelftestMode,
    /// The broker for mode `broker`.
    #[serde(default)]
    pub broker: Option<BrokerSection>,
}

/// `[selftest.broker]`: the MQTT broker the board connects to in mode `broker`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSection {
    /// `host:port` as the board reaches it (the station uses it too).
    pub address: String,
    /// The name the broker's certificate carries; default: the host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Deadline for the board to connect, publish and be acknowledged, and for the
    /// station to receive the nonce, in milliseconds.
    #[serde(default = "default_broker_timeout_ms")]
    pub timeout_ms: u32,
}

fn default_broker_timeout_ms() -> u32 {
    5000
}

impl BrokerSection {
    /// Host and port of `address`.
    pub fn host_port(&self) -> Result<(String, u16), String> {
        let bad = || format!("selftest.broker.address {:?}: write host:port, e.g. \"127.0.0.1:8883\"", self.address);
        let (host, port) = self.address.rsplit_once(':').ok_or_else(bad)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || host.len() > 64 || port == 0 {
            return Err(bad());
        }
        Ok((host.to_string(), port))
    }

    /// The name checked against the broker's certificate.
    pub fn server_name(&self) -> Result<String, String> {
        Ok(match &self.server_name {
            Some(n) => n.clone(),
            None => self.host_port()?.0,
        })
    }
}

/// Self-test modes.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SelftestMode {
    /// `link` when the board offers it, else `possession`.
    #[default]
    Auto,
    /// Mutual TLS handshake with the station, tunnelled over the provisioning link.
    Link,
    /// The board signs a station nonce with its new key.
    Possession,
    /// The board connects to the MQTT broker in `[selftest.broker]` over mutual TLS
    /// and publishes a station nonce the station must receive.
    Broker,
}

/// `[ca]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaSection {
    /// `hallmark ca show` warns when the issuing CA expires within this many days.
    #[serde(default = "default_expiry_warning_days")]
    pub expiry_warning_days: u32,
}

fn default_expiry_warning_days() -> u32 {
    365
}

impl Default for CaSection {
    fn default() -> Self {
        CaSection { expiry_warning_days: default_expiry_warning_days() }
    }
}

/// `[crl]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrlSection {
    /// nextUpdate = thisUpdate + this many days.
    #[serde(default = "default_crl_days")]
    pub validity_days: u32,
    /// Where the current CRL (PEM) is kept for brokers to load; default
    /// `<data dir>/ca/crl.pem`.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

fn default_crl_days() -> u32 {
    7
}

impl Default for CrlSection {
    fn default() -> Self {
        CrlSection { validity_days: default_crl_days(), path: None }
    }
}

/// `[label]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSection {
    /// Template file; the embedded 50x25 mm template when absent.
    pub template: Option<PathBuf>,
    /// Where labels are printed; none: only the PDF kept in the data directory.
    #[serde(default)]
    pub printer: Option<PrinterSection>,
}

/// `[label.printer]`: the label printer.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PrinterSection {
    /// Save each label as a file (a hot folder another system prints from).
    Folder {
        /// Directory (relative paths: to the data directory).
        path: PathBuf,
        /// `pdf`, `zpl` or `png`.
        #[serde(default = "default_folder_format")]
        format: String,
    },
    /// Raw ZPL to a Zebra-compatible printer's TCP port (9100).
    ZplTcp {
        /// `host:port`.
        address: String,
        /// Connect and send deadline, ms.
        #[serde(default = "default_printer_timeout_ms")]
        timeout_ms: u32,
    },
    /// A CUPS queue (`lp`), sent the PDF at the label's media size.
    Cups {
        /// Queue name.
        queue: String,
        /// Scheduler `host:port`; default: the local one.
        #[serde(default)]
        server: Option<String>,
        /// Media; default `Custom.<w>x<h>mm` from the template.
        #[serde(default)]
        media: Option<String>,
        /// Deadline for `lp` to accept the job, ms.
        #[serde(default = "default_printer_timeout_ms")]
        timeout_ms: u32,
    },
}

fn default_folder_format() -> String {
    "pdf".into()
}

fn default_printer_timeout_ms() -> u32 {
    5000
}

/// `[timeouts]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutSection {
    /// Per-attempt deadline for an answer, ms.
    #[serde(default = "default_response_ms")]
    pub response_ms: u64,
    /// Per-attempt deadline for key generation, ms.
    #[serde(default = "default_keygen_ms")]
    pub keygen_ms: u64,
    /// Attempts per request.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
}

fn default_response_ms() -> u64 {
    2000
}
fn default_keygen_ms() -> u64 {
    10_000
}
fn default_attempts() -> u32 {
    3
}

impl Default for TimeoutSection {
    fn default() -> Self {
        TimeoutSection {
            response_ms: default_response_ms(),
            keygen_ms: default_keygen_ms(),
            attempts: default_attempts(),
        }
    }
}

/// `[link]`: how the station uses a board's line (issue #19). Boards that do not
/// offer the line-speed capabilities get the protocol's base frame, one request at a
/// time and a full read-back, whatever is set here.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSection {
    /// How installs are checked: the board's digests of what it stores, or the whole
    /// objects read back byte for byte (for QA audits).
    #[serde(default)]
    pub readback: ReadbackSetting,
    /// Largest frame the station offers a board, bytes (1024 to 8256; 1024 keeps the
    /// base frame).
    #[serde(default = "default_max_frame")]
    pub max_frame: u32,
    /// Most requests sent before their answers are read (1 to 8; 1 = one at a time).
    #[serde(default = "default_window")]
    pub window: u8,
}

/// `[link] readback`.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReadbackSetting {
    /// SHA-256 digests from boards that offer them; whole objects from the rest.
    #[default]
    Digests,
    /// Whole objects from every board.
    Full,
}

fn default_max_frame() -> u32 {
    8256
}
fn default_window() -> u8 {
    8
}

impl Default for LinkSection {
    fn default() -> Self {
        LinkSection { readback: ReadbackSetting::default(), max_frame: default_max_frame(), window: default_window() }
    }
}

/// `[[firmware]]`: a firmware version and its SBOM reference.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareRef {
    /// Firmware version as the device reports it.
    pub version: String,
    /// SBOM location (URI or document id).
    #[serde(default)]
    pub sbom: Option<String>,
    /// SHA-256 of the SBOM document, hex.
    #[serde(default)]
    pub sbom_sha256: Option<String>,
}

fn broker_safe(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

impl StationConfig {
    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != crate::CONFIG_VERSION {
            return Err(format!(
                "version {} is not supported (this station reads version {})",
                self.version,
                crate::CONFIG_VERSION
            ));
        }
        if let Some(fleet) = &self.fleet {
            fleet.validate()?;
        }
        if self.station.id.trim().is_empty() || self.station.id.len() > 64 {
            return Err("station.id must be 1 to 64 characters".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &self.slot {
            if s.name.is_empty() || s.name.len() > 32 || !names.insert(s.name.as_str()) {
                return Err(format!("slot name {:?} is empty, too long or used twice", s.name));
            }
            match (s.port.is_empty(), &s.probe, &s.chip) {
                (true, None, _) => return Err(format!("slot {:?} has neither a port nor a probe", s.name)),
                (false, Some(_), _) => return Err(format!("slot {:?}: set port or probe, not both", s.name)),
                (_, Some(_), None) => {
                    return Err(format!("slot {:?}: a probe slot needs chip = \"<probe-rs name>\"", s.name))
                }
                (false, None, _) if s.chip.is_some() || s.flash.is_some() => {
                    return Err(format!("slot {:?}: chip and flash are for probe slots", s.name))
                }
                _ => {}
            }
            match s.dialect {
                DialectKind::Nrf91At if s.probe.is_some() => {
                    return Err(format!("slot {:?}: an nrf91-at slot is a serial port, not a probe", s.name))
                }
                DialectKind::Nrf91At if s.auto_start => {
                    return Err(format!(
                        "slot {:?}: auto_start watches Hallmark boards; start nrf91-at slots by hand",
                        s.name
                    ))
                }
                DialectKind::Nrf91At => match s.sec_tag {
                    None => {
                        return Err(format!(
                            "slot {:?}: an nrf91-at slot needs sec_tag = <the modem's sec tag for the identity>",
                            s.name
                        ))
                    }
                    Some(tag) if tag > MAX_SEC_TAG => {
                        return Err(format!(
                            "slot {:?}: sec_tag {tag} is reserved for the modem (use 0 to {MAX_SEC_TAG})",
                            s.name
                        ))
                    }
                    Some(_) => {}
                },
                DialectKind::Hallmark
                    if s.sec_tag.is_some()
                        || s.ca_file.is_some()
                        || s.at_mode != AtModeSetting::Auto
                        || s.hardware_id != ModemIdSetting::Imei =>
                {
                    return Err(format!(
                        "slot {:?}: sec_tag, ca_file, at_mode and hardware_id are for dialect = \"nrf91-at\" slots",
                        s.name
                    ))
                }
                DialectKind::Hallmark => {}
            }
        }
        match &self.uid {
            UidScheme::HardwareId { prefix } if !broker_safe(prefix) => {
                Err(format!("uid.prefix {prefix:?} may only contain A-Z, 0-9 and '-'"))
            }
            // Long hardware ids become prefix + 16 or more hash characters (32 at most).
            UidScheme::HardwareId { prefix } if prefix.len() > 16 => {
                Err(format!("uid.prefix {prefix:?} is longer than 16 characters, which leaves no room for the id"))
            }
            UidScheme::Sequence { prefix, date, width, .. } => {
                if !broker_safe(prefix) {
                    return Err(format!("uid.prefix {prefix:?} may only contain A-Z, 0-9 and '-'"));
                }
                if !(1..=12).contains(width) {
                    return Err("uid.width must be 1 to 12 digits".into());
                }
                let mut rest = date.as_str();
                while !rest.is_empty() {
                    let token = ["YYYY", "YY", "MM", "DD", "WW", "-"].iter().find(|t| rest.starts_with(**t));
                    match token {
                        Some(t) => rest = &rest[t.len()..],
                        None => return Err(format!("uid.date {date:?}: use YYYY, YY, MM, DD, WW and '-'")),
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }?;
        match &self.label.printer {
            Some(PrinterSection::Folder { format, .. }) if !["pdf", "zpl", "png"].contains(&format.as_str()) => {
                return Err(format!("label.printer.format {format:?}: use pdf, zpl or png"));
            }
            Some(PrinterSection::ZplTcp { address, .. }) if address.rsplit_once(':').is_none() => {
                return Err(format!("label.printer.address {address:?}: write host:port, e.g. \"10.0.0.20:9100\""));
            }
            Some(PrinterSection::Cups { queue, .. }) if queue.is_empty() || queue.contains(['/', ' ', '#']) => {
                return Err(format!("label.printer.queue {queue:?} is not a CUPS queue name"));
            }
            _ => {}
        }
        match (self.selftest.mode, &self.selftest.broker) {
            (SelftestMode::Broker, None) => {
                return Err("selftest.mode = \"broker\" needs a [selftest.broker] section with its address".into())
            }
            (_, Some(b)) => {
                b.host_port()?;
                if b.server_name()?.is_empty() || b.server_name()?.len() > 64 {
                    return Err("selftest.broker.server_name must be 1 to 64 characters".into());
                }
                if !(100..=120_000).contains(&b.timeout_ms) {
                    return Err("selftest.broker.timeout_ms must be 100 to 120000".into());
                }
            }
            _ => {}
        }
        if self.timeouts.attempts == 0 || self.timeouts.attempts > 10 {
            return Err("timeouts.attempts must be 1 to 10".into());
        }
        if !(1024..=8256).contains(&self.link.max_frame) {
            return Err("link.max_frame must be 1024 to 8256 bytes".into());
        }
        if !(1..=8).contains(&self.link.window) {
            return Err("link.window must be 1 to 8".into());
        }
        if self.crl.validity_days == 0 || self.crl.validity_days > 366 {
            return Err("crl.validity_days must be 1 to 366".into());
        }
        if self.certificate.no_expiry && self.certificate.not_after.is_some() {
            return Err("certificate: set not_after or no_expiry, not both".into());
        }
        if self.certificate.key_algorithms.is_empty() {
            return Err("certificate.key_algorithms must name at least one algorithm".into());
        }
        if self.certificate.validity_days == 0 {
            return Err("certificate.validity_days must be at least 1".into());
        }
        Ok(())
    }

    /// The SBOM reference configured for a firmware version.
    pub fn firmware(&self, version: &str) -> Option<&FirmwareRef> {
        self.firmware.iter().find(|f| f.version == version)
    }
}
