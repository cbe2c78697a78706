//! The servers under test: the rustls servers, each on a thread of its own
//! with a current-thread tokio runtime, and nginx (see `nginx.rs`).

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use mtls_status_rustls::{Accepted, MtlsAcceptor};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::BoxError;
use crate::nginx::Nginx;
use crate::setup::Setup;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// (a) tokio-rustls with `WebPkiClientVerifier`.
    Plain,
    /// (b) `MtlsAcceptor`, verdict cache on.
    Mtls,
    /// (b0) `MtlsAcceptor`, no verdict cache.
    MtlsCold,
    /// (d) tokio-rustls with the deferred verifier, nothing after.
    Deferred,
}

/// A server listening on 127.0.0.1, with where to read its CPU time.
pub(crate) struct ServerUnderTest {
    pub(crate) label: String,
    pub(crate) addr: SocketAddr,
    /// `/proc/.../schedstat` of the threads doing the server's work.
    schedstat: Vec<PathBuf>,
    /// Stopped on drop.
    _rustls: Option<RustlsServer>,
    _nginx: Option<Nginx>,
}

impl ServerUnderTest {
    pub(crate) fn rustls(variant: Variant, setup: &Setup) -> Result<Self, BoxError> {
        let (label, acceptor) = match variant {
            Variant::Plain => (
                "(a) rustls+WebPki",
                Acceptor::Plain(TlsAcceptor::from(Arc::new(setup.plain_config()?))),
            ),
            Variant::Mtls => return Self::mtls("(b) MtlsAcceptor", setup.mtls_acceptor(true)?),
            Variant::MtlsCold => (
                "(b0) MtlsAcceptor, no cache",
                Acceptor::Mtls(setup.mtls_acceptor(false)?),
            ),
            Variant::Deferred => (
                "(d) rustls+deferred, no classify",
                Acceptor::Plain(TlsAcceptor::from(Arc::new(setup.deferred_config()?))),
            ),
        };
        Self::serving(label, acceptor)
    }

    /// A server of its own `acceptor` (e.g. with OCSP), answering as (b).
    pub(crate) fn mtls(label: &str, acceptor: MtlsAcceptor) -> Result<Self, BoxError> {
        Self::serving(label, Acceptor::Mtls(acceptor))
    }

    /// Like [`mtls`](Self::mtls), on a multi-thread runtime of `threads`
    /// workers.
    pub(crate) fn mtls_on_threads(
        label: &str,
        acceptor: MtlsAcceptor,
        threads: usize,
    ) -> Result<Self, BoxError> {
        Self::serving_on(label, Acceptor::Mtls(acceptor), threads)
    }

    fn serving(label: &str, acceptor: Acceptor) -> Result<Self, BoxError> {
        Self::serving_on(label, acceptor, 1)
    }

    fn serving_on(label: &str, acceptor: Acceptor, threads: usize) -> Result<Self, BoxError> {
        let server = RustlsServer::start(label, acceptor, threads)?;
        Ok(Self {
            label: label.to_owned(),
            addr: server.addr,
            schedstat: server.schedstat.clone(),
            _rustls: Some(server),
            _nginx: None,
        })
    }

    pub(crate) fn nginx(nginx: Nginx) -> Self {
        Self {
            label: match nginx.version() {
                version if version.is_empty() => "(c) nginx".to_owned(),
                version => format!("(c) {version}"),
            },
            addr: nginx.addr(),
            schedstat: nginx
                .workers()
                .iter()
                .map(|pid| PathBuf::from(format!("/proc/{pid}/schedstat")))
                .collect(),
            _rustls: None,
            _nginx: Some(nginx),
        }
    }

    /// Nanoseconds the server threads have run on a CPU so far.
    pub(crate) fn cpu_ns(&self) -> Option<u64> {
        self.schedstat
            .iter()
            .map(|path| {
                let text = fs::read_to_string(path).ok()?;
                text.split_whitespace().next()?.parse::<u64>().ok()
            })
            .sum()
    }
}

enum Acceptor {
    Plain(TlsAcceptor),
    Mtls(MtlsAcceptor),
}

impl Acceptor {
    async fn serve(&self, tcp: TcpStream) {
        match self {
            Self::Plain(acceptor) => {
                if let Ok(mut tls) = acceptor.accept(tcp).await {
                    respond(&mut tls, "200 OK").await;
                }
            }
            Self::Mtls(acceptor) => {
                if let Ok(Accepted::Tls(mut tls)) = acceptor.accept(tcp).await {
                    let outcome = Arc::clone(tls.outcome());
                    let status = if outcome.is_verified() {
                        "200 OK"
                    } else if outcome.is_invalid() {
                        "495 SSL Certificate Error"
                    } else {
                        "496 SSL Certificate Required"
                    };
                    respond(&mut tls, status).await;
                }
            }
        }
    }
}

/// Reads the request head, answers with an empty body, closes (close_notify
/// then FIN, so TIME_WAIT stays on the server side).
async fn respond<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, status: &str) {
    let mut request = [0u8; 1024];
    let mut len = 0;
    while !request[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut request[len..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => len += n,
        }
        if len == request.len() {
            return;
        }
    }
    let response = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    if stream.write_all(response.as_bytes()).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

/// One server on its own thread with a current-thread tokio runtime (or a
/// multi-thread one).
struct RustlsServer {
    addr: SocketAddr,
    schedstat: Vec<PathBuf>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl RustlsServer {
    fn start(label: &str, acceptor: Acceptor, threads: usize) -> Result<Self, BoxError> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, started) = std::sync::mpsc::channel::<io::Result<Vec<PathBuf>>>();
        let thread = thread::Builder::new()
            .name(label.to_owned())
            .spawn(move || {
                let workers = Arc::new(std::sync::Mutex::new(Vec::new()));
                let runtime = if threads > 1 {
                    let seen = Arc::clone(&workers);
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(threads)
                        .on_thread_start(move || {
                            if let (Ok(path), Ok(mut seen)) = (own_schedstat(), seen.lock()) {
                                seen.push(path);
                            }
                        })
                        .enable_all()
                        .build()
                } else {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                };
                let runtime = match (runtime, own_schedstat()) {
                    (Ok(runtime), Ok(schedstat)) => {
                        // Workers start on their own; wait (bounded) until each said where.
                        let deadline = std::time::Instant::now() + Duration::from_secs(2);
                        while threads > 1
                            && workers.lock().map_or(0, |seen| seen.len()) < threads
                            && std::time::Instant::now() < deadline
                        {
                            thread::sleep(Duration::from_millis(5));
                        }
                        let paths = match workers.lock() {
                            Ok(seen) if threads > 1 => seen.clone(),
                            _ => vec![schedstat],
                        };
                        let _ = ready.send(Ok(paths));
                        runtime
                    }
                    (Err(error), _) | (_, Err(error)) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    let acceptor = Arc::new(acceptor);
                    let serve = async {
                        loop {
                            let Ok((tcp, _)) = listener.accept().await else {
                                tokio::time::sleep(Duration::from_millis(1)).await;
                                continue;
                            };
                            let _ = tcp.set_nodelay(true);
                            let acceptor = Arc::clone(&acceptor);
                            tokio::spawn(async move { acceptor.serve(tcp).await });
                        }
                    };
                    tokio::select! {
                        _ = stopped => {}
                        () = serve => {}
                    }
                });
            })?;
        let schedstat = started
            .recv()
            .map_err(|_| "server thread exited at start")??;
        Ok(Self {
            addr,
            schedstat,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for RustlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `/proc/self/task/<tid>/schedstat` of the calling thread, readable from
/// any thread (`/proc/thread-self` is a link to `<pid>/task/<tid>`).
fn own_schedstat() -> io::Result<PathBuf> {
    let task = fs::read_link("/proc/thread-self")?;
    let tid = task
        .file_name()
        .ok_or_else(|| io::Error::other("unexpected /proc/thread-self link"))?;
    Ok(Path::new("/proc/self/task").join(tid).join("schedstat"))
}
