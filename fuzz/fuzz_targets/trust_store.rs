//! CA bundles and CRLs as the trust store loads them (PEM, DER CRLs and
//! SPIFFE bundle JSON, detected by content): errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_status_rustls::TrustStore;

/// A real CA, so that CRL inputs are read against a loaded bundle.
const CA: &str = include_str!("../seeds/ca.pem");

fuzz_target!(|data: &[u8]| {
    if let Ok(store) = TrustStore::builder().ca_pem(data).build() {
        let _ = (store.anchor_count(), store.accepted_ca_names());
        let _ = store.skipped_certificates();
    }
    let _ = TrustStore::builder().trusted_pem(data).build();
    let _ = TrustStore::builder().ca_pem(CA).crl_pem(data).build();
});
