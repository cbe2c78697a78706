//! Why a presented client certificate was not accepted.
//!
//! An [`InvalidReason`] pairs a [`ReasonKind`] (what went wrong, with a stable
//! snake_case name and the matching OpenSSL verify code) with a
//! [`ReasonContext`] (which certificate, which times, which limit).

use std::fmt;

use rustls_pki_types::UnixTime;

use crate::identity::format_time;

/// Declares [`ReasonKind`]: one entry per reason with its stable name, the
/// OpenSSL verify code and string nginx would report, whether it is one of
/// nginx's untrusted-issuer errors, and the advice for the client. Adding a
/// reason is one entry here (in the spirit of axum-core's
/// `__define_rejection!`).
macro_rules! define_reason_kinds {
    (
        $(#[$meta:meta])*
        pub enum ReasonKind {
            $(
                $(#[doc = $doc:literal])*
                $variant:ident {
                    name: $name:literal,
                    openssl: ($code:literal, $string:literal),
                    untrusted_issuer: $untrusted:literal,
                    advice: $advice:literal,
                }
            )*
        }
    ) => {
        $(#[$meta])*
        pub enum ReasonKind {
            $(
                $(#[doc = $doc])*
                $variant,
            )*
        }

        impl ReasonKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [ReasonKind] = &[$(Self::$variant),*];

            /// The stable snake_case name, e.g. `"unknown_issuer"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            /// The OpenSSL `X509_V_ERR_*` code nginx would store for this problem.
            pub const fn openssl_code(self) -> u16 {
                match self {
                    $(Self::$variant => $code,)*
                }
            }

            /// OpenSSL 3.0's `X509_verify_cert_error_string` for
            /// [`openssl_code`](Self::openssl_code).
            pub const fn openssl_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $string,)*
                }
            }

            /// Whether this is one of nginx's untrusted-issuer errors (OpenSSL 18,
            /// 19, 20, 21, 27), the only ones `ssl_verify_client optional_no_ca`
            /// lets through.
            ///
            /// [`ChainTooLong`](Self::ChainTooLong) is deliberately not in the set:
            /// nginx reports an over-long chain as 20 and so lets it through under
            /// `optional_no_ca`; mtls-status names it and answers 495.
            pub const fn is_untrusted_issuer(self) -> bool {
                match self {
                    $(Self::$variant => $untrusted,)*
                }
            }

            /// One sentence for a client: what is wrong and what to do about it.
            pub const fn advice(self) -> &'static str {
                match self {
                    $(Self::$variant => $advice,)*
                }
            }
        }
    };
}

define_reason_kinds! {
    /// What is wrong with a presented client certificate chain.
    ///
    /// Each kind has a stable [`name`](Self::name) (used in problem+json bodies,
    /// gRPC metadata, logs and metrics labels) and the OpenSSL verify code and
    /// string nginx would report for it (`$ssl_client_verify` =
    /// `FAILED:<string>`, OpenSSL 3.0 wording).
    ///
    /// ```
    /// use mtls_status::ReasonKind;
    ///
    /// assert_eq!(ReasonKind::Expired.name(), "expired");
    /// assert_eq!(ReasonKind::Expired.openssl_code(), 10);
    /// assert_eq!(ReasonKind::Expired.openssl_str(), "certificate has expired");
    /// assert!(!ReasonKind::Expired.is_untrusted_issuer());
    /// assert!(ReasonKind::UnknownIssuer.is_untrusted_issuer());
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum ReasonKind {
        /// A lone self-signed certificate that is not a trust anchor (OpenSSL 18).
        SelfSigned {
            name: "self_signed",
            openssl: (18, "self-signed certificate"),
            untrusted_issuer: true,
            advice: "The client certificate is self-signed. Use a certificate issued by one of the accepted CAs.",
        }
        /// The chain ends in a self-signed certificate that is not a trust
        /// anchor (OpenSSL 19).
        SelfSignedInChain {
            name: "self_signed_in_chain",
            openssl: (19, "self-signed certificate in certificate chain"),
            untrusted_issuer: true,
            advice: "The client certificate chain ends in a self-signed CA that this server does not trust. Use a certificate issued by one of the accepted CAs.",
        }
        /// The chain does not lead to a trusted CA (OpenSSL 20).
        UnknownIssuer {
            name: "unknown_issuer",
            openssl: (20, "unable to get local issuer certificate"),
            untrusted_issuer: true,
            advice: "The client certificate chain does not lead to a CA this server trusts. Use a certificate issued by one of the accepted CAs, and send its intermediate certificates.",
        }
        /// The certificate was sent alone and its issuer is not a trusted CA or
        /// a known intermediate (OpenSSL 21, "unable to verify the first
        /// certificate").
        UnknownLeafIssuer {
            name: "unknown_leaf_issuer",
            openssl: (21, "unable to verify the first certificate"),
            untrusted_issuer: true,
            advice: "The client certificate's issuer is not trusted by this server. If it was issued through an intermediate CA, send the intermediate certificates with it; otherwise use a certificate issued by one of the accepted CAs.",
        }
        /// The chain reaches a CA of the server's trust store (CA bundle or
        /// trusted certificates) that is not a self-signed root, and its
        /// issuer is nowhere: the bundle lacks the CAs above it (OpenSSL 2,
        /// which nginx answers for a bundle holding an intermediate without
        /// its root). Not let through by `optional_no_ca`: the server is
        /// misconfigured, whatever the client sends.
        UnknownBundleIssuer {
            name: "unknown_bundle_issuer",
            openssl: (2, "unable to get issuer certificate"),
            untrusted_issuer: false,
            advice: "The server's CA bundle holds an intermediate CA but not the CA that issued it, so no chain through it can reach a root. Add the issuing CAs, up to a self-signed root, to the server's CA bundle (ssl_client_certificate or ssl_trusted_certificate).",
        }
        /// The chain reaches a CA that is known but not trusted (OpenSSL 27).
        Untrusted {
            name: "untrusted",
            openssl: (27, "certificate not trusted"),
            untrusted_issuer: true,
            advice: "The client certificate chain leads to a CA that is not trusted for client authentication. Use a certificate issued by one of the accepted CAs.",
        }
        /// A certificate in the chain has expired (OpenSSL 10).
        Expired {
            name: "expired",
            openssl: (10, "certificate has expired"),
            untrusted_issuer: false,
            advice: "The client certificate (or a CA in its chain) has expired. Renew the certificate.",
        }
        /// A certificate in the chain is not valid yet (OpenSSL 9).
        NotYetValid {
            name: "not_yet_valid",
            openssl: (9, "certificate is not yet valid"),
            untrusted_issuer: false,
            advice: "The client certificate (or a CA in its chain) is not valid yet. Check the clock of the issuing system, or wait until the certificate's start date.",
        }
        /// A certificate's notBefore is not in RFC 5280's form
        /// (`YYMMDDHHMMSSZ` or `YYYYMMDDHHMMSSZ`): OpenSSL cannot compare it
        /// (13).
        BadNotBefore {
            name: "bad_not_before",
            openssl: (13, "format error in certificate's notBefore field"),
            untrusted_issuer: false,
            advice: "The start date of the client certificate (or a CA in its chain) is not encoded as RFC 5280 requires (a UTC time ending in Z, with seconds). Reissue the certificate.",
        }
        /// A certificate's notAfter is not in RFC 5280's form (OpenSSL 14).
        BadNotAfter {
            name: "bad_not_after",
            openssl: (14, "format error in certificate's notAfter field"),
            untrusted_issuer: false,
            advice: "The end date of the client certificate (or a CA in its chain) is not encoded as RFC 5280 requires (a UTC time ending in Z, with seconds). Reissue the certificate.",
        }
        /// A certificate in the chain is listed in a CRL (OpenSSL 23).
        Revoked {
            name: "revoked",
            openssl: (23, "certificate revoked"),
            untrusted_issuer: false,
            advice: "The client certificate (or a CA in its chain) has been revoked. Request a new certificate.",
        }
        /// The chain has more intermediates than the configured depth allows
        /// (OpenSSL 22; nginx reports a misleading 20 here).
        ChainTooLong {
            name: "chain_too_long",
            openssl: (22, "certificate chain too long"),
            untrusted_issuer: false,
            advice: "The client certificate chain has more intermediate CAs than this server allows. Use a certificate issued closer to the root CA.",
        }
        /// A CA's path-length constraint is violated (OpenSSL 25).
        PathLengthExceeded {
            name: "path_length_exceeded",
            openssl: (25, "path length constraint exceeded"),
            untrusted_issuer: false,
            advice: "A CA in the client certificate chain issued beyond its path-length constraint. Use a certificate from a correctly constrained chain.",
        }
        /// The certificate is not meant for client authentication, e.g. its
        /// extended key usage is serverAuth only (OpenSSL 26).
        InvalidPurpose {
            name: "invalid_purpose",
            openssl: (26, "unsuitable certificate purpose"),
            untrusted_issuer: false,
            advice: "The certificate's key usage does not allow this use: a client certificate's extended key usage must include clientAuth (or be absent).",
        }
        /// A signature in the chain does not verify (OpenSSL 7).
        BadSignature {
            name: "bad_signature",
            openssl: (7, "certificate signature failure"),
            untrusted_issuer: false,
            advice: "A signature in the client certificate chain does not verify. The certificate or one of its intermediates is damaged or forged.",
        }
        /// A certificate is signed with an algorithm that is not supported
        /// (OpenSSL 7).
        UnsupportedSignatureAlgorithm {
            name: "unsupported_signature_algorithm",
            openssl: (7, "certificate signature failure"),
            untrusted_issuer: false,
            advice: "The client certificate chain uses a signature algorithm this server does not support. Use a certificate signed with ECDSA, RSA or Ed25519.",
        }
        /// A certificate in the chain is not valid DER (OpenSSL 1).
        BadEncoding {
            name: "bad_encoding",
            openssl: (1, "unspecified certificate verification error"),
            untrusted_issuer: false,
            advice: "A certificate in the client certificate chain is not valid DER. Re-export the certificate chain.",
        }
        /// No CRL covers a certificate while revocation checking is on and
        /// unknown status is denied (OpenSSL 3).
        UnknownRevocationStatus {
            name: "unknown_revocation_status",
            openssl: (3, "unable to get certificate CRL"),
            untrusted_issuer: false,
            advice: "The revocation status of the client certificate cannot be determined: the server has no CRL for its issuer. Contact the server's operator.",
        }
        /// A CRL needed for the check is past its nextUpdate and expired CRLs
        /// are enforced (OpenSSL 12).
        CrlExpired {
            name: "crl_expired",
            openssl: (12, "CRL has expired"),
            untrusted_issuer: false,
            advice: "The server's certificate revocation list has expired. Contact the server's operator.",
        }
        /// A CRL needed for the check has a thisUpdate in the future (OpenSSL 11).
        CrlNotYetValid {
            name: "crl_not_yet_valid",
            openssl: (11, "CRL is not yet valid"),
            untrusted_issuer: false,
            advice: "The server's certificate revocation list is not valid yet. Contact the server's operator.",
        }
        /// A CRL is badly signed or its issuer may not sign CRLs (OpenSSL 8).
        BadCrl {
            name: "bad_crl",
            openssl: (8, "CRL signature failure"),
            untrusted_issuer: false,
            advice: "The server's certificate revocation list is not correctly signed. Contact the server's operator.",
        }
        /// A name in the certificate violates a CA's name constraints
        /// (OpenSSL 47).
        NameConstraintViolation {
            name: "name_constraint_violation",
            openssl: (47, "permitted subtree violation"),
            untrusted_issuer: false,
            advice: "A name in the client certificate is outside what its issuing CA may certify. Use a certificate with permitted names.",
        }
        /// An intermediate in the chain is not a CA certificate (OpenSSL 79).
        InvalidCa {
            name: "invalid_ca",
            openssl: (79, "invalid CA certificate"),
            untrusted_issuer: false,
            advice: "A certificate in the client certificate chain is used as a CA but is not a CA certificate. Send the correct intermediate certificates.",
        }
        /// A CA certificate was presented as the client certificate (OpenSSL 37).
        CaUsedAsLeaf {
            name: "ca_used_as_leaf",
            openssl: (37, "invalid non-CA certificate (has CA markings)"),
            untrusted_issuer: false,
            advice: "A CA certificate was sent as the client certificate. Send an end-entity client certificate.",
        }
        /// A certificate carries a critical extension that is not understood
        /// (OpenSSL 34).
        UnhandledCriticalExtension {
            name: "unhandled_critical_extension",
            openssl: (34, "unhandled critical extension"),
            untrusted_issuer: false,
            advice: "A certificate in the client certificate chain has a critical extension this server does not understand.",
        }
        /// A certificate or key in the chain is explicitly distrusted
        /// (OpenSSL 28).
        Distrusted {
            name: "distrusted",
            openssl: (28, "certificate rejected"),
            untrusted_issuer: false,
            advice: "A certificate in the client certificate chain is explicitly distrusted.",
        }
        /// The certificate is not valid for the name it was expected to carry
        /// (OpenSSL 62).
        NameMismatch {
            name: "name_mismatch",
            openssl: (62, "hostname mismatch"),
            untrusted_issuer: false,
            advice: "The client certificate does not carry the expected name. Use a certificate issued for the expected identity.",
        }
        /// Path building exceeded its work budget (too many candidate chains or
        /// signatures) (OpenSSL 1).
        TooComplex {
            name: "too_complex",
            openssl: (1, "unspecified certificate verification error"),
            untrusted_issuer: false,
            advice: "The client certificate chain is too complex to verify. Send only the certificates on the path to the root CA.",
        }
        /// An X509-SVID without a URI SAN (SPIFFE ID).
        SvidNoUriSan {
            name: "svid_no_uri_san",
            openssl: (1, "unspecified certificate verification error"),
            untrusted_issuer: false,
            advice: "The client certificate is not an X509-SVID: it has no URI SAN. Issue it with its SPIFFE ID (spiffe://trust.domain/path) as its only URI SAN.",
        }
        /// An X509-SVID with more than one URI SAN.
        SvidMultipleUriSans {
            name: "svid_multiple_uri_sans",
            openssl: (1, "unspecified certificate verification error"),
            untrusted_issuer: false,
            advice: "The client certificate is not an X509-SVID: it has more than one URI SAN. Issue it with its SPIFFE ID as its only URI SAN.",
        }
        /// An X509-SVID whose URI SAN is not a valid SPIFFE ID.
        SvidInvalidSpiffeId {
            name: "svid_invalid_spiffe_id",
            openssl: (1, "unspecified certificate verification error"),
            untrusted_issuer: false,
            advice: "The client certificate's URI SAN is not a valid SPIFFE ID (spiffe://trust.domain/path: lowercase trust domain, no port, query or empty segment). Issue it with a valid SPIFFE ID.",
        }
        /// An X509-SVID leaf with basicConstraints cA TRUE (OpenSSL 37).
        SvidIsCa {
            name: "svid_is_ca",
            openssl: (37, "invalid non-CA certificate (has CA markings)"),
            untrusted_issuer: false,
            advice: "The client certificate is a CA certificate; an X509-SVID leaf must have basicConstraints cA FALSE. Issue an end-entity SVID.",
        }
        /// An X509-SVID leaf whose keyUsage lacks digitalSignature or has keyCertSign or cRLSign (OpenSSL 26).
        SvidKeyUsage {
            name: "svid_key_usage",
            openssl: (26, "unsuitable certificate purpose"),
            untrusted_issuer: false,
            advice: "The client certificate's keyUsage is not an X509-SVID leaf's: it must include digitalSignature and exclude keyCertSign and cRLSign. Reissue the SVID.",
        }
        /// An X509-SVID of a trust domain that has no bundle.
        SvidUnknownTrustDomain {
            name: "svid_unknown_trust_domain",
            openssl: (1, "unspecified certificate verification error"),
            untrusted_issuer: false,
            advice: "The client certificate's SPIFFE ID is in a trust domain this server has no bundle for. Use an SVID of a trust domain the server federates with, or add that trust domain's bundle.",
        }
        /// The OCSP responder says the certificate (or a CA of its chain) is
        /// revoked. nginx `ssl_ocsp`: verify result 0, `FAILED:certificate revoked`.
        OcspRevoked {
            name: "ocsp_revoked",
            openssl: (0, "certificate revoked"),
            untrusted_issuer: false,
            advice: "The OCSP responder of the client certificate's CA reports it as revoked. Request a new certificate.",
        }
        /// The OCSP responder does not know the certificate. nginx `ssl_ocsp`:
        /// `FAILED:certificate status unknown`.
        OcspUnknown {
            name: "ocsp_unknown",
            openssl: (0, "certificate status unknown"),
            untrusted_issuer: false,
            advice: "The OCSP responder of the client certificate's CA does not know this certificate. Check that the responder serves the CA that issued it (its index lists the certificate), or configure the right responder.",
        }
        /// The certificate's status could not be obtained: no responder URL,
        /// responder unreachable, slow or failing, or an answer that does not
        /// check out (signature, certID, thisUpdate/nextUpdate, nonce).
        /// nginx `ssl_ocsp`: `FAILED:certificate status request failed`.
        OcspRequestFailed {
            name: "ocsp_request_failed",
            openssl: (0, "certificate status request failed"),
            untrusted_issuer: false,
            advice: "The server could not get a valid OCSP answer for the client certificate. The server operator should check the OCSP responder (its URL, that it is up and answers in time, that it signs with the CA's key or a delegated OCSP-signing certificate, and that its answers are current).",
        }
        /// Any other verification failure (OpenSSL 1).
        Other {
            name: "other",
            openssl: (1, "unspecified certificate verification error"),
            untrusted_issuer: false,
            advice: "The client certificate could not be verified.",
        }
    }
}

impl ReasonKind {
    /// Looks a kind up by its stable [`name`](Self::name).
    ///
    /// ```
    /// use mtls_status::ReasonKind;
    /// assert_eq!(ReasonKind::from_name("revoked"), Some(ReasonKind::Revoked));
    /// assert_eq!(ReasonKind::from_name("nope"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

impl fmt::Display for ReasonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where and when a verification problem arose.
///
/// All fields are optional: a classifier fills in what it knows. Build one
/// with the `with_*` methods of [`InvalidReason`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReasonContext {
    /// Position of the offending certificate in the presented chain
    /// (0 = the client's own certificate).
    pub certificate_index: Option<usize>,
    /// RFC 2253 subject of the offending certificate.
    pub subject: Option<String>,
    /// The time the chain was checked at.
    pub time: Option<UnixTime>,
    /// The offending certificate's notBefore (or a CRL's thisUpdate).
    pub not_before: Option<UnixTime>,
    /// The offending certificate's notAfter (or a CRL's nextUpdate).
    pub not_after: Option<UnixTime>,
    /// The limit that was exceeded, e.g. the verify depth.
    pub limit: Option<usize>,
    /// The actual value that exceeded [`limit`](Self::limit), e.g. the
    /// number of intermediates.
    pub actual: Option<usize>,
    /// Free-form detail from the verifier (never key material).
    pub message: Option<String>,
}

/// A verification failure: a [`ReasonKind`] and its [`ReasonContext`].
///
/// ```
/// use mtls_status::{InvalidReason, ReasonKind};
/// use rustls_pki_types::UnixTime;
/// use std::time::Duration;
///
/// let reason = InvalidReason::new(ReasonKind::Expired)
///     .with_certificate(0, "CN=alice")
///     .with_validity(None, Some(UnixTime::since_unix_epoch(Duration::from_secs(1_700_000_000))));
/// assert_eq!(reason.ssl_client_verify(), "FAILED:certificate has expired");
/// assert!(reason.detail().contains("CN=alice"));
/// assert!(reason.detail().contains("Nov 14 22:13:20 2023 GMT"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidReason {
    kind: ReasonKind,
    context: ReasonContext,
}

impl InvalidReason {
    /// A reason of this kind with no context.
    pub fn new(kind: ReasonKind) -> Self {
        Self {
            kind,
            context: ReasonContext::default(),
        }
    }

    /// Names the offending certificate: its index in the presented chain
    /// (0 = leaf) and its RFC 2253 subject.
    #[must_use]
    pub fn with_certificate(mut self, index: usize, subject: impl Into<String>) -> Self {
        self.context.certificate_index = Some(index);
        self.context.subject = Some(subject.into());
        self
    }

    /// Records the time the chain was checked at.
    #[must_use]
    pub fn with_time(mut self, time: UnixTime) -> Self {
        self.context.time = Some(time);
        self
    }

    /// Records the offending validity window.
    #[must_use]
    pub fn with_validity(
        mut self,
        not_before: Option<UnixTime>,
        not_after: Option<UnixTime>,
    ) -> Self {
        self.context.not_before = not_before;
        self.context.not_after = not_after;
        self
    }

    /// Records a limit and the value that exceeded it.
    #[must_use]
    pub fn with_limit(mut self, limit: usize, actual: Option<usize>) -> Self {
        self.context.limit = Some(limit);
        self.context.actual = actual;
        self
    }

    /// Adds free-form detail (never key material).
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.context.message = Some(message.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ReasonKind {
        self.kind
    }

    /// Where and when it went wrong.
    pub fn context(&self) -> &ReasonContext {
        &self.context
    }

    /// The stable snake_case name of the kind.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The OpenSSL verify code nginx would report.
    pub fn openssl_code(&self) -> u16 {
        self.kind.openssl_code()
    }

    /// The OpenSSL 3.0 verify string nginx would report.
    pub fn openssl_str(&self) -> &'static str {
        self.kind.openssl_str()
    }

    /// Whether `ssl_verify_client optional_no_ca` lets this through.
    pub fn is_untrusted_issuer(&self) -> bool {
        self.kind.is_untrusted_issuer()
    }

    /// nginx's `$ssl_client_verify` for this failure: `FAILED:<string>`.
    pub fn ssl_client_verify(&self) -> String {
        format!("FAILED:{}", self.openssl_str())
    }

    /// nginx's log text: `client SSL certificate verify error: (10:certificate has expired)`;
    /// for an OCSP status (verify result 0) without the number:
    /// `client SSL certificate verify error: certificate revoked`.
    pub fn nginx_log_line(&self) -> String {
        if self.openssl_code() == 0 {
            return format!(
                "client SSL certificate verify error: {}",
                self.openssl_str()
            );
        }
        format!(
            "client SSL certificate verify error: ({}:{})",
            self.openssl_code(),
            self.openssl_str()
        )
    }

    /// Human text for the client: what is wrong (with the offending
    /// certificate, times and limits when known) and how to fix it.
    pub fn detail(&self) -> String {
        let mut out = String::new();
        let ctx = &self.context;
        match (&ctx.subject, ctx.certificate_index) {
            (Some(subject), Some(0)) => {
                out.push_str(&format!("Client certificate \"{subject}\": "));
            }
            (Some(subject), Some(i)) => {
                out.push_str(&format!("Certificate #{i} in the chain (\"{subject}\"): "));
            }
            (Some(subject), None) => out.push_str(&format!("Certificate \"{subject}\": ")),
            (None, _) => {}
        }
        out.push_str(self.openssl_str());
        match self.kind {
            ReasonKind::Expired | ReasonKind::CrlExpired => {
                if let Some(end) = ctx.not_after {
                    out.push_str(&format!(" (valid until {})", format_time(end)));
                }
            }
            ReasonKind::NotYetValid | ReasonKind::CrlNotYetValid => {
                if let Some(start) = ctx.not_before {
                    out.push_str(&format!(" (valid from {})", format_time(start)));
                }
            }
            ReasonKind::ChainTooLong => {
                if let Some(limit) = ctx.limit {
                    match ctx.actual {
                        Some(actual) => out.push_str(&format!(
                            " ({actual} intermediate {}, at most {limit} allowed)",
                            plural_ca(actual)
                        )),
                        None => out.push_str(&format!(
                            " (at most {limit} intermediate {} allowed)",
                            plural_ca(limit)
                        )),
                    }
                }
            }
            _ => {}
        }
        let time_matters = matches!(
            self.kind,
            ReasonKind::Expired
                | ReasonKind::NotYetValid
                | ReasonKind::CrlExpired
                | ReasonKind::CrlNotYetValid
        );
        if let (true, Some(time)) = (time_matters, ctx.time) {
            out.push_str(&format!(", checked at {}", format_time(time)));
        }
        if let Some(message) = &ctx.message {
            out.push_str(&format!(" [{message}]"));
        }
        out.push_str(". ");
        out.push_str(self.kind.advice());
        out
    }
}

fn plural_ca(n: usize) -> &'static str {
    if n == 1 { "CA" } else { "CAs" }
}

impl From<ReasonKind> for InvalidReason {
    fn from(kind: ReasonKind) -> Self {
        Self::new(kind)
    }
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.openssl_str(), self.name())?;
        if let Some(subject) = &self.context.subject {
            write!(f, " at \"{subject}\"")?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidReason {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for kind in ReasonKind::ALL {
            let name = kind.name();
            assert!(seen.insert(name), "duplicate name {name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name} is not snake_case"
            );
            assert_eq!(ReasonKind::from_name(name), Some(*kind));
        }
    }

    #[test]
    fn untrusted_issuer_set_is_nginx_macro() {
        let codes: Vec<u16> = ReasonKind::ALL
            .iter()
            .filter(|k| k.is_untrusted_issuer())
            .map(|k| k.openssl_code())
            .collect();
        assert_eq!(codes, [18, 19, 20, 21, 27]);
    }

    #[test]
    fn openssl_strings_match_openssl_3_0() {
        let expect = [
            (ReasonKind::SelfSigned, "self-signed certificate"),
            (
                ReasonKind::SelfSignedInChain,
                "self-signed certificate in certificate chain",
            ),
            (
                ReasonKind::UnknownIssuer,
                "unable to get local issuer certificate",
            ),
            (
                ReasonKind::UnknownLeafIssuer,
                "unable to verify the first certificate",
            ),
            (ReasonKind::Untrusted, "certificate not trusted"),
            (ReasonKind::Expired, "certificate has expired"),
            (ReasonKind::NotYetValid, "certificate is not yet valid"),
            (ReasonKind::Revoked, "certificate revoked"),
            (ReasonKind::ChainTooLong, "certificate chain too long"),
            (ReasonKind::InvalidPurpose, "unsuitable certificate purpose"),
            (
                ReasonKind::UnknownRevocationStatus,
                "unable to get certificate CRL",
            ),
            (ReasonKind::CrlExpired, "CRL has expired"),
            (ReasonKind::BadSignature, "certificate signature failure"),
        ];
        for (kind, s) in expect {
            assert_eq!(kind.openssl_str(), s, "{kind}");
        }
        // No kind falls back to the generic string unless its code is 1.
        for kind in ReasonKind::ALL {
            if kind.openssl_code() != 1 {
                assert_ne!(
                    kind.openssl_str(),
                    "unspecified certificate verification error"
                );
            }
        }
    }

    #[test]
    fn detail_names_the_certificate_limit_and_fix() {
        let r = InvalidReason::new(ReasonKind::ChainTooLong)
            .with_certificate(2, "CN=Int 2")
            .with_limit(1, Some(2));
        let d = r.detail();
        assert!(
            d.starts_with("Certificate #2 in the chain (\"CN=Int 2\"): certificate chain too long"),
            "{d}"
        );
        assert!(d.contains("(2 intermediate CAs, at most 1 allowed)"), "{d}");
        assert!(d.ends_with(ReasonKind::ChainTooLong.advice()), "{d}");
        assert_eq!(
            r.nginx_log_line(),
            "client SSL certificate verify error: (22:certificate chain too long)"
        );
        assert_eq!(
            r.to_string(),
            "certificate chain too long (chain_too_long) at \"CN=Int 2\""
        );
    }
}
