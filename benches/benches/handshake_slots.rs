//! A valid client's latency under handshake-slot exhaustion (#16 item 1),
//! side by side with the same client unloaded, in one run.
//!
//! The attack: `HANDSHAKE_SLOTS_ATTACKERS` (default 1000) TCP connections
//! to an `MtlsListener` with the default settings (512 concurrent
//! handshakes), half sending nothing, half the first bytes of a
//! ClientHello, each reopened as soon as the server closes it. The valid
//! client makes `HANDSHAKE_SLOTS_REQUESTS` sequential requests, each a new
//! TCP connection, a full TLS 1.3 handshake with a client certificate,
//! `GET /`, the whole 200 response; the latency is connect to last byte.
//!
//! Measured in one run:
//!
//! 1. **unloaded**: the listener with no attacker (the reference);
//! 2. **attacked**: the same listener while the attackers hold every slot;
//! 3. **pre-#16** (unless `HANDSHAKE_SLOTS_PRE16=0`): the listener as it was
//!    before #16 (`evict_at_cap(false)`, ClientHello bound only by the 10 s
//!    handshake timeout), attacked the same way; a few requests, each given
//!    up after 15 s.
//!
//! The server runs on one thread (a current-thread tokio runtime), the
//! attackers on another, the valid client on the main thread.
//!
//! Run with `cargo bench -p mtls-benches --bench handshake_slots`. Without
//! the `--bench` argument that `cargo bench` passes (`cargo test
//! --benches`) it only runs a smoke check with 20 attackers and a cap of 8.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mtls_status::VerifyMode;
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsListener, ReloadableTrustStore, TrustStore, server_config,
};
use mtls_testpki::Pki;
use rustls::ClientConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod support;
use support::{BoxError, Latencies, client_config, env_or, timed_get};

/// A request not answered within this counts as locked out.
const GIVE_UP: Duration = Duration::from_secs(15);

/// The first bytes of a TLS handshake record, never completed.
const PARTIAL_HELLO: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00];

struct Settings {
    attackers: usize,
    requests: usize,
    pre16_requests: usize,
    /// `None`: the default cap.
    cap: Option<usize>,
}

fn main() -> Result<(), BoxError> {
    let settings = if std::env::args().any(|arg| arg == "--bench") {
        Settings {
            attackers: env_or("HANDSHAKE_SLOTS_ATTACKERS", 1000)?,
            requests: env_or("HANDSHAKE_SLOTS_REQUESTS", 50)?,
            pre16_requests: if env_or("HANDSHAKE_SLOTS_PRE16", 1)? == 1 {
                3
            } else {
                0
            },
            cap: None,
        }
    } else {
        Settings {
            attackers: 20,
            requests: 3,
            pre16_requests: 0,
            cap: Some(8),
        }
    };
    let pki = Pki::generate();
    let client = client_config(&pki, &pki.valid_from_root)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!(
        "handshake_slots: {} attackers (idle / partial ClientHello, reopened at once), \
         {} requests per phase",
        settings.attackers, settings.requests
    );

    let server = Server::start(&pki, Variant::Current, settings.cap)?;
    let unloaded = runtime.block_on(requests(&client, server.addr, settings.requests));
    let attacked = {
        let attack = Attack::start(server.addr, settings.attackers)?;
        server.until_slots_taken()?;
        let started = Instant::now();
        let opened_before = attack.opened();
        let evicted_before = server.evicted.load(Ordering::Relaxed);
        let attacked = runtime.block_on(requests(&client, server.addr, settings.requests));
        let secs = started.elapsed().as_secs_f64();
        let churn = (attack.opened() - opened_before) as f64 / secs;
        let evicted = (server.evicted.load(Ordering::Relaxed) - evicted_before) as f64 / secs;
        println!(
            "attacked: {} of {} slots held, attackers opened {churn:.0} connections/s, \
             the listener evicted {evicted:.0} handshakes/s",
            server.in_progress(),
            server.cap
        );
        attacked
    };
    drop(server);

    let mut rows = vec![("unloaded", unloaded), ("attacked", attacked)];
    if settings.pre16_requests > 0 {
        let server = Server::start(&pki, Variant::Pre16, settings.cap)?;
        let attack = Attack::start(server.addr, settings.attackers)?;
        server.until_slots_taken()?;
        let pre16 = runtime.block_on(requests(&client, server.addr, settings.pre16_requests));
        drop(attack);
        rows.push(("pre-#16 (no eviction), attacked", pre16));
    }

    println!();
    println!("{}", Latencies::header("valid client", 34));
    for (label, latencies) in &rows {
        println!("{label:<34} {}", latencies.summary());
    }
    let (Some(base), Some(loaded)) = (rows[0].1.median(), rows[1].1.median()) else {
        return Err("no request answered: nothing to compare".into());
    };
    println!(
        "attacked / unloaded, median: {:.2}",
        loaded.as_secs_f64() / base.as_secs_f64()
    );
    if rows[1].1.answered() < settings.requests {
        return Err(format!(
            "valid client locked out: {} of {} answered under attack",
            rows[1].1.answered(),
            settings.requests
        )
        .into());
    }
    Ok(())
}

/// `n` sequential requests, each on a new connection.
async fn requests(client: &Arc<ClientConfig>, addr: SocketAddr, n: usize) -> Latencies {
    let mut latencies = Latencies {
        answered: Vec::with_capacity(n),
        failed: 0,
    };
    for _ in 0..n {
        match timed_get(client, addr, "/", GIVE_UP).await {
            Some(latency) => latencies.answered.push(latency),
            None => latencies.failed += 1,
        }
    }
    latencies
}

#[derive(Clone, Copy)]
enum Variant {
    /// `MtlsListener` as shipped.
    Current,
    /// As before #16: no eviction, the ClientHello bound by the handshake
    /// timeout only.
    Pre16,
}

/// An `MtlsListener` serving `200 OK` on its own thread.
struct Server {
    addr: SocketAddr,
    cap: usize,
    in_progress: Arc<AtomicUsize>,
    evicted: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Server {
    fn start(pki: &Pki, variant: Variant, cap: Option<usize>) -> Result<Self, BoxError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let store =
            ReloadableTrustStore::new(TrustStore::builder().ca_pem(pki.root.cert_pem()).build()?);
        let classifier = Classifier::builder(store, Arc::clone(&provider)).build()?;
        let mut config = server_config(
            provider,
            pki.server.chain(),
            pki.server.key_der(),
            classifier.verifier(VerifyMode::On),
        )?;
        config.send_tls13_tickets = 0;
        let acceptor = MtlsAcceptor::with_fixed_config(Arc::new(config), classifier);
        let mut builder = MtlsListener::builder(acceptor);
        if let Some(cap) = cap {
            builder = builder.max_concurrent_handshakes(cap);
        }
        if let Variant::Pre16 = variant {
            builder = builder
                .evict_at_cap(false)
                .client_hello_timeout(mtls_status_rustls::DEFAULT_HANDSHAKE_TIMEOUT);
        }
        let cap = cap.unwrap_or(mtls_status_rustls::DEFAULT_MAX_CONCURRENT_HANDSHAKES);
        let in_progress = Arc::new(AtomicUsize::new(0));
        let gauge = Arc::clone(&in_progress);
        let evicted = Arc::new(AtomicU64::new(0));
        let evicted_gauge = Arc::clone(&evicted);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, started) = std::sync::mpsc::channel::<io::Result<SocketAddr>>();
        let thread = thread::Builder::new()
            .name("server".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut listener = match builder.bind("127.0.0.1:0").await {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = ready.send(Err(error));
                            return;
                        }
                    };
                    let _ = ready.send(Ok(listener.local_addr()));
                    let mut tick = tokio::time::interval(Duration::from_millis(10));
                    let serve = async {
                        loop {
                            tokio::select! {
                                (mut stream, _) = listener.accept_tls() => {
                                    tokio::spawn(async move {
                                        let mut head = [0u8; 1024];
                                        let _ = stream.read(&mut head).await;
                                        let _ = stream
                                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                                            .await;
                                        let _ = stream.shutdown().await;
                                    });
                                }
                                _ = tick.tick() => {
                                    gauge.store(listener.handshakes_in_progress(), Ordering::Relaxed);
                                    evicted_gauge.store(listener.handshakes_evicted(), Ordering::Relaxed);
                                }
                            }
                        }
                    };
                    tokio::select! {
                        _ = stopped => {}
                        () = serve => {}
                    }
                });
            })?;
        let addr = started
            .recv()
            .map_err(|_| "server thread exited at start")??;
        Ok(Self {
            addr,
            cap,
            in_progress,
            evicted,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn in_progress(&self) -> usize {
        self.in_progress.load(Ordering::Relaxed)
    }

    /// Waits (at most 30 s) until the attackers hold every slot.
    fn until_slots_taken(&self) -> Result<(), BoxError> {
        let started = Instant::now();
        while self.in_progress() < self.cap {
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "attackers hold only {} of {} slots",
                    self.in_progress(),
                    self.cap
                )
                .into());
            }
            thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The attackers, on their own thread until dropped.
struct Attack {
    opened: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Attack {
    fn start(addr: SocketAddr, n: usize) -> Result<Self, BoxError> {
        let opened = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (counter, stopping) = (Arc::clone(&opened), Arc::clone(&stop));
        let thread = thread::Builder::new()
            .name("attackers".to_owned())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    let mut tasks = tokio::task::JoinSet::new();
                    for i in 0..n {
                        let (counter, stopping) = (Arc::clone(&counter), Arc::clone(&stopping));
                        let bytes: &'static [u8] = if i % 2 == 0 { b"" } else { PARTIAL_HELLO };
                        tasks.spawn(attacker(addr, bytes, counter, stopping));
                    }
                    while tasks.join_next().await.is_some() {}
                });
            })?;
        Ok(Self {
            opened,
            stop,
            thread: Some(thread),
        })
    }

    fn opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Holds a connection sending `bytes`, reopens it as soon as the server
/// closes it, until `stop`.
async fn attacker(
    addr: SocketAddr,
    bytes: &'static [u8],
    opened: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut tcp) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        let _ = tcp.write_all(bytes).await;
        let mut buf = [0u8; 256];
        loop {
            tokio::select! {
                read = tcp.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
            }
        }
    }
}
