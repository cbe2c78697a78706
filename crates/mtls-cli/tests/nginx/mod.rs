//! Support for `nginx_compare.rs`: the scenario PKI and client situations,
//! an nginx instance and `mtls serve` processes on that PKI, a real rustls
//! client, answer parsing, and the printed matrix.

pub(crate) mod answer;
pub(crate) mod client;
pub(crate) mod matrix;
pub(crate) mod mtls_serve;
pub(crate) mod nginx_server;
pub(crate) mod situations;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// Upper bound for anything the test waits for (a server to start, a
/// response): reaching it is a failure (a hang), never a measurement.
pub(crate) const BOUND: Duration = Duration::from_secs(20);

/// Which servers exist: one per verify mode, without and with `ssl_crl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ServerKind {
    pub(crate) mode: Mode,
    pub(crate) crl: bool,
}

impl ServerKind {
    /// Every mode without CRL, then every mode with the CRL bundle.
    pub(crate) fn all() -> Vec<Self> {
        [false, true]
            .into_iter()
            .flat_map(|crl| Mode::ALL.into_iter().map(move |mode| Self { mode, crl }))
            .collect()
    }
}

/// nginx `ssl_verify_client` / `mtls serve --verify-client`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Mode {
    On,
    Optional,
    OptionalNoCa,
    Off,
}

impl Mode {
    pub(crate) const ALL: [Self; 4] = [Self::On, Self::Optional, Self::OptionalNoCa, Self::Off];

    /// The spelling both nginx and `mtls serve` use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Optional => "optional",
            Self::OptionalNoCa => "optional_no_ca",
            Self::Off => "off",
        }
    }
}

/// A scratch directory, removed on drop unless the test is failing (then
/// its path is printed so the nginx logs and configuration can be read).
pub(crate) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(crate) fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("mtls-{label}-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("nginx_compare: kept {} for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `n` distinct TCP ports on 127.0.0.1 that were free a moment ago (bound
/// together, then released for nginx to take).
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// Waits until `addr` accepts TCP connections, failing early if `child`
/// exits. `logs` names what to print on failure.
pub(crate) fn wait_until_listening(child: &mut Child, addr: SocketAddr, logs: &dyn Fn() -> String) {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "server exited ({status}) before listening on {addr}\n{}",
                logs()
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server not listening on {addr} after {BOUND:?}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The names of the files in `dir` ending in `extension`, sorted: the cases
/// of a fixture suite (`nginx_lint.rs`, `ingress_lint.rs`).
#[allow(dead_code)] // not used by nginx_compare.rs
pub(crate) fn fixture_cases(dir: &Path, extension: &str) -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.ends_with(extension).then_some(name)
        })
        .collect();
    cases.sort();
    cases
}
