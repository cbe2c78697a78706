//! The load generator: a multi-thread tokio runtime keeping a few
//! connections in flight, each a full handshake, one request, the response.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::BoxError;
use crate::servers::ServerUnderTest;
use crate::settings::Settings;
use crate::setup::Setup;

/// The request every connection sends.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
/// Upper bound for one connection, so a stuck server cannot hang the run.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response read; it is tiny.
const MAX_RESPONSE: u64 = 16 * 1024;

pub(crate) struct LoadGenerator {
    runtime: tokio::runtime::Runtime,
    connector: TlsConnector,
    connections: usize,
}

/// One measurement of one server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Connections completed (handshake, request, 200 response).
    pub(crate) handshakes: u64,
    /// Connections failed.
    pub(crate) errors: u64,
    pub(crate) wall: Duration,
    /// Server CPU time over the same window, if readable.
    server_cpu: Option<Duration>,
}

impl Sample {
    pub(crate) fn per_second(&self) -> f64 {
        self.handshakes as f64 / self.wall.as_secs_f64()
    }

    pub(crate) fn cpu_per_handshake_us(&self) -> Option<f64> {
        let cpu = self.server_cpu?;
        (self.handshakes > 0).then(|| cpu.as_secs_f64() * 1e6 / self.handshakes as f64)
    }

    pub(crate) fn server_cores(&self) -> Option<f64> {
        Some(self.server_cpu?.as_secs_f64() / self.wall.as_secs_f64())
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>8.0} handshakes/s", self.per_second())?;
        if let (Some(us), Some(cores)) = (self.cpu_per_handshake_us(), self.server_cores()) {
            write!(f, ", server {us:>6.1} µs CPU/handshake, {cores:.2} cores")?;
        }
        if self.errors > 0 {
            write!(f, ", {} ERRORS", self.errors)?;
        }
        Ok(())
    }
}

impl LoadGenerator {
    pub(crate) fn new(setup: &Setup, settings: &Settings) -> Result<Self, BoxError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(settings.client_threads)
            .thread_name("load-generator")
            .enable_all()
            .build()?;
        let config = setup.client_config(settings.client_verifies_server)?;
        Ok(Self {
            runtime,
            connector: TlsConnector::from(Arc::new(config)),
            connections: settings.connections,
        })
    }

    /// Measures every server `settings.rounds` times, the servers back to
    /// back in each round (each round starting with the next server, so none
    /// is always first, or always right after nginx); the samples of each
    /// server, in `servers` order.
    pub(crate) fn rounds(
        &self,
        servers: &[ServerUnderTest],
        settings: &Settings,
    ) -> Result<Vec<Vec<Sample>>, BoxError> {
        let per_sample = Duration::from_secs_f64(settings.secs_per_server / settings.rounds as f64);
        let mut samples: Vec<Vec<Sample>> = servers.iter().map(|_| Vec::new()).collect();
        for round in 0..settings.rounds {
            for offset in 0..servers.len() {
                let index = (round + offset) % servers.len();
                let server = &servers[index];
                let sample = self.measure(server, settings.warmup, per_sample)?;
                println!("round {}: {:<34} {sample}", round + 1, server.label);
                samples[index].push(sample);
            }
        }
        Ok(samples)
    }

    /// Drives `connections` connection loops against `server`: `warmup`, then
    /// counts completed connections for `duration`.
    pub(crate) fn measure(
        &self,
        server: &ServerUnderTest,
        warmup: Duration,
        duration: Duration,
    ) -> Result<Sample, BoxError> {
        let done = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let first_error = Arc::new(Mutex::new(None::<String>));
        self.runtime.block_on(async {
            let loops: Vec<_> = (0..self.connections)
                .map(|_| {
                    let (connector, addr) = (self.connector.clone(), server.addr);
                    let (done, errors, stop) = (done.clone(), errors.clone(), stop.clone());
                    let first_error = first_error.clone();
                    tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            match one_connection(&connector, addr).await {
                                Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                                Err(error) => {
                                    if let Ok(mut first) = first_error.lock() {
                                        first.get_or_insert(error.to_string());
                                    }
                                    errors.fetch_add(1, Ordering::Relaxed)
                                }
                            };
                        }
                    })
                })
                .collect();
            tokio::time::sleep(warmup).await;
            let (n0, e0, c0, t0) = (
                done.load(Ordering::Relaxed),
                errors.load(Ordering::Relaxed),
                server.cpu_ns(),
                Instant::now(),
            );
            tokio::time::sleep(duration).await;
            let (n1, e1, c1, wall) = (
                done.load(Ordering::Relaxed),
                errors.load(Ordering::Relaxed),
                server.cpu_ns(),
                t0.elapsed(),
            );
            stop.store(true, Ordering::Relaxed);
            for handle in loops {
                let _ = handle.await;
            }
            let sample = Sample {
                handshakes: n1 - n0,
                errors: e1 - e0,
                wall,
                server_cpu: c0
                    .zip(c1)
                    .map(|(c0, c1)| Duration::from_nanos(c1.saturating_sub(c0))),
            };
            if sample.handshakes == 0 {
                let error = first_error.lock().ok().and_then(|e| e.clone());
                return Err(format!(
                    "{}: no handshake completed ({})",
                    server.label,
                    error.unwrap_or_default()
                )
                .into());
            }
            Ok(sample)
        })
    }
}

/// Connect, full handshake, request, whole response (to the server's close).
async fn one_connection(connector: &TlsConnector, addr: SocketAddr) -> Result<(), BoxError> {
    let exchange = async {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let name = ServerName::try_from("localhost")?;
        let mut tls = connector.connect(name, tcp).await?;
        tls.write_all(REQUEST).await?;
        tls.flush().await?;
        let mut response = Vec::with_capacity(512);
        let read = (&mut tls)
            .take(MAX_RESPONSE)
            .read_to_end(&mut response)
            .await;
        let complete = response.windows(4).any(|w| w == b"\r\n\r\n");
        match read {
            Ok(_) => {}
            // A server that closes without close_notify, after the response.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof && complete => {}
            Err(error) => return Err(error.into()),
        }
        if !response.starts_with(b"HTTP/1.1 200 ") {
            let head = String::from_utf8_lossy(&response[..response.len().min(40)]).into_owned();
            return Err(format!("unexpected response: {head:?}").into());
        }
        Ok::<(), BoxError>(())
    };
    tokio::time::timeout(CONNECTION_TIMEOUT, exchange)
        .await
        .map_err(|_| "connection timed out")?
}
