//! `ssl_verify_client` modes and the decision they make for each outcome.

use std::fmt;
use std::str::FromStr;

use http::StatusCode;

use crate::outcome::{ClientAuthOutcome, SSL_CERTIFICATE_ERROR, SSL_CERTIFICATE_REQUIRED};

/// How strictly a route requires a client certificate, as nginx's
/// `ssl_verify_client`. The default is [`On`](Self::On), as in nginx once
/// client verification is configured.
///
/// | outcome | `On` | `Optional` | `OptionalNoCa` | `Off` |
/// |---|---|---|---|---|
/// | None | 496 | pass | pass | pass |
/// | Invalid, untrusted issuer (OpenSSL 18/19/20/21/27) | 495 | 495 | pass | pass |
/// | Invalid, any other reason | 495 | 495 | 495 | pass |
/// | Verified | pass | pass | pass | pass |
///
/// ```
/// use mtls_status::{ClientAuthOutcome, Decision, VerifyMode};
///
/// assert_eq!(VerifyMode::default(), VerifyMode::On);
/// assert_eq!(VerifyMode::On.decide(&ClientAuthOutcome::None), Decision::CertificateRequired);
/// assert_eq!(VerifyMode::Optional.decide(&ClientAuthOutcome::None), Decision::Pass);
/// assert_eq!("optional_no_ca".parse::<VerifyMode>(), Ok(VerifyMode::OptionalNoCa));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyMode {
    /// No certificate is requested; every request passes.
    Off,
    /// A certificate is requested; none is fine, an invalid one is 495.
    Optional,
    /// Like [`Optional`](Self::Optional), but a certificate whose only fault
    /// is an untrusted issuer passes, and the handler sees it as `Invalid`.
    OptionalNoCa,
    /// A valid certificate is required: none is 496, an invalid one is 495.
    #[default]
    On,
}

impl VerifyMode {
    /// Every mode, strictest last.
    pub const ALL: [VerifyMode; 4] = [Self::Off, Self::Optional, Self::OptionalNoCa, Self::On];

    /// Whether the TLS server asks the client for a certificate
    /// (a CertificateRequest is sent). Only [`Off`](Self::Off) does not.
    pub const fn requests_certificate(self) -> bool {
        !matches!(self, Self::Off)
    }

    /// nginx's spelling: `off`, `optional`, `optional_no_ca`, `on`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::OptionalNoCa => "optional_no_ca",
            Self::On => "on",
        }
    }

    /// The decision for one outcome, exactly as DESIGN.md §2's matrix.
    pub fn decide(self, outcome: &ClientAuthOutcome) -> Decision {
        match (self, outcome) {
            (Self::Off, _) | (_, ClientAuthOutcome::Verified(_)) => Decision::Pass,
            (Self::On, ClientAuthOutcome::None) => Decision::CertificateRequired,
            (_, ClientAuthOutcome::None) => Decision::Pass,
            (Self::OptionalNoCa, ClientAuthOutcome::Invalid(invalid))
                if invalid.reason().is_untrusted_issuer() =>
            {
                Decision::Pass
            }
            (_, ClientAuthOutcome::Invalid(_)) => Decision::CertificateInvalid,
        }
    }
}

impl fmt::Display for VerifyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a string that names no [`VerifyMode`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown verify mode {0:?}: expected one of off, optional, optional_no_ca, on")]
pub struct ParseVerifyModeError(String);

impl FromStr for VerifyMode {
    type Err = ParseVerifyModeError;

    /// Accepts nginx's spellings (`off`, `optional`, `optional_no_ca`, `on`),
    /// case-insensitively, and `optional-no-ca`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Ok(Self::Off),
            "optional" => Ok(Self::Optional),
            "optional_no_ca" | "optional-no-ca" => Ok(Self::OptionalNoCa),
            "on" => Ok(Self::On),
            _ => Err(ParseVerifyModeError(s.to_owned())),
        }
    }
}

/// What a route does with a request, given its mode and the connection's
/// outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decision {
    /// The request reaches the handler.
    Pass,
    /// No certificate, but one is required: 496 (nginx: 400 "No required
    /// SSL certificate was sent").
    CertificateRequired,
    /// The certificate failed verification: 495 (nginx: 400 "The SSL
    /// certificate error").
    CertificateInvalid,
}

impl Decision {
    /// Whether the request reaches the handler.
    pub const fn is_pass(self) -> bool {
        matches!(self, Self::Pass)
    }

    /// The nginx-internal status of a rejection (495 or 496); `None` for
    /// [`Pass`](Self::Pass).
    pub fn status(self) -> Option<StatusCode> {
        match self {
            Self::Pass => None,
            Self::CertificateRequired => Some(SSL_CERTIFICATE_REQUIRED),
            Self::CertificateInvalid => Some(SSL_CERTIFICATE_ERROR),
        }
    }
}
