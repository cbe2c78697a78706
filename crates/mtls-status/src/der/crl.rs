//! A certificate revocation list (RFC 5280 5.1), read in place: issuer,
//! update times and the extensions, not the revoked entries.

use super::cert::{Extension, Extensions, key_identifier, oid};
use super::reader::{Reader, tag};
use super::time::Time;

/// `[0] EXPLICIT Extensions` in a TBSCertList.
const CRL_EXTENSIONS: u8 = 0xA0;

/// A DER CRL, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Crl<'a> {
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
        let tbs = Reader::new(list.value).expect(tag::SEQUENCE).ok()?;
        let mut tbs = Reader::new(tbs.value);
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
}
