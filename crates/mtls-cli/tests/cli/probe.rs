//! `mtls probe`: against `mtls serve` (which answers at the HTTP layer) and
//! against a plain rustls server with rustls's own `WebPkiClientVerifier`
//! (which rejects with TLS alerts, in the handshake or, with TLS 1.3, on
//! the first read).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use mtls_status::ClientIdentity;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, SupportedProtocolVersion};
use serde_json::Value;

use crate::common::{Demo, Output, Server, demo, mtls, s};

fn start(demo: &Demo, extra: &[&str]) -> Server {
    demo.serve(extra)
}

/// `mtls probe ARGS... --format json`: exit 0 and one JSON object.
fn probe_json(args: &[&str]) -> Value {
    let out = mtls(["probe"].iter().chain(args).chain(&["--format", "json"]));
    assert_eq!(out.code, 0, "{out:?}");
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|error| panic!("JSON output ({error}): {}", out.stdout))
}

/// `mtls probe ARGS...` as text: exit 0.
fn probe_text(args: &[&str]) -> String {
    let out = mtls(["probe"].iter().chain(args));
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

fn cert_args(pair: &mtls_testpki::PemPair) -> [&str; 4] {
    ["--cert", s(&pair.cert), "--key", s(&pair.key)]
}

fn subject(der: rustls::pki_types::CertificateDer<'static>) -> String {
    ClientIdentity::from_der(der)
        .expect("a certificate")
        .subject_dn()
        .to_owned()
}

#[test]
fn mode_on_asks_advertises_and_answers_496_then_200() {
    let demo = demo("probe-on");
    let server = start(&demo, &[]);
    let target = server.addr.to_string();
    let valid = cert_args(&demo.files.client_valid);
    let cas = vec![
        subject(demo.pki.root.cert_der()),
        subject(demo.pki.intermediate.cert_der()),
    ];
    assert_eq!(cas[0], "CN=mtls-status Test Root CA");

    let text = probe_text(&[&target, valid[0], valid[1], valid[2], valid[3]]);
    assert!(
        text.contains("the server asks for one (CertificateRequest)"),
        "{text}"
    );
    for ca in &cas {
        assert!(text.contains(&format!("\n    {ca}\n")), "{ca} in {text}");
    }
    assert!(
        text.contains("GET /: HTTP/1.1 496 SSL Certificate Required"),
        "{text}"
    );
    assert!(
        text.contains("mtls-status problem+json: reason certificate_required"),
        "{text}"
    );
    assert!(text.contains("GET /: HTTP/1.1 200 OK"), "{text}");
    assert!(
        text.contains(
            "Verdict: The server asks for a client certificate (advertising 2 CAs), lets \
             clients without one complete the handshake and answers HTTP 496 (mtls-status: \
             certificate_required). With client-valid.pem the server answers HTTP 200."
        ),
        "{text}"
    );
    assert!(
        text.contains("The server's certificate was NOT verified (no --ca)."),
        "{text}"
    );
    assert!(!text.contains("alert"), "no TLS alert involved: {text}");

    let json = probe_json(&[&target, valid[0], valid[1], valid[2], valid[3]]);
    assert_eq!(json["certificate_requested"], true);
    assert_eq!(json["ca_names"], serde_json::json!(cas));
    assert_eq!(json["server_verified"], false);
    assert_eq!(json["server_certificate"]["subject"], "CN=localhost");
    let without = &json["without_certificate"];
    assert_eq!(without["certificate_sent"], false);
    assert_eq!(without["handshake"]["ok"], true);
    assert_eq!(without["handshake"]["alpn"], "http/1.1");
    assert_eq!(without["http"]["status"], 496);
    assert_eq!(without["http"]["reason"], "certificate_required");
    assert_eq!(without["late_alert"], Value::Null);
    let with = &json["with_certificate"];
    assert_eq!(with["certificate"]["file"], "client-valid.pem");
    assert_eq!(with["certificate"]["subject"], "CN=client-valid");
    assert_eq!(with["certificate_sent"], true);
    assert_eq!(with["http"]["status"], 200);
    assert_eq!(
        with["http"]["recognised"]["ssl_client_verify"], "SUCCESS",
        "{json}"
    );
    assert!(
        json["verdict"]
            .as_str()
            .is_some_and(|v| v.contains("answers HTTP 496")),
        "{json}"
    );

    // TLS 1.2 only: the same answers over TLS 1.2.
    let json = probe_json(&[&target, "--tls", "1.2"]);
    assert_eq!(
        json["without_certificate"]["handshake"]["protocol"],
        "TLSv1.2"
    );
    assert_eq!(json["without_certificate"]["http"]["status"], 496);
    assert_eq!(json["ca_names"], serde_json::json!(cas));
    assert_eq!(json["with_certificate"], Value::Null);
}

#[test]
fn expired_certificate_gets_495_expired_and_the_server_verifies_with_ca() {
    let demo = demo("probe-expired");
    let server = start(&demo, &[]);
    let target = format!("localhost:{}", server.addr.port());
    let expired = cert_args(&demo.files.client_expired);
    let root = s(&demo.files.root.cert);
    let json = probe_json(&[
        &target, expired[0], expired[1], expired[2], expired[3], "--ca", root,
    ]);
    assert_eq!(json["server_verified"], true);
    assert_eq!(json["server_name"], "localhost");
    let with = &json["with_certificate"];
    assert_eq!(with["certificate_sent"], true);
    assert_eq!(with["http"]["status"], 495);
    assert_eq!(with["http"]["reason"], "expired");
    let verdict = json["verdict"].as_str().expect("a verdict");
    assert!(
        verdict.contains(
            "With client-expired.pem the server answers HTTP 495 (mtls-status: expired)."
        ),
        "{verdict}"
    );
    assert!(
        verdict.contains("The server's certificate verifies against --ca."),
        "{verdict}"
    );

    // A server certificate that does not chain to --ca stops the probe
    // in the handshake, and says so (exit 0: the probe completed).
    let json = probe_json(&[&target, "--ca", s(&demo.files.unknown_root.cert)]);
    let handshake = &json["without_certificate"]["handshake"];
    assert_eq!(handshake["ok"], false);
    assert_eq!(handshake["error"], "server_certificate", "{json}");
}

#[test]
fn mode_off_does_not_request_a_certificate() {
    let demo = demo("probe-off");
    let server = start(&demo, &["--verify-client", "off"]);
    let target = server.addr.to_string();
    let valid = cert_args(&demo.files.client_valid);
    let text = probe_text(&[&target, valid[0], valid[1], valid[2], valid[3]]);
    assert!(
        text.contains("the server does not request a client certificate"),
        "{text}"
    );
    assert!(
        text.contains(
            "Verdict: The server does not request a client certificate and answers HTTP 200."
        ),
        "{text}"
    );
    assert!(
        text.contains("certificate: not sent: the server did not ask for one"),
        "{text}"
    );
    let json = probe_json(&[&target, valid[0], valid[1], valid[2], valid[3]]);
    assert_eq!(json["certificate_requested"], false);
    assert_eq!(json["ca_names"], serde_json::json!([]));
    assert_eq!(json["with_certificate"]["certificate_sent"], false);
    assert_eq!(json["with_certificate"]["http"]["status"], 200);
    assert_eq!(
        json["with_certificate"]["http"]["recognised"]["ssl_client_verify"],
        "NONE"
    );
}

#[test]
fn nginx_style_pages_are_recognised() {
    let demo = demo("probe-nginx-style");
    let server = start(&demo, &["--style", "nginx"]);
    let expired = cert_args(&demo.files.client_expired);
    let json = probe_json(&[
        &server.addr.to_string(),
        expired[0],
        expired[1],
        expired[2],
        expired[3],
    ]);
    let without = &json["without_certificate"]["http"];
    assert_eq!(without["status"], 400);
    assert_eq!(without["recognised"]["kind"], "nginx");
    assert_eq!(without["recognised"]["code"], 496);
    let with = &json["with_certificate"]["http"];
    assert_eq!(with["status"], 400);
    assert_eq!(with["recognised"]["code"], 495);
    let verdict = json["verdict"].as_str().expect("a verdict");
    assert!(
        verdict.contains(
            "answers HTTP 400 with nginx's \"No required SSL certificate was sent\" page (nginx's 496)"
        ),
        "{verdict}"
    );
}

/// A TLS server as many are written with rustls (and as tonic or
/// axum-server set one up): `WebPkiClientVerifier` with mandatory client
/// authentication, which rejects inside TLS. A valid client gets `200 ok`.
struct StrictServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl StrictServer {
    fn start(demo: &Demo, versions: &[&'static SupportedProtocolVersion]) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.add(demo.pki.root.cert_der()).expect("root");
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .expect("client verifier");
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(demo.pki.server.chain(), demo.pki.server.key_der())
            .expect("server certificate");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        thread::spawn(move || {
            for tcp in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(tcp) = tcp else { continue };
                let config = Arc::clone(&config);
                thread::spawn(move || serve_one(config, tcp));
            }
        });
        Self { port, stop }
    }

    fn target(&self) -> String {
        format!("localhost:{}", self.port)
    }
}

impl Drop for StrictServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Handshake; on success read the request head and answer `200 ok`. On a
/// failed handshake rustls has queued its alert, which `complete_io` sends
/// before returning the error; then the connection is dropped, as a
/// server's accept loop does.
fn serve_one(config: Arc<ServerConfig>, mut tcp: TcpStream) {
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(20)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(20)));
    let Ok(mut conn) = ServerConnection::new(config) else {
        return;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            return;
        }
    }
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.reader().read(&mut buf) {
            Ok(0) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                if conn.complete_io(&mut tcp).is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
    let _ = conn
        .writer()
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
}

#[test]
fn rustls_server_rejects_with_a_late_alert_in_tls13() {
    let demo = demo("probe-strict-13");
    let server = StrictServer::start(&demo, &[&rustls::version::TLS13]);
    let target = server.target();
    let expired = cert_args(&demo.files.client_expired);

    let text = probe_text(&[&target, expired[0], expired[1], expired[2], expired[3]]);
    assert!(
        text.contains("handshake: completed (TLSv1.3"),
        "the TLS 1.3 handshake 'succeeds': {text}"
    );
    assert!(
        text.contains(
            "GET /: no response; TLS alert certificate_required arrived on the first read after \
             the handshake: the server requires a client certificate"
        ),
        "{text}"
    );
    assert!(
        text.contains("the rejection arrives as an alert on the first read"),
        "{text}"
    );
    assert!(
        text.contains(
            "lets clients without one finish the TLSv1.3 handshake, then rejects them with TLS \
             alert certificate_required on the first read"
        ),
        "{text}"
    );
    assert!(
        text.contains("then sends TLS alert certificate_expired on the first read"),
        "{text}"
    );

    let json = probe_json(&[&target, expired[0], expired[1], expired[2], expired[3]]);
    assert_eq!(json["certificate_requested"], true);
    assert_eq!(
        json["ca_names"],
        serde_json::json!(["CN=mtls-status Test Root CA"])
    );
    let without = &json["without_certificate"];
    assert_eq!(without["handshake"]["ok"], true);
    assert_eq!(without["http"], Value::Null);
    assert_eq!(without["late_alert"], "certificate_required", "{json}");
    let with = &json["with_certificate"];
    assert_eq!(with["certificate_sent"], true);
    assert_eq!(with["late_alert"], "certificate_expired", "{json}");

    // A valid certificate passes.
    let valid = cert_args(&demo.files.client_valid);
    let json = probe_json(&[&target, valid[0], valid[1], valid[2], valid[3]]);
    assert_eq!(json["with_certificate"]["http"]["status"], 200, "{json}");
    assert_eq!(json["with_certificate"]["late_alert"], Value::Null);
}

#[test]
fn rustls_server_rejects_in_the_tls12_handshake() {
    let demo = demo("probe-strict-12");
    let server = StrictServer::start(&demo, &[&rustls::version::TLS12]);
    let unknown = cert_args(&demo.files.client_unknown_ca);
    let json = probe_json(&[
        &server.target(),
        unknown[0],
        unknown[1],
        unknown[2],
        unknown[3],
    ]);
    assert_eq!(json["certificate_requested"], true);
    let without = &json["without_certificate"]["handshake"];
    assert_eq!(without["ok"], false);
    assert_eq!(without["error"], "alert");
    assert_eq!(without["alert"], "certificate_required", "{json}");
    let with = &json["with_certificate"];
    assert_eq!(with["certificate_sent"], true);
    assert_eq!(with["handshake"]["alert"], "unknown_ca", "{json}");
    let verdict = json["verdict"].as_str().expect("a verdict");
    assert!(
        verdict.contains(
            "rejects clients without one in the handshake (TLS alert certificate_required: the \
             server requires a client certificate)"
        ),
        "{verdict}"
    );
    assert!(
        verdict.contains("With client-unknown-ca.pem the server fails the handshake with TLS alert unknown_ca (the server does not trust the issuer"),
        "{verdict}"
    );
    assert!(verdict.contains("A rejection inside TLS"), "{verdict}");
}

#[test]
fn unreachable_server_is_exit_1_with_the_address() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let out: Output = mtls(["probe", &addr.to_string()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "error: cannot connect to {addr}: Connection refused"
        )),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    // A name: each address it resolves to is named.
    let out = mtls(["probe", &format!("localhost:{}", addr.port())]);
    assert_eq!(out.code, 1, "{out:?}");
    let port = addr.port();
    assert!(
        out.stderr
            .starts_with(&format!("error: cannot connect to localhost:{port}: "))
            && out
                .stderr
                .contains(&format!("127.0.0.1:{port}: Connection refused")),
        "{}",
        out.stderr
    );

    let out = mtls(["probe", "localhost"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("expected HOST:PORT"), "{}", out.stderr);
}

#[test]
fn bad_input_is_exit_4_and_help_lists_probe() {
    let demo = demo("probe-bad-input");
    // A key where the certificate belongs: rejected before connecting.
    let key = s(&demo.files.client_valid.key);
    let out = mtls(["probe", "127.0.0.1:1", "--cert", key, "--key", key]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains("contains no certificate"),
        "{}",
        out.stderr
    );
    // A key that belongs to another certificate.
    let out = mtls([
        "probe",
        "127.0.0.1:1",
        "--cert",
        s(&demo.files.client_valid.cert),
        "--key",
        s(&demo.files.client_expired.key),
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("is not the key of --cert"),
        "{}",
        out.stderr
    );

    let help = mtls(["--help"]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("probe")
            && help
                .stdout
                .contains("what it does with client certificates"),
        "{}",
        help.stdout
    );
}

/// A TCP server that reads the ClientHello, then runs `then` on the
/// connection.
fn raw_server(then: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let mut hello = [0u8; 16 * 1024];
            let _ = tcp.read(&mut hello);
            thread::spawn(move || then(tcp));
        }
    });
    addr.to_string()
}

#[test]
fn closing_and_silent_servers_are_explained_not_waited_for() {
    // Closes after the ClientHello, without an alert.
    let target = raw_server(drop);
    let json = probe_json(&[&target]);
    let handshake = &json["without_certificate"]["handshake"];
    assert_eq!(handshake["ok"], false);
    assert_eq!(handshake["error"], "closed", "{json}");
    assert_eq!(json["certificate_requested"], Value::Null);

    // Never answers: the handshake limit (10 s) ends the attempt, and the
    // probe still completes.
    let target = raw_server(|mut tcp| {
        let mut rest = Vec::new();
        // Held open until the client gives up.
        let _ = tcp.read_to_end(&mut rest);
    });
    let text = probe_text(&[&target]);
    assert!(
        text.contains("handshake: FAILED, no answer from the server within 10 s"),
        "{text}"
    );
}
