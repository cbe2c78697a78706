//! A minimal, non-panicking DER reader for the few X.509 and CRL fields the
//! classifier needs beyond what rustls-webpki exposes: validity times, the
//! signed portion and signature of a certificate, basicConstraints, the
//! key usage bits, the extended key usage list, and a CRL's issuer, update
//! times and cRLNumber criticality.
//!
//! Everything here reads untrusted input: every length is checked, nothing
//! is indexed unchecked, and a malformed structure yields `None`.

/// DER tags used below.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xA0;
const ISSUER_UID: u8 = 0x81;
const SUBJECT_UID: u8 = 0x82;
const EXTENSIONS: u8 = 0xA3;
const CRL_EXTENSIONS: u8 = 0xA0;

/// id-ce-basicConstraints (2.5.29.19), DER content.
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// id-ce-extKeyUsage (2.5.29.37), DER content.
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
/// id-ce-keyUsage (2.5.29.15), DER content.
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
/// id-ce-cRLNumber (2.5.29.20), DER content.
const OID_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
/// Netscape certificate type (2.16.840.1.113730.1.1), DER content.
const OID_NS_CERT_TYPE: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x01];
/// nsCertType sslCA, smimeCA and objCA (OpenSSL `NS_ANY_CA`), in the first
/// byte of the bit string.
const NS_ANY_CA: u8 = 0x07;

/// A cursor over DER-encoded bytes.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { rest: data }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads one TLV: `(tag, value, whole encoding)`.
    fn read_tlv(&mut self) -> Option<(u8, &'a [u8], &'a [u8])> {
        let (&tag, after_tag) = self.rest.split_first()?;
        // High-tag-number form never occurs in the fields read here.
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, mut after_len) = after_tag.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            // Indefinite lengths are not DER; more than 4 length bytes is
            // absurd for a certificate.
            if n == 0 || n > 4 {
                return None;
            }
            let (len_bytes, rest) = after_len.split_at_checked(n)?;
            after_len = rest;
            len_bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        let (value, rest) = after_len.split_at_checked(len)?;
        let header = self.rest.len().checked_sub(after_len.len())?;
        let whole = self.rest.get(..header.checked_add(len)?)?;
        self.rest = rest;
        Some((tag, value, whole))
    }

    /// Reads a TLV with the given tag and returns its value.
    pub(crate) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.read_tlv()? {
            (t, value, _) if t == tag => Some(value),
            _ => None,
        }
    }

    /// Reads a TLV with the given tag and returns its whole encoding.
    fn expect_whole(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.read_tlv()? {
            (t, _, whole) if t == tag => Some(whole),
            _ => None,
        }
    }

    /// Reads the TLV only if it carries `tag`.
    fn optional(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag)
        } else {
            None
        }
    }

    /// Reads a UTCTime or GeneralizedTime as seconds since the Unix epoch.
    fn time(&mut self) -> Option<u64> {
        let (tag, value, _) = self.read_tlv()?;
        parse_time(tag, value)
    }
}

/// The parts of a certificate the classifier looks at.
#[derive(Clone, Copy)]
pub(crate) struct ParsedCert<'a> {
    /// The whole DER of tbsCertificate (the signed bytes).
    pub(crate) tbs: &'a [u8],
    /// The content of signatureAlgorithm (without the SEQUENCE header).
    pub(crate) signature_algorithm: &'a [u8],
    /// The signature bits.
    pub(crate) signature: &'a [u8],
    /// The content of the serial number INTEGER.
    pub(crate) serial: &'a [u8],
    /// The content of the issuer Name SEQUENCE.
    pub(crate) issuer: &'a [u8],
    /// The content of the subject Name SEQUENCE.
    pub(crate) subject: &'a [u8],
    /// The content of the SubjectPublicKeyInfo SEQUENCE.
    pub(crate) spki: &'a [u8],
    /// notBefore, seconds since the epoch.
    pub(crate) not_before: u64,
    /// notAfter, seconds since the epoch.
    pub(crate) not_after: u64,
    /// basicConstraints cA, when the extension is present.
    pub(crate) is_ca: Option<bool>,
    /// basicConstraints pathLenConstraint, when present (an unreadable or
    /// negative one reads as 0, the strictest).
    pub(crate) path_len: Option<u64>,
    /// The content of the extKeyUsage SEQUENCE OF OID, when present.
    pub(crate) eku: Option<&'a [u8]>,
    /// The keyUsage extension.
    pub(crate) key_usage: KeyUsage,
    /// Whether a Netscape certificate type extension names a CA type
    /// (OpenSSL still takes such a certificate for a CA).
    pub(crate) ns_cert_type_ca: bool,
}

impl<'a> ParsedCert<'a> {
    /// Parses a DER certificate; `None` when it is malformed.
    pub(crate) fn parse(der: &'a [u8]) -> Option<Self> {
        let mut outer = Reader::new(der);
        let cert = outer.expect(SEQUENCE)?;
        if !outer.is_empty() {
            return None;
        }
        let mut cert = Reader::new(cert);
        let tbs = cert.expect_whole(SEQUENCE)?;
        let signature_algorithm = cert.expect(SEQUENCE)?;
        let signature = bit_string(cert.expect(BIT_STRING)?)?;
        if !cert.is_empty() {
            return None;
        }

        let mut tbs_reader = Reader::new(Reader::new(tbs).expect(SEQUENCE)?);
        tbs_reader.optional(VERSION);
        let serial = tbs_reader.expect(INTEGER)?;
        tbs_reader.expect(SEQUENCE)?; // signature
        let issuer = tbs_reader.expect(SEQUENCE)?;
        let mut validity = Reader::new(tbs_reader.expect(SEQUENCE)?);
        let not_before = validity.time()?;
        let not_after = validity.time()?;
        let subject = tbs_reader.expect(SEQUENCE)?;
        let spki = tbs_reader.expect(SEQUENCE)?;
        tbs_reader.optional(ISSUER_UID);
        tbs_reader.optional(SUBJECT_UID);

        let mut is_ca = None;
        let mut path_len = None;
        let mut eku = None;
        let mut key_usage = KeyUsage::Absent;
        let mut ns_cert_type_ca = false;
        if let Some(exts) = tbs_reader.optional(EXTENSIONS) {
            let mut exts = Reader::new(Reader::new(exts).expect(SEQUENCE)?);
            while !exts.is_empty() {
                let mut ext = Reader::new(exts.expect(SEQUENCE)?);
                let oid = ext.expect(OID)?;
                ext.optional(BOOLEAN);
                let value = ext.expect(OCTET_STRING)?;
                if oid == OID_BASIC_CONSTRAINTS {
                    let mut bc = Reader::new(Reader::new(value).expect(SEQUENCE)?);
                    let ca = bc
                        .optional(BOOLEAN)
                        .is_some_and(|v| v.first() == Some(&0xff));
                    is_ca = Some(ca);
                    path_len = bc.optional(INTEGER).map(|n| unsigned(n).unwrap_or(0));
                } else if oid == OID_EXT_KEY_USAGE {
                    eku = Some(Reader::new(value).expect(SEQUENCE)?);
                } else if oid == OID_KEY_USAGE {
                    key_usage = KeyUsage::from_extension_value(value);
                } else if oid == OID_NS_CERT_TYPE {
                    ns_cert_type_ca = Reader::new(value)
                        .expect(BIT_STRING)
                        .and_then(|bits| bits.get(1))
                        .is_some_and(|&first| first & NS_ANY_CA != 0);
                }
            }
        }

        Some(Self {
            tbs,
            signature_algorithm,
            signature,
            serial,
            issuer,
            subject,
            spki,
            not_before,
            not_after,
            is_ca,
            path_len,
            eku,
            key_usage,
            ns_cert_type_ca,
        })
    }

    /// Whether issuer and subject are the same name (byte for byte, as
    /// rustls-webpki compares names).
    pub(crate) fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    /// Whether `time` (seconds) lies within notBefore..=notAfter.
    pub(crate) fn valid_at(&self, time: u64) -> bool {
        self.not_before <= time && time <= self.not_after
    }

    /// The OIDs (DER content) in the extKeyUsage extension, if present.
    pub(crate) fn eku_oids(&self) -> Option<Vec<&'a [u8]>> {
        let mut reader = Reader::new(self.eku?);
        let mut oids = Vec::new();
        while !reader.is_empty() {
            oids.push(reader.expect(OID)?);
        }
        Some(oids)
    }
}

/// The issuer and subject (contents of their Name SEQUENCEs) of a DER
/// certificate, reading nothing else: works on certificates whose other
/// fields [`ParsedCert::parse`] refuses (times before 1970, odd extensions).
pub(crate) fn cert_names(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut cert = Reader::new(Reader::new(der).expect(SEQUENCE)?);
    let mut tbs = Reader::new(cert.expect(SEQUENCE)?);
    tbs.optional(VERSION);
    tbs.expect(INTEGER)?; // serialNumber
    tbs.expect(SEQUENCE)?; // signature
    let issuer = tbs.expect(SEQUENCE)?;
    tbs.expect(SEQUENCE)?; // validity
    let subject = tbs.expect(SEQUENCE)?;
    Some((issuer, subject))
}

/// A certificate's keyUsage extension (RFC 5280 4.2.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyUsage {
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
    /// keyCertSign (bit 5).
    pub(crate) const KEY_CERT_SIGN: u8 = 5;
    /// cRLSign (bit 6).
    pub(crate) const CRL_SIGN: u8 = 6;

    /// Parses the extnValue content (a BIT STRING).
    fn from_extension_value(value: &[u8]) -> Self {
        let mut reader = Reader::new(value);
        let parsed = reader.expect(BIT_STRING).and_then(|bits| {
            let (&unused, bytes) = bits.split_first()?;
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
            Some(bits) if reader.is_empty() => Self::Bits(bits),
            _ => Self::Malformed,
        }
    }

    /// Whether the extension allows usage `bit`: absent allows everything,
    /// a malformed one nothing.
    pub(crate) fn allows(self, bit: u8) -> bool {
        match self {
            Self::Absent => true,
            Self::Bits(bits) => bits & (1 << bit) != 0,
            Self::Malformed => false,
        }
    }
}

/// The parts of a CRL the classifier looks at.
#[derive(Clone, Copy)]
pub(crate) struct ParsedCrl<'a> {
    /// The content of the issuer Name SEQUENCE.
    pub(crate) issuer: &'a [u8],
    /// thisUpdate, seconds since the epoch.
    pub(crate) this_update: u64,
    /// nextUpdate, seconds since the epoch, when present.
    pub(crate) next_update: Option<u64>,
    /// Whether the cRLNumber extension is marked critical (RFC 5280 5.2.3
    /// forbids it; OpenSSL cannot use such a CRL).
    pub(crate) crl_number_critical: bool,
}

impl<'a> ParsedCrl<'a> {
    /// Parses a DER CRL; `None` when it is malformed.
    pub(crate) fn parse(der: &'a [u8]) -> Option<Self> {
        let mut outer = Reader::new(der);
        let mut list = Reader::new(outer.expect(SEQUENCE)?);
        let mut tbs = Reader::new(list.expect(SEQUENCE)?);
        tbs.optional(INTEGER); // version
        tbs.expect(SEQUENCE)?; // signature
        let issuer = tbs.expect(SEQUENCE)?;
        let this_update = tbs.time()?;
        let next_update = match tbs.peek_tag() {
            Some(UTC_TIME | GENERALIZED_TIME) => Some(tbs.time()?),
            Some(SEQUENCE | CRL_EXTENSIONS) | None => None,
            Some(_) => return None,
        };
        // revokedCertificates, then crlExtensions. rustls-webpki has parsed
        // the CRL already; if this reader cannot follow, the flag stays off.
        tbs.optional(SEQUENCE);
        let crl_number_critical = tbs
            .optional(CRL_EXTENSIONS)
            .and_then(crl_number_is_critical)
            .unwrap_or(false);
        Some(Self {
            issuer,
            this_update,
            next_update,
            crl_number_critical,
        })
    }
}

/// Whether crlExtensions (the content of `[0]`) mark cRLNumber critical.
fn crl_number_is_critical(extensions: &[u8]) -> Option<bool> {
    let mut exts = Reader::new(Reader::new(extensions).expect(SEQUENCE)?);
    while !exts.is_empty() {
        let mut ext = Reader::new(exts.expect(SEQUENCE)?);
        let oid = ext.expect(OID)?;
        let critical = ext
            .optional(BOOLEAN)
            .is_some_and(|v| v.first() == Some(&0xff));
        if oid == OID_CRL_NUMBER {
            return Some(critical);
        }
    }
    Some(false)
}

/// The public-key algorithm (content of its AlgorithmIdentifier) and the key
/// bits of a SubjectPublicKeyInfo content.
pub(crate) fn split_spki(spki: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut reader = Reader::new(spki);
    let algorithm = reader.expect(SEQUENCE)?;
    let key = bit_string(reader.expect(BIT_STRING)?)?;
    Some((algorithm, key))
}

/// A non-negative INTEGER's value, if it fits in a `u64`.
fn unsigned(content: &[u8]) -> Option<u64> {
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
fn bit_string(value: &[u8]) -> Option<&[u8]> {
    match value.split_first()? {
        (0, bits) => Some(bits),
        _ => None,
    }
}

/// Parses UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`)
/// into seconds since the Unix epoch. Times before 1970 are refused.
pub(crate) fn parse_time(tag: u8, value: &[u8]) -> Option<u64> {
    let (year, rest) = match tag {
        UTC_TIME => {
            let (yy, rest) = value.split_at_checked(2)?;
            let yy = digits(yy)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, rest)
        }
        GENERALIZED_TIME => {
            let (yyyy, rest) = value.split_at_checked(4)?;
            (digits(yyyy)?, rest)
        }
        _ => return None,
    };
    if rest.len() != 11 || rest.last() != Some(&b'Z') {
        return None;
    }
    let field = |i: usize| rest.get(i..i + 2).and_then(digits);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    days.checked_mul(86_400)?
        .checked_add(hour * 3600 + minute * 60 + second)
}

fn digits(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

fn is_leap(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (1970 or later).
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    if year < 1970 {
        return None;
    }
    let leap_days = |y: u64| y / 4 - y / 100 + y / 400;
    let years = year - 1970;
    // Leap days in [1970, year).
    let leaps = leap_days(year - 1) - leap_days(1969);
    let mut days = years * 365 + leaps;
    for m in 1..month {
        days += days_in_month(year, m);
    }
    Some(days + day - 1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(parse_time(UTC_TIME, b"231114221320Z"), Some(1_700_000_000));
        assert_eq!(
            parse_time(GENERALIZED_TIME, b"20231114221320Z"),
            Some(1_700_000_000)
        );
        assert_eq!(
            parse_time(GENERALIZED_TIME, b"20000229000000Z"),
            Some(951_782_400)
        );
        assert_eq!(
            parse_time(GENERALIZED_TIME, b"99991231235959Z"),
            Some(253_402_300_799)
        );
        assert_eq!(parse_time(UTC_TIME, b"490101000000Z"), Some(2_493_072_000));
        assert_eq!(parse_time(GENERALIZED_TIME, b"19691231235959Z"), None);
        assert_eq!(parse_time(UTC_TIME, b"230230000000Z"), None);
        assert_eq!(parse_time(UTC_TIME, b"2311142213Z"), None);
        assert_eq!(parse_time(UTC_TIME, b"23111422132+"), None);
        assert_eq!(parse_time(0x04, b"231114221320Z"), None);
    }

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

    /// DER TLV with a short or one-byte long form length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match u8::try_from(content.len()) {
            Ok(len) if len < 0x80 => out.push(len),
            Ok(len) => out.extend([0x81, len]),
            Err(_) => panic!("test TLVs stay short"),
        }
        out.extend_from_slice(content);
        out
    }

    /// A CRL (unsigned: only its structure matters here) whose cRLNumber
    /// extension carries `critical`, with `revoked` entries.
    pub(crate) fn crl_with_number(critical: Option<bool>, revoked: usize) -> Vec<u8> {
        let alg = tlv(
            SEQUENCE,
            &tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
        );
        let cn = [tlv(OID, &[0x55, 0x04, 0x03]), tlv(0x0c, b"CA")].concat();
        let issuer = tlv(SEQUENCE, &tlv(0x31, &tlv(SEQUENCE, &cn)));
        let mut number = tlv(OID, OID_CRL_NUMBER);
        if let Some(c) = critical {
            number.extend(tlv(BOOLEAN, &[if c { 0xff } else { 0x00 }]));
        }
        number.extend(tlv(OCTET_STRING, &tlv(INTEGER, &[0x05])));
        let aki = [
            tlv(OID, &[0x55, 0x1d, 0x23]),
            tlv(OCTET_STRING, &[0x30, 0x00]),
        ]
        .concat();
        let exts = tlv(
            CRL_EXTENSIONS,
            &tlv(
                SEQUENCE,
                &[tlv(SEQUENCE, &aki), tlv(SEQUENCE, &number)].concat(),
            ),
        );
        let entry = [tlv(INTEGER, &[0x01]), tlv(UTC_TIME, b"231114221320Z")].concat();
        let revoked = tlv(SEQUENCE, &vec![tlv(SEQUENCE, &entry); revoked].concat());
        let mut tbs = [tlv(INTEGER, &[0x01]), alg.clone(), issuer].concat();
        tbs.extend(tlv(UTC_TIME, b"231114221320Z"));
        tbs.extend(tlv(UTC_TIME, b"241114221320Z"));
        tbs.extend(revoked);
        tbs.extend(exts);
        let list = [tlv(SEQUENCE, &tbs), alg, tlv(BIT_STRING, &[0x00, 0x01])].concat();
        tlv(SEQUENCE, &list)
    }

    #[test]
    fn crl_number_criticality() {
        for revoked in [0, 3] {
            let critical = |flag| {
                let der = crl_with_number(flag, revoked);
                ParsedCrl::parse(&der).map(|crl| (crl.crl_number_critical, crl.this_update))
            };
            assert_eq!(critical(Some(true)), Some((true, 1_700_000_000)));
            assert_eq!(critical(Some(false)), Some((false, 1_700_000_000)));
            assert_eq!(critical(None), Some((false, 1_700_000_000)));
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut data = vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff];
        assert!(ParsedCert::parse(&data).is_none());
        data = vec![0x30, 0x82, 0x01];
        assert!(ParsedCert::parse(&data).is_none());
        for len in 0..64u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37) ^ 0x30).collect();
            assert!(ParsedCert::parse(&bytes).is_none());
            assert!(ParsedCrl::parse(&bytes).is_none());
        }
        assert!(split_spki(&[0x30, 0x00, 0x03, 0x01, 0x01]).is_none());
    }
}
