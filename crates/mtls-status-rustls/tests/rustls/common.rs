//! Shared helpers of the classifier tests: a TLS server that accepts ONE
//! connection with `tokio_rustls::TlsAcceptor`, classifies the peer's chain
//! and reports the outcome; the shared loopback client
//! ([`mtls_testpki::tls::TlsClient`]) presenting any chain, over 127.0.0.1.

#![allow(unreachable_pub)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use mtls_status::{ClientAuthOutcome, ReasonKind, VerifyMode};
use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStore, server_config};
use mtls_testpki::tls::{TlsClient, read_to_close};
use mtls_testpki::{Ca, Leaf, Pki};
use rustls::SupportedProtocolVersion;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

pub use mtls_testpki::tls::{LIMIT, VERSIONS, provider};

pub const TLS12: &SupportedProtocolVersion = &rustls::version::TLS12;
pub const TLS13: &SupportedProtocolVersion = &rustls::version::TLS13;

/// A store trusting `cas` (PEM CA bundle, advertised).
pub fn store_of(cas: &[&Ca]) -> ReloadableTrustStore {
    let store = TrustStore::builder()
        .ca_pem(mtls_testpki::bundle_pem(cas))
        .build()
        .expect("trust store builds");
    ReloadableTrustStore::new(store)
}

/// A classifier with default (nginx) settings over `store`.
pub fn classifier(store: ReloadableTrustStore) -> Classifier {
    Classifier::builder(store, provider())
        .build()
        .expect("classifier builds")
}

/// What the one-connection server saw.
#[derive(Debug)]
pub enum ServerSide {
    /// Handshake completed; the classification.
    Classified(Arc<ClientAuthOutcome>),
    /// Handshake failed on the server.
    HandshakeFailed(String),
}

impl ServerSide {
    pub fn outcome(&self) -> &ClientAuthOutcome {
        match self {
            Self::Classified(outcome) => outcome,
            Self::HandshakeFailed(e) => panic!("server handshake failed: {e}"),
        }
    }

    pub fn reason_kind(&self) -> Option<ReasonKind> {
        self.outcome().reason().map(|r| r.kind())
    }
}

/// What the client presents.
pub enum Presented {
    /// No client certificate.
    Nothing,
    /// This chain, signed with this key (which need not match).
    Chain(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
}

impl Clone for Presented {
    fn clone(&self) -> Self {
        match self {
            Self::Nothing => Self::Nothing,
            Self::Chain(chain, key) => Self::Chain(chain.clone(), key.clone_key()),
        }
    }
}

impl Presented {
    /// The leaf's own chain (leaf + intermediates) and key.
    pub fn leaf(leaf: &Leaf) -> Self {
        Self::Chain(leaf.chain(), leaf.key_der())
    }

    /// The leaf alone, without its intermediates.
    pub fn leaf_only(leaf: &Leaf) -> Self {
        Self::Chain(vec![leaf.cert_der()], leaf.key_der())
    }
}

/// The result of one client connection.
#[derive(Debug)]
pub struct ClientSide {
    /// `Ok` if the handshake completed and the server's reply was read.
    pub result: Result<(), String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// The CA names in the server's CertificateRequest; `None` when no
    /// certificate was requested.
    pub hints: Option<Vec<Vec<u8>>>,
}

/// Test scenario: server certificate from `pki.root`.
pub struct Harness {
    pub pki: Arc<Pki>,
}

impl Harness {
    pub fn new(pki: Arc<Pki>) -> Self {
        Self { pki }
    }

    /// One handshake: starts a server accepting one connection with
    /// `classifier.verifier(mode)`, connects with `presented` over
    /// `version`, classifies at `at` (system time if `None`).
    pub async fn run(
        &self,
        classifier: &Classifier,
        mode: VerifyMode,
        presented: Presented,
        version: &'static SupportedProtocolVersion,
        at: Option<UnixTime>,
    ) -> (ClientSide, ServerSide) {
        let config = server_config(
            provider(),
            self.pki.server.chain(),
            self.pki.server.key_der(),
            classifier.verifier(mode),
        )
        .expect("server config");
        let (addr, server) = serve_once(Arc::new(config), classifier.clone(), at).await;
        let client = connect(addr, &self.pki, presented, version).await;
        let server = tokio::time::timeout(LIMIT, server)
            .await
            .expect("server finishes in time")
            .expect("server task reports");
        (client, server)
    }
}

/// Starts a server that accepts ONE connection, classifies it and reports
/// the outcome through a oneshot channel.
pub async fn serve_once(
    config: Arc<rustls::ServerConfig>,
    classifier: Classifier,
    at: Option<UnixTime>,
) -> (SocketAddr, oneshot::Receiver<ServerSide>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let side = async {
            let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let tls = TlsAcceptor::from(config)
                .accept(tcp)
                .await
                .map_err(|e| e.to_string())?;
            let peer = tls.get_ref().1.peer_certificates();
            let outcome = match at {
                Some(at) => classifier.classify_at(peer, at),
                None => classifier.classify(peer),
            };
            Ok::<_, String>((tls, outcome))
        };
        let side = match tokio::time::timeout(LIMIT, side).await {
            Ok(Ok((mut tls, outcome))) => {
                // Tell the client the handshake really completed.
                let _ = tls.write_all(b"ok").await;
                let _ = tls.shutdown().await;
                ServerSide::Classified(outcome)
            }
            Ok(Err(e)) => ServerSide::HandshakeFailed(e),
            Err(_) => ServerSide::HandshakeFailed("timed out".to_owned()),
        };
        let _ = tx.send(side);
    });
    (addr, rx)
}

/// Connects with a rustls client presenting `presented` (offering ALPN h2
/// and http/1.1), completes the handshake and reads the server's reply.
pub async fn connect(
    addr: SocketAddr,
    pki: &Pki,
    presented: Presented,
    version: &'static SupportedProtocolVersion,
) -> ClientSide {
    let builder = TlsClient::builder(pki)
        .version(version)
        .alpn(&[b"h2", b"http/1.1"]);
    let client = match presented {
        Presented::Nothing => builder,
        Presented::Chain(chain, key) => builder.present_chain(chain, key),
    }
    .build();
    let attempt = async {
        let mut tls = client.connect(addr).await?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        let reply = read_to_close(&mut tls).await?;
        if reply != b"ok" {
            return Err(io::Error::other(format!("unexpected reply {reply:?}")));
        }
        Ok(alpn)
    };
    let (result, alpn) = match attempt.await {
        Ok(alpn) => (Ok(()), alpn),
        Err(e) => (Err(e.to_string()), None),
    };
    ClientSide {
        result,
        alpn,
        hints: client.last_advertised(),
    }
}

/// A fixed time: now + `days` (may be negative).
pub fn days_from_now(days: i64) -> UnixTime {
    mtls_testpki::unix_time(mtls_testpki::now() + mtls_testpki::time::Duration::days(days))
}
