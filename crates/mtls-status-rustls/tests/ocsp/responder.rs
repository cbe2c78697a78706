//! Real OCSP responders on 127.0.0.1: `openssl ocsp` with an index file
//! (`mtls_testpki::ocsp`), and two tiny HTTP servers (one that serves a fixed answer and counts
//! requests, one that never answers).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mtls_testpki::Leaf;
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
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) use mtls_testpki::ocsp::{Entry, OpensslOcsp, free_port, prebuilt_response};

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// Writes `index.txt` (atomically: `openssl ocsp` re-reads it when it changes).
pub(crate) fn write_index(dir: &Scratch, entries: &[(String, Entry)]) -> PathBuf {
    write_named_index(dir, "index.txt", entries)
}

/// [`write_index`] under another name.
pub(crate) fn write_named_index(dir: &Scratch, name: &str, entries: &[(String, Entry)]) -> PathBuf {
    mtls_testpki::ocsp::write_index(dir, name, entries)
}

/// The serial of a leaf as the index spells it.
pub(crate) fn leaf_serial(leaf: &Leaf) -> String {
    leaf.serial_hex()
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
