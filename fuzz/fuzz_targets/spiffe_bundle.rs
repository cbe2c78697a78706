//! SPIFFE bundle JSON as SPIRE and federation endpoints serve it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_status_rustls::SpiffeBundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = SpiffeBundle::parse(data) {
        let _ = (
            bundle.x509_authorities(),
            bundle.refresh_hint(),
            bundle.sequence_number(),
        );
    }
});
