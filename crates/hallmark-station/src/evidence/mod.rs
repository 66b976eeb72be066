//! Signed evidence per device (issue #18): `<UID>.json` (the record, [`record`]),
//! `<UID>.json.p7s` (a detached CMS signature by an evidence signer the station's CA
//! certified, chain inside) and `<UID>.pdf` (the same facts on paper, [`page`]); for
//! a batch, a signed manifest of those records and a QA report ([`batch`]).
//!
//! Order, so that the log stays the evidence: the signer's certificate is audited
//! (`evidence-signer`) before it signs anything, and each record's hash is audited
//! (`evidence`) before its files are written. Files are written whole to a temporary
//! name and renamed, so a reader never sees half a record.

pub mod batch;
pub mod page;
pub mod record;

use crate::pipeline::Station;
use hallmark_ca::{pem_cert, EvidenceSigner};
use hallmark_store::{Store, StoreError};
use record::{EvidenceRecord, RecordContext};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Why evidence could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// No run of the log has this UID.
    #[error("this station's log has no device {0:?}: check the UID (hallmark log history {0} shows its runs)")]
    UnknownDevice(String),
    /// The batch's filters select no run.
    #[error("no run of this station's log matches the filters; nothing was written (hallmark log stats with the same filters shows what they select)")]
    EmptyBatch,
    /// The UID cannot be a file name.
    #[error("the UID {0:?} cannot name a file (it holds a path separator or starts with a dot); nothing was written")]
    UnsafeUid(String),
    /// Reading or auditing in the log failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The CA could not certify the signer or sign.
    #[error("{0}")]
    Ca(#[from] hallmark_ca::CaError),
    /// The PDF could not be drawn.
    #[error("cannot draw the evidence PDF: {0}")]
    Pdf(String),
    /// A file could not be written.
    #[error("cannot write {path}: {source}; check that the folder exists and is writable")]
    Write {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The files of one device's evidence.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceFiles {
    /// The device.
    pub uid: String,
    /// `<UID>.json`.
    pub json: PathBuf,
    /// `<UID>.json.p7s`.
    pub signature: PathBuf,
    /// `<UID>.pdf`.
    pub pdf: PathBuf,
    /// SHA-256 of the JSON, hex.
    pub sha256: String,
    /// The identity's state in the record.
    pub status: String,
    /// SHA-256 fingerprint of the signer's certificate.
    pub signer: String,
}

impl Station {
    /// The record of `uid` as this station's log holds it now.
    pub fn evidence_record(&self, store: &Store, uid: &str, actor: &str) -> Result<EvidenceRecord, EvidenceError> {
        let facts = store.device_facts(uid)?.ok_or_else(|| EvidenceError::UnknownDevice(uid.to_string()))?;
        let now = hallmark_store::rfc3339(self.clock.now());
        let cx = RecordContext {
            now: &now,
            station: &self.station_id,
            actor,
            ca_chain_pem: self.ca.chain_pem(),
            crl: store.latest_crl()?,
        };
        Ok(record::build(uid, facts, cx))
    }
}

/// Writes signed evidence for one person's request: one evidence signer, made when
/// the first record is ready (a refused request certifies nothing).
pub struct EvidenceWriter<'a> {
    station: &'a Station,
    store: &'a Store,
    actor: &'a str,
    signer: Option<EvidenceSigner>,
}

impl<'a> EvidenceWriter<'a> {
    /// A writer for `actor`.
    pub fn new(station: &'a Station, store: &'a Store, actor: &'a str) -> EvidenceWriter<'a> {
        EvidenceWriter { station, store, actor, signer: None }
    }

    /// The signer, certified and audited (`evidence-signer`) on first use.
    pub fn signer(&mut self) -> Result<&EvidenceSigner, EvidenceError> {
        let signer = match self.signer.take() {
            Some(signer) => signer,
            None => {
                let signer = self.station.ca.evidence_signer(&self.station.station_id, self.station.clock.now())?;
                let detail = serde_json::json!({
                    "fingerprint": signer.fingerprint(),
                    "certificate": pem_cert(signer.certificate_der()),
                });
                self.store.append_audit(self.actor, "evidence-signer", &detail)?;
                signer
            }
        };
        Ok(self.signer.insert(signer))
    }

    /// Writes the signed evidence of `uid` into `dir` (created if missing).
    pub fn write(&mut self, uid: &str, dir: &Path) -> Result<EvidenceFiles, EvidenceError> {
        if uid.is_empty() || uid.starts_with('.') || uid.contains(['/', '\\', '\0']) {
            return Err(EvidenceError::UnsafeUid(uid.to_string()));
        }
        let (station, store, actor) = (self.station, self.store, self.actor);
        let record = station.evidence_record(store, uid, actor)?;
        // Serialising plain data (strings, numbers, JSON values) cannot fail.
        let json = serde_json::to_vec_pretty(&record).unwrap_or_default();
        let sha256 = hex::encode(Sha256::digest(&json));
        let signer = self.signer()?;
        let signature = signer.sign_detached(&json, station.clock.now())?;
        let fingerprint = signer.fingerprint();
        let pdf = hallmark_report::to_pdf(&page::report(&record, &sha256, &fingerprint)).map_err(EvidenceError::Pdf)?;
        store.append_audit(
            actor,
            "evidence",
            &serde_json::json!({ "uid": uid, "sha256": sha256, "signer": fingerprint }),
        )?;
        std::fs::create_dir_all(dir).map_err(|source| write_error(dir, source))?;
        let files = EvidenceFiles {
            uid: uid.to_string(),
            json: dir.join(format!("{uid}.json")),
            signature: dir.join(format!("{uid}.json.p7s")),
            pdf: dir.join(format!("{uid}.pdf")),
            sha256,
            status: record.status.to_string(),
            signer: fingerprint,
        };
        write_whole(&files.json, &json)?;
        write_whole(&files.signature, &signature)?;
        write_whole(&files.pdf, &pdf)?;
        Ok(files)
    }
}

/// Writes `bytes` to a temporary name beside `path`, then renames it into place.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|source| write_error(&tmp, source))?;
    std::fs::rename(&tmp, path).map_err(|source| write_error(path, source))
}

pub(crate) fn write_error(path: &Path, source: std::io::Error) -> EvidenceError {
    EvidenceError::Write { path: path.display().to_string(), source }
}
