//! The CA names advertised in the CertificateRequest follow trust-store
//! reloads, as nginx re-reads `ssl_client_certificate` on reload.
//!
//! A listener whose CA bundle file holds root A advertises A; the file is
//! rewritten to hold root B and the store reloaded; the next connection sees
//! B advertised, a client of B verifies and a client of A does not. What
//! happens to connections and sessions from before the reload is asserted
//! too: an open connection keeps its outcome, a session resumes (the session
//! cache is carried over) and is classified against the new store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::tls_harness::{VERSIONS, body, bounded, get, http_client, provider, read_head};
use mtls_status::{ClientAuthOutcome, ReasonKind, VerifyMode};
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsListener, MtlsStream, ReloadableTrustStore, TrustStoreError,
    TrustStoreFiles, server_config,
};
use mtls_testpki::tls::TlsClient;
use mtls_testpki::{Ca, Leaf, Pki};
use rustls::{HandshakeKind, ServerConfig, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "mtls-status-rustls-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A rustls client (ring) presenting `leaf`, with its own session cache,
/// recording what the server advertised.
fn client_of(pki: &Pki, leaf: &Leaf, version: &'static SupportedProtocolVersion) -> TlsClient {
    http_client(pki, Some(leaf), version)
}

/// What the server saw when a handshake completed.
#[derive(Debug)]
struct Seen {
    outcome: Arc<ClientAuthOutcome>,
    kind: HandshakeKind,
}

impl Seen {
    fn reason(&self) -> Option<ReasonKind> {
        self.outcome.reason().map(|reason| reason.kind())
    }
}

/// Reports the handshake at once (before the request arrives), then answers
/// one HTTP/1.1 request with the `ssl_client_verify` value.
async fn serve(mut stream: MtlsStream<TcpStream>, seen: mpsc::UnboundedSender<Seen>) {
    let outcome = Arc::clone(stream.outcome());
    let _ = seen.send(Seen {
        outcome: Arc::clone(&outcome),
        kind: stream.handshake_kind(),
    });
    if read_head(&mut stream).await.is_err() {
        return;
    }
    let verdict = outcome.ssl_client_verify();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{verdict}",
        verdict.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Serves every connection of `acceptor` on 127.0.0.1 until the test ends.
async fn listen(acceptor: MtlsAcceptor) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let mut listener = MtlsListener::builder(acceptor)
        .bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr();
    let (seen_tx, seen_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept_tls().await;
            tokio::spawn(serve(stream, seen_tx.clone()));
        }
    });
    (addr, seen_rx)
}

/// A server trusting the CA bundle file `bundle` (reloadable).
struct Fixture {
    pki: Pki,
    bundle: PathBuf,
    store: ReloadableTrustStore,
    classifier: Classifier,
    _dir: TempDir,
}

impl Fixture {
    /// The bundle file holds `first(pki)`.
    fn new(name: &str, first: impl Fn(&Pki) -> &Ca) -> Self {
        let pki = Pki::generate();
        let dir = TempDir::new(name);
        let bundle = dir.0.join("client-ca.pem");
        std::fs::write(&bundle, first(&pki).cert_pem()).expect("write bundle");
        let store = ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&bundle))
            .expect("trust store");
        let classifier = Classifier::builder(store.clone(), provider())
            .build()
            .expect("classifier");
        Self {
            pki,
            bundle,
            store,
            classifier,
            _dir: dir,
        }
    }

    /// A configuration with the classifier's verifier as of now.
    fn config(&self) -> ServerConfig {
        server_config(
            provider(),
            self.pki.server.chain(),
            self.pki.server.key_der(),
            self.classifier.verifier(VerifyMode::On),
        )
        .expect("server config")
    }

    /// An acceptor that rebuilds its configuration on reloads.
    fn following_acceptor(&self) -> MtlsAcceptor {
        let (chain, key) = (self.pki.server.chain(), self.pki.server.key_der());
        MtlsAcceptor::from_config_fn(self.classifier.clone(), VerifyMode::On, move |verifier| {
            server_config(provider(), chain.clone(), key.clone_key(), verifier)
        })
        .expect("acceptor")
    }

    /// Rewrites the bundle file with `ca` and reloads the store.
    fn reload_with(&self, ca: &Ca) -> Result<u64, TrustStoreError> {
        std::fs::write(&self.bundle, ca.cert_pem()).expect("write bundle");
        self.store.reload()
    }
}

/// One request: the server's view of the handshake and the response.
async fn exchange(
    addr: SocketAddr,
    client: &TlsClient,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
) -> (Seen, String) {
    let response = bounded("client", get(addr, client.clone()))
        .await
        .expect("client exchange");
    let seen = bounded("server", seen.recv()).await.expect("server saw it");
    (seen, response)
}

async fn advertised_names_follow_a_reload(version: &'static SupportedProtocolVersion) {
    let fx = Fixture::new("follow", |pki| &pki.root);
    let (pki, a, b) = (&fx.pki, &fx.pki.root, &fx.pki.unknown_root);
    let acceptor = fx.following_acceptor();
    let (addr, mut seen) = listen(acceptor.clone()).await;

    // Before: A is advertised, A's client verifies.
    let client_a = client_of(pki, &pki.valid_from_root, version);
    let (first, response) = exchange(addr, &client_a, &mut seen).await;
    assert_eq!(
        client_a.certificate_requests(),
        [vec![a.subject_der()]],
        "{version:?}"
    );
    assert_eq!(first.kind, HandshakeKind::Full);
    assert!(first.outcome.is_verified(), "{:?}", first.outcome);
    assert_eq!(body(&response), "SUCCESS");

    // A connection established before the reload, request not sent yet.
    let held_client = client_of(pki, &pki.valid_from_root, version);
    let mut held = bounded("held handshake", held_client.connect(addr))
        .await
        .expect("held handshake");
    let held_seen = bounded("server", seen.recv()).await.expect("server saw it");
    assert!(held_seen.outcome.is_verified(), "{:?}", held_seen.outcome);
    let config_before = acceptor.config();

    // Reload: the bundle now holds B only.
    assert_eq!(fx.reload_with(b).expect("reload"), 2);

    // A new connection advertises B; B's client verifies.
    let client_b = client_of(pki, &pki.unknown_ca, version);
    let (after, response) = exchange(addr, &client_b, &mut seen).await;
    assert_eq!(
        client_b.certificate_requests(),
        [vec![b.subject_der()]],
        "{version:?}"
    );
    assert_eq!(after.kind, HandshakeKind::Full);
    assert!(after.outcome.is_verified(), "{:?}", after.outcome);
    assert_eq!(body(&response), "SUCCESS");

    // A's client, new session: B advertised, A's certificate no longer
    // verifies.
    let fresh_a = client_of(pki, &pki.valid_from_root, version);
    let (rejected, response) = exchange(addr, &fresh_a, &mut seen).await;
    assert_eq!(fresh_a.certificate_requests(), [vec![b.subject_der()]]);
    assert_eq!(rejected.reason(), Some(ReasonKind::UnknownLeafIssuer));
    assert!(body(&response).starts_with("FAILED:"), "{response}");

    // A's session from before the reload resumes (the session cache was
    // carried over: no CertificateRequest, no new names) and is classified
    // against the store in force: A is no longer trusted.
    let (resumed, response) = exchange(addr, &client_a, &mut seen).await;
    assert_eq!(resumed.kind, HandshakeKind::Resumed, "{version:?}");
    assert_eq!(
        client_a.certificate_requests().len(),
        1,
        "resumed: no CertificateRequest"
    );
    assert_eq!(resumed.reason(), Some(ReasonKind::UnknownLeafIssuer));
    assert!(body(&response).starts_with("FAILED:"), "{response}");
    let config_after = acceptor.config();
    assert!(!Arc::ptr_eq(&config_before, &config_after));
    assert!(Arc::ptr_eq(
        &config_before.session_storage,
        &config_after.session_storage
    ));

    // The connection from before the reload keeps its configuration and
    // its outcome, classified at its handshake.
    held.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("send request");
    let mut response = String::new();
    bounded("held response", held.read_to_string(&mut response))
        .await
        .expect("read response");
    assert_eq!(body(&response), "SUCCESS");

    // A bundle that does not parse keeps the store and the names in force.
    std::fs::write(&fx.bundle, "not a certificate").expect("write bundle");
    assert!(fx.store.reload().is_err());
    let again_b = client_of(pki, &pki.unknown_ca, version);
    let (kept, _) = exchange(addr, &again_b, &mut seen).await;
    assert_eq!(
        again_b.last_advertised().expect("a CertificateRequest"),
        [b.subject_der()]
    );
    assert!(kept.outcome.is_verified(), "{:?}", kept.outcome);
    assert!(Arc::ptr_eq(&config_after, &acceptor.config()));
}

#[tokio::test]
async fn advertised_names_follow_a_reload_tls12() {
    advertised_names_follow_a_reload(&rustls::version::TLS12).await;
}

#[tokio::test]
async fn advertised_names_follow_a_reload_tls13() {
    advertised_names_follow_a_reload(&rustls::version::TLS13).await;
}

/// An acceptor made with `new` keeps its configuration until `set_config`,
/// which reaches the listener built from a clone; sessions resume across the
/// swap when the new configuration shares the session cache.
#[tokio::test]
async fn set_config_reaches_the_listener_of_a_clone() {
    for version in VERSIONS {
        let fx = Fixture::new("set-config", |pki| &pki.root);
        let (pki, a, b) = (&fx.pki, &fx.pki.root, &fx.pki.unknown_root);
        let acceptor =
            MtlsAcceptor::with_fixed_config(Arc::new(fx.config()), fx.classifier.clone());
        let (addr, mut seen) = listen(acceptor.clone()).await;

        let client_a = client_of(pki, &pki.valid_from_root, version);
        let (first, _) = exchange(addr, &client_a, &mut seen).await;
        assert_eq!(
            client_a.last_advertised().expect("a CertificateRequest"),
            [a.subject_der()]
        );
        assert!(first.outcome.is_verified(), "{:?}", first.outcome);

        // Reloaded, but this acceptor's configuration is fixed: still A
        // advertised, while B's client is classified against B.
        fx.reload_with(b).expect("reload");
        let client_b = client_of(pki, &pki.unknown_ca, version);
        let (stale, _) = exchange(addr, &client_b, &mut seen).await;
        assert_eq!(
            client_b.last_advertised().expect("a CertificateRequest"),
            [a.subject_der()]
        );
        assert!(stale.outcome.is_verified(), "{:?}", stale.outcome);

        // The documented recipe: new verifier, same session cache.
        let mut config = fx.config();
        let old = acceptor.config();
        config.session_storage = Arc::clone(&old.session_storage);
        config.ticketer = Arc::clone(&old.ticketer);
        acceptor.set_config(Arc::new(config));

        let (swapped, _) = exchange(addr, &client_b, &mut seen).await;
        assert_eq!(swapped.kind, HandshakeKind::Resumed, "{version:?}");
        let client_b2 = client_of(pki, &pki.unknown_ca, version);
        let (fresh, _) = exchange(addr, &client_b2, &mut seen).await;
        assert_eq!(fresh.kind, HandshakeKind::Full);
        assert_eq!(
            client_b2.last_advertised().expect("a CertificateRequest"),
            [b.subject_der()]
        );
        assert!(fresh.outcome.is_verified(), "{:?}", fresh.outcome);

        // A's session from before the swap resumes and is re-classified.
        let (resumed, _) = exchange(addr, &client_a, &mut seen).await;
        assert_eq!(resumed.kind, HandshakeKind::Resumed, "{version:?}");
        assert_eq!(resumed.reason(), Some(ReasonKind::UnknownLeafIssuer));
    }
}

/// `replace` (no files) is followed as well as `reload`, and a swap made
/// by hand on a following acceptor lasts until the next change of store.
#[tokio::test]
async fn replace_is_followed_and_set_config_lasts_until_the_next_change() {
    let fx = Fixture::new("replace", |pki| &pki.root);
    let (pki, a, b) = (&fx.pki, &fx.pki.root, &fx.pki.unknown_root);
    let acceptor = fx.following_acceptor();
    let (addr, mut seen) = listen(acceptor.clone()).await;
    let version = &rustls::version::TLS13;

    let both = mtls_status_rustls::TrustStore::builder()
        .ca_pem(mtls_testpki::bundle_pem(&[a, b]))
        .build()
        .expect("store");
    fx.store.replace(both);
    let client = client_of(pki, &pki.unknown_ca, version);
    exchange(addr, &client, &mut seen).await;
    assert_eq!(
        client.last_advertised().expect("a CertificateRequest"),
        [a.subject_der(), b.subject_der()]
    );

    // By hand: a configuration whose verifier advertises what the store
    // advertises now (A and B) ... then the store changes to A only.
    acceptor.set_config(Arc::new(fx.config()));
    let client = client_of(pki, &pki.unknown_ca, version);
    exchange(addr, &client, &mut seen).await;
    assert_eq!(
        client.last_advertised().expect("a CertificateRequest"),
        [a.subject_der(), b.subject_der()]
    );
    fx.reload_with(a).expect("reload");
    let client = client_of(pki, &pki.valid_from_root, version);
    let (seen_a, _) = exchange(addr, &client, &mut seen).await;
    assert_eq!(
        client.last_advertised().expect("a CertificateRequest"),
        [a.subject_der()]
    );
    assert!(seen_a.outcome.is_verified(), "{:?}", seen_a.outcome);
}
