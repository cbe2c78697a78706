//! The CA names a server advertises in its CertificateRequest
//! (`certificate_authorities`, nginx: the subjects of
//! `ssl_client_certificate`), and how large they may grow.
//!
//! Clients refuse a CertificateRequest that is too large: rustls above
//! 64 KiB for the whole message, OpenSSL (curl, nginx as a client) above
//! 100 KiB of names by default. A CA bundle of a few thousand certificates
//! crosses that line (10 000 typical subjects take about 260 KiB), and then
//! no client can connect at all; nginx 1.22 itself fails those handshakes
//! with an internal error. Above [`MAX_ADVERTISED_CA_NAMES_BYTES`],
//! mtls-status advertises no names instead (clients then offer their
//! certificate without a hint, which TLS allows), and the lint
//! `ca_names_too_large` says so.
//!
//! ```
//! use mtls_status::ca_names::{MAX_ADVERTISED_CA_NAMES_BYTES, advertised_size};
//!
//! // `CN=a` as a Name's content: SET { SEQUENCE { OID 2.5.4.3, UTF8String "a" } }.
//! let cn_a = [0x31, 0x0A, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x01, 0x61];
//! // Each name: a 2-byte length, then the Name SEQUENCE (2-byte header here).
//! assert_eq!(advertised_size([&cn_a[..], &cn_a[..]]), 2 * (2 + 2 + cn_a.len()));
//! assert!(advertised_size([&cn_a[..]]) < MAX_ADVERTISED_CA_NAMES_BYTES);
//! ```

/// The most bytes of CA names advertised: half of what rustls clients
/// accept for the whole CertificateRequest, leaving room for its other
/// fields.
pub const MAX_ADVERTISED_CA_NAMES_BYTES: usize = 32 * 1024;

/// The bytes `subjects` take in a CertificateRequest's
/// `certificate_authorities`; each subject is a Name's content (without
/// its SEQUENCE header), as [`crate::der::Certificate::subject`].
pub fn advertised_size<'a>(subjects: impl IntoIterator<Item = &'a [u8]>) -> usize {
    subjects
        .into_iter()
        .map(|content| 2 + der_header_len(content.len()) + content.len())
        .sum()
}

/// The length of a DER tag and length for `len` content octets.
fn der_header_len(len: usize) -> usize {
    match len {
        0..=0x7F => 2,
        0x80..=0xFF => 3,
        0x100..=0xFFFF => 4,
        _ => 5,
    }
}
