//! Full mTLS handshakes per second with OCSP (nginx `ssl_ocsp`) answered
//! from the cache vs without OCSP, side by side in one run (#12: expected
//! within 5 %):
//!
//! - **(b) `MtlsAcceptor, no OCSP`**: as in the `handshake` bench (verdict
//!   cache on, as shipped);
//! - **(e) `+ OCSP on, cached`**: the same with an `OcspChecker` in
//!   `OcspMode::Chain` (nginx `ssl_ocsp on`): the leaf and the intermediate
//!   are looked up on every connection, each at its authorityInfoAccess
//!   responder, answered from the cache;
//! - **(f) `+ OCSP leaf, cached`**: `OcspMode::Leaf` (`ssl_ocsp leaf`).
//!
//! The responders are two real `openssl ocsp` processes on 127.0.0.1 (one
//! for the root, answering for the intermediate, one for the intermediate,
//! answering for the leaf; `mtls_testpki::ocsp::OpensslOcsp`). Each OCSP
//! server's cache is warmed by a few connections, checked to hold the
//! answers, and then **the responders are stopped**: a lookup that missed
//! the cache during the measurement would fail (fail closed, 495) and count
//! as an error, so every measured connection is a cache hit.
//!
//! Connections, the load generator, rounds and the table are those of the
//! `handshake` bench (its modules, its `HANDSHAKE_BENCH_*` knobs). Run with
//! `cargo bench -p mtls-benches --bench handshake_ocsp`; see
//! `benches/README.md`. Without the `--bench` argument that `cargo bench`
//! passes (`cargo test --benches`) it only runs a smoke check. Skipped (with
//! a message) when `openssl` is not installed.

// Modules of the handshake bench; this bench uses part of each.
#[path = "handshake/load.rs"]
mod load;
#[path = "handshake/micro.rs"]
#[allow(dead_code)]
mod micro;
#[path = "handshake/nginx.rs"]
#[allow(dead_code)]
mod nginx;
#[path = "handshake/report.rs"]
#[allow(dead_code)]
mod report;
#[path = "handshake/servers.rs"]
#[allow(dead_code)]
mod servers;
#[path = "handshake/settings.rs"]
mod settings;
#[path = "handshake/setup.rs"]
#[allow(dead_code)]
mod setup;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use mtls_status_rustls::{OcspChecker, OcspFailPolicy, OcspMode};
use mtls_testpki::Ca;
use mtls_testpki::ocsp::{Entry, OpensslOcsp, free_port, write_index};

use crate::load::LoadGenerator;
use crate::servers::ServerUnderTest;
use crate::settings::Settings;
use crate::setup::Setup;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Within 5 % of no OCSP (#12).
const TARGET: f64 = 0.95;

fn main() -> Result<(), BoxError> {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    if !openssl_installed() {
        println!("handshake_ocsp: openssl is not installed, skipped");
        return Ok(());
    }
    let settings = if measuring {
        Settings::from_env()?
    } else {
        Settings {
            client_threads: 1,
            connections: 2,
            client_verifies_server: true,
            ..Settings::default()
        }
    };
    if measuring {
        println!("{settings}");
    }
    let scratch = Scratch::new()?;
    let pki = OcspPki::start(&scratch.0)?;
    let load = LoadGenerator::new(&pki.setup, &settings)?;

    let plain = ServerUnderTest::mtls("(b) MtlsAcceptor, no OCSP", pki.setup.mtls_acceptor(true)?)?;
    let mut ocsp = Vec::new();
    let mut checkers = Vec::new();
    for (label, mode, answers) in [
        ("(e) + OCSP on, cached", OcspMode::Chain, 2),
        ("(f) + OCSP leaf, cached", OcspMode::Leaf, 1),
    ] {
        let acceptor = pki.setup.mtls_acceptor(true)?;
        let checker = OcspChecker::builder(acceptor.classifier())
            .mode(mode)
            .fail_policy(OcspFailPolicy::Closed)
            .build()?;
        let server = ServerUnderTest::mtls(label, acceptor.ocsp(checker.clone()))?;
        // Warm: every connection 200 (good at both responders), the
        // answers in the cache.
        let sample = load.measure(&server, Duration::ZERO, Duration::from_millis(200))?;
        let (cached, bytes) = checker.cache_usage();
        if sample.errors > 0 || cached != answers {
            return Err(format!(
                "{label}: warming failed ({} errors, {cached} answers cached, {answers} expected)",
                sample.errors
            )
            .into());
        }
        println!("{label}: cache warm, {cached} answers ({bytes} bytes)");
        ocsp.push(server);
        checkers.push(checker);
    }
    // From now on a lookup that misses the cache fails (fail closed: 495).
    drop(pki.responders);
    println!("responders stopped: every measured OCSP check is a cache hit, or an error");

    if measuring {
        micro_step(&pki.setup, &checkers)?;
    }
    let mut servers = vec![plain];
    servers.extend(ocsp);
    let samples = if measuring {
        load.rounds(&servers, &settings)?
    } else {
        let mut samples = Vec::new();
        for server in &servers {
            samples.push(vec![load.measure(
                server,
                Duration::ZERO,
                Duration::from_millis(100),
            )?]);
        }
        samples
    };
    drop(load);
    let errors: u64 = samples.iter().flatten().map(|s| s.errors).sum();
    if !measuring {
        if errors > 0 {
            return Err(format!("{errors} failed connections").into());
        }
        println!(
            "handshake_ocsp bench: smoke check passed (measure with `cargo bench --bench handshake_ocsp`)"
        );
        return Ok(());
    }
    report::table(&servers, &samples);
    report::ratio_header();
    report::ratio(
        "(e) OCSP on, cached / (b) no OCSP",
        Some(&samples[1]),
        Some(&samples[0]),
        TARGET,
    );
    report::ratio(
        "(f) OCSP leaf, cached / (b) no OCSP",
        Some(&samples[2]),
        Some(&samples[0]),
        TARGET,
    );
    for checker in &checkers {
        let (cached, _) = checker.cache_usage();
        println!("{:?}: {cached} answers still cached", checker.mode());
    }
    if errors > 0 {
        return Err(format!("{errors} failed connections: a lookup missed the cache").into());
    }
    Ok(())
}

/// The step (e) and (f) add to every connection, timed outside any
/// handshake: `OcspChecker::check` on a verified outcome, warm cache.
fn micro_step(setup: &Setup, checkers: &[OcspChecker]) -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let outcome = Arc::new(setup.classifier(true)?.classify(Some(&setup.client_chain)));
    if !outcome.is_verified() {
        return Err("the client chain does not verify".into());
    }
    println!("\nper-connection step (µs per call, one thread, median of rounds):");
    let baseline = || {
        report::median(
            (0..7)
                .map(|_| {
                    micro::time_per_call(&|| {
                        runtime
                            .block_on(async { Arc::clone(&outcome) })
                            .is_verified()
                    })
                    .as_secs_f64()
                        * 1e6
                })
                .collect(),
        )
    };
    println!(
        "  {:<62} {:>8.2}",
        "tokio block_on of a ready future (included below)",
        baseline().unwrap_or(f64::NAN)
    );
    for checker in checkers {
        let timings: Vec<f64> = (0..7)
            .map(|_| {
                micro::time_per_call(&|| {
                    runtime
                        .block_on(checker.check(Arc::clone(&outcome)))
                        .is_verified()
                })
                .as_secs_f64()
                    * 1e6
            })
            .collect();
        println!(
            "  {:<62} {:>8.2}",
            format!("OcspChecker::check, {:?} mode, cached", checker.mode()),
            report::median(timings).unwrap_or(f64::NAN)
        );
    }
    println!();
    Ok(())
}

/// The bench's PKI: a root and an intermediate, each with an OCSP
/// responder named in the authorityInfoAccess of what it issued.
struct OcspPki {
    setup: Setup,
    /// Stopped (killed by PID) when dropped.
    responders: [OpensslOcsp; 2],
}

impl OcspPki {
    fn start(dir: &std::path::Path) -> Result<Self, BoxError> {
        let (root_port, int_port) = (free_port(), free_port());
        let url = |port: u16| format!("http://127.0.0.1:{port}/");
        let root = Ca::root("OCSP Bench Root").build();
        let intermediate = root
            .intermediate("OCSP Bench Intermediate")
            .ocsp_url(url(root_port))
            .build();
        let server = root.leaf("localhost").server(["localhost"]).build();
        let client = intermediate
            .leaf("ocsp-bench-client")
            .ocsp_url(url(int_port))
            .build();
        let root_index = write_index(
            dir,
            "root-index.txt",
            &[(intermediate.serial_hex(), Entry::Valid)],
        );
        let int_index = write_index(dir, "int-index.txt", &[(client.serial_hex(), Entry::Valid)]);
        let (root_cert, root_key) = (root.cert_pem(), root.key_pem());
        let (int_cert, int_key) = (intermediate.cert_pem(), intermediate.key_pem());
        let responders = [
            OpensslOcsp::start(
                dir,
                "root",
                root_port,
                &root,
                (&root_cert, &root_key),
                &root_index,
                &[],
            ),
            OpensslOcsp::start(
                dir,
                "int",
                int_port,
                &intermediate,
                (&int_cert, &int_key),
                &int_index,
                &[],
            ),
        ];
        Ok(Self {
            setup: Setup::with_leaves(&root, &server, &client),
            responders,
        })
    }
}

/// The responders' files, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, BoxError> {
        let dir = std::env::temp_dir().join(format!("mtls-ocsp-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl_installed() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
