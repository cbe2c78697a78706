//! `mtls serve`: after SIGHUP with a changed --client-ca file, the
//! CertificateRequest names the new CAs (nginx re-reads
//! `ssl_client_certificate` on reload).
#![cfg(unix)]

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mtls_testpki::Leaf;
use rustls::client::ResolvesClientCert;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::common::{Demo, Server, demo, have, parse_http1, runtime, s};

/// Upper bound for one exchange.
const LIMIT: Duration = Duration::from_secs(30);

/// Presents `leaf` and records the CA names the server advertised.
#[derive(Debug)]
struct Recorder {
    key: Arc<CertifiedKey>,
    advertised: Arc<Mutex<Option<Vec<Vec<u8>>>>>,
}

impl ResolvesClientCert for Recorder {
    fn resolve(&self, names: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        *self.advertised.lock().expect("recorder lock") =
            Some(names.iter().map(|name| name.to_vec()).collect());
        Some(Arc::clone(&self.key))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// One HTTPS request presenting `leaf`: the CA names of the
/// CertificateRequest (DER subjects) and the response status.
fn advertised_and_status(server: &Server, demo: &Demo, leaf: &Leaf) -> (Vec<Vec<u8>>, u16) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let signing_key = provider
        .key_provider
        .load_private_key(leaf.key_der())
        .expect("client key");
    let advertised = Arc::new(Mutex::new(None));
    let recorder = Recorder {
        key: Arc::new(CertifiedKey::new(leaf.chain(), signing_key)),
        advertised: Arc::clone(&advertised),
    };
    let mut roots = RootCertStore::empty();
    roots.add(demo.pki.root.cert_der()).expect("server root");
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(recorder));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let addr = server.addr;
    let reply = runtime().block_on(async move {
        tokio::time::timeout(LIMIT, async move {
            let tcp = TcpStream::connect(addr).await.expect("connect");
            let name = ServerName::try_from("localhost").expect("server name");
            let mut tls = TlsConnector::from(Arc::new(config))
                .connect(name, tcp)
                .await
                .expect("TLS handshake");
            tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .expect("send request");
            let mut raw = Vec::new();
            // The server may close without close_notify: what was read counts.
            let _ = tls.read_to_end(&mut raw).await;
            parse_http1(&raw)
        })
        .await
        .expect("HTTPS request finished in time")
    });
    let names = advertised
        .lock()
        .expect("recorder lock")
        .take()
        .expect("the server sent a CertificateRequest");
    (names, reply.status)
}

fn hangup(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn sighup_changes_the_advertised_ca_names() {
    if !have("kill", "-l") {
        return;
    }
    let demo = demo("serve-sighup-hints");
    let f = &demo.files;
    let pki = &demo.pki;
    let bundle = demo.dir.join("reloadable-ca.pem");
    std::fs::copy(&f.unknown_root.cert, &bundle).expect("copy");
    let server = Server::start([
        "--cert",
        s(&f.server.cert),
        "--key",
        s(&f.server.key),
        "--client-ca",
        s(&bundle),
    ]);

    let (names, status) = advertised_and_status(&server, &demo, &pki.valid_from_root);
    assert_eq!(names, [pki.unknown_root.subject_der()]);
    assert_eq!(status, 495);
    let (names, status) = advertised_and_status(&server, &demo, &pki.unknown_ca);
    assert_eq!(names, [pki.unknown_root.subject_der()]);
    assert_eq!(status, 200);

    // The bundle now holds the root and the intermediate (ca-bundle.pem).
    std::fs::copy(&f.ca_bundle, &bundle).expect("copy");
    hangup(&server);
    server.wait_for_log("trust store reloaded");
    let expected = [pki.root.subject_der(), pki.intermediate.subject_der()];
    let (names, status) = advertised_and_status(&server, &demo, &pki.valid_from_root);
    assert_eq!(names, expected);
    assert_eq!(status, 200);
    let (names, status) = advertised_and_status(&server, &demo, &pki.unknown_ca);
    assert_eq!(names, expected);
    assert_eq!(status, 495);

    // A bundle that no longer parses keeps the names in force.
    std::fs::write(&bundle, "not a certificate").expect("write");
    hangup(&server);
    server.wait_for_log("trust store reload failed; keeping the trust store in force");
    let (names, status) = advertised_and_status(&server, &demo, &pki.valid_from_root);
    assert_eq!(names, expected);
    assert_eq!(status, 200);
}
