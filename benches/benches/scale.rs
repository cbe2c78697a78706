//! Scale (#15 item 3), each part side by side with nginx in the same run:
//!
//! 1. **CRLs of 10k / 100k / 1M entries** (`SCALE_CRL_SIZES`): the time to
//!    load the trust store with that CRL and the peak memory it takes
//!    (mtls-status: `TrustStore::builder().crl_file(..).build()` in a child
//!    process of its own; nginx: the time until it listens with `ssl_crl`
//!    and its master's peak resident memory, over nginx without a CRL), the
//!    cost of classifying a valid chain with it (cache off), and full mTLS
//!    handshakes per second with it over without it, for both servers
//!    (expected: independent of the CRL's size).
//! 2. **A CA bundle of 10k certificates** (`SCALE_BUNDLE`): the same load
//!    time, memory and classify cost; the CA names advertised in the
//!    CertificateRequest (count and bytes); and whether a rustls client
//!    still completes a handshake against each server.
//! 3. **Memory per idle established mTLS connection** at 1k and 5k
//!    connections (`SCALE_IDLE`): the server (mtls-status in a child
//!    process; nginx's worker) after the handshakes, waiting for a request
//!    head, over before.
//! 4. **Handshakes per second with 2 worker threads vs 1** (mtls-status
//!    on a multi-thread tokio runtime vs a current-thread one, verdict
//!    cache on; nginx with `worker_processes 2` vs 1). On a 2-core machine
//!    the load generator needs CPU too, so the table also shows how many
//!    cores each server got.
//! 5. **The crypto floor** of a server-side mTLS handshake with the same
//!    provider (ring): one ECDSA P-256 signature (CertificateVerify), the
//!    verifications (the client's CertificateVerify, and the chain's
//!    signatures when nothing is cached), one X25519 key share, against the
//!    server CPU per handshake measured here.
//!
//! Run with `cargo bench -p mtls-benches --bench scale` (a few minutes;
//! nginx at `SCALE_NGINX`, default `/usr/sbin/nginx`, skipped if absent).
//! Without `--bench` (`cargo test --benches`) it runs every part small, as
//! a smoke check.

#[path = "handshake/load.rs"]
#[allow(dead_code)]
mod load;
#[path = "handshake/nginx.rs"]
#[allow(dead_code)]
mod nginx;
#[path = "handshake/servers.rs"]
#[allow(dead_code)]
mod servers;
#[path = "handshake/settings.rs"]
#[allow(dead_code)]
mod settings;
#[path = "handshake/setup.rs"]
#[allow(dead_code)]
mod setup;

use std::fs;
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mtls_status::VerifyMode;
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, ReloadableTrustStore, TrustStore, server_config,
};
use mtls_testpki::{Ca, Pki};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::load::{LoadGenerator, Sample};
use crate::nginx::{Nginx, NginxFiles};
use crate::servers::ServerUnderTest;
use crate::settings::Settings;
use crate::setup::Setup;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Set in a child process: what it is to do (`load` or `idle-server`).
const CHILD: &str = "SCALE_BENCH_CHILD";

fn main() -> Result<(), BoxError> {
    if let Ok(job) = std::env::var(CHILD) {
        return match job.as_str() {
            "load" => child_load(),
            "idle-server" => child_idle_server(),
            other => Err(format!("{CHILD}={other}: unknown job").into()),
        };
    }
    let knobs = Knobs::from_env()?;
    let scratch = Scratch::new()?;
    let pki = Pki::generate();
    let files = PkiFiles::write(&pki, &scratch.0)?;
    crl_scale(&pki, &files, &knobs, &scratch.0)?;
    bundle_scale(&pki, &files, &knobs, &scratch.0)?;
    idle_memory(&files, &knobs, &scratch.0)?;
    threads(&pki, &files, &knobs, &scratch.0)?;
    crypto_floor(&pki, &knobs)?;
    if !knobs.measuring {
        println!("scale bench: smoke check passed (measure with `cargo bench --bench scale`)");
    }
    Ok(())
}

struct Knobs {
    measuring: bool,
    crl_sizes: Vec<usize>,
    bundle: usize,
    idle: Vec<usize>,
    /// Measured seconds per handshake-rate figure.
    secs: f64,
    nginx: PathBuf,
}

impl Knobs {
    fn from_env() -> Result<Self, BoxError> {
        let measuring = std::env::args().any(|arg| arg == "--bench");
        let list = |name: &str, default: &str| -> Result<Vec<usize>, BoxError> {
            let text = std::env::var(name).unwrap_or_else(|_| default.to_owned());
            text.split(',')
                .map(|n| {
                    n.trim()
                        .parse()
                        .map_err(|e| format!("{name}={text}: {e}").into())
                })
                .collect()
        };
        let (crl, bundle, idle, secs) = if measuring {
            ("10000,100000,1000000", "10000", "1000,5000", "2")
        } else {
            ("1000", "100", "50", "0.2")
        };
        Ok(Self {
            measuring,
            crl_sizes: list("SCALE_CRL_SIZES", crl)?,
            bundle: list("SCALE_BUNDLE", bundle)?.first().copied().unwrap_or(0),
            idle: list("SCALE_IDLE", idle)?,
            secs: std::env::var("SCALE_SECS")
                .unwrap_or_else(|_| secs.to_owned())
                .parse()?,
            nginx: std::env::var_os("SCALE_NGINX")
                .map_or_else(|| PathBuf::from("/usr/sbin/nginx"), PathBuf::from),
        })
    }

    fn load_settings(&self) -> Settings {
        Settings {
            secs_per_server: self.secs,
            rounds: 1,
            client_threads: 1,
            connections: 4,
            ..Settings::default()
        }
    }

    fn nginx_installed(&self) -> bool {
        let installed = self.nginx.exists();
        if !installed {
            println!("nginx: not installed at {}, skipped", self.nginx.display());
        }
        installed
    }
}

/// A temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, BoxError> {
        let dir = std::env::temp_dir().join(format!("mtls-scale-bench-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The scenario PKI as files: the client is `valid_from_root` (leaf only).
struct PkiFiles {
    root: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

impl PkiFiles {
    fn write(pki: &Pki, dir: &Path) -> Result<Self, BoxError> {
        let written = pki.write_to_dir(dir.join("pki"))?;
        Ok(Self {
            root: written.root.cert,
            server_cert: written.server.cert,
            server_key: written.server.key,
            client_cert: written.client_valid.cert,
            client_key: written.client_valid.key,
        })
    }

    fn nginx(&self, client_ca: &Path, crl: Option<&Path>) -> NginxFiles {
        NginxFiles {
            server_cert: self.server_cert.clone(),
            server_key: self.server_key.clone(),
            client_ca: client_ca.to_owned(),
            crl: crl.map(Path::to_owned),
            workers: 1,
            connections: 10_240,
        }
    }
}

// ---------------------------------------------------------------------------
// 1. CRLs
// ---------------------------------------------------------------------------

fn crl_scale(pki: &Pki, files: &PkiFiles, knobs: &Knobs, dir: &Path) -> Result<(), BoxError> {
    println!("\n## CRL scale (the client's CA publishes a CRL of N entries)\n");
    let settings = knobs.load_settings();
    let setup = Setup::with_leaves(&pki.root, &pki.server, &pki.valid_from_root);
    let load = LoadGenerator::new(&setup, &settings)?;
    let ours_base = ours_load(&files.root, None, &files.client_cert)?;
    let ours_hs_base = ours_handshakes(&setup, &load, knobs)?;
    let nginx_base = if knobs.nginx_installed() {
        Some(nginx_run(
            knobs,
            &files.nginx(&files.root, None),
            dir,
            Some(&load),
        )?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for &size in &knobs.crl_sizes {
        let started = Instant::now();
        let crl = big_crl(&pki.root, size);
        let path = dir.join(format!("crl-{size}.pem"));
        fs::write(&path, &crl)?;
        println!(
            "CRL of {size} entries: {:.1} MB of PEM, made in {:.1} s",
            crl.len() as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        let ours = ours_load(&files.root, Some(&path), &files.client_cert)?;
        let setup = Setup::with_leaves(&pki.root, &pki.server, &pki.valid_from_root)
            .trusting(pki.root.cert_pem(), Some(crl));
        let ours_hs = ours_handshakes(&setup, &load, knobs)?;
        let nginx = match nginx_base {
            Some(_) => Some(nginx_run(
                knobs,
                &files.nginx(&files.root, Some(&path)),
                dir,
                Some(&load),
            )?),
            None => None,
        };
        fs::remove_file(&path)?;
        rows.push((size, ours, ours_hs, nginx));
    }
    let cpu = |s: Option<&Sample>| {
        s.and_then(Sample::cpu_per_handshake_us)
            .map_or("-".into(), |us| format!("{us:.0}"))
    };
    println!(
        "\n| CRL entries | load ms: ours / nginx | peak MB over no CRL: ours / nginx | classify µs (ours, no cache) | server CPU µs per handshake: ours / nginx |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| 0 | {:.1} / {} | — | {:.1} | {} / {} |",
        ours_base.load_ms(),
        nginx_base
            .as_ref()
            .map_or("-".into(), |n| format!("{:.1}", n.start_ms)),
        ours_base.classify_us(),
        cpu(Some(&ours_hs_base)),
        cpu(nginx_base.as_ref().and_then(|n| n.handshakes.as_ref())),
    );
    for (size, ours, ours_hs, nginx) in &rows {
        let nginx_mb = nginx.as_ref().zip(nginx_base.as_ref()).map(|(n, base)| {
            n.master_peak_kib.saturating_sub(base.master_peak_kib) as f64 / 1024.0
        });
        println!(
            "| {size} | {:.1} / {} | {:.1} / {} | {:.1} | {} / {} |",
            ours.load_ms(),
            nginx
                .as_ref()
                .map_or("-".into(), |n| format!("{:.1}", n.start_ms)),
            ours.peak_mib(),
            nginx_mb.map_or("-".into(), |mb| format!("{mb:.1}")),
            ours.classify_us(),
            cpu(Some(ours_hs)),
            cpu(nginx.as_ref().and_then(|n| n.handshakes.as_ref())),
        );
    }
    Ok(())
}

/// A CRL of `ca` revoking `entries` serials (none of them a scenario
/// certificate's), as PEM.
fn big_crl(ca: &Ca, entries: usize) -> String {
    let mut builder = ca.crl();
    for i in 0..entries as u64 {
        // 9-byte positive serials, spread out as real ones are.
        let mut serial = vec![0x11];
        serial.extend_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        builder = builder.revoke_serial(serial);
    }
    builder.build().pem()
}

/// mtls-status handshakes/s with `setup`'s trust (verdict cache off, so
/// every handshake classifies).
fn ours_handshakes(setup: &Setup, load: &LoadGenerator, knobs: &Knobs) -> Result<Sample, BoxError> {
    let server = ServerUnderTest::mtls("mtls-status (no cache)", setup.mtls_acceptor(false)?)?;
    measured(load, &server, knobs)
}

fn measured(
    load: &LoadGenerator,
    server: &ServerUnderTest,
    knobs: &Knobs,
) -> Result<Sample, BoxError> {
    let sample = load.measure(
        server,
        Duration::from_millis(200),
        Duration::from_secs_f64(knobs.secs),
    )?;
    if sample.errors > 0 {
        return Err(format!("{}: {} failed connections", server.label, sample.errors).into());
    }
    Ok(sample)
}

// ---------------------------------------------------------------------------
// 2. A large CA bundle
// ---------------------------------------------------------------------------

fn bundle_scale(pki: &Pki, files: &PkiFiles, knobs: &Knobs, dir: &Path) -> Result<(), BoxError> {
    let n = knobs.bundle;
    println!("\n## CA bundle of {n} certificates (the client's root among them)\n");
    let started = Instant::now();
    let mut pem = String::new();
    for i in 0..n {
        if i == n / 2 {
            pem.push_str(&pki.root.cert_pem());
        } else {
            pem.push_str(&Ca::root(format!("Bundle CA {i}")).build().cert_pem());
        }
    }
    let path = dir.join("bundle.pem");
    fs::write(&path, &pem)?;
    println!(
        "bundle: {:.1} MB of PEM, made in {:.1} s",
        pem.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    let base = ours_load(&files.root, None, &files.client_cert)?;
    let ours = ours_load(&path, None, &files.client_cert)?;
    // Does a rustls client still get through? (It refuses handshake
    // messages over 64 KiB; OpenSSL's default limit is 100 KiB.)
    let setup =
        Setup::with_leaves(&pki.root, &pki.server, &pki.valid_from_root).trusting(pem, None);
    let settings = Settings {
        client_threads: 1,
        connections: 1,
        ..Settings::default()
    };
    let load = LoadGenerator::new(&setup, &settings)?;
    let server = ServerUnderTest::mtls("mtls-status", setup.mtls_acceptor(true)?)?;
    let ours_handshake = first_handshake(&load, &server)?;
    let (nginx, nginx_base) = if knobs.nginx_installed() {
        let base = nginx_run(knobs, &files.nginx(&files.root, None), dir, None)?;
        let nginx = nginx_run(knobs, &files.nginx(&path, None), dir, Some(&load));
        (Some(nginx), Some(base))
    } else {
        (None, None)
    };
    println!("\n| | mtls-status | nginx |\n|---|---|---|");
    let nginx_ok = nginx.as_ref().and_then(|n| n.as_ref().ok());
    println!(
        "| load ms (1 CA: ours {:.1}, nginx {}) | {:.1} | {} |",
        base.load_ms(),
        nginx_base
            .as_ref()
            .map_or("-".into(), |b| format!("{:.1}", b.start_ms)),
        ours.load_ms(),
        nginx_ok.map_or("-".into(), |n| format!("{:.1}", n.start_ms)),
    );
    println!(
        "| peak MB over 1 CA | {:.1} | {} |",
        ours.peak_mib() - base.peak_mib(),
        nginx_ok
            .zip(nginx_base.as_ref())
            .map_or("-".into(), |(n, b)| format!(
                "{:.1}",
                n.master_peak_kib.saturating_sub(b.master_peak_kib) as f64 / 1024.0
            )),
    );
    println!(
        "| classify µs, no cache (1 CA: {:.1}) | {:.1} | - |",
        base.classify_us(),
        ours.classify_us()
    );
    let advertised = if ours.names_bytes > mtls_status::ca_names::MAX_ADVERTISED_CA_NAMES_BYTES {
        "none".to_owned()
    } else {
        format!("all {}", ours.names)
    };
    println!(
        "| CA names ({} names, {:.1} KiB) advertised | {advertised} | all (ssl_client_certificate) |",
        ours.names,
        ours.names_bytes as f64 / 1024.0
    );
    println!(
        "| rustls client handshake | {ours_handshake} | {} |",
        match &nginx {
            None => "-".to_owned(),
            Some(Ok(n)) => n.first.clone().unwrap_or_default(),
            Some(Err(error)) => format!("nginx did not start: {error}"),
        }
    );
    Ok(())
}

/// `ok`, or the error of one connection.
fn first_handshake(load: &LoadGenerator, server: &ServerUnderTest) -> Result<String, BoxError> {
    Ok(
        match load.measure(server, Duration::ZERO, Duration::from_millis(300)) {
            Ok(sample) if sample.errors == 0 => "ok".to_owned(),
            Ok(sample) => format!(
                "{} of {} fail",
                sample.errors,
                sample.errors + sample.handshakes
            ),
            Err(error) => format!("fails: {error}"),
        },
    )
}

// ---------------------------------------------------------------------------
// Trust-store loading in a child process (peak memory of its own)
// ---------------------------------------------------------------------------

/// What a `load` child measured.
struct Loaded {
    load_ns: u64,
    rss_before_kib: u64,
    peak_kib: u64,
    classify_ns: u64,
    names: usize,
    names_bytes: usize,
}

impl Loaded {
    fn load_ms(&self) -> f64 {
        self.load_ns as f64 / 1e6
    }

    /// Peak resident memory over the child before loading, in MiB.
    fn peak_mib(&self) -> f64 {
        self.peak_kib.saturating_sub(self.rss_before_kib) as f64 / 1024.0
    }

    fn classify_us(&self) -> f64 {
        self.classify_ns as f64 / 1e3
    }
}

fn ours_load(ca: &Path, crl: Option<&Path>, client: &Path) -> Result<Loaded, BoxError> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env(CHILD, "load")
        .env("SCALE_CA", ca)
        .env("SCALE_CLIENT", client);
    if let Some(crl) = crl {
        command.env("SCALE_CRL", crl);
    }
    let out = command.stderr(Stdio::inherit()).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("load child failed ({}): {text}", out.status).into());
    }
    let field = |name: &str| -> Result<u64, BoxError> {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .ok_or_else(|| format!("load child: no {name} in {text:?}"))?
            .parse()
            .map_err(Into::into)
    };
    Ok(Loaded {
        load_ns: field("load_ns")?,
        rss_before_kib: field("rss_before_kib")?,
        peak_kib: field("peak_kib")?,
        classify_ns: field("classify_ns")?,
        names: usize::try_from(field("names")?)?,
        names_bytes: usize::try_from(field("names_bytes")?)?,
    })
}

/// The `load` child: loads the trust store, classifies the client's chain
/// a few hundred times (cache off), prints what it measured.
fn child_load() -> Result<(), BoxError> {
    let env = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let ca = env("SCALE_CA").ok_or("SCALE_CA unset")?;
    let client = env("SCALE_CLIENT").ok_or("SCALE_CLIENT unset")?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&client)?.collect::<Result<_, _>>()?;
    let rss_before_kib = proc_status_kib("self", "VmRSS").ok_or("no VmRSS")?;
    let started = Instant::now();
    let mut builder = TrustStore::builder().ca_file(ca);
    if let Some(crl) = env("SCALE_CRL") {
        builder = builder.crl_file(crl);
    }
    let store = builder.build()?;
    let load_ns = u64::try_from(started.elapsed().as_nanos())?;
    let peak_kib = proc_status_kib("self", "VmHWM").ok_or("no VmHWM")?;
    let names = store.root_hint_subjects().len();
    let names_bytes = store
        .root_hint_subjects()
        .iter()
        .map(|name| name.as_ref().len())
        .sum::<usize>();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let classifier = Classifier::builder(ReloadableTrustStore::new(store), provider)
        .cache_capacity(0)
        .build()?;
    let mut times = Vec::new();
    for _ in 0..300 {
        let started = Instant::now();
        let outcome = classifier.classify(Some(&chain));
        times.push(started.elapsed());
        if !outcome.is_verified() {
            return Err(format!("the client does not verify: {outcome:?}").into());
        }
    }
    times.sort();
    let classify_ns = times[times.len() / 2].as_nanos();
    println!(
        "load_ns={load_ns} rss_before_kib={rss_before_kib} peak_kib={peak_kib} \
         classify_ns={classify_ns} names={names} names_bytes={names_bytes}"
    );
    Ok(())
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn proc_status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

// ---------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------

struct NginxRun {
    /// From spawning to accepting connections.
    start_ms: f64,
    master_peak_kib: u64,
    handshakes: Option<Sample>,
    /// `ok` or the first handshake error (bundle part).
    first: Option<String>,
}

/// Starts nginx on `files`, measures the start and memory, and (with a
/// load generator) its handshakes per second; stops it.
fn nginx_run(
    knobs: &Knobs,
    files: &NginxFiles,
    dir: &Path,
    load: Option<&LoadGenerator>,
) -> Result<NginxRun, BoxError> {
    let nginx_dir = dir.join("nginx");
    let started = Instant::now();
    let nginx =
        Nginx::start_files(&knobs.nginx, &nginx_dir, files)?.ok_or("nginx is not installed")?;
    let start_ms = started.elapsed().as_secs_f64() * 1e3;
    let master_peak_kib = proc_status_kib(&nginx.master().to_string(), "VmHWM").unwrap_or(0);
    let server = ServerUnderTest::nginx(nginx);
    let (handshakes, first) = match load {
        Some(load) if files.crl.is_some() || files.client_ca.ends_with("root.pem") => {
            (Some(measured(load, &server, knobs)?), None)
        }
        Some(load) => (None, Some(first_handshake(load, &server)?)),
        None => (None, None),
    };
    Ok(NginxRun {
        start_ms,
        master_peak_kib,
        handshakes,
        first,
    })
}

// ---------------------------------------------------------------------------
// 3. Idle connections
// ---------------------------------------------------------------------------

fn idle_memory(files: &PkiFiles, knobs: &Knobs, dir: &Path) -> Result<(), BoxError> {
    println!("\n## Memory per idle established mTLS connection (waiting for a request head)\n");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let connector = client_connector(&provider, files)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    println!("| connections | mtls-status KiB/conn | nginx KiB/conn | ratio |\n|---|---|---|---|");
    for &n in &knobs.idle {
        let ours = {
            let mut child = IdleChild::start(files)?;
            let pid = child.child.id().to_string();
            let per = runtime.block_on(per_connection(&connector, child.addr, n, &pid))?;
            child.stop();
            per
        };
        let nginx = if knobs.nginx_installed() {
            let nginx = Nginx::start_files(
                &knobs.nginx,
                &dir.join("nginx-idle"),
                &files.nginx(&files.root, None),
            )?
            .ok_or("nginx is not installed")?;
            let pid = nginx.worker().to_string();
            Some(runtime.block_on(per_connection(&connector, nginx.addr(), n, &pid))?)
        } else {
            None
        };
        println!(
            "| {n} | {ours:.1} | {} | {} |",
            nginx.map_or("-".into(), |k| format!("{k:.1}")),
            nginx.map_or("-".into(), |k| format!("{:.2}", ours / k)),
        );
    }
    Ok(())
}

fn client_connector(
    provider: &Arc<CryptoProvider>,
    files: &PkiFiles,
) -> Result<TlsConnector, BoxError> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(&files.client_cert)?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&files.client_key)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&files.root)? {
        roots.add(cert?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    config.resumption = rustls::client::Resumption::disabled();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Opens `n` mTLS connections to `addr` and keeps them idle; the growth of
/// `pid`'s resident memory over before, per connection, in KiB.
async fn per_connection(
    connector: &TlsConnector,
    addr: SocketAddr,
    n: usize,
    pid: &str,
) -> Result<f64, BoxError> {
    let name = ServerName::try_from("localhost")?;
    // Warm the server (allocator pools, first-use tables) and settle.
    drop(open(connector, addr, &name, 20).await?);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = proc_status_kib(pid, "VmRSS").ok_or("no VmRSS")?;
    let held = open(connector, addr, &name, n).await?;
    // The server finishes each handshake after the client's Finished.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = proc_status_kib(pid, "VmRSS").ok_or("no VmRSS")?;
    drop(held);
    Ok(after.saturating_sub(before) as f64 / n as f64)
}

async fn open(
    connector: &TlsConnector,
    addr: SocketAddr,
    name: &ServerName<'static>,
    n: usize,
) -> Result<Vec<tokio_rustls::client::TlsStream<TcpStream>>, BoxError> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        let tcp = TcpStream::connect(addr).await?;
        held.push(connector.connect(name.clone(), tcp).await?);
    }
    Ok(held)
}

/// mtls-status serving idle connections in a process of its own.
struct IdleChild {
    child: Child,
    addr: SocketAddr,
}

impl IdleChild {
    fn start(files: &PkiFiles) -> Result<Self, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .env(CHILD, "idle-server")
            .env("SCALE_CA", &files.root)
            .env("SCALE_SERVER_CERT", &files.server_cert)
            .env("SCALE_SERVER_KEY", &files.server_key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .parse()
            .map_err(|e| format!("idle child said {line:?}: {e}"))?;
        Ok(Self { child, addr })
    }

    fn stop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for IdleChild {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `idle-server` child: an `MtlsAcceptor` (verdict cache on, as
/// shipped) on one current-thread runtime; each connection, after the
/// handshake, waits for its request head. Prints its address; ends when
/// stdin closes.
fn child_idle_server() -> Result<(), BoxError> {
    let env = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .ok_or(format!("{name} unset"))
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = TrustStore::builder().ca_file(env("SCALE_CA")?).build()?;
    let classifier =
        Classifier::builder(ReloadableTrustStore::new(store), Arc::clone(&provider)).build()?;
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(env("SCALE_SERVER_CERT")?)?.collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_file(env("SCALE_SERVER_KEY")?)?;
    let config = server_config(provider, chain, key, classifier.verifier(VerifyMode::On))?;
    let acceptor = Arc::new(MtlsAcceptor::with_fixed_config(
        Arc::new(config),
        classifier,
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        std::io::stdout().flush()?;
        let stdin_closed = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        });
        let serve = async {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = Arc::clone(&acceptor);
                tokio::spawn(async move {
                    use tokio::io::AsyncReadExt as _;
                    if let Ok(mtls_status_rustls::Accepted::Tls(mut tls)) =
                        acceptor.accept(tcp).await
                    {
                        let mut buf = [0u8; 1024];
                        while matches!(tls.read(&mut buf).await, Ok(n) if n > 0) {}
                    }
                });
            }
        };
        tokio::select! {
            _ = stdin_closed => {}
            () = serve => {}
        }
        Ok::<(), BoxError>(())
    })
}

// ---------------------------------------------------------------------------
// 4. Two worker threads vs one
// ---------------------------------------------------------------------------

fn threads(pki: &Pki, files: &PkiFiles, knobs: &Knobs, dir: &Path) -> Result<(), BoxError> {
    println!("\n## Handshakes per second, 2 worker threads vs 1\n");
    let setup = Setup::with_leaves(&pki.root, &pki.server, &pki.valid_from_root);
    let settings = Settings {
        client_threads: 2,
        connections: 16,
        ..knobs.load_settings()
    };
    let load = LoadGenerator::new(&setup, &settings)?;
    println!(
        "| server | 1 thread: hs/s (server cores, hs per server CPU-second) | 2 threads: the same | hs/s 2 / 1 |\n|---|---|---|---|"
    );
    let mut samples = Vec::new();
    for threads in [1, 2] {
        let server =
            ServerUnderTest::mtls_on_threads("mtls-status", setup.mtls_acceptor(true)?, threads)?;
        samples.push(measured(&load, &server, knobs)?);
    }
    row("mtls-status (verdict cache on)", &samples);
    if knobs.nginx_installed() {
        let mut samples = Vec::new();
        for workers in [1, 2] {
            let files = NginxFiles {
                workers,
                ..files.nginx(&files.root, None)
            };
            let nginx = Nginx::start_files(&knobs.nginx, &dir.join("nginx-threads"), &files)?
                .ok_or("nginx is not installed")?;
            samples.push(measured(&load, &ServerUnderTest::nginx(nginx), knobs)?);
        }
        row("nginx (worker_processes)", &samples);
    }
    Ok(())
}

fn row(label: &str, samples: &[Sample]) {
    let per_cpu_second = |s: &Sample| s.cpu_per_handshake_us().map_or(f64::NAN, |us| 1e6 / us);
    let cell = |s: &Sample| {
        format!(
            "{:.0} ({:.2} cores, {:.0} per CPU-second)",
            s.per_second(),
            s.server_cores().unwrap_or(f64::NAN),
            per_cpu_second(s)
        )
    };
    if let [one, two] = samples {
        println!(
            "| {label} | {} | {} | {:.2} |",
            cell(one),
            cell(two),
            two.per_second() / one.per_second()
        );
    }
}

// ---------------------------------------------------------------------------
// 5. The crypto floor
// ---------------------------------------------------------------------------

fn crypto_floor(pki: &Pki, knobs: &Knobs) -> Result<(), BoxError> {
    println!("\n## Crypto floor of a server-side mTLS handshake (ring)\n");
    let provider = rustls::crypto::ring::default_provider();
    let iterations = if knobs.measuring { 2000 } else { 20 };
    let key = provider
        .key_provider
        .load_private_key(pki.server.key_der())?;
    let signer = key
        .choose_scheme(&[rustls::SignatureScheme::ECDSA_NISTP256_SHA256])
        .ok_or("no ECDSA P-256 signer")?;
    let message = [0x5Au8; 130];
    let sign = per_op(iterations, || {
        let _ = signer.sign(&message);
    });
    let signature = signer.sign(&message)?;
    let server_cert = pki.server.cert_der();
    let parsed = mtls_status::der::Certificate::parse(server_cert.as_ref())
        .map_err(|e| format!("server certificate: {e}"))?;
    let (_, public_key) = parsed.public_key().ok_or("no public key")?;
    let algorithm = provider
        .signature_verification_algorithms
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == rustls::SignatureScheme::ECDSA_NISTP256_SHA256)
        .and_then(|(_, algs)| algs.first())
        .ok_or("no ECDSA P-256 verification")?;
    let verify = per_op(iterations, || {
        let _ = algorithm.verify_signature(public_key, &message, &signature);
    });
    let x25519 = provider
        .kx_groups
        .iter()
        .find(|g| g.name() == rustls::NamedGroup::X25519)
        .ok_or("no X25519")?;
    let peer = x25519.start()?.pub_key().to_vec();
    let kx = per_op(iterations, || {
        if let Ok(share) = x25519.start() {
            let _ = share.complete(&peer);
        }
    });
    // Handshake CPU on the server, as the handshake bench measures it.
    let setup = Setup::with_leaves(&pki.root, &pki.server, &pki.valid_from_root);
    let settings = knobs.load_settings();
    let load = LoadGenerator::new(&setup, &settings)?;
    let cached = ServerUnderTest::mtls("mtls-status", setup.mtls_acceptor(true)?)?;
    let cached = measured(&load, &cached, knobs)?;
    let cold = ServerUnderTest::mtls("mtls-status, no cache", setup.mtls_acceptor(false)?)?;
    let cold = measured(&load, &cold, knobs)?;
    let floor_cached = sign + verify + kx;
    let floor_cold = floor_cached + verify;
    println!(
        "sign {sign:.1} µs, verify {verify:.1} µs, X25519 share + agreement {kx:.1} µs (per operation)\n"
    );
    println!(
        "| server | CPU µs/handshake | crypto floor µs | floor / measured |\n|---|---|---|---|"
    );
    for (label, sample, floor) in [
        (
            "mtls-status, verdict cached (1 sign, 1 verify, 1 X25519)",
            &cached,
            floor_cached,
        ),
        (
            "mtls-status, no cache (+ the chain's signature)",
            &cold,
            floor_cold,
        ),
    ] {
        let cpu = sample.cpu_per_handshake_us().unwrap_or(f64::NAN);
        println!("| {label} | {cpu:.1} | {floor:.1} | {:.2} |", floor / cpu);
    }
    Ok(())
}

/// Microseconds per call of `op`: the best mean of 20 batches of `n / 20`
/// calls (the best batch is the one least disturbed by anything else
/// running on the machine).
fn per_op(n: usize, mut op: impl FnMut()) -> f64 {
    let batch = (n / 20).max(1);
    (0..20)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                op();
            }
            started.elapsed().as_secs_f64() * 1e6 / batch as f64
        })
        .fold(f64::INFINITY, f64::min)
}
