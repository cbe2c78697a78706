//! Every verdict a client can cause, through real TLS handshakes on
//! 127.0.0.1 (rustls client, ring provider, PKIs generated per test).

use std::sync::Arc;

use crate::common::{
    Harness, Presented, ServerSide, TLS12, TLS13, VERSIONS, days_from_now, provider, store_of,
};
use mtls_status::{ClientAuthOutcome, InvalidReason, ReasonKind, VerifyMode};
use mtls_status_rustls::{
    Classifier, ClassifierBuilder, CrlScope, EkuPolicy, ReloadableTrustStore, TrustStore,
};
use mtls_testpki::rcgen::{CustomExtension, ExtendedKeyUsagePurpose, KeyUsagePurpose};
use mtls_testpki::{Ca, KeyAlgorithm, Leaf, Pki, unix_time};
use rustls::SupportedProtocolVersion;

/// Runs one handshake presenting `presented` to a classifier built by
/// `tweak` over `store`, and returns what the server decided.
async fn classify(
    pki: &Arc<Pki>,
    store: ReloadableTrustStore,
    tweak: impl FnOnce(ClassifierBuilder) -> ClassifierBuilder,
    presented: Presented,
    version: &'static SupportedProtocolVersion,
) -> ServerSide {
    let classifier = tweak(Classifier::builder(store, provider()))
        .build()
        .expect("classifier builds");
    let (client, server) = Harness::new(Arc::clone(pki))
        .run(&classifier, VerifyMode::On, presented, version, None)
        .await;
    assert_eq!(
        client.result,
        Ok(()),
        "the handshake must complete whatever the verdict"
    );
    server
}

fn reason(server: &ServerSide) -> &InvalidReason {
    server
        .outcome()
        .reason()
        .unwrap_or_else(|| panic!("expected Invalid, got {:?}", server.outcome()))
}

fn subject(server: &ServerSide) -> Option<&str> {
    reason(server).context().subject.as_deref()
}

fn index(server: &ServerSide) -> Option<usize> {
    reason(server).context().certificate_index
}

fn same(b: ClassifierBuilder) -> ClassifierBuilder {
    b
}

fn with_crls(cas: &[&Ca], crls: &[&mtls_testpki::Crl]) -> ReloadableTrustStore {
    let mut builder = TrustStore::builder().ca_pem(mtls_testpki::bundle_pem(cas));
    for crl in crls {
        builder = builder.crl_pem(crl.pem());
    }
    ReloadableTrustStore::new(builder.build().expect("store builds"))
}

fn verified_subject(server: &ServerSide) -> &str {
    match server.outcome() {
        ClientAuthOutcome::Verified(identity) => identity.subject_dn(),
        other => panic!("expected Verified, got {other:?}"),
    }
}

#[tokio::test]
async fn valid_leaf_from_root_is_verified() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            same,
            Presented::leaf(&pki.valid_from_root),
            version,
        )
        .await;
        assert_eq!(verified_subject(&server), "CN=client-valid");
        assert_eq!(server.outcome().ssl_client_verify(), "SUCCESS");
    }
}

#[tokio::test]
async fn intermediate_sent_by_the_client_is_verified() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let leaf = &pki.valid_via_intermediate;
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            same,
            Presented::leaf(leaf),
            version,
        )
        .await;
        assert_eq!(verified_subject(&server), "CN=client-intermediate");
        let identity = server.outcome().identity().expect("identity");
        assert_eq!(identity.chain().len(), 2, "the presented chain is kept");
    }
}

#[tokio::test]
async fn intermediate_only_in_the_bundle_is_verified() {
    let pki = Arc::new(Pki::generate());
    let store = store_of(&[&pki.root, &pki.intermediate]);
    let server = classify(
        &pki,
        store,
        same,
        Presented::leaf_only(&pki.valid_via_intermediate),
        TLS13,
    )
    .await;
    assert_eq!(verified_subject(&server), "CN=client-intermediate");
}

#[tokio::test]
async fn missing_intermediate_is_unknown_leaf_issuer() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            same,
            Presented::leaf_only(&pki.valid_via_intermediate),
            version,
        )
        .await;
        let r = reason(&server);
        assert_eq!(r.kind(), ReasonKind::UnknownLeafIssuer);
        assert_eq!(r.openssl_code(), 21);
        assert_eq!(index(&server), Some(0));
        assert_eq!(subject(&server), Some("CN=client-intermediate"));
        // The presented (unverified) identity is still there, as nginx's
        // $ssl_client_s_dn is for failed certificates.
        let presented = server
            .outcome()
            .presented_identity()
            .expect("presented identity");
        assert_eq!(presented.subject_dn(), "CN=client-intermediate");
    }
}

#[tokio::test]
async fn unknown_ca_leaf_only_is_unknown_leaf_issuer() {
    let pki = Arc::new(Pki::generate());
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&pki.unknown_ca),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::UnknownLeafIssuer);
    assert!(reason(&server).is_untrusted_issuer());
    let detail = reason(&server).detail();
    assert!(
        detail.contains("CN=mtls-status Unknown Root CA"),
        "{detail}"
    );
}

#[tokio::test]
async fn unknown_ca_with_its_root_is_self_signed_in_chain() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let chain = Presented::Chain(pki.unknown_ca.chain_with_root(), pki.unknown_ca.key_der());
        let server = classify(&pki, store_of(&[&pki.root]), same, chain, version).await;
        assert_eq!(reason(&server).kind(), ReasonKind::SelfSignedInChain);
        assert_eq!(reason(&server).openssl_code(), 19);
        assert_eq!(index(&server), Some(1));
        assert_eq!(subject(&server), Some("CN=mtls-status Unknown Root CA"));
    }
}

#[tokio::test]
async fn unknown_intermediate_without_root_is_unknown_issuer() {
    let pki = Arc::new(Pki::generate());
    let other_int = pki
        .unknown_root
        .intermediate("Unknown Intermediate")
        .build();
    let leaf = other_int.leaf("client-unknown-int").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::UnknownIssuer);
    assert_eq!(reason(&server).openssl_code(), 20);
    assert_eq!(index(&server), Some(1));
    assert_eq!(subject(&server), Some("CN=Unknown Intermediate"));
}

#[tokio::test]
async fn intermediate_only_bundle_is_unknown_bundle_issuer() {
    // nginx needs the chain to reach a self-signed root: a bundle with only
    // the intermediate accepts nothing, and OpenSSL says 2, which
    // optional_no_ca does not let through.
    let pki = Arc::new(Pki::generate());
    let store = store_of(&[&pki.intermediate]);
    let server = classify(
        &pki,
        store.clone(),
        same,
        Presented::leaf(&pki.valid_via_intermediate),
        TLS13,
    )
    .await;
    let sent = reason(&server);
    assert_eq!(sent.kind(), ReasonKind::UnknownBundleIssuer);
    assert_eq!(sent.openssl_code(), 2);
    assert_eq!(
        sent.ssl_client_verify(),
        "FAILED:unable to get issuer certificate"
    );
    assert!(!sent.is_untrusted_issuer());
    assert_eq!(index(&server), Some(1));
    // The leaf alone: the intermediate comes from the bundle, and is named.
    let server = classify(
        &pki,
        store,
        same,
        Presented::leaf_only(&pki.valid_via_intermediate),
        TLS13,
    )
    .await;
    let alone = reason(&server);
    assert_eq!(alone.kind(), ReasonKind::UnknownBundleIssuer);
    assert_eq!(index(&server), None);
    assert!(
        alone.detail().contains("the server's CA certificate"),
        "{}",
        alone.detail()
    );
}

#[tokio::test]
async fn self_signed_leaf_is_self_signed() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            same,
            Presented::leaf(&pki.self_signed),
            version,
        )
        .await;
        assert_eq!(reason(&server).kind(), ReasonKind::SelfSigned);
        assert_eq!(reason(&server).openssl_code(), 18);
        assert_eq!(subject(&server), Some("CN=client-self-signed"));
    }
}

#[tokio::test]
async fn lone_untrusted_ca_certificate_is_self_signed() {
    let pki = Arc::new(Pki::generate());
    let chain = Presented::Chain(
        vec![pki.unknown_root.cert_der()],
        pki.unknown_root.key_der(),
    );
    let server = classify(&pki, store_of(&[&pki.root]), same, chain, TLS13).await;
    assert_eq!(reason(&server).kind(), ReasonKind::SelfSigned);
}

#[tokio::test]
async fn self_signed_server_auth_leaf_is_invalid_purpose() {
    // nginx reports 26 here too (the purpose error comes last).
    let pki = Arc::new(Pki::generate());
    let leaf = Leaf::self_signed("self-signed-server")
        .server_auth_only()
        .build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::InvalidPurpose);
}

#[tokio::test]
async fn expired_leaf_is_expired_with_context() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            same,
            Presented::leaf(&pki.expired),
            version,
        )
        .await;
        let r = reason(&server);
        assert_eq!(r.kind(), ReasonKind::Expired);
        assert_eq!(index(&server), Some(0));
        assert_eq!(subject(&server), Some("CN=client-expired"));
        assert_eq!(
            r.context().not_after,
            Some(unix_time(pki.expired.not_after()))
        );
        assert!(r.context().time.is_some());
        assert_eq!(
            server.outcome().ssl_client_verify(),
            "FAILED:certificate has expired"
        );
    }
}

#[tokio::test]
async fn expired_leaf_from_unknown_ca_is_expired() {
    let pki = Arc::new(Pki::generate());
    let leaf = pki.unknown_root.leaf("expired-unknown").expired().build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::Expired);
    assert!(!reason(&server).is_untrusted_issuer());
}

#[tokio::test]
async fn expired_intermediate_is_expired_at_index_1() {
    let pki = Arc::new(Pki::generate());
    let int = pki
        .root
        .intermediate("Expired Intermediate")
        .expired()
        .build();
    let leaf = int.leaf("client-under-expired").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::Expired);
    assert_eq!(index(&server), Some(1));
    assert_eq!(subject(&server), Some("CN=Expired Intermediate"));
}

#[tokio::test]
async fn expired_trust_anchor_is_expired() {
    // OpenSSL checks the root's validity too; rustls-webpki does not, the
    // classifier does.
    let pki = Arc::new(Pki::generate());
    let old_root = Ca::root("Expired Root")
        .valid_between(mtls_testpki::days_ago(800), mtls_testpki::days_from_now(-1));
    let old_root = old_root.build();
    let leaf = old_root
        .leaf("client-of-expired-root")
        .valid_between(mtls_testpki::days_ago(10), mtls_testpki::days_from_now(10))
        .build();
    let server = classify(
        &pki,
        store_of(&[&old_root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    let r = reason(&server);
    assert_eq!(r.kind(), ReasonKind::Expired);
    assert!(r.detail().contains("CN=Expired Root"), "{}", r.detail());
}

#[tokio::test]
async fn not_yet_valid_leaf_is_not_yet_valid() {
    let pki = Arc::new(Pki::generate());
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&pki.not_yet_valid),
        TLS12,
    )
    .await;
    let r = reason(&server);
    assert_eq!(r.kind(), ReasonKind::NotYetValid);
    assert_eq!(
        r.context().not_before,
        Some(unix_time(pki.not_yet_valid.not_before()))
    );
    assert_eq!(subject(&server), Some("CN=client-not-yet-valid"));
}

#[tokio::test]
async fn revoked_leaf_is_revoked() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let store = with_crls(&[&pki.root], &[&pki.root_crl]);
        let server = classify(&pki, store, same, Presented::leaf(&pki.revoked), version).await;
        let r = reason(&server);
        assert_eq!(r.kind(), ReasonKind::Revoked);
        assert_eq!(subject(&server), Some("CN=client-revoked"));
        assert!(
            r.detail().contains("CN=mtls-status Test Root CA"),
            "{}",
            r.detail()
        );
    }
    // The same CRL leaves other clients alone.
    let store = with_crls(&[&pki.root], &[&pki.root_crl]);
    let server = classify(
        &pki,
        store,
        same,
        Presented::leaf(&pki.valid_from_root),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified());
}

#[tokio::test]
async fn revoked_intermediate_is_revoked_at_index_1() {
    let pki = Arc::new(Pki::generate());
    let root_crl = pki.root.crl().revoke(&pki.intermediate).build();
    let store = with_crls(&[&pki.root], &[&root_crl, &pki.intermediate_crl]);
    let server = classify(
        &pki,
        store,
        same,
        Presented::leaf(&pki.valid_via_intermediate),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::Revoked);
    assert_eq!(index(&server), Some(1));
}

#[tokio::test]
async fn expired_crl_is_crl_expired_for_every_client() {
    let pki = Arc::new(Pki::generate());
    let store = with_crls(&[&pki.root], &[&pki.expired_root_crl]);
    let server = classify(
        &pki,
        store.clone(),
        same,
        Presented::leaf(&pki.valid_from_root),
        TLS13,
    )
    .await;
    let r = reason(&server);
    assert_eq!(r.kind(), ReasonKind::CrlExpired);
    assert_eq!(
        r.context().not_after,
        Some(unix_time(pki.expired_root_crl.next_update()))
    );
    // Ignoring CRL expiry (rustls's default) accepts the valid client...
    let server = classify(
        &pki,
        store.clone(),
        ClassifierBuilder::ignore_crl_expiry,
        Presented::leaf(&pki.valid_from_root),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified());
    // ...and still uses the expired CRL's content.
    let server = classify(
        &pki,
        store,
        ClassifierBuilder::ignore_crl_expiry,
        Presented::leaf(&pki.revoked),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::Revoked);
}

#[tokio::test]
async fn crl_from_the_future_is_crl_not_yet_valid() {
    let pki = Arc::new(Pki::generate());
    let future = pki.root.crl().not_yet_valid().build();
    let store = with_crls(&[&pki.root], &[&future]);
    let server = classify(
        &pki,
        store.clone(),
        same,
        Presented::leaf(&pki.valid_from_root),
        TLS13,
    )
    .await;
    let r = reason(&server);
    assert_eq!(r.kind(), ReasonKind::CrlNotYetValid);
    assert_eq!(
        r.context().not_before,
        Some(unix_time(future.this_update()))
    );
    let server = classify(
        &pki,
        store,
        ClassifierBuilder::ignore_crl_expiry,
        Presented::leaf(&pki.valid_from_root),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified());
}

#[tokio::test]
async fn missing_crl_for_a_ca_in_the_chain_is_unknown_revocation_status() {
    let pki = Arc::new(Pki::generate());
    // Only the root's CRL: the intermediate's CRL is missing for the leaf.
    let store = with_crls(&[&pki.root], &[&pki.root_crl]);
    let server = classify(
        &pki,
        store.clone(),
        same,
        Presented::leaf(&pki.valid_via_intermediate),
        TLS13,
    )
    .await;
    let r = reason(&server);
    assert_eq!(r.kind(), ReasonKind::UnknownRevocationStatus);
    assert_eq!(r.openssl_code(), 3);
    assert_eq!(index(&server), Some(0));
    assert!(
        r.detail().contains("CN=mtls-status Test Intermediate CA"),
        "{}",
        r.detail()
    );
    // Relaxed: unknown status allowed.
    let server = classify(
        &pki,
        store,
        ClassifierBuilder::allow_unknown_revocation_status,
        Presented::leaf(&pki.valid_via_intermediate),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified());
}

#[tokio::test]
async fn crl_scope_leaf_checks_only_the_leaf() {
    let pki = Arc::new(Pki::generate());
    // Only the intermediate's CRL: enough for the leaf, not for the
    // intermediate (whose issuer, the root, has none).
    let store = with_crls(&[&pki.root], &[&pki.intermediate_crl]);
    let chain = Presented::leaf(&pki.valid_via_intermediate);
    let server = classify(&pki, store.clone(), same, chain.clone(), TLS13).await;
    assert_eq!(reason(&server).kind(), ReasonKind::UnknownRevocationStatus);
    assert_eq!(index(&server), Some(1));
    let server = classify(&pki, store, |b| b.crl_scope(CrlScope::Leaf), chain, TLS13).await;
    assert!(server.outcome().is_verified());
}

#[tokio::test]
async fn crl_signed_without_crl_sign_usage_is_bad_crl() {
    // webpki checks cRLSign on intermediates (not on trust anchors).
    let pki = Arc::new(Pki::generate());
    let int = pki
        .root
        .intermediate("No CRL Sign Intermediate")
        .key_usages(vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ])
        .build();
    let leaf = int.leaf("client-bad-crl").build();
    let int_crl = int.crl().build();
    let store = with_crls(&[&pki.root], &[&pki.root_crl, &int_crl]);
    let server = classify(&pki, store, same, Presented::leaf(&leaf), TLS13).await;
    assert_eq!(reason(&server).kind(), ReasonKind::BadCrl);
}

#[tokio::test]
async fn server_auth_only_leaf_is_invalid_purpose() {
    let pki = Arc::new(Pki::generate());
    for version in VERSIONS {
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            same,
            Presented::leaf(&pki.server_auth_only),
            version,
        )
        .await;
        let r = reason(&server);
        assert_eq!(r.kind(), ReasonKind::InvalidPurpose);
        assert_eq!(r.openssl_code(), 26);
        assert_eq!(subject(&server), Some("CN=client-server-auth-only"));
        assert!(r.detail().contains("serverAuth"), "{}", r.detail());
    }
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        |b| b.required_eku(EkuPolicy::any()),
        Presented::leaf(&pki.server_auth_only),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified());
}

#[tokio::test]
async fn eku_policy_applies_to_intermediates_and_custom_oids() {
    let pki = Arc::new(Pki::generate());
    let int = pki
        .root
        .intermediate("Server-only Intermediate")
        .extended_key_usages(vec![ExtendedKeyUsagePurpose::ServerAuth])
        .build();
    let leaf = int.leaf("client-under-server-int").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::InvalidPurpose);
    assert_eq!(index(&server), Some(1));

    // A policy that requires serverAuth refuses a clientAuth-only leaf.
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        |b| b.required_eku(EkuPolicy::server_auth()),
        Presented::leaf(&pki.valid_from_root),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::InvalidPurpose);
}

#[tokio::test]
async fn depth_limits_at_and_beyond() {
    let pki = Arc::new(Pki::generate());
    for limit in 0..=2usize {
        for intermediates in [limit, limit + 1] {
            let leaf = pki.deep_chain(intermediates);
            let server = classify(
                &pki,
                store_of(&[&pki.root]),
                |b| b.max_depth(limit),
                Presented::leaf(&leaf),
                TLS13,
            )
            .await;
            if intermediates <= limit {
                assert!(
                    server.outcome().is_verified(),
                    "depth {limit}, {intermediates} intermediates"
                );
            } else {
                let r = reason(&server);
                assert_eq!(r.kind(), ReasonKind::ChainTooLong, "depth {limit}");
                assert_eq!(r.openssl_code(), 22);
                assert_eq!(r.context().limit, Some(limit));
                assert_eq!(r.context().actual, Some(intermediates));
                // The first intermediate beyond the limit is named.
                assert_eq!(index(&server), Some(limit + 1));
                assert!(!r.is_untrusted_issuer(), "improvement over nginx's 20");
            }
        }
    }
}

/// nginx accepts any ssl_verify_depth; so does the classifier. Chains of
/// more than MAX_SUPPORTED_DEPTH intermediates are still refused.
#[tokio::test]
async fn depths_beyond_what_is_followed_are_accepted() {
    let pki = Arc::new(Pki::generate());
    let deepest = mtls_status_rustls::MAX_SUPPORTED_DEPTH;
    for (intermediates, verified) in [(deepest, true), (deepest + 1, false)] {
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            |b| b.max_depth(100),
            Presented::leaf(&pki.deep_chain(intermediates)),
            TLS13,
        )
        .await;
        if verified {
            assert!(server.outcome().is_verified(), "{intermediates}");
            continue;
        }
        let r = reason(&server);
        assert_eq!(r.kind(), ReasonKind::ChainTooLong);
        assert_eq!(r.context().limit, Some(100));
        assert!(
            r.detail()
                .contains(&format!("more than {deepest} intermediate CAs")),
            "{r}"
        );
    }
}

/// A CA the store cannot use is left out; the clients of the others still
/// verify in a real handshake, and the left-out CA is not advertised.
#[tokio::test]
async fn an_unusable_ca_leaves_the_rest_of_the_bundle_usable() {
    let pki = Arc::new(Pki::generate());
    let junk = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    let store = TrustStore::builder()
        .ca_pem(format!("{junk}{}", pki.root.cert_pem()))
        .build()
        .expect("the root loads");
    assert_eq!(store.skipped_certificates().len(), 1);
    assert_eq!(store.root_hint_subjects().len(), 1);
    let server = classify(
        &pki,
        ReloadableTrustStore::new(store),
        same,
        Presented::leaf(&pki.valid_from_root),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
}

#[tokio::test]
async fn depth_default_is_one() {
    let pki = Arc::new(Pki::generate());
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&pki.deep_chain(2)),
        TLS12,
    )
    .await;
    let r = reason(&server);
    assert_eq!(r.kind(), ReasonKind::ChainTooLong);
    assert_eq!((r.context().limit, r.context().actual), (Some(1), Some(2)));
}

#[tokio::test]
async fn rsa_and_ecdsa_leaves_are_verified() {
    let pki = Arc::new(Pki::generate());
    let rsa_root = Ca::root("RSA Root").key(KeyAlgorithm::Rsa2048).build();
    for (root, algorithm) in [
        (&rsa_root, KeyAlgorithm::Rsa2048),
        (&pki.root, KeyAlgorithm::Rsa2048),
        (&rsa_root, KeyAlgorithm::EcdsaP256),
        (&pki.root, KeyAlgorithm::EcdsaP384),
        (&pki.root, KeyAlgorithm::Ed25519),
    ] {
        let leaf = root.leaf("client-alg").key(algorithm).build();
        for version in VERSIONS {
            let server = classify(
                &pki,
                store_of(&[root]),
                same,
                Presented::leaf(&leaf),
                version,
            )
            .await;
            assert_eq!(
                verified_subject(&server),
                "CN=client-alg",
                "{algorithm:?} {version:?}"
            );
        }
    }
}

#[tokio::test]
async fn corrupted_certificate_signature_is_bad_signature() {
    let pki = Arc::new(Pki::generate());
    let mut der = pki.valid_from_root.cert_der().to_vec();
    // The last byte is inside the signature value.
    if let Some(last) = der.last_mut() {
        *last ^= 0x01;
    }
    let chain = Presented::Chain(vec![der.into()], pki.valid_from_root.key_der());
    let server = classify(&pki, store_of(&[&pki.root]), same, chain, TLS13).await;
    assert_eq!(reason(&server).kind(), ReasonKind::BadSignature);
    assert_eq!(index(&server), Some(0));
}

#[tokio::test]
async fn ca_certificate_as_client_certificate_is_ca_used_as_leaf() {
    let pki = Arc::new(Pki::generate());
    let chain = Presented::Chain(
        vec![pki.intermediate.cert_der()],
        pki.intermediate.key_der(),
    );
    let server = classify(&pki, store_of(&[&pki.root]), same, chain, TLS13).await;
    assert_eq!(reason(&server).kind(), ReasonKind::CaUsedAsLeaf);
}

#[tokio::test]
async fn non_ca_intermediate_is_invalid_ca() {
    let pki = Arc::new(Pki::generate());
    let int = pki.root.intermediate("Not A CA").not_a_ca().build();
    let leaf = int.leaf("client-under-non-ca").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::InvalidCa);
    assert_eq!(index(&server), Some(1));
}

#[tokio::test]
async fn path_length_constraint_is_path_length_exceeded() {
    let pki = Arc::new(Pki::generate());
    let int1 = pki.root.intermediate("Int pathlen 0").path_len(0).build();
    let int2 = int1.intermediate("Int below pathlen 0").build();
    let leaf = int2.leaf("client-pathlen").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        |b| b.max_depth(2),
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::PathLengthExceeded);
}

#[tokio::test]
async fn name_outside_constraints_is_name_constraint_violation() {
    let pki = Arc::new(Pki::generate());
    let int = pki
        .root
        .intermediate("Example Only")
        .permitted_dns("example.org")
        .build();
    let leaf = int.leaf("client-evil").dns("client.evil.test").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::NameConstraintViolation);
    // Inside the constraint it verifies.
    let good = int.leaf("client-good").dns("client.example.org").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::leaf(&good),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified());
}

#[tokio::test]
async fn unknown_critical_extension_fails_the_handshake_and_classifies() {
    // rustls-webpki refuses to parse a certificate with an unknown critical
    // extension, so its key cannot check the CertificateVerify signature:
    // the handshake fails (bad_certificate). Classified directly, the chain
    // gets its precise reason.
    let pki = Arc::new(Pki::generate());
    let leaf = pki
        .root
        .leaf("client-critical")
        .customize(|params| {
            let mut ext =
                CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![0x05, 0x00]);
            ext.set_criticality(true);
            params.custom_extensions.push(ext);
        })
        .build();
    let classifier = crate::common::classifier(store_of(&[&pki.root]));
    let (client, server) = Harness::new(Arc::clone(&pki))
        .run(
            &classifier,
            VerifyMode::On,
            Presented::leaf(&leaf),
            TLS13,
            None,
        )
        .await;
    let err = client.result.expect_err("handshake refused");
    assert!(err.contains("BadCertificate"), "{err}");
    assert!(matches!(server, ServerSide::HandshakeFailed(_)));
    let outcome = classifier.classify(Some(&leaf.chain()));
    assert_eq!(
        outcome.reason().map(|r| r.kind()),
        Some(ReasonKind::UnhandledCriticalExtension)
    );
}

#[tokio::test]
async fn trusted_only_certificates_are_trusted_but_not_advertised() {
    let pki = Arc::new(Pki::generate());
    let store = TrustStore::builder()
        .ca_pem(pki.unknown_root.cert_pem())
        .trusted_pem(pki.root.cert_pem())
        .build()
        .expect("store builds");
    let classifier = Classifier::builder(ReloadableTrustStore::new(store), provider())
        .build()
        .expect("classifier");
    let (client, server) = Harness::new(Arc::clone(&pki))
        .run(
            &classifier,
            VerifyMode::On,
            Presented::leaf(&pki.valid_from_root),
            TLS13,
            None,
        )
        .await;
    assert_eq!(client.result, Ok(()));
    assert!(server.outcome().is_verified());
    assert_eq!(client.hints, Some(vec![pki.unknown_root.subject_der()]));
}

#[tokio::test]
async fn fixed_times_make_time_verdicts_deterministic() {
    let pki = Arc::new(Pki::generate());
    let classifier = crate::common::classifier(store_of(&[&pki.root]));
    let leaf = &pki.valid_from_root;
    let harness = Harness::new(Arc::clone(&pki));
    for (at, expected) in [
        (days_from_now(0), None),
        (days_from_now(400), Some(ReasonKind::Expired)),
        (days_from_now(-30), Some(ReasonKind::NotYetValid)),
    ] {
        let (_, server) = harness
            .run(
                &classifier,
                VerifyMode::On,
                Presented::leaf(leaf),
                TLS13,
                Some(at),
            )
            .await;
        assert_eq!(server.reason_kind(), expected);
        if let Some(r) = server.outcome().reason() {
            assert_eq!(r.context().time, Some(at));
        }
    }
}

#[tokio::test]
async fn unsupported_signature_algorithm_is_named() {
    // ecdsa-with-SHA256 (1.2.840.10045.4.3.2) → ecdsa-with-SHA512 (…4.3.4),
    // in both places it occurs, which the ring provider does not verify.
    let pki = Arc::new(Pki::generate());
    let sha256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    let mut der = pki.valid_from_root.cert_der().to_vec();
    let mut replaced = 0;
    let mut i = 0;
    while i + sha256.len() <= der.len() {
        if &der[i..i + sha256.len()] == sha256 {
            der[i + sha256.len() - 1] = 0x04;
            replaced += 1;
        }
        i += 1;
    }
    assert_eq!(
        replaced, 2,
        "signature algorithm appears in the TBS and outside"
    );
    let chain = Presented::Chain(vec![der.into()], pki.valid_from_root.key_der());
    let server = classify(&pki, store_of(&[&pki.root]), same, chain, TLS13).await;
    let r = reason(&server);
    assert_eq!(r.kind(), ReasonKind::UnsupportedSignatureAlgorithm);
    assert_eq!(index(&server), Some(0));
    assert!(r.detail().contains("1.2.840.10045.4.3.4"), "{}", r.detail());
}

#[tokio::test]
async fn many_duplicate_intermediates_are_handled_in_bounded_time() {
    // A hostile client pads its chain with 100 copies of an unknown
    // intermediate: the handshake completes and the verdict is precise.
    let pki = Arc::new(Pki::generate());
    let int = pki
        .unknown_root
        .intermediate("Padding Intermediate")
        .build();
    let leaf = int.leaf("client-padded").build();
    let mut chain = vec![leaf.cert_der()];
    chain.extend(std::iter::repeat_n(int.cert_der(), 100));
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::Chain(chain, leaf.key_der()),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::UnknownIssuer);
    assert_eq!(subject(&server), Some("CN=Padding Intermediate"));
}

#[tokio::test]
async fn path_building_budget_exhaustion_is_too_complex() {
    // 60 intermediates share the leaf's issuer name under a trusted root but
    // none signed the leaf: each candidate costs two signature checks, and
    // rustls-webpki gives up after 100.
    let pki = Arc::new(Pki::generate());
    let decoys: Vec<Ca> = (0..60)
        .map(|_| pki.root.intermediate("Decoy Intermediate").build())
        .collect();
    let real = mtls_testpki::Ca::root("Decoy Intermediate").build();
    let leaf = real.leaf("client-decoyed").build();
    let mut chain = vec![leaf.cert_der()];
    chain.extend(decoys.iter().map(Ca::cert_der));
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        same,
        Presented::Chain(chain, leaf.key_der()),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::TooComplex);
}
