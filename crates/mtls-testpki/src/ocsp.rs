//! A real OCSP responder for tests and benches: `openssl ocsp` on
//! 127.0.0.1 with an index file, and answers made by `openssl ocsp
//! -respout`.
//!
//! ```no_run
//! use mtls_testpki::Ca;
//! use mtls_testpki::ocsp::{Entry, OpensslOcsp, free_port, write_index};
//!
//! let dir = std::env::temp_dir().join("mtls-testpki-ocsp-doc");
//! std::fs::create_dir_all(&dir).unwrap();
//! let root = Ca::root("Root").build();
//! let leaf = root.leaf("client").build();
//! let index = write_index(&dir, "index.txt", &[(leaf.serial_hex(), Entry::Valid)]);
//! let signer = (root.cert_pem(), root.key_pem());
//! let responder = OpensslOcsp::start(&dir, "root", free_port(), &root, (&signer.0, &signer.1), &index, &[]);
//! assert!(responder.url().starts_with("http://127.0.0.1:"));
//! ```

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Ca, Leaf};

/// A TCP port on 127.0.0.1 nothing listens on (bound, then released).
///
/// # Panics
///
/// If no port can be bound.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("mtls-testpki: bind a free port")
        .port()
}

/// A certificate's line in an `openssl ca` / `openssl ocsp` index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entry {
    /// `V`: good.
    Valid,
    /// `R`: revoked on 2024-01-01 for keyCompromise.
    Revoked,
}

/// One index line: status, expiry, revocation time, serial, file, subject.
fn index_line(serial_hex: &str, entry: Entry) -> String {
    match entry {
        Entry::Valid => format!("V\t491231235959Z\t\t{serial_hex}\tunknown\t/CN=x\n"),
        Entry::Revoked => {
            format!("R\t491231235959Z\t240101000000Z,keyCompromise\t{serial_hex}\tunknown\t/CN=x\n")
        }
    }
}

/// Writes the index `dir/name` (through a rename, atomically) with one line
/// per `(serial in hex, entry)`; a serial not listed is `unknown` to the
/// responder.
///
/// # Panics
///
/// If the file cannot be written.
pub fn write_index(dir: impl AsRef<Path>, name: &str, entries: &[(String, Entry)]) -> PathBuf {
    let dir = dir.as_ref();
    let body: String = entries
        .iter()
        .map(|(serial, entry)| index_line(serial, *entry))
        .collect();
    let tmp = dir.join(format!("{name}.tmp"));
    std::fs::write(&tmp, body).expect("mtls-testpki: write the OCSP index");
    let path = dir.join(name);
    std::fs::rename(tmp, &path).expect("mtls-testpki: replace the OCSP index");
    path
}

/// `openssl ocsp -index INDEX -port PORT -rsigner .. -rkey .. -CA ..`
/// answering for `ca` on 127.0.0.1, killed on drop. Its files and log are
/// `dir/NAME-*`.
#[derive(Debug)]
pub struct OpensslOcsp {
    child: Child,
    port: u16,
}

impl OpensslOcsp {
    /// Starts the responder, signing with `signer` (certificate and key
    /// PEM), with `extra` flags (e.g. `["-nmin", "1"]`), and returns once
    /// it says it is waiting for connections.
    ///
    /// # Panics
    ///
    /// If `openssl` cannot be started or does not listen within 10 s.
    pub fn start(
        dir: impl AsRef<Path>,
        name: &str,
        port: u16,
        ca: &Ca,
        signer: (&str, &str),
        index: &Path,
        extra: &[&str],
    ) -> Self {
        let dir = dir.as_ref();
        let write = |suffix: &str, contents: &str| {
            let path = dir.join(format!("{name}-{suffix}"));
            std::fs::write(&path, contents).expect("mtls-testpki: write responder file");
            path
        };
        let ca_pem = write("ca.pem", &ca.cert_pem());
        let rsigner = write("rsigner.pem", signer.0);
        let rkey = write("rkey.pem", signer.1);
        let log_path = dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).expect("mtls-testpki: responder log");
        let child = Command::new("openssl")
            .arg("ocsp")
            .arg("-index")
            .arg(index)
            .arg("-port")
            .arg(port.to_string())
            .arg("-rsigner")
            .arg(&rsigner)
            .arg("-rkey")
            .arg(&rkey)
            .arg("-CA")
            .arg(&ca_pem)
            .arg("-ignore_err")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("mtls-testpki: log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("mtls-testpki: start openssl ocsp");
        let responder = Self { child, port };
        responder.wait_listening(&log_path);
        responder
    }

    /// Waits for its "waiting for OCSP client connections" line: a probe
    /// connection would hang the single-threaded responder.
    fn wait_listening(&self, log_path: &Path) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            if log.contains("waiting for OCSP client connections") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(log_path).unwrap_or_default();
        panic!(
            "mtls-testpki: openssl ocsp did not listen on {}: {log}",
            self.port
        );
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id (to stop it by PID, or read its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for OpensslOcsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer made by `openssl ocsp` for `leaf` (issued by `ca`) now
/// (`-reqin` / `-respout`, signed by `ca`), e.g. with `-nmin 0` to be stale
/// a second later. Scratch files go to `dir/pre-*`.
///
/// # Panics
///
/// If `openssl` fails.
pub fn prebuilt_response(
    dir: impl AsRef<Path>,
    ca: &Ca,
    leaf: &Leaf,
    index: &Path,
    extra: &[&str],
) -> Vec<u8> {
    let dir = dir.as_ref();
    let write = |name: &str, contents: String| {
        let path = dir.join(name);
        std::fs::write(&path, contents).expect("mtls-testpki: write PEM");
        path
    };
    let ca_pem = write("pre-ca.pem", ca.cert_pem());
    let ca_key = write("pre-ca.key", ca.key_pem());
    let leaf_pem = write("pre-leaf.pem", leaf.cert_pem());
    let req = dir.join("pre-req.der");
    let resp = dir.join("pre-resp.der");
    let status = Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(&ca_pem)
        .arg("-cert")
        .arg(&leaf_pem)
        .arg("-reqout")
        .arg(&req)
        .stdout(Stdio::null())
        .status()
        .expect("mtls-testpki: openssl ocsp -reqout");
    assert!(
        status.success(),
        "mtls-testpki: openssl ocsp -reqout failed"
    );
    let status = Command::new("openssl")
        .args(["ocsp", "-index"])
        .arg(index)
        .arg("-rsigner")
        .arg(&ca_pem)
        .arg("-rkey")
        .arg(&ca_key)
        .arg("-CA")
        .arg(&ca_pem)
        .arg("-reqin")
        .arg(&req)
        .arg("-respout")
        .arg(&resp)
        .args(extra)
        .stdout(Stdio::null())
        .status()
        .expect("mtls-testpki: openssl ocsp -respout");
    assert!(
        status.success(),
        "mtls-testpki: openssl ocsp -respout failed"
    );
    std::fs::read(resp).expect("mtls-testpki: read the prebuilt response")
}
