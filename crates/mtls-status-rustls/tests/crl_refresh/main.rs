//! CRL refresh against a real HTTP server on 127.0.0.1 started by each test
//! (tokio, HTTP/1.0 with Content-Length) whose CRL the test swaps: a client
//! revoked after it was valid gets 495 `certificate revoked` in a real
//! handshake once the CRL is refreshed; a server that is down, a CRL signed
//! by the wrong key, garbage, an oversized answer, an older CRL are refused
//! and the last good CRL stays, logged and counted; file reloads keep the
//! fetched CRLs; a spawned refresher follows a client's distribution point.
//!
//! Every test runs on a current-thread runtime under a tracing capture and a
//! metrics `DebuggingRecorder` local to its thread.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use mtls_status::metrics::CrlRefreshResult;
use mtls_status::{ClientAuthOutcome, ReasonKind, VerifyMode};
use mtls_status_rustls::{
    Accepted, Classifier, CrlRefresher, CrlSourceStatus, MtlsAcceptor, ReloadableTrustStore,
    ServerCertificate, TrustStore, TrustStoreFiles,
};
use mtls_testpki::capture::Capture;
use mtls_testpki::rcgen::CrlDistributionPoint;
use mtls_testpki::tls::{TlsClient, bounded, provider};
use mtls_testpki::{Ca, Leaf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::Level;

/// What a test saw besides its result: log events and counter totals.
struct Seen {
    events: Vec<(Level, String)>,
    counters: BTreeMap<(String, Vec<(String, String)>), u64>,
    gauges: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl Seen {
    fn refreshes(&self, result: &str) -> u64 {
        let key = (
            "mtls_crl_refresh_total".to_owned(),
            vec![("result".to_owned(), result.to_owned())],
        );
        self.counters.get(&key).copied().unwrap_or(0)
    }

    fn gauge(&self, name: &str, url: &str) -> Option<f64> {
        let key = (name.to_owned(), vec![("url".to_owned(), url.to_owned())]);
        self.gauges.get(&key).copied()
    }

    fn logged(&self, level: Level, parts: &[&str]) -> bool {
        self.events
            .iter()
            .any(|(l, text)| *l == level && parts.iter().all(|p| text.contains(p)))
    }
}

/// Runs `test` on a current-thread runtime with a capture and a local
/// metrics recorder.
fn run<F: Future>(test: impl FnOnce() -> F) -> (F::Output, Seen) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let capture = Capture::default();
    let output = metrics::with_local_recorder(&recorder, || {
        tracing::subscriber::with_default(capture.clone(), || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(test())
        })
    });
    let mut counters = BTreeMap::new();
    let mut gauges = BTreeMap::new();
    for (key, .., value) in snapshotter.snapshot().into_vec() {
        let mut labels: Vec<(String, String)> = key
            .key()
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        let series = (key.key().name().to_owned(), labels);
        match value {
            DebugValue::Counter(n) => *counters.entry(series).or_insert(0) += n,
            DebugValue::Gauge(v) => {
                gauges.insert(series, v.into_inner());
            }
            DebugValue::Histogram(_) => {}
        }
    }
    let seen = Seen {
        events: capture.take(),
        counters,
        gauges,
    };
    (output, seen)
}

/// An HTTP server on 127.0.0.1 answering every GET with the body it holds.
struct CrlServer {
    addr: SocketAddr,
    body: Arc<Mutex<Vec<u8>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl CrlServer {
    async fn start(body: impl Into<Vec<u8>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let body = Arc::new(Mutex::new(body.into()));
        let shared = Arc::clone(&body);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut tcp, _)) = listener.accept().await else {
                    return;
                };
                let body = shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
                        match tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut chunk))
                            .await
                        {
                            Ok(Ok(n)) if n > 0 => head.extend_from_slice(&chunk[..n]),
                            _ => return,
                        }
                    }
                    let mut answer = format!(
                        "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\n\
                         Content-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    answer.extend_from_slice(&body);
                    let _ = tcp.write_all(&answer).await;
                    let _ = tcp.shutdown().await;
                });
            }
        });
        Self {
            addr,
            body,
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/ca.crl", self.addr)
    }

    fn serve(&self, body: impl Into<Vec<u8>>) {
        *self.body.lock().unwrap_or_else(PoisonError::into_inner) = body.into();
    }

    /// Stops listening: connections to the port are refused from now on.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

struct Setup {
    root: Ca,
    server: Leaf,
    store: ReloadableTrustStore,
    classifier: Classifier,
    acceptor: MtlsAcceptor,
}

impl Setup {
    fn new(root: Ca, store: ReloadableTrustStore) -> Self {
        let server = root.leaf("localhost").server(["localhost"]).build();
        let classifier = Classifier::builder(store.clone(), provider())
            .build()
            .expect("classifier");
        let cert = ServerCertificate::new(provider(), server.chain(), server.key_der())
            .expect("server certificate");
        let acceptor =
            MtlsAcceptor::new(classifier.clone(), VerifyMode::On, cert).expect("acceptor");
        Self {
            root,
            server,
            store,
            classifier,
            acceptor,
        }
    }

    fn with_root(root: Ca) -> Self {
        let store = ReloadableTrustStore::new(
            TrustStore::builder()
                .ca_pem(root.cert_pem())
                .build()
                .expect("trust store"),
        );
        Self::new(root, store)
    }

    fn refresher(&self, url: &str) -> CrlRefresher {
        CrlRefresher::builder(&self.classifier)
            .url(url)
            .timeout(Duration::from_secs(2))
            .build()
            .expect("refresher")
    }

    /// One real handshake of `leaf`: the outcome the server classified.
    async fn handshake(&self, leaf: &Leaf) -> Arc<ClientAuthOutcome> {
        let _ = &self.server;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = TlsClient::trusting(self.root.cert_der())
            .present(leaf)
            .build();
        let server = async {
            let (tcp, _) = listener.accept().await.expect("accept");
            match self.acceptor.accept(tcp).await.expect("handshake") {
                Accepted::Tls(stream) => Arc::clone(stream.outcome()),
                _ => panic!("TLS expected"),
            }
        };
        let client = async {
            let mut tls = client.connect(addr).await.expect("client handshake");
            let _ = tls.read(&mut [0u8; 1]).await;
        };
        let (outcome, ()) = bounded("handshake", async { tokio::join!(server, client) }).await;
        outcome
    }
}

fn only(statuses: &[CrlSourceStatus]) -> &CrlSourceStatus {
    assert_eq!(statuses.len(), 1, "{statuses:#?}");
    &statuses[0]
}

fn assert_revoked(outcome: &Arc<ClientAuthOutcome>) {
    assert_eq!(
        outcome.reason().map(|r| r.kind()),
        Some(ReasonKind::Revoked),
        "{outcome:?}"
    );
    assert_eq!(outcome.status().as_u16(), 495);
    assert_eq!(outcome.ssl_client_verify(), "FAILED:certificate revoked");
}

#[test]
fn a_revocation_published_later_is_495_after_the_refresh() {
    let ((), seen) = run(|| async {
        let setup = Setup::with_root(Ca::root("Refresh Root").build());
        let client = setup.root.leaf("client").build();
        let server = CrlServer::start(setup.root.crl().build().pem()).await;
        let refresher = setup.refresher(&server.url());

        let status = refresher.refresh_all().await;
        let status = only(&status);
        assert_eq!(status.last_result, Some(CrlRefreshResult::Updated));
        assert_eq!(status.issuer.as_deref(), Some("CN=Refresh Root"));
        assert!(status.next_refresh > status.last_success.unwrap());
        assert_eq!(setup.store.current().crl_count(), 1);
        assert!(setup.handshake(&client).await.is_verified());

        // The CA revokes the client; the server publishes the new CRL.
        server.serve(setup.root.crl().revoke(&client).build().pem());
        let before = setup.store.generation();
        let status = refresher.refresh_all().await;
        assert_eq!(only(&status).last_result, Some(CrlRefreshResult::Updated));
        assert!(setup.store.generation() > before);
        assert_eq!(setup.store.current().crl_count(), 1, "replaced, not added");
        assert_revoked(&setup.handshake(&client).await);

        // Served again: nothing is installed (cached verdicts stay).
        let generation = setup.store.generation();
        let status = refresher.refresh_all().await;
        assert_eq!(only(&status).last_result, Some(CrlRefreshResult::Unchanged));
        assert_eq!(setup.store.generation(), generation);
    });
    assert_eq!(seen.refreshes("updated"), 2);
    assert_eq!(seen.refreshes("unchanged"), 1);
    assert!(
        seen.logged(
            Level::INFO,
            &["CRL refreshed", "issuer=CN=Refresh Root", "age_secs="]
        ),
        "{:#?}",
        seen.events
    );
    assert!(seen.logged(Level::INFO, &["trust store installed", "crls=0→1"]));
}

#[test]
fn a_server_that_is_down_keeps_the_last_good_crl() {
    let (url, seen) = run(|| async {
        let setup = Setup::with_root(Ca::root("Down Root").build());
        let client = setup.root.leaf("client").build();
        let mut server = CrlServer::start(setup.root.crl().revoke(&client).build().pem()).await;
        let refresher = setup.refresher(&server.url());
        refresher.refresh_all().await;
        assert_revoked(&setup.handshake(&client).await);

        server.stop().await;
        let generation = setup.store.generation();
        let status = refresher.refresh_all().await;
        let status = only(&status);
        assert_eq!(status.last_result, Some(CrlRefreshResult::Failed));
        assert_eq!(status.consecutive_failures, 1);
        assert!(
            status
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("cannot connect")),
            "{status:?}"
        );
        // The last good CRL stays: still in force, still revoking.
        assert_eq!(status.issuer.as_deref(), Some("CN=Down Root"));
        assert_eq!(setup.store.generation(), generation);
        assert_revoked(&setup.handshake(&client).await);
        let status = refresher.refresh_all().await;
        assert_eq!(only(&status).consecutive_failures, 2);
        server.url()
    });
    assert_eq!(seen.refreshes("failed"), 2);
    assert!(
        seen.logged(
            Level::ERROR,
            &[
                "CRL refresh failed; keeping the last good CRL",
                "kept_issuer=CN=Down Root",
                "kept_age_secs=",
                "cannot connect",
            ]
        ),
        "{:#?}",
        seen.events
    );
    let next = seen
        .gauge("mtls_crl_next_refresh_timestamp_seconds", &url)
        .expect("next refresh gauge");
    let success = seen
        .gauge("mtls_crl_last_refresh_success_timestamp_seconds", &url)
        .expect("last success gauge");
    assert!(next >= success, "retry scheduled after the last success");
}

#[test]
fn bad_crls_are_refused_and_the_crl_in_force_stays() {
    let ((), seen) = run(|| async {
        let setup = Setup::with_root(Ca::root("Strict Root").build());
        let client = setup.root.leaf("client").build();
        let good = setup.root.crl().crl_number(10).revoke(&client).build();
        let server = CrlServer::start(good.pem()).await;
        let refresher = CrlRefresher::builder(&setup.classifier)
            .url(server.url())
            .timeout(Duration::from_secs(2))
            .max_crl_bytes(64 * 1024)
            .build()
            .expect("refresher");
        refresher.refresh_all().await;
        assert_revoked(&setup.handshake(&client).await);
        let generation = setup.store.generation();

        // Same issuer name, another key: the signature does not verify.
        let impostor = Ca::root("Strict Root").build();
        let older = setup.root.crl().crl_number(9).build();
        let stranger = Ca::root("Stranger Root").build();
        let cases: [(&str, Vec<u8>, CrlRefreshResult, &str); 6] = [
            (
                "wrong key",
                impostor.crl().build().pem().into_bytes(),
                CrlRefreshResult::Refused,
                "signature does not verify",
            ),
            (
                "garbage",
                b"<html>not a CRL</html>".to_vec(),
                CrlRefreshResult::Refused,
                "cannot be used",
            ),
            (
                "oversized",
                vec![b'x'; 200 * 1024],
                CrlRefreshResult::Failed,
                "larger than 65536 bytes",
            ),
            (
                "older",
                older.pem().into_bytes(),
                CrlRefreshResult::Refused,
                "older than the CRL in force",
            ),
            (
                "unknown issuer",
                stranger.crl().build().pem().into_bytes(),
                CrlRefreshResult::Refused,
                "is not a CA of the trust store",
            ),
            (
                "two CRLs",
                format!("{}{}", good.pem(), good.pem()).into_bytes(),
                CrlRefreshResult::Refused,
                "expected one CRL",
            ),
        ];
        for (what, body, result, error) in cases {
            server.serve(body);
            let status = refresher.refresh_all().await;
            let status = only(&status);
            assert_eq!(status.last_result, Some(result), "{what}: {status:?}");
            let text = status.last_error.as_deref().unwrap_or_default();
            assert!(text.contains(error), "{what}: {text}");
            assert_eq!(setup.store.generation(), generation, "{what}");
            assert_eq!(setup.store.current().crl_ders(), [good.der()], "{what}");
            assert_revoked(&setup.handshake(&client).await);
        }
    });
    assert_eq!(seen.refreshes("refused"), 5);
    assert_eq!(seen.refreshes("failed"), 1);
    assert!(seen.logged(
        Level::ERROR,
        &["keeping the last good CRL", "signature does not verify"]
    ));
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtls-crl-refresh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn file_reloads_keep_fetched_crls_and_the_most_recent_crl_wins() {
    let dir = scratch("reload");
    let ((), _seen) = run(|| async {
        let root = Ca::root("Reload Root").build();
        let other = Ca::root("Other Root").build();
        let client = root.leaf("client").build();
        let other_client = other.leaf("other client").build();
        let ca = dir.join("ca.pem");
        let crl = dir.join("crl.pem");
        std::fs::write(&ca, root.cert_pem() + &other.cert_pem()).expect("write");
        // The file CRLs: an old one of Reload Root, one of Other Root.
        let old = root.crl().build();
        std::fs::write(
            &crl,
            old.pem() + &other.crl().revoke(&other_client).build().pem(),
        )
        .expect("write");
        let store =
            ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&ca).crl_file(&crl))
                .expect("store");
        let setup = Setup::new(root, store);
        assert!(setup.handshake(&client).await.is_verified());

        let server = CrlServer::start(setup.root.crl().revoke(&client).build().pem()).await;
        let refresher = setup.refresher(&server.url());
        refresher.refresh_all().await;
        // The fetched CRL replaced the file's older one of its issuer; the
        // other issuer's file CRL stays.
        assert_eq!(setup.store.current().crl_count(), 2);
        assert_revoked(&setup.handshake(&client).await);

        // A reload of the same files keeps the fetched CRL.
        setup.store.reload().expect("reload");
        assert_eq!(setup.store.current().crl_count(), 2);
        assert_revoked(&setup.handshake(&client).await);
        assert_eq!(
            setup
                .classifier
                .classify(Some(&other_client.chain()))
                .reason()
                .map(|r| r.kind()),
            Some(ReasonKind::Revoked)
        );

        // The operator drops in a still newer CRL (the client reinstated):
        // the file wins over the older fetched one...
        std::fs::write(&crl, setup.root.crl().build().pem()).expect("write");
        setup.store.reload().expect("reload");
        assert_eq!(setup.store.current().crl_count(), 1);
        assert!(setup.handshake(&client).await.is_verified());
        // ...and the server's older CRL is then refused.
        let status = refresher.refresh_all().await;
        assert_eq!(only(&status).last_result, Some(CrlRefreshResult::Refused));
        assert!(setup.handshake(&client).await.is_verified());
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_spawned_refresher_follows_the_distribution_point_of_a_client() {
    let ((), seen) = run(|| async {
        let setup = Setup::with_root(Ca::root("DP Root").build());
        let server = CrlServer::start(setup.root.crl().build().pem()).await;
        let url = server.url();
        let client = setup
            .root
            .leaf("client")
            .customize(|params| {
                params.crl_distribution_points = vec![CrlDistributionPoint {
                    uris: vec![url.clone(), "ldap://ldap.example/crl".to_owned()],
                }];
            })
            .build();
        let refresher = CrlRefresher::builder(&setup.classifier)
            .from_distribution_points()
            .timeout(Duration::from_secs(2))
            .min_interval(Duration::from_millis(50))
            .max_interval(Duration::from_millis(200))
            .build()
            .expect("refresher");
        assert!(refresher.sources().is_empty(), "the root names no DP");
        let _task = refresher.spawn();
        assert_eq!(refresher.observe(&client.chain()), 1, "http:// DP only");
        assert_eq!(refresher.observe(&client.chain()), 0, "already followed");
        assert_eq!(refresher.sources()[0].url, url);

        server.serve(setup.root.crl().revoke(&client).build().pem());
        bounded("the refresher to fetch the revoking CRL", async {
            while setup
                .classifier
                .classify(Some(&client.chain()))
                .reason()
                .map(|r| r.kind())
                != Some(ReasonKind::Revoked)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert_revoked(&setup.handshake(&client).await);
    });
    assert!(seen.refreshes("updated") >= 1);
    assert!(seen.logged(Level::INFO, &["following CRL distribution point"]));
}

#[test]
fn settings_are_checked() {
    let setup = Setup::with_root(Ca::root("Settings Root").build());
    let builder = || CrlRefresher::builder(&setup.classifier);
    assert!(builder().build().is_err(), "nothing to refresh");
    let https = builder().url("https://crl.example/ca.crl").build();
    assert!(
        https.unwrap_err().to_string().contains("only http://"),
        "https is not fetched"
    );
    assert!(
        builder()
            .url("http://crl.example/")
            .min_interval(Duration::from_secs(10))
            .max_interval(Duration::from_secs(5))
            .build()
            .is_err()
    );
    assert!(
        builder()
            .url("http://crl.example/")
            .refresh_fraction(1.5)
            .build()
            .is_err()
    );
    let refresher = builder().url("http://crl.example/ca.crl").build().unwrap();
    assert_eq!(refresher.sources()[0].url, "http://crl.example/ca.crl");
    assert_eq!(refresher.sources()[0].last_result, None);
}

#[test]
fn distribution_points_of_trust_store_cas_are_followed() {
    let ((), seen) = run(|| async {
        let root = Ca::root("DP CA Root").build();
        // The root's CRL is published where the intermediate says.
        let server = CrlServer::start(root.crl().build().pem()).await;
        let url = server.url();
        let intermediate = root
            .intermediate("DP Intermediate")
            .customize(|params| {
                params.crl_distribution_points = vec![CrlDistributionPoint {
                    uris: vec![url.clone()],
                }];
            })
            .build();
        let store = ReloadableTrustStore::new(
            TrustStore::builder()
                .ca_pem(root.cert_pem() + &intermediate.cert_pem())
                .build()
                .expect("trust store"),
        );
        let setup = Setup::new(root, store);
        // Depth 1: clients of the intermediate.
        let classifier = Classifier::builder(setup.store.clone(), provider())
            .max_depth(1)
            .build()
            .expect("classifier");
        let refresher = CrlRefresher::builder(&classifier)
            .from_distribution_points()
            .timeout(Duration::from_secs(2))
            .min_interval(Duration::from_secs(60))
            .max_interval(Duration::from_secs(600))
            .build()
            .expect("refresher");
        assert_eq!(refresher.sources().len(), 1, "the intermediate's DP");
        assert_eq!(refresher.sources()[0].url, url);

        let client = intermediate.leaf("client").build();
        let status = refresher.refresh_all().await;
        let status = only(&status);
        assert_eq!(status.last_result, Some(CrlRefreshResult::Updated));
        assert_eq!(status.issuer.as_deref(), Some("CN=DP CA Root"));
        // Scheduled within the max interval (±10 % jitter), not at
        // nextUpdate 30 days out.
        let fetched = status.last_success.expect("success").as_secs();
        let next = status.next_refresh.as_secs();
        assert!(
            next >= fetched + 50 && next <= fetched + 661,
            "{fetched} → {next}"
        );

        // The intermediate itself publishes no CRL: its clients' status is
        // unknown (nginx: unable to get certificate CRL), not revoked.
        let chain = [client.cert_der(), intermediate.cert_der()];
        assert_eq!(
            classifier.classify(Some(&chain)).reason().map(|r| r.kind()),
            Some(ReasonKind::UnknownRevocationStatus)
        );
        // The root revokes the intermediate: every client under it is revoked.
        server.serve(setup.root.crl().revoke(&intermediate).build().pem());
        refresher.refresh_all().await;
        let outcome = classifier.classify(Some(&chain));
        assert_eq!(
            outcome.reason().map(|r| r.kind()),
            Some(ReasonKind::Revoked),
            "{outcome:?}"
        );
    });
    assert_eq!(seen.refreshes("updated"), 2);
}
