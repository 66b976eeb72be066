//! Benchmark: certificates per second for CSR-verify + sign + PEM, with the issuing
//! key in an encrypted file (unlocked in memory) and in a PKCS#11 token (SoftHSM2),
//! beside `openssl x509 -req` run once per certificate on the same CSRs.
//!
//! `cargo run --release -p hallmark-ca --example bench_sign -- 2000`
//!
//! A measurement, never a test. Needs softhsm2-util and openssl on PATH.

use hallmark_ca::pkcs11::TokenRef;
use hallmark_ca::{CaStore, Device, LeafProfile, Passphrase, VerifiedCsr};
use rcgen::{CertificateParams, KeyPair};
use std::process::Command;
use std::time::Instant;
use time::OffsetDateTime;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let csrs: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            let key = KeyPair::generate().expect("key");
            CertificateParams::new(vec![]).expect("params").serialize_request(&key).expect("csr").der().to_vec()
        })
        .collect();
    let pass = || Passphrase::for_new_ca("benchmark passphrase".into()).expect("passphrase");
    let profile = LeafProfile::default();

    let file_ca = CaStore::new(dir.path().join("file")).create(&pass(), OffsetDateTime::now_utc()).expect("CA");
    let rate = |ca: &hallmark_ca::IssuingCa, count: usize| {
        let t = Instant::now();
        for (i, der) in csrs.iter().take(count).enumerate() {
            let csr = VerifiedCsr::from_der(der).expect("csr");
            let uid = format!("HM{i:08}");
            let cert = ca
                .issue(Device { uid: &uid, hardware_id: &uid }, &csr, &profile, OffsetDateTime::now_utc())
                .expect("issue");
            std::hint::black_box(cert.pem);
        }
        count as f64 / t.elapsed().as_secs_f64()
    };
    let file_rate = rate(&file_ca, n);
    println!("file key (in memory):   {file_rate:>8.0} certificates/s  ({n} CSRs)");

    // SoftHSM2 token.
    let conf = dir.path().join("softhsm2.conf");
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).expect("tokens");
    std::fs::write(&conf, format!("directories.tokendir = {}\nlog.level = ERROR\n", tokens.display())).expect("conf");
    // Single-threaded: the token library reads this when it is loaded below.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let init = Command::new("softhsm2-util")
        .args(["--init-token", "--free", "--label", "bench", "--so-pin", "12345678", "--pin", "87654321"])
        .output();
    if init.map(|o| o.status.success()).unwrap_or(false) {
        let r = TokenRef {
            module: "/usr/lib/softhsm/libsofthsm2.so".into(),
            token_label: "bench".into(),
            key_label: "issuing".into(),
        };
        let token_ca = CaStore::new(dir.path().join("token"))
            .create_with_token(&pass(), &r, "87654321", OffsetDateTime::now_utc())
            .expect("token CA");
        let token_rate = rate(&token_ca, n);
        println!("PKCS#11 key (SoftHSM2): {token_rate:>8.0} certificates/s");
    } else {
        println!("PKCS#11 key (SoftHSM2): skipped (softhsm2-util not available)");
    }

    // openssl x509 -req, one process per certificate, on the same CSRs.
    let ossl = dir.path().join("openssl");
    std::fs::create_dir_all(&ossl).expect("dir");
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(vec![]).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    std::fs::write(ossl.join("ca.pem"), ca_cert.pem()).expect("write");
    std::fs::write(ossl.join("ca.key"), ca_key.serialize_pem()).expect("write");
    std::fs::write(ossl.join("ext.cnf"), "basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n").expect("write");
    let m = n.min(200);
    for (i, der) in csrs.iter().take(m).enumerate() {
        let pem = pem_encode("CERTIFICATE REQUEST", der);
        std::fs::write(ossl.join(format!("{i}.csr")), pem).expect("write");
    }
    let t = Instant::now();
    for i in 0..m {
        let st = Command::new("openssl")
            .current_dir(&ossl)
            .args([
                "x509",
                "-req",
                "-in",
                &format!("{i}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-days",
                "3650",
                "-extfile",
                "ext.cnf",
                "-set_serial",
                &format!("{}", i + 1),
                "-out",
                &format!("{i}.pem"),
            ])
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl");
        assert!(st.success());
    }
    let ossl_rate = m as f64 / t.elapsed().as_secs_f64();
    println!("openssl x509 -req:      {ossl_rate:>8.1} certificates/s  ({m} CSRs, one process each)");
    println!("ratio file key / openssl: {:.0}x", file_rate / ossl_rate);
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    use pkcs8::der::pem::{encode_string, LineEnding};
    encode_string(label, LineEnding::LF, der).expect("pem")
}
