//! Feature `metrics`: handshake failures by cause, recorded from real
//! connections on 127.0.0.1 to an `MtlsListener` (plain HTTP, a silent
//! client, a client that aborts the TLS handshake, eviction at the cap, a
//! client that leaves), and the trust-store gauges set when a
//! `ReloadableTrustStore` is created and replaced. A `DebuggingRecorder`
//! local to the test's thread, with a current-thread runtime so that every
//! task records into it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use mtls_status::VerifyMode;
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsListener, ReloadableTrustStore, ServerCertificate, TrustStore,
};
use mtls_testpki::Pki;
use mtls_testpki::tls::{TlsClient, bounded, provider, read_to_close};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The trust-store gauges are process-wide (the issuers last labelled):
/// these tests install stores one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn labels(key: &CompositeKey) -> Vec<(String, String)> {
    let mut labels: Vec<_> = key
        .key()
        .labels()
        .map(|l| (l.key().to_owned(), l.value().to_owned()))
        .collect();
    labels.sort();
    labels
}

type Snapshot = Vec<(
    CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

/// A metric name and its sorted labels.
type SeriesKey = (String, Vec<(String, String)>);

/// Counters accumulated over snapshots (a `DebuggingRecorder` snapshot
/// resets what it reads).
struct Counters {
    snapshotter: Snapshotter,
    seen: RefCell<BTreeMap<SeriesKey, u64>>,
}

impl Counters {
    fn new(snapshotter: Snapshotter) -> Self {
        Self {
            snapshotter,
            seen: RefCell::default(),
        }
    }

    fn poll(&self) {
        let mut seen = self.seen.borrow_mut();
        for (key, .., value) in self.snapshotter.snapshot().into_vec() {
            if let DebugValue::Counter(n) = value {
                *seen
                    .entry((key.key().name().to_owned(), labels(&key)))
                    .or_insert(0) += n;
            }
        }
    }

    /// `mtls_handshake_failures_total{cause}`.
    fn failures(&self, cause: &str) -> u64 {
        self.poll();
        let key = (
            "mtls_handshake_failures_total".to_owned(),
            vec![("cause".to_owned(), cause.to_owned())],
        );
        self.seen.borrow().get(&key).copied().unwrap_or(0)
    }

    /// Every `mtls_handshake_failures_total`.
    fn all_failures(&self) -> u64 {
        self.poll();
        self.seen
            .borrow()
            .iter()
            .filter(|((name, _), _)| name == "mtls_handshake_failures_total")
            .map(|(_, n)| n)
            .sum()
    }
}

/// `name{label="value"}` (one label, or none) in `snapshot`.
fn gauge(snapshot: &Snapshot, name: &str, label: Option<(&str, &str)>) -> f64 {
    let want: Vec<(String, String)> = label
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let found = snapshot
        .iter()
        .find(|(key, ..)| {
            key.kind() == MetricKind::Gauge && key.key().name() == name && labels(key) == want
        })
        .map(|(.., value)| value);
    match found {
        Some(DebugValue::Gauge(v)) => v.into_inner(),
        other => panic!("{name} {label:?}: gauge missing or wrong kind: {other:?}"),
    }
}

fn unix(time: time::OffsetDateTime) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let seconds = time.unix_timestamp() as f64;
    seconds
}

fn acceptor(pki: &Pki) -> MtlsAcceptor {
    let store = ReloadableTrustStore::new(
        TrustStore::builder()
            .ca_pem(pki.ca_bundle_pem())
            .build()
            .expect("trust store"),
    );
    let classifier = Classifier::builder(store, provider())
        .build()
        .expect("classifier");
    let server_cert = ServerCertificate::new(provider(), pki.server.chain(), pki.server.key_der())
        .expect("server certificate");
    MtlsAcceptor::new(classifier, VerifyMode::On, server_cert).expect("acceptor")
}

/// Connects, sends `bytes`, and waits for the server to close.
async fn send_and_wait_close(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(bytes).await.expect("write");
    read_to_close(&mut tcp).await.unwrap_or_default()
}

/// Polls `cond` every 10 ms, for at most 10 s.
async fn wait_until(what: &str, cond: impl Fn() -> bool) {
    bounded(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

fn run_local(recorder: &DebuggingRecorder, test: impl std::future::Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    metrics::with_local_recorder(recorder, || runtime.block_on(test));
}

#[test]
fn handshake_failures_are_counted_by_cause() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let pki = Pki::generate();
    let recorder = DebuggingRecorder::new();
    let counters = Counters::new(recorder.snapshotter());
    run_local(&recorder, async {
        let mut listener = MtlsListener::builder(acceptor(&pki))
            .client_hello_timeout(Duration::from_millis(300))
            .bind("127.0.0.1:0")
            .await
            .expect("listen");
        let addr = listener.local_addr();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept_tls().await;
                let _ = stream
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
            }
        });

        // A valid client: no failure.
        let client = TlsClient::builder(&pki)
            .present(&pki.valid_from_root)
            .build();
        let mut tls = client.connect(addr).await.expect("valid client handshakes");
        let _ = read_to_close(&mut tls).await;
        assert_eq!(counters.all_failures(), 0);

        // Plain HTTP to the TLS port: answered 497.
        let answer = send_and_wait_close(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 497"),
            "{answer:?}"
        );
        wait_until("plain_http counted", || {
            counters.failures("plain_http") == 1
        })
        .await;

        // A client that does not trust the server aborts the handshake with
        // an alert: a TLS error on the server.
        let distrustful = TlsClient::trusting(pki.unknown_root.cert_der())
            .present(&pki.valid_from_root)
            .build();
        assert!(distrustful.connect(addr).await.is_err());
        wait_until("tls_error counted", || counters.failures("tls_error") == 1).await;

        // A client that connects and sends nothing: the ClientHello timeout.
        send_and_wait_close(addr, b"").await;
        wait_until("timeout counted", || counters.failures("timeout") == 1).await;

        // A client that sends half a record header and leaves.
        {
            let mut tcp = TcpStream::connect(addr).await.expect("connect");
            tcp.write_all(&[0x16, 0x03]).await.expect("write");
        }
        wait_until("closed counted", || counters.failures("closed") == 1).await;
        assert_eq!(counters.all_failures(), 4);
    });
}

#[test]
fn handshakes_evicted_at_the_cap_are_counted() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let pki = Pki::generate();
    let recorder = DebuggingRecorder::new();
    let counters = Counters::new(recorder.snapshotter());
    run_local(&recorder, async {
        // One slot; the default ClientHello timeout (5 s) outlasts the test.
        let listener = MtlsListener::builder(acceptor(&pki))
            .max_concurrent_handshakes(1)
            .bind("127.0.0.1:0")
            .await
            .expect("listen");
        let addr = listener.local_addr();
        let mut first = TcpStream::connect(addr).await.expect("connect");
        wait_until("first in progress", || {
            listener.handshakes_in_progress() == 1
        })
        .await;
        // A second silent client takes the slot of the first.
        let _second = TcpStream::connect(addr).await.expect("connect");
        let closed = bounded("evicted client closed", read_to_close(&mut first)).await;
        assert!(closed.is_ok_and(|bytes| bytes.is_empty()));
        assert_eq!(listener.handshakes_evicted(), 1);
        assert_eq!(counters.failures("evicted"), 1);
        assert_eq!(counters.all_failures(), 1);
    });
}

#[test]
fn trust_store_gauges_follow_the_store_in_force() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let pki = Pki::generate();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let with_crls = TrustStore::builder()
            .ca_pem(pki.ca_bundle_pem())
            .crl_pem(pki.root_crl.pem())
            .crl_pem(pki.intermediate_crl.pem())
            .build()
            .expect("trust store");
        let store = ReloadableTrustStore::new(with_crls);
        let snapshot = snapshotter.snapshot().into_vec();

        let earliest = unix(pki.root.not_after().min(pki.intermediate.not_after()));
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_trust_store_earliest_not_after_timestamp_seconds",
                None
            ),
            earliest
        );
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_trust_store_ca_certificates",
                Some(("role", "anchor"))
            ),
            1.0
        );
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_trust_store_ca_certificates",
                Some(("role", "intermediate"))
            ),
            1.0
        );
        // Issuer labels: RFC 2253 names of the CRL issuers.
        let issuer_of = |common_name: &str| -> String {
            snapshot
                .iter()
                .filter(|(key, ..)| key.key().name() == "mtls_crl_next_update_timestamp_seconds")
                .flat_map(|(key, ..)| labels(key))
                .find(|(k, v)| k == "issuer" && v.contains(&format!("CN={common_name}")))
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no nextUpdate series for {common_name}"))
        };
        let root = issuer_of(pki.root.common_name());
        let intermediate = issuer_of(pki.intermediate.common_name());
        assert_ne!(root, intermediate);
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_crl_next_update_timestamp_seconds",
                Some(("issuer", &root))
            ),
            unix(pki.root_crl.next_update())
        );
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_crl_next_update_timestamp_seconds",
                Some(("issuer", &intermediate))
            ),
            unix(pki.intermediate_crl.next_update())
        );
        #[allow(clippy::cast_precision_loss)]
        let revoked = pki.root_crl.revoked_serials().len() as f64;
        assert_eq!(revoked, 1.0);
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_crl_revoked_certificates",
                Some(("issuer", &root))
            ),
            revoked
        );
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_crl_revoked_certificates",
                Some(("issuer", &intermediate))
            ),
            0.0
        );

        // Replaced by the root alone, without CRLs.
        store.replace(
            TrustStore::builder()
                .ca_pem(pki.root.cert_pem())
                .build()
                .expect("trust store"),
        );
        let snapshot = snapshotter.snapshot().into_vec();
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_trust_store_earliest_not_after_timestamp_seconds",
                None
            ),
            unix(pki.root.not_after())
        );
        assert_eq!(
            gauge(
                &snapshot,
                "mtls_trust_store_ca_certificates",
                Some(("role", "intermediate"))
            ),
            0.0
        );
        assert!(
            gauge(
                &snapshot,
                "mtls_crl_next_update_timestamp_seconds",
                Some(("issuer", &root))
            )
            .is_nan()
        );
        assert!(
            gauge(
                &snapshot,
                "mtls_crl_revoked_certificates",
                Some(("issuer", &intermediate))
            )
            .is_nan()
        );
    });
}
