//! Chains built to make path building expensive. rustls-webpki checks
//! signatures only once a candidate path reaches a trust anchor, so certificates
//! that share a name (with different keys) multiply the candidate paths, and
//! every candidate path re-reads every intermediate offered: certificates with
//! unrelated names multiply the cost of each step. Its own budget stops the
//! search only after 200,000 steps, which with a 64 KiB Certificate message
//! took seconds of CPU per handshake (measured, release build). The classifier
//! bounds the search before starting it.
//!
//! Real handshakes on 127.0.0.1 (rustls client, ring provider, PKIs
//! generated per test); no timing is asserted.

use std::sync::Arc;

use crate::common::{Harness, Presented, TLS13, provider, store_of};
use mtls_status::{ReasonKind, VerifyMode};
use mtls_status_rustls::{Classifier, DEFAULT_CACHE_CAPACITY};
use mtls_testpki::rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use mtls_testpki::{Ca, KeyAlgorithm, Pki, unix_now};
use rustls_pki_types::CertificateDer;

/// `count` self-signed CA certificates that all have the subject `name`,
/// each with a key of its own (small Ed25519 certificates, so that many
/// fit in one Certificate message).
fn same_name_cas(name: &str, count: usize) -> Vec<Ca> {
    (0..count)
        .map(|_| Ca::root(name).key(KeyAlgorithm::Ed25519).build())
        .collect()
}

/// `count` certificates whose names nothing else in the chain uses.
fn unrelated(count: usize) -> Vec<CertificateDer<'static>> {
    (0..count)
        .map(|i| {
            Ca::root(format!("Unrelated {i}"))
                .key(KeyAlgorithm::Ed25519)
                .build()
                .cert_der()
        })
        .collect()
}

#[tokio::test]
async fn chain_with_too_many_candidate_paths_is_too_complex() {
    let pki = Arc::new(Pki::generate());
    let classifier = Classifier::builder(store_of(&[&pki.root]), provider())
        .build()
        .expect("classifier builds");
    let harness = Harness::new(Arc::clone(&pki));

    // 8 certificates named "Evil" (each may follow any other: 8 x 7 x ...
    // candidate paths up to 6 deep) and 180 unrelated ones, in one message
    // under rustls's 64 KiB handshake-message limit.
    let evil = same_name_cas("Evil", 8);
    let leaf = evil[0].leaf("client-of-evil").build();
    let mut chain = vec![leaf.cert_der()];
    chain.extend(evil.iter().map(Ca::cert_der));
    chain.extend(unrelated(180));
    let size: usize = chain.iter().map(|c| c.len() + 5).sum();
    assert!(size < 0xffff, "fits in one handshake message: {size}");

    let (client, server) = harness
        .run(
            &classifier,
            VerifyMode::On,
            Presented::Chain(chain, leaf.key_der()),
            TLS13,
            None,
        )
        .await;
    assert_eq!(client.result, Ok(()), "the handshake completes");
    assert_eq!(
        server.reason_kind(),
        Some(ReasonKind::TooComplex),
        "{:?}",
        server.outcome()
    );
    let reason = server.outcome().reason().expect("invalid");
    assert!(
        !reason.is_untrusted_issuer(),
        "never tolerated by optional_no_ca"
    );
    let message = reason.context().message.as_deref().unwrap_or("");
    assert!(message.contains("candidate"), "{message}");

    // Fewer same-name certificates and no padding: searched as usual.
    let few = same_name_cas("Few", 3);
    let leaf = few[0].leaf("client-of-few").build();
    let mut chain = vec![leaf.cert_der()];
    chain.extend(few.iter().map(Ca::cert_der));
    let (_, server) = harness
        .run(
            &classifier,
            VerifyMode::On,
            Presented::Chain(chain, leaf.key_der()),
            TLS13,
            None,
        )
        .await;
    assert_eq!(
        server.reason_kind(),
        Some(ReasonKind::SelfSignedInChain),
        "{:?}",
        server.outcome()
    );
}

#[tokio::test]
async fn valid_chain_with_extra_certificates_is_still_verified() {
    // A client that sends its own chain, its root, and unrelated extra
    // certificates (a whole keychain) is not refused by the bound.
    let pki = Arc::new(Pki::generate());
    let classifier = Classifier::builder(store_of(&[&pki.root]), provider())
        .build()
        .expect("classifier builds");
    let client = &pki.valid_via_intermediate;
    let mut chain = client.chain_with_root();
    chain.extend(unrelated(40));
    let (_, server) = Harness::new(Arc::clone(&pki))
        .run(
            &classifier,
            VerifyMode::On,
            Presented::Chain(chain, client.key_der()),
            TLS13,
            None,
        )
        .await;
    assert!(server.outcome().is_verified(), "{:?}", server.outcome());
}

/// A self-signed certificate just under the cache's 16 KiB chain limit whose
/// names expand about sixfold as text (every non-ASCII byte is escaped as
/// `\XX` in the RFC 2253 forms).
fn bulky_certificate(serial: u64) -> CertificateDer<'static> {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("bulky {serial}"));
    dn.push(DnType::OrganizationName, "\u{e9}".repeat(1400));
    dn.push(DnType::OrganizationalUnitName, "\u{e9}".repeat(1400));
    params.distinguished_name = dn;
    params.subject_alt_names = (0..200)
        .map(|i| SanType::DnsName(format!("a{i}.example").try_into().expect("dns name")))
        .collect();
    params.self_signed(&key).expect("signs").der().clone()
}

#[test]
fn verdict_cache_memory_is_bounded_by_bytes_not_only_entries() {
    // Invalid verdicts are cached too, each with the identity read from the
    // presented certificate: a client can fill the cache with certificates
    // of its own making. The cache must keep its documented bound of
    // capacity x 16 KiB, counting what each verdict keeps alive.
    let pki = Pki::generate();
    let classifier = Classifier::builder(store_of(&[&pki.root]), provider())
        .build()
        .expect("classifier builds");
    let now = unix_now();
    let mut retained_per_verdict = usize::MAX;
    for serial in 0..300 {
        let chain = [bulky_certificate(serial)];
        let outcome = classifier.classify_at(Some(&chain), now);
        let identity = outcome.presented_identity().expect("readable");
        let text = identity.subject_dn().len()
            + identity.issuer_dn().len()
            + identity.subject_dn_legacy().len()
            + identity.issuer_dn_legacy().len();
        // The chain twice (cache key and identity) plus its names as text.
        retained_per_verdict = retained_per_verdict.min(2 * chain[0].len() + text);
    }
    assert!(retained_per_verdict > 64 * 1024, "{retained_per_verdict}");
    let stats = classifier.cache_stats();
    assert!(stats.entries > 0, "{stats:?}");
    assert!(
        stats.entries * retained_per_verdict <= DEFAULT_CACHE_CAPACITY * 16 * 1024,
        "{} verdicts of at least {retained_per_verdict} bytes each: {stats:?}",
        stats.entries
    );
}
