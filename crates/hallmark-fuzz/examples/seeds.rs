//! Writes the hand-made seed corpora under `fuzz/corpus/<target>/seed-*` with the
//! project's real encoders (frames, messages, the agent's CSR, rcgen CSRs) and the
//! shipped label templates and example configuration. Deterministic except for the
//! rcgen CSRs (fresh keys); re-running replaces the `seed-*` files only.
//!
//! `cargo run -p hallmark-fuzz --example seeds` (scripts/fuzz.sh runs it when a
//! corpus directory is missing).

use hallmark_agent::soft::SoftKeyStore;
use hallmark_protocol::*;
use std::fs;
use std::path::{Path, PathBuf};

type Seeds = Vec<(String, Vec<u8>)>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus = root.join("fuzz/corpus");
    let write = |target: &str, seeds: Seeds| -> std::io::Result<()> {
        let dir: PathBuf = corpus.join(target);
        fs::create_dir_all(&dir)?;
        for (name, bytes) in &seeds {
            fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
        println!("{target}: {} seeds", seeds.len());
        Ok(())
    };

    let requests = requests();
    let responses = responses();
    let mut messages: Seeds = Vec::new();
    let mut frames: Seeds = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        messages.push((format!("request-{i}"), r.to_body()));
    }
    for (i, r) in responses.iter().enumerate() {
        messages.push((format!("response-{i}"), r.to_body()));
        let frame = Frame { version: PROTOCOL_VERSION, request_id: i as u16 + 1, body: r.to_body() };
        frames.push((format!("response-{i}"), frame.encode().ok_or("frame too large")?));
    }
    // A stream: noise, an idle delimiter, two frames, an oversized run, a frame.
    let mut stream = vec![0x55, 0x01, 0x00, 0x00];
    for r in responses.iter().take(2) {
        stream.extend(Frame { version: 1, request_id: 7, body: r.to_body() }.encode().ok_or("frame too large")?);
    }
    stream.extend(std::iter::repeat_n(0x42, MAX_ENCODED_FRAME + 2));
    stream.push(0);
    stream.extend(Frame { version: 1, request_id: 8, body: Response::Finished.to_body() }.encode().ok_or("frame")?);
    frames.push(("stream".into(), stream));
    // A frame whose body is exactly the largest allowed.
    let full = Frame { version: 1, request_id: 9, body: vec![0xA5; MAX_FRAME - 7] };
    frames.push(("largest".into(), full.encode().ok_or("frame too large")?));
    write("frame_decoder", frames)?;
    write("message_decoder", messages)?;

    let mut csrs: Seeds = Vec::new();
    csrs.push(("agent-p256".into(), agent_csr()?));
    for (name, alg) in [
        ("rcgen-p256", &rcgen::PKCS_ECDSA_P256_SHA256),
        ("rcgen-p384", &rcgen::PKCS_ECDSA_P384_SHA384),
        ("rcgen-ed25519", &rcgen::PKCS_ED25519),
    ] {
        let key = rcgen::KeyPair::generate_for(alg)?;
        let params = rcgen::CertificateParams::new(vec!["device.example".to_string()])?;
        csrs.push((name.into(), params.serialize_request(&key)?.der().to_vec()));
    }
    // With a PKCS#9 challengePassword attribute (UTF8String).
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let challenge = b"3F2A9C0D11E4";
    let mut value = vec![0x0C, challenge.len() as u8];
    value.extend_from_slice(challenge);
    let attribute = rcgen::Attribute { oid: &[1, 2, 840, 113549, 1, 9, 7], values: value };
    let csr = rcgen::CertificateParams::new(Vec::new())?.serialize_request_with_attributes(&key, vec![attribute])?;
    csrs.push(("rcgen-challenge".into(), csr.der().to_vec()));
    write("csr_check", csrs)?;

    let mut templates: Seeds = Vec::new();
    for entry in fs::read_dir(root.join("label-templates"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("template").to_string();
            templates.push((name, fs::read(&path)?));
        }
    }
    templates.push(("all-kinds".into(), ALL_KINDS.as_bytes().to_vec()));
    write("label_template", templates)?;

    let example = fs::read_to_string(root.join("config/station.example.toml"))?;
    let broker = example.replacen(
        "[selftest]\nmode = \"auto\"",
        "[selftest]\nmode = \"broker\"\n[selftest.broker]\naddress = \"127.0.0.1:8883\"",
        1,
    );
    write(
        "config_parser",
        vec![
            ("station-example".into(), example.clone().into_bytes()),
            ("broker".into(), broker.into_bytes()),
            ("sequence-probe".into(), SEQUENCE_PROBE.as_bytes().to_vec()),
        ],
    )?;

    write("mqtt_packet", mqtt())?;
    Ok(())
}

/// The agent's CSR (`hallmark_agent::csr`, without a challenge), signed by the
/// agent's software key store with a fixed key.
fn agent_csr() -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut keys = SoftKeyStore::from_secret_bytes(&[0x11; 32]).map_err(|_| "key")?;
    Ok(hallmark_agent::csr::build(&mut keys, "515B053526DFB49F", None).map_err(|e| format!("{e:?}"))?)
}

fn requests() -> Vec<Request> {
    vec![
        Request::Hello { min_version: 1, max_version: 1 },
        Request::GenerateKey { algorithm: KeyAlgorithm::EcdsaP256 },
        Request::ReadObject { object: ObjectId::Csr, offset: 512 },
        Request::WriteObject { object: ObjectId::Chain, offset: 0, total_len: 600, data: vec![0x30; MAX_CHUNK] },
        Request::CommitInstall { certificate_sha256: [1; 32], chain_sha256: [2; 32], trust_anchor_sha256: [3; 32] },
        Request::SelfTest { nonce: [9; 32] },
        Request::Finish,
        Request::TlsStart,
        Request::TlsData { data: vec![0x16, 3, 3, 0, 5, 1, 2, 3, 4, 5] },
        Request::BrokerTest {
            host: "127.0.0.1".into(),
            port: 8883,
            server_name: "localhost".into(),
            topic: "devices/0123456789ABCDEF/selftest".into(),
            nonce: [7; 32],
            timeout_ms: 5000,
        },
    ]
}

fn responses() -> Vec<Response> {
    vec![
        Response::Hello(DeviceInfo {
            protocol_version: 1,
            hardware_id: vec![0x51, 0x5B, 0x05, 0x35, 0x26, 0xDF, 0xB4, 0x9F],
            model: "HM-SIM-1".into(),
            firmware_version: "1.0.0".into(),
            capabilities: capability::KEYGEN_P256 | capability::SELFTEST_SIGN | capability::SELFTEST_BROKER,
            has_key: true,
            has_certificate: false,
        }),
        Response::KeyGenerated { algorithm: KeyAlgorithm::EcdsaP256, public_key: vec![4; 65] },
        Response::Chunk { total_len: 700, offset: 512, data: vec![0xAB; 188] },
        Response::Written { received: 512 },
        Response::Installed,
        Response::SelfTest { signature: vec![0x30; 72] },
        Response::Finished,
        Response::Error { code: ErrorCode::BAD_OFFSET, detail: "offset past the object".into() },
        Response::TlsData { data: vec![0x16, 3, 3, 0, 2, 0xAA, 0xBB], pending: 100, established: false },
        Response::BrokerResult { outcome: BrokerOutcome::TLS_REVOKED, connect_ms: 120, detail: "alert".into() },
    ]
}

fn mqtt() -> Seeds {
    let publish_qos1 = {
        let mut b = vec![0x00, 0x0B];
        b.extend_from_slice(b"devices/A1/");
        b.extend_from_slice(&[0x00, 0x01, 0x03, 0x01, 0x01, 0x00]); // id, properties
        b.extend_from_slice(b"nonce-bytes");
        let mut p = vec![0x32, b.len() as u8];
        p.extend(b);
        p
    };
    let publish_qos0 = {
        let mut p = vec![0x30, 0x08, 0x00, 0x01, b't', 0x00];
        p.extend_from_slice(b"hiya");
        p
    };
    let long_publish = {
        // Two-byte remaining length (200 + 5).
        let mut p = vec![0x30, 0xCD, 0x01, 0x00, 0x02, b'a', b'b', 0x00];
        p.extend(std::iter::repeat_n(0x5A, 200));
        p
    };
    let connack = vec![0x20, 0x03, 0x00, 0x00, 0x00];
    let mut stream = connack.clone();
    stream.extend_from_slice(&[0xD0, 0x00]);
    stream.extend_from_slice(&[0x90, 0x04, 0x00, 0x01, 0x00, 0x01]);
    stream.extend_from_slice(&publish_qos1);
    stream.extend_from_slice(&[0x40, 0x02, 0x00, 0x02]);
    vec![
        ("connack".into(), connack),
        ("connack-refused".into(), vec![0x20, 0x03, 0x00, 0x87, 0x00]),
        ("puback".into(), vec![0x40, 0x02, 0x00, 0x01]),
        ("puback-reason".into(), vec![0x40, 0x04, 0x00, 0x01, 0x10, 0x00]),
        ("suback".into(), vec![0x90, 0x04, 0x00, 0x01, 0x00, 0x01]),
        ("suback-props".into(), vec![0x90, 0x08, 0x00, 0x01, 0x04, 0x1F, 0x00, 0x01, b'x', 0x80]),
        ("publish-qos1".into(), publish_qos1),
        ("publish-qos0".into(), publish_qos0),
        ("publish-long".into(), long_publish),
        ("pingresp".into(), vec![0xD0, 0x00]),
        ("disconnect".into(), vec![0xE0, 0x01, 0x8E]),
        ("stream".into(), stream),
    ]
}

/// Every element kind and option once, on a label that checks.
const ALL_KINDS: &str = r#"name = "all kinds"
width_mm = 80.0
height_mm = 60.0
dpi = 203
margin_mm = 1.0

[[element]]
kind = "text"
x_mm = 2.0
y_mm = 2.0
size_pt = 8.0
text = "{uid} {date:DD.MM.YY} W{date:WW}"
fit = "wrap"
max_lines = 3
max_width_mm = 30.0
align = "right"
min_size_pt = 4.0

[[element]]
kind = "text"
x_mm = 75.0
y_mm = 2.0
size_pt = 6.0
text = "{serial}"
rotation = 90

[[element]]
kind = "code128"
x_mm = 2.0
y_mm = 20.0
height_mm = 6.0
module_mm = 0.25
data = "(01)09501101530003(21){uid}"
gs1 = true

[[element]]
kind = "qr"
x_mm = 40.0
y_mm = 30.0
module_mm = 0.5
ecc = "H"
data = "{hardware_id}"
rotation = 180

[[element]]
kind = "datamatrix"
x_mm = 10.0
y_mm = 35.0
module_mm = 0.5
data = "{cert_fingerprint}"
rotation = 270

[[element]]
kind = "line"
x_mm = 2.0
y_mm = 30.0
length_mm = 20.0
thickness_mm = 0.3
direction = "vertical"

[[element]]
kind = "box"
x_mm = 1.0
y_mm = 1.0
width_mm = 78.0
height_mm = 58.0
thickness_mm = 0.2

[[element]]
kind = "image"
x_mm = 60.0
y_mm = 50.0
width_mm = 12.0
height_mm = 4.0
path = "hallmark-logo.png"
rotation = 180
"#;

/// A configuration with a sequence UID scheme, a probe slot and a folder printer.
const SEQUENCE_PROBE: &str = r#"version = 1

[station]
id = "bench-2"

[[slot]]
name = "P1"
probe = "0483:374b"
chip = "STM32F401RETx"

[uid]
scheme = "sequence"
prefix = "HM-"
date = "YYWW-"
width = 6
check = "iso7064-mod37-36"

[label.printer]
kind = "folder"
path = "/tmp/labels"
format = "zpl"

[timeouts]
attempts = 3
"#;
