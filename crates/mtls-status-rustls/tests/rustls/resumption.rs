//! Resumed connections are classified against the trust store in force now.
//!
//! rustls restores a resumed session's client chain without calling the
//! verifier, and nginx reuses the cached verdict: after a certificate is
//! revoked (CRL reloaded), a resumed session still gets `200 SUCCESS` there
//! (reference/nginx-semantics.md §4, "Session resumption"). Here the resumed
//! connection is `Invalid(revoked)`, TLS 1.2 and TLS 1.3 alike.

use crate::tls_harness::{Seen, Server, body, bounded, get, serve};
use mtls_status_rustls::{MtlsListener, TrustStore};
use mtls_testpki::tls::TlsClient;
use rustls::{HandshakeKind, SupportedProtocolVersion};
use tokio::sync::mpsc;

/// A listener serving every connection, reporting what it saw.
async fn start(server: &Server) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let mut listener = MtlsListener::builder(server.acceptor())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = listener.local_addr();
    let (seen_tx, seen_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept_tls().await;
            let seen_tx = seen_tx.clone();
            tokio::spawn(async move {
                if let Ok(seen) = serve(stream).await {
                    let _ = seen_tx.send(seen);
                }
            });
        }
    });
    (addr, seen_rx)
}

/// One request with `client` (whose session cache persists across calls).
async fn exchange(
    addr: std::net::SocketAddr,
    client: &TlsClient,
    seen_rx: &mut mpsc::UnboundedReceiver<Seen>,
) -> (Seen, String) {
    let response = bounded("client", get(addr, client.clone()))
        .await
        .expect("client exchange");
    let seen = bounded("server", seen_rx.recv())
        .await
        .expect("server saw it");
    (seen, response)
}

async fn revoked_after_session_start_is_invalid_on_resumption(
    version: &'static SupportedProtocolVersion,
) {
    let server = Server::new();
    let (addr, mut seen_rx) = start(&server).await;
    let client = &server.pki.valid_from_root;
    let session = server.client(Some(client), version);

    let (first, response) = exchange(addr, &session, &mut seen_rx).await;
    assert_eq!(first.kind, HandshakeKind::Full, "{version:?}");
    assert!(
        first.outcome.is_verified(),
        "{version:?}: {:?}",
        first.outcome
    );
    assert_eq!(body(&response), "SUCCESS");

    let (second, response) = exchange(addr, &session, &mut seen_rx).await;
    assert_eq!(second.kind, HandshakeKind::Resumed, "{version:?}");
    assert!(
        second.outcome.is_verified(),
        "{version:?}: {:?}",
        second.outcome
    );
    assert_eq!(body(&response), "SUCCESS");

    // Revoke the client's certificate: same CAs, plus a root CRL listing it.
    let crl = server.pki.root.crl().revoke(client).build();
    let revoking = TrustStore::builder()
        .ca_pem(server.pki.ca_bundle_pem())
        .crl_pem(crl.pem() + &server.pki.intermediate_crl.pem())
        .build()
        .expect("trust store with CRL");
    server.classifier.trust_store().replace(revoking);

    let (third, response) = exchange(addr, &session, &mut seen_rx).await;
    assert_eq!(third.kind, HandshakeKind::Resumed, "{version:?}");
    assert!(
        third.outcome.is_invalid(),
        "{version:?}: {:?}",
        third.outcome
    );
    assert_eq!(third.reason_name(), Some("revoked"), "{version:?}");
    assert_eq!(body(&response), "FAILED:certificate revoked");

    // A fresh session (new client, no cache) says the same.
    let fresh = server.client(Some(client), version);
    let (fourth, _) = exchange(addr, &fresh, &mut seen_rx).await;
    assert_eq!(fourth.kind, HandshakeKind::Full, "{version:?}");
    assert_eq!(fourth.reason_name(), Some("revoked"), "{version:?}");
}

#[tokio::test]
async fn revoked_after_session_start_is_invalid_on_resumption_tls12() {
    revoked_after_session_start_is_invalid_on_resumption(&rustls::version::TLS12).await;
}

#[tokio::test]
async fn revoked_after_session_start_is_invalid_on_resumption_tls13() {
    revoked_after_session_start_is_invalid_on_resumption(&rustls::version::TLS13).await;
}

/// The other way round: a session that began with an untrusted certificate
/// verifies on resumption once its CA is trusted (nginx would keep the
/// cached failure).
#[tokio::test]
async fn newly_trusted_ca_verifies_on_resumption() {
    for version in crate::tls_harness::VERSIONS {
        let server = Server::new();
        let (addr, mut seen_rx) = start(&server).await;
        let client = server.client(Some(&server.pki.unknown_ca), version);

        let (first, _) = exchange(addr, &client, &mut seen_rx).await;
        assert_eq!(first.kind, HandshakeKind::Full);
        assert!(
            first.outcome.is_invalid(),
            "{version:?}: {:?}",
            first.outcome
        );

        let trusting = TrustStore::builder()
            .ca_pem(server.pki.ca_bundle_pem() + &server.pki.unknown_root.cert_pem())
            .build()
            .expect("trust store");
        server.classifier.trust_store().replace(trusting);

        let (second, response) = exchange(addr, &client, &mut seen_rx).await;
        assert_eq!(second.kind, HandshakeKind::Resumed, "{version:?}");
        assert!(
            second.outcome.is_verified(),
            "{version:?}: {:?}",
            second.outcome
        );
        assert_eq!(body(&response), "SUCCESS");
    }
}
