//! The typed step events against the JSON the pipeline wrote before they existed:
//! each literal below is the detail a step logged (keys, `null`s, absent keys), and
//! each typed event must serialise to exactly it and read back from it.

use hallmark_store::{
    Connected, CsrVerified, Finished, Identified, Installed, KeyGenerated, LabelChecked, Labelled, LinkState,
    PlanRecord, ReadBack, Retried, SelfTested, Signed, Step, StepEvent, Store,
};
use serde_json::{json, Value};

const SHA: &str = "360f5b9c1d6b39987d791bd488594490a0b6ad133b1cd3e2519073ed128a59a0";

fn fields() -> std::collections::BTreeMap<String, String> {
    [("uid", "19E64CC81DB2C24B"), ("serial", "58AA4B1CE4FEA71605C1927AD3469166"), ("operator", "")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every shape a step's `end` detail takes, typed and as the pipeline's `json!` wrote it.
fn cases() -> Vec<(StepEvent, Value)> {
    let fresh = PlanRecord::Fresh { supersede: vec![] };
    let identified = Identified {
        uid: "19E64CC81DB2C24B".into(),
        hardware_id: "19E64CC81DB2C24B".into(),
        model: "HM-SIM-1".into(),
        firmware_version: "1.0.0-sim".into(),
        sbom: Some(json!({ "sbom": "urn:hallmark:sbom:sim-1.0.0", "sha256": "00" })),
        dialect: Some("hallmark-v1".into()),
        csr_binding: true,
        has_key: false,
        installed_fingerprint: None,
        plan: fresh.clone(),
        extra: Default::default(),
    }
    .with_extra(&json!({ "protocol_version": 1, "capabilities": 31 }));
    let csr = CsrVerified { csr_sha256: SHA.into(), csr_len: 300, bound: true, key_sha256: SHA.into(), retried: false };
    let digests: std::collections::BTreeMap<String, String> =
        ["certificate_sha256", "chain_sha256", "trust_anchor_sha256"].map(|k| (k.to_string(), SHA.to_string())).into();
    let read_back = ReadBack { digests, retried: false, compared: Some(hallmark_store::ReadbackCompared::Digests) };
    vec![
        (Connected::Serial { port: "/dev/pts/0".into() }.into(), json!({ "port": "/dev/pts/0" })),
        (
            Connected::Link { port: "/dev/bench".into(), link: LinkState::Open, dialect: "hallmark-v1".into() }.into(),
            json!({ "port": "/dev/bench", "link": "open", "dialect": "hallmark-v1" }),
        ),
        (
            Connected::Probe {
                probe: "sim".into(),
                selector: "sim:0".into(),
                chip: "nRF52840_xxAA".into(),
                chip_uid: Some("0A0B".into()),
                chip_uid_note: None,
                flash: Some(json!({ "image": "fw.elf", "size": 4, "sha256": SHA, "format": "elf", "verified": true })),
            }
            .into(),
            json!({
                "probe": "sim", "selector": "sim:0", "chip": "nRF52840_xxAA", "chip_uid": "0A0B",
                "chip_uid_note": null,
                "flash": { "image": "fw.elf", "size": 4, "sha256": SHA, "format": "elf", "verified": true },
            }),
        ),
        (
            Connected::Probe {
                probe: "sim".into(),
                selector: "sim:0".into(),
                chip: "nRF52840_xxAA".into(),
                chip_uid: None,
                chip_uid_note: Some("no unique-id register known".into()),
                flash: None,
            }
            .into(),
            json!({
                "probe": "sim", "selector": "sim:0", "chip": "nRF52840_xxAA", "chip_uid": null,
                "chip_uid_note": "no unique-id register known", "flash": null,
            }),
        ),
        (
            identified.into(),
            json!({
                "uid": "19E64CC81DB2C24B", "hardware_id": "19E64CC81DB2C24B", "model": "HM-SIM-1",
                "firmware_version": "1.0.0-sim", "sbom": { "sbom": "urn:hallmark:sbom:sim-1.0.0", "sha256": "00" },
                "dialect": "hallmark-v1", "csr_binding": true, "has_key": false, "installed_fingerprint": null,
                "plan": { "plan": "fresh", "supersede": [] }, "protocol_version": 1, "capabilities": 31,
            }),
        ),
        (
            Identified {
                uid: "HM-1".into(),
                hardware_id: "0A0B".into(),
                model: "M".into(),
                firmware_version: "2".into(),
                sbom: None,
                dialect: Some("shaped-v1".into()),
                csr_binding: false,
                has_key: true,
                installed_fingerprint: Some(SHA.into()),
                plan: PlanRecord::ResumeInstall { serial: "01".into() },
                extra: Default::default(),
            }
            .into(),
            json!({
                "uid": "HM-1", "hardware_id": "0A0B", "model": "M", "firmware_version": "2", "sbom": null,
                "dialect": "shaped-v1", "csr_binding": false, "has_key": true, "installed_fingerprint": SHA,
                "plan": { "plan": "resume-install", "serial": "01" },
            }),
        ),
        (
            LabelChecked { template: "Hallmark 50x25 Code 128".into() }.into(),
            json!({ "template": "Hallmark 50x25 Code 128" }),
        ),
        (
            KeyGenerated { public_key: "04ab".into(), replaced_key: false, device: None }.into(),
            json!({ "public_key": "04ab", "replaced_key": false }),
        ),
        (
            KeyGenerated {
                public_key: "04ab".into(),
                replaced_key: true,
                device: Some(json!({ "attestation": "checked" })),
            }
            .into(),
            json!({ "public_key": "04ab", "replaced_key": true, "device": { "attestation": "checked" } }),
        ),
        (csr.clone().into(), json!({ "csr_sha256": SHA, "csr_len": 300, "bound": true, "key_sha256": SHA })),
        (
            csr.retried().into(),
            json!({ "csr_sha256": SHA, "csr_len": 300, "bound": true, "key_sha256": SHA, "retried": true }),
        ),
        (
            Signed {
                serial: "58aa".into(),
                fingerprint: SHA.into(),
                not_after: "2036-11-29T17:39:02Z".into(),
                superseded: vec!["01".into()],
            }
            .into(),
            json!({ "serial": "58aa", "fingerprint": SHA, "not_after": "2036-11-29T17:39:02Z", "superseded": ["01"] }),
        ),
        (
            Installed {
                detail: json!({ "serial": "58aa", "certificate_len": 481, "chain_len": 1029, "trust_anchor_len": 513 }),
            }
            .into(),
            json!({ "serial": "58aa", "certificate_len": 481, "chain_len": 1029, "trust_anchor_len": 513 }),
        ),
        (
            read_back.clone().into(),
            json!({ "certificate_sha256": SHA, "chain_sha256": SHA, "trust_anchor_sha256": SHA, "compared": "digests" }),
        ),
        (
            read_back.retried().into(),
            json!({
                "certificate_sha256": SHA, "chain_sha256": SHA, "trust_anchor_sha256": SHA, "retried": true,
                "compared": "digests"
            }),
        ),
        (
            SelfTested::Link { evidence: json!({ "exchanges": 7, "peer_fingerprint": SHA }) }.into(),
            json!({ "mode": "link", "evidence": { "exchanges": 7, "peer_fingerprint": SHA } }),
        ),
        (SelfTested::Possession { nonce: "c701".into() }.into(), json!({ "mode": "possession", "nonce": "c701" })),
        (
            SelfTested::Broker { peer_fingerprint: SHA.into(), evidence: json!({ "topic": "t" }) }.into(),
            json!({ "mode": "broker", "peer_fingerprint": SHA, "evidence": { "topic": "t" } }),
        ),
        (
            Finished { detail: json!({ "link": { "corrupt_frames": 0, "retransmissions": 0, "stale_frames": 0 } }) }
                .into(),
            json!({ "link": { "corrupt_frames": 0, "retransmissions": 0, "stale_frames": 0 } }),
        ),
        (
            Labelled {
                path: "/tmp/l.pdf".into(),
                sha256: SHA.into(),
                template: "T".into(),
                fields: fields(),
                print: None,
            }
            .into(),
            json!({
                "path": "/tmp/l.pdf", "sha256": SHA, "template": "T",
                // Sorted, as the pipeline writes label fields (a BTreeMap): the string
                // check below holds whether or not serde_json keeps insertion order.
                "fields": { "operator": "", "serial": "58AA4B1CE4FEA71605C1927AD3469166", "uid": "19E64CC81DB2C24B" },
                "print": null,
            }),
        ),
        (
            Labelled {
                path: "/tmp/l.pdf".into(),
                sha256: SHA.into(),
                template: "T".into(),
                fields: Default::default(),
                print: Some(json!({ "printer": "folder:/x", "job_id": null, "outcome": "saved", "bytes": 9 })),
            }
            .into(),
            json!({
                "path": "/tmp/l.pdf", "sha256": SHA, "template": "T", "fields": {},
                "print": { "printer": "folder:/x", "job_id": null, "outcome": "saved", "bytes": 9 },
            }),
        ),
        (
            StepEvent::failed(Step::Csr, json!({ "code": "CSR_KEY_MISMATCH", "message": "m." })),
            json!({ "failure": { "code": "CSR_KEY_MISMATCH", "message": "m." } }),
        ),
        (StepEvent::failed(Step::Keygen, Value::Null), json!({ "failure": null })),
    ]
}

#[test]
fn each_event_serialises_to_the_detail_the_pipeline_wrote() {
    for (event, written) in cases() {
        assert_eq!(event.to_detail().unwrap(), written, "{:?}", event.step());
        // Byte for byte, as the log's hash covers it.
        assert_eq!(event.to_detail().unwrap().to_string(), written.to_string());
    }
}

#[test]
fn each_event_reads_back_as_itself() {
    for (event, written) in cases() {
        let step = event.step();
        assert_eq!(StepEvent::parse(step, &written).unwrap(), event, "{step}");
        let again = StepEvent::parse(step, &event.to_detail().unwrap()).unwrap();
        assert_eq!(again, event, "{step}: build, serialise, parse");
    }
}

#[test]
fn every_step_has_an_event() {
    let covered: std::collections::BTreeSet<&str> = cases()
        .iter()
        .filter(|(e, _)| !matches!(e, StepEvent::Failed { .. }))
        .map(|(e, _)| e.step().as_str())
        .collect();
    assert_eq!(covered.len(), Step::FRESH_RUN.len(), "{covered:?}");
}

#[test]
fn the_dialects_facts_never_override_the_stations() {
    let own = Identified {
        uid: "U".into(),
        hardware_id: "H".into(),
        model: "M".into(),
        firmware_version: "F".into(),
        sbom: None,
        dialect: Some("d".into()),
        csr_binding: false,
        has_key: false,
        installed_fingerprint: None,
        plan: PlanRecord::Reverify { serial: "01".into() },
        extra: Default::default(),
    };
    // Every key the station writes is guarded, whatever the dialect sends.
    let station_keys = keys(&own);
    let hostile: serde_json::Map<String, Value> =
        station_keys.iter().map(|k| (k.clone(), json!("from the board"))).collect();
    let merged = own.clone().with_extra(&Value::Object(hostile));
    assert_eq!(merged, own);
    let merged = own.with_extra(&json!({ "uid": "X", "protocol_version": 1 }));
    let detail = StepEvent::from(merged).to_detail().unwrap();
    assert_eq!(detail["uid"], "U");
    assert_eq!(detail["protocol_version"], 1);
}

fn keys(identified: &Identified) -> Vec<String> {
    let v = StepEvent::from(identified.clone()).to_detail().unwrap();
    v.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn a_detail_of_another_shape_is_an_error_not_a_guess() {
    let e = StepEvent::parse(Step::Identify, &json!({ "port": "/dev/x" })).unwrap_err();
    assert_eq!(e.step, Step::Identify);
    assert!(e.to_string().contains("identify"), "{e}");
    assert!(StepEvent::parse(Step::Selftest, &json!({ "mode": "telepathy" })).is_err());
    assert!(StepEvent::parse(Step::Label, &json!({})).is_err(), "a start event's detail is no end event");
}

/// The v4 fixture is a real log from before the typed events (and before the dialect
/// seam): every step's end detail in it reads back, and writes out as it was stored.
#[test]
fn a_log_written_before_the_types_reads_back_through_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.sqlite");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/log-v4.sqlite"), &path).unwrap();
    let store = Store::open(&path).unwrap();
    let mut seen = 0;
    for run in store.runs().unwrap() {
        for (step, phase, _, _, detail) in store.run_events(&run.run_id).unwrap() {
            let Some(step) = Step::parse(&step) else { continue };
            if phase != "end" {
                continue;
            }
            let event = StepEvent::parse(step, &detail).unwrap_or_else(|e| panic!("{e}: {detail}"));
            assert_eq!(event.step(), step);
            assert_eq!(event.to_detail().unwrap(), detail, "{step}");
            seen += 1;
        }
    }
    assert!(seen >= Step::FRESH_RUN.len(), "{seen} step ends");
}
