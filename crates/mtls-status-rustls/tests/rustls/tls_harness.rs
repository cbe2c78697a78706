//! Shared set-up for the acceptor tests (acceptor, concurrency, idle,
//! reload_hints, resumption): a generated PKI, a server configuration with
//! the deferred verifier, and the shared loopback client
//! ([`mtls_testpki::tls::TlsClient`]) set up as these tests need it.
#![allow(unreachable_pub)]

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use mtls_status::{ClientAuthOutcome, VerifyMode};
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsStream, ReloadableTrustStore, TrustStore, server_config,
};
use mtls_testpki::tls::{self, TlsClient};
pub use mtls_testpki::tls::{VERSIONS, body, bounded, provider};
use mtls_testpki::{Leaf, Pki};
use rustls::{HandshakeKind, ProtocolVersion, ServerConfig, SupportedProtocolVersion};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

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
        MtlsAcceptor::with_fixed_config(Arc::clone(&self.config), self.classifier.clone())
    }

    /// A client trusting the server's root, restricted to `version`,
    /// presenting `client` (or no certificate), offering ALPN `http/1.1`, with
    /// rustls's default in-memory session cache (resumption on).
    pub fn client(
        &self,
        client: Option<&Leaf>,
        version: &'static SupportedProtocolVersion,
    ) -> TlsClient {
        http_client(&self.pki, client, version)
    }

    /// A client that presents `cert`'s chain but signs with `key`'s private
    /// key: what someone holding only a (public) certificate could do.
    pub fn client_with_wrong_key(
        &self,
        cert: &Leaf,
        key: &Leaf,
        version: &'static SupportedProtocolVersion,
    ) -> TlsClient {
        TlsClient::builder(&self.pki)
            .present_chain(cert.chain(), key.key_der())
            .version(version)
            .build()
    }
}

/// A client of `pki`'s server speaking `version` only, presenting `client`
/// (or nothing), offering ALPN `http/1.1`.
pub fn http_client(
    pki: &Pki,
    client: Option<&Leaf>,
    version: &'static SupportedProtocolVersion,
) -> TlsClient {
    TlsClient::builder(pki)
        .present_opt(client)
        .version(version)
        .alpn(&[b"http/1.1"])
        .build()
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

/// Connects to `addr` with `client`, sends a GET, and returns the whole
/// response.
pub async fn get(addr: SocketAddr, client: TlsClient) -> io::Result<String> {
    let mut tls = client.connect(addr).await?;
    tls::get(&mut tls).await
}

/// As [`get`], over an already connected socket.
pub async fn get_over(tcp: TcpStream, client: TlsClient) -> io::Result<String> {
    let mut tls = client.connect_over(tcp).await?;
    tls::get(&mut tls).await
}
