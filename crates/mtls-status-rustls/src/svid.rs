//! The X509-SVID rules for a leaf (SPIFFE X509-SVID specification,
//! sections 2 and 4.3, as go-spiffe's `x509svid.Verify` enforces them),
//! checked when the classifier is built with
//! [`require_x509_svid`](crate::ClassifierBuilder::require_x509_svid).
//!
//! | rule | go-spiffe error | reason |
//! |---|---|---|
//! | a URI SAN | `certificate contains no URI SAN` | `svid_no_uri_san` |
//! | only one URI SAN | `certificate contains more than one URI SAN` | `svid_multiple_uri_sans` |
//! | it is a SPIFFE ID | `certificate contains an invalid SPIFFE ID` | `svid_invalid_spiffe_id` |
//! | not a CA | `leaf certificate must not have CA flag set to true` | `svid_is_ca` |
//! | keyUsage digitalSignature | `leaf certificate must have 'digitalSignature' set as key usage` | `svid_key_usage` |
//! | no keyCertSign, no cRLSign | `leaf certificate must not have 'keyCertSign' / 'cRLSign' set as key usage` | `svid_key_usage` |
//!
//! The signing certificates' rules (cA TRUE, keyCertSign) are path
//! validation's, checked for every chain.

use mtls_status::identity::SpiffeId;
use mtls_status::{InvalidReason, ReasonKind};

const DIGITAL_SIGNATURE: u16 = 1 << 0;
const KEY_CERT_SIGN: u16 = 1 << 5;
const CRL_SIGN: u16 = 1 << 6;

/// What the X509-SVID rules look at in a leaf.
pub(crate) struct Leaf<'a> {
    /// The URI SANs, in order.
    pub(crate) uris: &'a [String],
    /// basicConstraints cA.
    pub(crate) is_ca: bool,
    /// The keyUsage bits; `None` when the extension is absent or malformed.
    pub(crate) key_usage: Option<u16>,
}

/// The first rule `leaf` breaks, as a reason naming what to fix.
pub(crate) fn check(leaf: &Leaf<'_>) -> Result<(), Box<InvalidReason>> {
    let uri = match leaf.uris {
        [] => {
            return Err(reason(
                ReasonKind::SvidNoUriSan,
                "the certificate has no URI SAN; an X509-SVID carries its SPIFFE ID \
                 (spiffe://trust.domain/path) as its one URI SAN",
            ));
        }
        [uri] => uri,
        uris => {
            return Err(reason(
                ReasonKind::SvidMultipleUriSans,
                format!(
                    "the certificate has {} URI SANs ({}); an X509-SVID has exactly one, its \
                     SPIFFE ID: issue it with that one only",
                    uris.len(),
                    uris.join(", ")
                ),
            ));
        }
    };
    if let Err(error) = uri.parse::<SpiffeId>() {
        return Err(reason(
            ReasonKind::SvidInvalidSpiffeId,
            format!("its URI SAN {uri:?} is not a valid SPIFFE ID: {error}"),
        ));
    }
    if leaf.is_ca {
        return Err(reason(
            ReasonKind::SvidIsCa,
            "the certificate has basicConstraints cA TRUE; an X509-SVID leaf must not be a \
             CA: issue it with cA FALSE",
        ));
    }
    let bits = leaf.key_usage.unwrap_or(0);
    let key_usage_problem = if bits & DIGITAL_SIGNATURE == 0 {
        Some(if leaf.key_usage.is_none() {
            "the certificate has no (readable) keyUsage extension; an X509-SVID leaf must \
             have keyUsage digitalSignature"
        } else {
            "its keyUsage lacks digitalSignature, which an X509-SVID leaf must have"
        })
    } else if bits & KEY_CERT_SIGN != 0 {
        Some("its keyUsage has keyCertSign, which an X509-SVID leaf must not have")
    } else if bits & CRL_SIGN != 0 {
        Some("its keyUsage has cRLSign, which an X509-SVID leaf must not have")
    } else {
        None
    };
    match key_usage_problem {
        Some(problem) => Err(reason(ReasonKind::SvidKeyUsage, problem)),
        None => Ok(()),
    }
}

fn reason(kind: ReasonKind, message: impl Into<String>) -> Box<InvalidReason> {
    Box::new(InvalidReason::new(kind).with_message(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uris(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn kind(uris: &[String], is_ca: bool, key_usage: Option<u16>) -> Option<ReasonKind> {
        check(&Leaf {
            uris,
            is_ca,
            key_usage,
        })
        .err()
        .map(|r| r.kind())
    }

    #[test]
    fn rules_in_go_spiffe_order() {
        let one = uris(&["spiffe://td/w"]);
        let ds = Some(DIGITAL_SIGNATURE);
        assert_eq!(kind(&one, false, ds), None);
        assert_eq!(kind(&one, false, Some(DIGITAL_SIGNATURE | 1 << 2)), None);
        assert_eq!(kind(&[], false, ds), Some(ReasonKind::SvidNoUriSan));
        let two = uris(&["spiffe://evil/x", "spiffe://td/w"]);
        assert_eq!(kind(&two, false, ds), Some(ReasonKind::SvidMultipleUriSans));
        let bad = uris(&["spiffe://TD/w"]);
        assert_eq!(kind(&bad, false, ds), Some(ReasonKind::SvidInvalidSpiffeId));
        assert_eq!(kind(&one, true, ds), Some(ReasonKind::SvidIsCa));
        for key_usage in [
            None,
            Some(0),
            Some(DIGITAL_SIGNATURE | KEY_CERT_SIGN),
            Some(DIGITAL_SIGNATURE | CRL_SIGN),
        ] {
            assert_eq!(
                kind(&one, false, key_usage),
                Some(ReasonKind::SvidKeyUsage),
                "{key_usage:?}"
            );
        }
        let message = check(&Leaf {
            uris: &two,
            is_ca: false,
            key_usage: ds,
        })
        .err()
        .and_then(|r| r.context().message.clone())
        .unwrap_or_default();
        assert!(
            message.contains("2 URI SANs (spiffe://evil/x, spiffe://td/w)"),
            "{message}"
        );
    }
}
