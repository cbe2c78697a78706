//! The verdict on one connection's client certificate.

use std::borrow::Cow;
use std::sync::Arc;

use http::StatusCode;
use rustls_pki_types::UnixTime;

use crate::identity::ClientIdentity;
use crate::reason::InvalidReason;

/// nginx's internal status for "client certificate failed verification".
pub const SSL_CERTIFICATE_ERROR: StatusCode = match StatusCode::from_u16(495) {
    Ok(status) => status,
    Err(_) => panic!("495 is a valid status code"),
};

/// nginx's internal status for "no required client certificate was sent".
pub const SSL_CERTIFICATE_REQUIRED: StatusCode = match StatusCode::from_u16(496) {
    Ok(status) => status,
    Err(_) => panic!("496 is a valid status code"),
};

/// nginx's internal status for "plain HTTP request sent to the HTTPS port".
pub const HTTP_REQUEST_SENT_TO_HTTPS_PORT: StatusCode = match StatusCode::from_u16(497) {
    Ok(status) => status,
    Err(_) => panic!("497 is a valid status code"),
};

/// What a connection's client certificate amounts to.
///
/// Produced once per connection by the classifier (in `mtls-status-rustls`)
/// and shared with every request on it as `Arc<ClientAuthOutcome>`.
///
/// | variant | nginx | [`status`](Self::status) | [`ssl_client_verify`](Self::ssl_client_verify) |
/// |---|---|---|---|
/// | [`None`](Self::None) | 496 | 496 | `NONE` |
/// | [`Invalid`](Self::Invalid) | 495 | 495 | `FAILED:<reason>` |
/// | [`Verified`](Self::Verified) | request proceeds | 200 | `SUCCESS` |
///
/// Whether a route answers that status depends on its
/// [`VerifyMode`](crate::VerifyMode).
///
/// ```
/// use mtls_status::{ClientAuthOutcome, InvalidCertificate, ReasonKind};
///
/// let none = ClientAuthOutcome::None;
/// assert_eq!(none.status().as_u16(), 496);
/// assert_eq!(none.ssl_client_verify(), "NONE");
///
/// let expired = ClientAuthOutcome::Invalid(InvalidCertificate::new(ReasonKind::Expired.into(), None));
/// assert_eq!(expired.status().as_u16(), 495);
/// assert_eq!(expired.ssl_client_verify(), "FAILED:certificate has expired");
/// assert_eq!(expired.reason().map(|r| r.name()), Some("expired"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
// Built once per connection and shared behind an `Arc`: the size of the
// `Verified` variant costs nothing per request, a `Box` would cost a deref.
#[allow(clippy::large_enum_variant)]
pub enum ClientAuthOutcome {
    /// The client sent no certificate (or none was requested).
    None,
    /// The client sent a certificate chain that failed verification.
    Invalid(InvalidCertificate),
    /// The client sent a certificate chain that verified.
    Verified(ClientIdentity),
}

impl ClientAuthOutcome {
    /// The connection's outcome in a request's extensions, as
    /// `Arc<ClientAuthOutcome>`: where the TLS glue puts it (the
    /// mtls-status-axum make-service, mtls-status-tower's `AddClientAuth`,
    /// mtls-status-tonic's check) and where every check and extractor reads
    /// it. `None` when the glue is missing.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use mtls_status::ClientAuthOutcome;
    ///
    /// let mut extensions = http::Extensions::new();
    /// assert!(ClientAuthOutcome::from_extensions(&extensions).is_none());
    /// extensions.insert(Arc::new(ClientAuthOutcome::None));
    /// assert!(ClientAuthOutcome::from_extensions(&extensions).is_some_and(|o| o.is_none()));
    /// ```
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&Arc<Self>> {
        extensions.get::<Arc<Self>>()
    }

    /// 496 for [`None`](Self::None), 495 for [`Invalid`](Self::Invalid),
    /// 200 for [`Verified`](Self::Verified).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::None => SSL_CERTIFICATE_REQUIRED,
            Self::Invalid(_) => SSL_CERTIFICATE_ERROR,
            Self::Verified(_) => StatusCode::OK,
        }
    }

    /// nginx's `$ssl_client_verify`: `NONE`, `FAILED:<OpenSSL string>` or
    /// `SUCCESS`.
    pub fn ssl_client_verify(&self) -> Cow<'static, str> {
        match self {
            Self::None => Cow::Borrowed("NONE"),
            Self::Invalid(invalid) => Cow::Owned(invalid.reason().ssl_client_verify()),
            Self::Verified(_) => Cow::Borrowed("SUCCESS"),
        }
    }

    /// A short label for logs and metrics: `none`, `invalid` or `verified`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Invalid(_) => "invalid",
            Self::Verified(_) => "verified",
        }
    }

    /// The verified identity, if the chain verified.
    pub fn identity(&self) -> Option<&ClientIdentity> {
        match self {
            Self::Verified(identity) => Some(identity),
            _ => None,
        }
    }

    /// The identity the client presented, verified or not. nginx fills its
    /// `$ssl_client_s_dn` etc. for failed certificates too.
    pub fn presented_identity(&self) -> Option<&ClientIdentity> {
        match self {
            Self::Verified(identity) => Some(identity),
            Self::Invalid(invalid) => invalid.presented(),
            Self::None => None,
        }
    }

    /// Why verification failed, if it did.
    pub fn reason(&self) -> Option<&InvalidReason> {
        match self {
            Self::Invalid(invalid) => Some(invalid.reason()),
            _ => None,
        }
    }

    /// Whether the client sent no certificate.
    pub fn is_none(&self) -> bool {
        matches!(self, Self::None)
    }

    /// Whether the chain verified.
    pub fn is_verified(&self) -> bool {
        matches!(self, Self::Verified(_))
    }

    /// Whether the client sent a chain that failed verification.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Self::Invalid(_))
    }
}

/// A presented chain that failed verification: the reason, and the client's
/// own certificate as parsed (unverified: never use it to authorize).
#[derive(Clone, Debug)]
pub struct InvalidCertificate {
    reason: InvalidReason,
    presented: Option<Box<ClientIdentity>>,
    valid_at: Option<UnixTime>,
}

impl InvalidCertificate {
    /// A failure with its reason and, when the leaf could be parsed, the
    /// presented identity.
    pub fn new(reason: InvalidReason, presented: Option<ClientIdentity>) -> Self {
        Self {
            reason,
            presented: presented.map(Box::new),
            valid_at: None,
        }
    }

    /// Records that the reason (`expired` or `not_yet_valid`) is the
    /// chain's **only** failure: with every certificate's validity checked
    /// at `instant` (the offending bound), and every other check (path,
    /// signatures, depth, purpose, CRLs) at the classification time, the
    /// chain verifies. mtls-status-rustls's classifier finds it; a route's
    /// [`Tolerance`](crate::judgement::Tolerance) needs it.
    #[must_use]
    pub fn with_valid_at(mut self, instant: UnixTime) -> Self {
        self.valid_at = Some(instant);
        self
    }

    /// The instant at which the chain would have verified, when its time
    /// (expired, not yet valid) is its only failure; see
    /// [`with_valid_at`](Self::with_valid_at). `None`: other problems too,
    /// or not known.
    pub fn valid_at(&self) -> Option<UnixTime> {
        self.valid_at
    }

    /// Why verification failed.
    pub fn reason(&self) -> &InvalidReason {
        &self.reason
    }

    /// The certificate the client presented, parsed but **not verified**.
    pub fn presented(&self) -> Option<&ClientIdentity> {
        self.presented.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::ReasonKind;

    #[test]
    fn status_codes_and_verify_strings() {
        assert_eq!(SSL_CERTIFICATE_ERROR.as_u16(), 495);
        assert_eq!(SSL_CERTIFICATE_REQUIRED.as_u16(), 496);
        assert_eq!(HTTP_REQUEST_SENT_TO_HTTPS_PORT.as_u16(), 497);
        let invalid = ClientAuthOutcome::Invalid(InvalidCertificate::new(
            ReasonKind::UnknownLeafIssuer.into(),
            None,
        ));
        assert_eq!(
            invalid.ssl_client_verify(),
            "FAILED:unable to verify the first certificate"
        );
        assert_eq!(invalid.label(), "invalid");
        assert!(invalid.identity().is_none());
        assert!(invalid.presented_identity().is_none());
        assert!(ClientAuthOutcome::None.is_none());
        assert_eq!(ClientAuthOutcome::None.label(), "none");
    }
}
