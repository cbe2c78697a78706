//! SPIFFE IDs (`spiffe://trust-domain/path`), validated per the SPIFFE ID
//! specification.

use std::fmt;
use std::str::FromStr;

const SCHEME: &str = "spiffe://";
/// The specification caps a SPIFFE ID at 2048 bytes.
const MAX_ID_LEN: usize = 2048;
/// ... and its trust domain at 255 characters.
const MAX_TRUST_DOMAIN_LEN: usize = 255;

/// A SPIFFE ID: `spiffe://<trust domain><path>`.
///
/// The trust domain is made of lowercase letters, digits, `.`, `-` and `_`;
/// the path is empty or a sequence of `/segment` where each segment is
/// non-empty, not `.` or `..`, and made of letters, digits, `.`, `-` and `_`.
/// No port, user info, query, fragment or percent-encoding is allowed.
///
/// ```
/// use mtls_status::identity::SpiffeId;
///
/// let id: SpiffeId = "spiffe://example.org/ns/prod/sa/api".parse().unwrap();
/// assert_eq!(id.trust_domain(), "example.org");
/// assert_eq!(id.path(), "/ns/prod/sa/api");
/// assert_eq!(id.to_string(), "spiffe://example.org/ns/prod/sa/api");
///
/// assert!("spiffe://Example.org/x".parse::<SpiffeId>().is_err());
/// assert!("spiffe://example.org:443/x".parse::<SpiffeId>().is_err());
/// assert!("spiffe://example.org/a/../b".parse::<SpiffeId>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId {
    id: String,
    /// Byte offset where the path starts (end of the trust domain).
    path_start: usize,
}

impl SpiffeId {
    /// The trust domain, e.g. `example.org`.
    pub fn trust_domain(&self) -> &str {
        self.id
            .get(SCHEME.len()..self.path_start)
            .unwrap_or_default()
    }

    /// The path, empty or starting with `/`, e.g. `/ns/prod/sa/api`.
    pub fn path(&self) -> &str {
        self.id.get(self.path_start..).unwrap_or_default()
    }

    /// The whole ID, e.g. `spiffe://example.org/ns/prod/sa/api`.
    pub fn as_str(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl fmt::Debug for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SpiffeId").field(&self.id).finish()
    }
}

impl AsRef<str> for SpiffeId {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

/// Why a string is not a valid [`SpiffeId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpiffeIdError {
    /// The string does not start with `spiffe://`.
    #[error("SPIFFE ID must start with spiffe://")]
    WrongScheme,
    /// Nothing between `spiffe://` and the path.
    #[error("SPIFFE ID has an empty trust domain")]
    EmptyTrustDomain,
    /// A character outside `[a-z0-9._-]` in the trust domain (this includes
    /// uppercase letters, `:port`, `user@`, `?query` and `#fragment`).
    #[error("SPIFFE ID trust domain may only contain a-z, 0-9, '.', '-' and '_'")]
    BadTrustDomainChar,
    /// A character outside `[a-zA-Z0-9._-]` in a path segment (this includes
    /// `%`, `?` and `#`).
    #[error("SPIFFE ID path segments may only contain a-z, A-Z, 0-9, '.', '-' and '_'")]
    BadPathChar,
    /// `//` in the path, or a trailing `/`.
    #[error("SPIFFE ID path has an empty segment or a trailing slash")]
    EmptySegment,
    /// A path segment that is `.` or `..`.
    #[error("SPIFFE ID path segments may not be '.' or '..'")]
    DotSegment,
    /// Longer than 2048 bytes, or a trust domain longer than 255.
    #[error("SPIFFE ID is too long")]
    TooLong,
}

impl FromStr for SpiffeId {
    type Err = SpiffeIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() > MAX_ID_LEN {
            return Err(SpiffeIdError::TooLong);
        }
        let rest = s.strip_prefix(SCHEME).ok_or(SpiffeIdError::WrongScheme)?;
        let td_len = rest.find('/').unwrap_or(rest.len());
        let (trust_domain, path) = rest.split_at(td_len);
        if trust_domain.is_empty() {
            return Err(SpiffeIdError::EmptyTrustDomain);
        }
        if trust_domain.len() > MAX_TRUST_DOMAIN_LEN {
            return Err(SpiffeIdError::TooLong);
        }
        if !trust_domain.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        }) {
            return Err(SpiffeIdError::BadTrustDomainChar);
        }
        if !path.is_empty() {
            // `path` starts with '/': skip the empty piece before it.
            for segment in path.split('/').skip(1) {
                if segment.is_empty() {
                    return Err(SpiffeIdError::EmptySegment);
                }
                if segment == "." || segment == ".." {
                    return Err(SpiffeIdError::DotSegment);
                }
                if !segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
                {
                    return Err(SpiffeIdError::BadPathChar);
                }
            }
        }
        Ok(Self {
            id: s.to_owned(),
            path_start: SCHEME.len() + td_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids() {
        for (s, td, path) in [
            ("spiffe://example.org", "example.org", ""),
            ("spiffe://example.org/a", "example.org", "/a"),
            (
                "spiffe://td_1-x.y/A.b-c_d/E/...",
                "td_1-x.y",
                "/A.b-c_d/E/...",
            ),
        ] {
            let id: SpiffeId = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(id.trust_domain(), td);
            assert_eq!(id.path(), path);
            assert_eq!(id.as_str(), s);
        }
    }

    #[test]
    fn invalid_ids() {
        use SpiffeIdError::*;
        for (s, err) in [
            ("", WrongScheme),
            ("SPIFFE://example.org/a", WrongScheme),
            ("https://example.org/a", WrongScheme),
            ("spiffe:/example.org", WrongScheme),
            ("spiffe://", EmptyTrustDomain),
            ("spiffe:///a", EmptyTrustDomain),
            ("spiffe://Example.org", BadTrustDomainChar),
            ("spiffe://example.org:8443/a", BadTrustDomainChar),
            ("spiffe://user@example.org/a", BadTrustDomainChar),
            ("spiffe://example.org?x=1", BadTrustDomainChar),
            ("spiffe://example.org#frag", BadTrustDomainChar),
            ("spiffe://example.org/", EmptySegment),
            ("spiffe://example.org/a/", EmptySegment),
            ("spiffe://example.org//a", EmptySegment),
            ("spiffe://example.org/./a", DotSegment),
            ("spiffe://example.org/a/..", DotSegment),
            ("spiffe://example.org/a?x=1", BadPathChar),
            ("spiffe://example.org/a#x", BadPathChar),
            ("spiffe://example.org/a%20b", BadPathChar),
            ("spiffe://example.org/caf\u{e9}", BadPathChar),
        ] {
            assert_eq!(s.parse::<SpiffeId>().err(), Some(err), "{s}");
        }
        let long_td = format!("spiffe://{}", "a".repeat(256));
        assert_eq!(long_td.parse::<SpiffeId>().err(), Some(TooLong));
        let long = format!("spiffe://a/{}", "b".repeat(2048));
        assert_eq!(long.parse::<SpiffeId>().err(), Some(TooLong));
    }
}
