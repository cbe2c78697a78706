//! `WorkloadApiSource` (mtls-status-rustls feature `workload-api`) against
//! the official SPIFFE Workload API protocol, over real TLS on 127.0.0.1.
//!
//! SPIRE itself cannot be installed where these tests run, so the test
//! serves the protocol itself: the `SpiffeWorkloadAPI` service of the
//! official `workload.proto` (go-spiffe's copy, see
//! `tests/workload_api/README.md`), with tonic, on a Unix socket, refusing
//! requests without the `workload.spiffe.io: true` metadata as SPIRE's
//! agent does. The source on the other side is the `spiffe` crate's client.
//!
//! One test, in order: the initial SVID and bundle serve a real mTLS
//! handshake; a rotation pushed on the open stream reaches new handshakes
//! (new server certificate, a client of the new CA accepted); an unusable
//! update is refused; the agent goes away (the last good material stays,
//! a warning is logged); the agent comes back and updates resume. Every
//! wait is bounded by `mtls_testpki::tls::LIMIT`; nothing is timed.

#![cfg(unix)]

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
#[path = "../workload_api/workload.rs"]
mod workload;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mtls_status::VerifyMode;
use mtls_status_rustls::{Accepted, MtlsAcceptor, WorkloadApiSource};
use mtls_testpki::capture::Capture;
use mtls_testpki::tls::{LIMIT, TlsClient, bounded, provider, read_to_close};
use mtls_testpki::{Ca, Leaf};
use rustls_pki_types::CertificateDer;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::{ReceiverStream, UnixListenerStream};
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status};
use workload::spiffe_workload_api_server::{SpiffeWorkloadApi, SpiffeWorkloadApiServer};
use workload::{X509svid, X509svidRequest, X509svidResponse};

const TRUST_DOMAIN: &str = "example.org";
const SERVER_ID: &str = "spiffe://example.org/server";
const CLIENT_ID: &str = "spiffe://example.org/client";

/// The Workload API as an agent serves it: every `FetchX509SVID` stream
/// sends the current material at once and again whenever it changes, until
/// the agent stops (then the stream fails with UNAVAILABLE, as a
/// restarting agent's do).
struct Agent {
    material: watch::Receiver<X509svidResponse>,
    stop: watch::Receiver<bool>,
    streams: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl SpiffeWorkloadApi for Agent {
    async fn fetch_x509svid(
        &self,
        request: Request<X509svidRequest>,
    ) -> Result<Response<BoxStream<X509svidResponse>>, Status> {
        // SPIRE's agent: requests without the security header are refused.
        let header = request.metadata().get("workload.spiffe.io");
        if header.and_then(|value| value.to_str().ok()) != Some("true") {
            return Err(Status::invalid_argument(
                "security header missing from request",
            ));
        }
        self.streams.fetch_add(1, Ordering::SeqCst);
        let mut material = self.material.clone();
        let mut stop = self.stop.clone();
        material.mark_changed();
        let (updates, received) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    changed = material.changed() => {
                        let next = material.borrow_and_update().clone();
                        if changed.is_err() || updates.send(Ok(next)).await.is_err() {
                            return;
                        }
                    }
                    () = async { drop(stop.wait_for(|stopped| *stopped).await) } => {
                        let gone = Status::unavailable("agent shutting down");
                        let _ = updates.send(Err(gone)).await;
                        return;
                    }
                }
            }
        });
        let updates = ReceiverStream::new(received);
        Ok(Response::new(Box::pin(updates)))
    }
}

/// A running agent on `socket`.
struct RunningAgent {
    material: watch::Sender<X509svidResponse>,
    stop: watch::Sender<bool>,
    streams: Arc<AtomicUsize>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    socket: PathBuf,
}

impl RunningAgent {
    fn start(socket: &Path, first: X509svidResponse) -> Self {
        let (material, material_rx) = watch::channel(first);
        let (stop, stop_rx) = watch::channel(false);
        let streams = Arc::new(AtomicUsize::new(0));
        let agent = Agent {
            material: material_rx,
            stop: stop_rx.clone(),
            streams: Arc::clone(&streams),
        };
        let incoming = UnixListenerStream::new(UnixListener::bind(socket).expect("bind socket"));
        let mut shutdown = stop_rx;
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(SpiffeWorkloadApiServer::new(agent))
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = shutdown.wait_for(|stopped| *stopped).await;
                }),
        );
        Self {
            material,
            stop,
            streams,
            server,
            socket: socket.to_owned(),
        }
    }

    /// Pushes new material on every open stream.
    fn push(&self, update: X509svidResponse) {
        self.material.send_replace(update);
    }

    fn streams_opened(&self) -> usize {
        self.streams.load(Ordering::SeqCst)
    }

    /// Stops serving (streams fail, connections close) and removes the
    /// socket: the agent is gone.
    async fn stop(self) {
        self.stop.send_replace(true);
        bounded("agent shutdown", self.server)
            .await
            .expect("agent task")
            .expect("agent server");
        std::fs::remove_file(&self.socket).expect("remove socket");
    }
}

/// An X509SVIDResponse carrying `svid` (chain and PKCS#8 key) and the
/// bundle of its trust domain made of `bundle`.
fn update(svid: &Leaf, bundle: &[&Ca]) -> X509svidResponse {
    X509svidResponse {
        svids: vec![X509svid {
            spiffe_id: SERVER_ID.to_owned(),
            x509_svid: svid.chain().iter().flat_map(|c| c.to_vec()).collect(),
            x509_svid_key: svid.key_der().secret_der().to_vec(),
            bundle: bundle
                .iter()
                .flat_map(|ca| ca.cert_der().to_vec())
                .collect(),
            hint: String::new(),
        }],
        crl: Vec::new(),
        federated_bundles: HashMap::new(),
    }
}

/// The server's X509-SVID from `ca`: the SPIFFE ID plus `localhost` (the
/// name the test client checks), serverAuth and clientAuth as SPIRE issues
/// them.
fn server_svid(ca: &Ca) -> Leaf {
    ca.leaf("server")
        .uri(SERVER_ID)
        .dns("localhost")
        .client_and_server_auth()
        .build()
}

fn client_svid(ca: &Ca) -> Leaf {
    ca.leaf("client").uri(CLIENT_ID).client_auth().build()
}

/// Serves every connection: answers the client-auth verdict
/// (`ssl_client_verify` and the SPIFFE ID), then closes.
async fn serve(listener: TcpListener, acceptor: MtlsAcceptor) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            if let Ok(Accepted::Tls(mut stream)) = acceptor.accept(tcp).await {
                let outcome = stream.outcome();
                let id = outcome
                    .identity()
                    .and_then(|identity| identity.spiffe_id())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let answer = format!("{} {id}", outcome.ssl_client_verify());
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        });
    }
}

/// A handshake by a client trusting `root` and presenting `client`: the
/// server certificate it saw and the server's answer.
async fn handshake(
    addr: SocketAddr,
    root: &Ca,
    client: &Leaf,
) -> (CertificateDer<'static>, String) {
    let client = TlsClient::trusting(root.cert_der()).present(client).build();
    let mut tls = client.connect(addr).await.expect("handshake");
    let seen = tls.get_ref().1.peer_certificates().expect("server chain")[0].clone();
    let answer = bounded("answer", read_to_close(&mut tls))
        .await
        .expect("read");
    (seen, String::from_utf8(answer).expect("utf-8"))
}

/// Polls `done` every 10 ms until it holds; failing after [`LIMIT`].
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    bounded(what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

/// Whether `capture` recorded (since the last take) a WARN event containing
/// `text`; events are kept in `seen`.
fn warned(capture: &Capture, seen: &mut Vec<(tracing::Level, String)>, text: &str) -> bool {
    seen.extend(capture.take());
    seen.iter()
        .any(|(level, fields)| *level == tracing::Level::WARN && fields.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_api_feeds_trust_domain_and_server_certificate_through_rotation_and_outage() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).expect("only subscriber");
    let mut events = Vec::new();

    let dir = std::env::temp_dir().join(format!("mtls-workload-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let socket = dir.join("agent.sock");

    let ca1 = Ca::root("example.org CA 1").build();
    let ca2 = Ca::root("example.org CA 2").build();
    let server1 = server_svid(&ca1);
    let server2 = server_svid(&ca2);
    let server3 = server_svid(&ca2);
    let client1 = client_svid(&ca1);
    let client2 = client_svid(&ca2);

    // 1. Initial SVID and bundle.
    let agent = RunningAgent::start(&socket, update(&server1, &[&ca1]));
    let source = WorkloadApiSource::builder(provider())
        .endpoint(format!("unix:{}", socket.display()))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .start_timeout(LIMIT)
        .start()
        .await
        .expect("source starts");
    let names: Vec<&str> = source.trust_domains().map(|(name, _)| name).collect();
    assert_eq!(names, [TRUST_DOMAIN]);
    let status = source.status();
    assert_eq!(status.spiffe_id, SERVER_ID);
    assert!(status.connected);
    assert_eq!((status.connections, status.updates), (1, 1));

    let classifier = source
        .classifier_builder(provider())
        .build()
        .expect("classifier");
    let acceptor = MtlsAcceptor::new(
        classifier,
        VerifyMode::On,
        source.server_certificate().clone(),
    )
    .expect("acceptor");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(serve(listener, acceptor));

    let (seen, answer) = handshake(addr, &ca1, &client1).await;
    assert_eq!(seen, server1.cert_der(), "the server presents the SVID");
    assert_eq!(answer, format!("SUCCESS {CLIENT_ID}"));
    // A client of a CA outside the bundle is refused (the bundle decides).
    let (_, answer) = handshake(addr, &ca1, &client2).await;
    assert!(answer.starts_with("FAILED:"), "{answer}");

    // 2. Rotation on the open stream: a new CA joins the bundle, the SVID
    // is re-issued by it.
    agent.push(update(&server2, &[&ca1, &ca2]));
    eventually("rotated SVID installed", || {
        source.server_certificate().current().cert[0] == server2.cert_der()
    })
    .await;
    let (seen, answer) = handshake(addr, &ca2, &client2).await;
    assert_eq!(seen, server2.cert_der(), "new handshakes see the new SVID");
    assert_eq!(answer, format!("SUCCESS {CLIENT_ID}"));
    let (_, answer) = handshake(addr, &ca2, &client1).await;
    assert_eq!(
        answer,
        format!("SUCCESS {CLIENT_ID}"),
        "the old CA stays in the bundle"
    );
    assert_eq!(
        agent.streams_opened(),
        1,
        "rotated on the stream already open"
    );
    assert_eq!(source.status().connections, 1);
    assert_eq!(source.status().updates, 2);

    // 3. An unusable update (an SVID with another SVID's key): refused,
    // the SVID in force stays.
    let mut broken = update(&server3, &[&ca2]);
    broken.svids[0].x509_svid_key = server1.key_der().secret_der().to_vec();
    agent.push(broken);
    eventually("unusable update refused", || {
        warned(&capture, &mut events, "workload API update refused")
    })
    .await;
    assert_eq!(
        source.server_certificate().current().cert[0],
        server2.cert_der()
    );
    let (seen, answer) = handshake(addr, &ca2, &client1).await;
    assert_eq!(seen, server2.cert_der());
    assert_eq!(
        answer,
        format!("SUCCESS {CLIENT_ID}"),
        "the bundle in force stays too"
    );

    // 4. The agent goes away: the last good material stays, and that is
    // logged. Failures so far: the refused update, the broken stream, then
    // at least one reconnection attempt while the socket is gone.
    agent.stop().await;
    eventually("outage warned, reconnection tried", || {
        warned(&capture, &mut events, "workload API unavailable")
            && !source.status().connected
            && source.status().failures >= 3
    })
    .await;
    assert!(
        events
            .iter()
            .any(|(level, fields)| *level == tracing::Level::WARN
                && fields.contains("keeping the last good SVID and bundles")),
        "{events:?}"
    );
    let (seen, answer) = handshake(addr, &ca2, &client2).await;
    assert_eq!(seen, server2.cert_der(), "the last good SVID stays");
    assert_eq!(
        answer,
        format!("SUCCESS {CLIENT_ID}"),
        "the last good bundle stays"
    );

    // 5. The agent is back with new material (CA 1 retired): updates resume.
    let agent = RunningAgent::start(&socket, update(&server3, &[&ca2]));
    eventually("updates resume", || {
        source.server_certificate().current().cert[0] == server3.cert_der()
    })
    .await;
    let (seen, answer) = handshake(addr, &ca2, &client2).await;
    assert_eq!(seen, server3.cert_der());
    assert_eq!(answer, format!("SUCCESS {CLIENT_ID}"));
    let (_, answer) = handshake(addr, &ca2, &client1).await;
    assert!(
        answer.starts_with("FAILED:"),
        "CA 1 left the bundle: {answer}"
    );
    let status = source.status();
    assert!(status.connected);
    assert_eq!((status.connections, status.updates), (2, 3), "{status:?}");
    assert_eq!(agent.streams_opened(), 1);

    // Every installation went through the reload reporting.
    events.extend(capture.take());
    let installed = |text: &str| {
        events
            .iter()
            .filter(|(level, fields)| *level == tracing::Level::INFO && fields.contains(text))
            .count()
    };
    assert_eq!(installed("server certificate installed"), 2, "{events:?}");
    assert_eq!(installed("trust store installed"), 2, "{events:?}");
    assert_eq!(installed("workload API update applied"), 3, "{events:?}");

    server.abort();
    agent.stop().await;
    drop(source);
    let _ = std::fs::remove_dir_all(&dir);
}
