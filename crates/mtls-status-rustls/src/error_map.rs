//! rustls-webpki errors → [`ReasonKind`], in one place.
//!
//! The classifier refines a few of these with what it learns from the
//! presented chain (for example, webpki's single `UnknownIssuer` becomes
//! nginx's 18, 19, 20 or 21), but every webpki error has a kind here.

use mtls_status::ReasonKind;

/// The [`ReasonKind`] for a rustls-webpki path-validation error.
///
/// This is the raw mapping; [`Classifier`](crate::Classifier) refines
/// [`ReasonKind::UnknownIssuer`] into nginx's four untrusted-issuer codes
/// and adds context (which certificate, which time, which limit).
///
/// | webpki | kind | OpenSSL code |
/// |---|---|---|
/// | `CertExpired`, `InvalidCertValidity` | `expired` | 10 |
/// | `CertNotValidYet` | `not_yet_valid` | 9 |
/// | `UnknownIssuer` | `unknown_issuer` | 20 |
/// | `CertRevoked` | `revoked` | 23 |
/// | `UnknownRevocationStatus` | `unknown_revocation_status` | 3 |
/// | `CrlExpired` | `crl_expired` | 12 |
/// | `RequiredEkuNotFound*`, `EmptyEkuExtension` | `invalid_purpose` | 26 |
/// | `MaximumPathDepthExceeded` | `chain_too_long` | 22 |
/// | `PathLenConstraintViolated` | `path_length_exceeded` | 25 |
/// | `InvalidSignatureForPublicKey`, `SignatureAlgorithmMismatch` | `bad_signature` | 7 |
/// | `UnsupportedSignatureAlgorithm*` | `unsupported_signature_algorithm` | 7 |
/// | CRL signature, CRL signer and unsupported-CRL errors | `bad_crl` | 8 |
/// | `NameConstraintViolation`, malformed name constraints | `name_constraint_violation` | 47 |
/// | `EndEntityUsedAsCa` | `invalid_ca` | 79 |
/// | `CaUsedAsEndEntity` | `ca_used_as_leaf` | 37 |
/// | `UnsupportedCriticalExtension` | `unhandled_critical_extension` | 34 |
/// | `CertDistrusted` | `distrusted` | 28 |
/// | `CertNotValidForName`, malformed names | `name_mismatch` | 62 |
/// | path-building budgets exceeded | `too_complex` | 1 |
/// | DER and extension encoding errors | `bad_encoding` | 1 |
/// | anything else | `other` | 1 |
///
/// ```
/// use mtls_status::ReasonKind;
/// use mtls_status_rustls::reason_kind;
///
/// assert_eq!(reason_kind(&webpki::Error::CertRevoked), ReasonKind::Revoked);
/// assert_eq!(reason_kind(&webpki::Error::BadDer), ReasonKind::BadEncoding);
/// assert_eq!(reason_kind(&webpki::Error::MaximumPathDepthExceeded), ReasonKind::ChainTooLong);
/// ```
#[allow(deprecated)] // the deprecated variants can still be returned
pub fn reason_kind(error: &webpki::Error) -> ReasonKind {
    use webpki::Error as E;
    match error {
        E::CertExpired { .. } | E::InvalidCertValidity => ReasonKind::Expired,
        E::CertNotValidYet { .. } => ReasonKind::NotYetValid,
        E::UnknownIssuer => ReasonKind::UnknownIssuer,
        E::CertRevoked => ReasonKind::Revoked,
        E::UnknownRevocationStatus => ReasonKind::UnknownRevocationStatus,
        E::CrlExpired { .. } => ReasonKind::CrlExpired,
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            ReasonKind::InvalidPurpose
        }
        E::MaximumPathDepthExceeded => ReasonKind::ChainTooLong,
        E::PathLenConstraintViolated => ReasonKind::PathLengthExceeded,
        E::InvalidSignatureForPublicKey | E::SignatureAlgorithmMismatch => ReasonKind::BadSignature,
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            ReasonKind::UnsupportedSignatureAlgorithm
        }
        E::InvalidCrlSignatureForPublicKey
        | E::IssuerNotCrlSigner
        | E::UnsupportedCrlSignatureAlgorithm
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKey
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
        | E::InvalidCrlNumber
        | E::UnsupportedCrlVersion
        | E::UnsupportedDeltaCrl
        | E::UnsupportedIndirectCrl
        | E::UnsupportedRevocationReason
        | E::UnsupportedRevocationReasonsPartitioning
        | E::UnsupportedCrlIssuingDistributionPoint => ReasonKind::BadCrl,
        E::NameConstraintViolation
        | E::MalformedNameConstraint
        | E::InvalidNetworkMaskConstraint => ReasonKind::NameConstraintViolation,
        E::EndEntityUsedAsCa => ReasonKind::InvalidCa,
        E::CaUsedAsEndEntity => ReasonKind::CaUsedAsLeaf,
        E::UnsupportedCriticalExtension => ReasonKind::UnhandledCriticalExtension,
        E::CertDistrusted => ReasonKind::Distrusted,
        E::CertNotValidForName(_) | E::MalformedDnsIdentifier | E::UnsupportedNameType => {
            ReasonKind::NameMismatch
        }
        E::MaximumSignatureChecksExceeded
        | E::MaximumPathBuildCallsExceeded
        | E::MaximumNameConstraintComparisonsExceeded => ReasonKind::TooComplex,
        E::BadDer
        | E::BadDerTime
        | E::TrailingData(_)
        | E::MalformedExtensions
        | E::ExtensionValueInvalid
        | E::UnsupportedCertVersion
        | E::InvalidSerialNumber => ReasonKind::BadEncoding,
        _ => ReasonKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::UnixTime;

    #[test]
    fn time_errors_keep_their_kind() {
        let t = UnixTime::since_unix_epoch(std::time::Duration::from_secs(10));
        let expired = webpki::Error::CertExpired {
            time: t,
            not_after: t,
        };
        let not_yet = webpki::Error::CertNotValidYet {
            time: t,
            not_before: t,
        };
        let crl = webpki::Error::CrlExpired {
            time: t,
            next_update: t,
        };
        assert_eq!(reason_kind(&expired), ReasonKind::Expired);
        assert_eq!(reason_kind(&not_yet), ReasonKind::NotYetValid);
        assert_eq!(reason_kind(&crl), ReasonKind::CrlExpired);
    }

    #[test]
    fn untrusted_and_structural_errors() {
        use webpki::Error as E;
        let table = [
            (E::UnknownIssuer, ReasonKind::UnknownIssuer),
            (
                E::UnknownRevocationStatus,
                ReasonKind::UnknownRevocationStatus,
            ),
            (E::EmptyEkuExtension, ReasonKind::InvalidPurpose),
            (E::PathLenConstraintViolated, ReasonKind::PathLengthExceeded),
            (E::InvalidSignatureForPublicKey, ReasonKind::BadSignature),
            (E::InvalidCrlSignatureForPublicKey, ReasonKind::BadCrl),
            (E::IssuerNotCrlSigner, ReasonKind::BadCrl),
            (
                E::NameConstraintViolation,
                ReasonKind::NameConstraintViolation,
            ),
            (E::EndEntityUsedAsCa, ReasonKind::InvalidCa),
            (E::CaUsedAsEndEntity, ReasonKind::CaUsedAsLeaf),
            (
                E::UnsupportedCriticalExtension,
                ReasonKind::UnhandledCriticalExtension,
            ),
            (E::CertDistrusted, ReasonKind::Distrusted),
            (E::MaximumSignatureChecksExceeded, ReasonKind::TooComplex),
            (E::MaximumPathBuildCallsExceeded, ReasonKind::TooComplex),
            (E::UnsupportedCertVersion, ReasonKind::BadEncoding),
            (E::UnsupportedNameType, ReasonKind::NameMismatch),
        ];
        for (error, kind) in table {
            assert_eq!(reason_kind(&error), kind, "{error:?}");
        }
    }
}
