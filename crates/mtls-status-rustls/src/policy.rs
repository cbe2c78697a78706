//! Verification policies the [`ClassifierBuilder`](crate::ClassifierBuilder)
//! takes: CRL scope, extended key usage, and the CA names advertised in the
//! CertificateRequest.

use std::fmt;

use rustls::DistinguishedName;

/// Which certificates of a chain are checked against the CRLs.
///
/// ```
/// use mtls_status_rustls::CrlScope;
/// assert_eq!(CrlScope::default(), CrlScope::Chain);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CrlScope {
    /// Every certificate but the trust anchor needs a CRL from its issuer,
    /// as nginx's `ssl_crl` (`X509_V_FLAG_CRL_CHECK_ALL`). The default.
    #[default]
    Chain,
    /// Only the client's own certificate is checked (Envoy's
    /// `only_verify_leaf_cert_crl`).
    Leaf,
}

/// id-kp-clientAuth (1.3.6.1.5.5.7.3.2), DER content.
const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
/// id-kp-serverAuth (1.3.6.1.5.5.7.3.1), DER content.
const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];

/// Which extended key usages (EKU) the certificates of a chain must allow.
///
/// A certificate **without** an EKU extension always passes (RFC 5280, as
/// OpenSSL and rustls-webpki). A certificate **with** one passes when it
/// lists at least one accepted purpose. As in OpenSSL and webpki, the check
/// applies to every certificate of the path except the trust anchor, so an
/// intermediate restricted to serverAuth makes the chain fail too.
///
/// The default, [`client_auth`](Self::client_auth), matches nginx
/// (`X509_PURPOSE_SSL_CLIENT`) and rustls's `WebPkiClientVerifier`.
///
/// ```
/// use mtls_status_rustls::EkuPolicy;
///
/// let policy = EkuPolicy::client_auth().or(EkuPolicy::oid("1.3.6.1.4.1.311.20.2.2")?);
/// assert_eq!(policy.to_string(), "1.3.6.1.5.5.7.3.2 (clientAuth), 1.3.6.1.4.1.311.20.2.2 (msSmartcardLogin)");
/// assert_eq!(EkuPolicy::any().to_string(), "any");
/// assert!(EkuPolicy::oid("1.3.six").is_err());
/// # Ok::<(), mtls_status_rustls::InvalidOidError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EkuPolicy {
    /// DER contents of the accepted OIDs; `None` = no check at all.
    accepted: Option<Vec<Vec<u8>>>,
}

impl Default for EkuPolicy {
    fn default() -> Self {
        Self::client_auth()
    }
}

impl EkuPolicy {
    /// id-kp-clientAuth, if an EKU extension is present. The default.
    pub fn client_auth() -> Self {
        Self {
            accepted: Some(vec![CLIENT_AUTH.to_vec()]),
        }
    }

    /// id-kp-serverAuth, if an EKU extension is present.
    pub fn server_auth() -> Self {
        Self {
            accepted: Some(vec![SERVER_AUTH.to_vec()]),
        }
    }

    /// No extended key usage check at all.
    pub fn any() -> Self {
        Self { accepted: None }
    }

    /// One purpose, given as a dotted OID such as `1.3.6.1.5.5.7.3.2`.
    ///
    /// # Errors
    ///
    /// [`InvalidOidError`] when `dotted` is not a valid OID.
    pub fn oid(dotted: &str) -> Result<Self, InvalidOidError> {
        Ok(Self {
            accepted: Some(vec![encode_oid(dotted)?]),
        })
    }

    /// Accepts what `self` or `other` accepts.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        match (self.accepted, other.accepted) {
            (Some(mut a), Some(b)) => {
                for oid in b {
                    if !a.contains(&oid) {
                        a.push(oid);
                    }
                }
                Self { accepted: Some(a) }
            }
            _ => Self::any(),
        }
    }

    /// Whether a certificate with these EKU OIDs (DER contents; `None` =
    /// no extension) passes.
    pub(crate) fn allows(&self, present: Option<&[&[u8]]>) -> bool {
        match (&self.accepted, present) {
            (None, _) | (_, None) => true,
            (Some(accepted), Some(present)) => present
                .iter()
                .any(|oid| accepted.iter().any(|a| a.as_slice() == *oid)),
        }
    }

    /// The accepted OIDs (DER contents); `None` when nothing is checked.
    pub(crate) fn accepted(&self) -> Option<&[Vec<u8>]> {
        self.accepted.as_deref()
    }
}

impl fmt::Display for EkuPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(accepted) = &self.accepted else {
            return f.write_str("any");
        };
        for (i, oid) in accepted.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&oid_to_string(oid))?;
        }
        Ok(())
    }
}

/// A dotted OID that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid OID {0:?}: expected dotted decimal with at least two components, e.g. 1.3.6.1.5.5.7.3.2"
)]
pub struct InvalidOidError(String);

fn encode_oid(dotted: &str) -> Result<Vec<u8>, InvalidOidError> {
    let err = || InvalidOidError(dotted.to_owned());
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|arc| {
            if arc.is_empty() || !arc.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            arc.parse().ok()
        })
        .collect::<Option<_>>()
        .ok_or_else(err)?;
    let [first, second, rest @ ..] = arcs.as_slice() else {
        return Err(err());
    };
    if *first > 2 || (*first < 2 && *second > 39) {
        return Err(err());
    }
    let head = first
        .checked_mul(40)
        .and_then(|v| v.checked_add(*second))
        .ok_or_else(err)?;
    let mut out = Vec::new();
    for arc in std::iter::once(head).chain(rest.iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Ok(out)
}

/// Dotted form of an OID's DER content, with OpenSSL's short name when it
/// has one (`1.3.6.1.5.5.7.3.2 (clientAuth)`).
pub(crate) fn oid_to_string(der: &[u8]) -> String {
    let dotted = mtls_status::der::dotted(der);
    match mtls_status::der::short_name(der) {
        Some(name) => format!("{dotted} ({name})"),
        None => dotted,
    }
}

/// The CA names a server advertises in its CertificateRequest
/// (`certificate_authorities`), which clients such as browsers and curl use
/// to pick a certificate.
///
/// ```
/// use mtls_status_rustls::RootHints;
/// assert!(matches!(RootHints::default(), RootHints::TrustStore));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum RootHints {
    /// The subjects of the CA bundle (not of the trusted-only
    /// certificates), as nginx's `ssl_client_certificate`. The default.
    ///
    /// Unlike nginx, none when they take more than
    /// [`MAX_ADVERTISED_CA_NAMES_BYTES`](mtls_status::ca_names::MAX_ADVERTISED_CA_NAMES_BYTES)
    /// (a bundle of a few thousand CAs): clients refuse such a
    /// CertificateRequest (see [`mtls_status::ca_names`]); a warning is
    /// logged when that happens.
    #[default]
    TrustStore,
    /// No names: the client may send any certificate it has.
    None,
    /// These names (DER-encoded subjects); none either when they take
    /// more than `MAX_ADVERTISED_CA_NAMES_BYTES`.
    Custom(Vec<DistinguishedName>),
}

/// The CA names advertised: all, or none when clients would refuse that
/// many (and beyond 64 KiB, rustls could not even encode them: its server
/// panics).
pub(crate) fn advertised(names: &[DistinguishedName]) -> Vec<DistinguishedName> {
    let contents = names.iter().map(|name| {
        mtls_status::der::single(name.as_ref(), mtls_status::der::tag::SEQUENCE)
            .map_or(name.as_ref(), |tlv| tlv.value)
    });
    let size = mtls_status::ca_names::advertised_size(contents);
    if size <= mtls_status::ca_names::MAX_ADVERTISED_CA_NAMES_BYTES {
        return names.to_vec();
    }
    tracing::warn!(
        names = names.len(),
        bytes = size,
        "the {} CA names to advertise take {} KiB, more than clients accept in a \
         CertificateRequest: advertising none (clients send their certificate without a hint)",
        names.len(),
        size / 1024
    );
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip() {
        assert_eq!(encode_oid("1.3.6.1.5.5.7.3.2").as_deref(), Ok(CLIENT_AUTH));
        assert_eq!(encode_oid("2.999.3"), Ok(vec![0x88, 0x37, 0x03]));
        assert_eq!(oid_to_string(&[0x88, 0x37, 0x03]), "2.999.3");
        assert_eq!(oid_to_string(SERVER_AUTH), "1.3.6.1.5.5.7.3.1 (serverAuth)");
        for bad in [
            "",
            "1",
            "1.",
            "3.1",
            "1.40",
            "a.b",
            "1..2",
            "1.2.99999999999999999999",
        ] {
            assert!(encode_oid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allows() {
        let client = EkuPolicy::client_auth();
        assert!(client.allows(None));
        assert!(client.allows(Some(&[SERVER_AUTH, CLIENT_AUTH])));
        assert!(!client.allows(Some(&[SERVER_AUTH])));
        assert!(!client.allows(Some(&[])));
        assert!(EkuPolicy::any().allows(Some(&[SERVER_AUTH])));
        assert!(
            client
                .clone()
                .or(EkuPolicy::server_auth())
                .allows(Some(&[SERVER_AUTH]))
        );
        assert_eq!(client.clone().or(EkuPolicy::any()), EkuPolicy::any());
        assert_eq!(client.clone().or(EkuPolicy::client_auth()), client);
    }
}
