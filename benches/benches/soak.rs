//! Soak (#15 item 2): valid clients at a steady rate against an axum
//! service on `MtlsListener` while everything that happens to a server in
//! a fleet happens at once, side by side with the same clients unloaded, in
//! one process.
//!
//! The load, all at once:
//!
//! - the CA bundle is rewritten (temp file + rename) and reloaded every
//!   100 ms; one write in three is a broken file, which must be refused
//!   while the bundle in force stays;
//! - `SOAK_STALLERS` (default 200) clients stall: half open TCP and send
//!   nothing (held until the ClientHello timeout, then reopened), half
//!   complete the handshake and trickle a request head one byte every
//!   500 ms (until the 30 s head timeout closes them, then reopened);
//! - `SOAK_CERTS` (default 2000) distinct client certificates connect in
//!   turn at `SOAK_CHURN_RATE` per second (default 100), so that the
//!   verdict cache (default capacity) keeps evicting.
//!
//! The valid client makes `SOAK_RATE` requests per second (default 50),
//! open loop (each a new connection, a full TLS 1.3 handshake, `GET
//! /whoami`, the whole 200), for `SOAK_SECONDS` (default 30) under the
//! load, after the same for a third of that time unloaded.
//!
//! Reported: failed valid requests (expected 0; the bench fails otherwise),
//! latency quantiles of both phases and the p99 ratio, and the process's
//! resident memory sampled every second under the load (after a warm-up):
//! expected to stay bounded, not to grow with the run. The process holds
//! the clients too: the memory is an upper bound on the server's.
//!
//! Run with `cargo bench -p mtls-benches --bench soak`. Without the
//! `--bench` argument that `cargo bench` passes (`cargo test --benches`)
//! it only runs a smoke check of a few seconds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use mtls_status::VerifyMode;
use mtls_status_axum::tls::{
    Classifier, MtlsAcceptor, MtlsListener, ReloadableTrustStore, ServerCertificate,
    TrustStoreFiles,
};
use mtls_status_axum::{ClientAuthListener, VerifiedClient, VerifyClientLayer};
use mtls_testpki::{Ca, Pki};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

mod support;
use support::{BoxError, Latencies, client_config, env_or, timed_get};

/// A valid request not answered within this counts as failed.
const GIVE_UP: Duration = Duration::from_secs(10);

struct Settings {
    seconds: usize,
    rate: usize,
    stallers: usize,
    certs: usize,
    churn_rate: usize,
}

/// What the load did, counted as it went.
#[derive(Default)]
struct Counters {
    reloads: AtomicUsize,
    refused: AtomicUsize,
    /// Reloads whose outcome was not the expected one (a good file refused
    /// or a broken one installed).
    wrong_reloads: AtomicUsize,
    churned: AtomicUsize,
    churn_failed: AtomicUsize,
    stalls: AtomicUsize,
}

fn main() -> Result<(), BoxError> {
    let bench = std::env::args().any(|arg| arg == "--bench");
    let settings = if bench {
        Settings {
            seconds: env_or("SOAK_SECONDS", 30)?,
            rate: env_or("SOAK_RATE", 50)?,
            stallers: env_or("SOAK_STALLERS", 200)?,
            certs: env_or("SOAK_CERTS", 2000)?,
            churn_rate: env_or("SOAK_CHURN_RATE", 100)?,
        }
    } else {
        Settings {
            seconds: 3,
            rate: 20,
            stallers: 10,
            certs: 50,
            churn_rate: 20,
        }
    };
    let pki = Arc::new(Pki::generate());
    let dir = std::env::temp_dir().join(format!("mtls-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let bundle = dir.join("ca.pem");
    std::fs::write(&bundle, pki.ca_bundle_pem())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (addr, store) = runtime.block_on(start_server(&pki, &bundle))?;
    let valid = client_config(&pki, &pki.valid_from_root)?;
    println!(
        "soak: {} s under load, valid client {}/s; reload every 100 ms (1 in 3 a broken file); \
         {} stalling clients; {} distinct certificates churned at {}/s",
        settings.seconds, settings.rate, settings.stallers, settings.certs, settings.churn_rate
    );

    let unloaded = runtime.block_on(steady(
        &valid,
        addr,
        settings.rate,
        Duration::from_secs((settings.seconds / 3).max(1) as u64),
    ));

    let churn: Vec<Arc<ClientConfig>> = (0..settings.certs)
        .map(|i| client_config(&pki, &pki.root.leaf(format!("churn-{i}")).build()))
        .collect::<Result<_, _>>()?;
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let reloader = reloader(&pki, &bundle, store, &counters, &stop)?;
    for i in 0..settings.stallers {
        runtime.spawn(staller(
            addr,
            Arc::clone(&valid),
            i % 2 == 0,
            Arc::clone(&counters),
            Arc::clone(&stop),
        ));
    }
    runtime.spawn(churner(
        addr,
        churn,
        settings.churn_rate,
        Arc::clone(&counters),
        Arc::clone(&stop),
    ));
    // Warm-up: the stallers connected, the cache full.
    thread::sleep(Duration::from_secs(2));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = Arc::clone(&sampling);
        thread::spawn(move || {
            let mut samples = Vec::new();
            while sampling.load(Ordering::Relaxed) {
                samples.push(rss_kib());
                thread::sleep(Duration::from_secs(1));
            }
            samples.push(rss_kib());
            samples
        })
    };
    let loaded = runtime.block_on(steady(
        &valid,
        addr,
        settings.rate,
        Duration::from_secs(settings.seconds as u64),
    ));
    sampling.store(false, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    stop.store(true, Ordering::Relaxed);
    let _ = reloader.join();
    runtime.shutdown_timeout(Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&dir);

    println!();
    println!("{}", Latencies::header("valid client", 12));
    println!("{:<12} {}", "unloaded", unloaded.summary());
    println!("{:<12} {}", "under soak", loaded.summary());
    if let (Some(base), Some(soak)) = (unloaded.quantile(0.99), loaded.quantile(0.99)) {
        println!(
            "under soak / unloaded, p99: {:.2}",
            soak.as_secs_f64() / base.as_secs_f64()
        );
    }
    let count = |c: &AtomicUsize| c.load(Ordering::Relaxed);
    println!(
        "reloads: {} ({} broken files refused, {} not as expected); churn: {} handshakes \
         ({} failed); stalling connections opened: {}",
        count(&counters.reloads),
        count(&counters.refused),
        count(&counters.wrong_reloads),
        count(&counters.churned),
        count(&counters.churn_failed),
        count(&counters.stalls),
    );
    let mib =
        |kib: Option<u64>| kib.map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
    // Start, each quarter, end: it grows while the verdict cache fills
    // (SOAK_CERTS / SOAK_CHURN_RATE seconds), then should stay flat.
    let last = samples.len().saturating_sub(1);
    let marks: Vec<String> = [0, last / 4, last / 2, 3 * last / 4, last]
        .iter()
        .map(|&i| format!("{i} s: {}", mib(samples.get(i).copied().flatten())))
        .collect();
    let peak = samples.iter().flatten().max().copied();
    println!(
        "resident memory (MiB) under soak: {}; highest {}",
        marks.join(", "),
        mib(peak)
    );
    if loaded.failed > 0 || unloaded.failed > 0 {
        return Err(format!(
            "valid requests failed: {} unloaded, {} under soak",
            unloaded.failed, loaded.failed
        )
        .into());
    }
    if count(&counters.wrong_reloads) > 0 {
        return Err("a reload did not do what its file asked for".into());
    }
    Ok(())
}

/// The service: a reloadable store from `bundle`, `GET /whoami` behind
/// `VerifyClientLayer` (mode on), served by `mtls_status_axum::serve`.
async fn start_server(
    pki: &Pki,
    bundle: &Path,
) -> Result<(SocketAddr, ReloadableTrustStore), BoxError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(bundle))?;
    let classifier = Classifier::builder(store.clone(), Arc::clone(&provider)).build()?;
    let server_cert = ServerCertificate::new(provider, pki.server.chain(), pki.server.key_der())?;
    let acceptor = MtlsAcceptor::new(classifier, VerifyMode::On, server_cert)?;
    let listener = MtlsListener::builder(acceptor).bind("127.0.0.1:0").await?;
    let addr = listener.local_addr();
    let app = Router::new().route(
        "/whoami",
        get(|client: VerifiedClient| async move { client.subject_dn().to_owned() })
            .route_layer(VerifyClientLayer::new().mode(VerifyMode::On)),
    );
    tokio::spawn(async move {
        let _ = mtls_status_axum::serve(ClientAuthListener::new(listener), app).await;
    });
    Ok((addr, store))
}

/// `rate` requests per second for `duration`, open loop: each starts on
/// time whether or not the previous ones were answered.
async fn steady(
    client: &Arc<ClientConfig>,
    addr: SocketAddr,
    rate: usize,
    duration: Duration,
) -> Latencies {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut requests = tokio::task::JoinSet::new();
    while started.elapsed() < duration {
        tick.tick().await;
        let client = Arc::clone(client);
        requests.spawn(async move { timed_get(&client, addr, "/whoami", GIVE_UP).await });
    }
    let mut latencies = Latencies::default();
    while let Some(result) = requests.join_next().await {
        match result {
            Ok(Some(latency)) => latencies.answered.push(latency),
            Ok(None) | Err(_) => latencies.failed += 1,
        }
    }
    latencies
}

/// Every 100 ms rewrites the bundle (a temp file renamed over it) and
/// reloads: the PKI's bundle, the bundle with one more CA, or a broken
/// file, in turn.
fn reloader(
    pki: &Pki,
    bundle: &Path,
    store: ReloadableTrustStore,
    counters: &Arc<Counters>,
    stop: &Arc<AtomicBool>,
) -> Result<thread::JoinHandle<()>, BoxError> {
    let extra = Ca::root("Soak Extra Root").build();
    let contents = [
        (pki.ca_bundle_pem(), true),
        (pki.ca_bundle_pem() + &extra.cert_pem(), true),
        ("-----BEGIN CERTIFICATE-----\nbroken\n".to_owned(), false),
    ];
    let (bundle, counters, stop) = (bundle.to_path_buf(), Arc::clone(counters), Arc::clone(stop));
    let temp: PathBuf = bundle.with_extension("tmp");
    Ok(thread::Builder::new()
        .name("reloader".to_owned())
        .spawn(move || {
            for (content, good) in contents.iter().cycle() {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                thread::sleep(Duration::from_millis(100));
                if std::fs::write(&temp, content)
                    .and_then(|()| std::fs::rename(&temp, &bundle))
                    .is_err()
                {
                    continue;
                }
                let installed = store.reload().is_ok();
                counters.reloads.fetch_add(1, Ordering::Relaxed);
                if !installed {
                    counters.refused.fetch_add(1, Ordering::Relaxed);
                }
                if installed != *good {
                    counters.wrong_reloads.fetch_add(1, Ordering::Relaxed);
                }
            }
        })?)
}

/// A client that stalls, reconnecting whenever the server closes it:
/// `idle` sends nothing; otherwise it handshakes and trickles a request
/// head a byte every 500 ms.
async fn staller(
    addr: SocketAddr,
    client: Arc<ClientConfig>,
    idle: bool,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) {
    const HEAD: &[u8] = b"GET /whoami HTTP/1.1\r\nHost: localhost\r\nX-Padding: ";
    while !stop.load(Ordering::Relaxed) {
        let Ok(tcp) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        counters.stalls.fetch_add(1, Ordering::Relaxed);
        if idle {
            let mut tcp = tcp;
            let mut byte = [0u8; 1];
            // Until the server gives up on the ClientHello (or `stop`).
            while !stop.load(Ordering::Relaxed) {
                let read = tokio::time::timeout(
                    Duration::from_millis(200),
                    tokio::io::AsyncReadExt::read(&mut tcp, &mut byte),
                )
                .await;
                if let Ok(Ok(0) | Err(_)) = read {
                    break;
                }
            }
            continue;
        }
        let Ok(name) = ServerName::try_from("localhost") else {
            return;
        };
        let Ok(mut tls) = TlsConnector::from(Arc::clone(&client))
            .connect(name, tcp)
            .await
        else {
            continue;
        };
        for byte in HEAD.iter().cycle() {
            if stop.load(Ordering::Relaxed) || tls.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// Connects with each certificate in turn, `rate` handshakes per second.
async fn churner(
    addr: SocketAddr,
    clients: Vec<Arc<ClientConfig>>,
    rate: usize,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    for client in clients.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tick.tick().await;
        let (client, counters) = (Arc::clone(client), Arc::clone(&counters));
        tokio::spawn(async move {
            counters.churned.fetch_add(1, Ordering::Relaxed);
            if timed_get(&client, addr, "/whoami", GIVE_UP).await.is_none() {
                counters.churn_failed.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

/// The process's resident set size (Linux `/proc/self/status`), in KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
