//! Cost of classifying a client certificate chain, side by side in one run
//! (DESIGN.md §5: a chain seen before costs under 1 µs):
//!
//! - `webpki_verify_for_usage`: plain rustls-webpki path validation of the
//!   same chain against the same root, the floor for a cold classification;
//! - `cold`: `Classifier::classify` with the verdict cache disabled (path
//!   validation, verdict and identity parsing every time);
//! - `cached`: `Classifier::classify` of a chain seen before (cache hit);
//! - `cached_invalid`: a cache hit on an `Invalid` verdict (unknown CA).
//!
//! The chain is the usual mTLS shape: an ECDSA P-256 leaf sent with its
//! intermediate, under a root in the CA bundle.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStore};
use mtls_testpki::Pki;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::UnixTime;

fn classify(c: &mut Criterion) {
    let pki = Pki::generate();
    let provider: Arc<CryptoProvider> = Arc::new(rustls::crypto::ring::default_provider());
    let store = TrustStore::builder()
        .ca_pem(pki.root.cert_pem())
        .build()
        .expect("trust store");
    let store = ReloadableTrustStore::new(store);
    let chain = pki.valid_via_intermediate.chain();
    let unknown = pki.unknown_ca.chain();

    let cold = Classifier::builder(store.clone(), Arc::clone(&provider))
        .cache_capacity(0)
        .build()
        .expect("classifier");
    let cached = Classifier::builder(store, Arc::clone(&provider))
        .build()
        .expect("classifier");
    assert!(cold.classify(Some(&chain)).is_verified());
    assert!(cached.classify(Some(&chain)).is_verified());
    assert!(cached.classify(Some(&unknown)).is_invalid());

    let root = pki.root.cert_der();
    let anchors = [webpki::anchor_from_trusted_cert(&root)
        .expect("anchor")
        .to_owned()];
    let algs = provider.signature_verification_algorithms.all;

    let mut group = c.benchmark_group("classify");
    group.bench_function("webpki_verify_for_usage", |b| {
        b.iter(|| {
            let leaf = webpki::EndEntityCert::try_from(&chain[0]).expect("leaf parses");
            let verified = leaf
                .verify_for_usage(
                    algs,
                    &anchors,
                    &chain[1..],
                    UnixTime::now(),
                    webpki::KeyUsage::client_auth(),
                    None,
                    None,
                )
                .is_ok();
            black_box(verified)
        });
    });
    group.bench_function("cold", |b| {
        b.iter(|| black_box(cold.classify(Some(black_box(&chain)))));
    });
    group.bench_function("cached", |b| {
        b.iter(|| black_box(cached.classify(Some(black_box(&chain)))));
    });
    group.bench_function("cached_invalid", |b| {
        b.iter(|| black_box(cached.classify(Some(black_box(&unknown)))));
    });
    group.finish();
    // Each chain misses once, then hits (criterion's `--test` mode runs each
    // benchmark once, so expect at least one hit rather than a majority).
    let stats = cached.cache_stats();
    assert!(
        stats.misses <= 2 && stats.hits >= 1,
        "the cached benchmark must hit: {stats:?}"
    );
}

criterion_group!(benches, classify);
criterion_main!(benches);
