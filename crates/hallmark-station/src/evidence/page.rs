//! The device record on paper: what an auditor or a customer reads first. The JSON
//! is the signed original; this page says so and how to check it.

use super::record::EvidenceRecord;
use hallmark_report::{Block, Report};
use serde_json::Value;

fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_string()
}

fn text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The page(s) for `record`, whose JSON hashes to `sha256`, signed by `signer`.
pub fn report(record: &EvidenceRecord, sha256: &str, signer: &str) -> Report {
    let d = &record.device;
    let mut blocks = vec![
        Block::Heading("Device".into()),
        Block::Fields(vec![
            ("UID".into(), d.uid.clone()),
            ("Hardware id".into(), or_dash(d.hardware_id.as_deref())),
            ("Model".into(), or_dash(d.model.as_deref())),
            ("Firmware".into(), or_dash(d.firmware_version.as_deref())),
            ("Firmware SBOM".into(), sbom_words(d.sbom.as_ref())),
            ("Identity".into(), record.status.to_uppercase()),
        ]),
    ];
    if let Some(p) = &record.provisioning {
        blocks.push(Block::Heading("How the identity was made".into()));
        let mut fields = vec![
            ("Run".into(), p.run_id.clone()),
            ("Station / slot / port".into(), format!("{} / {} / {}", p.station, or_dash(p.slot.as_deref()), p.port)),
            ("Operator".into(), or_dash(p.operator.as_deref())),
            ("Started / ended".into(), format!("{} / {}", p.started_at, or_dash(p.ended_at.as_deref()))),
            ("Key (SPKI SHA-256)".into(), or_dash(p.public_key_sha256.as_deref())),
            ("Certificate serial".into(), or_dash(p.certificate_serial.as_deref())),
            ("Configuration SHA-256".into(), or_dash(p.config_hash.as_deref())),
        ];
        if let Some(t) = &p.self_test {
            fields.push(("Self-test".into(), self_test_words(t)));
        }
        if let Some(l) = &p.label {
            let printed = match l.get("print") {
                None | Some(Value::Null) => "not printed (no printer configured)".to_string(),
                Some(job) => job.to_string(),
            };
            fields.push((
                "Label".into(),
                format!("template {}, PDF SHA-256 {}", text(l.get("template")), text(l.get("sha256"))),
            ));
            fields.push(("Printed".into(), printed));
        }
        blocks.push(Block::Fields(fields));
        blocks.push(Block::Table {
            columns: vec![
                ("Step".into(), 1.2),
                ("Started".into(), 2.2),
                ("Ended".into(), 2.2),
                ("ms".into(), 0.8),
                ("Outcome".into(), 1.0),
            ],
            rows: p
                .steps
                .iter()
                .map(|s| {
                    vec![
                        s.step.clone(),
                        or_dash(s.started_at.as_deref()),
                        s.ended_at.clone(),
                        s.ms.map(|m| format!("{m:.1}")).unwrap_or_else(|| "-".into()),
                        or_dash(s.outcome.as_deref()),
                    ]
                })
                .collect(),
        });
    }
    blocks.push(Block::Heading("Certificates".into()));
    blocks.push(Block::Table {
        columns: vec![
            ("Serial".into(), 2.4),
            ("Valid from / to".into(), 2.6),
            ("State".into(), 1.6),
            ("SHA-256 fingerprint".into(), 3.0),
        ],
        rows: record
            .certificates
            .iter()
            .map(|c| {
                let f = &c.certificate;
                let state = match (&f.revoked_reason, &f.revoked_at) {
                    (Some(reason), Some(at)) => format!("revoked ({reason}) {at}"),
                    _ => c.status.to_string(),
                };
                vec![f.serial.clone(), format!("{} to {}", f.not_before, f.not_after), state, f.fingerprint.clone()]
            })
            .collect(),
    });
    if let Some(crl) = &record.crl {
        blocks.push(Block::Paragraph(format!(
            "CRL at the time of this record: number {}, issued {}, next update {}, {} certificates listed.",
            crl.number, crl.this_update, crl.next_update, crl.revoked
        )));
    }
    blocks.push(Block::Heading("Every run of this UID".into()));
    blocks.push(Block::Table {
        columns: vec![
            ("Started".into(), 2.2),
            ("Station / slot".into(), 1.8),
            ("Operator".into(), 1.2),
            ("Outcome".into(), 1.0),
            ("Failure".into(), 2.5),
        ],
        rows: record
            .runs
            .iter()
            .map(|r| {
                let r = &r.run;
                let failure = match (&r.failing_step, r.failure.as_ref().and_then(|f| f.get("code"))) {
                    (Some(step), code) => format!("{step}: {}", text(code)),
                    _ => String::new(),
                };
                vec![
                    r.started_at.clone(),
                    format!("{} / {}", r.station, or_dash(r.slot.as_deref())),
                    or_dash(r.operator.as_deref()),
                    r.outcome.clone(),
                    failure,
                ]
            })
            .collect(),
    });
    if !record.lifecycle.is_empty() {
        blocks.push(Block::Heading("Later life".into()));
        blocks.push(Block::Table {
            columns: vec![("When".into(), 2.2), ("What".into(), 1.4), ("Who".into(), 1.2), ("Detail".into(), 4.0)],
            rows: record
                .lifecycle
                .iter()
                .map(|a| vec![a.at.clone(), a.action.clone(), a.actor.clone(), a.detail.to_string()])
                .collect(),
        });
    }
    blocks.push(Block::Heading("Checking this record".into()));
    blocks.push(Block::Paragraph(format!(
        "This page is a reading of {uid}.json (SHA-256 {sha256}), which is the signed original. Its signature \
         {uid}.json.p7s is a detached CMS signature by the evidence signer with certificate SHA-256 {signer}, \
         certified by the station's CA; the chain is inside. Check it with the fleet's root certificate only: \
         openssl cms -verify -binary -inform DER -in {uid}.json.p7s -content {uid}.json -CAfile root.pem -out /dev/null",
        uid = d.uid
    )));
    Report {
        title: format!("Device identity record {}", d.uid),
        subtitle: format!(
            "made {} by station {} (Hallmark {}) for {}",
            record.generated_at,
            record.generated_by.station,
            record.generated_by.hallmark_version,
            record.generated_by.actor
        ),
        blocks,
        footer: format!("{} {} - {}", record.format, d.uid, sha256),
    }
}

/// The self-test's evidence in words.
fn self_test_words(t: &Value) -> String {
    let mode = text(t.get("mode"));
    let evidence = t.get("evidence");
    match mode.as_str() {
        "broker" => format!(
            "broker round trip at {} as {}, nonce {} back in {} ms, certificate presented {}",
            text(evidence.and_then(|e| e.get("broker"))),
            text(evidence.and_then(|e| e.get("station_identity"))),
            text(evidence.and_then(|e| e.get("nonce"))),
            text(evidence.and_then(|e| e.get("nonce_round_trip_ms"))),
            text(t.get("peer_fingerprint")),
        ),
        "possession" => format!("the board signed the station's nonce {} with its new key", text(t.get("nonce"))),
        "link" => format!(
            "mutual TLS over the provisioning link, {}, handshake {} ms, certificate presented {}",
            text(evidence.and_then(|e| e.get("cipher_suite"))),
            text(evidence.and_then(|e| e.get("handshake_ms"))),
            text(evidence.and_then(|e| e.get("peer_fingerprint"))),
        ),
        "attested-key" => format!("key attested by the modem: {}", text(evidence)),
        other => format!("{other}: {t}"),
    }
}

/// The firmware's SBOM reference: its address and hash, or what was recorded.
fn sbom_words(sbom: Option<&Value>) -> String {
    match sbom.map(|s| (s.get("sbom"), s.get("sha256"))) {
        Some((Some(reference), Some(hash))) => format!("{} (SHA-256 {})", text(Some(reference)), text(Some(hash))),
        _ => text(sbom),
    }
}
