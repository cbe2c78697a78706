//! Shared set-up for the acceptor tests (acceptor.rs, concurrency.rs,
//! resumption.rs): a generated PKI, a server configuration with the deferred
//! verifier, real rustls clients over 127.0.0.1 (ring provider).
#![allow(dead_code, unreachable_pub)] // each test binary uses a part

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mtls_status::{ClientAuthOutcome, VerifyMode};
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsStream, ReloadableTrustStore, TrustStore, server_config,
};
use mtls_testpki::{Leaf, Pki};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, HandshakeKind, ProtocolVersion, RootCertStore, ServerConfig, SignatureScheme,
    SupportedProtocolVersion,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Upper bound for anything a test waits for: reaching it is a failure
/// (a hang), never a measurement.
pub const BOUND: Duration = Duration::from_secs(20);

/// Both TLS versions, for tests that run under each.
pub const VERSIONS: [&SupportedProtocolVersion; 2] =
    [&rustls::version::TLS12, &rustls::version::TLS13];

/// Awaits `future`, failing the test if it takes longer than [`BOUND`].
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(BOUND, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: did not finish within {BOUND:?}"),
    }
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server: PKI, reloadable trust store (root + intermediate, no CRL),
/// classifier, and a rustls configuration with the deferred verifier.
pub struct Server {
    pub pki: Pki,
    pub classifier: Classifier,
    pub config: Arc<ServerConfig>,
}

impl Server {
    pub fn new() -> Self {
        Self::with_mode(VerifyMode::On)
    }

    pub fn with_mode(mode: VerifyMode) -> Self {
        let pki = Pki::generate();
        let store = TrustStore::builder()
            .ca_pem(pki.ca_bundle_pem())
            .build()
            .expect("trust store");
        let classifier = Classifier::builder(ReloadableTrustStore::new(store), provider())
            .build()
            .expect("classifier");
        let config = server_config(
            provider(),
            pki.server.chain(),
            pki.server.key_der(),
            classifier.verifier(mode),
        )
        .expect("server config");
        Self {
            pki,
            classifier,
            config: Arc::new(config),
        }
    }

    pub fn acceptor(&self) -> MtlsAcceptor {
        MtlsAcceptor::new(Arc::clone(&self.config), self.classifier.clone())
    }

    /// A client trusting the server's root, restricted to `version`,
    /// presenting `client` (or no certificate), offering ALPN `http/1.1`, with
    /// rustls's default in-memory session cache (resumption on).
    pub fn client(
        &self,
        client: Option<&Leaf>,
        version: &'static SupportedProtocolVersion,
    ) -> Arc<ClientConfig> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .expect("protocol version")
            .with_root_certificates(self.roots());
        let mut config = match client {
            Some(leaf) => builder
                .with_client_auth_cert(leaf.chain(), leaf.key_der())
                .expect("client certificate"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }

    /// A client that presents `cert`'s chain but signs with `key`'s private
    /// key: what someone holding only a (public) certificate could do.
    pub fn client_with_wrong_key(
        &self,
        cert: &Leaf,
        key: &Leaf,
        version: &'static SupportedProtocolVersion,
    ) -> Arc<ClientConfig> {
        let signing_key = provider()
            .key_provider
            .load_private_key(key.key_der())
            .expect("key");
        let resolver = WrongKey(Arc::new(CertifiedKey::new(cert.chain(), signing_key)));
        let config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .expect("protocol version")
            .with_root_certificates(self.roots())
            .with_client_cert_resolver(Arc::new(resolver));
        Arc::new(config)
    }

    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.pki.root.cert_der()).expect("root");
        roots
    }
}

#[derive(Debug)]
struct WrongKey(Arc<CertifiedKey>);

impl ResolvesClientCert for WrongKey {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// What the server saw on one connection.
#[derive(Debug)]
pub struct Seen {
    pub outcome: Arc<ClientAuthOutcome>,
    pub kind: HandshakeKind,
    pub version: Option<ProtocolVersion>,
    pub alpn: Option<Vec<u8>>,
    pub server_name: Option<String>,
}

impl Seen {
    pub fn reason_name(&self) -> Option<&'static str> {
        self.outcome.reason().map(|reason| reason.name())
    }
}

/// Serves one HTTP/1.1 exchange on an accepted connection: reads the request
/// head, answers 200 with the `ssl_client_verify` value as body, closes.
pub async fn serve<IO>(mut stream: MtlsStream<IO>) -> io::Result<Seen>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let seen = Seen {
        outcome: Arc::clone(stream.outcome()),
        kind: stream.handshake_kind(),
        version: stream.protocol_version(),
        alpn: stream.alpn_protocol().map(<[u8]>::to_vec),
        server_name: stream.server_name().map(str::to_owned),
    };
    read_head(&mut stream).await?;
    let body = seen.outcome.ssl_client_verify();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(seen)
}

/// Reads up to the end of an HTTP request head.
pub async fn read_head<IO: AsyncRead + Unpin>(io: &mut IO) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if io.read(&mut byte).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
        assert!(head.len() < 64 * 1024, "request head too long");
    }
    Ok(head)
}

/// Connects to `addr` as `localhost` with `config`, sends a GET, and returns
/// the whole response.
pub async fn get(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<String> {
    let tcp = TcpStream::connect(addr).await?;
    get_over(tcp, config).await
}

/// As [`get`], over an already connected socket.
pub async fn get_over(tcp: TcpStream, config: Arc<ClientConfig>) -> io::Result<String> {
    let name = ServerName::try_from("localhost").expect("server name");
    let mut tls = TlsConnector::from(config).connect(name, tcp).await?;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    Ok(response)
}

/// The body of an HTTP response.
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}
