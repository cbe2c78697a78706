//! Validity times (UTCTime and GeneralizedTime), read the way OpenSSL 3.0
//! reads them from a certificate (`ossl_asn1_time_to_tm`): zone offsets are
//! folded into the time, seconds may be omitted, years before 1970 are
//! times like any other.

use std::time::Duration;

use rustls_pki_types::UnixTime;

use super::reader::{Tlv, tag};

const SECS_PER_DAY: i64 = 86_400;

/// A certificate or CRL time.
///
/// ```
/// use mtls_status::der::{Reader, Time};
///
/// // UTCTime "261121121633+0100": an hour ahead of UTC.
/// let mut der = vec![0x17, 17];
/// der.extend_from_slice(b"261121121633+0100");
/// let time = Time::parse(&Reader::new(&der).read().unwrap()).unwrap();
/// assert_eq!(time.unix(), 1_795_259_793);
/// assert!(!time.is_rfc5280(), "RFC 5280 wants Z");
///
/// // GeneralizedTime before 1970.
/// let mut der = vec![0x18, 15];
/// der.extend_from_slice(b"19500101000000Z");
/// let time = Time::parse(&Reader::new(&der).read().unwrap()).unwrap();
/// assert_eq!(time.unix(), -631_152_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time<'a> {
    unix: i64,
    fraction: &'a str,
    rfc5280: bool,
}

impl<'a> Time<'a> {
    #[cfg(test)]
    pub(crate) const EPOCH: Time<'static> = Time {
        unix: 0,
        fraction: "",
        rfc5280: true,
    };

    /// Seconds since the Unix epoch, UTC (negative before 1970).
    pub fn unix(&self) -> i64 {
        self.unix
    }

    /// As [`UnixTime`], clamped to the epoch for earlier times.
    pub fn unix_time(&self) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(self.unix).unwrap_or(0)))
    }

    /// Fractional seconds as written, with their dot (`".25"`), or `""`.
    pub fn fraction(&self) -> &'a str {
        self.fraction
    }

    /// Whether the encoding is RFC 5280's exact form (`YYMMDDHHMMSSZ` or
    /// `YYYYMMDDHHMMSSZ`), the only one OpenSSL's `X509_cmp_time` (and so
    /// its verifier) accepts; other forms are read (and printed) all the same.
    pub fn is_rfc5280(&self) -> bool {
        self.rfc5280
    }

    /// Parses a certificate validity time with OpenSSL's non-strict rules (those
    /// that apply to times decoded from a certificate): `UTCTime`
    /// `YYMMDDHHMM[SS](Z|±HHMM)` (years 50..99 are 19xx), `GeneralizedTime`
    /// `YYYYMMDDHHMM[SS[.f+]](Z|±HHMM)`. A zone offset is folded into the time;
    /// fractional seconds are printed as written.
    pub fn parse(tlv: &Tlv<'a>) -> Option<Self> {
        // Field minimums and maximums, indexed like OpenSSL's `min[]`/`max[]`:
        // century, year, month, day, hour, minute, second, offset hours, minutes.
        const MIN: [u32; 9] = [0, 0, 1, 1, 0, 0, 0, 0, 0];
        const MAX: [u32; 9] = [99, 99, 12, 31, 23, 59, 59, 12, 59];
        const MDAYS: [u32; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

        let a = tlv.value;
        let utc = match tlv.tag {
            tag::UTC_TIME => true,
            tag::GENERALIZED_TIME => false,
            _ => return None,
        };
        let (min_len, end, btz) = if utc { (11, 6, 5) } else { (13, 7, 6) };
        if a.len() < min_len {
            return None;
        }
        let digit = |o: usize| -> Option<u32> {
            a.get(o)
                .filter(|c| c.is_ascii_digit())
                .map(|c| u32::from(c - b'0'))
        };

        let (mut year, mut month, mut day, mut hour, mut minute, mut second) =
            (0i64, 1u32, 1u32, 0, 0, 0);
        let mut o = 0usize;
        for i in 0..end {
            if i == btz && matches!(a.get(o), Some(b'Z' | b'+' | b'-')) {
                break;
            }
            let n = digit(o)? * 10 + digit(o + 1)?;
            o += 2;
            if o >= a.len() {
                // Digits must be followed by at least a zone designator.
                return None;
            }
            let i2 = if utc { i + 1 } else { i };
            let (lo, hi) = (*MIN.get(i2)?, *MAX.get(i2)?);
            if n < lo || n > hi {
                return None;
            }
            match i2 {
                0 => year = i64::from(n) * 100,
                1 => {
                    if utc {
                        year = if n < 50 { 2000 } else { 1900 } + i64::from(n);
                    } else {
                        year += i64::from(n);
                    }
                }
                2 => month = n,
                3 => {
                    let idx = usize::try_from(month.saturating_sub(1)).ok()?;
                    let md = *MDAYS.get(idx)? + u32::from(month == 2 && is_leap(year));
                    if n > md {
                        return None;
                    }
                    day = n;
                }
                4 => hour = n,
                5 => minute = n,
                _ => second = n,
            }
        }

        // Optional fractional seconds (GeneralizedTime only), printed verbatim.
        let mut frac: &[u8] = &[];
        if !utc && a.get(o) == Some(&b'.') {
            let start = o;
            o += 1;
            while a.get(o).is_some_and(u8::is_ascii_digit) {
                o += 1;
            }
            if o == start + 1 || o >= a.len() {
                return None;
            }
            frac = a.get(start..o)?;
        }

        let mut offset: i64 = 0;
        match a.get(o)? {
            b'Z' => o += 1,
            sign @ (b'+' | b'-') => {
                o += 1;
                if o + 4 != a.len() {
                    return None;
                }
                let hh = digit(o)? * 10 + digit(o + 1)?;
                let mm = digit(o + 2)? * 10 + digit(o + 3)?;
                if hh > MAX[7] || mm > MAX[8] {
                    return None;
                }
                o += 4;
                let magnitude = i64::from(hh) * 3600 + i64::from(mm) * 60;
                // "+0100" is one hour ahead of UTC: subtract it.
                offset = if *sign == b'-' { magnitude } else { -magnitude };
            }
            _ => return None,
        }
        if o != a.len() {
            return None;
        }

        let local = days_from_civil(year, month, day) * SECS_PER_DAY
            + i64::from(hour) * 3600
            + i64::from(minute) * 60
            + i64::from(second);
        let unix = local + offset;
        if offset != 0 {
            // OPENSSL_gmtime_adj refuses results outside 1900..=9999.
            let (y, _, _) = civil_from_days(unix.div_euclid(SECS_PER_DAY));
            if !(1900..=9999).contains(&y) {
                return None;
            }
        }
        // X509_cmp_time's own check: exactly YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ.
        let rfc5280 = a.len() == if utc { 13 } else { 15 } && a.last() == Some(&b'Z');
        let fraction = std::str::from_utf8(frac).unwrap_or("");
        Some(Self {
            unix,
            fraction,
            rfc5280,
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`): (year, month 1..=12, day 1..=31).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}
