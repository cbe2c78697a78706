//! An X.509 certificate (RFC 5280 4.1), read in place: the signed bytes,
//! names, validity and the extensions identity, classifier and lints look at.
//! Signatures are not checked here.

use super::reader::{self, DerError, Reader, tag};
use super::time::Time;

/// `[0] EXPLICIT Version`.
const VERSION: u8 = 0xA0;
/// `[1] IMPLICIT issuerUniqueID` (primitive, or constructed in BER).
const ISSUER_UID: [u8; 2] = [0x81, 0xA1];
/// `[2] IMPLICIT subjectUniqueID`.
const SUBJECT_UID: [u8; 2] = [0x82, 0xA2];
/// `[3] EXPLICIT Extensions`.
const EXTENSIONS: u8 = 0xA3;
/// GeneralName `[6] IMPLICIT IA5String` (uniformResourceIdentifier).
const URI_NAME: u8 = 0x86;

/// Extension OIDs (DER content octets).
pub mod oid {
    /// id-ce-subjectAltName (2.5.29.17).
    pub const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1D, 0x11];
    /// id-ce-basicConstraints (2.5.29.19).
    pub const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1D, 0x13];
    /// id-ce-keyUsage (2.5.29.15).
    pub const KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x0F];
    /// id-ce-extKeyUsage (2.5.29.37).
    pub const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1D, 0x25];
    /// id-ce-subjectKeyIdentifier (2.5.29.14).
    pub const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1D, 0x0E];
    /// id-ce-authorityKeyIdentifier (2.5.29.35).
    pub const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1D, 0x23];
    /// id-ce-cRLNumber (2.5.29.20).
    pub const CRL_NUMBER: &[u8] = &[0x55, 0x1D, 0x14];
    /// id-pe-authorityInfoAccess (1.3.6.1.5.5.7.1.1).
    pub const AUTHORITY_INFO_ACCESS: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
    /// id-ce-cRLDistributionPoints (2.5.29.31).
    pub const CRL_DISTRIBUTION_POINTS: &[u8] = &[0x55, 0x1D, 0x1F];
    /// id-ad-ocsp (1.3.6.1.5.5.7.48.1), an AIA access method.
    pub const AD_OCSP: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    /// id-kp-OCSPSigning (1.3.6.1.5.5.7.3.9), an extended key usage.
    pub const KP_OCSP_SIGNING: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];
    /// Netscape certificate type (2.16.840.1.113730.1.1).
    pub const NS_CERT_TYPE: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xF8, 0x42, 0x01, 0x01];
}

/// nsCertType sslCA, smimeCA and objCA (OpenSSL `NS_ANY_CA`), in the first
/// byte of the bit string.
const NS_ANY_CA: u8 = 0x07;

/// Which part of a certificate is malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed {0}")]
pub struct CertificateError(&'static str);

impl CertificateError {
    /// The part that could not be read (`"notBefore"`, `"issuer"`, ...).
    pub fn part(&self) -> &'static str {
        self.0
    }
}

fn ctx(what: &'static str) -> impl Fn(DerError) -> CertificateError {
    move |_| CertificateError(what)
}

/// A DER certificate, borrowed: every field is a slice of the input.
///
/// ```
/// use mtls_status::der::Certificate;
/// use rcgen::{CertificateParams, KeyPair};
///
/// let mut params = CertificateParams::new(vec!["client.example".into()]).unwrap();
/// params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(1));
/// let der = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
/// let cert = Certificate::parse(der.der()).unwrap();
/// assert!(cert.is_self_issued());
/// assert_eq!(cert.basic_constraints(), Some((true, Some(1))));
/// assert!(cert.not_before().unix() < cert.not_after().unix());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Certificate<'a> {
    /// The whole DER of tbsCertificate (the signed bytes).
    pub tbs: &'a [u8],
    /// The content of signatureAlgorithm (without the SEQUENCE header).
    pub signature_algorithm: &'a [u8],
    /// The signature bits (content of the BIT STRING after its unused-bits
    /// octet).
    pub signature: &'a [u8],
    /// The version INTEGER's content, when present (`[2]` is v3).
    pub version: Option<&'a [u8]>,
    /// The content of the serial number INTEGER.
    pub serial: &'a [u8],
    /// The content of the issuer Name SEQUENCE.
    pub issuer: &'a [u8],
    /// The content of the subject Name SEQUENCE.
    pub subject: &'a [u8],
    /// The whole DER of the subject Name, tag and length included (what
    /// OCSP's issuerNameHash is computed over).
    pub subject_der: &'a [u8],
    /// The content of the SubjectPublicKeyInfo SEQUENCE.
    pub spki: &'a [u8],
    not_before: Time<'a>,
    not_after: Time<'a>,
    /// Content of the Extensions SEQUENCE (empty without extensions).
    extensions: &'a [u8],
}

/// One certificate or CRL extension.
#[derive(Clone, Copy, Debug)]
pub struct Extension<'a> {
    /// The extnID content octets.
    pub oid: &'a [u8],
    /// Whether it is marked critical.
    pub critical: bool,
    /// The extnValue content (the DER of the extension's own value).
    pub value: &'a [u8],
}

impl<'a> Certificate<'a> {
    /// Parses a DER certificate; the error names the part that is malformed.
    ///
    /// # Errors
    ///
    /// [`CertificateError`] when the input is not one DER certificate.
    pub fn parse(der: &'a [u8]) -> Result<Self, CertificateError> {
        let cert = reader::single(der, tag::SEQUENCE).map_err(ctx("not a DER SEQUENCE"))?;
        let mut parts = Reader::new(cert.value);
        let tbs = parts.expect(tag::SEQUENCE).map_err(ctx("tbsCertificate"))?;
        let signature_algorithm = parts
            .expect(tag::SEQUENCE)
            .map_err(ctx("signatureAlgorithm"))?;
        let signature = parts
            .expect(tag::BIT_STRING)
            .map_err(ctx("signatureValue"))?;
        parts.finish().map_err(ctx("data after signatureValue"))?;

        let mut fields = Reader::new(tbs.value);
        let version = match fields.optional(VERSION).map_err(ctx("version"))? {
            Some(v) => Some(
                reader::single(v.value, tag::INTEGER)
                    .map_err(ctx("version"))?
                    .value,
            ),
            None => None,
        };
        let serial = fields.expect(tag::INTEGER).map_err(ctx("serialNumber"))?;
        fields.expect(tag::SEQUENCE).map_err(ctx("signature"))?;
        let issuer = fields.expect(tag::SEQUENCE).map_err(ctx("issuer"))?;
        let validity = fields.expect(tag::SEQUENCE).map_err(ctx("validity"))?;
        let mut times = Reader::new(validity.value);
        let mut time = |what: &'static str| {
            times
                .read()
                .ok()
                .and_then(|t| Time::parse(&t))
                .ok_or(CertificateError(what))
        };
        let not_before = time("notBefore")?;
        let not_after = time("notAfter")?;
        times.finish().map_err(ctx("validity"))?;
        let subject = fields.expect(tag::SEQUENCE).map_err(ctx("subject"))?;
        let spki = fields
            .expect(tag::SEQUENCE)
            .map_err(ctx("subjectPublicKeyInfo"))?;
        for uid in [ISSUER_UID, SUBJECT_UID] {
            for t in uid {
                fields.optional(t).map_err(ctx("unique identifier"))?;
            }
        }
        let extensions = match fields.optional(EXTENSIONS).map_err(ctx("extensions"))? {
            Some(e) => {
                let list = reader::single(e.value, tag::SEQUENCE).map_err(ctx("extensions"))?;
                // Check the structure once so that iterating cannot fail.
                let mut all = Extensions(Reader::new(list.value));
                while all.next_checked().map_err(ctx("extension"))?.is_some() {}
                list.value
            }
            None => &[],
        };
        fields.finish().map_err(ctx("data after extensions"))?;

        Ok(Self {
            tbs: tbs.raw,
            signature_algorithm: signature_algorithm.value,
            signature: bit_string(signature.value).ok_or(CertificateError("signatureValue"))?,
            version,
            serial: serial.value,
            issuer: issuer.value,
            subject: subject.value,
            subject_der: subject.raw,
            spki: spki.value,
            not_before,
            not_after,
            extensions,
        })
    }

    /// notBefore.
    pub fn not_before(&self) -> Time<'a> {
        self.not_before
    }

    /// notAfter.
    pub fn not_after(&self) -> Time<'a> {
        self.not_after
    }

    /// Whether `unix` (seconds) lies within notBefore..=notAfter, the way
    /// OpenSSL's `X509_cmp_time` compares.
    pub fn valid_at(&self, unix: i64) -> bool {
        self.not_before.unix() <= unix && unix <= self.not_after.unix()
    }

    /// Whether issuer and subject are the same name, byte for byte.
    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// Every extension, in order.
    pub fn extensions(&self) -> impl Iterator<Item = Extension<'a>> + use<'a> {
        let mut all = Extensions(Reader::new(self.extensions));
        std::iter::from_fn(move || all.next_checked().ok().flatten())
    }

    /// The extension with this OID; one present more than once counts as
    /// absent, as with OpenSSL's `X509_get_ext_d2i`.
    pub fn extension(&self, oid: &[u8]) -> Option<Extension<'a>> {
        let mut found = self.extensions().filter(|e| e.oid == oid);
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// basicConstraints as (cA, pathLenConstraint) when present. A
    /// pathLenConstraint that is negative or does not fit reads as 0, the
    /// strictest; an unreadable extension as `(false, None)`.
    pub fn basic_constraints(&self) -> Option<(bool, Option<u64>)> {
        let value = self.extension(oid::BASIC_CONSTRAINTS)?.value;
        let Ok(seq) = reader::single(value, tag::SEQUENCE) else {
            return Some((false, None));
        };
        let mut r = Reader::new(seq.value);
        let ca = matches!(r.optional(tag::BOOLEAN), Ok(Some(flag)) if flag.value.iter().any(|&b| b != 0));
        let path_len = match r.optional(tag::INTEGER) {
            Ok(Some(n)) => Some(unsigned(n.value).unwrap_or(0)),
            _ => None,
        };
        Some((ca, path_len))
    }

    /// The keyUsage extension.
    pub fn key_usage(&self) -> KeyUsage {
        match self.extension(oid::KEY_USAGE) {
            Some(ext) => KeyUsage::from_extension_value(ext.value),
            None => KeyUsage::Absent,
        }
    }

    /// The OIDs (content octets) of the extKeyUsage extension, when present;
    /// `Some(empty)` for an unreadable one.
    pub fn extended_key_usage(&self) -> Option<Vec<&'a [u8]>> {
        let value = self.extension(oid::EXT_KEY_USAGE)?.value;
        let mut oids = Vec::new();
        if let Ok(seq) = reader::single(value, tag::SEQUENCE) {
            let mut r = Reader::new(seq.value);
            while let Ok(oid) = r.expect(tag::OID) {
                oids.push(oid.value);
            }
        }
        Some(oids)
    }

    /// Whether a Netscape certificate type extension names a CA type
    /// (OpenSSL still takes such a certificate for a CA).
    pub fn ns_cert_type_ca(&self) -> bool {
        self.extension(oid::NS_CERT_TYPE)
            .and_then(|ext| reader::single(ext.value, tag::BIT_STRING).ok())
            .and_then(|bits| bits.value.get(1).copied())
            .is_some_and(|first| first & NS_ANY_CA != 0)
    }

    /// The subjectKeyIdentifier, when present and readable.
    pub fn subject_key_id(&self) -> Option<&'a [u8]> {
        let value = self.extension(oid::SUBJECT_KEY_ID)?.value;
        reader::single(value, tag::OCTET_STRING)
            .ok()
            .map(|t| t.value)
    }

    /// The keyIdentifier of the authorityKeyIdentifier, when present.
    pub fn authority_key_id(&self) -> Option<&'a [u8]> {
        key_identifier(self.extension(oid::AUTHORITY_KEY_ID)?.value)
    }

    /// The OCSP responder URLs of the authorityInfoAccess extension
    /// (accessMethod id-ad-ocsp, accessLocation a URI), in order; empty
    /// without one or when it is unreadable.
    pub fn ocsp_urls(&self) -> Vec<&'a str> {
        let mut urls = Vec::new();
        let Some(ext) = self.extension(oid::AUTHORITY_INFO_ACCESS) else {
            return urls;
        };
        let Ok(seq) = reader::single(ext.value, tag::SEQUENCE) else {
            return urls;
        };
        let mut descriptions = Reader::new(seq.value);
        while let Ok(description) = descriptions.expect(tag::SEQUENCE) {
            let mut fields = Reader::new(description.value);
            let (Ok(method), Ok(location)) = (fields.expect(tag::OID), fields.read()) else {
                continue;
            };
            // GeneralName uniformResourceIdentifier: [6] IMPLICIT IA5String.
            if method.value == oid::AD_OCSP
                && location.tag == URI_NAME
                && let Ok(url) = std::str::from_utf8(location.value)
            {
                urls.push(url);
            }
        }
        urls
    }

    /// The URIs of the cRLDistributionPoints extension (RFC 5280 4.2.1.13):
    /// each distribution point's `fullName` `uniformResourceIdentifier`s,
    /// in order, skipping points that name a `cRLIssuer` (indirect CRLs)
    /// or a name relative to the issuer; empty without the extension or
    /// when it is unreadable.
    ///
    /// ```
    /// use mtls_status::der::Certificate;
    /// use rcgen::{CertificateParams, CrlDistributionPoint, KeyPair};
    ///
    /// let mut params = CertificateParams::new(vec!["client.example".into()]).unwrap();
    /// params.crl_distribution_points = vec![CrlDistributionPoint {
    ///     uris: vec!["http://crl.example/ca.crl".into(), "ldap://crl.example/ca".into()],
    /// }];
    /// let der = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
    /// let cert = Certificate::parse(der.der()).unwrap();
    /// assert_eq!(
    ///     cert.crl_distribution_points(),
    ///     ["http://crl.example/ca.crl", "ldap://crl.example/ca"]
    /// );
    /// ```
    pub fn crl_distribution_points(&self) -> Vec<&'a str> {
        /// `[0]` distributionPoint (EXPLICIT: a CHOICE) and its `[0]`
        /// fullName (IMPLICIT GeneralNames), both constructed.
        const DP_NAME: u8 = 0xA0;
        const FULL_NAME: u8 = 0xA0;
        /// `[2] IMPLICIT GeneralNames` cRLIssuer.
        const CRL_ISSUER: u8 = 0xA2;
        let mut urls = Vec::new();
        let Some(ext) = self.extension(oid::CRL_DISTRIBUTION_POINTS) else {
            return urls;
        };
        let Ok(seq) = reader::single(ext.value, tag::SEQUENCE) else {
            return urls;
        };
        let mut points = Reader::new(seq.value);
        while let Ok(point) = points.expect(tag::SEQUENCE) {
            let mut fields = Reader::new(point.value);
            let mut names = None;
            let mut indirect = false;
            while let Ok(field) = fields.read() {
                match field.tag {
                    DP_NAME => names = Some(field.value),
                    CRL_ISSUER => indirect = true,
                    _ => {}
                }
            }
            let Some(name) = names.filter(|_| !indirect) else {
                continue;
            };
            let Ok(full) = reader::single(name, FULL_NAME) else {
                continue;
            };
            let mut general_names = Reader::new(full.value);
            while let Ok(general_name) = general_names.read() {
                if general_name.tag == URI_NAME
                    && let Ok(url) = std::str::from_utf8(general_name.value)
                {
                    urls.push(url);
                }
            }
        }
        urls
    }

    /// The algorithm (content of its AlgorithmIdentifier) and the key bits
    /// of the subject public key.
    pub fn public_key(&self) -> Option<(&'a [u8], &'a [u8])> {
        split_spki(self.spki)
    }
}

/// The algorithm (content of its AlgorithmIdentifier) and the key bits of a
/// SubjectPublicKeyInfo given as its content.
pub fn split_spki(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut r = Reader::new(spki);
    let algorithm = r.expect(tag::SEQUENCE).ok()?;
    let key = bit_string(r.expect(tag::BIT_STRING).ok()?.value)?;
    Some((algorithm.value, key))
}

/// Issuer and subject (contents of their Name SEQUENCEs) of a DER
/// certificate, reading nothing else: cheap, and it works on certificates
/// whose other fields [`Certificate::parse`] refuses.
pub fn issuer_and_subject(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let cert = Reader::new(der).expect(tag::SEQUENCE).ok()?;
    let tbs = Reader::new(cert.value).expect(tag::SEQUENCE).ok()?;
    let mut tbs = Reader::new(tbs.value);
    tbs.optional(VERSION).ok()?;
    tbs.expect(tag::INTEGER).ok()?;
    tbs.expect(tag::SEQUENCE).ok()?;
    let issuer = tbs.expect(tag::SEQUENCE).ok()?;
    tbs.expect(tag::SEQUENCE).ok()?;
    let subject = tbs.expect(tag::SEQUENCE).ok()?;
    Some((issuer.value, subject.value))
}

/// The keyIdentifier (`[0] IMPLICIT OCTET STRING`) of an
/// authorityKeyIdentifier value.
pub(crate) fn key_identifier(value: &[u8]) -> Option<&[u8]> {
    let seq = reader::single(value, tag::SEQUENCE).ok()?;
    Reader::new(seq.value).optional(0x80).ok()?.map(|t| t.value)
}

/// A cursor over `Extension` SEQUENCEs.
pub(crate) struct Extensions<'a>(pub(crate) Reader<'a>);

impl<'a> Extensions<'a> {
    pub(crate) fn next_checked(&mut self) -> Result<Option<Extension<'a>>, DerError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let ext = self.0.expect(tag::SEQUENCE)?;
        let mut fields = Reader::new(ext.value);
        let oid = fields.expect(tag::OID)?;
        let critical = fields
            .optional(tag::BOOLEAN)?
            .is_some_and(|flag| flag.value.iter().any(|&b| b != 0));
        let value = fields.expect(tag::OCTET_STRING)?;
        fields.finish()?;
        Ok(Some(Extension {
            oid: oid.value,
            critical,
            value: value.value,
        }))
    }
}

/// A certificate's keyUsage extension (RFC 5280 4.2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUsage {
    /// No keyUsage extension: every usage is allowed.
    Absent,
    /// The asserted bits: bit `n` of the value is KeyUsage bit `n`
    /// (0 = digitalSignature, 5 = keyCertSign, 6 = cRLSign, 8 =
    /// decipherOnly).
    Bits(u16),
    /// The extension is there but its value is not a DER BIT STRING.
    Malformed,
}

impl KeyUsage {
    /// digitalSignature (bit 0).
    pub const DIGITAL_SIGNATURE: u8 = 0;
    /// keyCertSign (bit 5).
    pub const KEY_CERT_SIGN: u8 = 5;
    /// cRLSign (bit 6).
    pub const CRL_SIGN: u8 = 6;

    /// Parses the extnValue content (a BIT STRING).
    pub fn from_extension_value(value: &[u8]) -> Self {
        let parsed = reader::single(value, tag::BIT_STRING)
            .ok()
            .and_then(|bits| {
                let (&unused, bytes) = bits.value.split_first()?;
                // DER: at most 7 unused bits, none in an empty string.
                if unused > 7 || (bytes.is_empty() && unused != 0) {
                    return None;
                }
                let mut out = 0u16;
                for bit in 0..9u8 {
                    let byte = bytes.get(usize::from(bit / 8)).copied().unwrap_or(0);
                    if byte & (0x80 >> (bit % 8)) != 0 {
                        out |= 1 << bit;
                    }
                }
                Some(out)
            });
        match parsed {
            Some(bits) => Self::Bits(bits),
            None => Self::Malformed,
        }
    }

    /// Whether the extension allows usage `bit`: absent allows everything,
    /// a malformed one nothing.
    pub fn allows(self, bit: u8) -> bool {
        match self {
            Self::Absent => true,
            Self::Bits(bits) => bits & (1 << bit) != 0,
            Self::Malformed => false,
        }
    }
}

/// A non-negative INTEGER's value, if it fits in a `u64`.
pub(crate) fn unsigned(content: &[u8]) -> Option<u64> {
    if content.first().is_none_or(|&first| first & 0x80 != 0) {
        return None;
    }
    let significant = match content.iter().position(|&b| b != 0) {
        Some(start) => content.get(start..)?,
        None => &[],
    };
    if significant.len() > 8 {
        return None;
    }
    Some(
        significant
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    )
}

/// The bits of a BIT STRING value with no unused bits.
pub(crate) fn bit_string(value: &[u8]) -> Option<&[u8]> {
    match value.split_first()? {
        (0, bits) => Some(bits),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_integers() {
        assert_eq!(unsigned(&[0x00]), Some(0));
        assert_eq!(unsigned(&[0x05]), Some(5));
        assert_eq!(unsigned(&[0x00, 0xff]), Some(255));
        assert_eq!(unsigned(&[0x7f; 8]), Some(0x7f7f_7f7f_7f7f_7f7f));
        // Leading zeros (not DER, but harmless), however many.
        let mut padded = vec![0u8; 10_000];
        padded.push(3);
        assert_eq!(unsigned(&padded), Some(3));
        assert_eq!(unsigned(&[]), None);
        assert_eq!(unsigned(&[0x80]), None, "negative");
        assert_eq!(unsigned(&[0x01; 9]), None, "too large");
    }

    #[test]
    fn key_usage_bits() {
        let ku = |value: &[u8]| KeyUsage::from_extension_value(value);
        // keyCertSign + cRLSign: 0000 0110, 1 unused bit.
        assert_eq!(ku(&[0x03, 0x02, 0x01, 0x06]), KeyUsage::Bits(0b110_0000));
        assert!(ku(&[0x03, 0x02, 0x01, 0x06]).allows(KeyUsage::KEY_CERT_SIGN));
        assert!(ku(&[0x03, 0x02, 0x01, 0x06]).allows(KeyUsage::CRL_SIGN));
        // digitalSignature only.
        let digital = ku(&[0x03, 0x02, 0x07, 0x80]);
        assert_eq!(digital, KeyUsage::Bits(1));
        assert!(!digital.allows(KeyUsage::KEY_CERT_SIGN));
        // decipherOnly lives in the second byte.
        assert_eq!(ku(&[0x03, 0x03, 0x07, 0x00, 0x80]), KeyUsage::Bits(1 << 8));
        // An empty BIT STRING asserts nothing.
        assert_eq!(ku(&[0x03, 0x01, 0x00]), KeyUsage::Bits(0));
        // Not a BIT STRING, bad unused-bit counts, trailing bytes.
        for bad in [
            &[0x04, 0x01, 0x00][..],
            &[0x03, 0x01, 0x01],
            &[0x03, 0x02, 0x08, 0x80],
            &[0x03, 0x02, 0x07, 0x80, 0x00],
            &[],
        ] {
            assert_eq!(ku(bad), KeyUsage::Malformed, "{bad:02x?}");
            assert!(!ku(bad).allows(KeyUsage::KEY_CERT_SIGN));
        }
        assert!(KeyUsage::Absent.allows(KeyUsage::KEY_CERT_SIGN));
    }

    #[test]
    fn garbage_never_panics() {
        let mut data = vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff];
        assert!(Certificate::parse(&data).is_err());
        data = vec![0x30, 0x82, 0x01];
        assert!(Certificate::parse(&data).is_err());
        for len in 0..64u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ 0x30).collect();
            assert!(Certificate::parse(&bytes).is_err());
            assert!(issuer_and_subject(&bytes).is_none());
            assert!(crate::der::Crl::parse(&bytes).is_none());
        }
        assert!(split_spki(&[0x30, 0x00, 0x03, 0x01, 0x01]).is_none());
    }

    #[test]
    fn basic_constraints_and_duplicates() {
        let ext = |value: &[u8]| {
            let mut e = vec![
                0x30,
                0x00,
                0x06,
                0x03,
                0x55,
                0x1D,
                0x13,
                0x04,
                value.len() as u8,
            ];
            e.extend_from_slice(value);
            e[1] = (e.len() - 2) as u8;
            e
        };
        fn cert(exts: &[u8]) -> Certificate<'_> {
            Certificate {
                tbs: &[],
                signature_algorithm: &[],
                signature: &[],
                version: None,
                serial: &[1],
                issuer: &[],
                subject: &[],
                subject_der: &[],
                spki: &[],
                not_before: NEVER,
                not_after: NEVER,
                extensions: exts,
            }
        }
        let ca = ext(&[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x02]);
        assert_eq!(cert(&ca).basic_constraints(), Some((true, Some(2))));
        let leaf = ext(&[0x30, 0x03, 0x01, 0x01, 0x00]);
        assert_eq!(cert(&leaf).basic_constraints(), Some((false, None)));
        let negative = ext(&[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x80]);
        assert_eq!(cert(&negative).basic_constraints(), Some((true, Some(0))));
        assert_eq!(cert(&[]).basic_constraints(), None);
        // Present twice: absent, as X509_get_ext_d2i has it.
        let twice = [ca.clone(), ca].concat();
        assert_eq!(cert(&twice).basic_constraints(), None);
    }

    const NEVER: Time<'static> = Time::EPOCH;
}
