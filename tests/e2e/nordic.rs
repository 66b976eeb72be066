//! Nordic's own Python tools drive the simulated nRF91 modem (`hallmark sim --dialect
//! nrf91-at`): `device_credentials_installer` (nrfcloud-utils 3.3.1), `nrfcredstore`
//! 2.1.0 and `gather_attestation_tokens`, unchanged but for the port lookup
//! (`tests/e2e/nordic/run_nordic.py`). If they accept it, the simulator speaks the
//! dialect real modems speak, as Nordic's code reads it.
//!
//! The tools live in the venv `scripts/setup.sh --dev` creates (`target/nordic-venv`).
//! Without it these tests say they are skipped, or fail when
//! `HALLMARK_REQUIRE_NORDIC_TOOLS=1` (as `scripts/test.sh` sets it).

use crate::support::{run_ok, Sim};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Nordic's default sec tag (the installer's `-S`).
const SEC_TAG: &str = "16842753";

/// The venv with Nordic's tools, or `None` (skip) when it is missing and not required.
fn nordic_python() -> Option<PathBuf> {
    let venv = std::env::var_os("HALLMARK_NORDIC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/nordic-venv"));
    let python = venv.join("bin/python");
    if python.is_file() {
        return Some(python);
    }
    let why = format!("Nordic's tools are not installed: no {} (scripts/setup.sh --dev creates it)", python.display());
    if std::env::var("HALLMARK_REQUIRE_NORDIC_TOOLS").as_deref() == Ok("1") {
        panic!("{why}; HALLMARK_REQUIRE_NORDIC_TOOLS=1 requires them");
    }
    eprintln!("SKIPPED (Nordic tools): {why}");
    None
}

/// What one of Nordic's tools did.
struct Ran {
    code: Option<i32>,
    /// stdout.
    stdout: String,
    /// stdout, then stderr (their logging goes to either).
    output: String,
    took: Duration,
}

impl Ran {
    /// The AT commands the tool sent, in order, from its debug log (`> AT...`); a
    /// `%CMNG` write is cut at its opening quote.
    fn commands(&self) -> Vec<String> {
        self.output
            .lines()
            .filter_map(|l| l.split_once("> ").map(|(_, c)| c))
            .filter(|c| c.starts_with("AT") || c.starts_with("at "))
            .map(|c| c.split('"').next().unwrap_or(c).trim_end_matches(',').to_string())
            .collect()
    }
}

/// Runs `tool` (see `run_nordic.py`) with `args` in `dir`, killed after 120 s.
fn nordic(python: &Path, dir: &Path, tool: &str, args: &[&str]) -> Ran {
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/nordic/run_nordic.py");
    let (out, err) = (dir.join(format!("{tool}.out")), dir.join(format!("{tool}.err")));
    let started = Instant::now();
    let mut child = Command::new(python)
        .arg(&wrapper)
        .arg(tool)
        .args(args)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null()) // the installer's CSV prompt must never wait for a person
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("start Nordic's tool");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            child.wait().ok();
            panic!("{tool} {args:?} still ran after 120 s: {}", std::fs::read_to_string(&err).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let stdout = std::fs::read_to_string(&out).unwrap();
    let output = stdout.clone() + &std::fs::read_to_string(&err).unwrap();
    Ran { code: status.code(), stdout, output, took }
}

/// A throwaway CA (P-256) for the installer to sign the modem's certificate with.
fn throwaway_ca(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("ca.pem"), dir.join("ca.key"));
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=Hallmark e2e throwaway CA", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    (cert, key)
}

/// `device_credentials_installer --port <pty> --cmd-type at --ca --ca-key --verify -d
/// --csv onboard.csv`: key generation on the modem, certificate from the CA, CA and
/// certificate written, all three read back by digest.
fn install(python: &Path, dir: &Path, port: &str, ca: &(PathBuf, PathBuf)) -> Ran {
    let (ca_cert, ca_key) = (ca.0.to_str().unwrap(), ca.1.to_str().unwrap());
    let args = ["--port", port, "--cmd-type", "at", "--ca", ca_cert, "--ca-key", ca_key, "--verify", "-d"];
    nordic(
        python,
        dir,
        "device_credentials_installer",
        &[&args[..], &["--csv", "onboard.csv", "-P", "--log-level", "debug"]].concat(),
    )
}

fn credential(state: &Value, kind: u8) -> Option<&str> {
    state["credentials"][format!("{SEC_TAG}/{kind}")].as_str()
}

fn openssl_x509(pem: &str, dir: &Path, args: &[&str]) -> String {
    let file = dir.join("x509-input.pem");
    std::fs::write(&file, pem).unwrap();
    run_ok(Command::new("openssl").arg("x509").arg("-in").arg(&file).args(args))
}

#[test]
fn nordic_installer_provisions_and_verifies_the_simulated_modem() {
    let Some(python) = nordic_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = throwaway_ca(dir.path());
    let sim = Sim::modem(&dir.path().join("modem.json"), &[]);
    let ran = install(&python, dir.path(), &sim.port, &ca);
    assert_eq!(ran.code, Some(0), "the installer failed:\n{}", ran.output);
    assert!(ran.output.contains("Credential verification: PASS"), "{}", ran.output);
    for verified in ["CA Cert", "Client Cert"] {
        assert!(!ran.output.contains(&format!("{verified} exists, SHA not verified")), "{}", ran.output);
    }

    // What Nordic's installer sends, in order (docs/nrf91.md, "What Nordic's tools send").
    let cmng = |op: u8, kind: u8| format!("AT%CMNG={op},{SEC_TAG},{kind}");
    let expected = [
        "AT+CFUN=4".to_string(),
        "AT+CGSN".into(),
        "AT+CGMR".into(),
        cmng(3, 0),
        cmng(3, 1),
        cmng(3, 2),
        format!("AT%KEYGEN={SEC_TAG},2,0"),
        cmng(0, 0),
        cmng(0, 1),
        cmng(1, 0),
        cmng(1, 1),
        cmng(1, 2),
    ];
    assert_eq!(ran.commands(), expected, "{}", ran.output);

    // The modem holds what the installer wrote: the certificate it issued (type 1, CR LF
    // inside, exactly the onboarding CSV's certificate), Nordic's CA (type 0), and the key.
    let state = sim.state_json();
    let uuid = state["uuid"].as_str().unwrap();
    let csv = std::fs::read_to_string(dir.path().join("onboard.csv")).unwrap();
    assert!(csv.starts_with(&format!("{uuid},")), "the device ID is the CSR's CN, the modem's UUID: {csv}");
    let cert = credential(&state, 1).expect("the client certificate is on the modem");
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\r\n") && cert.ends_with("-----END CERTIFICATE-----\r\n"));
    assert!(!cert.replace("\r\n", "").contains('\n'), "CR LF line ends only");
    assert!(csv.contains(&cert.replace("\r\n", "\n")), "the CSV's certificate is the one on the modem");
    let cert_file = dir.path().join("modem-cert.pem");
    std::fs::write(&cert_file, cert).unwrap();
    let verified = run_ok(Command::new("openssl").arg("verify").arg("-CAfile").arg(&ca.0).arg(&cert_file));
    assert!(verified.trim().ends_with(": OK"), "{verified}");
    let subject = openssl_x509(cert, dir.path(), &["-noout", "-subject"]);
    assert!(subject.contains(uuid), "{subject}");
    let modem_ca = credential(&state, 0).expect("the CA is on the modem");
    let ca_subject = openssl_x509(modem_ca, dir.path(), &["-noout", "-subject"]);
    assert!(ca_subject.contains("Amazon Root CA 1"), "nrfcloud-utils writes nRF Cloud's CA: {ca_subject}");
    assert!(credential(&state, 2).is_some(), "the generated key stays in the tag");
}

#[test]
fn nordic_credstore_lists_what_the_simulated_modem_holds() {
    let Some(python) = nordic_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (ca_cert, _) = throwaway_ca(dir.path());
    let sim = Sim::modem(&dir.path().join("modem.json"), &[]);
    let port = sim.port.as_str();
    let write =
        nordic(&python, dir.path(), "nrfcredstore", &[port, "write", "42", "ROOT_CA_CERT", ca_cert.to_str().unwrap()]);
    assert_eq!(write.code, Some(0), "{}", write.output);
    let generate = nordic(&python, dir.path(), "nrfcredstore", &[port, "generate", "42", "csr.der"]);
    assert_eq!(generate.code, Some(0), "{}", generate.output);
    let csr = std::fs::read(dir.path().join("csr.der")).unwrap();
    assert_eq!(csr.first(), Some(&0x30), "nrfcredstore saved the modem's CSR (DER)");

    let list = nordic(&python, dir.path(), "nrfcredstore", &[port, "--debug", "list"]);
    assert_eq!(list.code, Some(0), "{}", list.output);
    // Its own detection: `at AT+CGSN` three times (shell), then plain AT.
    assert_eq!(
        list.commands(),
        ["at AT+CGSN", "at AT+CGSN", "at AT+CGSN", "AT+CGSN", "AT+CMEE=1", "AT+CFUN=4", "AT%CMNG=1"],
        "{}",
        list.output
    );
    // Its table lists exactly what the simulator holds, with the digest of the exact
    // stored text (nrfcredstore writes the file's text without trailing whitespace).
    let rows: Vec<Vec<String>> = list
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Secure tag"))
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    let state = sim.state_json();
    let stored = state["credentials"].as_object().unwrap();
    assert_eq!(rows.len(), stored.len(), "{rows:?} vs {stored:?}");
    let ca_text = std::fs::read_to_string(&ca_cert).unwrap();
    assert_eq!(stored["42/0"].as_str().unwrap(), ca_text.trim_end());
    let ca_digest = hex::encode_upper(Sha256::digest(ca_text.trim_end().as_bytes()));
    assert_eq!(rows[0], ["42", "ROOT_CA_CERT", ca_digest.as_str()]);
    assert_eq!(rows[1][..2], ["42", "CLIENT_KEY"]);
    assert_eq!(rows[1][2].len(), 64);

    let imei = nordic(&python, dir.path(), "nrfcredstore", &[port, "imei"]);
    assert!(imei.output.contains(&format!("IMEI: {}", state["imei"].as_str().unwrap())), "{}", imei.output);

    // The attestation token, read and parsed by Nordic's gather_attestation_tokens.
    let gather = nordic(
        &python,
        dir.path(),
        "gather_attestation_tokens",
        &["--port", port, "--cmd-type", "at", "--csv", "tokens.csv", "-P", "--log-level", "debug"],
    );
    assert_eq!(gather.code, Some(0), "{}", gather.output);
    assert!(gather.output.contains("Dev Type:    nRF9151 LACA"), "{}", gather.output);
    let row = std::fs::read_to_string(dir.path().join("tokens.csv")).unwrap();
    let fields: Vec<&str> = row.trim().split(',').collect();
    assert_eq!(fields[..2], [state["imei"].as_str().unwrap(), state["uuid"].as_str().unwrap()], "{row}");

    // Deleting through nrfcredstore empties the simulator's store.
    let delete = nordic(&python, dir.path(), "nrfcredstore", &[port, "delete", "42", "ROOT_CA_CERT"]);
    assert_eq!(delete.code, Some(0), "{}", delete.output);
    assert!(sim.state_json()["credentials"].get("42/0").is_none());
}

#[test]
fn nordic_installer_fails_on_a_full_credential_store() {
    let Some(python) = nordic_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = throwaway_ca(dir.path());
    let sim = Sim::modem(&dir.path().join("modem.json"), &["storage-full"]);
    let ran = install(&python, dir.path(), &sim.port, &ca);
    // The installer ignores the writes' ERROR; its --verify finds nothing and exits 12.
    assert_eq!(ran.code, Some(12), "{}", ran.output);
    assert!(ran.output.contains("Credential verification: FAIL"), "{}", ran.output);
    let state = sim.state_json();
    assert!(credential(&state, 0).is_none() && credential(&state, 1).is_none(), "nothing was stored: {state}");
}

#[test]
fn nordic_installer_timing_on_a_paced_115200_baud_line() {
    let Some(python) = nordic_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = throwaway_ca(dir.path());
    let paced = Sim::start_args(&dir.path().join("paced.json"), &["--dialect", "nrf91-at", "--baud", "115200"]);
    let ran = install(&python, dir.path(), &paced.port, &ca);
    assert_eq!(ran.code, Some(0), "{}", ran.output);
    assert!(credential(&paced.state_json(), 1).is_some());
    std::fs::remove_file(dir.path().join("onboard.csv")).unwrap();
    let unpaced = Sim::modem(&dir.path().join("unpaced.json"), &[]);
    let fast = install(&python, dir.path(), &unpaced.port, &ca);
    assert_eq!(fast.code, Some(0), "{}", fast.output);
    eprintln!(
        "TIMING nordic device_credentials_installer --verify -d: {:.2} s against hallmark sim --dialect nrf91-at \
         --baud 115200 (paced), {:.2} s unpaced",
        ran.took.as_secs_f64(),
        fast.took.as_secs_f64()
    );
}
