//! A minimal, panic-free DER reader.
//!
//! Only what the identity code needs: walk tag-length-value items, keep the
//! raw bytes of each item (so values can be dumped exactly), and never trust a
//! length without checking it against the remaining input.

/// Universal tags used by the certificate walker and the name formatter.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0C;
    pub(crate) const NUMERIC_STRING: u8 = 0x12;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const TELETEX_STRING: u8 = 0x14;
    pub(crate) const IA5_STRING: u8 = 0x16;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const VISIBLE_STRING: u8 = 0x1A;
    pub(crate) const GENERAL_STRING: u8 = 0x1B;
    pub(crate) const UNIVERSAL_STRING: u8 = 0x1C;
    pub(crate) const BMP_STRING: u8 = 0x1E;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
}

/// Why a DER item could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asn1Error {
    /// The input ended inside an item.
    Truncated,
    /// Indefinite or oversized length, or a malformed tag.
    BadHeader,
    /// A different tag was found than the one required.
    UnexpectedTag,
    /// Bytes were left over where an item had to end.
    TrailingData,
}

/// One tag-length-value item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The first identifier octet (class, constructed bit and, for low tag
    /// numbers, the tag number). High tag numbers keep `0x1F` in the low bits,
    /// so they never compare equal to a universal tag constant.
    pub(crate) tag: u8,
    /// The content octets.
    pub(crate) value: &'a [u8],
    /// The whole item: identifier, length and content octets.
    pub(crate) raw: &'a [u8],
}

/// A cursor over a sequence of DER items.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

/// Longest length field accepted (4 octets: items up to 4 GiB, far beyond
/// anything a certificate holds).
const MAX_LENGTH_OCTETS: usize = 4;
/// Longest high-tag-number continuation accepted.
const MAX_TAG_OCTETS: usize = 4;

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The identifier octet of the next item, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Reads the next item.
    pub(crate) fn read(&mut self) -> Result<Tlv<'a>, Asn1Error> {
        let input = self.rest;
        let (&tag, mut pos) = match input.split_first() {
            Some((t, _)) => (t, 1usize),
            None => return Err(Asn1Error::Truncated),
        };
        if tag & 0x1F == 0x1F {
            // High tag number form: continuation octets with the top bit set,
            // the last one without.
            let mut n = 0;
            loop {
                let b = *input.get(pos).ok_or(Asn1Error::Truncated)?;
                pos += 1;
                n += 1;
                if n > MAX_TAG_OCTETS {
                    return Err(Asn1Error::BadHeader);
                }
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let first = *input.get(pos).ok_or(Asn1Error::Truncated)?;
        pos += 1;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            // 0x80 is the indefinite form (BER only), 0xFF is reserved.
            if count == 0 || count > MAX_LENGTH_OCTETS {
                return Err(Asn1Error::BadHeader);
            }
            let bytes = input.get(pos..pos + count).ok_or(Asn1Error::Truncated)?;
            pos += count;
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        let end = pos.checked_add(len).ok_or(Asn1Error::BadHeader)?;
        let raw = input.get(..end).ok_or(Asn1Error::Truncated)?;
        let value = raw.get(pos..).ok_or(Asn1Error::Truncated)?;
        self.rest = input.get(end..).unwrap_or_default();
        Ok(Tlv { tag, value, raw })
    }

    /// Reads the next item and requires its identifier octet to be `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<Tlv<'a>, Asn1Error> {
        let tlv = self.read()?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(Asn1Error::UnexpectedTag)
        }
    }

    /// Reads the next item if its identifier octet is `tag`.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, Asn1Error> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless every byte has been consumed.
    pub(crate) fn finish(&self) -> Result<(), Asn1Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Asn1Error::TrailingData)
        }
    }
}

/// Reads exactly one item spanning all of `input`, with identifier `tag`.
pub(crate) fn single(input: &[u8], tag: u8) -> Result<Tlv<'_>, Asn1Error> {
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
        assert_eq!(single(&[], 0x30).err(), Some(Asn1Error::Truncated));
        assert_eq!(single(&[0x30], 0x30).err(), Some(Asn1Error::Truncated));
        assert_eq!(
            single(&[0x30, 0x80], 0x30).err(),
            Some(Asn1Error::BadHeader)
        );
        assert_eq!(
            single(&[0x30, 0x85, 1, 1, 1, 1, 1], 0x30).err(),
            Some(Asn1Error::BadHeader)
        );
        assert_eq!(
            single(&[0x30, 0x02, 0], 0x30).err(),
            Some(Asn1Error::Truncated)
        );
        assert_eq!(
            single(&[0x30, 0x00, 0], 0x30).err(),
            Some(Asn1Error::TrailingData)
        );
        assert_eq!(
            single(&[0x31, 0x00], 0x30).err(),
            Some(Asn1Error::UnexpectedTag)
        );
        assert_eq!(
            single(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], 0x30).err(),
            Some(Asn1Error::Truncated)
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
