//! The tag-length-value cursor: walks DER items, keeps the raw bytes of each
//! item (so values can be dumped exactly), and never trusts a length without
//! checking it against the remaining input.

/// Identifier octets of the universal types read in certificates and CRLs.
pub mod tag {
    /// BOOLEAN.
    pub const BOOLEAN: u8 = 0x01;
    /// INTEGER.
    pub const INTEGER: u8 = 0x02;
    /// BIT STRING.
    pub const BIT_STRING: u8 = 0x03;
    /// OCTET STRING.
    pub const OCTET_STRING: u8 = 0x04;
    /// OBJECT IDENTIFIER.
    pub const OID: u8 = 0x06;
    /// UTF8String.
    pub const UTF8_STRING: u8 = 0x0C;
    /// NumericString.
    pub const NUMERIC_STRING: u8 = 0x12;
    /// PrintableString.
    pub const PRINTABLE_STRING: u8 = 0x13;
    /// TeletexString (T61String).
    pub const TELETEX_STRING: u8 = 0x14;
    /// IA5String.
    pub const IA5_STRING: u8 = 0x16;
    /// UTCTime.
    pub const UTC_TIME: u8 = 0x17;
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: u8 = 0x18;
    /// VisibleString.
    pub const VISIBLE_STRING: u8 = 0x1A;
    /// GeneralString.
    pub const GENERAL_STRING: u8 = 0x1B;
    /// UniversalString.
    pub const UNIVERSAL_STRING: u8 = 0x1C;
    /// BMPString.
    pub const BMP_STRING: u8 = 0x1E;
    /// SEQUENCE (constructed).
    pub const SEQUENCE: u8 = 0x30;
    /// SET (constructed).
    pub const SET: u8 = 0x31;
}

/// Why a DER item could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerError {
    /// The input ended inside an item.
    #[error("truncated DER")]
    Truncated,
    /// Indefinite or oversized length, or a malformed tag.
    #[error("bad DER header")]
    BadHeader,
    /// A different tag was found than the one required.
    #[error("unexpected DER tag")]
    UnexpectedTag,
    /// Bytes were left over where an item had to end.
    #[error("trailing data after DER item")]
    TrailingData,
}

/// One tag-length-value item.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The first identifier octet (class, constructed bit and, for low tag
    /// numbers, the tag number). High tag numbers keep `0x1F` in the low bits,
    /// so they never compare equal to a universal tag constant.
    pub tag: u8,
    /// The content octets.
    pub value: &'a [u8],
    /// The whole item: identifier, length and content octets.
    pub raw: &'a [u8],
}

/// A cursor over a sequence of DER items.
///
/// ```
/// use mtls_status::der::{Reader, tag};
///
/// let mut items = Reader::new(&[0x02, 0x01, 0x05, 0x05, 0x00]);
/// assert_eq!(items.expect(tag::INTEGER).unwrap().value, [5]);
/// assert_eq!(items.read().unwrap().tag, 0x05);
/// assert!(items.is_empty());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

/// Longest length field accepted (4 octets: items up to 4 GiB, far beyond
/// anything a certificate holds).
const MAX_LENGTH_OCTETS: usize = 4;
/// Longest high-tag-number continuation accepted.
const MAX_TAG_OCTETS: usize = 4;

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The identifier octet of the next item, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next item.
    pub fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let input = self.rest;
        let (&tag, mut pos) = match input.split_first() {
            Some((t, _)) => (t, 1usize),
            None => return Err(DerError::Truncated),
        };
        if tag & 0x1F == 0x1F {
            // High tag number form: continuation octets with the top bit set,
            // the last one without.
            let mut n = 0;
            loop {
                let b = *input.get(pos).ok_or(DerError::Truncated)?;
                pos += 1;
                n += 1;
                if n > MAX_TAG_OCTETS {
                    return Err(DerError::BadHeader);
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let first = *input.get(pos).ok_or(DerError::Truncated)?;
        pos += 1;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            // 0x80 is the indefinite form (BER only), 0xFF is reserved.
            if count == 0 || count > MAX_LENGTH_OCTETS {
                return Err(DerError::BadHeader);
            }
            let bytes = input.get(pos..pos + count).ok_or(DerError::Truncated)?;
            pos += count;
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        let end = pos.checked_add(len).ok_or(DerError::BadHeader)?;
        let raw = input.get(..end).ok_or(DerError::Truncated)?;
        let value = raw.get(pos..).ok_or(DerError::Truncated)?;
        self.rest = input.get(end..).unwrap_or_default();
        Ok(Tlv { tag, value, raw })
    }

    /// Reads the next item and requires its identifier octet to be `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let tlv = self.read()?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(DerError::UnexpectedTag)
        }
    }

    /// Reads the next item if its identifier octet is `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless every byte has been consumed.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData)
        }
    }
}

/// Reads exactly one item spanning all of `input`, with identifier `tag`.
pub fn single(input: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let mut reader = Reader::new(input);
    let tlv = reader.expect(tag)?;
    reader.finish()?;
    Ok(tlv)
}

/// Appends a minimal DER length field for `len`.
pub(crate) fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        // Fits in 7 bits.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 0x80));
        let tlv = single(&long, tag::OCTET_STRING).expect("long form");
        assert_eq!(tlv.value.len(), 0x80);
        assert_eq!(tlv.raw.len(), long.len());

        let tlv = single(&[0x02, 0x01, 0x05], tag::INTEGER).expect("short form");
        assert_eq!(tlv.value, &[5]);
    }

    #[test]
    fn rejects_bad_items() {
        assert_eq!(single(&[], 0x30).err(), Some(DerError::Truncated));
        assert_eq!(single(&[0x30], 0x30).err(), Some(DerError::Truncated));
        assert_eq!(single(&[0x30, 0x80], 0x30).err(), Some(DerError::BadHeader));
        assert_eq!(
            single(&[0x30, 0x85, 1, 1, 1, 1, 1], 0x30).err(),
            Some(DerError::BadHeader)
        );
        assert_eq!(
            single(&[0x30, 0x02, 0], 0x30).err(),
            Some(DerError::Truncated)
        );
        assert_eq!(
            single(&[0x30, 0x00, 0], 0x30).err(),
            Some(DerError::TrailingData)
        );
        assert_eq!(
            single(&[0x31, 0x00], 0x30).err(),
            Some(DerError::UnexpectedTag)
        );
        assert_eq!(
            single(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], 0x30).err(),
            Some(DerError::Truncated)
        );
    }

    #[test]
    fn high_tag_numbers_are_skipped_whole() {
        let mut r = Reader::new(&[0x9F, 0x81, 0x01, 0x01, 0xAA, 0x05, 0x00]);
        let tlv = r.read().expect("high tag");
        assert_eq!(tlv.tag, 0x9F);
        assert_eq!(tlv.value, &[0xAA]);
        assert_eq!(r.read().expect("null").tag, 0x05);
        assert!(r.is_empty());
    }

    #[test]
    fn minimal_lengths() {
        for (len, want) in [
            (0usize, vec![0u8]),
            (0x7F, vec![0x7F]),
            (0x80, vec![0x81, 0x80]),
            (0x100, vec![0x82, 0x01, 0x00]),
        ] {
            let mut out = Vec::new();
            push_length(&mut out, len);
            assert_eq!(out, want);
        }
    }
}
