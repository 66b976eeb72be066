//! The session against a scripted MQTT 5 broker on 127.0.0.1 (rustls server, a few
//! hand-written packets): the classification of every failure into a
//! `BrokerOutcome`, the deadlines, the server name, cancelling. The real-mosquitto
//! tests are the end-to-end ones (`tests/e2e/broker.rs`).

use hallmark_mqtt::{client_config, BrokerOutcome, Endpoint, Session};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A CA, a broker certificate for `broker.test` only, and a client identity.
struct Pki {
    ca: Vec<u8>,
    server_chain: Vec<Vec<u8>>,
    server_key: Vec<u8>,
    client_chain: Vec<Vec<u8>>,
    client_key: Vec<u8>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "Test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.clone().self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, &ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(Vec::new()).unwrap();
    server.subject_alt_names = vec![SanType::DnsName("broker.test".try_into().unwrap())];
    server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(Vec::new()).unwrap();
    client.distinguished_name.push(DnType::CommonName, "A1");
    client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client_cert = client.signed_by(&client_key, &issuer).unwrap();
    Pki {
        ca: ca_cert.der().to_vec(),
        server_chain: vec![server_cert.der().to_vec()],
        server_key: server_key.serialize_der(),
        client_chain: vec![client_cert.der().to_vec()],
        client_key: client_key.serialize_der(),
    }
}

/// What the scripted broker does.
#[derive(Clone, Default)]
struct Script {
    /// Refuse the client certificate with this (rustls sends the matching alert).
    reject_client: Option<CertificateError>,
    connack: u8,
    puback: u8,
    /// After granting a subscription, publish this payload (QoS 1) to it.
    deliver: Option<Vec<u8>>,
}

/// Accepts client certificates from the CA, or refuses them all as the script says.
#[derive(Debug)]
struct Verdict {
    inner: Arc<dyn ClientCertVerifier>,
    reject: Option<CertificateError>,
}

impl ClientCertVerifier for Verdict {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match &self.reject {
            Some(e) => Err(rustls::Error::InvalidCertificate(e.clone())),
            None => self.inner.verify_client_cert(end_entity, intermediates, now),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A one-connection broker following `script`; returns its port.
fn broker(pki: &Pki, script: Script) -> (u16, JoinHandle<()>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(pki.ca.clone())).unwrap();
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let verifier = Arc::new(Verdict { inner, reject: script.reject_client.clone() });
    let chain = pki.server_chain.iter().cloned().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.server_key.clone()));
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let mut inbox = Vec::new();
        // Errors end the session: the client went away or was refused.
        while let Some((first, body)) = read_packet(&mut tls, &mut inbox) {
            let reply: Vec<u8> = match first >> 4 {
                1 => vec![0x20, 0x03, 0x00, script.connack, 0x00],
                3 => {
                    let topic_len = u16::from_be_bytes([body[0], body[1]]) as usize;
                    let id = &body[2 + topic_len..4 + topic_len];
                    vec![0x40, 0x03, id[0], id[1], script.puback]
                }
                8 => {
                    let mut reply = vec![0x90, 0x04, body[0], body[1], 0x00, 0x01];
                    if let Some(payload) = &script.deliver {
                        let mut publish = vec![0x00, 0x05];
                        publish.extend_from_slice(b"t/one");
                        publish.extend_from_slice(&[0x00, 0x07, 0x00]);
                        publish.extend_from_slice(payload);
                        reply.extend_from_slice(&[0x32, publish.len() as u8]);
                        reply.extend_from_slice(&publish);
                    }
                    reply
                }
                14 => return,
                _ => Vec::new(),
            };
            if tls.write_all(&reply).and_then(|_| tls.flush()).is_err() {
                return;
            }
        }
    });
    (port, served)
}

/// Next MQTT packet from the client, or `None` when the connection ends.
fn read_packet(tls: &mut impl Read, inbox: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    loop {
        if inbox.len() >= 2 {
            let (mut len, mut used) = (0usize, 0usize);
            for (i, &b) in inbox[1..].iter().enumerate().take(4) {
                len |= ((b & 0x7F) as usize) << (7 * i);
                used = i + 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if inbox.len() >= 1 + used + len {
                let first = inbox[0];
                let body = inbox[1 + used..1 + used + len].to_vec();
                inbox.drain(..1 + used + len);
                return Some((first, body));
            }
        }
        let mut buf = [0u8; 4096];
        match tls.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => inbox.extend_from_slice(&buf[..n]),
        }
    }
}

fn endpoint(port: u16, server_name: &str) -> Endpoint {
    Endpoint { host: "127.0.0.1".into(), port, server_name: server_name.into() }
}

fn config(pki: &Pki) -> Arc<rustls::ClientConfig> {
    client_config(&pki.ca, pki.client_chain.clone(), pki.client_key.clone()).unwrap()
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[test]
fn publishes_subscribes_and_receives_checking_the_server_name_not_the_address() {
    let pki = pki();
    let script = Script { deliver: Some(b"nonce".to_vec()), ..Script::default() };
    let (port, served) = broker(&pki, script);
    // Dialled as 127.0.0.1, while the certificate names only broker.test.
    let mut session = Session::connect(&endpoint(port, "broker.test"), config(&pki), "A1", soon()).unwrap();
    session.subscribe("t/#", soon()).unwrap();
    let m = session.next_message(soon()).unwrap();
    assert_eq!((m.topic.as_str(), m.payload.as_slice()), ("t/one", &b"nonce"[..]));
    session.publish("t/two", b"x", soon()).unwrap();
    session.disconnect();
    served.join().unwrap();
}

#[test]
fn a_broker_certificate_for_another_name_is_untrusted() {
    let pki = pki();
    let (port, _served) = broker(&pki, Script::default());
    let e = Session::connect(&endpoint(port, "other.test"), config(&pki), "A1", soon()).err().unwrap();
    assert_eq!(e.outcome, BrokerOutcome::BROKER_UNTRUSTED, "{e}");
}

#[test]
fn the_brokers_verdict_on_the_client_certificate_is_classified() {
    for (verdict, outcome) in [
        (CertificateError::Revoked, BrokerOutcome::TLS_REVOKED),
        (CertificateError::UnknownIssuer, BrokerOutcome::TLS_UNKNOWN_CA),
        (CertificateError::Expired, BrokerOutcome::TLS_EXPIRED),
    ] {
        let pki = pki();
        let (port, _served) = broker(&pki, Script { reject_client: Some(verdict.clone()), ..Script::default() });
        let e = Session::connect(&endpoint(port, "broker.test"), config(&pki), "A1", soon()).err().unwrap();
        assert_eq!(e.outcome, outcome, "{verdict:?}: {e}");
    }
}

#[test]
fn refusals_by_reason_code_are_not_authorized() {
    let pki = pki();
    let (port, _served) = broker(&pki, Script { connack: 0x87, ..Script::default() });
    let e = Session::connect(&endpoint(port, "broker.test"), config(&pki), "A1", soon()).err().unwrap();
    assert_eq!(e.outcome, BrokerOutcome::NOT_AUTHORIZED, "{e}");
    assert!(e.detail.contains("0x87"), "{e}");

    let (port, _served) = broker(&pki, Script { puback: 0x87, ..Script::default() });
    let mut session = Session::connect(&endpoint(port, "broker.test"), config(&pki), "A1", soon()).unwrap();
    let e = session.publish("devices/other/selftest", b"x", soon()).unwrap_err();
    assert_eq!(e.outcome, BrokerOutcome::NOT_AUTHORIZED, "{e}");
    assert!(e.detail.contains("publish"), "{e}");
}

#[test]
fn a_silent_broker_times_out_and_a_closed_port_is_unreachable() {
    let pki = pki();
    // Accepts TCP (the kernel's backlog) and never says a word.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = mute.local_addr().unwrap().port();
    let started = Instant::now();
    let deadline = started + Duration::from_millis(400);
    let e = Session::connect(&endpoint(port, "broker.test"), config(&pki), "A1", deadline).err().unwrap();
    assert_eq!(e.outcome, BrokerOutcome::TIMEOUT, "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "the deadline holds: {:?}", started.elapsed());

    drop(mute);
    let e = Session::connect(&endpoint(port, "broker.test"), config(&pki), "A1", soon()).err().unwrap();
    assert_eq!(e.outcome, BrokerOutcome::UNREACHABLE, "{e}");
}

#[test]
fn an_address_that_never_answers_tcp_is_unreachable_within_the_deadline() {
    let pki = pki();
    // A listener whose accept queue is full: the kernel drops further SYNs, as a
    // firewall or a powered-off host would.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    let _entered = runtime.enter();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let full = socket.listen(0).unwrap();
    let addr = full.local_addr().unwrap();
    let _queued: Vec<_> =
        (0..3).filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()).collect();
    let started = Instant::now();
    let deadline = started + Duration::from_millis(400);
    let e = Session::connect(&endpoint(addr.port(), "broker.test"), config(&pki), "A1", deadline).err().unwrap();
    assert_eq!(e.outcome, BrokerOutcome::UNREACHABLE, "{e}");
    assert!(e.detail.contains("no TCP answer"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2), "the deadline holds: {:?}", started.elapsed());
}

#[test]
fn a_canceller_ends_a_wait_at_once_and_a_session_may_be_dropped_on_an_async_task() {
    let pki = pki();
    let (port, _served) = broker(&pki, Script::default());
    let mut session = Session::connect(&endpoint(port, "broker.test"), config(&pki), "A1", soon()).unwrap();
    session.subscribe("t/#", soon()).unwrap();
    let cancel = session.canceller().unwrap();
    let started = Instant::now();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        cancel.cancel();
    });
    let deadline = started + Duration::from_secs(10);
    assert!(session.next_message(deadline).is_err());
    assert!(started.elapsed() < Duration::from_secs(2), "cancelled at once: {:?}", started.elapsed());
    canceller.join().unwrap();
    assert!(session.next_message(deadline).is_err(), "a cancelled session stays cancelled");

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async move { drop(session) });
}

#[test]
fn connecting_to_a_host_by_name_works() {
    let pki = pki();
    let (port, served) = broker(&pki, Script::default());
    let endpoint = Endpoint { host: "localhost".into(), port, server_name: "broker.test".into() };
    // A name lookup (on the session runtime's blocking pool) before TCP.
    let session = Session::connect(&endpoint, config(&pki), "A1", soon()).unwrap();
    session.disconnect();
    served.join().unwrap();
}
