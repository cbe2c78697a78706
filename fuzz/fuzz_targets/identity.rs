//! The one DER reader and the identity built on it: everything
//! `$ssl_client_*` shows of a client certificate, from any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtls_status::der::{Certificate, Crl, Reader, dotted, short_name};
use mtls_status::identity::ClientIdentity;
use rustls_pki_types::{CertificateDer, UnixTime};

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::parse(data) {
        let _ = (cert.not_before().unix(), cert.not_after().fraction());
        let _ = (cert.is_self_issued(), cert.valid_at(0));
        for extension in cert.extensions() {
            let _ = (dotted(extension.oid), short_name(extension.oid));
        }
        let _ = (
            cert.basic_constraints(),
            cert.key_usage(),
            cert.extended_key_usage(),
        );
        let _ = (
            cert.ns_cert_type_ca(),
            cert.subject_key_id(),
            cert.authority_key_id(),
        );
        let _ = (cert.ocsp_urls(), cert.public_key());
    }
    if let Some(crl) = Crl::parse(data) {
        let _ = (
            crl.this_update.unix(),
            crl.authority_key_id(),
            crl.crl_number_critical(),
        );
    }
    // The leaf alone, and the input read as a chain of DER values.
    let mut chain = Vec::new();
    let mut reader = Reader::new(data);
    while let Ok(tlv) = reader.read() {
        chain.push(CertificateDer::from(tlv.raw.to_vec()));
        if chain.len() == 8 {
            break;
        }
    }
    let leaf = ClientIdentity::from_der(CertificateDer::from(data.to_vec()));
    let identities = [leaf.ok(), ClientIdentity::from_chain(chain).ok()];
    for identity in identities.iter().flatten() {
        let _ = (
            identity.subject_dn(),
            identity.issuer_dn(),
            identity.common_name(),
        );
        let _ = (identity.subject_dn_legacy(), identity.issuer_dn_legacy());
        let _ = (
            identity.serial(),
            identity.fingerprint_sha1(),
            identity.fingerprint_sha256(),
        );
        let _ = (identity.v_start(), identity.v_end());
        let _ = identity.v_remain(UnixTime::now());
        let _ = (
            identity.raw_pem(),
            identity.escaped_pem(),
            identity.legacy_cert(),
        );
        let _ = (identity.dns_names(), identity.uris(), identity.emails());
        let _ = (
            identity.ip_addresses(),
            identity.spiffe_id(),
            identity.is_ca(),
        );
    }
});
