//! OCSP for client certificates against real responders on 127.0.0.1:
//! `openssl ocsp -index ... -port ... -rsigner ... -CA ...` (good, revoked,
//! unknown, delegated signer, wrong signer, nonce, whole chain), a port
//! nothing listens on, a responder that never answers, and a stale answer
//! made by `openssl ocsp -respout`. Every verdict comes from a real rustls
//! handshake through `MtlsAcceptor`.

mod responder;

use std::sync::Arc;
use std::time::Duration;

use mtls_status::{ClientAuthOutcome, ReasonKind, VerifyMode};
use mtls_status_rustls::{
    Accepted, Classifier, MtlsAcceptor, OcspChecker, OcspCheckerBuilder, OcspErrorKind,
    OcspFailPolicy, OcspMode, OcspStatus, ReloadableTrustStore, ServerCertificate, TrustStore,
};
use mtls_testpki::rcgen::ExtendedKeyUsagePurpose;
use mtls_testpki::tls::{TlsClient, provider};
use mtls_testpki::{Ca, Leaf};
use responder::{
    Entry, FixedResponder, OpensslOcsp, Scratch, SilentResponder, free_port, leaf_serial,
    prebuilt_response, write_index, write_named_index,
};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// A root whose OCSP responder will listen on `port`, a server
/// certificate, and the classifier trusting the root.
struct Setup {
    root: Ca,
    server: Leaf,
    classifier: Classifier,
}

impl Setup {
    fn new() -> Self {
        let root = Ca::root("OCSP Test Root").build();
        Self::with_root(root)
    }

    fn with_root(root: Ca) -> Self {
        let server = root.leaf("localhost").server(["localhost"]).build();
        let store = ReloadableTrustStore::new(
            TrustStore::builder()
                .ca_pem(root.cert_pem())
                .build()
                .expect("trust store"),
        );
        let classifier = Classifier::builder(store, provider())
            .max_depth(2)
            .build()
            .expect("classifier");
        Self {
            root,
            server,
            classifier,
        }
    }

    fn checker(&self) -> OcspCheckerBuilder {
        OcspChecker::builder(&self.classifier).timeout(Duration::from_secs(2))
    }

    fn acceptor(&self, checker: OcspChecker) -> MtlsAcceptor {
        let cert = ServerCertificate::new(provider(), self.server.chain(), self.server.key_der())
            .expect("server certificate");
        MtlsAcceptor::new(self.classifier.clone(), VerifyMode::On, cert)
            .expect("acceptor")
            .ocsp(checker)
    }
}

/// One real handshake of `leaf` against `acceptor`: the outcome after OCSP.
async fn handshake(acceptor: &MtlsAcceptor, root: &Ca, leaf: &Leaf) -> Arc<ClientAuthOutcome> {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = TlsClient::trusting(root.cert_der()).present(leaf).build();
    let server = async {
        let (tcp, _) = listener.accept().await.expect("accept");
        match acceptor.accept(tcp).await.expect("handshake") {
            Accepted::Tls(stream) => Arc::clone(stream.outcome()),
            _ => panic!("TLS expected"),
        }
    };
    let client = async {
        let mut tls = client.connect(addr).await.expect("client handshake");
        let _ = tls.read(&mut [0u8; 1]).await;
    };
    let (outcome, ()) =
        mtls_testpki::tls::bounded("OCSP handshake", async { tokio::join!(server, client) }).await;
    outcome
}

fn reason(outcome: &ClientAuthOutcome) -> ReasonKind {
    outcome
        .reason()
        .unwrap_or_else(|| panic!("Invalid expected, got {outcome:?}"))
        .kind()
}

fn signer(ca: &Ca) -> (String, String) {
    (ca.cert_pem(), ca.key_pem())
}

#[tokio::test]
async fn good_revoked_and_unknown_from_the_issuer() {
    let dir = Scratch::new("basic");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let setup = Setup::new();
    let good = setup.root.leaf("good").ocsp_url(&url).build();
    let revoked = setup.root.leaf("revoked").ocsp_url(&url).build();
    let unknown = setup.root.leaf("unknown").ocsp_url(&url).build();
    let index = write_index(
        &dir,
        &[
            (leaf_serial(&good), Entry::Valid),
            (leaf_serial(&revoked), Entry::Revoked),
        ],
    );
    let (cert, key) = signer(&setup.root);
    let responder = OpensslOcsp::start(&dir, "root", port, &setup.root, (&cert, &key), &index, &[]);
    let acceptor = setup.acceptor(setup.checker().mode(OcspMode::Leaf).build().unwrap());

    let outcome = handshake(&acceptor, &setup.root, &good).await;
    assert!(outcome.is_verified(), "{outcome:?}");
    assert_eq!(outcome.ssl_client_verify(), "SUCCESS");

    let outcome = handshake(&acceptor, &setup.root, &revoked).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspRevoked);
    assert_eq!(outcome.status().as_u16(), 495);
    assert_eq!(outcome.ssl_client_verify(), "FAILED:certificate revoked");
    let r = outcome.reason().unwrap();
    assert_eq!(r.name(), "ocsp_revoked");
    assert_eq!(
        r.nginx_log_line(),
        "client SSL certificate verify error: certificate revoked"
    );
    let detail = r.detail();
    assert!(
        detail.contains("CN=revoked") && detail.contains("revoked at"),
        "{detail}"
    );
    assert!(detail.contains(&responder.url()), "{detail}");
    // The presented identity is kept (nginx fills $ssl_client_s_dn too).
    assert_eq!(
        outcome.presented_identity().map(|i| i.subject_dn()),
        Some("CN=revoked")
    );

    let outcome = handshake(&acceptor, &setup.root, &unknown).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspUnknown);
    assert_eq!(
        outcome.ssl_client_verify(),
        "FAILED:certificate status unknown"
    );

    // Cached: with the responder gone, the good answer still serves, and
    // the unknown certificate stays unknown.
    drop(responder);
    let outcome = handshake(&acceptor, &setup.root, &good).await;
    assert!(outcome.is_verified(), "{outcome:?}");
    let outcome = handshake(&acceptor, &setup.root, &unknown).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspUnknown);
    // A certificate never looked up needs the network, which is down.
    let other = setup.root.leaf("other").ocsp_url(&url).build();
    let outcome = handshake(&acceptor, &setup.root, &other).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspRequestFailed);
    assert_eq!(
        outcome.ssl_client_verify(),
        "FAILED:certificate status request failed"
    );
}

#[tokio::test]
async fn responder_down_follows_the_fail_policy() {
    let setup = Setup::new();
    let url = format!("http://127.0.0.1:{}", free_port());
    let leaf = setup.root.leaf("client").ocsp_url(&url).build();

    let closed = setup.acceptor(setup.checker().build().unwrap());
    let outcome = handshake(&closed, &setup.root, &leaf).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspRequestFailed);
    let detail = outcome.reason().unwrap().detail();
    assert!(detail.contains("cannot connect"), "{detail}");

    let open = setup.acceptor(
        setup
            .checker()
            .fail_policy(OcspFailPolicy::Open)
            .build()
            .unwrap(),
    );
    let outcome = handshake(&open, &setup.root, &leaf).await;
    assert!(outcome.is_verified(), "fail open: {outcome:?}");

    // No responder URL at all: request failed (nginx: "no OCSP responder URL").
    let bare = setup.root.leaf("no-aia").build();
    let outcome = handshake(&closed, &setup.root, &bare).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspRequestFailed);
    assert!(
        outcome
            .reason()
            .unwrap()
            .detail()
            .contains("names no OCSP responder"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn slow_responder_times_out() {
    let setup = Setup::new();
    let silent = SilentResponder::start().await;
    let leaf = setup.root.leaf("client").build();
    let checker = setup
        .checker()
        .responder(silent.url())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let outcome = handshake(&setup.acceptor(checker), &setup.root, &leaf).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspRequestFailed);
    let detail = outcome.reason().unwrap().detail();
    assert!(detail.contains("did not answer within 500ms"), "{detail}");
}

#[tokio::test]
async fn signer_must_be_the_issuer_or_its_delegate() {
    let dir = Scratch::new("signers");
    let setup = Setup::new();
    let leaf = setup.root.leaf("client").build();
    let index = write_index(&dir, &[(leaf_serial(&leaf), Entry::Valid)]);

    let delegate = setup
        .root
        .leaf("OCSP Responder")
        .extended_key_usages(vec![ExtendedKeyUsagePurpose::OcspSigning])
        .build();
    let no_eku = setup.root.leaf("Not an OCSP signer").build();
    let stranger = Ca::root("OCSP Test Root").build(); // same name, other key
    // Name, signer (certificate and key PEM), extra responder flags, the error expected.
    type Case<'a> = (
        &'a str,
        (String, String),
        &'a [&'a str],
        Option<OcspErrorKind>,
    );
    let cases: [Case<'_>; 4] = [
        (
            "delegate",
            (delegate.cert_pem(), delegate.key_pem()),
            &[],
            None,
        ),
        (
            "no-eku",
            (no_eku.cert_pem(), no_eku.key_pem()),
            &[],
            Some(OcspErrorKind::UnauthorizedSigner),
        ),
        (
            "stranger",
            signer(&stranger),
            &[],
            Some(OcspErrorKind::BadSignature),
        ),
        (
            "badsig",
            signer(&setup.root),
            &["-badsig"],
            Some(OcspErrorKind::BadSignature),
        ),
    ];
    for (name, (cert, key), extra, expected) in cases {
        let port = free_port();
        let _responder =
            OpensslOcsp::start(&dir, name, port, &setup.root, (&cert, &key), &index, extra);
        let checker = setup
            .checker()
            .responder(format!("http://127.0.0.1:{port}/"))
            .build()
            .unwrap();
        let (answers, error) = checker.lookup(&leaf.chain()).await;
        match expected {
            None => {
                assert!(error.is_none(), "{name}: {error:?}");
                assert_eq!(answers.len(), 1, "{name}");
                assert_eq!(answers[0].status(), &OcspStatus::Good, "{name}");
            }
            Some(kind) => {
                let error = error.unwrap_or_else(|| panic!("{name}: accepted {answers:?}"));
                assert_eq!(error.kind(), kind, "{name}: {error}");
                let outcome = handshake(&setup.acceptor(checker), &setup.root, &leaf).await;
                assert_eq!(reason(&outcome), ReasonKind::OcspRequestFailed, "{name}");
            }
        }
    }
}

#[tokio::test]
async fn stale_or_future_answers_are_refused() {
    let dir = Scratch::new("stale");
    let setup = Setup::new();
    let leaf = setup.root.leaf("client").build();
    let index = write_index(&dir, &[(leaf_serial(&leaf), Entry::Valid)]);
    let port = free_port();
    let (cert, key) = signer(&setup.root);
    // nextUpdate one minute after thisUpdate.
    let _responder = OpensslOcsp::start(
        &dir,
        "stale",
        port,
        &setup.root,
        (&cert, &key),
        &index,
        &["-nmin", "1"],
    );
    let checker = setup
        .checker()
        .responder(format!("http://127.0.0.1:{port}/"))
        .max_cache_lifetime(Duration::ZERO)
        .build()
        .unwrap();
    let now = mtls_testpki::unix_now().as_secs();
    let at = |secs: u64| rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(secs));
    // Within nextUpdate + 5 minutes of skew: good.
    let (answers, error) = checker.lookup_at(&leaf.chain(), at(now + 60 + 200)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(answers[0].status(), &OcspStatus::Good);
    // Beyond: expired.
    let (_, error) = checker.lookup_at(&leaf.chain(), at(now + 60 + 400)).await;
    let error = error.expect("a stale answer is refused");
    assert_eq!(error.kind(), OcspErrorKind::Expired);
    assert!(error.to_string().contains("nextUpdate passed"), "{error}");
    // thisUpdate more than 5 minutes ahead of our clock: not yet valid.
    let (_, error) = checker.lookup_at(&leaf.chain(), at(now - 400)).await;
    assert_eq!(error.map(|e| e.kind()), Some(OcspErrorKind::NotYetValid));
    // No skew allowed: stale a minute later.
    let strict = setup
        .checker()
        .responder(format!("http://127.0.0.1:{port}/"))
        .clock_skew(Duration::ZERO)
        .build()
        .unwrap();
    let (_, error) = strict.lookup_at(&leaf.chain(), at(now + 62)).await;
    assert_eq!(error.map(|e| e.kind()), Some(OcspErrorKind::Expired));
}

#[tokio::test]
async fn concurrent_lookups_share_one_request() {
    let dir = Scratch::new("coalesce");
    let setup = Setup::new();
    let leaf = setup.root.leaf("client").build();
    let index = write_index(&dir, &[(leaf_serial(&leaf), Entry::Valid)]);
    let answer = prebuilt_response(&dir, &setup.root, &leaf, &index, &["-ndays", "1"]);
    let fixed = FixedResponder::start(answer, Duration::from_millis(300)).await;
    let checker = setup.checker().responder(fixed.url()).build().unwrap();
    let chain = leaf.chain();
    let lookups: Vec<_> = (0..20)
        .map(|_| {
            let (checker, chain) = (checker.clone(), chain.clone());
            tokio::spawn(async move { checker.lookup(&chain).await })
        })
        .collect();
    for lookup in lookups {
        let (answers, error) = lookup.await.unwrap();
        assert!(error.is_none(), "{error:?}");
        assert_eq!(answers[0].status(), &OcspStatus::Good);
        assert!(answers[0].next_update().is_some());
    }
    assert_eq!(fixed.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    // Cached now: no further request.
    let _ = checker.lookup(&chain).await;
    assert_eq!(fixed.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(checker.cache_usage().0, 1);
}

#[tokio::test]
async fn nonce_is_echoed_by_openssl() {
    let dir = Scratch::new("nonce");
    let setup = Setup::new();
    let leaf = setup.root.leaf("client").build();
    let index = write_index(&dir, &[(leaf_serial(&leaf), Entry::Valid)]);
    let port = free_port();
    let (cert, key) = signer(&setup.root);
    let _responder =
        OpensslOcsp::start(&dir, "nonce", port, &setup.root, (&cert, &key), &index, &[]);
    let checker = setup
        .checker()
        .responder(format!("http://127.0.0.1:{port}/"))
        .nonce()
        .build()
        .unwrap();
    let outcome = handshake(&setup.acceptor(checker), &setup.root, &leaf).await;
    assert!(outcome.is_verified(), "{outcome:?}");
    // A pre-signed answer cannot echo our nonce.
    let fixed = FixedResponder::start(
        prebuilt_response(&dir, &setup.root, &leaf, &index, &[]),
        Duration::ZERO,
    )
    .await;
    let checker = setup
        .checker()
        .responder(fixed.url())
        .nonce()
        .build()
        .unwrap();
    let (_, error) = checker.lookup(&leaf.chain()).await;
    assert_eq!(error.map(|e| e.kind()), Some(OcspErrorKind::Nonce));
}

#[tokio::test]
async fn whole_chain_or_leaf() {
    let dir = Scratch::new("chain");
    let (root_port, int_port) = (free_port(), free_port());
    let root = Ca::root("OCSP Chain Root").build();
    let intermediate = root
        .intermediate("OCSP Chain Intermediate")
        .ocsp_url(format!("http://127.0.0.1:{root_port}"))
        .build();
    let setup = Setup::with_root(root);
    let leaf = intermediate
        .leaf("client")
        .ocsp_url(format!("http://127.0.0.1:{int_port}"))
        .build();
    let root_index = write_named_index(
        &dir,
        "root-index.txt",
        &[(intermediate.serial_hex(), Entry::Revoked)],
    );
    let int_index = write_index(&dir, &[(leaf_serial(&leaf), Entry::Valid)]);
    let (rc, rk) = signer(&setup.root);
    let (ic, ik) = signer(&intermediate);
    let _root_responder = OpensslOcsp::start(
        &dir,
        "root",
        root_port,
        &setup.root,
        (&rc, &rk),
        &root_index,
        &[],
    );
    let _int_responder = OpensslOcsp::start(
        &dir,
        "int",
        int_port,
        &intermediate,
        (&ic, &ik),
        &int_index,
        &[],
    );

    let leaf_only = setup.acceptor(setup.checker().mode(OcspMode::Leaf).build().unwrap());
    let outcome = handshake(&leaf_only, &setup.root, &leaf).await;
    assert!(outcome.is_verified(), "leaf mode: {outcome:?}");

    let chain = setup.acceptor(setup.checker().mode(OcspMode::Chain).build().unwrap());
    let outcome = handshake(&chain, &setup.root, &leaf).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspRevoked);
    let context = outcome.reason().unwrap().context();
    assert_eq!(context.certificate_index, Some(1));
    assert_eq!(
        context.subject.as_deref(),
        Some("CN=OCSP Chain Intermediate")
    );
}

#[tokio::test]
async fn revocation_reaches_clients_within_one_cache_lifetime() {
    let dir = Scratch::new("lifetime");
    let port = free_port();
    let setup = Setup::new();
    let leaf = setup
        .root
        .leaf("client")
        .ocsp_url(format!("http://127.0.0.1:{port}"))
        .build();
    let index = write_index(&dir, &[(leaf_serial(&leaf), Entry::Valid)]);
    let (cert, key) = signer(&setup.root);
    let responder = OpensslOcsp::start(&dir, "root", port, &setup.root, (&cert, &key), &index, &[]);
    let lifetime = Duration::from_secs(2);
    let acceptor = setup.acceptor(
        setup
            .checker()
            .max_cache_lifetime(lifetime)
            .build()
            .unwrap(),
    );
    assert!(handshake(&acceptor, &setup.root, &leaf).await.is_verified());

    // The responder now says revoked (OpenSSL 3.0's responder reads its
    // index once: restart it on the same port with the new one); the
    // cached good answer still holds for now...
    drop(responder);
    let index = write_index(&dir, &[(leaf_serial(&leaf), Entry::Revoked)]);
    let _responder =
        OpensslOcsp::start(&dir, "root2", port, &setup.root, (&cert, &key), &index, &[]);
    assert!(handshake(&acceptor, &setup.root, &leaf).await.is_verified());
    // ...and not beyond its lifetime.
    tokio::time::sleep(lifetime).await;
    let outcome = handshake(&acceptor, &setup.root, &leaf).await;
    assert_eq!(reason(&outcome), ReasonKind::OcspRevoked, "{outcome:?}");
}

#[tokio::test]
async fn invalid_chains_are_never_looked_up() {
    let setup = Setup::new();
    let silent = SilentResponder::start().await;
    // Would time out (and fail) if it were looked up.
    let checker = setup
        .checker()
        .responder(silent.url())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let acceptor = setup.acceptor(checker);
    let stranger = Ca::root("Stranger").build();
    let leaf = stranger.leaf("client").build();
    let outcome = handshake(&acceptor, &setup.root, &leaf).await;
    assert_eq!(reason(&outcome), ReasonKind::UnknownLeafIssuer);
}
