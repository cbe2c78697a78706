//! Real OCSP responders on 127.0.0.1: `openssl ocsp` with an index file,
//! and two tiny HTTP servers (one that serves a fixed answer and counts
//! requests, one that never answers).

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mtls_testpki::{Ca, Leaf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A scratch directory, removed on drop.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mtls-ocsp-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch directory");
        Self(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write scratch file");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port nothing listens on (bound, then released).
pub(crate) fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

/// A certificate's line in an `openssl ca` / `openssl ocsp` index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    Valid,
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

/// Writes `index.txt` (atomically: `openssl ocsp` re-reads it when it changes).
pub(crate) fn write_index(dir: &Scratch, entries: &[(String, Entry)]) -> PathBuf {
    write_named_index(dir, "index.txt", entries)
}

/// [`write_index`] under another name.
pub(crate) fn write_named_index(dir: &Scratch, name: &str, entries: &[(String, Entry)]) -> PathBuf {
    let body: String = entries
        .iter()
        .map(|(serial, entry)| index_line(serial, *entry))
        .collect();
    let tmp = dir.write(&format!("{name}.tmp"), body);
    let path = dir.path().join(name);
    std::fs::rename(tmp, &path).expect("replace index.txt");
    path
}

/// The serial of a leaf as the index spells it.
pub(crate) fn leaf_serial(leaf: &Leaf) -> String {
    leaf.serial_hex()
}

/// `openssl ocsp` answering for `ca`, signing with `signer` (cert and key
/// PEM), killed on drop.
pub(crate) struct OpensslOcsp {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl OpensslOcsp {
    pub(crate) fn start(
        dir: &Scratch,
        name: &str,
        port: u16,
        ca: &Ca,
        signer: (&str, &str),
        index: &Path,
        extra: &[&str],
    ) -> Self {
        let ca_pem = dir.write(&format!("{name}-ca.pem"), ca.cert_pem());
        let rsigner = dir.write(&format!("{name}-rsigner.pem"), signer.0);
        let rkey = dir.write(&format!("{name}-rkey.pem"), signer.1);
        let log = std::fs::File::create(dir.path().join(format!("{name}.log"))).expect("log");
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
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start openssl ocsp");
        let responder = Self {
            child,
            port,
            dir: dir.path().to_path_buf(),
        };
        responder.wait_listening(name);
        responder
    }

    /// Waits for its "waiting for OCSP client connections" line: a probe
    /// connection would hang the single-threaded responder.
    fn wait_listening(&self, name: &str) {
        let log_path = self.dir.join(format!("{name}.log"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if log.contains("waiting for OCSP client connections") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        panic!("openssl ocsp did not listen on {}: {log}", self.port);
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for OpensslOcsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer made by `openssl ocsp` for `leaf` now (`-reqin` / `-respout`),
/// e.g. with `-nmin 0` to be stale a second later.
pub(crate) fn prebuilt_response(
    dir: &Scratch,
    ca: &Ca,
    leaf: &Leaf,
    index: &Path,
    extra: &[&str],
) -> Vec<u8> {
    let ca_pem = dir.write("pre-ca.pem", ca.cert_pem());
    let ca_key = dir.write("pre-ca.key", ca.key_pem());
    let leaf_pem = dir.write("pre-leaf.pem", leaf.cert_pem());
    let req = dir.path().join("pre-req.der");
    let resp = dir.path().join("pre-resp.der");
    let status = Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(&ca_pem)
        .arg("-cert")
        .arg(&leaf_pem)
        .arg("-reqout")
        .arg(&req)
        .stdout(Stdio::null())
        .status()
        .expect("openssl ocsp -reqout");
    assert!(status.success());
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
        .expect("openssl ocsp -respout");
    assert!(status.success());
    std::fs::read(resp).expect("read prebuilt response")
}

/// An HTTP server answering every request with `body` (an OCSP response),
/// counting requests.
pub(crate) struct FixedResponder {
    addr: SocketAddr,
    pub(crate) requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FixedResponder {
    pub(crate) async fn start(body: Vec<u8>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&requests);
        let body = Arc::new(body);
        let task = tokio::spawn(async move {
            while let Ok((mut tcp, _)) = listener.accept().await {
                let (count, body) = (Arc::clone(&count), Arc::clone(&body));
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tcp.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    let mut answer = Vec::new();
                    let _ = write!(
                        answer,
                        "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n\
                         Content-Length: {}\r\n\r\n",
                        body.len()
                    );
                    answer.extend_from_slice(&body);
                    let _ = tcp.write_all(&answer).await;
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for FixedResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A responder that accepts connections and never answers.
pub(crate) struct SilentResponder {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl SilentResponder {
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((tcp, _)) = listener.accept().await {
                held.push(tcp);
            }
        });
        Self { addr, task }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for SilentResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
