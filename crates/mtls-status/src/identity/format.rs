//! nginx's byte formats for serials, digests and PEM.

use base64::Engine as _;
use std::fmt::Write as _;

/// Formats the content octets of a DER `INTEGER` the way OpenSSL's
/// `i2a_ASN1_INTEGER` prints a certificate serial, which is what nginx puts in
/// `$ssl_client_serial`.
///
/// The magnitude is printed big-endian, two uppercase hex digits per octet,
/// without separators and without the DER sign-padding `00`; a negative
/// number gets a `-`; zero prints as `00`. After every 35 octets OpenSSL
/// inserts a backslash and a line feed, and so does this function (serials
/// are at most 20 octets in conforming certificates).
///
/// ```
/// use mtls_status::identity::format_serial;
///
/// assert_eq!(format_serial(&[0xAB]), "-55"); // 0xAB alone is negative in DER
/// assert_eq!(format_serial(&[0x00, 0xAB]), "AB");
/// assert_eq!(format_serial(&[0x01]), "01");
/// assert_eq!(format_serial(&[0x00, 0x80]), "80");
/// assert_eq!(format_serial(&[0x00]), "00");
/// assert_eq!(format_serial(&[0xFF, 0x7F]), "-81");
/// ```
pub fn format_serial(der_content: &[u8]) -> String {
    let (negative, magnitude) = serial_magnitude(der_content);
    let mut out = String::with_capacity(magnitude.len() * 2 + 2);
    if negative {
        out.push('-');
    }
    if magnitude.is_empty() {
        out.push_str("00");
        return out;
    }
    for (i, b) in magnitude.iter().enumerate() {
        if i != 0 && i % 35 == 0 {
            out.push_str("\\\n");
        }
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// `c2i_ibuf`: sign and magnitude of a two's-complement big-endian integer,
/// with one sign-padding octet removed. OpenSSL refuses non-minimal
/// encodings; here they print as their value with the extra octets kept.
fn serial_magnitude(content: &[u8]) -> (bool, Vec<u8>) {
    let Some(&first) = content.first() else {
        return (false, Vec::new());
    };
    let negative = first & 0x80 != 0;
    let pad = match first {
        0x00 => content.len() > 1,
        0xFF => content.len() > 1 && content.iter().skip(1).any(|&b| b != 0),
        _ => false,
    };
    let digits = if pad {
        content.get(1..).unwrap_or_default()
    } else {
        content
    };
    if !negative {
        return (false, digits.to_vec());
    }
    // Two's complement: invert and add one, from the least significant end.
    let mut magnitude: Vec<u8> = digits.iter().map(|b| !b).collect();
    for b in magnitude.iter_mut().rev() {
        let (sum, overflow) = b.overflowing_add(1);
        *b = sum;
        if !overflow {
            break;
        }
    }
    (true, magnitude)
}

/// Lowercase hex without separators (`ngx_hex_dump`).
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `PEM_write_bio_X509`: `-----BEGIN CERTIFICATE-----`, base64 in lines of 64
/// characters, `-----END CERTIFICATE-----`, every line ending in LF.
pub(crate) fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    // Base64 output is ASCII, so splitting bytes keeps valid UTF-8.
    for line in b64.as_bytes().chunks(64) {
        out.extend(line.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// `ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT)`: keeps `A-Z a-z 0-9 - . _ ~`,
/// everything else becomes `%XX` (uppercase).
pub(crate) fn escape_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `$ssl_client_cert`: the PEM without its final LF, a TAB after every other
/// LF (so the value can be sent as a folded header).
pub(crate) fn tab_folded(pem: &str) -> String {
    let body = pem.strip_suffix('\n').unwrap_or(pem);
    body.replace('\n', "\n\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(format_serial(&[0x00, 0xAB]), "AB");
        assert_eq!(format_serial(&[0x01]), "01");
        assert_eq!(format_serial(&[0x00, 0x80]), "80");
        assert_eq!(format_serial(&[0x00]), "00");
        assert_eq!(format_serial(&[]), "00");
        assert_eq!(
            format_serial(&[
                0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7,
                0xE8, 0xF9, 0x01
            ]),
            "0A1B2C3D4E5F60718293A4B5C6D7E8F901"
        );
        // Negative numbers.
        assert_eq!(format_serial(&[0xFF]), "-01");
        assert_eq!(format_serial(&[0x80]), "-80");
        assert_eq!(format_serial(&[0xFF, 0x00]), "-0100");
        assert_eq!(format_serial(&[0xFF, 0x7F]), "-81");
        assert_eq!(format_serial(&[0x80, 0x00]), "-8000");
        assert_eq!(format_serial(&[0xFE, 0xFF]), "-0101");
    }

    #[test]
    fn long_serials_fold_every_35_octets() {
        let mut content = vec![0x01];
        content.extend(std::iter::repeat_n(0x22, 69));
        let s = format_serial(&content);
        let lines: Vec<&str> = s.split("\\\n").collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines.first().map(|l| l.len()), Some(70));
        assert_eq!(lines.get(1).map(|l| l.len()), Some(70));
        content.push(0x33);
        assert_eq!(format_serial(&content).matches("\\\n").count(), 2);
    }

    #[test]
    fn pem_lines() {
        let der: Vec<u8> = (0u8..=200).collect();
        let pem = pem(&der);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines.first().copied(), Some("-----BEGIN CERTIFICATE-----"));
        assert_eq!(lines.last().copied(), Some("-----END CERTIFICATE-----"));
        assert!(lines.iter().all(|l| l.len() <= 64));
        assert_eq!(lines.get(1).map(|l| l.len()), Some(64));
        assert!(pem.ends_with("-----\n"));
        // Exactly 48 octets: one full line, no empty line.
        assert_eq!(pem_lines_count(&[0u8; 48]), 3);
    }

    fn pem_lines_count(der: &[u8]) -> usize {
        pem(der).lines().count()
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_uri_component("-----BEGIN CERTIFICATE-----\nab+/=~._\n"),
            "-----BEGIN%20CERTIFICATE-----%0Aab%2B%2F%3D~._%0A"
        );
        assert_eq!(tab_folded("a\nb\nc\n"), "a\n\tb\n\tc");
        assert_eq!(hex_lower(&[0x00, 0xAB, 0x10]), "00ab10");
    }
}
