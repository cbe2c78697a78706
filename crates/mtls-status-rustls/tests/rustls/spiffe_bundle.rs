//! SPIFFE bundle JSON (feature `spiffe-bundle`) as SPIRE writes it: parsed,
//! used as a trust domain's bundle in real handshakes, reloaded when the file
//! changes, and refused (old store kept) when it is malformed.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mtls_status::{ClientAuthOutcome, ReasonKind, VerifyMode};
use mtls_status_rustls::{
    Classifier, ReloadableTrustStore, SpiffeBundle, SpiffeBundleError, TrustStore, TrustStoreError,
    TrustStoreFiles,
};
use mtls_testpki::{Ca, KeyAlgorithm, Pki, spiffe_bundle_json};

use crate::common::{Harness, Presented, TLS13, provider};
use crate::trust_store::TempDir;

const A: &str = "a.example.org";
const B: &str = "b.example.net";
const API: &str = "spiffe://a.example.org/ns/web/sa/api";
const BILLING: &str = "spiffe://b.example.net/billing";

#[test]
fn a_bundle_as_spire_writes_it_parses_with_hint_sequence_and_authorities() {
    let ec = Ca::root("A SPIFFE CA").build();
    let p384 = Ca::root("A SPIFFE CA 2")
        .key(KeyAlgorithm::EcdsaP384)
        .build();
    let rsa = Ca::root("A SPIFFE CA 3").key(KeyAlgorithm::Rsa2048).build();
    let json = spiffe_bundle_json(&[&ec, &p384, &rsa], 42, 300);
    let bundle = SpiffeBundle::parse(json.as_bytes()).expect("SPIRE's shape parses");
    assert_eq!(
        bundle.x509_authorities(),
        [ec.cert_der(), p384.cert_der(), rsa.cert_der()]
    );
    assert_eq!(bundle.sequence_number(), Some(42));
    assert_eq!(bundle.refresh_hint(), Some(Duration::from_secs(300)));
    assert_eq!(bundle.jwt_key_count(), 1);
    assert_eq!(bundle.ignored_key_count(), 0);

    let store = bundle.trust_store().expect("a trust store");
    assert_eq!(store.anchor_count(), 3);
    assert_eq!(store.accepted_ca_names().len(), 3);
    assert_eq!(store.spiffe_bundles(), [bundle]);
    // The same bytes given as a CA bundle are told from PEM by content.
    let store = TrustStore::builder()
        .ca_pem(&json)
        .build()
        .expect("JSON as CA bytes");
    assert_eq!(
        store.certificates(),
        [ec.cert_der(), p384.cert_der(), rsa.cert_der()]
    );
    assert_eq!(store.spiffe_bundles()[0].sequence_number(), Some(42));
}

/// A classifier federating A (from `a_bundle`) and B (PEM of `b_ca`).
fn federation(a_bundle: ReloadableTrustStore, b_ca: &Ca) -> Classifier {
    let b = ReloadableTrustStore::new(
        TrustStore::builder()
            .ca_pem(b_ca.cert_pem())
            .build()
            .expect("B's PEM"),
    );
    Classifier::builder(ReloadableTrustStore::new(TrustStore::empty()), provider())
        .trust_domain(A, a_bundle)
        .trust_domain(B, b)
        .build()
        .expect("classifier")
}

async fn handshake(
    harness: &Harness,
    classifier: &Classifier,
    leaf: &mtls_testpki::Leaf,
) -> Arc<ClientAuthOutcome> {
    let (client, server) = harness
        .run(
            classifier,
            VerifyMode::On,
            Presented::leaf(leaf),
            TLS13,
            None,
        )
        .await;
    assert!(client.result.is_ok(), "{client:?}");
    match server {
        crate::common::ServerSide::Classified(outcome) => outcome,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn handshakes_against_a_trust_domain_from_json_and_one_from_pem() {
    let harness = Harness::new(Arc::new(Pki::generate()));
    let a_ca = Ca::root("A SPIFFE CA").build();
    let b_ca = Ca::root("B SPIFFE CA").build();
    let dir = TempDir::new("spiffe-bundle-handshakes");
    let path = dir.write("a.json", spiffe_bundle_json(&[&a_ca], 1, 300));
    let a = ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&path))
        .expect("A's JSON file");
    let classifier = federation(a, &b_ca);

    let api = a_ca.leaf("api").uri(API).build();
    let outcome = handshake(&harness, &classifier, &api).await;
    assert_eq!(
        outcome
            .identity()
            .and_then(|id| id.spiffe_id())
            .map(ToString::to_string),
        Some(API.to_owned()),
        "{outcome:?}"
    );
    let billing = b_ca.leaf("billing").uri(BILLING).build();
    assert!(
        handshake(&harness, &classifier, &billing)
            .await
            .is_verified()
    );

    // An ID of A minted by B's CA: A's bundle (from JSON) does not vouch.
    let forged = b_ca.leaf("forged").uri(API).build();
    let outcome = handshake(&harness, &classifier, &forged).await;
    let reason = outcome.reason().expect("invalid");
    assert_eq!(reason.kind(), ReasonKind::UnknownLeafIssuer);
    assert!(
        reason
            .detail()
            .contains("bundle of trust domain a.example.org only"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_json_bundle_file_reloads_like_pem_and_a_broken_one_is_refused() {
    let harness = Harness::new(Arc::new(Pki::generate()));
    let old_ca = Ca::root("A SPIFFE CA (old)").build();
    let new_ca = Ca::root("A SPIFFE CA (new)").build();
    let dir = TempDir::new("spiffe-bundle-reload");
    let path = dir.write("a.json", spiffe_bundle_json(&[&old_ca], 1, 300));
    let a = ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file(&path))
        .expect("A's JSON file");
    let classifier = federation(a.clone(), &Ca::root("B SPIFFE CA").build());
    let rotated = new_ca.leaf("api").uri(API).build();
    let outcome = handshake(&harness, &classifier, &rotated).await;
    assert_eq!(
        outcome.reason().map(|r| r.kind()),
        Some(ReasonKind::UnknownLeafIssuer)
    );

    // SPIRE rotates: the new CA is published with a higher sequence number.
    std::fs::write(&path, spiffe_bundle_json(&[&old_ca, &new_ca], 2, 60)).expect("write");
    assert_eq!(a.reload().expect("reloads"), 2);
    assert_eq!(a.current().spiffe_bundles()[0].sequence_number(), Some(2));
    assert_eq!(
        a.current().spiffe_bundles()[0].refresh_hint(),
        Some(Duration::from_secs(60))
    );
    assert!(
        handshake(&harness, &classifier, &rotated)
            .await
            .is_verified()
    );

    // A truncated file (a writer caught mid-write) keeps the store in force.
    let json = spiffe_bundle_json(&[&new_ca], 3, 60);
    std::fs::write(&path, &json[..json.len() / 2]).expect("write");
    let error = a.reload().expect_err("refused");
    assert!(
        matches!(error, TrustStoreError::SpiffeBundle { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.starts_with(&path.display().to_string()),
        "{message}"
    );
    assert!(
        message.contains("SPIFFE bundle refused: not a SPIFFE bundle"),
        "{message}"
    );
    assert_eq!(a.generation(), 2);
    assert!(
        handshake(&harness, &classifier, &rotated)
            .await
            .is_verified()
    );

    // Back to PEM in the same file: the format is told by content.
    std::fs::write(&path, new_ca.cert_pem()).expect("write");
    assert_eq!(a.reload().expect("PEM reloads"), 3);
    assert!(a.current().spiffe_bundles().is_empty());
    assert!(
        handshake(&harness, &classifier, &rotated)
            .await
            .is_verified()
    );
}

/// `json` with the first `x5c` entry replaced by `x5c`.
fn with_x5c(json: &str, x5c: &str) -> String {
    let start = json.find("\"x5c\": [").expect("x5c") + "\"x5c\": [".len();
    let end = start + json[start..].find(']').expect("end of x5c");
    format!("{}{x5c}{}", &json[..start], &json[end..])
}

#[test]
fn hostile_bundles_are_errors_that_say_what_is_wrong() {
    let ca = Ca::root("A SPIFFE CA").build();
    let json = spiffe_bundle_json(&[&ca], 1, 300);
    let leaf = ca.leaf("not-a-ca").uri(API).build();
    let other = Ca::root("other").build();
    let cases: Vec<(String, &str)> = vec![
        (json[..json.len() - 3].to_owned(), "EOF while parsing"),
        (
            json.replace("\"spiffe_sequence\": 1", "\"spiffe_sequence\": \"1\""),
            "invalid type: string \"1\", expected u64",
        ),
        (json.replace("\"keys\"", "\"kees\""), "no \"keys\" member"),
        (with_x5c(&json, "\"@@@\""), "x5c is not base64"),
        (with_x5c(&json, ""), "has 0 certificates in x5c"),
        (
            with_x5c(
                &json,
                &format!("\"{0}\", \"{0}\"", STANDARD.encode(ca.cert_der())),
            ),
            "has 2 certificates in x5c",
        ),
        (
            with_x5c(&json, "\"AAAA\""),
            "x5c is not an X.509 certificate",
        ),
        (
            with_x5c(&json, &format!("\"{}\"", STANDARD.encode(leaf.cert_der()))),
            "its certificate CN=not-a-ca is not a CA",
        ),
        (
            with_x5c(&json, &format!("\"{}\"", STANDARD.encode(other.cert_der()))),
            "EC key parameters are not the public key of its x5c certificate",
        ),
        (
            format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(2 << 20)),
            "more than the 1048576",
        ),
    ];
    for (bad, expected) in cases {
        let error = TrustStore::builder()
            .ca_pem(&bad)
            .build()
            .expect_err("refused");
        assert!(
            matches!(error, TrustStoreError::SpiffeBundle { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(expected), "{expected}: {error}");
    }
    // Only JWT keys: nothing to verify X509-SVIDs with.
    let jwt_only = json.replace("\"use\": \"x509-svid\"", "\"use\": \"x509-svid-not\"");
    let error = TrustStore::builder()
        .ca_pem(&jwt_only)
        .build()
        .expect_err("no CA");
    assert!(
        matches!(
            &error,
            TrustStoreError::SpiffeBundle {
                error: SpiffeBundleError::NoX509Authorities,
                ..
            }
        ),
        "{error:?}"
    );
    let parsed = SpiffeBundle::parse(jwt_only.as_bytes()).expect("parses");
    assert_eq!(parsed.ignored_key_count(), 1);
}
