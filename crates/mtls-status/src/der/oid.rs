//! OID text as OpenSSL's `OBJ_obj2txt(buf, 80, oid, 1)` writes it: the one
//! OID printer for names, lints and classifier messages.

/// Longest OID text OpenSSL produces here: the callers pass an 80-byte buffer
/// to `OBJ_obj2txt`, which keeps 79 characters and a NUL.
const OID_TEXT_MAX: usize = 79;

/// `OBJ_obj2txt` refuses OIDs longer than this (CVE-2023-2650 fix) and leaves
/// an empty string.
const OID_CONTENT_MAX: usize = 586;

/// Whether `oid` is a valid OID content encoding by OpenSSL's rules
/// (`c2i_ASN1_OBJECT`): non-empty, the last octet ends a sub-identifier, and no
/// sub-identifier starts with the padding octet `0x80`.
pub fn is_valid_oid(oid: &[u8]) -> bool {
    let Some(&last) = oid.last() else {
        return false;
    };
    if last & 0x80 != 0 {
        return false;
    }
    let mut at_start = true;
    for &b in oid {
        if at_start && b == 0x80 {
            return false;
        }
        at_start = b & 0x80 == 0;
    }
    true
}

/// Dotted-decimal text of an OID given as its content octets, truncated
/// like OpenSSL's 80-byte buffer. Sub-identifiers of any size are printed
/// exactly.
///
/// ```
/// assert_eq!(mtls_status::der::dotted(&[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]), "1.3.6.1.5.5.7.3.2");
/// ```
pub fn dotted(oid: &[u8]) -> String {
    let mut out = String::new();
    if oid.len() > OID_CONTENT_MAX {
        return out;
    }
    let mut first = true;
    let mut arc = BigDec::zero();
    for &b in oid {
        arc.mul_add(128, u32::from(b & 0x7F));
        if b & 0x80 != 0 {
            continue;
        }
        if first {
            first = false;
            let top = if arc.at_least(80) {
                arc.sub_small(80);
                2
            } else if arc.at_least(40) {
                arc.sub_small(40);
                1
            } else {
                0
            };
            out.push(char::from(b'0' + top));
        }
        out.push('.');
        arc.write_to(&mut out);
        arc = BigDec::zero();
        if out.len() >= OID_TEXT_MAX {
            break;
        }
    }
    out.truncate(OID_TEXT_MAX);
    out
}

/// An unsigned integer of any size, in base-10⁹ limbs (least significant first).
struct BigDec {
    limbs: Vec<u32>,
}

const LIMB: u64 = 1_000_000_000;

impl BigDec {
    fn zero() -> Self {
        Self { limbs: vec![0] }
    }

    fn mul_add(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.limbs {
            let v = u64::from(*limb) * u64::from(mul) + carry;
            // v % LIMB < 10⁹ fits in u32.
            *limb = (v % LIMB) as u32;
            carry = v / LIMB;
        }
        while carry > 0 {
            self.limbs.push((carry % LIMB) as u32);
            carry /= LIMB;
        }
    }

    fn at_least(&self, n: u32) -> bool {
        self.limbs.len() > 1 || self.limbs.first().is_some_and(|&l| l >= n)
    }

    /// Subtracts `n` (< 10⁹); the caller checked `at_least(n)`.
    fn sub_small(&mut self, n: u32) {
        let mut borrow = u64::from(n);
        for limb in &mut self.limbs {
            let cur = u64::from(*limb);
            if cur >= borrow {
                *limb = (cur - borrow) as u32;
                break;
            }
            *limb = (cur + LIMB - borrow) as u32;
            borrow = 1;
        }
        while self.limbs.len() > 1 && self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn write_to(&self, out: &mut String) {
        use std::fmt::Write as _;
        let mut iter = self.limbs.iter().rev();
        if let Some(top) = iter.next() {
            let _ = write!(out, "{top}");
        }
        for limb in iter {
            let _ = write!(out, "{limb:09}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_text() {
        assert_eq!(dotted(&[0x2a, 0x03, 0x04]), "1.2.3.4");
        assert_eq!(dotted(&[0x00]), "0.0");
        assert_eq!(dotted(&[0x27]), "0.39");
        assert_eq!(dotted(&[0x28]), "1.0");
        assert_eq!(dotted(&[0x50]), "2.0");
        assert_eq!(dotted(&[0x88, 0x37, 0x03]), "2.999.3");
        // 2^64 as an arc: beyond u64.
        let mut big = vec![0x2a];
        big.extend([0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
        assert_eq!(dotted(&big), "1.2.18446744073709551616");
        // Huge first arc: 2.(x-80) computed exactly.
        let first = [0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(dotted(&first), "2.18446744073709551536");
        // Truncated at 79 characters.
        let long: Vec<u8> = std::iter::once(0x2a)
            .chain(std::iter::repeat_n(0x7f, 60))
            .collect();
        let text = dotted(&long);
        assert_eq!(text.len(), 79);
        assert!(text.starts_with("1.2.127.127."));
    }

    #[test]
    fn oid_validity() {
        assert!(is_valid_oid(&[0x2a, 0x03]));
        assert!(!is_valid_oid(&[]));
        assert!(!is_valid_oid(&[0x2a, 0x83]));
        assert!(!is_valid_oid(&[0x2a, 0x80, 0x01]));
        assert!(is_valid_oid(&[0x2a, 0x81, 0x80, 0x01]));
    }
}
