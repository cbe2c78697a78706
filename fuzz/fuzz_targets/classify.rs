//! The classifier (webpki path building, core's time checks, the rules
//! OpenSSL adds, the reasons and their context) on any presented chain
//! against a real CA: a verdict, never a panic.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use mtls_status::der::Reader;
use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStore};
use rustls_pki_types::{CertificateDer, UnixTime};

static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(|| {
    let store = TrustStore::builder()
        .ca_pem(include_str!("../seeds/ca.pem"))
        .build()
        .expect("seed CA loads");
    Classifier::builder(
        ReloadableTrustStore::new(store),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .max_depth(3)
    .cache_capacity(0)
    .build()
    .expect("classifier")
});

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader::new(data);
    let mut chain = Vec::new();
    while let Ok(tlv) = reader.read() {
        chain.push(CertificateDer::from(tlv.raw.to_vec()));
        if chain.len() == 8 {
            break;
        }
    }
    if chain.is_empty() {
        return;
    }
    let outcome = CLASSIFIER.classify_at(Some(&chain), UnixTime::now());
    let _ = format!("{outcome:?}");
});
