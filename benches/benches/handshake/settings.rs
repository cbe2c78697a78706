//! The knobs, from `HANDSHAKE_BENCH_*` environment variables.

use std::fmt;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

use crate::BoxError;

/// The chain the client presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientChain {
    /// Leaf issued by the intermediate, sent with the intermediate.
    ViaIntermediate,
    /// Leaf issued by the root, sent alone.
    FromRoot,
}

#[derive(Debug)]
pub(crate) struct Settings {
    /// Measured seconds per server, split over the rounds.
    pub(crate) secs_per_server: f64,
    pub(crate) rounds: usize,
    /// Load before each measurement, not counted.
    pub(crate) warmup: Duration,
    pub(crate) client_threads: usize,
    /// Connections in flight at any time.
    pub(crate) connections: usize,
    pub(crate) client_verifies_server: bool,
    pub(crate) chain: ClientChain,
    pub(crate) nginx: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            secs_per_server: 5.0,
            rounds: 5,
            warmup: Duration::from_millis(300),
            client_threads: 2,
            connections: 8,
            client_verifies_server: false,
            chain: ClientChain::ViaIntermediate,
            nginx: PathBuf::from("/usr/sbin/nginx"),
        }
    }
}

impl Settings {
    pub(crate) fn from_env() -> Result<Self, BoxError> {
        let defaults = Self::default();
        let chain = match env_or("HANDSHAKE_BENCH_CHAIN", "intermediate".to_owned())?.as_str() {
            "intermediate" => ClientChain::ViaIntermediate,
            "root" => ClientChain::FromRoot,
            other => {
                return Err(format!(
                    "HANDSHAKE_BENCH_CHAIN={other}: expected `intermediate` or `root`"
                )
                .into());
            }
        };
        let settings = Self {
            secs_per_server: env_or("HANDSHAKE_BENCH_SECS", defaults.secs_per_server)?,
            rounds: env_or("HANDSHAKE_BENCH_ROUNDS", defaults.rounds)?,
            warmup: Duration::from_secs_f64(env_or(
                "HANDSHAKE_BENCH_WARMUP_SECS",
                defaults.warmup.as_secs_f64(),
            )?),
            client_threads: env_or("HANDSHAKE_BENCH_CLIENT_THREADS", defaults.client_threads)?,
            connections: env_or("HANDSHAKE_BENCH_CONNS", defaults.connections)?,
            client_verifies_server: env_or("HANDSHAKE_BENCH_CLIENT_VERIFY", 0u8)? != 0,
            chain,
            nginx: env_or("HANDSHAKE_BENCH_NGINX", defaults.nginx)?,
        };
        let seconds_ok = settings.secs_per_server.is_finite() && settings.secs_per_server > 0.0;
        if !seconds_ok
            || settings.rounds == 0
            || settings.client_threads == 0
            || settings.connections == 0
        {
            return Err(
                "HANDSHAKE_BENCH_SECS, _ROUNDS, _CLIENT_THREADS and _CONNS must be > 0".into(),
            );
        }
        Ok(settings)
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "full mTLS handshakes (TLS 1.3, ECDSA P-256, no resumption), {} CPUs, client chain: {}",
            thread::available_parallelism().map_or(0, |n| n.get()),
            match self.chain {
                ClientChain::ViaIntermediate => "leaf + intermediate",
                ClientChain::FromRoot => "leaf from root",
            },
        )?;
        write!(
            f,
            "{:.1} s per server in {} rounds (+{:.1} s warm-up each); load generator: {} threads, \
             {} connections in flight, {}",
            self.secs_per_server,
            self.rounds,
            self.warmup.as_secs_f64(),
            self.client_threads,
            self.connections,
            if self.client_verifies_server {
                "verifies the server"
            } else {
                "skips server verification"
            },
        )
    }
}

fn env_or<T>(name: &str, default: T) -> Result<T, BoxError>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|error| format!("{name}={value}: {error}").into()),
        Err(_) => Ok(default),
    }
}
