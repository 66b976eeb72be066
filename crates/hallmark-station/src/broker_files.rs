//! The files a mosquitto broker needs to serve the broker self-test for this
//! station: the CA file, the broker's own server certificate and key, the ACL (each
//! device owns `devices/<UID>/#`; the station reads the self-test topics) and a
//! configuration fragment that points at the station's live CRL.

use crate::pipeline::Station;
use crate::selftest::station_identity;
use hallmark_ca::{pem_cert, pem_encode, CaError, ServiceRole};
use std::path::{Path, PathBuf};

/// How the broker is reached.
#[derive(Clone, Debug)]
pub struct MosquittoOptions {
    /// Names and addresses for the broker's certificate (the first is its CN).
    pub hosts: Vec<String>,
    /// Listener port.
    pub port: u16,
    /// Address to bind; `None` for all interfaces.
    pub bind: Option<String>,
    /// Validity of the broker's certificate, days (capped at the issuing CA).
    pub days: u32,
}

/// Where the files went.
#[derive(Clone, Debug)]
pub struct MosquittoFiles {
    /// The configuration fragment (`include` it, or run `mosquitto -c` on it).
    pub conf: PathBuf,
    /// Root and issuing CA, PEM.
    pub cafile: PathBuf,
    /// Broker certificate and issuing CA, PEM.
    pub certfile: PathBuf,
    /// Broker private key, PEM, mode 0600.
    pub keyfile: PathBuf,
    /// The ACL.
    pub aclfile: PathBuf,
    /// The CRL the station re-writes on every revocation.
    pub crlfile: PathBuf,
}

/// Why the files could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BrokerFilesError {
    /// Signing the broker's certificate failed.
    #[error("cannot issue the broker certificate: {0}")]
    Ca(#[from] CaError),
    /// `--fleet` without `[fleet]` in the configuration.
    #[error("--fleet needs the fleet database: add [fleet] url = \"postgresql://USER@HOST:PORT/DB\" to the station configuration (docs/fleet.md)")]
    NoFleet,
    /// The fleet database could not be asked.
    #[error("{0}")]
    Fleet(hallmark_fleet::FleetError),
    /// The station's log could not be read.
    #[error("cannot read the station's CRL from its log: {0}")]
    Log(String),
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes the broker's files into `out`; `crl` is where the station publishes its CRL.
pub fn write_mosquitto(
    station: &Station,
    crl: &Path,
    out: &Path,
    options: &MosquittoOptions,
) -> Result<MosquittoFiles, BrokerFilesError> {
    write_files(
        station,
        out,
        options,
        &station.ca.chain_pem(),
        CrlFile::Live(crl),
        std::slice::from_ref(&station.station_id),
    )
}

/// `hallmark ca broker-config --mosquitto --fleet`: asks the fleet configured in
/// `[fleet]` what every station published and writes the broker files for all.
pub fn fleet_broker_files(
    station: &Station,
    store: &hallmark_store::Store,
    out: &Path,
    options: &MosquittoOptions,
) -> Result<(MosquittoFiles, FleetBundle), BrokerFilesError> {
    let Some(settings) = &station.config.config.fleet else { return Err(BrokerFilesError::NoFleet) };
    let published = hallmark_fleet::Fleet::connect_with_stored_password(&settings.url)
        .and_then(|mut fleet| fleet.published())
        .map_err(BrokerFilesError::Fleet)?;
    write_mosquitto_fleet(station, store, published, out, options)
}

/// Where the broker's CRL comes from.
enum CrlFile<'a> {
    /// The file this station re-writes on every revocation.
    Live(&'a Path),
    /// A bundle written into the output directory (PEM).
    Bundle(String),
}

/// What `hallmark ca broker-config --fleet` put in the broker's trust.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FleetBundle {
    /// Stations whose CA chain the CA file holds.
    pub stations: Vec<String>,
    /// The CRL of each station (station, number).
    pub crls: Vec<(String, i64)>,
    /// Stations with a CA but no CRL yet: the broker refuses their devices until they
    /// publish one (`hallmark ca crl`, then a sync).
    pub without_crl: Vec<String>,
}

/// Writes broker files for devices of every fleet station: the CA file holds every
/// station's chain and the CRL file every station's newest CRL, from what the
/// stations synced (`fleet`), this station's own taken fresh from its log. Re-run it
/// (then reload the broker) to pick up other stations' newer CRLs.
pub fn write_mosquitto_fleet(
    station: &Station,
    store: &hallmark_store::Store,
    mut fleet: hallmark_fleet::Published,
    out: &Path,
    options: &MosquittoOptions,
) -> Result<(MosquittoFiles, FleetBundle), BrokerFilesError> {
    // This station's own chain and CRL as its log has them now.
    fleet.cas.retain(|c| c.station != station.station_id);
    fleet.cas.push(hallmark_fleet::StationCa {
        station: station.station_id.clone(),
        fingerprint: hallmark_ca::fingerprint(station.ca.issuing_der()),
        chain_pem: station.ca.chain_pem(),
    });
    if let Some(own) = store.latest_crl().map_err(|e| BrokerFilesError::Log(e.to_string()))? {
        fleet.crls.retain(|c| c.station != station.station_id);
        fleet.crls.push(hallmark_fleet::StationCrl {
            station: station.station_id.clone(),
            number: own.number as i64,
            der: own.der,
        });
    }
    fleet.cas.sort_by(|a, b| a.station.cmp(&b.station));
    fleet.crls.sort_by(|a, b| a.station.cmp(&b.station));
    // Each certificate once, whatever number of stations share a root.
    let mut cafile = String::new();
    for ca in &fleet.cas {
        for cert in hallmark_ca::import::pem_certificates(&ca.chain_pem).unwrap_or_default() {
            let pem = pem_cert(&cert);
            if !cafile.contains(&pem) {
                cafile.push_str(&pem);
            }
        }
    }
    let crls: String = fleet.crls.iter().map(|c| pem_encode("X509 CRL", &c.der)).collect();
    let bundle = FleetBundle {
        stations: fleet.cas.iter().map(|c| c.station.clone()).collect(),
        crls: fleet.crls.iter().map(|c| (c.station.clone(), c.number)).collect(),
        without_crl: fleet.stations_without_crl(),
    };
    Ok((write_files(station, out, options, &cafile, CrlFile::Bundle(crls), &bundle.stations)?, bundle))
}

fn write_files(
    station: &Station,
    out: &Path,
    options: &MosquittoOptions,
    cafile: &str,
    crl: CrlFile<'_>,
    stations: &[String],
) -> Result<MosquittoFiles, BrokerFilesError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| BrokerFilesError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let out = out.canonicalize().map_err(io(out))?;
    let hosts = if options.hosts.is_empty() {
        vec!["localhost".to_string(), "127.0.0.1".to_string()]
    } else {
        options.hosts.clone()
    };
    let (cert, key) = station.ca.service_certificate(
        &hosts[0],
        ServiceRole::Server { names: hosts.clone() },
        options.days.into(),
        time::OffsetDateTime::now_utc(),
    )?;
    let files = MosquittoFiles {
        conf: out.join("hallmark-mosquitto.conf"),
        cafile: out.join("hallmark-ca.pem"),
        certfile: out.join("hallmark-broker.crt.pem"),
        keyfile: out.join("hallmark-broker.key.pem"),
        aclfile: out.join("hallmark-acl"),
        crlfile: match &crl {
            CrlFile::Live(path) => path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
            CrlFile::Bundle(_) => out.join("hallmark-fleet-crl.pem"),
        },
    };
    if let CrlFile::Bundle(pem) = &crl {
        std::fs::write(&files.crlfile, pem).map_err(io(&files.crlfile))?;
    }
    std::fs::write(&files.cafile, cafile).map_err(io(&files.cafile))?;
    let chain = pem_cert(&cert) + &pem_cert(station.ca.issuing_der());
    std::fs::write(&files.certfile, chain).map_err(io(&files.certfile))?;
    write_private(&files.keyfile, &pem_encode("PRIVATE KEY", &key)).map_err(io(&files.keyfile))?;
    std::fs::write(&files.aclfile, acl(stations)).map_err(io(&files.aclfile))?;
    let listener = match &options.bind {
        Some(addr) => format!("{} {addr}", options.port),
        None => options.port.to_string(),
    };
    let mut conf = fragment(&listener, &files);
    if matches!(crl, CrlFile::Bundle(_)) {
        conf.push_str(
            "# The CRL file holds every fleet station's newest CRL as synced: re-run\n\
             # `hallmark ca broker-config --mosquitto --fleet` (then reload) to pick up newer ones.\n",
        );
    }
    std::fs::write(&files.conf, conf).map_err(io(&files.conf))?;
    Ok(files)
}

fn acl(stations: &[String]) -> String {
    let mut text = "# Generated by `hallmark ca broker-config --mosquitto`.
# Each device (username = certificate CN = UID) may only use its own topics.
pattern readwrite devices/%u/#
# The stations' own client identities read every device's self-test topic.
"
    .to_string();
    for station in stations {
        text.push_str(&format!("user {}\ntopic read devices/+/selftest\n", station_identity(station)));
    }
    text
}

fn fragment(listener: &str, f: &MosquittoFiles) -> String {
    format!(
        "# Generated by `hallmark ca broker-config --mosquitto`: include it in mosquitto.conf.
# The key file must be readable by the user mosquitto runs as.
listener {listener}
cafile {}
certfile {}
keyfile {}
crlfile {}
require_certificate true
use_identity_as_username true
use_username_as_clientid true
acl_file {}
# Without it every TLS connect waits ~45 ms for delayed ACKs.
set_tcp_nodelay true
# Reload after every `hallmark ca revoke` (SIGHUP re-reads the CRL).
",
        f.cafile.display(),
        f.certfile.display(),
        f.keyfile.display(),
        f.crlfile.display(),
        f.aclfile.display()
    )
}

/// Writes a file only its owner can read (the broker's own private key).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path)?.write_all(contents.as_bytes())
}
