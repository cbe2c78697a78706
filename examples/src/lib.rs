//! Shared by the examples in `examples/`: a minimal HTTPS client (rustls
//! with the ring provider, hyper HTTP/1.1) that presents a client
//! certificate or none, so each example can call the server it starts.
//!
//! ```text
//! cargo run --example quickstart     # axum: per-route policies, extractors
//! cargo run --example hyper_server   # hyper + tower, without axum
//! cargo run --example tonic_greeter  # gRPC with tonic
//! ```

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty};
use hyper::ext::ReasonPhrase;
use hyper_util::rt::TokioIo;
use mtls_testpki::{Ca, Leaf};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Errors from [`https_get`].
pub type BoxError = Box<dyn Error + Send + Sync>;

/// How long [`https_get`] waits for the whole exchange.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A response as the client received it.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase on the status line when it is not the standard one
    /// (`SSL Certificate Required` for 496, ...).
    pub reason_phrase: Option<String>,
    /// The `Content-Type`, empty if none.
    pub content_type: String,
    /// The body, as text.
    pub body: String,
}

impl Reply {
    /// The status line's code and phrase, e.g. `495 SSL Certificate Error`.
    pub fn status_line(&self) -> String {
        let phrase = self
            .reason_phrase
            .as_deref()
            .or(self.status.canonical_reason())
            .unwrap_or("");
        format!("{} {phrase}", self.status.as_u16())
    }
}

/// `GET https://localhost{path}` at `addr` over a fresh connection, trusting
/// `server_ca` for the server's certificate and presenting `client`'s
/// certificate chain, or none.
///
/// # Errors
///
/// Connection, TLS or HTTP failures, or no answer within [`CLIENT_TIMEOUT`].
pub async fn https_get(
    addr: SocketAddr,
    server_ca: &Ca,
    client: Option<&Leaf>,
    path: &str,
) -> Result<Reply, BoxError> {
    tokio::time::timeout(CLIENT_TIMEOUT, get(addr, server_ca, client, path))
        .await
        .map_err(|_| format!("no answer from {addr} within {CLIENT_TIMEOUT:?}"))?
}

async fn get(
    addr: SocketAddr,
    server_ca: &Ca,
    client: Option<&Leaf>,
    path: &str,
) -> Result<Reply, BoxError> {
    let config = client_config(server_ca, client, b"http/1.1")?;

    let tcp = TcpStream::connect(addr).await?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost")?, tcp)
        .await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
    tokio::spawn(connection);

    let request = Request::get(path)
        .header(header::HOST, "localhost")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let reason_phrase = response
        .extensions()
        .get::<ReasonPhrase>()
        .map(|phrase| String::from_utf8_lossy(phrase.as_bytes()).into_owned());
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        reason_phrase,
        content_type,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A rustls client config (ring) trusting `server_ca`, presenting `client`'s
/// certificate chain (or none) and offering the ALPN protocol `alpn`.
///
/// # Errors
///
/// If rustls refuses the root or the client's key.
pub fn client_config(
    server_ca: &Ca,
    client: Option<&Leaf>,
    alpn: &[u8],
) -> Result<ClientConfig, BoxError> {
    let mut roots = RootCertStore::empty();
    roots.add(server_ca.cert_der())?;
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
    let mut config = match client {
        Some(leaf) => builder.with_client_auth_cert(leaf.chain(), leaf.key_der())?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}
