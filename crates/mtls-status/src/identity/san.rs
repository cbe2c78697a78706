//! The subject alternative name extension (RFC 5280 §4.2.1.6).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::der::{Reader, tag};

/// `[0] otherName` (implicit, constructed): a type OID and `[0]` a value.
const OTHER_NAME: u8 = 0xA0;
/// `[1] rfc822Name IA5String` (implicit, primitive).
const RFC822_NAME: u8 = 0x81;
/// `[2] dNSName IA5String`.
const DNS_NAME: u8 = 0x82;
/// `[4] directoryName Name` (explicit: a CHOICE).
const DIRECTORY_NAME: u8 = 0xA4;
/// `[6] uniformResourceIdentifier IA5String`.
const URI: u8 = 0x86;
/// `[7] iPAddress OCTET STRING`.
const IP_ADDRESS: u8 = 0x87;

/// Microsoft's User Principal Name (1.3.6.1.4.1.311.20.2.3), the otherName
/// of smart-card and Active Directory certificates: a UTF8String.
const OID_UPN: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x14, 0x02, 0x03];
/// `[0] EXPLICIT` around an otherName's value.
const OTHER_NAME_VALUE: u8 = 0xA0;

/// The names of a subjectAltName extension that the identity exposes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SubjectAltNames {
    pub(crate) dns_names: Vec<String>,
    pub(crate) uris: Vec<String>,
    pub(crate) emails: Vec<String>,
    pub(crate) ip_addresses: Vec<IpAddr>,
    pub(crate) user_principal_names: Vec<String>,
    /// RFC 2253, as the subject DN is printed.
    pub(crate) directory_names: Vec<String>,
}

impl SubjectAltNames {
    /// Parses the extension value (`GeneralNames`, the content of
    /// `extnValue`). A structurally malformed extension gives `None` (no
    /// names at all, as OpenSSL's `X509_get_ext_d2i` gives none). Within a
    /// well-formed list, entries of other kinds (registeredID, x400Address,
    /// otherNames other than the UPN, ...) are skipped, as are text names
    /// that are not ASCII, IP addresses that are neither 4 nor 16 octets
    /// long, a UPN that is not a UTF8String and a directoryName that is not
    /// a well-formed name.
    pub(crate) fn parse(extn_value: &[u8]) -> Option<Self> {
        let outer = crate::der::single(extn_value, tag::SEQUENCE).ok()?;
        let mut names = Reader::new(outer.value);
        let mut out = Self::default();
        while !names.is_empty() {
            let name = names.read().ok()?;
            let text = || {
                name.value
                    .is_ascii()
                    .then(|| String::from_utf8_lossy(name.value).into_owned())
            };
            match name.tag {
                RFC822_NAME => out.emails.extend(text()),
                DNS_NAME => out.dns_names.extend(text()),
                URI => out.uris.extend(text()),
                IP_ADDRESS => out.ip_addresses.extend(ip(name.value)),
                OTHER_NAME => out.user_principal_names.extend(upn(name.value)),
                DIRECTORY_NAME => out.directory_names.extend(
                    crate::identity::dn::Name::from_der(name.value)
                        .ok()
                        .map(|dn| dn.rfc2253()),
                ),
                _ => {}
            }
        }
        Some(out)
    }
}

/// The UPN of an otherName's content, if it is one.
fn upn(content: &[u8]) -> Option<String> {
    let mut fields = Reader::new(content);
    let oid = fields.expect(tag::OID).ok()?;
    if oid.value != OID_UPN {
        return None;
    }
    let value = fields.expect(OTHER_NAME_VALUE).ok()?;
    fields.finish().ok()?;
    let text = crate::der::single(value.value, tag::UTF8_STRING).ok()?;
    std::str::from_utf8(text.value).ok().map(str::to_owned)
}

fn ip(octets: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(octets) {
        Some(IpAddr::V4(Ipv4Addr::from(v4)))
    } else if let Ok(v6) = <[u8; 16]>::try_from(octets) {
        Some(IpAddr::V6(Ipv6Addr::from(v6)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, u8::try_from(content.len()).expect("short")];
        out.extend_from_slice(content);
        out
    }

    #[test]
    fn parses_each_kind() {
        let mut list = Vec::new();
        list.extend(tlv(DNS_NAME, b"a.example"));
        list.extend(tlv(URI, b"spiffe://td/x"));
        list.extend(tlv(RFC822_NAME, b"a@example.com"));
        list.extend(tlv(IP_ADDRESS, &[127, 0, 0, 1]));
        list.extend(tlv(IP_ADDRESS, &[0; 16]));
        list.extend(tlv(IP_ADDRESS, &[10, 0, 0, 0, 255, 0, 0, 0]));
        list.extend(tlv(0xA0, &tlv(tag::OID, &[0x2A])));
        list.extend(tlv(DNS_NAME, b"caf\xC3\xA9.example"));
        let sans = SubjectAltNames::parse(&tlv(tag::SEQUENCE, &list)).expect("valid");
        assert_eq!(sans.dns_names, ["a.example"]);
        assert_eq!(sans.uris, ["spiffe://td/x"]);
        assert_eq!(sans.emails, ["a@example.com"]);
        assert_eq!(
            sans.ip_addresses,
            [
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            ]
        );
    }

    #[test]
    fn parses_upn_and_directory_name() {
        let mut list = Vec::new();
        let upn_value = |text: &[u8]| {
            let mut content = tlv(tag::OID, OID_UPN);
            content.extend(tlv(OTHER_NAME_VALUE, &tlv(tag::UTF8_STRING, text)));
            tlv(OTHER_NAME, &content)
        };
        list.extend(upn_value("j\u{fc}rgen@corp.example".as_bytes()));
        list.extend(upn_value(b"\xFF"));
        let cn = tlv(
            tag::SET,
            &tlv(
                tag::SEQUENCE,
                &[tlv(tag::OID, &[0x55, 4, 3]), tlv(0x0C, b"dir")].concat(),
            ),
        );
        list.extend(tlv(DIRECTORY_NAME, &tlv(tag::SEQUENCE, &cn)));
        list.extend(tlv(DIRECTORY_NAME, &tlv(tag::SEQUENCE, &[0x05, 0x00])));
        let sans = SubjectAltNames::parse(&tlv(tag::SEQUENCE, &list)).expect("valid");
        // The unreadable UPN and directoryName are skipped, not the list.
        assert_eq!(sans.user_principal_names, ["j\u{fc}rgen@corp.example"]);
        assert_eq!(sans.directory_names, ["CN=dir"]);
    }

    #[test]
    fn malformed_gives_none() {
        assert_eq!(SubjectAltNames::parse(&[]), None);
        assert_eq!(
            SubjectAltNames::parse(&[0x30, 0x03, 0x82, 0x05, 0x61]),
            None
        );
        assert_eq!(SubjectAltNames::parse(&[0x30, 0x00, 0x00]), None);
        assert_eq!(
            SubjectAltNames::parse(&[0x30, 0x00]),
            Some(SubjectAltNames::default())
        );
    }
}
