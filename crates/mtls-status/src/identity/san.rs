//! The subject alternative name extension (RFC 5280 §4.2.1.6).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::der::{Reader, tag};

/// `[1] rfc822Name IA5String` (implicit, primitive).
const RFC822_NAME: u8 = 0x81;
/// `[2] dNSName IA5String`.
const DNS_NAME: u8 = 0x82;
/// `[6] uniformResourceIdentifier IA5String`.
const URI: u8 = 0x86;
/// `[7] iPAddress OCTET STRING`.
const IP_ADDRESS: u8 = 0x87;

/// The names of a subjectAltName extension that the identity exposes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SubjectAltNames {
    pub(crate) dns_names: Vec<String>,
    pub(crate) uris: Vec<String>,
    pub(crate) emails: Vec<String>,
    pub(crate) ip_addresses: Vec<IpAddr>,
}

impl SubjectAltNames {
    /// Parses the extension value (`GeneralNames`, the content of
    /// `extnValue`). A structurally malformed extension gives `None` (no
    /// names at all, as OpenSSL's `X509_get_ext_d2i` gives none). Within a
    /// well-formed list, entries of other kinds (otherName, directoryName,
    /// ...) are skipped, as are text names that are not ASCII and IP
    /// addresses that are neither 4 nor 16 octets long.
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
                _ => {}
            }
        }
        Some(out)
    }
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
