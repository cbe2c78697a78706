//! `mtls_status::identity`: every nginx `$ssl_client_*` format, checked against
//! the reference strings (nginx-semantics.md §6) and, when `openssl` is on the
//! PATH, against OpenSSL's own output for the same certificates.

use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use mtls_status::identity::{ClientIdentity, IdentityError, SpiffeId, oneline, rfc2253};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, IsCa, KeyPair, SanType, SerialNumber,
};
use rustls_pki_types::{CertificateDer, UnixTime};

// ---------------------------------------------------------------------------
// DER building and splicing (rcgen cannot express multi-valued RDNs, repeated
// attributes, TeletexString with Latin-1, negative serials...).
// ---------------------------------------------------------------------------

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// One AttributeTypeAndValue.
fn atav(oid: &[u8], value: Vec<u8>) -> Vec<u8> {
    let mut content = tlv(0x06, oid);
    content.extend(value);
    tlv(0x30, &content)
}

/// A Name from RDNs, each a list of attributes (kept in the given order).
fn name(rdns: &[&[Vec<u8>]]) -> Vec<u8> {
    let content: Vec<u8> = rdns
        .iter()
        .flat_map(|rdn| tlv(0x31, &rdn.concat()))
        .collect();
    tlv(0x30, &content)
}

fn utf8(s: &str) -> Vec<u8> {
    tlv(0x0C, s.as_bytes())
}
fn printable(s: &str) -> Vec<u8> {
    tlv(0x13, s.as_bytes())
}
fn ia5(s: &str) -> Vec<u8> {
    tlv(0x16, s.as_bytes())
}

const C: &[u8] = &[0x55, 0x04, 0x06];
const ST: &[u8] = &[0x55, 0x04, 0x08];
const L: &[u8] = &[0x55, 0x04, 0x07];
const O: &[u8] = &[0x55, 0x04, 0x0A];
const OU: &[u8] = &[0x55, 0x04, 0x0B];
const CN: &[u8] = &[0x55, 0x04, 0x03];
const DC: &[u8] = &[0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x19];
const UID: &[u8] = &[0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x01];
const UNKNOWN_1_2_3_4: &[u8] = &[0x2A, 0x03, 0x04];

/// The raw TLVs inside `content`.
fn children(mut content: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (header, len) = match content[1] {
            n if n < 0x80 => (2, usize::from(n)),
            n => {
                let k = usize::from(n & 0x7F);
                let len = content[2..2 + k]
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
                (2 + k, len)
            }
        };
        out.push(&content[..header + len]);
        content = &content[header + len..];
    }
    out
}

fn content_of(item: &[u8]) -> &[u8] {
    let inner = children(item);
    assert_eq!(inner.len(), 1);
    let header = if item[1] < 0x80 {
        2
    } else {
        2 + usize::from(item[1] & 0x7F)
    };
    &item[header..]
}

/// What to replace in a certificate's TBSCertificate.
#[derive(Default)]
struct Splice<'a> {
    serial: Option<&'a [u8]>,
    issuer: Option<&'a [u8]>,
    subject: Option<&'a [u8]>,
}

/// Replaces fields of a certificate's TBS. The signature no longer verifies,
/// which does not matter for formatting (nor to `openssl x509 -noout`).
fn splice(cert: &CertificateDer<'_>, with: Splice<'_>) -> CertificateDer<'static> {
    let top = children(content_of(cert.as_ref()));
    let mut tbs: Vec<Vec<u8>> = children(content_of(top[0]))
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let base = usize::from(tbs[0][0] == 0xA0);
    if let Some(serial) = with.serial {
        tbs[base] = tlv(0x02, serial);
    }
    if let Some(issuer) = with.issuer {
        tbs[base + 2] = issuer.to_vec();
    }
    if let Some(subject) = with.subject {
        tbs[base + 4] = subject.to_vec();
    }
    let mut body = tlv(0x30, &tbs.concat());
    body.extend_from_slice(top[1]);
    body.extend_from_slice(top[2]);
    CertificateDer::from(tlv(0x30, &body))
}

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

fn params() -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
}

fn self_signed(params: CertificateParams) -> CertificateDer<'static> {
    let key = KeyPair::generate().expect("key");
    params.self_signed(&key).expect("self-signed").der().clone()
}

fn identity(der: &CertificateDer<'static>) -> ClientIdentity {
    ClientIdentity::from_der(der.clone()).expect("identity")
}

/// The first reference subject, as rcgen builds it (one attribute per RDN).
fn reference_cert() -> CertificateDer<'static> {
    let mut p = params();
    let dn = &mut p.distinguished_name;
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString("US".try_into().expect("printable")),
    );
    dn.push(DnType::OrganizationName, "Example, Inc.");
    dn.push(DnType::OrganizationalUnitName, "R&D+Ops");
    dn.push(DnType::CommonName, "J\u{fc}rgen \"JJ\" M\u{fc}ller");
    dn.push(
        DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]),
        DnValue::Ia5String("jj@example.com".try_into().expect("ia5")),
    );
    self_signed(p)
}

const REFERENCE_DN: &str = r#"emailAddress=jj@example.com,CN=J\C3\BCrgen \"JJ\" M\C3\BCller,OU=R&D\+Ops,O=Example\, Inc.,C=US"#;
const REFERENCE_LEGACY: &str = r#"/C=US/O=Example, Inc./OU=R&D\+Ops/CN=J\xC3\xBCrgen "JJ" M\xC3\xBCller/emailAddress=jj@example.com"#;

/// The second reference subject: DC components, escapes, an unknown OID and a
/// multi-valued RDN (CN+UID, DER order).
fn tricky_name() -> Vec<u8> {
    name(&[
        &[atav(DC, ia5("com"))],
        &[atav(DC, ia5("example"))],
        &[atav(O, utf8("#hash"))],
        &[atav(OU, utf8(" lead"))],
        &[atav(L, utf8(r"a;b<>=/c\d"))],
        &[atav(ST, utf8("trail "))],
        &[atav(UNKNOWN_1_2_3_4, utf8("unknownoid"))],
        &[atav(CN, utf8("alice")), atav(UID, utf8("u1"))],
    ])
}

const TRICKY_DN: &str = r"UID=u1+CN=alice,1.2.3.4=#0C0A756E6B6E6F776E6F6964,ST=trail\ ,L=a\;b\<\>=/c\\d,OU=\ lead,O=\#hash,DC=example,DC=com";
const TRICKY_LEGACY: &str = r"/DC=com/DC=example/O=#hash/OU= lead/L=a;b<>=\/c\d/ST=trail /1.2.3.4=unknownoid/CN=alice+UID=u1";

/// Every string type: PrintableString, TeletexString (Latin-1),
/// UniversalString (astral plane), BMPString.
fn string_types_name() -> Vec<u8> {
    let ucs4: Vec<u8> = "x\u{1F600}"
        .chars()
        .flat_map(|c| u32::from(c).to_be_bytes())
        .collect();
    let ucs2: Vec<u8> = "J\u{fc}rgen"
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    name(&[
        &[atav(C, printable("DE"))],
        &[atav(O, tlv(0x14, b"M\xFCller"))],
        &[atav(OU, tlv(0x1C, &ucs4))],
        &[atav(CN, tlv(0x1E, &ucs2))],
    ])
}

const STRING_TYPES_DN: &str = r"CN=J\C3\BCrgen,OU=x\F0\9F\98\80,O=M\C3\BCller,C=DE";
const STRING_TYPES_LEGACY: &str =
    r"/C=DE/O=M\xFCller/OU=\x00\x00\x00x\x00\x01\xF6\x00/CN=\x00J\x00\xFC\x00r\x00g\x00e\x00n";

fn at(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn time_at(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).expect("timestamp")
}

const NOV_21: i64 = 1_795_259_793; // 2026-11-21 11:16:33 UTC
const DEC_2: i64 = 1_796_253_393; // 2026-12-02 23:16:33 UTC

fn dated_cert() -> CertificateDer<'static> {
    let mut p = params();
    p.distinguished_name.push(DnType::CommonName, "dated");
    p.not_before = time_at(NOV_21);
    p.not_after = time_at(DEC_2);
    self_signed(p)
}

/// notBefore before 1950 and notAfter from 2050: both GeneralizedTime.
fn generalized_time_cert() -> CertificateDer<'static> {
    let mut p = params();
    p.distinguished_name.push(DnType::CommonName, "long-lived");
    p.not_before = rcgen::date_time_ymd(1949, 3, 4);
    p.not_after = rcgen::date_time_ymd(2051, 12, 31);
    self_signed(p)
}

fn serial_cert(serial: &[u8]) -> CertificateDer<'static> {
    let mut p = params();
    p.distinguished_name.push(DnType::CommonName, "serial");
    p.serial_number = Some(SerialNumber::from_slice(serial));
    self_signed(p)
}

fn san_cert() -> CertificateDer<'static> {
    let mut p = params();
    p.distinguished_name.push(DnType::CommonName, "sans");
    p.subject_alt_names = vec![
        SanType::DnsName("a.example".try_into().expect("dns")),
        SanType::URI("https://example.com/x".try_into().expect("uri")),
        SanType::Rfc822Name("jj@example.com".try_into().expect("email")),
        SanType::URI("spiffe://Bad.Example/x".try_into().expect("uri")),
        SanType::URI(
            "spiffe://example.org/ns/prod/sa/api"
                .try_into()
                .expect("uri"),
        ),
        SanType::IpAddress("192.0.2.1".parse().expect("ip")),
        SanType::DnsName("b.example".try_into().expect("dns")),
        SanType::IpAddress("2001:db8::1".parse().expect("ip")),
    ];
    self_signed(p)
}

fn ca_cert() -> CertificateDer<'static> {
    let mut p = params();
    p.distinguished_name.push(DnType::CommonName, "Test CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    self_signed(p)
}

// ---------------------------------------------------------------------------
// Distinguished names
// ---------------------------------------------------------------------------

#[test]
fn reference_subject_rfc2253_and_legacy() {
    let id = identity(&reference_cert());
    assert_eq!(id.subject_dn(), REFERENCE_DN);
    assert_eq!(id.issuer_dn(), REFERENCE_DN);
    assert_eq!(id.subject_dn_legacy(), REFERENCE_LEGACY);
    assert_eq!(id.issuer_dn_legacy(), REFERENCE_LEGACY);
    assert_eq!(id.common_name(), Some("J\u{fc}rgen \"JJ\" M\u{fc}ller"));
}

#[test]
fn reference_multi_valued_and_escapes() {
    let der = tricky_name();
    assert_eq!(rfc2253(&der).expect("rfc2253"), TRICKY_DN);
    assert_eq!(oneline(&der).expect("oneline"), TRICKY_LEGACY);

    // The same inside a certificate, as subject and (differently) as issuer.
    let issuer = name(&[&[atav(CN, utf8("Issuing CA"))]]);
    let cert = splice(
        &reference_cert(),
        Splice {
            subject: Some(&der),
            issuer: Some(&issuer),
            ..Splice::default()
        },
    );
    let id = identity(&cert);
    assert_eq!(id.subject_dn(), TRICKY_DN);
    assert_eq!(id.subject_dn_legacy(), TRICKY_LEGACY);
    assert_eq!(id.issuer_dn(), "CN=Issuing CA");
    assert_eq!(id.issuer_dn_legacy(), "/CN=Issuing CA");
    assert_eq!(id.common_name(), Some("alice"));
}

#[test]
fn string_types_are_converted_to_utf8() {
    let der = string_types_name();
    assert_eq!(rfc2253(&der).expect("rfc2253"), STRING_TYPES_DN);
    assert_eq!(oneline(&der).expect("oneline"), STRING_TYPES_LEGACY);
    let cert = splice(
        &reference_cert(),
        Splice {
            subject: Some(&der),
            ..Splice::default()
        },
    );
    assert_eq!(identity(&cert).common_name(), Some("J\u{fc}rgen"));
}

#[test]
fn empty_subject() {
    let mut p = params();
    p.subject_alt_names = vec![SanType::DnsName(
        "only-san.example".try_into().expect("dns"),
    )];
    let id = identity(&self_signed(p));
    assert_eq!(id.subject_dn(), "");
    assert_eq!(id.subject_dn_legacy(), "");
    assert_eq!(id.common_name(), None);
}

#[test]
fn malformed_names_are_errors() {
    assert!(matches!(rfc2253(&[]), Err(IdentityError::MalformedName(_))));
    assert!(matches!(
        oneline(&[0x30, 0x01]),
        Err(IdentityError::MalformedName(_))
    ));
    assert!(rfc2253(&[0x30, 0x00]).is_ok());
}

// ---------------------------------------------------------------------------
// Serial, fingerprints, times
// ---------------------------------------------------------------------------

#[test]
fn serials() {
    let cases: &[(&[u8], &str, &[u8])] = &[
        (&[0xAB], "AB", &[0x00, 0xAB]),
        (&[0x01], "01", &[0x01]),
        (&[0x80], "80", &[0x00, 0x80]),
        (&[0x00, 0x00, 0x42], "42", &[0x42]),
        (
            &[
                0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7,
                0xE8, 0xF9, 0x01,
            ],
            "0A1B2C3D4E5F60718293A4B5C6D7E8F901",
            &[
                0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7,
                0xE8, 0xF9, 0x01,
            ],
        ),
    ];
    for (input, want, content) in cases {
        let id = identity(&serial_cert(input));
        assert_eq!(id.serial(), *want);
        assert_eq!(id.serial_bytes(), *content);
    }
}

#[test]
fn negative_zero_and_long_serials() {
    let base = serial_cert(&[1]);
    let with_serial = |content: &[u8]| {
        identity(&splice(
            &base,
            Splice {
                serial: Some(content),
                ..Splice::default()
            },
        ))
        .serial()
        .to_owned()
    };
    assert_eq!(with_serial(&[0xFF, 0x7F]), "-81");
    assert_eq!(with_serial(&[0x80]), "-80");
    assert_eq!(with_serial(&[0x00]), "00");
    let mut long = vec![0x11; 40];
    long[0] = 0x01;
    let s = with_serial(&long);
    assert_eq!(s.len(), 80 + 2);
    assert_eq!(&s[70..72], "\\\n");
}

#[test]
fn fingerprints() {
    let cert = reference_cert();
    let id = identity(&cert);
    for (fp, len) in [(id.fingerprint_sha1(), 40), (id.fingerprint_sha256(), 64)] {
        assert_eq!(fp.len(), len);
        assert!(
            fp.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
    // Different certificates, different fingerprints; same bytes, same print.
    assert_ne!(
        id.fingerprint_sha1(),
        identity(&dated_cert()).fingerprint_sha1()
    );
    assert_eq!(
        id.fingerprint_sha256(),
        identity(&cert).fingerprint_sha256()
    );
}

#[test]
fn validity_times() {
    let id = identity(&dated_cert());
    assert_eq!(id.v_start(), "Nov 21 11:16:33 2026 GMT");
    assert_eq!(id.v_end(), "Dec  2 23:16:33 2026 GMT");
    assert_eq!(id.not_before().as_secs(), NOV_21 as u64);
    assert_eq!(id.not_after().as_secs(), DEC_2 as u64);

    let id = identity(&generalized_time_cert());
    assert_eq!(id.v_start(), "Mar  4 00:00:00 1949 GMT");
    assert_eq!(id.v_end(), "Dec 31 00:00:00 2051 GMT");
    // Before the epoch: clamped.
    assert_eq!(id.not_before().as_secs(), 0);
}

#[test]
fn days_remaining() {
    let id = identity(&dated_cert());
    let end = DEC_2 as u64;
    let day = 86_400;
    assert_eq!(id.v_remain(at(end - 10 * day - day / 2)), 10);
    assert_eq!(id.v_remain(at(end - 5 * 3600)), 0);
    assert_eq!(id.v_remain(at(end - day)), 1);
    assert_eq!(id.v_remain(at(end - day + 1)), 0);
    assert_eq!(id.v_remain(at(end)), 0);
    assert_eq!(id.v_remain(at(end + 365 * day)), 0);
    assert_eq!(id.v_remain(at(NOV_21 as u64)), 11);
    assert_eq!(id.v_remain(at(0)), end / day);
}

// ---------------------------------------------------------------------------
// PEM forms
// ---------------------------------------------------------------------------

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
            assert_eq!(hex, hex.to_uppercase(), "uppercase escapes");
            out.push(u8::from_str_radix(hex, 16).expect("hex"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf8")
}

#[test]
fn raw_pem_round_trips() {
    let cert = reference_cert();
    let pem = identity(&cert).raw_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(pem.ends_with("\n-----END CERTIFICATE-----\n"));
    let lines: Vec<&str> = pem.lines().collect();
    let body = &lines[1..lines.len() - 1];
    assert!(body[..body.len() - 1].iter().all(|l| l.len() == 64));
    assert!(!body.last().expect("body").is_empty());
    assert!(body.last().expect("body").len() <= 64);
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.concat())
        .expect("base64");
    assert_eq!(der, cert.as_ref());
}

#[test]
fn escaped_and_legacy_pem() {
    // Find a certificate whose base64 has '+', '/' and '=' (keys are random).
    let id = (0..200)
        .map(|_| identity(&reference_cert()))
        .find(|id| {
            let pem = id.raw_pem();
            pem.contains('+') && pem.contains('/') && pem.contains('=')
        })
        .expect("a PEM with + / =");
    let pem = id.raw_pem();
    let esc = id.escaped_pem();
    assert!(esc.starts_with("-----BEGIN%20CERTIFICATE-----%0A"));
    assert!(esc.ends_with("%0A-----END%20CERTIFICATE-----%0A"));
    for token in ["%0A", "%2B", "%2F", "%3D", "%20"] {
        assert!(esc.contains(token), "{token} missing");
    }
    assert!(
        esc.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b))
    );
    assert_eq!(percent_decode(&esc), pem);

    let legacy = id.legacy_cert();
    assert_eq!(legacy, pem[..pem.len() - 1].replace('\n', "\n\t"));
    assert!(legacy.starts_with("-----BEGIN CERTIFICATE-----\n\t"));
    assert!(legacy.ends_with("\n\t-----END CERTIFICATE-----"));
}

// ---------------------------------------------------------------------------
// SANs, SPIFFE, basicConstraints, chain
// ---------------------------------------------------------------------------

#[test]
fn subject_alt_names() {
    let id = identity(&san_cert());
    assert_eq!(id.dns_names(), ["a.example", "b.example"]);
    assert_eq!(
        id.uris(),
        [
            "https://example.com/x",
            "spiffe://Bad.Example/x",
            "spiffe://example.org/ns/prod/sa/api"
        ]
    );
    assert_eq!(id.emails(), ["jj@example.com"]);
    let ips: Vec<IpAddr> = vec![
        "192.0.2.1".parse().expect("ip"),
        "2001:db8::1".parse().expect("ip"),
    ];
    assert_eq!(id.ip_addresses(), ips.as_slice());
    // Three URI SANs: no X509-SVID, so no SPIFFE ID, not even the valid
    // one (the first valid one used to be returned).
    assert_eq!(id.spiffe_id(), None);
    let mut p = params();
    p.subject_alt_names = vec![SanType::URI(
        "spiffe://example.org/ns/prod/sa/api"
            .try_into()
            .expect("uri"),
    )];
    let svid = identity(&self_signed(p));
    let spiffe = svid.spiffe_id().expect("one URI SAN: the SPIFFE ID");
    assert_eq!(spiffe.trust_domain(), "example.org");
    assert_eq!(spiffe.path(), "/ns/prod/sa/api");
    assert_eq!(
        spiffe,
        &"spiffe://example.org/ns/prod/sa/api"
            .parse::<SpiffeId>()
            .expect("parse")
    );

    let none = identity(&dated_cert());
    assert!(none.dns_names().is_empty() && none.uris().is_empty());
    assert!(none.emails().is_empty() && none.ip_addresses().is_empty());
    assert_eq!(none.spiffe_id(), None);
}

#[test]
fn basic_constraints() {
    assert!(identity(&ca_cert()).is_ca());
    assert!(!identity(&reference_cert()).is_ca());
}

#[test]
fn chain_and_errors() {
    let leaf = reference_cert();
    let ca = ca_cert();
    let id = ClientIdentity::from_chain(vec![leaf.clone(), ca.clone()]).expect("chain");
    assert_eq!(id.chain(), [leaf.clone(), ca]);
    assert_eq!(id.leaf(), &leaf);
    assert_eq!(
        ClientIdentity::from_chain(Vec::new()).err(),
        Some(IdentityError::EmptyChain)
    );
    // Only the leaf is parsed: a garbage intermediate is kept as is.
    let junk = CertificateDer::from(vec![1, 2, 3]);
    let id = ClientIdentity::from_chain(vec![leaf, junk]).expect("leaf is fine");
    assert_eq!(id.chain().len(), 2);
    assert!(matches!(
        ClientIdentity::from_der(CertificateDer::from(vec![0x30, 0x00])),
        Err(IdentityError::MalformedCertificate(_))
    ));
}

#[test]
fn debug_is_short() {
    let id = identity(&reference_cert());
    let debug = format!("{id:?}");
    assert!(debug.contains("subject_dn"));
    assert!(debug.len() < 1000, "{debug}");
    let body = id.raw_pem().lines().nth(1).expect("base64 line").to_owned();
    assert!(!debug.contains(&body));
}

// ---------------------------------------------------------------------------
// Robustness: no panics, whatever the bytes
// ---------------------------------------------------------------------------

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn truncated_certificates_are_errors() {
    for cert in [reference_cert(), san_cert()] {
        let bytes = cert.as_ref();
        for len in 0..bytes.len() {
            let prefix = CertificateDer::from(bytes[..len].to_vec());
            assert!(
                ClientIdentity::from_der(prefix).is_err(),
                "prefix of {len} bytes parsed"
            );
        }
        assert!(ClientIdentity::from_der(cert.clone()).is_ok());
    }
}

#[test]
fn random_bytes_are_errors() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for i in 0..5000 {
        let len = rng.below(if i % 10 == 0 { 4000 } else { 300 });
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Make some of them look like a DER SEQUENCE, to go deeper.
        if i % 2 == 0 && len > 4 {
            bytes[0] = 0x30;
            bytes[1] = 0x82;
            bytes[2] = ((len - 4) >> 8) as u8;
            bytes[3] = (len - 4) as u8;
        }
        let der = CertificateDer::from(bytes.clone());
        assert!(ClientIdentity::from_der(der).is_err(), "{bytes:02x?}");
        let _ = rfc2253(&bytes);
        let _ = oneline(&bytes);
        let _ = String::from_utf8_lossy(&bytes).parse::<SpiffeId>();
    }
}

#[test]
fn mutated_certificates_never_panic() {
    let mut rng = XorShift(42);
    let certs = [reference_cert(), san_cert(), generalized_time_cert()];
    let names = [tricky_name(), string_types_name()];
    for round in 0..6000 {
        let mut bytes = if round % 3 == 0 {
            names[round % 2].clone()
        } else {
            certs[round % 3].as_ref().to_vec()
        };
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] ^= 1 << rng.below(8),
                1 => bytes[at] = rng.next() as u8,
                _ => {
                    bytes.remove(at);
                }
            }
        }
        if round % 3 == 0 {
            let _ = rfc2253(&bytes);
            let _ = oneline(&bytes);
        } else if let Ok(id) = ClientIdentity::from_der(CertificateDer::from(bytes)) {
            // Whatever parsed must format.
            let _ = (
                id.subject_dn(),
                id.subject_dn_legacy(),
                id.serial(),
                id.v_end(),
            );
            let _ = (id.escaped_pem(), id.v_remain(UnixTime::now()));
        }
    }
}

// ---------------------------------------------------------------------------
// Cross-check with the real OpenSSL
// ---------------------------------------------------------------------------

fn openssl_available() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `openssl x509 -inform DER -in FILE -noout ARGS...` and returns stdout
/// without its final LF.
fn openssl_x509(file: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-in"])
        .arg(file)
        .arg("-noout")
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("openssl output is ASCII");
    text.strip_suffix('\n').unwrap_or(&text).to_owned()
}

fn field(output: String, prefix: &str) -> String {
    output
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{output:?} lacks {prefix:?}"))
        .to_owned()
}

#[test]
fn formats_match_openssl() {
    if !openssl_available() {
        eprintln!("openssl not on PATH: skipping the OpenSSL cross-check");
        return;
    }
    let base = reference_cert();
    let issuer = name(&[&[atav(CN, utf8("Issuing CA"))]]);
    let tricky = tricky_name();
    let strings = string_types_name();
    let mut long_serial = vec![0x5A; 40];
    long_serial[0] = 0x01;
    let certs: Vec<(&str, CertificateDer<'static>)> = vec![
        ("reference", base.clone()),
        (
            "tricky subject",
            splice(
                &base,
                Splice {
                    subject: Some(&tricky),
                    issuer: Some(&issuer),
                    ..Splice::default()
                },
            ),
        ),
        (
            "tricky issuer",
            splice(
                &base,
                Splice {
                    subject: Some(&strings),
                    issuer: Some(&tricky),
                    ..Splice::default()
                },
            ),
        ),
        ("dated", dated_cert()),
        ("generalized time", generalized_time_cert()),
        ("serial AB", serial_cert(&[0xAB])),
        ("serial 80", serial_cert(&[0x80])),
        (
            "serial negative",
            splice(
                &base,
                Splice {
                    serial: Some(&[0xFF, 0x7F]),
                    ..Splice::default()
                },
            ),
        ),
        (
            "serial long",
            splice(
                &base,
                Splice {
                    serial: Some(&long_serial),
                    ..Splice::default()
                },
            ),
        ),
        ("sans", san_cert()),
        ("ca", ca_cert()),
    ];
    let dir = std::env::temp_dir();
    for (i, (label, der)) in certs.iter().enumerate() {
        let path = dir.join(format!(
            "mtls-status-identity-{}-{i}.der",
            std::process::id()
        ));
        std::fs::write(&path, der.as_ref()).expect("write temp cert");
        let id = identity(der);
        let x509 = |args: &[&str]| openssl_x509(&path, args);

        let rfc = ["-nameopt", "RFC2253"];
        let compat = ["-nameopt", "compat"];
        assert_eq!(
            id.subject_dn(),
            field(x509(&[&["-subject"], &rfc[..]].concat()), "subject="),
            "{label}: subject"
        );
        assert_eq!(
            id.issuer_dn(),
            field(x509(&[&["-issuer"], &rfc[..]].concat()), "issuer="),
            "{label}: issuer"
        );
        // `-nameopt compat` makes the openssl command print X509_NAME_oneline.
        assert_eq!(
            id.subject_dn_legacy(),
            field(x509(&[&["-subject"], &compat[..]].concat()), "subject="),
            "{label}: subject legacy"
        );
        assert_eq!(
            id.issuer_dn_legacy(),
            field(x509(&[&["-issuer"], &compat[..]].concat()), "issuer="),
            "{label}: issuer legacy"
        );
        assert_eq!(
            id.serial(),
            field(x509(&["-serial"]), "serial="),
            "{label}: serial"
        );
        let fingerprint = x509(&["-fingerprint", "-sha1"]);
        let (_, hex) = fingerprint.split_once('=').expect("fingerprint line");
        assert_eq!(
            id.fingerprint_sha1(),
            hex.replace(':', "").to_lowercase(),
            "{label}: fingerprint"
        );
        let sha256 = x509(&["-fingerprint", "-sha256"]);
        let (_, hex) = sha256.split_once('=').expect("fingerprint line");
        assert_eq!(
            id.fingerprint_sha256(),
            hex.replace(':', "").to_lowercase(),
            "{label}: sha256"
        );
        assert_eq!(
            id.v_start(),
            field(x509(&["-startdate"]), "notBefore="),
            "{label}: start"
        );
        assert_eq!(
            id.v_end(),
            field(x509(&["-enddate"]), "notAfter="),
            "{label}: end"
        );
        // PEM output of `openssl x509` is PEM_write_bio_X509, as nginx's.
        let out = Command::new("openssl")
            .args(["x509", "-inform", "DER", "-in"])
            .arg(&path)
            .output()
            .expect("run openssl");
        assert_eq!(
            id.raw_pem(),
            String::from_utf8(out.stdout).expect("pem"),
            "{label}: pem"
        );
        let _ = std::fs::remove_file(&path);
    }
}

// ---------------------------------------------------------------------------
// otherName UPN and directoryName
// ---------------------------------------------------------------------------

/// Microsoft's User Principal Name, 1.3.6.1.4.1.311.20.2.3.
const UPN: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03];
/// id-on-permanentIdentifier, 1.3.6.1.5.5.7.8.3: an otherName that is no UPN.
const PERMANENT_IDENTIFIER: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x03];

/// A certificate whose subjectAltName holds a UPN, another otherName, a
/// directoryName and a DNS name (rcgen has no directoryName, so the
/// extension is written here).
fn upn_cert() -> CertificateDer<'static> {
    let other_name =
        |oid: &[u8], value: Vec<u8>| tlv(0xA0, &[tlv(0x06, oid), tlv(0xA0, &value)].concat());
    let directory = name(&[&[atav(CN, utf8("svc"))], &[atav(O, utf8("Example"))]]);
    let general_names = tlv(
        0x30,
        &[
            other_name(UPN, utf8("alice@Corp.Example")),
            other_name(PERMANENT_IDENTIFIER, tlv(0x30, &utf8("x"))),
            tlv(0xA4, &directory),
            tlv(0x82, b"svc.example"),
        ]
        .concat(),
    );
    let mut p = params();
    p.distinguished_name.push(DnType::CommonName, "upn");
    p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[2, 5, 29, 17],
        general_names,
    )];
    self_signed(p)
}

#[test]
fn user_principal_name_and_directory_name() {
    let cert = upn_cert();
    let id = identity(&cert);
    assert_eq!(id.user_principal_names(), ["alice@Corp.Example"]);
    assert_eq!(id.directory_names(), ["O=Example,CN=svc"]);
    assert_eq!(id.dns_names(), ["svc.example"]);
    assert!(identity(&san_cert()).user_principal_names().is_empty());
    assert!(identity(&san_cert()).directory_names().is_empty());

    use mtls_status::AllowList;
    assert!(
        AllowList::new()
            .user_principal_name("alice@corp.example")
            .allows(&id)
    );
    assert!(
        !AllowList::new()
            .user_principal_name("Alice@Corp.Example")
            .allows(&id)
    );
    assert!(
        AllowList::new()
            .directory_name("O=Example,CN=svc")
            .allows(&id)
    );
    assert!(!AllowList::new().directory_name("CN=svc").allows(&id));
    assert!(
        !AllowList::new()
            .user_principal_name("x@corp.example")
            .allows(&id)
    );

    if !openssl_available() {
        eprintln!("openssl not on PATH: skipping the OpenSSL cross-check");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mtls-upn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("upn.der");
    std::fs::write(&path, cert.as_ref()).expect("write temp cert");
    let text = openssl_x509(&path, &["-ext", "subjectAltName"]);
    let _ = std::fs::remove_dir_all(&dir);
    // OpenSSL names the same UPN and the same directory name (printed
    // oneline there, RFC 2253 here).
    assert!(
        text.contains("othername: UPN::alice@Corp.Example"),
        "{text}"
    );
    assert!(text.contains("DirName:/CN=svc/O=Example"), "{text}");
}
