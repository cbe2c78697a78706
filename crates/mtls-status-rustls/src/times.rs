//! Certificate validity judged by core's one time parser (OpenSSL semantics),
//! not by rustls-webpki's.
//!
//! webpki refuses, as a DER error, times OpenSSL reads (a zone offset, no
//! seconds, years before 1970), and so does not say what nginx says about
//! them: 9/10 for a time outside the validity, 13/14 for a notBefore /
//! notAfter that is not in RFC 5280's exact form (OpenSSL's `X509_cmp_time`
//! refuses to compare it). So webpki is shown each certificate with its
//! validity replaced by one that holds at any time ([`Canonical`]), and the
//! classifier checks the real times itself ([`check`]).
//!
//! The signatures still cover the real bytes: [`Restoring`] wraps each
//! signature algorithm and verifies a rewritten tbsCertificate's signature
//! over the tbsCertificate it was made from. A rewritten form that two
//! different certificates share (one could then borrow the other's
//! signature) verifies with no key.

use std::collections::HashSet;

use mtls_status::ReasonKind;
use mtls_status::der::{Certificate as ParsedCert, Reader, tag};
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm, UnixTime,
};

/// notBefore and notAfter as webpki is shown them: 1970 to the end of 9999.
const ANY_TIME: &[u8] = b"\x30\x20\x17\x0d700101000000Z\x18\x0f99991231235959Z";

/// A certificate's validity as the classifier keeps it (trust anchors'
/// dates are checked by us, not by webpki, long after parsing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Validity {
    not_before: i64,
    not_after: i64,
    /// Whether each time is in RFC 5280's exact form, the only one
    /// OpenSSL's `X509_cmp_time` compares.
    not_before_rfc5280: bool,
    not_after_rfc5280: bool,
}

impl Validity {
    pub(crate) fn of(cert: &ParsedCert<'_>) -> Self {
        let (nb, na) = (cert.not_before(), cert.not_after());
        Self {
            not_before: nb.unix(),
            not_after: na.unix(),
            not_before_rfc5280: nb.is_rfc5280(),
            not_after_rfc5280: na.is_rfc5280(),
        }
    }

    /// The time verdict at `t` as nginx reports it: OpenSSL checks
    /// notBefore, then notAfter, and the last error wins. A time that is
    /// not `YYMMDDHHMMSSZ` / `YYYYMMDDHHMMSSZ` is a format error (13, 14);
    /// notAfter itself is already expired (`X509_cmp_time` compares with
    /// `<=`).
    pub(crate) fn check(&self, t: i64) -> Option<ReasonKind> {
        let after = if !self.not_after_rfc5280 {
            Some(ReasonKind::BadNotAfter)
        } else if self.not_after <= t {
            Some(ReasonKind::Expired)
        } else {
            None
        };
        let before = if !self.not_before_rfc5280 {
            Some(ReasonKind::BadNotBefore)
        } else if t < self.not_before {
            Some(ReasonKind::NotYetValid)
        } else {
            None
        };
        after.or(before)
    }

    /// notBefore, clamped to the epoch for earlier times.
    pub(crate) fn not_before(&self) -> UnixTime {
        clamped(self.not_before)
    }

    /// notAfter, clamped to the epoch for earlier times.
    pub(crate) fn not_after(&self) -> UnixTime {
        clamped(self.not_after)
    }
}

fn clamped(unix: i64) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(unix).unwrap_or(0),
    ))
}

/// [`Validity::check`] of one certificate.
pub(crate) fn check(cert: &ParsedCert<'_>, t: i64) -> Option<ReasonKind> {
    Validity::of(cert).check(t)
}

/// `der` with its validity replaced by [`ANY_TIME`], or `None` when it is
/// not a certificate we can take apart (webpki then sees it unchanged).
fn rewrite(der: &[u8]) -> Option<(Vec<u8>, std::ops::Range<usize>, &[u8])> {
    let cert = mtls_status::der::single(der, tag::SEQUENCE).ok()?;
    let mut parts = Reader::new(cert.value);
    let tbs = parts.expect(tag::SEQUENCE).ok()?;
    let rest = &cert.value[tbs.raw.len()..];
    let mut fields = Reader::new(tbs.value);
    let mut before = Vec::new();
    loop {
        let field = fields.read().ok()?;
        if field.tag == tag::SEQUENCE && before.len() >= 3 {
            // version?, serial, signature, issuer, then validity.
            let count = before.len();
            let has_version = before
                .first()
                .is_some_and(|&(t, _): &(u8, &[u8])| t == 0xA0);
            if count == 3 + usize::from(has_version) {
                let head: Vec<u8> = before
                    .iter()
                    .flat_map(|(_, raw)| raw.iter().copied())
                    .collect();
                let after = &tbs.value[head.len() + field.raw.len()..];
                let mut body = head;
                body.extend_from_slice(ANY_TIME);
                body.extend_from_slice(after);
                let new_tbs = tlv(tag::SEQUENCE, &body);
                let mut content = new_tbs.clone();
                content.extend_from_slice(rest);
                let out = tlv(tag::SEQUENCE, &content);
                let start = out.len() - content.len();
                return Some((out, start..start + new_tbs.len(), tbs.raw));
            }
        }
        before.push((field.tag, field.raw));
        if before.len() > 4 {
            return None;
        }
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            // At most 8 length octets: the count always fits.
            out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0x7f));
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    out.extend_from_slice(content);
    out
}

/// The CA-bundle intermediates a path from `chain` can reach by names
/// (webpki follows no other), so that a large bundle is not rewritten on
/// every classification.
pub(crate) fn reachable<'a>(
    chain: &'a [CertificateDer<'_>],
    bundle: &'a [CertificateDer<'static>],
) -> impl Iterator<Item = &'a [u8]> {
    use mtls_status::der::issuer_and_subject as names;
    let bundle_names: Vec<_> = bundle.iter().map(|c| names(c.as_ref())).collect();
    let mut wanted: HashSet<&[u8]> = chain
        .iter()
        .filter_map(|c| names(c.as_ref()).map(|(issuer, _)| issuer))
        .collect();
    let mut taken = vec![false; bundle.len()];
    loop {
        let mut grew = false;
        for (i, pair) in bundle_names.iter().enumerate() {
            if let Some((issuer, subject)) = pair
                && !taken[i]
                && wanted.contains(subject)
            {
                taken[i] = true;
                grew = true;
                wanted.insert(issuer);
            }
        }
        if !grew {
            break;
        }
    }
    bundle
        .iter()
        .zip(taken)
        .filter_map(|(c, taken)| taken.then_some(c.as_ref()))
}

/// The certificates of one classification as webpki is shown them.
pub(crate) struct Canonical<'a> {
    entries: Vec<Entry<'a>>,
}

/// One certificate as webpki is shown it.
struct Entry<'a> {
    shown: CertificateDer<'static>,
    /// Where its tbsCertificate is in `shown` (empty: not rewritten).
    shown_tbs: std::ops::Range<usize>,
    original: &'a [u8],
    original_tbs: &'a [u8],
}

impl<'a> Canonical<'a> {
    pub(crate) fn new(certs: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let entries = certs
            .into_iter()
            .map(|der| match rewrite(der) {
                Some((out, shown_tbs, original_tbs)) => Entry {
                    shown: CertificateDer::from(out),
                    shown_tbs,
                    original: der,
                    original_tbs,
                },
                None => Entry {
                    shown: CertificateDer::from(der.to_vec()),
                    shown_tbs: 0..0,
                    original: der,
                    original_tbs: &[],
                },
            })
            .collect();
        Self { entries }
    }

    /// How many certificates it holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The rewritten form of the `i`-th certificate given to [`new`](Self::new).
    pub(crate) fn get(&self, i: usize) -> Option<&CertificateDer<'static>> {
        self.entries.get(i).map(|e| &e.shown)
    }

    /// The original DER of a certificate webpki was shown (itself if it is
    /// none of ours).
    pub(crate) fn original<'d>(&'d self, shown: &'d [u8]) -> &'d [u8] {
        self.entries
            .iter()
            .find(|e| e.shown.as_ref() == shown)
            .map_or(shown, |e| e.original)
    }

    /// The tbsCertificate a signature over `message` must cover: `Ok(None)`
    /// if `message` is no rewritten tbsCertificate, `Err` if two different
    /// certificates share it.
    fn signed(&self, message: &[u8]) -> Result<Option<&[u8]>, InvalidSignature> {
        let mut found: Option<&[u8]> = None;
        for e in &self.entries {
            if e.shown_tbs.is_empty() || e.shown.get(e.shown_tbs.clone()) != Some(message) {
                continue;
            }
            let tbs = e.original_tbs;
            match found {
                Some(other) if other != tbs => return Err(InvalidSignature),
                _ => found = Some(tbs),
            }
        }
        Ok(found)
    }
}

/// A signature algorithm that verifies a rewritten tbsCertificate's
/// signature over the original one.
#[derive(Debug)]
pub(crate) struct Restoring<'a> {
    inner: &'a dyn SignatureVerificationAlgorithm,
    canonical: &'a Canonical<'a>,
}

impl std::fmt::Debug for Canonical<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Canonical")
            .field("certificates", &self.entries.len())
            .finish()
    }
}

impl<'a> Restoring<'a> {
    pub(crate) fn wrap(
        algs: &'a [&'a dyn SignatureVerificationAlgorithm],
        canonical: &'a Canonical<'a>,
    ) -> Vec<Self> {
        algs.iter()
            .map(|&inner| Self { inner, canonical })
            .collect()
    }
}

impl SignatureVerificationAlgorithm for Restoring<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let message = self.canonical.signed(message)?.unwrap_or(message);
        self.inner.verify_signature(public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_time_is_one_validity() {
        let v = mtls_status::der::single(ANY_TIME, tag::SEQUENCE).unwrap();
        let mut r = Reader::new(v.value);
        for _ in 0..2 {
            let t = r.read().unwrap();
            assert!(mtls_status::der::Time::parse(&t).is_some_and(|t| t.is_rfc5280()));
        }
        assert!(r.finish().is_ok());
    }

    #[test]
    fn rewrite_keeps_everything_but_the_validity() {
        let cert = mtls_testpki::Ca::root("root").build().cert_der();
        let der = cert.as_ref();
        let (out, range, original_tbs) = rewrite(der).unwrap();
        let (a, b) = (
            ParsedCert::parse(der).unwrap(),
            ParsedCert::parse(&out).unwrap(),
        );
        assert_eq!(&out[range], b.tbs);
        assert_eq!(
            (a.subject, a.issuer, a.spki, a.serial),
            (b.subject, b.issuer, b.spki, b.serial)
        );
        assert_eq!(a.signature, b.signature);
        assert_eq!(b.not_before().unix(), 0);
        assert_eq!(b.not_after().unix(), 253_402_300_799);
        assert_ne!(a.tbs, b.tbs);
        assert_eq!(a.tbs, original_tbs);
    }
}
