//! Errors of the identity module.

/// Why a certificate or a name could not be turned into an identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// [`ClientIdentity::from_chain`](super::ClientIdentity::from_chain) was
    /// given no certificate.
    #[error("the certificate chain is empty")]
    EmptyChain,
    /// The leaf certificate is not a well-formed DER X.509 certificate. The
    /// text names the part that failed (e.g. `subject name`, `notAfter`).
    #[error("malformed certificate: {0}")]
    MalformedCertificate(&'static str),
    /// A distinguished name given to [`rfc2253`](super::rfc2253) or
    /// [`oneline`](super::oneline) is not a well-formed DER `Name`.
    #[error("malformed distinguished name: {0}")]
    MalformedName(&'static str),
}
