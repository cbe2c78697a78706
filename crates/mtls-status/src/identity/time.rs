//! Certificate validity times printed the way `ASN1_TIME_print` does
//! (`Nov 21 11:16:33 2026 GMT`); [`crate::der::Time`] reads them.

use rustls_pki_types::UnixTime;

use crate::der::Time;
use crate::der::time::civil_from_days;

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
    /// Reads and prints a validity time.
    pub(crate) fn new(time: &Time<'_>) -> Self {
        let unix = time.unix();
        let printed = print(
            unix.div_euclid(SECS_PER_DAY),
            unix.rem_euclid(SECS_PER_DAY),
            time.fraction(),
        );
        Self { unix, printed }
    }

    /// The time as [`UnixTime`], clamped to the epoch for earlier times.
    pub(crate) fn unix_time(&self) -> UnixTime {
        let secs = u64::try_from(self.unix).unwrap_or(0);
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::der::time::days_from_civil;
    use crate::der::{Tlv, tag};
    use std::time::Duration;

    fn time(tag: u8, s: &str) -> Option<CertTime> {
        Time::parse(&Tlv {
            tag,
            value: s.as_bytes(),
            raw: s.as_bytes(),
        })
        .map(|t| CertTime::new(&t))
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
