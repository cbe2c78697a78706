//! Small shared helpers: PEM armour, serial numbers, hex.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;

/// PEM-armours `der` with `label` (64-character lines, LF line endings).
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A fresh 16-byte positive serial, unique within the process (and very likely across
/// processes): 8 bytes seeded from the clock and process id, then a counter. The first
/// byte is in `0x40..=0x7f`, so the DER content octets are exactly these 16 bytes.
pub(crate) fn fresh_serial() -> Vec<u8> {
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let seed = *SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ (u64::from(std::process::id()) << 32)
    });
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut serial = [seed.to_be_bytes(), count.to_be_bytes()].concat();
    serial[0] = (serial[0] & 0x3f) | 0x40;
    serial
}

/// Uppercase hex of a serial's magnitude, as OpenSSL's `i2a_ASN1_INTEGER` prints it
/// (nginx `$ssl_client_serial`): the DER sign-pad `00` dropped, `-` for negative
/// numbers, `00` for zero. (OpenSSL's line folding after 35 bytes is not reproduced.)
pub(crate) fn serial_hex(der_content: &[u8]) -> String {
    use std::fmt::Write as _;
    let negative = der_content.first().is_some_and(|b| b & 0x80 != 0);
    let magnitude: Vec<u8> = if negative {
        // two's complement → magnitude
        let mut m: Vec<u8> = der_content.iter().map(|b| !b).collect();
        for byte in m.iter_mut().rev() {
            let (v, overflow) = byte.overflowing_add(1);
            *byte = v;
            if !overflow {
                break;
            }
        }
        m
    } else {
        der_content.to_vec()
    };
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let significant = &magnitude[skip.min(magnitude.len().saturating_sub(1))..];
    let mut out = String::from(if negative { "-" } else { "" });
    if significant.is_empty() {
        out.push_str("00");
    }
    for b in significant {
        let _ = write!(out, "{b:02X}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_matches_openssl() {
        assert_eq!(serial_hex(&[0x00, 0xab]), "AB");
        assert_eq!(serial_hex(&[0x01]), "01");
        assert_eq!(serial_hex(&[0x00, 0x80]), "80");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[0xff]), "-01");
        assert_eq!(serial_hex(&[0x80]), "-80");
    }

    #[test]
    fn fresh_serials_are_positive_and_distinct() {
        let a = fresh_serial();
        let b = fresh_serial();
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!((0x40..=0x7f).contains(&a[0]));
    }

    #[test]
    fn pem_wraps_lines() {
        let p = pem("TEST", &[0u8; 100]);
        assert!(p.starts_with("-----BEGIN TEST-----\n"));
        assert!(p.ends_with("-----END TEST-----\n"));
        assert!(p.lines().all(|l| l.len() <= 64));
    }
}
