//! Certificate validity times: parsing `UTCTime` / `GeneralizedTime` the way
//! OpenSSL 3.0 does (`ossl_asn1_time_to_tm`) and printing them the way
//! `ASN1_TIME_print` does (`Nov 21 11:16:33 2026 GMT`).

use rustls_pki_types::UnixTime;
use std::time::Duration;

use super::asn1::{Tlv, tag};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const SECS_PER_DAY: i64 = 86_400;

/// A parsed validity time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertTime {
    /// Seconds since the Unix epoch (negative before 1970).
    pub(crate) unix: i64,
    /// The `ASN1_TIME_print` text.
    pub(crate) printed: String,
}

impl CertTime {
    /// The time as [`UnixTime`], clamped to the epoch for earlier times.
    pub(crate) fn unix_time(&self) -> UnixTime {
        let secs = u64::try_from(self.unix).unwrap_or(0);
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }
}

/// Formats a time as OpenSSL's `ASN1_TIME_print` does for a certificate time
/// in UTC, which is how nginx fills `$ssl_client_v_start` and
/// `$ssl_client_v_end`: `Mon DD HH:MM:SS YYYY GMT`, the day padded with a
/// space, months in English.
///
/// ```
/// use mtls_status::identity::format_time;
/// use rustls_pki_types::UnixTime;
/// use std::time::Duration;
///
/// let t = UnixTime::since_unix_epoch(Duration::from_secs(1_795_259_793));
/// assert_eq!(format_time(t), "Nov 21 11:16:33 2026 GMT");
/// let t = UnixTime::since_unix_epoch(Duration::from_secs(1_796_253_393));
/// assert_eq!(format_time(t), "Dec  2 23:16:33 2026 GMT");
/// ```
pub fn format_time(t: UnixTime) -> String {
    // u64 seconds / 86400 always fits in i64.
    let secs = t.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = i64::try_from(secs % 86_400).unwrap_or(0);
    print(days, rem, "")
}

/// `"%s %2d %02d:%02d:%02d%.*s %d GMT"` from OpenSSL 3.0's
/// `ossl_asn1_time_print_ex` (the time is in UTC by then, zone offsets folded
/// in, so 3.0 always prints `GMT`).
fn print(days: i64, secs_of_day: i64, frac: &str) -> String {
    let (year, month, day) = civil_from_days(days);
    let month_name = MONTHS
        .get(usize::try_from(month.saturating_sub(1)).unwrap_or(0))
        .copied()
        .unwrap_or("Jan");
    let (h, m, s) = (
        secs_of_day / 3600,
        (secs_of_day % 3600) / 60,
        secs_of_day % 60,
    );
    format!("{month_name} {day:2} {h:02}:{m:02}:{s:02}{frac} {year} GMT")
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

/// Parses a certificate validity time with OpenSSL's non-strict rules (those
/// that apply to times decoded from a certificate): `UTCTime`
/// `YYMMDDHHMM[SS](Z|±HHMM)` (years 50..99 are 19xx), `GeneralizedTime`
/// `YYYYMMDDHHMM[SS[.f+]](Z|±HHMM)`. A zone offset is folded into the time;
/// fractional seconds are printed as written.
pub(crate) fn parse(tlv: &Tlv<'_>) -> Option<CertTime> {
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
    let days = unix.div_euclid(SECS_PER_DAY);
    if offset != 0 {
        // OPENSSL_gmtime_adj refuses results outside 1900..=9999.
        let (y, _, _) = civil_from_days(days);
        if !(1900..=9999).contains(&y) {
            return None;
        }
    }
    let frac = std::str::from_utf8(frac).unwrap_or("");
    let printed = print(days, unix.rem_euclid(SECS_PER_DAY), frac);
    Some(CertTime { unix, printed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(tag: u8, s: &str) -> Option<CertTime> {
        parse(&Tlv {
            tag,
            value: s.as_bytes(),
            raw: s.as_bytes(),
        })
    }

    fn printed(tag: u8, s: &str) -> Option<String> {
        time(tag, s).map(|t| t.printed)
    }

    #[test]
    fn civil_round_trip() {
        for days in [
            -719_468i64,
            -1,
            0,
            1,
            10_957,
            20_000,
            2_932_896,
            100_000_000,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(days_from_civil(2026, 11, 21), 20_778);
    }

    #[test]
    fn utc_time() {
        let t = time(tag::UTC_TIME, "261121111633Z").expect("valid");
        assert_eq!(t.printed, "Nov 21 11:16:33 2026 GMT");
        assert_eq!(t.unix, 1_795_259_793);
        assert_eq!(
            printed(tag::UTC_TIME, "261202231633Z").as_deref(),
            Some("Dec  2 23:16:33 2026 GMT")
        );
        assert_eq!(
            printed(tag::UTC_TIME, "500101000000Z").as_deref(),
            Some("Jan  1 00:00:00 1950 GMT")
        );
        assert_eq!(
            printed(tag::UTC_TIME, "491231235959Z").as_deref(),
            Some("Dec 31 23:59:59 2049 GMT")
        );
        // Seconds may be omitted outside strict RFC 5280 mode.
        assert_eq!(
            printed(tag::UTC_TIME, "2611211116Z").as_deref(),
            Some("Nov 21 11:16:00 2026 GMT")
        );
    }

    #[test]
    fn generalized_time() {
        assert_eq!(
            printed(tag::GENERALIZED_TIME, "20501231235959Z").as_deref(),
            Some("Dec 31 23:59:59 2050 GMT")
        );
        assert_eq!(
            printed(tag::GENERALIZED_TIME, "99991231235959Z").as_deref(),
            Some("Dec 31 23:59:59 9999 GMT")
        );
        assert_eq!(
            printed(tag::GENERALIZED_TIME, "20261121111633.25Z").as_deref(),
            Some("Nov 21 11:16:33.25 2026 GMT")
        );
        let early = time(tag::GENERALIZED_TIME, "19000101000000Z").expect("valid");
        assert_eq!(early.printed, "Jan  1 00:00:00 1900 GMT");
        assert_eq!(early.unix_time().as_secs(), 0);
    }

    #[test]
    fn offsets_fold_into_the_time() {
        assert_eq!(
            printed(tag::UTC_TIME, "261121111633+0130").as_deref(),
            Some("Nov 21 09:46:33 2026 GMT")
        );
        assert_eq!(
            printed(tag::UTC_TIME, "261231231633-0100").as_deref(),
            Some("Jan  1 00:16:33 2027 GMT")
        );
        assert_eq!(
            printed(tag::UTC_TIME, "261121111633+0000").as_deref(),
            Some("Nov 21 11:16:33 2026 GMT")
        );
    }

    #[test]
    fn rejects_malformed() {
        for (tag, s) in [
            (tag::UTC_TIME, ""),
            (tag::UTC_TIME, "2611211116"),
            (tag::UTC_TIME, "261121111633"),
            (tag::UTC_TIME, "261321111633Z"),
            (tag::UTC_TIME, "260230111633Z"),
            (tag::UTC_TIME, "261121241633Z"),
            (tag::UTC_TIME, "261121111660Z"),
            (tag::UTC_TIME, "261121111633Z0"),
            (tag::UTC_TIME, "261121111633+130"),
            (tag::UTC_TIME, "261121111633+1300"),
            (tag::UTC_TIME, "26112111163.Z"),
            (tag::UTC_TIME, "261121111633.5Z"),
            (tag::GENERALIZED_TIME, "20261121111633.Z"),
            (tag::GENERALIZED_TIME, "20261121111633.5"),
            (tag::GENERALIZED_TIME, "00000101000000+0100"),
            (tag::OCTET_STRING, "261121111633Z"),
        ] {
            assert_eq!(time(tag, s), None, "{s}");
        }
        assert!(time(tag::UTC_TIME, "000229000000Z").is_some());
        assert!(time(tag::UTC_TIME, "010229000000Z").is_none());
    }

    #[test]
    fn format_unix_time() {
        assert_eq!(
            format_time(UnixTime::since_unix_epoch(Duration::ZERO)),
            "Jan  1 00:00:00 1970 GMT"
        );
        assert_eq!(
            format_time(UnixTime::since_unix_epoch(Duration::from_secs(951_782_400))),
            "Feb 29 00:00:00 2000 GMT"
        );
        let far = format_time(UnixTime::since_unix_epoch(Duration::from_secs(u64::MAX)));
        assert!(far.ends_with(" GMT"));
    }
}
