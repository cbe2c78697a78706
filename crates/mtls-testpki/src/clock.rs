//! Time helpers: whole-second `OffsetDateTime`s and `UnixTime` conversions.

use std::time::Duration;

use rustls_pki_types::UnixTime;
use time::OffsetDateTime;

/// The current time in UTC, truncated to whole seconds (certificates cannot hold
/// fractions, so values built from it compare equal to what is encoded).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("mtls-testpki: zero nanoseconds are always valid")
}

/// [`now`] minus `days` days.
pub fn days_ago(days: i64) -> OffsetDateTime {
    now() - time::Duration::days(days)
}

/// [`now`] plus `days` days.
pub fn days_from_now(days: i64) -> OffsetDateTime {
    now() + time::Duration::days(days)
}

/// Converts to the `UnixTime` that rustls / webpki verification functions take.
///
/// Times before 1970 saturate to the epoch.
///
/// ```
/// use mtls_testpki::{days_from_now, unix_time};
///
/// let later = days_from_now(400);
/// assert_eq!(unix_time(later).as_secs(), later.unix_timestamp() as u64);
/// ```
pub fn unix_time(t: OffsetDateTime) -> UnixTime {
    let secs = u64::try_from(t.unix_timestamp()).unwrap_or(0);
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// Converts a `UnixTime` back to an `OffsetDateTime` (UTC).
pub fn from_unix_time(t: UnixTime) -> OffsetDateTime {
    let secs = i64::try_from(t.as_secs()).expect("mtls-testpki: UnixTime out of range");
    OffsetDateTime::from_unix_timestamp(secs).expect("mtls-testpki: UnixTime out of range")
}

/// The current time as a `UnixTime`.
pub fn unix_now() -> UnixTime {
    unix_time(now())
}
