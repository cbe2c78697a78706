//! What a route's tolerance of `expired` / `not_yet_valid` relies on: the
//! classifier marks an invalid chain `valid_at` only when its time is its
//! **only** failure (#13 item 3).

use mtls_status::{ClientAuthOutcome, InvalidCertificate, ReasonKind};
use mtls_status_rustls::{ReloadableTrustStore, TrustStore};
use mtls_testpki::{Ca, Leaf, Pki, days_ago, unix_time};

use crate::common::{classifier, store_of};

fn invalid(store: ReloadableTrustStore, leaf: &Leaf) -> InvalidCertificate {
    let outcome = classifier(store).classify(Some(&leaf.chain()));
    match &*outcome {
        ClientAuthOutcome::Invalid(invalid) => invalid.clone(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn secs(t: mtls_testpki::time::OffsetDateTime) -> u64 {
    unix_time(t).as_secs()
}

fn trusting(pki: &Pki) -> ReloadableTrustStore {
    store_of(&[&pki.root, &pki.intermediate])
}

#[test]
fn expired_or_not_yet_valid_alone_is_valid_at_its_bound() {
    let pki = Pki::generate();
    let expired = invalid(trusting(&pki), &pki.expired);
    assert_eq!(expired.reason().kind(), ReasonKind::Expired);
    // The last second it was valid (it has expired at its notAfter).
    assert_eq!(
        expired.valid_at().map(|t| t.as_secs()),
        Some(secs(pki.expired.not_after()) - 1)
    );
    let early = invalid(trusting(&pki), &pki.not_yet_valid);
    assert_eq!(early.reason().kind(), ReasonKind::NotYetValid);
    assert_eq!(
        early.valid_at().map(|t| t.as_secs()),
        Some(secs(pki.not_yet_valid.not_before()))
    );
}

#[test]
fn a_cached_verdict_keeps_valid_at() {
    let pki = Pki::generate();
    let classifier = classifier(trusting(&pki));
    let chain = pki.expired.chain();
    let now = mtls_testpki::unix_now();
    let later = rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        now.as_secs() + 5,
    ));
    let first = classifier.classify_at(Some(&chain), now);
    let second = classifier.classify_at(Some(&chain), later);
    assert_eq!(
        classifier.cache_stats().hits,
        1,
        "the second is a cache hit"
    );
    let valid_at = |outcome: &ClientAuthOutcome| match outcome {
        ClientAuthOutcome::Invalid(invalid) => invalid.valid_at(),
        _ => None,
    };
    assert!(valid_at(&first).is_some());
    assert_eq!(valid_at(&second), valid_at(&first));
    assert_eq!(
        second
            .reason()
            .and_then(|r| r.context().time)
            .map(|t| t.as_secs()),
        Some(later.as_secs())
    );
}

#[test]
fn expired_with_another_failure_is_never_valid_at() {
    let pki = Pki::generate();
    // From a CA this service does not trust: nginx (and we) say `expired`.
    let stranger = pki.unknown_root.leaf("stranger").expired().build();
    let outcome = invalid(trusting(&pki), &stranger);
    assert_eq!(outcome.reason().kind(), ReasonKind::Expired);
    assert_eq!(outcome.valid_at(), None);
    // Expired and revoked.
    let revoked = pki.root.leaf("revoked-expired").expired().build();
    let crl = pki.root.crl().revoke(&revoked).build();
    let store = TrustStore::builder()
        .ca_pem(mtls_testpki::bundle_pem(&[&pki.root]))
        .crl_pem(crl.pem())
        .build()
        .expect("store");
    let outcome = invalid(ReloadableTrustStore::new(store), &revoked);
    assert_eq!(outcome.reason().kind(), ReasonKind::Expired);
    assert_eq!(outcome.valid_at(), None, "{:?}", outcome.reason());
    // Expired, and too deep for the default depth of 1.
    let chain = pki.root.chain_of_intermediates(2);
    let deep = chain[1].leaf("deep-expired").expired().build();
    let cas: Vec<&Ca> = std::iter::once(&pki.root).chain(&chain).collect();
    let outcome = invalid(store_of(&cas), &deep);
    assert_eq!(outcome.reason().kind(), ReasonKind::Expired);
    assert_eq!(outcome.valid_at(), None, "{:?}", outcome.reason());
}

#[test]
fn an_earlier_expired_intermediate_moves_the_instant_back() {
    let pki = Pki::generate();
    let old = pki
        .root
        .intermediate("old-intermediate")
        .valid_between(days_ago(400), days_ago(10))
        .build();
    let leaf = old
        .leaf("client-of-old")
        .valid_between(days_ago(300), days_ago(2))
        .build();
    let outcome = invalid(store_of(&[&pki.root]), &leaf);
    assert_eq!(outcome.reason().kind(), ReasonKind::Expired);
    assert_eq!(
        outcome.valid_at().map(|t| t.as_secs()),
        Some(secs(old.not_after()) - 1),
        "the chain last verified when the intermediate expired"
    );
}
