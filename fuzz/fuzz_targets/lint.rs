//! The trust-configuration lints (`mtls lint`) over any certificates and
//! CRLs: the first half of the input as a chain of DER values, the rest as
//! CRLs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_status::der::Reader;
use mtls_status::lint::{LintSettings, lint_trust_config};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};

fn values(data: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = Reader::new(data);
    let mut out = Vec::new();
    while let Ok(tlv) = reader.read() {
        out.push(tlv.raw.to_vec());
        if out.len() == 16 {
            break;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (certs, crls) = data.split_at(data.len() / 2);
    let certs: Vec<CertificateDer<'static>> = values(certs)
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let crls: Vec<CertificateRevocationListDer<'static>> = values(crls)
        .into_iter()
        .map(CertificateRevocationListDer::from)
        .collect();
    for lint in lint_trust_config(&certs, &crls, &LintSettings::new(UnixTime::now())) {
        let _ = lint.to_string();
    }
});
