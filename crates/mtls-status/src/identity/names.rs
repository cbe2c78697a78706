//! OpenSSL's object table: OID → short name, and OID → dotted text.
//!
//! `X509_NAME_print_ex` with `XN_FLAG_FN_SN` and `X509_NAME_oneline` print an
//! attribute type as its OpenSSL short name (`CN`, `emailAddress`,
//! `jurisdictionC`, ...) when OpenSSL knows the OID, and as dotted decimal
//! otherwise. To print byte-for-byte the same, [`OBJECTS`] holds every OID in
//! OpenSSL 3.0.19's built-in table (not only attribute types: an algorithm OID
//! used as an attribute type prints under its short name too).
//!
//! The table itself is generated from OpenSSL's `obj_mac.h` into `objects.rs`
//! by `tools/gen-objects.py` (how to rerun it is in the script; CI checks that
//! rerunning it reproduces the file).

use super::objects::OBJECTS;

/// OpenSSL's short name for the OID with these content octets, if it has one.
///
/// ```
/// assert_eq!(mtls_status::der::short_name(&[0x55, 0x04, 0x03]), Some("CN"));
/// ```
pub fn short_name(oid: &[u8]) -> Option<&'static str> {
    OBJECTS
        .binary_search_by(|(der, _)| (*der).cmp(oid))
        .ok()
        .and_then(|i| OBJECTS.get(i))
        .map(|(_, sn)| *sn)
}

/// The short name if OpenSSL knows the OID, else its dotted text as
/// `OBJ_obj2txt(buf, 80, oid, 1)` writes it.
pub(crate) fn field_name(oid: &[u8]) -> std::borrow::Cow<'static, str> {
    match short_name(oid) {
        Some(sn) => std::borrow::Cow::Borrowed(sn),
        None => std::borrow::Cow::Owned(crate::der::dotted(oid)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::is_valid_oid;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in OBJECTS.windows(2) {
            if let [(a, _), (b, _)] = pair {
                assert!(a < b, "{a:x?} !< {b:x?}");
            }
        }
        assert!(OBJECTS.iter().all(|(der, _)| is_valid_oid(der)));
    }

    #[test]
    fn short_names() {
        let cases: &[(&[u8], &str)] = &[
            (b"\x55\x04\x03", "CN"),
            (b"\x55\x04\x06", "C"),
            (b"\x55\x04\x08", "ST"),
            (b"\x55\x04\x07", "L"),
            (b"\x55\x04\x0a", "O"),
            (b"\x55\x04\x0b", "OU"),
            (b"\x55\x04\x05", "serialNumber"),
            (b"\x55\x04\x04", "SN"),
            (b"\x55\x04\x2a", "GN"),
            (b"\x55\x04\x09", "street"),
            (b"\x55\x04\x61", "organizationIdentifier"),
            (b"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", "emailAddress"),
            (b"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", "DC"),
            (b"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", "UID"),
            (
                b"\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x03",
                "jurisdictionC",
            ),
        ];
        for (der, sn) in cases {
            assert_eq!(short_name(der), Some(*sn));
        }
        assert_eq!(short_name(&[0x2a, 0x03, 0x04]), None);
    }

    #[test]
    fn field_names() {
        assert_eq!(field_name(&[0x55, 0x04, 0x03]), "CN");
        assert_eq!(field_name(&[0x2a, 0x03, 0x04]), "1.2.3.4");
    }
}
