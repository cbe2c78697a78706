#![allow(dead_code, reason = "each bench uses a part of it")]

//! What the request-latency benches share: a client config, one HTTPS
//! request on a new connection, latencies and their summary, settings from
//! the environment.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mtls_testpki::{Leaf, Pki};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Latencies of answered requests, and how many were not answered.
#[derive(Default)]
pub(crate) struct Latencies {
    pub(crate) answered: Vec<Duration>,
    pub(crate) failed: usize,
}

impl Latencies {
    pub(crate) fn answered(&self) -> usize {
        self.answered.len()
    }

    fn sorted(&self) -> Vec<Duration> {
        let mut sorted = self.answered.clone();
        sorted.sort();
        sorted
    }

    /// The `q` quantile (0.5: the median) of the answered requests.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        let sorted = self.sorted();
        let last = sorted.len().checked_sub(1)?;
        sorted.get((last as f64 * q).round() as usize).copied()
    }

    pub(crate) fn median(&self) -> Option<Duration> {
        self.quantile(0.5)
    }

    /// `answered/all  median  p90  p99  max`, fixed width.
    pub(crate) fn summary(&self) -> String {
        let at = |q: f64| {
            self.quantile(q).map_or("-".to_owned(), |d| {
                format!("{:.2} ms", d.as_secs_f64() * 1e3)
            })
        };
        format!(
            "{:>11} {:>10} {:>10} {:>10} {:>10}",
            format!("{}/{}", self.answered(), self.answered() + self.failed),
            at(0.5),
            at(0.9),
            at(0.99),
            at(1.0)
        )
    }

    /// The header of [`summary`](Self::summary), after a `width`-wide label.
    pub(crate) fn header(label: &str, width: usize) -> String {
        format!(
            "{label:<width$} {:>11} {:>10} {:>10} {:>10} {:>10}",
            "answered", "median", "p90", "p99", "max"
        )
    }
}

/// A TLS 1.3 client of `pki`'s root presenting `client`, without
/// resumption (every request a full handshake).
pub(crate) fn client_config(pki: &Pki, client: &Leaf) -> Result<Arc<ClientConfig>, BoxError> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.root.cert_der())?;
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_client_auth_cert(client.chain(), client.key_der())?;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

/// `GET path` on a new connection; the whole response must be a 200.
pub(crate) async fn get(
    client: &Arc<ClientConfig>,
    addr: SocketAddr,
    path: &str,
) -> Result<(), BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = ServerName::try_from("localhost")?;
    let mut tls = TlsConnector::from(Arc::clone(client))
        .connect(name, tcp)
        .await?;
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    if !response.starts_with(b"HTTP/1.1 200 ") {
        return Err(format!(
            "not a 200: {}",
            String::from_utf8_lossy(&response[..response.len().min(200)])
        )
        .into());
    }
    Ok(())
}

/// [`get`] timed: its latency, or `None` if it failed or took over `give_up`.
pub(crate) async fn timed_get(
    client: &Arc<ClientConfig>,
    addr: SocketAddr,
    path: &str,
    give_up: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    match tokio::time::timeout(give_up, get(client, addr, path)).await {
        Ok(Ok(())) => Some(started.elapsed()),
        Ok(Err(_)) | Err(_) => None,
    }
}

/// The variable `name` as a number, or `default` when unset.
pub(crate) fn env_or(name: &str, default: usize) -> Result<usize, BoxError> {
    match std::env::var(name) {
        Ok(value) => Ok(value
            .parse()
            .map_err(|error| format!("{name}={value}: {error}"))?),
        Err(_) => Ok(default),
    }
}
