//! Running the binary, temporary PKIs, a server guard and HTTPS clients.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use mtls_testpki::tls::{self, TlsClient};
use mtls_testpki::{Leaf, Pki, PkiFiles};
use tokio::net::TcpStream;

/// The binary under test.
pub(crate) const MTLS: &str = env!("CARGO_BIN_EXE_mtls");

/// Upper bound for anything the binary does, so a bug hangs no test forever.
const PROCESS_LIMIT: Duration = Duration::from_secs(120);

/// A directory removed when dropped.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("mtls-cli-test-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The standard scenario PKI, written to a temporary directory.
pub(crate) struct Demo {
    pub(crate) pki: Pki,
    pub(crate) files: PkiFiles,
    pub(crate) dir: TempDir,
}

impl Demo {
    /// `mtls serve` with the demo's server certificate and key, trusting the
    /// demo's CA bundle, plus `extra`.
    pub(crate) fn serve(&self, extra: &[&str]) -> Server {
        self.serve_trusting(&self.files.ca_bundle, extra)
    }

    /// As [`Demo::serve`], trusting the CA bundle `client_ca`.
    pub(crate) fn serve_trusting(&self, client_ca: &Path, extra: &[&str]) -> Server {
        let f = &self.files;
        let mut args = vec![
            "--cert",
            s(&f.server.cert),
            "--key",
            s(&f.server.key),
            "--client-ca",
            s(client_ca),
        ];
        args.extend_from_slice(extra);
        Server::start(args)
    }
}

pub(crate) fn demo(name: &str) -> Demo {
    let dir = TempDir::new(name);
    let pki = Pki::generate();
    let files = pki.write_to_dir(dir.path()).expect("write PKI");
    Demo { pki, files, dir }
}

/// What a finished `mtls` run printed.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `mtls ARGS...` to completion (bounded by [`PROCESS_LIMIT`]).
pub(crate) fn mtls<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(MTLS)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mtls");
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for mtls") {
            break status;
        }
        if start.elapsed() > PROCESS_LIMIT {
            let _ = child.kill();
            panic!("mtls did not finish within {PROCESS_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        code: status.code().expect("exited, not killed"),
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}

fn drain(mut from: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut out = String::new();
        let _ = from.read_to_string(&mut out);
        out
    })
}

/// A running `mtls serve`, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `mtls serve --listen 127.0.0.1:0 ARGS...` and waits for its
    /// `listening on https://ADDR` line.
    pub(crate) fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(MTLS)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mtls serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = Arc::clone(&stderr);
            let mut pipe = BufReader::new(child.stderr.take().expect("stderr"));
            thread::spawn(move || {
                let mut line = String::new();
                while pipe.read_line(&mut line).is_ok_and(|n| n > 0) {
                    stderr.lock().expect("stderr lock").push_str(&line);
                    line.clear();
                }
            });
        }
        let (tx, rx) = mpsc::channel();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        thread::spawn(move || {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the server never blocks on a full pipe.
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
        });
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
        };
        let line = rx.recv_timeout(PROCESS_LIMIT).unwrap_or_default();
        let Some(addr) = line.trim().strip_prefix("listening on https://") else {
            let _ = server.child.wait();
            panic!(
                "mtls serve did not start: stdout {line:?}, stderr:\n{}",
                server.stderr()
            );
        };
        server.addr = addr.parse().expect("a socket address");
        assert_ne!(server.addr.port(), 0, "the real port is printed");
        server
    }

    /// Everything the server logged so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Waits (bounded) until the log contains `needle`.
    pub(crate) fn wait_for_log(&self, needle: &str) {
        let start = Instant::now();
        while !self.stderr().contains(needle) {
            assert!(
                start.elapsed() < PROCESS_LIMIT,
                "the server never logged {needle:?}; log:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many times the log contains `needle` so far.
    pub(crate) fn log_count(&self, needle: &str) -> usize {
        self.stderr().matches(needle).count()
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) reason_phrase: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("JSON body ({error}): {}", self.text()))
    }
}

/// The shared loopback client: trusts `demo`'s root, presents `client` if
/// any, offers `alpn`.
pub(crate) fn tls_client(demo: &Demo, client: Option<&Leaf>, alpn: &[&[u8]]) -> TlsClient {
    TlsClient::builder(&demo.pki)
        .present_opt(client)
        .alpn(alpn)
        .build()
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// One HTTPS request presenting `leaf`: the CA names of the
/// CertificateRequest (DER subjects) and the response status.
pub(crate) fn advertised_and_status(
    server: &Server,
    demo: &Demo,
    leaf: &Leaf,
) -> (Vec<Vec<u8>>, u16) {
    let client = tls_client(demo, Some(leaf), &[b"http/1.1"]);
    let addr = server.addr;
    let reply = runtime().block_on(async {
        let mut tls = client.connect(addr).await.expect("TLS handshake");
        let raw = tls::request(&mut tls, tls::GET.as_bytes())
            .await
            .expect("HTTPS request");
        parse_http1(&raw)
    });
    let names = client
        .last_advertised()
        .expect("the server sent a CertificateRequest");
    (names, reply.status)
}

/// `GET /` over HTTP/1.1 on TLS, presenting `client` (if any).
pub(crate) fn https_get(server: &Server, demo: &Demo, client: Option<&Leaf>) -> Reply {
    let client = tls_client(demo, client, &[b"http/1.1"]);
    let addr = server.addr;
    runtime().block_on(async move {
        let mut tls = client
            .connect(addr)
            .await
            .expect("TLS handshake (it always completes)");
        let raw = tls::request(&mut tls, tls::GET.as_bytes())
            .await
            .expect("HTTPS request");
        parse_http1(&raw)
    })
}

/// Sends a plain-HTTP request to the TLS port.
pub(crate) fn plain_http_get(server: &Server) -> Reply {
    let addr = server.addr;
    runtime().block_on(async move {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let raw = tls::request(&mut tcp, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("plain HTTP request");
        parse_http1(&raw)
    })
}

pub(crate) fn parse_http1(raw: &[u8]) -> Reply {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.splitn(3, ' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "{status_line}");
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let reason_phrase = parts.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header line");
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        assert!(body.len() >= len, "body shorter than Content-Length");
        body.truncate(len);
    }
    Reply {
        status,
        reason_phrase,
        headers,
        body,
    }
}

/// Whether `program` runs (`program --version` or `version`).
pub(crate) fn have(program: &str, version_arg: &str) -> bool {
    let found = Command::new(program)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        eprintln!("SKIPPED: `{program}` is not installed; its part of this test did not run");
    }
    found
}

/// `path` as a command-line argument.
pub(crate) fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// The server certificate `mtls serve` presents to a client trusting both
/// roots.
pub(crate) fn presented_certificate(server: &Server, roots: &[&mtls_testpki::Pki]) -> Vec<u8> {
    use std::sync::Arc;
    let mut store = rustls::RootCertStore::empty();
    for pki in roots {
        store.add(pki.root.cert_der()).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(store)
    .with_no_client_auth();
    let addr = server.addr;
    runtime().block_on(async {
        let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .expect("TLS handshake");
        tls.get_ref().1.peer_certificates().expect("server chain")[0].to_vec()
    })
}

/// Waits (bounded by [`PROCESS_LIMIT`]) until `done` holds; panics with
/// `what` and the server's log otherwise. For what a server does in its
/// own time (a file watcher's reload), never to measure it.
pub(crate) fn eventually(server: &Server, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < PROCESS_LIMIT,
            "{what} never happened; log:\n{}",
            server.stderr()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGHUP to the server.
#[cfg(unix)]
pub(crate) fn hangup(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}
