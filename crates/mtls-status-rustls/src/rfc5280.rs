//! Key-usage and trust-anchor checks of RFC 5280 path validation that
//! rustls-webpki leaves out and OpenSSL (so nginx) makes by default. They run on every candidate
//! path webpki has verified (signatures, validity, name constraints,
//! revocation), so webpki keeps looking for another path when one fails:
//!
//! - every CA of the path, intermediate or trust anchor, whose keyUsage
//!   extension is present must assert keyCertSign (RFC 5280 6.1.4 (n);
//!   OpenSSL `X509_V_ERR_INVALID_CA`, 79). An empty or malformed keyUsage
//!   asserts nothing.
//! - a trust anchor whose keyUsage is present must assert cRLSign when a
//!   CRL it issued is in force for the certificate it signed (RFC 5280
//!   6.3.3 (f); OpenSSL `X509_V_ERR_KEYUSAGE_NO_CRL_SIGN`, 35). webpki
//!   checks this for intermediates only. Any CRL with the anchor's name
//!   counts: an anchor that may not sign CRLs has no valid CRL at all.
//! - a trust anchor that signed the next certificate of the path must be a
//!   CA as OpenSSL's `X509_check_ca` sees it (`check_chain_extensions`,
//!   79): basicConstraints with cA TRUE or, without basicConstraints, a
//!   keyUsage extension (that allows keyCertSign) or a Netscape CA
//!   certificate type. rustls-webpki does not look at a trust anchor's
//!   basicConstraints, so without this a client whose self-signed, non-CA
//!   certificate is pinned in the CA bundle could sign certificates for any
//!   other name with its own key.
//! - a trust anchor's pathLenConstraint bounds the intermediates below it
//!   that are not self-issued, as OpenSSL counts them
//!   (`check_chain_extensions`, 25); rustls-webpki applies only the
//!   intermediates' own constraints.
//!
//! A certificate trusted as itself (a self-signed client certificate put in
//! the CA bundle, presented byte for byte) is no CA and issues nothing: as
//! in OpenSSL, the anchor checks do not apply to it. A self-signed leaf with
//! the name and key of a trust anchor that is **not** byte-identical to a
//! trusted certificate is refused as OpenSSL refuses a "self-signed
//! untrusted mimic" (18, self-signed certificate): otherwise the holder of a
//! pinned key could re-issue its own certificate with other extensions
//! (subject alternative names, SPIFFE ID, extended key usage).
//!
//! A certificate our DER reader cannot read never gets here: the validity
//! check before these ([`times`](crate::times)) refuses it.

use mtls_status::ReasonKind;
use webpki::VerifiedPath;

use crate::policy::CrlScope;
use crate::times::Canonical;
use crate::trust_store::{CaInfo, TrustStore};
use mtls_status::der::{Certificate as ParsedCert, KeyUsage};

/// A rule a verified path breaks.
pub(crate) struct Violation {
    /// What webpki is told; it ranks candidate paths' errors by it.
    pub(crate) error: webpki::Error,
    pub(crate) kind: ReasonKind,
    /// DER of the certificate at fault, when it is not the trust anchor
    /// (the detail names the anchor).
    pub(crate) offender: Option<Vec<u8>>,
    pub(crate) detail: String,
}

/// Checks `path` (see the module documentation).
pub(crate) fn check(
    store: &TrustStore,
    path: &VerifiedPath<'_>,
    crl_scope: CrlScope,
    canonical: &Canonical<'_>,
) -> Result<(), Violation> {
    for cert in path.intermediate_certificates() {
        let shown = cert.der();
        let der = canonical.original(shown.as_ref());
        let Ok(parsed) = ParsedCert::parse(der) else {
            continue;
        };
        if !parsed.key_usage().allows(KeyUsage::KEY_CERT_SIGN) {
            return Err(Violation {
                error: webpki::Error::EndEntityUsedAsCa,
                kind: ReasonKind::InvalidCa,
                offender: Some(der.to_vec()),
                detail: no_cert_sign(parsed.key_usage()),
            });
        }
    }

    let Some(anchor) = anchor_info(store, path) else {
        return Ok(());
    };
    if is_self_signed_with_anchor_key(path) {
        let shown = path.end_entity().der();
        let leaf = canonical.original(shown.as_ref());
        if store.certificates().iter().any(|c| c.as_ref() == leaf) {
            // Trusted as itself.
            return Ok(());
        }
        return Err(Violation {
            // Ranked below every other error: any other reason a path gives
            // is reported first.
            error: webpki::Error::UnknownIssuer,
            kind: ReasonKind::SelfSigned,
            offender: Some(leaf.to_vec()),
            detail: format!(
                "it has the name and key of the server's trusted certificate \"{}\" but is \
                 not that certificate; only the trusted certificate itself is accepted",
                anchor.subject_dn
            ),
        });
    }
    if !anchor.key_usage.allows(KeyUsage::KEY_CERT_SIGN) {
        return Err(Violation {
            error: webpki::Error::EndEntityUsedAsCa,
            kind: ReasonKind::InvalidCa,
            offender: None,
            detail: format!(
                "the server's trusted CA certificate \"{}\": {}",
                anchor.subject_dn,
                no_cert_sign(anchor.key_usage)
            ),
        });
    }
    if let Some(why) = not_a_ca(anchor) {
        return Err(Violation {
            error: webpki::Error::EndEntityUsedAsCa,
            kind: ReasonKind::InvalidCa,
            offender: None,
            detail: format!(
                "the server's trusted certificate \"{}\" is not a CA and may not issue \
                 certificates: {why}",
                anchor.subject_dn
            ),
        });
    }
    if let Some(max) = anchor.path_len {
        let below = path
            .intermediate_certificates()
            .filter(|c| c.subject() != c.issuer())
            .count();
        if u64::try_from(below).unwrap_or(u64::MAX) > max {
            return Err(Violation {
                error: webpki::Error::PathLenConstraintViolated,
                kind: ReasonKind::PathLengthExceeded,
                offender: None,
                detail: format!(
                    "the server's trusted CA certificate \"{}\" allows {max} intermediate \
                     CA(s) below it (pathLenConstraint) and the chain has {below}",
                    anchor.subject_dn
                ),
            });
        }
    }

    // The certificate the anchor signed is checked against the anchor's CRL
    // unless only the leaf is in scope and it is not that certificate.
    let signed_by_anchor_in_scope = match crl_scope {
        CrlScope::Leaf => path.intermediate_certificates().next().is_none(),
        CrlScope::Chain => true,
    };
    let anchor_subject = path.anchor().subject.as_ref();
    let anchor_crl = store
        .crl_info()
        .iter()
        .any(|crl| crl.issuer.as_slice() == anchor_subject);
    if signed_by_anchor_in_scope && anchor_crl && !anchor.key_usage.allows(KeyUsage::CRL_SIGN) {
        return Err(Violation {
            error: webpki::Error::IssuerNotCrlSigner,
            kind: ReasonKind::BadCrl,
            offender: None,
            detail: format!(
                "the CRL issued by \"{}\" cannot be used: that CA's keyUsage does not allow signing CRLs (no cRLSign)",
                anchor.subject_dn
            ),
        });
    }
    Ok(())
}

/// What the store knows about the path's trust anchor.
fn anchor_info<'s>(store: &'s TrustStore, path: &VerifiedPath<'_>) -> Option<&'s CaInfo> {
    anchor_index(store, path).and_then(|i| store.anchor_info().get(i))
}

/// The index of the path's trust anchor in the store.
pub(crate) fn anchor_index(store: &TrustStore, path: &VerifiedPath<'_>) -> Option<usize> {
    let anchor = path.anchor();
    store
        .anchors()
        .iter()
        .position(|a| std::ptr::addr_eq(a, anchor))
}

/// Why OpenSSL's `X509_check_ca` would say a trust anchor (whose keyUsage,
/// if any, allows keyCertSign) is no CA, if it would. Version 1
/// certificates never get here: the trust store refuses them.
fn not_a_ca(anchor: &CaInfo) -> Option<&'static str> {
    match (anchor.basic_constraints_ca, anchor.key_usage) {
        (Some(true), _) => None,
        (Some(false), _) => Some("its basicConstraints extension says cA FALSE"),
        (None, KeyUsage::Bits(_)) => None,
        (None, _) if anchor.ns_cert_type_ca => None,
        (None, _) => Some("it has no basicConstraints extension and no keyUsage extension"),
    }
}

/// Whether the path is the end entity alone, with the trust anchor's name
/// and key: a self-signed certificate trusted directly, or one that mimics
/// it.
fn is_self_signed_with_anchor_key(path: &VerifiedPath<'_>) -> bool {
    let anchor = path.anchor();
    let leaf = path.end_entity();
    path.intermediate_certificates().next().is_none()
        && anchor.subject.as_ref() == leaf.subject()
        && ParsedCert::parse(leaf.der().as_ref())
            .is_ok_and(|c| c.spki == anchor.subject_public_key_info.as_ref())
}

fn no_cert_sign(key_usage: KeyUsage) -> String {
    let why = match key_usage {
        KeyUsage::Malformed => "its keyUsage extension is malformed",
        KeyUsage::Bits(0) => "its keyUsage extension asserts no usage at all",
        _ => "its keyUsage does not allow signing certificates (no keyCertSign)",
    };
    format!("a CA certificate that may not issue certificates: {why}")
}
