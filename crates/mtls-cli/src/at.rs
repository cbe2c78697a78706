//! `--at RFC3339`: the time a chain or a bundle is checked at.

use std::time::Duration;

use rustls_pki_types::UnixTime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 time such as `2030-01-01T00:00:00Z` (clap value
/// parser for `--at`).
pub(crate) fn parse(value: &str) -> Result<UnixTime, String> {
    let parsed = OffsetDateTime::parse(value, &Rfc3339).map_err(|error| {
        format!("not an RFC 3339 time ({error}); expected e.g. 2030-01-01T00:00:00Z or 2030-01-01T12:00:00+02:00")
    })?;
    let secs = u64::try_from(parsed.unix_timestamp())
        .map_err(|_| "times before 1970-01-01T00:00:00Z are not supported".to_owned())?;
    Ok(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
}

/// `t` in RFC 3339, UTC (`2030-01-01T00:00:00Z`).
pub(crate) fn rfc3339(t: UnixTime) -> String {
    i64::try_from(t.as_secs())
        .ok()
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .and_then(|time| time.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{}", t.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats() {
        let t = parse("2030-01-01T02:00:00+02:00").expect("valid");
        assert_eq!(t.as_secs(), 1_893_456_000);
        assert_eq!(rfc3339(t), "2030-01-01T00:00:00Z");
        assert!(parse("2030-01-01").is_err());
        assert!(parse("1969-12-31T23:59:59Z").unwrap_err().contains("1970"));
    }
}
