//! Distinguished names, printed exactly as OpenSSL 3.0 prints them for nginx:
//! `X509_NAME_print_ex(XN_FLAG_RFC2253)` for `$ssl_client_s_dn` and
//! `X509_NAME_oneline` for `$ssl_client_s_dn_legacy`.

use std::fmt::Write as _;

use super::IdentityError;
use super::names;
use crate::der::{self as asn1, Reader, Tlv, tag};

/// `commonName` (2.5.4.3).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// `X509_NAME_oneline` gives up (and nginx prints nothing) beyond 1 MiB.
const NAME_ONELINE_MAX: usize = 1024 * 1024;

/// One attribute of a name, in DER order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// Index of the RDN (SET) the attribute belongs to.
    set: usize,
    /// Content octets of the attribute type OID.
    oid: &'a [u8],
    /// The attribute value, any ASN.1 type.
    value: Tlv<'a>,
}

/// The attributes of a name, flattened in DER order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Name<'a> {
    entries: Vec<Entry<'a>>,
}

impl<'a> Name<'a> {
    /// Parses the content octets of a `Name` (an `RDNSequence`).
    pub(crate) fn from_content(content: &'a [u8]) -> Result<Self, &'static str> {
        let mut entries = Vec::new();
        let mut rdns = Reader::new(content);
        let mut set = 0usize;
        while !rdns.is_empty() {
            let rdn = rdns.expect(tag::SET).map_err(|_| "RDN is not a SET")?;
            let mut atavs = Reader::new(rdn.value);
            while !atavs.is_empty() {
                let atav = atavs
                    .expect(tag::SEQUENCE)
                    .map_err(|_| "attribute is not a SEQUENCE")?;
                let mut fields = Reader::new(atav.value);
                let oid = fields
                    .expect(tag::OID)
                    .map_err(|_| "attribute type is not an OID")?;
                if !crate::der::is_valid_oid(oid.value) {
                    return Err("invalid attribute type OID");
                }
                let value = fields.read().map_err(|_| "malformed attribute value")?;
                fields.finish().map_err(|_| "trailing data in attribute")?;
                entries.push(Entry {
                    set,
                    oid: oid.value,
                    value,
                });
            }
            set += 1;
        }
        Ok(Self { entries })
    }

    /// Parses a complete DER `Name` (SEQUENCE tag and length included).
    pub(crate) fn from_der(der: &'a [u8]) -> Result<Self, &'static str> {
        let tlv = asn1::single(der, tag::SEQUENCE).map_err(|_| "not a DER SEQUENCE")?;
        Self::from_content(tlv.value)
    }

    /// `X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253)`.
    pub(crate) fn rfc2253(&self) -> String {
        let mut out = String::new();
        let mut prev: Option<usize> = None;
        for entry in self.entries.iter().rev() {
            if let Some(prev) = prev {
                out.push(if prev == entry.set { '+' } else { ',' });
            }
            prev = Some(entry.set);
            match names::short_name(entry.oid) {
                Some(sn) => {
                    out.push_str(sn);
                    out.push('=');
                    print_value(&mut out, &entry.value);
                }
                None => {
                    // XN_FLAG_DUMP_UNKNOWN_FIELDS: unknown types dump the DER.
                    out.push_str(&crate::der::dotted(entry.oid));
                    out.push('=');
                    dump(&mut out, &entry.value);
                }
            }
        }
        out
    }

    /// `X509_NAME_oneline(name, NULL, 0)` as OpenSSL 3.0 prints it.
    pub(crate) fn oneline(&self) -> String {
        let mut out = String::new();
        let mut prev: Option<usize> = None;
        for entry in &self.entries {
            let data = openssl_data(&entry.value);
            if data.len() > NAME_ONELINE_MAX {
                return String::new();
            }
            out.push(if prev == Some(entry.set) { '+' } else { '/' });
            prev = Some(entry.set);
            out.push_str(&names::field_name(entry.oid));
            out.push('=');
            let general_string =
                entry.value.tag == tag::GENERAL_STRING && data.len().is_multiple_of(4);
            let keep = general_string_mask(general_string, &data);
            for (i, &b) in data.iter().enumerate() {
                if !keep[i % 4] {
                    continue;
                }
                if !(b' '..=b'~').contains(&b) {
                    let _ = write!(out, "\\x{b:02X}");
                } else {
                    if b == b'/' || b == b'+' {
                        out.push('\\');
                    }
                    out.push(char::from(b));
                }
            }
            if out.len() > NAME_ONELINE_MAX {
                return String::new();
            }
        }
        out
    }

    /// The value of the last `commonName` attribute (DER order) as text, if
    /// it is a character string that decodes cleanly.
    pub(crate) fn common_name(&self) -> Option<String> {
        let entry = self
            .entries
            .iter()
            .rev()
            .find(|e| e.oid == OID_COMMON_NAME)?;
        decode_string(&entry.value)
    }
}

/// `X509_NAME_oneline` prints a `GeneralString` whose length is a multiple of
/// four and whose only non-zero octets sit at positions 3 mod 4 as those
/// octets alone (a legacy UCS-4 heuristic); everything else prints whole.
fn general_string_mask(general_string: bool, data: &[u8]) -> [bool; 4] {
    if !general_string {
        return [true; 4];
    }
    let mut nonzero = [false; 4];
    for (i, &b) in data.iter().enumerate() {
        if b != 0 {
            nonzero[i % 4] = true;
        }
    }
    if nonzero[0] || nonzero[1] || nonzero[2] {
        [true; 4]
    } else {
        [false, false, false, true]
    }
}

/// Parses a DER `Name` and prints it as nginx's `$ssl_client_s_dn` /
/// `$ssl_client_i_dn`: OpenSSL's `X509_NAME_print_ex` with
/// `XN_FLAG_RFC2253`.
///
/// Attributes come in reverse order (also inside a multi-valued RDN), `,`
/// between RDNs and `+` inside one, OpenSSL short names (`CN`,
/// `emailAddress`, ...), values converted to UTF-8 and escaped (`, + " \ < >
/// ;` and a leading `#` or space or a trailing space get a backslash; bytes
/// ≥ 0x80 and control bytes become `\XX`). Attribute types OpenSSL does not
/// know print as a dotted OID followed by `=#` and the value's DER in hex.
///
/// `name_der` is the complete encoding (`SEQUENCE` tag and length included),
/// e.g. the issuer or subject field of a certificate.
///
/// # Errors
///
/// [`IdentityError::MalformedName`] if `name_der` is not a DER `Name`.
///
/// # Example
///
/// ```
/// use mtls_status::identity::rfc2253;
///
/// // SEQUENCE { SET { SEQUENCE { 2.5.4.6, PrintableString "US" } },
/// //            SET { SEQUENCE { 2.5.4.3, UTF8String "a,b" } } }
/// let der = [
///     0x30, 0x1B, 0x31, 0x0B, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U',
///     b'S', 0x31, 0x0C, 0x30, 0x0A, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x03, b'a', b',',
///     b'b',
/// ];
/// assert_eq!(rfc2253(&der).unwrap(), r"CN=a\,b,C=US");
/// ```
pub fn rfc2253(name_der: &[u8]) -> Result<String, IdentityError> {
    Name::from_der(name_der)
        .map(|n| n.rfc2253())
        .map_err(IdentityError::MalformedName)
}

/// Parses a DER `Name` and prints it as nginx's `$ssl_client_s_dn_legacy`:
/// OpenSSL 3.0's `X509_NAME_oneline`.
///
/// Attributes in DER order, each preceded by `/` (or by `+` inside a
/// multi-valued RDN), as `SN=value` with the raw value octets: octets
/// outside `0x20..=0x7E` print as `\xHH`, `/` and `+` get a backslash.
/// A name longer than 1 MiB prints as the empty string (nginx's variable is
/// empty then, as `X509_NAME_oneline` fails).
///
/// # Errors
///
/// [`IdentityError::MalformedName`] if `name_der` is not a DER `Name`.
///
/// # Example
///
/// ```
/// use mtls_status::identity::oneline;
///
/// let der = [
///     0x30, 0x1B, 0x31, 0x0B, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U',
///     b'S', 0x31, 0x0C, 0x30, 0x0A, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x03, b'a', b'/',
///     b'b',
/// ];
/// assert_eq!(oneline(&der).unwrap(), r"/C=US/CN=a\/b");
/// ```
pub fn oneline(name_der: &[u8]) -> Result<String, IdentityError> {
    Name::from_der(name_der)
        .map(|n| n.oneline())
        .map_err(IdentityError::MalformedName)
}

#[cfg(feature = "lint")]
/// [`rfc2253`] for a Name given as its content (without the SEQUENCE
/// header); an unreadable name prints as the empty string.
pub(crate) fn format_name(content: &[u8]) -> String {
    Name::from_content(content)
        .map(|n| n.rfc2253())
        .unwrap_or_default()
}

/// How `do_print_ex` reads a value: octets per character, or dump as DER.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Width {
    /// UTF8String: printed octet by octet (already UTF-8).
    Utf8,
    /// One octet per character, converted from Latin-1 to UTF-8.
    One,
    /// BMPString: UCS-2 big-endian.
    Two,
    /// UniversalString: UCS-4 big-endian.
    Four,
    /// Not a character string: `#` and the hex of the DER encoding.
    Dump,
}

/// OpenSSL's `tag2nbyte` table, keyed by the identifier octet (so constructed
/// and non-universal encodings are dumped).
fn width(tlv: &Tlv<'_>) -> Width {
    let w = match tlv.tag {
        tag::UTF8_STRING => Width::Utf8,
        tag::NUMERIC_STRING
        | tag::PRINTABLE_STRING
        | tag::TELETEX_STRING
        | tag::IA5_STRING
        | tag::UTC_TIME
        | tag::GENERALIZED_TIME
        | tag::VISIBLE_STRING => Width::One,
        tag::BMP_STRING => Width::Two,
        tag::UNIVERSAL_STRING => Width::Four,
        _ => Width::Dump,
    };
    // OpenSSL refuses these lengths; dump rather than guess.
    match w {
        Width::Two if !tlv.value.len().is_multiple_of(2) => Width::Dump,
        Width::Four if !tlv.value.len().is_multiple_of(4) => Width::Dump,
        w => w,
    }
}

/// `do_print_ex` with `ASN1_STRFLGS_RFC2253`.
fn print_value(out: &mut String, tlv: &Tlv<'_>) {
    let data = tlv.value;
    match width(tlv) {
        Width::Dump => dump(out, tlv),
        Width::Utf8 => {
            let last = data.len().saturating_sub(1);
            for (i, &b) in data.iter().enumerate() {
                escape_byte(out, b, position(i == 0, i == last));
            }
        }
        Width::One => {
            let last = data.len().saturating_sub(1);
            for (i, &b) in data.iter().enumerate() {
                escape_char(out, u32::from(b), position(i == 0, i == last));
            }
        }
        Width::Two => {
            let count = data.len() / 2;
            for (i, unit) in data.chunks_exact(2).enumerate() {
                let c = unit.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
                escape_char(out, c, position(i == 0, i + 1 == count));
            }
        }
        Width::Four => {
            let count = data.len() / 4;
            for (i, unit) in data.chunks_exact(4).enumerate() {
                let c = unit.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
                escape_char(out, c, position(i == 0, i + 1 == count));
            }
        }
    }
}

/// Where a character sits, for the first/last-character escapes. OpenSSL
/// sets the "last" flag in place of the "first" one, so a one-character
/// value is only "last".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    First,
    Middle,
    Last,
}

fn position(first: bool, last: bool) -> Position {
    if last {
        Position::Last
    } else if first {
        Position::First
    } else {
        Position::Middle
    }
}

/// Converts one character to UTF-8 (`UTF8_putc`) and escapes each octet.
/// Surrogates and values above U+10FFFF have no UTF-8 form: OpenSSL 3.0
/// silently drops them.
fn escape_char(out: &mut String, c: u32, pos: Position) {
    let Some(ch) = char::from_u32(c) else {
        return;
    };
    let mut buf = [0u8; 4];
    for &b in ch.encode_utf8(&mut buf).as_bytes() {
        escape_byte(out, b, pos);
    }
}

/// `do_esc_char` with `ESC_2253 | ESC_CTRL | ESC_MSB`.
fn escape_byte(out: &mut String, b: u8, pos: Position) {
    let backslash = match b {
        b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';' => true,
        b'#' => pos == Position::First,
        b' ' => pos != Position::Middle,
        _ => false,
    };
    if backslash {
        out.push('\\');
        out.push(char::from(b));
    } else if !(0x20..0x7F).contains(&b) {
        let _ = write!(out, "\\{b:02X}");
    } else {
        out.push(char::from(b));
    }
}

/// `do_dump` with `ASN1_STRFLGS_DUMP_DER`: `#` and the uppercase hex of the
/// value's DER encoding as OpenSSL re-encodes it.
fn dump(out: &mut String, tlv: &Tlv<'_>) {
    out.push('#');
    for b in openssl_der(tlv) {
        let _ = write!(out, "{b:02X}");
    }
}

/// The octets OpenSSL keeps in the `ASN1_STRING` of a name value
/// (`ne->value->data`): the whole encoding for a SEQUENCE, the bits of a
/// BIT STRING (unused bits cleared), the content octets otherwise.
fn openssl_data<'a>(tlv: &Tlv<'a>) -> std::borrow::Cow<'a, [u8]> {
    use std::borrow::Cow;
    match tlv.tag {
        tag::SEQUENCE => Cow::Borrowed(tlv.raw),
        tag::BIT_STRING => match tlv.value.split_first() {
            Some((&unused, bits)) if unused <= 7 => {
                let mut bits = bits.to_vec();
                if let Some(last) = bits.last_mut() {
                    *last &= 0xFF << unused;
                }
                Cow::Owned(bits)
            }
            _ => Cow::Borrowed(tlv.value),
        },
        _ => Cow::Borrowed(tlv.value),
    }
}

/// The DER OpenSSL produces for a name value with `i2d_ASN1_TYPE`: the stored
/// encoding of a SEQUENCE, otherwise the tag, a minimal length and the
/// content (a BIT STRING with its unused bits cleared). Encodings OpenSSL
/// would not have accepted (constructed strings, high tag numbers, other
/// classes, bad BIT STRINGs) are dumped as received.
fn openssl_der(tlv: &Tlv<'_>) -> Vec<u8> {
    let universal_primitive = tlv.tag & 0xE0 == 0 && tlv.tag & 0x1F != 0x1F;
    if !universal_primitive {
        return tlv.raw.to_vec();
    }
    let mut content = tlv.value.to_vec();
    if tlv.tag == tag::BIT_STRING {
        match tlv.value.split_first() {
            Some((&unused, bits)) if unused <= 7 => {
                let data = openssl_data(tlv);
                content.clear();
                content.push(if bits.is_empty() { 0 } else { unused });
                content.extend_from_slice(&data);
            }
            _ => return tlv.raw.to_vec(),
        }
    }
    let mut der = Vec::with_capacity(content.len() + 6);
    der.push(tlv.tag);
    asn1::push_length(&mut der, content.len());
    der.extend_from_slice(&content);
    der
}

/// Decodes a character string value to text (convenience, not an nginx
/// format): UTF8String must be valid UTF-8, one-octet types are read as
/// Latin-1, BMPString as UTF-16BE, UniversalString as UCS-4BE.
fn decode_string(tlv: &Tlv<'_>) -> Option<String> {
    let data = tlv.value;
    match width(tlv) {
        Width::Utf8 => std::str::from_utf8(data).ok().map(str::to_owned),
        Width::One => Some(data.iter().map(|&b| char::from(b)).collect()),
        Width::Two => {
            let units = data
                .chunks_exact(2)
                .map(|u| u.iter().fold(0u16, |acc, &b| (acc << 8) | u16::from(b)));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        }
        Width::Four => data
            .chunks_exact(4)
            .map(|u| char::from_u32(u.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b))))
            .collect(),
        Width::Dump => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER helpers for hand-built names.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        asn1::push_length(&mut out, content.len());
        out.extend_from_slice(content);
        out
    }

    fn atav(oid: &[u8], value: Vec<u8>) -> Vec<u8> {
        let mut content = tlv(tag::OID, oid);
        content.extend(value);
        tlv(tag::SEQUENCE, &content)
    }

    fn name(rdns: &[Vec<Vec<u8>>]) -> Vec<u8> {
        let content: Vec<u8> = rdns
            .iter()
            .flat_map(|rdn| tlv(tag::SET, &rdn.concat()))
            .collect();
        tlv(tag::SEQUENCE, &content)
    }

    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const O: &[u8] = &[0x55, 0x04, 0x0A];
    const UID: &[u8] = &[0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x01];

    fn one(value: Vec<u8>) -> (String, String) {
        let der = name(&[vec![atav(CN, value)]]);
        (
            rfc2253(&der).expect("rfc2253"),
            oneline(&der).expect("oneline"),
        )
    }

    fn utf8(s: &str) -> Vec<u8> {
        tlv(tag::UTF8_STRING, s.as_bytes())
    }

    #[test]
    fn escapes_rfc2253_specials() {
        assert_eq!(
            one(utf8(r#"a,b+c"d\e<f>g;h"#)).0,
            r#"CN=a\,b\+c\"d\\e\<f\>g\;h"#
        );
        assert_eq!(one(utf8("a=b/c")).0, "CN=a=b/c");
        assert_eq!(one(utf8("#x#")).0, r"CN=\#x#");
        assert_eq!(one(utf8(" x ")).0, r"CN=\ x\ ");
        assert_eq!(one(utf8("a  b")).0, "CN=a  b");
        assert_eq!(one(utf8("\x01\x1F\x7F")).0, r"CN=\01\1F\7F");
        assert_eq!(one(utf8("J\u{fc}rgen")).0, r"CN=J\C3\BCrgen");
        assert_eq!(one(utf8("")).0, "CN=");
    }

    #[test]
    fn one_character_values_are_only_last() {
        assert_eq!(one(utf8("#")).0, "CN=#");
        assert_eq!(one(utf8(" ")).0, r"CN=\ ");
        assert_eq!(one(utf8("##")).0, r"CN=\##");
    }

    #[test]
    fn converts_string_types() {
        // T61 as Latin-1.
        assert_eq!(
            one(tlv(tag::TELETEX_STRING, b"J\xFCrgen")).0,
            r"CN=J\C3\BCrgen"
        );
        // BMPString.
        assert_eq!(
            one(tlv(tag::BMP_STRING, &[0, b'J', 0, 0xFC, 0x20, 0xAC])).0,
            r"CN=J\C3\BC\E2\82\AC"
        );
        // UniversalString, astral plane.
        assert_eq!(
            one(tlv(
                tag::UNIVERSAL_STRING,
                &[0, 0, 0, b'#', 0, 1, 0xF6, 0x00]
            ))
            .0,
            r"CN=\#\F0\9F\98\80"
        );
        // Lone surrogate dropped.
        assert_eq!(
            one(tlv(tag::BMP_STRING, &[0, b'a', 0xD8, 0x00, 0, b'b'])).0,
            "CN=ab"
        );
        // Odd BMP length: dumped.
        assert_eq!(
            one(tlv(tag::BMP_STRING, &[0, b'a', 0])).0,
            "CN=#1E030061 00".replace(' ', "")
        );
        // Invalid UTF-8 inside a UTF8String: printed octet by octet.
        assert_eq!(one(tlv(tag::UTF8_STRING, b"\xFF")).0, r"CN=\FF");
    }

    #[test]
    fn dumps_non_strings_and_unknown_types() {
        assert_eq!(one(tlv(tag::INTEGER, &[1])).0, "CN=#020101");
        assert_eq!(one(tlv(tag::SEQUENCE, &[])).0, "CN=#3000");
        // BIT STRING: unused bits cleared in the dump.
        assert_eq!(one(tlv(tag::BIT_STRING, &[4, 0xFF])).0, "CN=#030204F0");
        let der = name(&[vec![atav(&[0x2A, 0x03, 0x04], utf8("unknownoid"))]]);
        assert_eq!(
            rfc2253(&der).expect("ok"),
            "1.2.3.4=#0C0A756E6B6E6F776E6F6964"
        );
        assert_eq!(oneline(&der).expect("ok"), "/1.2.3.4=unknownoid");
    }

    #[test]
    fn long_oids_are_cut_like_openssl() {
        // OBJ_obj2txt into an 80-byte buffer: 79 characters.
        let long: Vec<u8> = std::iter::once(0x2A)
            .chain(std::iter::repeat_n(0x7F, 60))
            .collect();
        let der = name(&[vec![atav(&long, utf8("x"))]]);
        let text = format!("1.2{}", ".127".repeat(19));
        assert_eq!(text.len(), 79);
        assert_eq!(rfc2253(&der).expect("ok"), format!("{text}=#0C0178"));
        assert_eq!(oneline(&der).expect("ok"), format!("/{text}=x"));
        // Over 586 octets OBJ_obj2txt gives up: empty name.
        let huge: Vec<u8> = std::iter::once(0x2A)
            .chain(std::iter::repeat_n(0x7F, 600))
            .collect();
        let der = name(&[vec![atav(&huge, utf8("x"))]]);
        assert_eq!(rfc2253(&der).expect("ok"), "=#0C0178");
        assert_eq!(oneline(&der).expect("ok"), "/=x");
    }

    #[test]
    fn multi_valued_rdn_order() {
        let der = name(&[
            vec![atav(O, utf8("Org"))],
            vec![atav(CN, utf8("alice")), atav(UID, utf8("u1"))],
        ]);
        assert_eq!(rfc2253(&der).expect("ok"), "UID=u1+CN=alice,O=Org");
        assert_eq!(oneline(&der).expect("ok"), "/O=Org/CN=alice+UID=u1");
    }

    #[test]
    fn oneline_escapes() {
        assert_eq!(one(utf8(r#"a/b+c"d\e,f"#)).1, r#"/CN=a\/b\+c"d\e,f"#);
        assert_eq!(one(utf8("J\u{fc}\x7F\x00")).1, r"/CN=J\xC3\xBC\x7F\x00");
        assert_eq!(one(tlv(tag::BMP_STRING, &[0, b'A'])).1, r"/CN=\x00A");
        assert_eq!(one(tlv(tag::SEQUENCE, &[])).1, r"/CN=0\x00");
        // GeneralString that looks like UCS-4: only every fourth octet.
        assert_eq!(
            one(tlv(tag::GENERAL_STRING, &[0, 0, 0, b'h', 0, 0, 0, b'i'])).1,
            "/CN=hi"
        );
        assert_eq!(
            one(tlv(tag::GENERAL_STRING, &[0, 0, 1, b'h'])).1,
            r"/CN=\x00\x00\x01h"
        );
    }

    #[test]
    fn empty_names_and_rdns() {
        let der = name(&[]);
        assert_eq!(rfc2253(&der).expect("ok"), "");
        assert_eq!(oneline(&der).expect("ok"), "");
        let der = name(&[vec![atav(O, utf8("a"))], vec![], vec![atav(CN, utf8("b"))]]);
        assert_eq!(rfc2253(&der).expect("ok"), "CN=b,O=a");
        assert_eq!(oneline(&der).expect("ok"), "/O=a/CN=b");
    }

    #[test]
    fn common_name_is_the_last_one() {
        let der = name(&[
            vec![atav(CN, utf8("first"))],
            vec![atav(CN, tlv(tag::BMP_STRING, &[0, b'z']))],
        ]);
        let parsed = Name::from_der(&der).expect("ok");
        assert_eq!(parsed.common_name().as_deref(), Some("z"));
        let der = name(&[vec![atav(CN, tlv(tag::UTF8_STRING, b"\xFF"))]]);
        assert_eq!(Name::from_der(&der).expect("ok").common_name(), None);
        assert_eq!(Name::from_der(&name(&[])).expect("ok").common_name(), None);
    }

    #[test]
    fn rejects_malformed_names() {
        assert!(rfc2253(&[]).is_err());
        assert!(rfc2253(&[0x31, 0x00]).is_err());
        assert!(rfc2253(&[0x30, 0x02, 0x30, 0x00]).is_err());
        // ATAV without a value.
        assert!(rfc2253(&name(&[vec![tlv(tag::SEQUENCE, &tlv(tag::OID, CN))]])).is_err());
        // ATAV with two values.
        let mut two = tlv(tag::OID, CN);
        two.extend(utf8("a"));
        two.extend(utf8("b"));
        assert!(rfc2253(&name(&[vec![tlv(tag::SEQUENCE, &two)]])).is_err());
        // Bad OID encodings.
        assert!(rfc2253(&name(&[vec![atav(&[], utf8("a"))]])).is_err());
        assert!(rfc2253(&name(&[vec![atav(&[0x55, 0x84], utf8("a"))]])).is_err());
        // Trailing bytes after the name.
        let mut trailing = name(&[]);
        trailing.push(0);
        assert!(rfc2253(&trailing).is_err());
    }
}
