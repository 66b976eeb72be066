//! The `selftest` step: the board proves, with its new identity, that the identity
//! works. Which test runs is the station's choice (`[selftest] mode`) among those the
//! board's dialect offers; the test and its evidence are recorded by name.

use super::errors::{self, sanitize};
use super::steps::StepResult;
use super::{step_deadline, Station, Step};
use crate::dialect::{Capabilities, Dialect};
use crate::selftest::{self, BrokerFailure, LinkFailure};
use crate::{Failure, FailureCode};
use hallmark_ca::fingerprint;
use hallmark_protocol::NONCE_LEN;
use hallmark_store::SelfTested;

/// The self-test step's deadline: the usual one, plus the broker's window twice
/// (the station's subscribe, then the board's connect and publish) in broker mode.
pub(crate) fn selftest_deadline(station: &Station) -> std::time::Duration {
    let base = step_deadline(Step::Selftest, &station.timeouts);
    match &station.config.config.selftest.broker {
        Some(b) if station.config.config.selftest.mode == hallmark_config::SelftestMode::Broker => {
            base + std::time::Duration::from_millis(2 * b.timeout_ms as u64)
        }
        _ => base,
    }
}

/// The self-test the station's mode picks among those the board offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chosen {
    Link,
    Possession,
    Broker,
    /// A board that cannot prove possession on request (an AT-command modem): its
    /// attested key, checked as the dialect can.
    AttestedKey,
}

/// The self-test this board will run, or why it cannot: checked at `identify`, so a
/// board that cannot prove its identity is refused before anything is issued.
pub(crate) fn choose(station: &Station, capabilities: &Capabilities) -> Result<(), Failure> {
    chosen(station, capabilities).map(|_| ())
}

fn chosen(station: &Station, capabilities: &Capabilities) -> Result<Chosen, Failure> {
    use hallmark_config::SelftestMode;
    let offers = capabilities.self_tests;
    let mode = station.config.config.selftest.mode;
    match mode {
        SelftestMode::Auto if offers.tls_link => Ok(Chosen::Link),
        SelftestMode::Auto if offers.possession => Ok(Chosen::Possession),
        SelftestMode::Auto if offers.attested_key => Ok(Chosen::AttestedKey),
        SelftestMode::Link if offers.tls_link => Ok(Chosen::Link),
        SelftestMode::Possession if offers.possession => Ok(Chosen::Possession),
        SelftestMode::Broker if offers.broker => Ok(Chosen::Broker),
        SelftestMode::Auto => Err(lacks("link, possession or attested-key", "auto")),
        SelftestMode::Link => Err(lacks("TLS link", "link")),
        SelftestMode::Possession => Err(lacks("possession", "possession")),
        SelftestMode::Broker => Err(lacks("broker", "broker")),
    }
}

/// The board's firmware does not offer the self-test the station is set to.
fn lacks(what: &str, mode: &str) -> Failure {
    Failure::new(
        FailureCode::SelftestFailed,
        format!(
            "The station is set to the {what} self-test, but this board's firmware does not offer it. Nothing was \
             generated or issued."
        ),
        format!("Flash firmware that does, or set [selftest] mode = \"auto\" (now {mode:?})."),
    )
    .with_reason("unsupported")
}

/// Runs the configured self-test against the installed `certificate`; also used on
/// its own to re-check a provisioned board.
pub(crate) async fn self_test<D: Dialect>(
    dialect: &mut D,
    capabilities: &Capabilities,
    station: &Station,
    uid: &str,
    certificate: &[u8],
) -> StepResult<(), SelfTested> {
    match chosen(station, capabilities)? {
        Chosen::Broker => broker_self_test(dialect, station, uid, certificate).await,
        Chosen::Link => match dialect.tls_link(&station.ca, certificate).await {
            Ok(evidence) => Ok(((), SelfTested::Link { evidence: evidence_json(&evidence) })),
            Err(LinkFailure::Link(e)) => Err(errors::link(Step::Selftest, e)),
            Err(LinkFailure::Unsupported(detail)) => Err(lacks("TLS link", "link").with_detail(detail)),
            Err(LinkFailure::Refused(why)) => Err(Failure::new(
                FailureCode::SelftestFailed,
                format!(
                    "The board could not complete a mutual-TLS handshake with its new identity: {}.",
                    sanitize(&why)
                ),
                "Set it aside for engineering.",
            )
            .with_reason("tls-refused")),
        },
        Chosen::AttestedKey => {
            let evidence = dialect.attested_key(certificate).await.map_err(|e| e.at(Step::Selftest))?;
            Ok(((), SelfTested::AttestedKey { evidence }))
        }
        Chosen::Possession => {
            let nonce: [u8; NONCE_LEN] = rand::random();
            let signature = dialect.sign_nonce(&nonce).await.map_err(|e| e.at(Step::Selftest))?;
            // Verified by the rule of the certificate's key type (P-256, P-384, Ed25519).
            selftest::verify_possession(certificate, &nonce, &signature).map_err(errors::possession)?;
            Ok(((), SelfTested::Possession { nonce: hex::encode(nonce) }))
        }
    }
}

async fn broker_self_test<D: Dialect>(
    dialect: &mut D,
    station: &Station,
    uid: &str,
    certificate: &[u8],
) -> StepResult<(), SelfTested> {
    let Some(broker) = &station.config.config.selftest.broker else {
        // The configuration is validated at load: broker mode always has a broker.
        return Err(lacks("broker", "broker"));
    };
    match dialect.broker_test(&station.ca, &station.station_id, broker, uid).await {
        Ok(evidence) => Ok((
            (),
            SelfTested::Broker { peer_fingerprint: fingerprint(certificate), evidence: evidence_json(&evidence) },
        )),
        Err(BrokerFailure::Link(e)) => Err(errors::link(Step::Selftest, e)),
        Err(BrokerFailure::Station(e)) => {
            // Station-side text (socket, TLS, our own hints): bounded, no control characters.
            let detail: String = e.to_string().chars().filter(|c| !c.is_control()).take(400).collect();
            Err(Failure::new(
                FailureCode::BrokerUnavailable,
                format!(
                    "The station could not use the self-test broker at {}: {detail}. The board is not at fault.",
                    broker.address
                ),
                "Check that the broker runs, trusts this station's CA and lets the station read the self-test \
                 topics, then run the board again.",
            )
            .with_reason(e.outcome.name()))
        }
        Err(BrokerFailure::Board { reason, detail }) => Err(Failure::new(
            FailureCode::SelftestFailed,
            broker_what(reason, &broker.address, &detail),
            "Set the board aside for engineering.",
        )
        .with_reason(reason)),
    }
}

/// A self-test's evidence as the log keeps it.
fn evidence_json(evidence: &impl serde::Serialize) -> serde_json::Value {
    // Evidence is strings and numbers: serialising it cannot fail.
    serde_json::to_value(evidence).unwrap_or_default()
}

/// What happened when the board failed at the broker.
fn broker_what(reason: &str, address: &str, detail: &str) -> String {
    let what = match reason {
        "revoked" => "the broker refused the board's certificate as revoked",
        "unknown-ca" => "the broker does not know the CA of the certificate the board presented",
        "expired" => "the broker refused the board's certificate as expired",
        "not-authorized" => {
            "the broker refused the board's publish: its certificate CN (the broker username) does not own the topic"
        }
        "timeout" => "the broker did not answer the board in time",
        "unreachable" => "the board could not reach the broker",
        "broker-untrusted" => "the board does not trust the broker's certificate",
        "not-delivered" => "the board's message never reached the station",
        _ => "the board could not prove its identity at the broker",
    };
    format!("Self-test at the broker {address} failed: {what} ({detail}).")
}
