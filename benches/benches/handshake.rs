//! Full mTLS handshakes per second, side by side in one run (DESIGN.md §5):
//!
//! - **(a) `rustls+WebPki`**: plain tokio-rustls with rustls's own
//!   `WebPkiClientVerifier` (client certificate mandatory): the reference;
//! - **(b) `MtlsAcceptor`**: the deferred verifier, then
//!   `Classifier::classify` after the handshake, verdict cache on as shipped;
//! - **(b0) `MtlsAcceptor cold`**: the same with `cache_capacity(0)`, so every
//!   connection pays path validation and identity parsing;
//! - **(c) `nginx`**: `/usr/sbin/nginx` with `ssl_verify_client on`, one
//!   worker, if installed;
//! - **(d) `rustls+deferred`**: plain tokio-rustls with the deferred verifier
//!   and nothing after the handshake: the floor, to see where (a) and (b)
//!   spend their time.
//!
//! Every connection is a full TLS 1.3 handshake (the client disables
//! resumption; no server sends tickets) with ECDSA P-256 certificates from
//! `mtls-testpki`: the client sends its leaf and intermediate, the servers
//! trust the root only. Then `GET /`, the response, close. Each server runs
//! on one thread (a current-thread tokio runtime, or nginx's single worker);
//! the load generator runs on its own multi-thread runtime. Servers are
//! measured in alternating rounds; the table gives medians, the ratios are
//! medians of per-round ratios (servers measured back to back), both in
//! handshakes per wall-clock second and per second of server CPU time (from
//! `/proc/.../schedstat`), which does not depend on how much of a core the
//! load generator leaves over.
//!
//! Run with `cargo bench -p mtls-benches --bench handshake`; knobs and
//! caveats in `benches/README.md`. Without the `--bench` argument that
//! `cargo bench` passes (`cargo test --benches`) it only runs a smoke check:
//! a few handshakes per rustls server.

// A bench target is a crate root: its modules are found from this
// directory, so each one names its file under `handshake/`.
#[path = "handshake/load.rs"]
mod load;
#[path = "handshake/micro.rs"]
mod micro;
#[path = "handshake/nginx.rs"]
#[allow(dead_code)]
mod nginx;
#[path = "handshake/report.rs"]
mod report;
#[path = "handshake/servers.rs"]
#[allow(dead_code)]
mod servers;
#[path = "handshake/settings.rs"]
mod settings;
#[path = "handshake/setup.rs"]
#[allow(dead_code)]
mod setup;

use std::fs;
use std::time::Duration;

use mtls_testpki::Pki;

use crate::load::LoadGenerator;
use crate::nginx::Nginx;
use crate::servers::{ServerUnderTest, Variant};
use crate::settings::{ClientChain, Settings};
use crate::setup::Setup;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    if !std::env::args().any(|arg| arg == "--bench") {
        return smoke();
    }
    let settings = Settings::from_env()?;
    println!("{settings}");
    println!("load average before: {}", load_average());

    let pki = Pki::generate();
    let setup = Setup::new(&pki, settings.chain)?;
    micro::breakdown(&setup)?;

    let mut servers = Vec::new();
    for variant in [Variant::Plain, Variant::Mtls, Variant::MtlsCold] {
        servers.push(ServerUnderTest::rustls(variant, &setup)?);
    }
    let nginx_dir =
        std::env::temp_dir().join(format!("mtls-handshake-bench-{}", std::process::id()));
    match Nginx::start(&settings.nginx, &nginx_dir, &pki) {
        Ok(Some(nginx)) => servers.push(ServerUnderTest::nginx(nginx)),
        Ok(None) => println!(
            "nginx: not installed, skipped ({})",
            settings.nginx.display()
        ),
        Err(error) => println!("nginx: could not start, skipped ({error})"),
    }
    servers.push(ServerUnderTest::rustls(Variant::Deferred, &setup)?);

    let load = LoadGenerator::new(&setup, &settings)?;
    let samples = load.rounds(&servers, &settings)?;
    drop(load);
    println!("load average after: {}", load_average());
    report::print(&servers, &samples);
    Ok(())
}

/// Under `cargo test --benches`: a few connections to each rustls server,
/// with a client that verifies the server, every one answered 200.
fn smoke() -> Result<(), BoxError> {
    let pki = Pki::generate();
    let setup = Setup::new(&pki, ClientChain::ViaIntermediate)?;
    let settings = Settings {
        client_threads: 1,
        connections: 2,
        client_verifies_server: true,
        ..Settings::default()
    };
    let load = LoadGenerator::new(&setup, &settings)?;
    for variant in [
        Variant::Plain,
        Variant::Mtls,
        Variant::MtlsCold,
        Variant::Deferred,
    ] {
        let server = ServerUnderTest::rustls(variant, &setup)?;
        let sample = load.measure(&server, Duration::ZERO, Duration::from_millis(100))?;
        if sample.errors > 0 {
            return Err(format!("{}: {} failed connections", server.label, sample.errors).into());
        }
    }
    println!("handshake bench: smoke check passed (measure with `cargo bench --bench handshake`)");
    Ok(())
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}
