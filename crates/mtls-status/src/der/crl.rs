//! A certificate revocation list (RFC 5280 5.1), read in place: the signed
//! bytes, issuer, update times and the extensions, not the revoked entries.

use std::cmp::Ordering;

use super::cert::{Extension, Extensions, bit_string, key_identifier, oid};
use super::reader::{Reader, tag};
use super::time::Time;

/// `[0] EXPLICIT Extensions` in a TBSCertList.
const CRL_EXTENSIONS: u8 = 0xA0;

/// A DER CRL, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Crl<'a> {
    /// The whole DER of tbsCertList (the signed bytes).
    pub tbs: &'a [u8],
    /// The content of signatureAlgorithm (without the SEQUENCE header).
    pub signature_algorithm: &'a [u8],
    /// The signature bits (content of the BIT STRING after its unused-bits
    /// octet).
    pub signature: &'a [u8],
    /// The content of the issuer Name SEQUENCE.
    pub issuer: &'a [u8],
    /// thisUpdate.
    pub this_update: Time<'a>,
    /// nextUpdate, when present.
    pub next_update: Option<Time<'a>>,
    /// Content of the crlExtensions SEQUENCE (empty without extensions, or
    /// when it cannot be followed).
    extensions: &'a [u8],
}

impl<'a> Crl<'a> {
    /// Parses a DER CRL; `None` when it is malformed.
    pub fn parse(der: &'a [u8]) -> Option<Self> {
        let list = Reader::new(der).expect(tag::SEQUENCE).ok()?;
        let mut parts = Reader::new(list.value);
        let tbs_tlv = parts.expect(tag::SEQUENCE).ok()?;
        let signature_algorithm = parts.expect(tag::SEQUENCE).ok()?;
        let signature = bit_string(parts.expect(tag::BIT_STRING).ok()?.value)?;
        parts.finish().ok()?;
        let mut tbs = Reader::new(tbs_tlv.value);
        tbs.optional(tag::INTEGER).ok()?; // version
        tbs.expect(tag::SEQUENCE).ok()?; // signature
        let issuer = tbs.expect(tag::SEQUENCE).ok()?;
        let this_update = Time::parse(&tbs.read().ok()?)?;
        let next_update = match tbs.peek_tag() {
            Some(tag::UTC_TIME | tag::GENERALIZED_TIME) => Some(Time::parse(&tbs.read().ok()?)?),
            Some(tag::SEQUENCE | CRL_EXTENSIONS) | None => None,
            Some(_) => return None,
        };
        // revokedCertificates, then crlExtensions; if this reader cannot
        // follow them, the CRL reads as having no extensions.
        let extensions = tbs
            .optional(tag::SEQUENCE)
            .ok()
            .and_then(|_| tbs.optional(CRL_EXTENSIONS).ok().flatten())
            .and_then(|e| super::reader::single(e.value, tag::SEQUENCE).ok())
            .map_or(&[][..], |list| list.value);
        Some(Self {
            tbs: tbs_tlv.raw,
            signature_algorithm: signature_algorithm.value,
            signature,
            issuer: issuer.value,
            this_update,
            next_update,
            extensions,
        })
    }

    /// Every crlExtension, in order.
    pub fn extensions(&self) -> impl Iterator<Item = Extension<'a>> + use<'a> {
        let mut all = Extensions(Reader::new(self.extensions));
        std::iter::from_fn(move || all.next_checked().ok().flatten())
    }

    /// The keyIdentifier of the authorityKeyIdentifier extension.
    pub fn authority_key_id(&self) -> Option<&'a [u8]> {
        self.extensions()
            .find(|e| e.oid == oid::AUTHORITY_KEY_ID)
            .and_then(|e| key_identifier(e.value))
    }

    /// Whether the cRLNumber extension is marked critical (RFC 5280 5.2.3
    /// forbids it; OpenSSL cannot use such a CRL).
    pub fn crl_number_critical(&self) -> bool {
        self.extensions()
            .find(|e| e.oid == oid::CRL_NUMBER)
            .is_some_and(|e| e.critical)
    }

    /// The cRLNumber (content of its INTEGER), when present and readable.
    pub fn crl_number(&self) -> Option<&'a [u8]> {
        let ext = self.extensions().find(|e| e.oid == oid::CRL_NUMBER)?;
        super::reader::single(ext.value, tag::INTEGER)
            .ok()
            .map(|n| n.value)
    }
}

/// Orders two cRLNumbers (INTEGER contents, non-negative as RFC 5280 5.2.3
/// requires, up to 20 octets) by value.
///
/// ```
/// use std::cmp::Ordering;
/// use mtls_status::der::compare_crl_numbers;
///
/// assert_eq!(compare_crl_numbers(&[0x00, 0x80], &[0x7f]), Ordering::Greater);
/// assert_eq!(compare_crl_numbers(&[0x01, 0x00], &[0x01, 0x00]), Ordering::Equal);
/// assert_eq!(compare_crl_numbers(&[0x05], &[0x01, 0x00]), Ordering::Less);
/// ```
pub fn compare_crl_numbers(a: &[u8], b: &[u8]) -> Ordering {
    fn significant(n: &[u8]) -> &[u8] {
        let start = n.iter().position(|&b| b != 0).unwrap_or(n.len());
        n.get(start..).unwrap_or_default()
    }
    let (a, b) = (significant(a), significant(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
