//! RFC 2253 names (nginx's `$ssl_client_s_dn` format) for context and
//! accepted-CA lists.

use rustls::DistinguishedName;
use rustls_pki_types::CertificateDer;

use mtls_status::der::issuer_and_subject;

/// RFC 2253 form of a Name given as its DER content (without the SEQUENCE
/// header, as rustls-webpki hands names out).
pub(crate) fn name_dn(content: &[u8]) -> String {
    let name = DistinguishedName::in_sequence(content);
    mtls_status::identity::rfc2253(name.as_ref()).unwrap_or_else(|_| "<unreadable name>".to_owned())
}

/// RFC 2253 subject of a certificate.
pub(crate) fn subject_dn(cert: &CertificateDer<'_>) -> String {
    match issuer_and_subject(cert.as_ref()) {
        Some((_, subject)) => name_dn(subject),
        None => "<unreadable certificate>".to_owned(),
    }
}
