//! Walks an X.509 certificate (RFC 5280 §4.1) far enough to build an identity:
//! serial, issuer, validity, subject and the extensions the identity exposes.
//! Signatures and key material are not looked at.

use super::asn1::{self, Asn1Error, Reader, Tlv, tag};
use super::dn::Name;
use super::san::SubjectAltNames;
use super::time::{self, CertTime};

/// `[0] EXPLICIT Version`.
const VERSION: u8 = 0xA0;
/// `[1] IMPLICIT issuerUniqueID` (primitive, or constructed in BER).
const ISSUER_UID: [u8; 2] = [0x81, 0xA1];
/// `[2] IMPLICIT subjectUniqueID`.
const SUBJECT_UID: [u8; 2] = [0x82, 0xA2];
/// `[3] EXPLICIT Extensions`.
const EXTENSIONS: u8 = 0xA3;

/// id-ce-subjectAltName (2.5.29.17).
const OID_SAN: &[u8] = &[0x55, 0x1D, 0x11];
/// id-ce-basicConstraints (2.5.29.19).
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];

/// The parts of a certificate an identity is made of.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert<'a> {
    /// Content octets of the serial number INTEGER.
    pub(crate) serial: &'a [u8],
    pub(crate) issuer: Name<'a>,
    pub(crate) subject: Name<'a>,
    pub(crate) not_before: CertTime,
    pub(crate) not_after: CertTime,
    pub(crate) sans: SubjectAltNames,
    pub(crate) is_ca: bool,
}

fn ctx(what: &'static str) -> impl Fn(Asn1Error) -> &'static str {
    move |_| what
}

impl<'a> ParsedCert<'a> {
    /// Parses a DER certificate. The error names the part that is malformed.
    pub(crate) fn parse(der: &'a [u8]) -> Result<Self, &'static str> {
        let cert = asn1::single(der, tag::SEQUENCE).map_err(ctx("not a DER SEQUENCE"))?;
        let mut parts = Reader::new(cert.value);
        let tbs = parts.expect(tag::SEQUENCE).map_err(ctx("tbsCertificate"))?;
        parts
            .expect(tag::SEQUENCE)
            .map_err(ctx("signatureAlgorithm"))?;
        parts
            .expect(tag::BIT_STRING)
            .map_err(ctx("signatureValue"))?;
        parts.finish().map_err(ctx("data after signatureValue"))?;

        let mut tbs = Reader::new(tbs.value);
        if let Some(version) = tbs.optional(VERSION).map_err(ctx("version"))? {
            asn1::single(version.value, tag::INTEGER).map_err(ctx("version"))?;
        }
        let serial = tbs.expect(tag::INTEGER).map_err(ctx("serialNumber"))?;
        tbs.expect(tag::SEQUENCE).map_err(ctx("signature"))?;
        let issuer = tbs.expect(tag::SEQUENCE).map_err(ctx("issuer"))?;
        let issuer = Name::from_content(issuer.value).map_err(|_| "issuer name")?;
        let validity = tbs.expect(tag::SEQUENCE).map_err(ctx("validity"))?;
        let (not_before, not_after) = parse_validity(validity.value)?;
        let subject = tbs.expect(tag::SEQUENCE).map_err(ctx("subject"))?;
        let subject = Name::from_content(subject.value).map_err(|_| "subject name")?;
        tbs.expect(tag::SEQUENCE)
            .map_err(ctx("subjectPublicKeyInfo"))?;
        for uid in [ISSUER_UID, SUBJECT_UID] {
            for t in uid {
                tbs.optional(t).map_err(ctx("unique identifier"))?;
            }
        }
        let extensions = tbs.optional(EXTENSIONS).map_err(ctx("extensions"))?;
        tbs.finish().map_err(ctx("data after extensions"))?;

        let mut sans = SubjectAltNames::default();
        let mut is_ca = false;
        if let Some(extensions) = extensions {
            let list = asn1::single(extensions.value, tag::SEQUENCE).map_err(ctx("extensions"))?;
            let found = find_extensions(list.value)?;
            if let Some(value) = found.san {
                sans = SubjectAltNames::parse(value).unwrap_or_default();
            }
            if let Some(value) = found.basic_constraints {
                is_ca = basic_constraints_ca(value);
            }
        }

        Ok(Self {
            serial: serial.value,
            issuer,
            subject,
            not_before,
            not_after,
            sans,
            is_ca,
        })
    }
}

fn parse_validity(content: &[u8]) -> Result<(CertTime, CertTime), &'static str> {
    let mut r = Reader::new(content);
    let mut next = |what: &'static str| -> Result<CertTime, &'static str> {
        let t: Tlv<'_> = r.read().map_err(|_| what)?;
        time::parse(&t).ok_or(what)
    };
    let not_before = next("notBefore")?;
    let not_after = next("notAfter")?;
    r.finish().map_err(ctx("validity"))?;
    Ok((not_before, not_after))
}

/// Extension values (`extnValue` contents) of interest. An extension present
/// more than once counts as absent, as with OpenSSL's `X509_get_ext_d2i`.
#[derive(Default)]
struct Found<'a> {
    san: Option<&'a [u8]>,
    basic_constraints: Option<&'a [u8]>,
}

fn find_extensions(list: &[u8]) -> Result<Found<'_>, &'static str> {
    let mut found = Found::default();
    let (mut san_count, mut bc_count) = (0usize, 0usize);
    let mut r = Reader::new(list);
    while !r.is_empty() {
        let ext = r.expect(tag::SEQUENCE).map_err(ctx("extension"))?;
        let mut fields = Reader::new(ext.value);
        let oid = fields.expect(tag::OID).map_err(ctx("extension id"))?;
        fields
            .optional(tag::BOOLEAN)
            .map_err(ctx("extension critical flag"))?;
        let value = fields
            .expect(tag::OCTET_STRING)
            .map_err(ctx("extension value"))?;
        fields.finish().map_err(ctx("extension"))?;
        if oid.value == OID_SAN {
            san_count += 1;
            found.san = Some(value.value);
        } else if oid.value == OID_BASIC_CONSTRAINTS {
            bc_count += 1;
            found.basic_constraints = Some(value.value);
        }
    }
    if san_count > 1 {
        found.san = None;
    }
    if bc_count > 1 {
        found.basic_constraints = None;
    }
    Ok(found)
}

/// `BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint
/// INTEGER OPTIONAL }`: true when cA is present and non-zero.
fn basic_constraints_ca(value: &[u8]) -> bool {
    let Ok(seq) = asn1::single(value, tag::SEQUENCE) else {
        return false;
    };
    let mut r = Reader::new(seq.value);
    match r.optional(tag::BOOLEAN) {
        Ok(Some(flag)) => flag.value.iter().any(|&b| b != 0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_constraints() {
        assert!(basic_constraints_ca(&[0x30, 0x03, 0x01, 0x01, 0xFF]));
        assert!(basic_constraints_ca(&[
            0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00
        ]));
        assert!(!basic_constraints_ca(&[0x30, 0x00]));
        assert!(!basic_constraints_ca(&[0x30, 0x03, 0x01, 0x01, 0x00]));
        assert!(!basic_constraints_ca(&[0x30, 0x03, 0x02, 0x01, 0x01]));
        assert!(!basic_constraints_ca(&[]));
    }

    #[test]
    fn duplicate_extensions_count_as_absent() {
        let ext = [
            0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D, 0x13, 0x04, 0x03, 0x30, 0x01, 0xFF,
        ];
        // Malformed inner value is fine here (only the container matters).
        let one = find_extensions(&ext).expect("valid");
        assert!(one.basic_constraints.is_some());
        let both = [ext, ext].concat();
        let two = find_extensions(&both).expect("valid");
        assert!(two.basic_constraints.is_none());
        assert!(find_extensions(&[0x30, 0x00]).is_err());
    }
}
