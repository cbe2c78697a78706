//! Distinguished names beyond what rcgen can express.
//!
//! rcgen's [`DistinguishedName`](rcgen::DistinguishedName) keeps one value per attribute
//! type and writes every attribute as its own single-valued RDN. [`Name`] has neither
//! limit: it writes multi-valued RDNs (`CN=alice+UID=u1`), repeated attribute types
//! (`DC=example,DC=com`), any attribute OID, and any string type, including raw,
//! possibly invalid, content bytes. Use it with
//! [`LeafBuilder::subject_name`](crate::LeafBuilder::subject_name) or
//! [`CaBuilder::subject_name`](crate::CaBuilder::subject_name).

use crate::der;

/// Object identifiers of common name attributes, as arcs for [`Name::attr`].
pub mod oid {
    /// `commonName` (CN), 2.5.4.3.
    pub const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
    /// `surname` (SN), 2.5.4.4.
    pub const SURNAME: &[u64] = &[2, 5, 4, 4];
    /// `serialNumber`, 2.5.4.5.
    pub const SERIAL_NUMBER: &[u64] = &[2, 5, 4, 5];
    /// `countryName` (C), 2.5.4.6.
    pub const COUNTRY_NAME: &[u64] = &[2, 5, 4, 6];
    /// `localityName` (L), 2.5.4.7.
    pub const LOCALITY_NAME: &[u64] = &[2, 5, 4, 7];
    /// `stateOrProvinceName` (ST), 2.5.4.8.
    pub const STATE_OR_PROVINCE_NAME: &[u64] = &[2, 5, 4, 8];
    /// `streetAddress` (street), 2.5.4.9.
    pub const STREET_ADDRESS: &[u64] = &[2, 5, 4, 9];
    /// `organizationName` (O), 2.5.4.10.
    pub const ORGANIZATION_NAME: &[u64] = &[2, 5, 4, 10];
    /// `organizationalUnitName` (OU), 2.5.4.11.
    pub const ORGANIZATIONAL_UNIT_NAME: &[u64] = &[2, 5, 4, 11];
    /// `title`, 2.5.4.12.
    pub const TITLE: &[u64] = &[2, 5, 4, 12];
    /// `givenName` (GN), 2.5.4.42.
    pub const GIVEN_NAME: &[u64] = &[2, 5, 4, 42];
    /// `userId` (UID), 0.9.2342.19200300.100.1.1.
    pub const USER_ID: &[u64] = &[0, 9, 2342, 19_200_300, 100, 1, 1];
    /// `domainComponent` (DC), 0.9.2342.19200300.100.1.25.
    pub const DOMAIN_COMPONENT: &[u64] = &[0, 9, 2342, 19_200_300, 100, 1, 25];
    /// `emailAddress` (PKCS #9), 1.2.840.113549.1.9.1.
    pub const EMAIL_ADDRESS: &[u64] = &[1, 2, 840, 113_549, 1, 9, 1];
}

/// An attribute value with an explicit ASN.1 string type.
///
/// Contents are not validated: a `Printable` value containing `@` is written as is,
/// which is handy for testing lenient parsers. `From<&str>` and `From<String>` give
/// [`AttributeValue::Utf8`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AttributeValue {
    /// `UTF8String` (tag 0x0C).
    Utf8(String),
    /// `PrintableString` (tag 0x13).
    Printable(String),
    /// `IA5String` (tag 0x16).
    Ia5(String),
    /// `BMPString` (tag 0x1E): the text encoded as UTF-16BE.
    Bmp(String),
    /// `UniversalString` (tag 0x1C): the text encoded as UTF-32BE.
    Universal(String),
    /// `TeletexString` / `T61String` (tag 0x14): these bytes verbatim (often Latin-1).
    Teletex(Vec<u8>),
    /// `NumericString` (tag 0x12).
    Numeric(String),
    /// `VisibleString` (tag 0x1A).
    Visible(String),
    /// Any universal tag with these content bytes verbatim, e.g. an `OCTET STRING`
    /// (`0x04`) or a string type with invalid content.
    Raw {
        /// The single-byte tag.
        tag: u8,
        /// The content octets.
        content: Vec<u8>,
    },
}

impl AttributeValue {
    /// The DER encoding of this value (tag, length, content).
    pub fn to_der(&self) -> Vec<u8> {
        match self {
            Self::Utf8(s) => der::tlv(0x0c, s.as_bytes()),
            Self::Printable(s) => der::tlv(0x13, s.as_bytes()),
            Self::Ia5(s) => der::tlv(0x16, s.as_bytes()),
            Self::Bmp(s) => {
                let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_be_bytes).collect();
                der::tlv(0x1e, &bytes)
            }
            Self::Universal(s) => {
                let bytes: Vec<u8> = s.chars().flat_map(|c| u32::from(c).to_be_bytes()).collect();
                der::tlv(0x1c, &bytes)
            }
            Self::Teletex(bytes) => der::tlv(0x14, bytes),
            Self::Numeric(s) => der::tlv(0x12, s.as_bytes()),
            Self::Visible(s) => der::tlv(0x1a, s.as_bytes()),
            Self::Raw { tag, content } => der::tlv(*tag, content),
        }
    }
}

impl From<&str> for AttributeValue {
    fn from(value: &str) -> Self {
        Self::Utf8(value.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(value: String) -> Self {
        Self::Utf8(value)
    }
}

/// An X.501 `Name` (a sequence of RDNs) built attribute by attribute.
///
/// RDNs are written in the order they are added: the first one added is the first in
/// the DER encoding (the most significant, usually `C` or `DC`). OpenSSL's RFC 2253
/// output (nginx `$ssl_client_s_dn`) prints them in reverse.
///
/// ```
/// use mtls_testpki::{AttributeValue, Ca, Name, name::oid};
///
/// let subject = Name::new()
///     .domain_component("com")
///     .domain_component("example") // repeated attribute types are fine
///     .attr(&[1, 2, 3, 4], "unknown") // any OID
///     .attr(oid::ORGANIZATION_NAME, AttributeValue::Bmp("Bücher".into()))
///     .multi([(oid::COMMON_NAME, "alice"), (oid::USER_ID, "u1")]); // CN=alice+UID=u1
/// assert_eq!(subject.len(), 5);
///
/// let root = Ca::root("Names Root").build();
/// let leaf = root.leaf("alice").subject_name(subject.clone()).build();
/// assert_eq!(leaf.subject_der(), subject.to_der());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Name {
    /// Each RDN as a complete DER `SET` TLV.
    rdns: Vec<Vec<u8>>,
}

impl Name {
    /// An empty name (no RDNs), encoded as an empty `SEQUENCE`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a single-valued RDN `oid=value`.
    #[must_use]
    pub fn attr(self, oid: &[u64], value: impl Into<AttributeValue>) -> Self {
        self.multi([(oid, value)])
    }

    /// Appends one multi-valued RDN holding all of `attrs` (`CN=alice+UID=u1`).
    ///
    /// The attributes are sorted by their DER encoding, as DER requires for a `SET OF`;
    /// use [`Name::raw_rdn`] for another order.
    ///
    /// # Panics
    ///
    /// If `attrs` is empty.
    #[must_use]
    pub fn multi<'o, I, V>(mut self, attrs: I) -> Self
    where
        I: IntoIterator<Item = (&'o [u64], V)>,
        V: Into<AttributeValue>,
    {
        let mut encoded: Vec<Vec<u8>> = attrs
            .into_iter()
            .map(|(oid, value)| {
                let content = [der::oid(oid), value.into().to_der()].concat();
                der::tlv(der::TAG_SEQUENCE, &content)
            })
            .collect();
        assert!(
            !encoded.is_empty(),
            "mtls-testpki: an RDN needs at least one attribute"
        );
        encoded.sort();
        self.rdns.push(der::tlv(der::TAG_SET, &encoded.concat()));
        self
    }

    /// Appends an RDN given as its complete DER encoding (normally a `SET`), verbatim.
    #[must_use]
    pub fn raw_rdn(mut self, rdn_der: impl Into<Vec<u8>>) -> Self {
        self.rdns.push(rdn_der.into());
        self
    }

    /// Appends `CN=value` (`UTF8String`).
    #[must_use]
    pub fn common_name(self, value: &str) -> Self {
        self.attr(oid::COMMON_NAME, value)
    }

    /// Appends `O=value` (`UTF8String`).
    #[must_use]
    pub fn organization(self, value: &str) -> Self {
        self.attr(oid::ORGANIZATION_NAME, value)
    }

    /// Appends `OU=value` (`UTF8String`).
    #[must_use]
    pub fn organizational_unit(self, value: &str) -> Self {
        self.attr(oid::ORGANIZATIONAL_UNIT_NAME, value)
    }

    /// Appends `C=value` (`PrintableString`, as RFC 5280 requires for countries).
    #[must_use]
    pub fn country(self, value: &str) -> Self {
        self.attr(
            oid::COUNTRY_NAME,
            AttributeValue::Printable(value.to_owned()),
        )
    }

    /// Appends `ST=value` (`UTF8String`).
    #[must_use]
    pub fn state(self, value: &str) -> Self {
        self.attr(oid::STATE_OR_PROVINCE_NAME, value)
    }

    /// Appends `L=value` (`UTF8String`).
    #[must_use]
    pub fn locality(self, value: &str) -> Self {
        self.attr(oid::LOCALITY_NAME, value)
    }

    /// Appends `DC=value` (`IA5String`).
    #[must_use]
    pub fn domain_component(self, value: &str) -> Self {
        self.attr(oid::DOMAIN_COMPONENT, AttributeValue::Ia5(value.to_owned()))
    }

    /// Appends `UID=value` (`UTF8String`).
    #[must_use]
    pub fn user_id(self, value: &str) -> Self {
        self.attr(oid::USER_ID, value)
    }

    /// Appends `emailAddress=value` (`IA5String`).
    #[must_use]
    pub fn email_address(self, value: &str) -> Self {
        self.attr(oid::EMAIL_ADDRESS, AttributeValue::Ia5(value.to_owned()))
    }

    /// Appends `serialNumber=value` (`PrintableString`).
    #[must_use]
    pub fn serial_number(self, value: &str) -> Self {
        self.attr(
            oid::SERIAL_NUMBER,
            AttributeValue::Printable(value.to_owned()),
        )
    }

    /// Number of RDNs.
    pub fn len(&self) -> usize {
        self.rdns.len()
    }

    /// Whether the name has no RDN.
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// The DER encoding of the whole `Name` (an `RDNSequence`, outer `SEQUENCE` included).
    pub fn to_der(&self) -> Vec<u8> {
        der::tlv(der::TAG_SEQUENCE, &self.rdns.concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_multi_valued_rdn_sorted() {
        let name = Name::new().multi([(oid::USER_ID, "u1"), (oid::COMMON_NAME, "alice")]);
        let der = name.to_der();
        // SEQUENCE { SET { SEQ{CN}, SEQ{UID} } }: CN's OID (06 03 55..) sorts before
        // UID's (06 0A 09..).
        let set = der::content(&der);
        let attrs = der::children(der::content(set));
        assert_eq!(attrs.len(), 2);
        assert_eq!(
            der::children(der::content(attrs[0]))[0],
            der::oid(oid::COMMON_NAME)
        );
    }

    #[test]
    fn string_types_have_their_tags() {
        assert_eq!(
            AttributeValue::Bmp("a".into()).to_der(),
            vec![0x1e, 2, 0, b'a']
        );
        assert_eq!(
            AttributeValue::Universal("a".into()).to_der(),
            vec![0x1c, 4, 0, 0, 0, b'a']
        );
        assert_eq!(
            AttributeValue::Teletex(vec![0xe9]).to_der(),
            vec![0x14, 1, 0xe9]
        );
        assert_eq!(Name::new().to_der(), vec![0x30, 0]);
    }
}
