//! Shared helpers: a TLS server that accepts ONE connection with
//! `tokio_rustls::TlsAcceptor`, classifies the peer's chain and reports the
//! outcome; a rustls client (ring provider) that presents any chain, over
//! 127.0.0.1.

#![allow(dead_code, unreachable_pub)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mtls_status::{ClientAuthOutcome, ReasonKind, VerifyMode};
use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStore, server_config};
use mtls_testpki::{Ca, Leaf, Pki};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Upper bound on any network wait, so a bug hangs no test.
pub const LIMIT: Duration = Duration::from_secs(20);

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub const TLS12: &SupportedProtocolVersion = &rustls::version::TLS12;
pub const TLS13: &SupportedProtocolVersion = &rustls::version::TLS13;
pub const VERSIONS: [&SupportedProtocolVersion; 2] = [TLS12, TLS13];

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

/// A client-certificate resolver that presents whatever it is given and
/// records the CA names the server advertised.
#[derive(Debug)]
struct Resolver {
    key: Option<Arc<CertifiedKey>>,
    hints: Arc<Mutex<Option<Vec<Vec<u8>>>>>,
}

impl ResolvesClientCert for Resolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        if let Ok(mut hints) = self.hints.lock() {
            *hints = Some(root_hint_subjects.iter().map(|h| h.to_vec()).collect());
        }
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
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
    pub server_roots: Arc<RootCertStore>,
}

impl Harness {
    pub fn new(pki: Arc<Pki>) -> Self {
        let mut roots = RootCertStore::empty();
        roots.add(pki.root.cert_der()).expect("root parses");
        Self {
            pki,
            server_roots: Arc::new(roots),
        }
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
        let client = connect(addr, &self.server_roots, presented, version).await;
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
) -> (std::net::SocketAddr, oneshot::Receiver<ServerSide>) {
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

/// Connects with a rustls client presenting `presented`, completes the
/// handshake and reads the server's reply.
pub async fn connect(
    addr: std::net::SocketAddr,
    server_roots: &Arc<RootCertStore>,
    presented: Presented,
    version: &'static SupportedProtocolVersion,
) -> ClientSide {
    let provider = provider();
    let key = match presented {
        Presented::Nothing => None,
        Presented::Chain(chain, key) => {
            let signer = provider
                .key_provider
                .load_private_key(key)
                .expect("client key loads");
            Some(Arc::new(CertifiedKey::new(chain, signer)))
        }
    };
    let hints = Arc::new(Mutex::new(None));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .expect("protocol versions")
        .with_root_certificates(Arc::clone(server_roots))
        .with_client_cert_resolver(Arc::new(Resolver {
            key,
            hints: Arc::clone(&hints),
        }));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let attempt = async {
        let tcp = TcpStream::connect(addr).await?;
        let mut tls = connector
            .connect(
                ServerName::try_from("localhost").map_err(io::Error::other)?,
                tcp,
            )
            .await?;
        let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
        let mut reply = Vec::new();
        tls.read_to_end(&mut reply).await?;
        if reply != b"ok" {
            return Err(io::Error::other(format!("unexpected reply {reply:?}")));
        }
        Ok(alpn)
    };
    let (result, alpn) = match tokio::time::timeout(LIMIT, attempt).await {
        Ok(Ok(alpn)) => (Ok(()), alpn),
        Ok(Err(e)) => (Err(e.to_string()), None),
        Err(_) => (Err("client timed out".to_owned()), None),
    };
    let hints = hints.lock().ok().and_then(|h| h.clone());
    ClientSide {
        result,
        alpn,
        hints,
    }
}

/// A fixed time: now + `days` (may be negative).
pub fn days_from_now(days: i64) -> UnixTime {
    mtls_testpki::unix_time(mtls_testpki::now() + mtls_testpki::time::Duration::days(days))
}
