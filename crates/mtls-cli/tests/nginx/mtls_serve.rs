//! `mtls serve` processes on the scenario PKI, one per [`ServerKind`].

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use super::situations::ServerFiles;
use super::{BOUND, ServerKind, wait_until_listening};

/// A running `mtls serve`, killed on drop.
pub(crate) struct MtlsServe {
    child: Child,
    addr: SocketAddr,
    stderr: PathBuf,
}

impl MtlsServe {
    /// Starts `mtls serve --listen 127.0.0.1:0 ... --verify-depth 1` for
    /// `kind` and waits for its `listening on https://ADDR` line.
    pub(crate) fn start(dir: &Path, files: &ServerFiles, kind: ServerKind) -> Self {
        let label = format!(
            "{}{}",
            kind.mode.as_str(),
            if kind.crl { "-crl" } else { "" }
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_mtls"));
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--cert")
            .arg(&files.cert)
            .arg("--key")
            .arg(&files.key)
            .arg("--client-ca")
            .arg(&files.ca_bundle)
            .args(["--verify-client", kind.mode.as_str()])
            .args(["--verify-depth", "1"]);
        if kind.crl {
            command.arg("--crl").arg(&files.crl_bundle);
        }
        Self::start_command(dir, &label, command)
    }

    /// Starts `command` (an `mtls serve ... --listen 127.0.0.1:0`), its
    /// stderr in `dir/mtls-serve-LABEL.stderr.log`, and waits for its
    /// `listening on https://ADDR` line.
    pub(crate) fn start_command(dir: &Path, label: &str, mut command: Command) -> Self {
        let stderr = dir.join(format!("mtls-serve-{label}.stderr.log"));
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(&stderr).expect("create the mtls serve log"),
            ))
            .spawn()
            .expect("start mtls serve");

        // Read stdout on a thread (for the whole life of the process, so
        // that it never blocks on a full pipe) and hand over the address.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Only the first such line counts.
                if let Some(addr) = listening_addr(&line)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let logs = || std::fs::read_to_string(&stderr).unwrap_or_default();
        let addr = match rx.recv_timeout(BOUND) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "mtls serve ({label}) printed no `listening on https://ADDR` line \
                     within {BOUND:?} (exit: {status:?}); stderr:\n{}",
                    logs()
                );
            }
        };
        wait_until_listening(&mut child, addr, &logs);
        Self {
            child,
            addr,
            stderr,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the process wrote to stderr so far, for failure messages.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for MtlsServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `listening on https://127.0.0.1:PORT` (anywhere in the line) → address.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on https://")?;
    let addr = rest.split(|c: char| c == '/' || c.is_whitespace()).next()?;
    addr.parse().ok()
}
