//! A front proxy (nginx, HAProxy) started by the test on 127.0.0.1 with its
//! own configuration in a scratch directory, stopped by PID on drop.
//!
//! A copy of the few lines of `crates/mtls-cli/tests/nginx/` this needs
//! (find the binary, start, wait for the port, kill): that helper is built
//! around the nginx scenario matrix (`ServerKind`, `ServerFiles`), lives in
//! another crate's test tree and is being changed by other work; moving it
//! into mtls-testpki would make every user of the PKI crate carry process
//! management for two tests.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(20);

/// `$ENV_VAR`, else `name` on `PATH`, else `/usr/sbin/name`.
pub(crate) fn find(name: &str, env_var: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env_var) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .or_else(|| {
            let debian = PathBuf::from("/usr/sbin").join(name);
            debian.is_file().then_some(debian)
        })
}

/// [`find`], or `None` after saying the test is skipped; with
/// `require_var` set (CI), a missing binary fails instead.
pub(crate) fn find_or_skip(name: &str, env_var: &str, require_var: &str) -> Option<PathBuf> {
    let found = find(name, env_var);
    if found.is_none() {
        assert!(
            std::env::var_os(require_var).is_none(),
            "{require_var} is set but {name} is not installed"
        );
        eprintln!("{name} not installed: skipped");
    }
    found
}

/// `n` ports on 127.0.0.1 that were free a moment ago.
pub(crate) fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// A scratch directory, kept (and printed) if the test fails.
pub(crate) struct ScratchDir(PathBuf);

impl ScratchDir {
    pub(crate) fn new(label: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("mtls-{label}-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir_all(dir.join("tmp")).expect("create the scratch directory");
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A running proxy, killed (by its PID) and reaped on drop.
pub(crate) struct Proxy {
    child: Child,
    dir: PathBuf,
}

impl Proxy {
    /// Runs `binary args` in `dir` (stderr to `dir/stderr.log`) and waits
    /// until every address of `listening` accepts connections.
    pub(crate) fn start(
        binary: &Path,
        args: &[&str],
        dir: &Path,
        listening: &[SocketAddr],
    ) -> Self {
        let mut child = Command::new(binary)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(dir.join("stderr.log")).expect("create stderr.log"),
            ))
            .spawn()
            .expect("start the proxy");
        for addr in listening {
            let deadline = Instant::now() + BOUND;
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "proxy exited ({status}) before listening on {addr}\n{}",
                        logs(dir)
                    );
                }
                if TcpStream::connect_timeout(addr, Duration::from_millis(200)).is_ok() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "proxy not listening on {addr}\n{}",
                    logs(dir)
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Self {
            child,
            dir: dir.to_path_buf(),
        }
    }

    pub(crate) fn logs(&self) -> String {
        logs(&self.dir)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn logs(dir: &Path) -> String {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
    format!(
        "stderr:\n{}\nerror.log:\n{}",
        read("stderr.log"),
        read("error.log")
    )
}
