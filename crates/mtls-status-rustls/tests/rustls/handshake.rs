//! The deferred verifier in real handshakes: what completes, what fails,
//! what is advertised. rustls client, ring provider, 127.0.0.1.

use std::sync::Arc;

use crate::common::{
    Harness, Presented, ServerSide, TLS12, TLS13, VERSIONS, classifier, provider, store_of,
};
use mtls_status::{ReasonKind, VerifyMode};
use mtls_status_rustls::{Classifier, RootHints, server_config_with_alpn};
use mtls_testpki::{Ca, KeyAlgorithm, Pki};
use rustls::DistinguishedName;

#[tokio::test]
async fn no_certificate_is_none_on_every_version() {
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    for mode in [
        VerifyMode::On,
        VerifyMode::Optional,
        VerifyMode::OptionalNoCa,
    ] {
        for version in VERSIONS {
            let (client, server) = Harness::new(Arc::clone(&pki))
                .run(&classifier, mode, Presented::Nothing, version, None)
                .await;
            assert_eq!(
                client.result,
                Ok(()),
                "{mode} {version:?}: not mandatory in the handshake"
            );
            assert!(server.outcome().is_none(), "{mode} {version:?}");
            assert_eq!(server.outcome().ssl_client_verify(), "NONE");
            // A CertificateRequest was sent (the resolver was asked).
            assert!(client.hints.is_some(), "{mode} {version:?}");
        }
    }
}

#[tokio::test]
async fn mode_off_sends_no_certificate_request() {
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    for version in VERSIONS {
        let (client, server) = Harness::new(Arc::clone(&pki))
            .run(
                &classifier,
                VerifyMode::Off,
                Presented::leaf(&pki.valid_from_root),
                version,
                None,
            )
            .await;
        assert_eq!(client.result, Ok(()));
        assert_eq!(client.hints, None, "no CertificateRequest with Off");
        assert!(server.outcome().is_none());
    }
}

#[tokio::test]
async fn valid_certificate_verifies_and_alpn_is_h2() {
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    for version in VERSIONS {
        let (client, server) = Harness::new(Arc::clone(&pki))
            .run(
                &classifier,
                VerifyMode::On,
                Presented::leaf(&pki.valid_from_root),
                version,
                None,
            )
            .await;
        assert_eq!(client.result, Ok(()));
        assert_eq!(client.alpn.as_deref(), Some(&b"h2"[..]));
        let identity = server.outcome().identity().expect("verified");
        assert_eq!(identity.subject_dn(), "CN=client-valid");
        assert_eq!(identity.issuer_dn(), "CN=mtls-status Test Root CA");
    }
}

#[tokio::test]
async fn alpn_can_be_overridden() {
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    let config = server_config_with_alpn(
        provider(),
        pki.server.chain(),
        pki.server.key_der(),
        classifier.verifier(VerifyMode::On),
        vec![b"http/1.1".to_vec()],
    )
    .expect("config");
    let (addr, server) =
        crate::common::serve_once(Arc::new(config), classifier.clone(), None).await;
    let harness = Harness::new(Arc::clone(&pki));
    let client = crate::common::connect(addr, &harness.pki, Presented::Nothing, TLS13).await;
    assert_eq!(client.result, Ok(()));
    assert_eq!(client.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(server.await.expect("server reports").outcome().is_none());
}

#[tokio::test]
async fn wrong_private_key_fails_the_handshake() {
    // A valid, trusted chain presented without its private key ("stolen
    // certificate"): the CertificateVerify check must refuse it.
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    let stolen = Presented::Chain(pki.valid_from_root.chain(), pki.expired.key_der());
    for version in VERSIONS {
        let (client, server) = Harness::new(Arc::clone(&pki))
            .run(&classifier, VerifyMode::On, stolen.clone(), version, None)
            .await;
        let err = client.result.expect_err("client must fail");
        assert!(err.contains("DecryptError"), "{version:?}: {err}");
        match server {
            ServerSide::HandshakeFailed(e) => assert!(e.contains("BadSignature"), "{e}"),
            ServerSide::Classified(o) => panic!("{version:?}: wrong key got through: {o:?}"),
        }
    }
}

#[tokio::test]
async fn wrong_key_of_another_algorithm_fails_the_handshake() {
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    let rsa = pki.root.leaf("rsa").key(KeyAlgorithm::Rsa2048).build();
    let stolen = Presented::Chain(pki.valid_from_root.chain(), rsa.key_der());
    for version in VERSIONS {
        let (client, server) = Harness::new(Arc::clone(&pki))
            .run(&classifier, VerifyMode::On, stolen.clone(), version, None)
            .await;
        assert!(client.result.is_err(), "{version:?}");
        assert!(
            matches!(server, ServerSide::HandshakeFailed(_)),
            "{version:?}"
        );
    }
}

#[tokio::test]
async fn garbage_certificate_fails_with_bad_certificate() {
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    let garbage = Presented::Chain(
        vec![
            b"\x30\x03\x02\x01\x00 definitely not a certificate"
                .to_vec()
                .into(),
        ],
        pki.valid_from_root.key_der(),
    );
    for version in VERSIONS {
        let (client, server) = Harness::new(Arc::clone(&pki))
            .run(&classifier, VerifyMode::On, garbage.clone(), version, None)
            .await;
        let err = client.result.expect_err("client must fail");
        assert!(err.contains("BadCertificate"), "{version:?}: {err}");
        assert!(
            matches!(server, ServerSide::HandshakeFailed(_)),
            "{version:?}"
        );
    }
    // The classifier itself never panics on such input either.
    let outcome = classifier.classify(Some(&[b"garbage".to_vec().into()]));
    assert_eq!(
        outcome.reason().map(|r| r.kind()),
        Some(ReasonKind::BadEncoding)
    );
    let outcome = classifier.classify(Some(&[
        pki.valid_from_root.cert_der(),
        b"\x30\x00".to_vec().into(),
    ]));
    assert!(
        outcome.is_verified(),
        "an unusable extra certificate is ignored"
    );
}

#[tokio::test]
async fn invalid_chains_still_complete_the_handshake_on_both_versions() {
    // The whole point: rejections reach the application, not the TLS layer.
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root]));
    let cases = [
        (
            Presented::leaf(&pki.unknown_ca),
            ReasonKind::UnknownLeafIssuer,
        ),
        (Presented::leaf(&pki.expired), ReasonKind::Expired),
        (Presented::leaf(&pki.self_signed), ReasonKind::SelfSigned),
        (
            Presented::leaf(&pki.server_auth_only),
            ReasonKind::InvalidPurpose,
        ),
        (
            Presented::leaf(&pki.deep_chain(2)),
            ReasonKind::ChainTooLong,
        ),
    ];
    for (presented, kind) in cases {
        for version in VERSIONS {
            let (client, server) = Harness::new(Arc::clone(&pki))
                .run(
                    &classifier,
                    VerifyMode::On,
                    presented.clone(),
                    version,
                    None,
                )
                .await;
            assert_eq!(client.result, Ok(()), "{kind:?} {version:?}");
            assert_eq!(server.reason_kind(), Some(kind), "{version:?}");
        }
    }
}

#[tokio::test]
async fn ca_bundle_subjects_are_advertised_by_default() {
    let pki = Arc::new(Pki::generate());
    let classifier = classifier(store_of(&[&pki.root, &pki.intermediate]));
    let (client, _) = Harness::new(Arc::clone(&pki))
        .run(
            &classifier,
            VerifyMode::Optional,
            Presented::Nothing,
            TLS12,
            None,
        )
        .await;
    assert_eq!(
        client.hints,
        Some(vec![pki.root.subject_der(), pki.intermediate.subject_der()])
    );
}

#[tokio::test]
async fn root_hints_can_be_none_or_custom() {
    let pki = Arc::new(Pki::generate());
    let harness = Harness::new(Arc::clone(&pki));
    let none = Classifier::builder(store_of(&[&pki.root]), provider())
        .root_hints(RootHints::None)
        .build()
        .expect("classifier");
    let (client, server) = harness
        .run(
            &none,
            VerifyMode::On,
            Presented::leaf(&pki.valid_from_root),
            TLS13,
            None,
        )
        .await;
    assert_eq!(client.hints, Some(Vec::new()));
    assert!(server.outcome().is_verified());

    let custom = Classifier::builder(store_of(&[&pki.root]), provider())
        .root_hints(RootHints::Custom(vec![DistinguishedName::from(
            pki.unknown_root.subject_der(),
        )]))
        .build()
        .expect("classifier");
    let (client, _) = harness
        .run(&custom, VerifyMode::On, Presented::Nothing, TLS13, None)
        .await;
    assert_eq!(client.hints, Some(vec![pki.unknown_root.subject_der()]));
}

#[tokio::test]
async fn the_verifier_snapshots_hints_and_classification_follows_reloads() {
    let pki = Arc::new(Pki::generate());
    let store = store_of(&[&pki.root]);
    let classifier = classifier(store.clone());
    let old_verifier = classifier.verifier(VerifyMode::On);
    assert_eq!(old_verifier.root_hint_subjects().len(), 1);
    store.replace(
        mtls_status_rustls::TrustStore::builder()
            .ca_pem(mtls_testpki::bundle_pem(&[&pki.root, &pki.unknown_root]))
            .build()
            .expect("store"),
    );
    assert_eq!(old_verifier.root_hint_subjects().len(), 1, "snapshot");
    assert_eq!(
        classifier
            .verifier(VerifyMode::On)
            .root_hint_subjects()
            .len(),
        2
    );
    assert!(!old_verifier.client_auth_mandatory());
    assert!(!classifier.verifier(VerifyMode::Off).offer_client_auth());
    // Classification uses the store in force, whatever verifier was used.
    let (client, server) = Harness::new(Arc::clone(&pki))
        .run(
            &classifier,
            VerifyMode::On,
            Presented::leaf(&pki.unknown_ca),
            TLS13,
            None,
        )
        .await;
    assert_eq!(client.result, Ok(()));
    assert!(server.outcome().is_verified());
}

/// A bundle of 1500 CAs: its names (about 110 KiB) are more than a rustls
/// client accepts in a CertificateRequest (64 KiB; rustls's server cannot
/// even encode them), so none are advertised and the client still gets
/// through; the same for such names given as `RootHints::Custom`.
#[tokio::test]
async fn a_bundle_too_large_to_advertise_advertises_no_names() {
    let pki = Arc::new(Pki::generate());
    let others: Vec<Ca> = (0..1500)
        .map(|i| {
            Ca::root(format!(
                "Fleet CA {i:05} of a bundle far too large to advertise"
            ))
            .build()
        })
        .collect();
    let mut bundle: Vec<&Ca> = others.iter().collect();
    bundle.insert(750, &pki.root);
    let store = store_of(&bundle);
    let names = store.current().root_hint_subjects().to_vec();
    assert_eq!(names.len(), 1501);
    let size: usize = names.iter().map(|n| 2 + n.as_ref().len()).sum();
    assert!(size > 64 * 1024, "{size} bytes of names");

    let client = Presented::leaf(&pki.valid_from_root);
    let custom = Classifier::builder(store.clone(), provider())
        .root_hints(RootHints::Custom(names))
        .build()
        .expect("classifier");
    for classifier in [classifier(store), custom] {
        let (seen, server) = Harness::new(Arc::clone(&pki))
            .run(&classifier, VerifyMode::On, client.clone(), TLS13, None)
            .await;
        assert_eq!(seen.result, Ok(()));
        assert_eq!(seen.hints, Some(vec![]), "no CA names advertised");
        assert!(server.outcome().is_verified(), "{:?}", server.outcome());
    }
}
