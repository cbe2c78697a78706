//! The key-usage checks the classifier adds to rustls-webpki (RFC 5280
//! 6.1.4 (n) and 6.3.3 (f), as OpenSSL and so nginx make them): a CA whose
//! keyUsage lacks keyCertSign issues nothing, and a trust anchor whose
//! keyUsage lacks cRLSign issues no usable CRL. Real handshakes on
//! 127.0.0.1 (rustls client, ring provider, PKIs generated per test).

use std::sync::Arc;

use crate::common::{Harness, Presented, ServerSide, TLS12, TLS13, provider, store_of};
use mtls_status::{InvalidReason, ReasonKind, VerifyMode};
use mtls_status_rustls::{Classifier, CrlScope, ReloadableTrustStore, TrustStore};
use mtls_testpki::rcgen::{CustomExtension, KeyUsagePurpose};
use mtls_testpki::{Ca, Crl, Pki};
use rustls::SupportedProtocolVersion;

/// id-ce-keyUsage.
const KEY_USAGE_OID: &[u64] = &[2, 5, 29, 15];

/// One handshake presenting `presented` to a classifier over `store`
/// (default settings but `scope`); what the server decided.
async fn classify(
    pki: &Arc<Pki>,
    store: ReloadableTrustStore,
    scope: CrlScope,
    presented: Presented,
    version: &'static SupportedProtocolVersion,
) -> ServerSide {
    let classifier = Classifier::builder(store, provider())
        .max_depth(2)
        .crl_scope(scope)
        .build()
        .expect("classifier builds");
    let (client, server) = Harness::new(Arc::clone(pki))
        .run(&classifier, VerifyMode::On, presented, version, None)
        .await;
    assert_eq!(client.result, Ok(()), "the handshake completes");
    server
}

fn reason(server: &ServerSide) -> &InvalidReason {
    server
        .outcome()
        .reason()
        .unwrap_or_else(|| panic!("expected Invalid, got {:?}", server.outcome()))
}

fn message(server: &ServerSide) -> &str {
    reason(server).context().message.as_deref().unwrap_or("")
}

fn with_crls(cas: &[&Ca], crls: &[&Crl]) -> ReloadableTrustStore {
    let mut builder = TrustStore::builder().ca_pem(mtls_testpki::bundle_pem(cas));
    for crl in crls {
        builder = builder.crl_pem(crl.pem());
    }
    ReloadableTrustStore::new(builder.build().expect("store builds"))
}

/// A CA key usage without keyCertSign (but every other usage a CA has).
fn no_cert_sign() -> Vec<KeyUsagePurpose> {
    vec![KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature]
}

#[tokio::test]
async fn intermediate_without_key_cert_sign_is_invalid_ca() {
    let pki = Arc::new(Pki::generate());
    let int = pki
        .root
        .intermediate("No Cert Sign Intermediate")
        .key_usages(no_cert_sign())
        .build();
    let leaf = int.leaf("client-under-no-cert-sign").build();
    for version in [TLS12, TLS13] {
        // Sent by the client: blamed at its index.
        let server = classify(
            &pki,
            store_of(&[&pki.root]),
            CrlScope::Chain,
            Presented::leaf(&leaf),
            version,
        )
        .await;
        assert_eq!(reason(&server).kind(), ReasonKind::InvalidCa);
        assert_eq!(reason(&server).context().certificate_index, Some(1));
        assert_eq!(
            reason(&server).context().subject.as_deref(),
            Some("CN=No Cert Sign Intermediate")
        );
        assert!(
            message(&server).contains("keyCertSign"),
            "{}",
            message(&server)
        );
    }

    // From the CA bundle: named as the server's CA certificate.
    let server = classify(
        &pki,
        store_of(&[&pki.root, &int]),
        CrlScope::Chain,
        Presented::leaf_only(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::InvalidCa);
    assert!(
        message(&server).contains("the server's CA certificate \"CN=No Cert Sign Intermediate\""),
        "{}",
        message(&server)
    );
}

#[tokio::test]
async fn intermediate_with_empty_key_usage_is_invalid_ca() {
    // A keyUsage BIT STRING with no bit set (RFC 5280 4.2.1.3 wants at
    // least one): it allows nothing, certificate signing included.
    let pki = Arc::new(Pki::generate());
    let int = pki
        .root
        .intermediate("Empty Key Usage Intermediate")
        .key_usages(Vec::new())
        .customize(|params| {
            params
                .custom_extensions
                .push(CustomExtension::from_oid_content(
                    KEY_USAGE_OID,
                    vec![0x03, 0x01, 0x00],
                ));
        })
        .build();
    let leaf = int.leaf("client-under-empty-ku").build();
    let server = classify(
        &pki,
        store_of(&[&pki.root]),
        CrlScope::Chain,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::InvalidCa);
    assert_eq!(reason(&server).context().certificate_index, Some(1));
    assert!(
        message(&server).contains("asserts no usage"),
        "{}",
        message(&server)
    );
}

#[tokio::test]
async fn trust_anchor_without_key_cert_sign_is_invalid_ca() {
    let pki = Arc::new(Pki::generate());
    let root = Ca::root("Root Without Cert Sign")
        .key_usages(no_cert_sign())
        .build();
    let leaf = root.leaf("client-under-bad-root").build();
    let server = classify(
        &pki,
        store_of(&[&root]),
        CrlScope::Chain,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert_eq!(reason(&server).kind(), ReasonKind::InvalidCa);
    assert!(
        message(&server).contains("trusted CA certificate \"CN=Root Without Cert Sign\""),
        "{}",
        message(&server)
    );

    // A CA without any keyUsage extension may sign certificates.
    let root = Ca::root("Root Without Key Usage")
        .key_usages(Vec::new())
        .build();
    let leaf = root.leaf("client-under-root-without-ku").build();
    let server = classify(
        &pki,
        store_of(&[&root]),
        CrlScope::Chain,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
}

#[tokio::test]
async fn crl_from_trust_anchor_without_crl_sign_is_bad_crl() {
    // rustls-webpki checks cRLSign for intermediates only; the classifier
    // checks the trust anchor too.
    let pki = Arc::new(Pki::generate());
    let root = Ca::root("Root Without CRL Sign")
        .key_usages(vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ])
        .build();
    let root_crl = root.crl().build();
    let leaf = root.leaf("client-under-no-crl-sign-root").build();
    for scope in [CrlScope::Chain, CrlScope::Leaf] {
        let server = classify(
            &pki,
            with_crls(&[&root], &[&root_crl]),
            scope,
            Presented::leaf(&leaf),
            TLS13,
        )
        .await;
        assert_eq!(reason(&server).kind(), ReasonKind::BadCrl, "{scope:?}");
        assert!(
            message(&server).contains("CN=Root Without CRL Sign")
                && message(&server).contains("cRLSign"),
            "{}",
            message(&server)
        );
    }

    // Below an intermediate, the anchor's CRL covers the intermediate
    // only: with the leaf-only scope it is not used, so it does not matter.
    let int = root.intermediate("Intermediate With CRL Sign").build();
    let int_crl = int.crl().build();
    let leaf = int.leaf("client-under-int").build();
    let store = with_crls(&[&root], &[&root_crl, &int_crl]);
    let server = classify(
        &pki,
        store.clone(),
        CrlScope::Leaf,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
    let server = classify(&pki, store, CrlScope::Chain, Presented::leaf(&leaf), TLS13).await;
    assert_eq!(reason(&server).kind(), ReasonKind::BadCrl);

    // Without a CRL from it, the anchor's missing cRLSign is irrelevant.
    let server = classify(
        &pki,
        with_crls(&[&root], &[&int_crl]),
        CrlScope::Leaf,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
}

#[tokio::test]
async fn directly_trusted_self_signed_client_certificate_is_verified() {
    // nginx accepts a self-signed client certificate put in the CA bundle
    // itself: the chain is that one trusted certificate, and OpenSSL makes
    // no CA checks on it. It is no CA, so its keyUsage has no keyCertSign.
    let pki = Arc::new(Pki::generate());
    let leaf = mtls_testpki::Leaf::self_signed("client-directly-trusted").build();
    let store = TrustStore::builder()
        .ca_pem(leaf.cert_pem())
        .build()
        .expect("store builds");
    let server = classify(
        &pki,
        ReloadableTrustStore::new(store),
        CrlScope::Chain,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
}

/// OpenSSL (`check_chain_extensions`, `X509_check_ca`) refuses a trust
/// anchor that is no CA as the issuer of anything (79, invalid CA
/// certificate); rustls-webpki does not look at a trust anchor's
/// basicConstraints. Without this check, a client whose self-signed
/// certificate is pinned in the CA bundle could sign a certificate for any
/// other name with its own key and be Verified as that name.
#[tokio::test]
async fn trusted_non_ca_certificate_issues_nothing() {
    use mtls_testpki::rcgen::IsCa;
    let pki = Arc::new(Pki::generate());
    // A pinned client certificate: basicConstraints cA=FALSE, no keyUsage.
    let explicit_no_ca = Ca::root("Pinned Client")
        .not_a_ca()
        .key_usages(vec![])
        .build();
    // The same without basicConstraints at all (a v3 certificate).
    let no_basic_constraints = Ca::root("Pinned Client Without BC")
        .key_usages(vec![])
        .customize(|params| params.is_ca = IsCa::NoCa)
        .build();
    for pinned in [&explicit_no_ca, &no_basic_constraints] {
        let forged = pinned.leaf("admin").build();
        let store = ReloadableTrustStore::new(
            TrustStore::builder()
                .ca_pem(pinned.cert_pem())
                .build()
                .expect("store builds"),
        );
        for version in [TLS12, TLS13] {
            let server = classify(
                &pki,
                store.clone(),
                CrlScope::Chain,
                Presented::leaf_only(&forged),
                version,
            )
            .await;
            assert_eq!(
                server.reason_kind(),
                Some(ReasonKind::InvalidCa),
                "{}: {:?}",
                pinned.common_name(),
                server.outcome()
            );
            assert!(
                message(&server).contains(pinned.common_name()),
                "{}",
                message(&server)
            );
            // The pinned certificate itself is still accepted.
            let server = classify(
                &pki,
                store.clone(),
                CrlScope::Chain,
                Presented::Chain(vec![pinned.cert_der()], pinned.key_der()),
                version,
            )
            .await;
            assert!(server.outcome().is_verified(), "{:?}", server.outcome());
        }
    }

    // Without basicConstraints but with a keyUsage that allows keyCertSign,
    // OpenSSL takes the anchor for a CA (X509_check_ca returns 4).
    let ku_only = Ca::root("Anchor With keyCertSign Only")
        .customize(|params| params.is_ca = IsCa::NoCa)
        .build();
    let leaf = ku_only.leaf("client-of-ku-only").build();
    let server = classify(
        &pki,
        store_of(&[&ku_only]),
        CrlScope::Chain,
        Presented::leaf_only(&leaf),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
}

/// OpenSSL trusts a self-signed leaf only if it is byte for byte a trusted
/// certificate (a "self-signed untrusted mimic" is 18); rustls-webpki takes
/// any certificate with the anchor's name, signed by the anchor's key. The
/// holder of a pinned client key must not be able to re-issue its own
/// certificate with other extensions, such as a subject alternative name.
#[tokio::test]
async fn pinned_self_signed_certificate_cannot_be_reissued_by_its_holder() {
    use mtls_testpki::rcgen::{
        CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let pki = Arc::new(Pki::generate());
    let pinned = mtls_testpki::Leaf::self_signed("Pinned Alice").build();
    let key = KeyPair::from_pem(&pinned.key_pem()).expect("the pinned key loads");
    let mut params =
        CertificateParams::new(vec!["admin.example".to_owned()]).expect("valid parameters");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Pinned Alice");
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let reissued = params.self_signed(&key).expect("signs").der().clone();
    let store = ReloadableTrustStore::new(
        TrustStore::builder()
            .ca_pem(pinned.cert_pem())
            .build()
            .expect("store builds"),
    );
    for version in [TLS12, TLS13] {
        let server = classify(
            &pki,
            store.clone(),
            CrlScope::Chain,
            Presented::Chain(vec![reissued.clone()], pinned.key_der()),
            version,
        )
        .await;
        assert_eq!(
            server.reason_kind(),
            Some(ReasonKind::SelfSigned),
            "{:?}",
            server.outcome()
        );
        assert_eq!(reason(&server).context().certificate_index, Some(0));
        assert!(
            message(&server).contains("CN=Pinned Alice"),
            "{}",
            message(&server)
        );
        // The pinned certificate itself is accepted.
        let server = classify(
            &pki,
            store.clone(),
            CrlScope::Chain,
            Presented::leaf(&pinned),
            version,
        )
        .await;
        assert!(server.outcome().is_verified(), "{:?}", server.outcome());
    }
}

/// OpenSSL applies the trust anchor's pathLenConstraint like any other
/// (25, path length constraint exceeded); rustls-webpki does not look at a
/// trust anchor's basicConstraints. A root limited to issuing end entities
/// (pathLenConstraint 0) that signed a CA certificate anyway must not make
/// that CA's certificates valid.
#[tokio::test]
async fn trust_anchor_path_len_constraint_is_enforced() {
    let pki = Arc::new(Pki::generate());
    let root = Ca::root("Root Issuing Leaves Only").path_len(0).build();
    let int = root.intermediate("Intermediate Under PathLen 0").build();
    let under_int = int.leaf("client-under-pathlen-0-intermediate").build();
    let direct = root.leaf("client-directly-under-pathlen-0").build();
    for version in [TLS12, TLS13] {
        let server = classify(
            &pki,
            store_of(&[&root]),
            CrlScope::Chain,
            Presented::leaf(&under_int),
            version,
        )
        .await;
        assert_eq!(
            server.reason_kind(),
            Some(ReasonKind::PathLengthExceeded),
            "{:?}",
            server.outcome()
        );
        assert!(
            message(&server).contains("Root Issuing Leaves Only"),
            "{}",
            message(&server)
        );
        let server = classify(
            &pki,
            store_of(&[&root]),
            CrlScope::Chain,
            Presented::leaf(&direct),
            version,
        )
        .await;
        assert!(server.outcome().is_verified(), "{:?}", server.outcome());
    }
    // pathLenConstraint 1 allows the one intermediate.
    let root = Ca::root("Root With One Level").path_len(1).build();
    let int = root.intermediate("Intermediate Under PathLen 1").build();
    let leaf = int.leaf("client-under-pathlen-1").build();
    let server = classify(
        &pki,
        store_of(&[&root]),
        CrlScope::Chain,
        Presented::leaf(&leaf),
        TLS13,
    )
    .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
}
