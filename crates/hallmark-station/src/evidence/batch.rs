//! Evidence for a batch (a shift, a date range, a station): every selected device's
//! signed record, one signed manifest listing each record's hash (so one signature
//! vouches for the set, and a record swapped or removed shows), and a QA report PDF
//! with the yield, the failure Pareto and the throughput drawn as charts, the CA
//! chain and the CRL at report time.

use super::{write_whole, EvidenceError, EvidenceWriter};
use hallmark_ca::{fingerprint, pem_cert};
use hallmark_report::{Bar, Block, Column, Report};
use hallmark_store::{RunFilter, Statistics};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The manifest's format and version.
pub const MANIFEST_FORMAT: &str = "hallmark-evidence-batch/1";

/// One device in the manifest.
#[derive(Clone, Debug, Serialize)]
pub struct ManifestEntry {
    /// UID.
    pub uid: String,
    /// Its identity's state.
    pub status: String,
    /// Its record's file name, beside the manifest.
    pub record: String,
    /// SHA-256 of that file.
    pub sha256: String,
}

/// The signed list of a batch's records.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: &'static str,
    /// When.
    pub generated_at: String,
    /// Station id.
    pub station: String,
    /// Who asked.
    pub actor: String,
    /// Which runs.
    pub selection: RunFilter,
    /// Their statistics (yield, Pareto, throughput).
    pub statistics: Statistics,
    /// Every device those runs touched, with its record's hash.
    pub devices: Vec<ManifestEntry>,
    /// The station's CA chain, PEM.
    pub ca_chain_pem: String,
    /// The last CRL published, at report time.
    pub crl: Option<super::record::CrlState>,
}

/// What a batch wrote.
#[derive(Clone, Debug, Serialize)]
pub struct BatchFiles {
    /// `manifest.json`.
    pub manifest: PathBuf,
    /// `manifest.json.p7s`.
    pub signature: PathBuf,
    /// `report.pdf`.
    pub report: PathBuf,
    /// Devices written.
    pub devices: usize,
    /// Runs selected.
    pub runs: u64,
    /// SHA-256 of the manifest.
    pub sha256: String,
}

impl EvidenceWriter<'_> {
    /// Writes every device the `filter`'s runs touched, then the signed manifest and
    /// the QA report, into `dir`.
    pub fn write_batch(&mut self, filter: &RunFilter, dir: &Path) -> Result<BatchFiles, EvidenceError> {
        let (station, store) = (self.station, self.store);
        let statistics = store.statistics(filter)?;
        if statistics.runs == 0 {
            return Err(EvidenceError::EmptyBatch);
        }
        let mut uids: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        store.for_each_run(filter, None, |run| {
            if let Some(uid) = run.uid {
                if seen.insert(uid.clone()) {
                    uids.push(uid);
                }
            }
        })?;
        let mut devices = Vec::with_capacity(uids.len());
        for uid in &uids {
            let files = self.write(uid, dir)?;
            devices.push(ManifestEntry {
                uid: uid.clone(),
                status: files.status,
                record: format!("{uid}.json"),
                sha256: files.sha256,
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| super::write_error(dir, source))?;
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            generated_at: hallmark_store::rfc3339(station.clock.now()),
            station: station.station_id.clone(),
            actor: self.actor.to_string(),
            selection: filter.clone(),
            statistics,
            devices,
            ca_chain_pem: station.ca.chain_pem(),
            crl: store.latest_crl()?.as_ref().map(super::record::CrlState::from),
        };
        // Serialising plain data cannot fail.
        let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        let sha256 = hex::encode(Sha256::digest(&json));
        let signer = self.signer()?;
        let signature = signer.sign_detached(&json, station.clock.now())?;
        let signer_fingerprint = signer.fingerprint();
        let chain: Vec<(String, String)> = chain_lines(&station.ca);
        let pdf = hallmark_report::to_pdf(&report(&manifest, &sha256, &signer_fingerprint, &chain))
            .map_err(EvidenceError::Pdf)?;
        let detail = serde_json::json!({
            "manifest_sha256": sha256,
            "devices": manifest.devices.len(),
            "runs": manifest.statistics.runs,
            "signer": signer_fingerprint,
        });
        store.append_audit(self.actor, "evidence-batch", &detail)?;
        let files = BatchFiles {
            manifest: dir.join("manifest.json"),
            signature: dir.join("manifest.json.p7s"),
            report: dir.join("report.pdf"),
            devices: manifest.devices.len(),
            runs: manifest.statistics.runs,
            sha256,
        };
        write_whole(&files.manifest, &json)?;
        write_whole(&files.signature, &signature)?;
        write_whole(&files.report, &pdf)?;
        Ok(files)
    }
}

/// The CA certificates as (subject, SHA-256 fingerprint), issuing side first.
fn chain_lines(ca: &hallmark_ca::IssuingCa) -> Vec<(String, String)> {
    let mut ders = vec![ca.issuing_der().to_vec()];
    ders.push(ca.root_der().to_vec());
    ders.iter()
        .map(|der| {
            let subject = x509_parser::parse_x509_certificate(der)
                .map(|(_, c)| c.subject().to_string())
                .unwrap_or_else(|_| pem_cert(der));
            (subject, fingerprint(der))
        })
        .collect()
}

fn report(m: &Manifest, sha256: &str, signer: &str, chain: &[(String, String)]) -> Report {
    let s = &m.statistics;
    let sel = &m.selection;
    let selection: Vec<String> = [
        ("from", &sel.from),
        ("to", &sel.to),
        ("outcome", &sel.outcome),
        ("station", &sel.station),
        ("slot", &sel.slot),
        ("operator", &sel.operator),
        ("failing step", &sel.failing_step),
        ("hardware id", &sel.hardware_id),
        ("UID", &sel.uid),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
    .collect();
    let selection = if selection.is_empty() { "every run in the log".to_string() } else { selection.join(", ") };
    let mut blocks = vec![
        Block::Heading("Yield".into()),
        Block::Fields(vec![
            (
                "Runs".into(),
                format!("{} ({} passed, {} failed, {} interrupted)", s.runs, s.passed, s.failed, s.interrupted),
            ),
            ("Devices".into(), format!("{} ({} passed)", s.devices, s.devices_passed)),
            ("Yield".into(), format!("{:.1}% of devices", s.yield_percent)),
            ("First-pass yield".into(), format!("{:.1}% of devices", s.first_pass_yield_percent)),
        ]),
        Block::Bars {
            title: "Runs by outcome".into(),
            bars: [("passed", s.passed), ("failed", s.failed), ("interrupted", s.interrupted)]
                .iter()
                .map(|(label, n)| Bar {
                    label: label.to_string(),
                    value: *n as f64,
                    note: format!("{n} ({:.1}%)", percent(*n, s.runs)),
                })
                .collect(),
        },
        Block::Bars {
            title: "Failures by step and code (Pareto)".into(),
            bars: s
                .failures_by_step
                .iter()
                .map(|p| Bar {
                    label: format!("{} {}", p.step.as_deref().unwrap_or("-"), p.code.as_deref().unwrap_or("-")),
                    value: p.count as f64,
                    note: format!("{} (cumulative {:.1}%)", p.count, p.cumulative_percent),
                })
                .collect(),
        },
        Block::Columns {
            title: "Throughput: runs ended per hour (UTC)".into(),
            legend: ("passed".into(), "not passed".into()),
            columns: s
                .throughput_per_hour
                .iter()
                .map(|h| Column {
                    label: h.hour.get(11..13).map(|hh| format!("{hh}:00")).unwrap_or_else(|| h.hour.clone()),
                    total: h.runs as f64,
                    part: h.passed as f64,
                })
                .collect(),
        },
    ];
    if let (Some(first), Some(last)) = (s.throughput_per_hour.first(), s.throughput_per_hour.last()) {
        blocks.push(Block::Paragraph(format!("Hours with runs, from {}:00 to {}:00 UTC.", first.hour, last.hour)));
    }
    blocks.push(Block::Heading("Certificate authority at report time".into()));
    let mut fields: Vec<(String, String)> =
        chain.iter().map(|(subject, fp)| (subject.clone(), format!("SHA-256 {fp}"))).collect();
    fields.push((
        "CRL".into(),
        match &m.crl {
            Some(c) => format!(
                "number {}, issued {}, next update {}, {} listed",
                c.number, c.this_update, c.next_update, c.revoked
            ),
            None => "none published yet".into(),
        },
    ));
    blocks.push(Block::Fields(fields));
    blocks.push(Block::Heading(format!("Devices ({})", m.devices.len())));
    blocks.push(Block::Table {
        columns: vec![("UID".into(), 2.0), ("Identity".into(), 1.0), ("Record SHA-256".into(), 4.5)],
        rows: m.devices.iter().map(|d| vec![d.uid.clone(), d.status.clone(), d.sha256.clone()]).collect(),
    });
    blocks.push(Block::Heading("Checking this report".into()));
    blocks.push(Block::Paragraph(format!(
        "This report is a reading of manifest.json (SHA-256 {sha256}), which lists every device record's SHA-256 \
         and is signed in manifest.json.p7s by the evidence signer with certificate SHA-256 {signer}. Check the \
         manifest with the fleet's root certificate only: openssl cms -verify -binary -inform DER -in \
         manifest.json.p7s -content manifest.json -CAfile root.pem -out /dev/null; then each record with \
         sha256sum against the manifest, or with its own .p7s the same way."
    )));
    Report {
        title: "Provisioning batch report".into(),
        subtitle: format!("{selection}; made {} by station {} for {}", m.generated_at, m.station, m.actor),
        blocks,
        footer: format!("{MANIFEST_FORMAT} - {sha256}"),
    }
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}
