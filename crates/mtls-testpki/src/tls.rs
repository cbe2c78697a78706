//! The loopback TLS client every integration test uses (feature `tls`): a
//! rustls client (ring provider) that trusts one root, presents any chain
//! (or none, or a chain with a key that does not match it), offers the ALPN
//! protocols and TLS versions a test asks for, and records the CA names the
//! server advertised in each CertificateRequest.
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> std::io::Result<()> {
//! use mtls_testpki::Pki;
//! use mtls_testpki::tls::{TlsClient, get};
//!
//! let pki = Pki::generate();
//! let client = TlsClient::builder(&pki)
//!     .present(&pki.valid_from_root)
//!     .alpn(&[b"http/1.1"])
//!     .build();
//! let mut tls = client.connect(addr).await?;
//! let response = get(&mut tls).await?;
//! assert!(response.starts_with("HTTP/1.1 "));
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme, SupportedProtocolVersion};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::{Leaf, Pki};

/// Upper bound for anything a test waits for on the network: reaching it is
/// a failure (a hang), never a measurement.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Both TLS versions, for tests that run under each.
pub const VERSIONS: [&SupportedProtocolVersion; 2] =
    [&rustls::version::TLS12, &rustls::version::TLS13];

/// The request [`get`] sends.
pub const GET: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

/// The crypto provider of the tests: ring.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub async fn bounded<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what}: did not finish within {LIMIT:?}"),
    }
}

/// The CA names of every CertificateRequest a client answered.
type Requests = Arc<Mutex<Vec<Vec<Vec<u8>>>>>;

/// A rustls client configuration plus what its handshakes recorded.
#[derive(Clone, Debug)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    requests: Requests,
}

impl TlsClient {
    /// A client trusting `pki`'s root (which issued `pki.server`).
    pub fn builder(pki: &Pki) -> TlsClientBuilder {
        Self::trusting(pki.root.cert_der())
    }

    /// A client trusting `root` alone.
    pub fn trusting(root: CertificateDer<'static>) -> TlsClientBuilder {
        TlsClientBuilder {
            root,
            presented: None,
            alpn: Vec::new(),
            versions: VERSIONS.to_vec(),
        }
    }

    /// The rustls configuration (with its own session cache: resumption on).
    pub fn config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }

    /// Connects to `addr` and completes the handshake as `localhost`, within
    /// [`LIMIT`] (a timeout is an `io::ErrorKind::TimedOut` error).
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<TlsStream<TcpStream>> {
        let work = async {
            let tcp = TcpStream::connect(addr).await?;
            self.connect_over(tcp).await
        };
        tokio::time::timeout(LIMIT, work)
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, "TLS connect")))
    }

    /// The handshake as `localhost` over an already connected transport.
    pub async fn connect_over<IO>(&self, io: IO) -> io::Result<tokio_rustls::client::TlsStream<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
        TlsConnector::from(self.config()).connect(name, io).await
    }

    /// The CA names of each CertificateRequest answered so far, oldest first
    /// (a resumed handshake has none).
    pub fn certificate_requests(&self) -> Vec<Vec<Vec<u8>>> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The CA names of the last CertificateRequest; `None` if the server
    /// never asked for a certificate.
    pub fn last_advertised(&self) -> Option<Vec<Vec<u8>>> {
        self.certificate_requests().pop()
    }
}

/// Builds a [`TlsClient`]: no client certificate, no ALPN, TLS 1.2 and 1.3.
#[derive(Debug)]
pub struct TlsClientBuilder {
    root: CertificateDer<'static>,
    presented: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    alpn: Vec<Vec<u8>>,
    versions: Vec<&'static SupportedProtocolVersion>,
}

impl TlsClientBuilder {
    /// Presents `leaf`'s chain (leaf + intermediates) with its key.
    pub fn present(self, leaf: &Leaf) -> Self {
        self.present_chain(leaf.chain(), leaf.key_der())
    }

    /// Presents `leaf` if `Some`, no certificate if `None`.
    pub fn present_opt(self, leaf: Option<&Leaf>) -> Self {
        match leaf {
            Some(leaf) => self.present(leaf),
            None => self,
        }
    }

    /// Presents `chain` and signs with `key`, which need not match the leaf
    /// (what someone holding only a public certificate could do).
    pub fn present_chain(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.presented = Some((chain, key));
        self
    }

    /// Offers these ALPN protocols, in this order.
    pub fn alpn(mut self, protocols: &[&[u8]]) -> Self {
        self.alpn = protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// Speaks `version` only.
    pub fn version(mut self, version: &'static SupportedProtocolVersion) -> Self {
        self.versions = vec![version];
        self
    }

    /// The client. Panics (a test bug) if the root or the key is unusable.
    pub fn build(self) -> TlsClient {
        let provider = provider();
        let key = self.presented.map(|(chain, key)| {
            let signer = provider
                .key_provider
                .load_private_key(key)
                .expect("mtls-testpki: client key loads");
            Arc::new(CertifiedKey::new(chain, signer))
        });
        let mut roots = RootCertStore::empty();
        roots
            .add(self.root)
            .expect("mtls-testpki: root is a valid trust anchor");
        let requests = Requests::default();
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&self.versions)
            .expect("mtls-testpki: protocol versions")
            .with_root_certificates(roots)
            .with_client_cert_resolver(Arc::new(Recorder {
                key,
                requests: Arc::clone(&requests),
            }));
        config.alpn_protocols = self.alpn;
        TlsClient {
            config: Arc::new(config),
            requests,
        }
    }
}

/// Presents what it is given and records the CA names of every
/// CertificateRequest it answers.
#[derive(Debug)]
struct Recorder {
    key: Option<Arc<CertifiedKey>>,
    requests: Requests,
}

impl ResolvesClientCert for Recorder {
    fn resolve(&self, root_hints: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(root_hints.iter().map(|name| name.to_vec()).collect());
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// Sends [`GET`] and returns the whole response (see [`read_to_close`]).
pub async fn get(io: &mut (impl AsyncRead + AsyncWrite + Unpin)) -> io::Result<String> {
    let response = request(io, GET.as_bytes()).await?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// Sends `raw` verbatim and returns everything the peer sends until it
/// closes (see [`read_to_close`]).
pub async fn request(
    io: &mut (impl AsyncRead + AsyncWrite + Unpin),
    raw: &[u8],
) -> io::Result<Vec<u8>> {
    io.write_all(raw).await?;
    io.flush().await?;
    read_to_close(io).await
}

/// Reads exactly one HTTP/1.1 response (head and `Content-Length` body)
/// from a keep-alive connection, within [`LIMIT`]; the connection stays
/// usable for the next request. Panics (fails the test) if the peer closes
/// first or the response has no `Content-Length`.
pub async fn read_one_response(io: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut out = Vec::new();
    let work = async {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(end) = out.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&out[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .and_then(|value| value.trim().parse::<usize>().ok())
                    .expect("the response has a Content-Length");
                if out.len() >= end + 4 + length {
                    return;
                }
            }
            match io.read(&mut chunk).await {
                Ok(0) | Err(_) => panic!(
                    "connection closed before a whole response: {:?}",
                    String::from_utf8_lossy(&out)
                ),
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
        }
    };
    bounded("one whole response", work).await;
    out
}

/// Reads until the peer closes, within [`LIMIT`]. A peer that closes without
/// TLS close_notify ends the read too: what was read counts; an error before
/// any byte arrived is returned.
pub async fn read_to_close(io: &mut (impl AsyncRead + Unpin)) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let work = async {
        let mut chunk = [0u8; 4096];
        loop {
            match io.read(&mut chunk).await {
                Ok(0) => return Ok(()),
                Ok(n) => out.extend_from_slice(&chunk[..n]),
                Err(_) if !out.is_empty() => return Ok(()),
                Err(error) => return Err(error),
            }
        }
    };
    bounded("the peer closes the connection", work).await?;
    Ok(out)
}

/// The body of an HTTP/1.1 response (everything after the head).
pub fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}
