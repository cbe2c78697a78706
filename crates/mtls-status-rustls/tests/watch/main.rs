//! File watching (feature `watch`), SIGHUP (feature `sighup`) and reload
//! reporting (feature `metrics`, lints), over real TLS on 127.0.0.1 and
//! real files: a client of a new CA is verified once the bundle is rotated
//! by rename or by a Kubernetes-style `..data` symlink swap; a certificate
//! written before its key waits for the key; a bad file keeps the old
//! material. Effects are awaited by bounded polling, never timed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use mtls_status::VerifyMode;
use mtls_status_rustls::{
    Accepted, Classifier, MtlsAcceptor, ReloadableTrustStore, Reloadables, ServerCertificate,
    TrustStoreFiles, WatchOptions,
};
use mtls_testpki::{Ca, Pki};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A fresh directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mtls-watch-{name}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes a temporary file next to `path` and renames it over `path`, as
/// editors and most deploy tools do.
fn write_rename(path: &Path, content: impl AsRef<[u8]>) {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, content).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// Polls `done` every 50 ms for at most 10 s.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not within 10 s: {what}");
}

// ---- metrics: one global DebuggingRecorder; its snapshots reset counters,
// so every read goes through `reloads`, which keeps the totals.

fn snapshotter() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this test binary");
        snapshotter
    })
}

type Totals = HashMap<(String, Vec<(String, String)>), f64>;

/// Counter totals (and last gauge values) since the recorder was installed.
fn totals() -> Totals {
    static TOTALS: OnceLock<Mutex<Totals>> = OnceLock::new();
    let mut totals = TOTALS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (key, _, _, value) in snapshotter().snapshot().into_vec() {
        let mut labels: Vec<(String, String)> = key
            .key()
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        labels.sort();
        let entry = totals
            .entry((key.key().name().to_owned(), labels))
            .or_insert(0.0);
        match value {
            #[allow(clippy::cast_precision_loss)]
            DebugValue::Counter(n) => *entry += n as f64,
            DebugValue::Gauge(g) if g.into_inner() != 0.0 => *entry = g.into_inner(),
            _ => {}
        }
    }
    totals.clone()
}

fn reloads(material: &str, result: &str) -> f64 {
    let key = (
        "mtls_reloads_total".to_owned(),
        vec![
            ("material".to_owned(), material.to_owned()),
            ("result".to_owned(), result.to_owned()),
        ],
    );
    totals().get(&key).copied().unwrap_or(0.0)
}

fn last_success(material: &str) -> f64 {
    let key = (
        "mtls_last_reload_success_timestamp_seconds".to_owned(),
        vec![("material".to_owned(), material.to_owned())],
    );
    totals().get(&key).copied().unwrap_or(0.0)
}

// ---- a real server: answers `V` to a verified client, `N` otherwise.

async fn server(acceptor: MtlsAcceptor) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(Accepted::Tls(mut stream)) = acceptor.accept(tcp).await {
                    let answer = if stream.outcome().is_verified() {
                        b"V"
                    } else {
                        b"N"
                    };
                    let _ = stream.write_all(answer).await;
                    let _ = stream.shutdown().await;
                }
            });
        }
    });
    addr
}

/// One handshake presenting `client`, trusting every root of `roots`:
/// the server's answer and the certificate it presented.
async fn handshake(
    addr: SocketAddr,
    roots: &[&Pki],
    client: &mtls_testpki::Leaf,
) -> (u8, CertificateDer<'static>) {
    try_handshake(addr, roots, client).await.expect("handshake")
}

async fn try_handshake(
    addr: SocketAddr,
    roots: &[&Pki],
    client: &mtls_testpki::Leaf,
) -> std::io::Result<(u8, CertificateDer<'static>)> {
    let mut store = rustls::RootCertStore::empty();
    for pki in roots {
        store.add(pki.root.cert_der()).expect("root");
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(store)
        .with_client_auth_cert(client.chain(), client.key_der())
        .expect("client cert");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?;
    let seen = tls.get_ref().1.peer_certificates().expect("server chain")[0].clone();
    let mut answer = [0u8; 1];
    tls.read_exact(&mut answer).await?;
    Ok((answer[0], seen))
}

fn acceptor(store: &ReloadableTrustStore, cert: ServerCertificate) -> MtlsAcceptor {
    let classifier = Classifier::builder(store.clone(), provider())
        .build()
        .expect("classifier");
    MtlsAcceptor::new(classifier, VerifyMode::On, cert).expect("acceptor")
}

fn server_cert(pki: &Pki) -> ServerCertificate {
    ServerCertificate::new(provider(), pki.server.chain(), pki.server.key_der()).expect("pair")
}

/// `answer == b'V'` within 10 s of polling with fresh handshakes.
async fn wait_for_answer(addr: SocketAddr, pki: &Pki, client: &mtls_testpki::Leaf, want: u8) {
    for _ in 0..200 {
        // While the server certificate rotates too, a handshake may fail.
        if try_handshake(addr, &[pki], client)
            .await
            .is_ok_and(|(answer, _)| answer == want)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never answered {:?}", want as char);
}

async fn rotate_by_rename(options: WatchOptions, expect_polling: bool) {
    let old = Pki::generate();
    let new = Pki::generate();
    let dir = temp_dir("rename");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, old.root.cert_pem()).expect("write");
    let store =
        ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&ca)).expect("store");
    let addr = server(acceptor(&store, server_cert(&old))).await;
    let watcher = Reloadables::new()
        .trust_store(&store)
        .watch_with(options)
        .expect("watch");
    assert_eq!(watcher.is_polling(), expect_polling);

    assert_eq!(handshake(addr, &[&old], &new.valid_from_root).await.0, b'N');
    assert_eq!(handshake(addr, &[&old], &old.valid_from_root).await.0, b'V');
    let successes = reloads("trust_store", "success");
    write_rename(&ca, new.root.cert_pem());
    wait_for_answer(addr, &old, &new.valid_from_root, b'V').await;
    assert_eq!(handshake(addr, &[&old], &old.valid_from_root).await.0, b'N');
    assert!(store.generation() >= 2);
    wait_for("a success counted", || {
        reloads("trust_store", "success") > successes
    })
    .await;
    assert!(last_success("trust_store") > 1.7e9);
    drop(watcher);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_bundle_replaced_by_rename_takes_effect_without_a_signal() {
    rotate_by_rename(
        WatchOptions::new().debounce(Duration::from_millis(200)),
        false,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_watcher_sees_the_rename_too() {
    rotate_by_rename(
        WatchOptions::new()
            .debounce(Duration::from_millis(100))
            .poll(Duration::from_millis(200)),
        true,
    )
    .await;
}

/// The layout kubelet gives a mounted ConfigMap or Secret.
fn k8s_publish(dir: &Path, version: &str, files: &[(&str, String)]) {
    let data = dir.join(version);
    std::fs::create_dir_all(&data).expect("data dir");
    for (name, content) in files {
        std::fs::write(data.join(name), content).expect("write");
    }
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(version, &tmp).expect("symlink");
    std::fs::rename(&tmp, dir.join("..data")).expect("swap ..data");
    for (name, _) in files {
        let link = dir.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(Path::new("..data").join(name), &link).expect("link");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_data_symlink_swap_rotates_bundle_and_server_certificate() {
    let old = Pki::generate();
    let new = Pki::generate();
    let dir = temp_dir("k8s");
    let files = |pki: &Pki| {
        vec![
            ("ca.crt", pki.root.cert_pem()),
            ("tls.crt", pki.server.cert_pem()),
            ("tls.key", pki.server.key_pem()),
        ]
    };
    k8s_publish(&dir, "..2026_01_01_v1", &files(&old));
    let store =
        ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(dir.join("ca.crt")))
            .expect("store");
    let cert = ServerCertificate::from_files(provider(), dir.join("tls.crt"), dir.join("tls.key"))
        .expect("pair");
    let addr = server(acceptor(&store, cert.clone())).await;
    let _watcher = Reloadables::new()
        .trust_store(&store)
        .server_certificate(&cert)
        .watch_with(WatchOptions::new().debounce(Duration::from_millis(200)))
        .expect("watch");

    let (answer, seen) = handshake(addr, &[&old], &old.valid_from_root).await;
    assert_eq!((answer, seen), (b'V', old.server.cert_der()));
    k8s_publish(&dir, "..2026_01_02_v2", &files(&new));
    std::fs::remove_dir_all(dir.join("..2026_01_01_v1")).expect("old data");
    wait_for_answer(addr, &new, &new.valid_from_root, b'V').await;
    // Trusting only the new root: the server presents the new certificate.
    let (answer, seen) = handshake(addr, &[&new], &old.valid_from_root).await;
    assert_eq!((answer, seen), (b'N', new.server.cert_der()));

    // And again: the watch follows the new data directory.
    let third = Pki::generate();
    k8s_publish(&dir, "..2026_01_03_v3", &files(&third));
    wait_for_answer(addr, &third, &third.valid_from_root, b'V').await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_written_before_its_key_waits_for_the_key() {
    let old = Pki::generate();
    let new = Pki::generate();
    let dir = temp_dir("pair");
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&crt, old.server.cert_pem()).expect("write");
    std::fs::write(&key, old.server.key_pem()).expect("write");
    let store = ReloadableTrustStore::new(
        mtls_status_rustls::TrustStore::builder()
            .ca_pem(old.root.cert_pem())
            .build()
            .expect("store"),
    );
    let cert = ServerCertificate::from_files(provider(), &crt, &key).expect("pair");
    let addr = server(acceptor(&store, cert.clone())).await;
    let _watcher = cert.watch().expect("watch");

    let refused = reloads("server_certificate", "refused");
    write_rename(&crt, new.server.cert_pem());
    wait_for("the lone certificate refused", || {
        reloads("server_certificate", "refused") > refused
    })
    .await;
    let (_, seen) = handshake(addr, &[&old], &old.valid_from_root).await;
    assert_eq!(
        seen,
        old.server.cert_der(),
        "a certificate without its key was installed"
    );

    write_rename(&key, new.server.key_pem());
    wait_for("the matching pair installed", || {
        cert.current().cert[0] == new.server.cert_der()
    })
    .await;
    let (answer, seen) = handshake(addr, &[&new], &old.valid_from_root).await;
    assert_eq!((answer, seen), (b'V', new.server.cert_der()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bundle_is_refused_and_the_old_one_keeps_serving() {
    let pki = Pki::generate();
    let dir = temp_dir("bad");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pki.root.cert_pem()).expect("write");
    let store =
        ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&ca)).expect("store");
    let addr = server(acceptor(&store, server_cert(&pki))).await;
    let _watcher = store.watch().expect("watch");
    let generation = store.generation();

    let refused = reloads("trust_store", "refused");
    write_rename(
        &ca,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    );
    wait_for("the bad bundle refused", || {
        reloads("trust_store", "refused") > refused
    })
    .await;
    assert_eq!(store.generation(), generation);
    assert_eq!(handshake(addr, &[&pki], &pki.valid_from_root).await.0, b'V');

    // A directory where the file was: refused without being read.
    std::fs::remove_file(&ca).expect("remove");
    std::fs::create_dir(&ca).expect("dir");
    let refused = reloads("trust_store", "refused");
    wait_for("the directory refused", || {
        reloads("trust_store", "refused") > refused
    })
    .await;
    assert_eq!(handshake(addr, &[&pki], &pki.valid_from_root).await.0, b'V');
    std::fs::remove_dir(&ca).expect("rmdir");

    // A good (different) file again: installed.
    write_rename(&ca, pki.root.cert_pem() + &pki.intermediate.cert_pem());
    wait_for("the good bundle back", || store.generation() > generation).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expired_ca_in_a_reloaded_bundle_is_logged_as_an_error() {
    let pki = Pki::generate();
    let expired = Ca::root("Expired Root").expired().build();
    let dir = temp_dir("lint");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pki.root.cert_pem()).expect("write");
    let store =
        ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&ca)).expect("store");
    std::fs::write(&ca, pki.root.cert_pem() + &expired.cert_pem()).expect("write");
    let capture = mtls_testpki::capture::Capture::default();
    let reloaded = tracing::subscriber::with_default(capture.clone(), || store.reload());
    assert!(
        reloaded.is_ok(),
        "an expired CA is a lint, not a parse error"
    );
    let events = capture.take();
    assert!(
        events
            .iter()
            .any(|(level, text)| *level == tracing::Level::ERROR
                && text.contains("lint=ca_expired")
                && text.contains("Expired Root")),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|(level, text)| *level == tracing::Level::INFO
                && text.contains("trust store installed")
                && text.contains("anchors=1→2")),
        "{events:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_set() {
    let old = Pki::generate();
    let new = Pki::generate();
    let dir = temp_dir("sighup");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, old.root.cert_pem()).expect("write");
    let store =
        ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&ca)).expect("store");
    let _reloader = Reloadables::new()
        .trust_store(&store)
        .reload_on_sighup()
        .expect("SIGHUP handler");
    std::fs::write(&ca, new.root.cert_pem()).expect("write");
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    wait_for("the SIGHUP reload", || {
        store.current().certificates() == [new.root.cert_der()]
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}
