//! A bound on rustls-webpki's path search, checked before searching.
//!
//! webpki builds paths depth first from the leaf. At every step it reads
//! (parses) every intermediate offered and follows each one whose subject is
//! the current certificate's issuer, up to [`MAX_SUPPORTED_DEPTH`]
//! intermediates deep; signatures are checked only when a path reaches a
//! trust anchor. So a client can send certificates that share a name, each
//! with a key of its own (the paths multiply), padded with certificates of
//! unrelated names (every step reads them all): webpki's own budget, 200,000
//! steps, stopped such a chain only after seconds of CPU per handshake.
//!
//! [`check`] counts, from names alone, an upper bound of the certificates
//! such a search reads: the number of name-linked walks from the leaf (a
//! certificate never follows itself, as webpki refuses loops) times the
//! number of intermediates, up to the depth the caller passes (webpki's
//! most). A certificate whose names cannot be read is
//! taken to match every name. Ordinary chains, including a client that
//! sends its root or extra certificates, stay far below the bound.

use std::collections::HashMap;

use rustls_pki_types::CertificateDer;

use mtls_status::der::issuer_and_subject as cert_names;

/// The most certificate reads a path search may need (around ten
/// milliseconds of path building on a current core); a chain that may need
/// more is refused before searching. A leaf, two intermediates and a root, with a hundred
/// unrelated certificates in the CA bundle, need a few hundred.
pub(crate) const MAX_SEARCH_READS: u64 = 1 << 15;

/// Upper bound of the certificates webpki reads searching paths from `leaf`
/// through `intermediates`, at most `max_depth` intermediates deep; `Err`
/// with the count reached as soon as it exceeds [`MAX_SEARCH_READS`].
pub(crate) fn check(
    leaf: &[u8],
    intermediates: &[CertificateDer<'_>],
    max_depth: usize,
) -> Result<u64, u64> {
    let n = u64::try_from(intermediates.len()).unwrap_or(u64::MAX);
    if n == 0 {
        return Ok(0);
    }
    // (issuer, subject); `None`: unreadable, matches every name.
    let names: Vec<Option<(&[u8], &[u8])>> = intermediates
        .iter()
        .map(|c| cert_names(c.as_ref()))
        .collect();
    let leaf_issuer = cert_names(leaf).map(|(issuer, _)| issuer);

    // The leaf's step reads every intermediate.
    let mut reads = n;
    // How many walks end at each intermediate, at the current depth.
    let mut walks: Vec<u64> = names
        .iter()
        .map(|cert| match (leaf_issuer, cert) {
            (Some(issuer), Some((_, subject))) => u64::from(*subject == issuer),
            _ => 1,
        })
        .collect();
    for depth in 1..=max_depth {
        let level = walks.iter().fold(0u64, |sum, &w| sum.saturating_add(w));
        // Each certificate reached at this depth is a step that reads every
        // intermediate.
        reads = reads.saturating_add(level.saturating_mul(n));
        if reads > MAX_SEARCH_READS {
            return Err(reads);
        }
        if level == 0 || depth == max_depth {
            break;
        }
        walks = next_level(&names, &walks, level);
    }
    Ok(reads)
}

/// The walks one step deeper: each certificate is reached from every
/// certificate whose issuer is its subject, never from itself.
fn next_level(names: &[Option<(&[u8], &[u8])>], walks: &[u64], level: u64) -> Vec<u64> {
    let mut by_issuer: HashMap<&[u8], u64> = HashMap::new();
    let mut any_issuer = 0u64;
    for (&w, cert) in walks.iter().zip(names) {
        if w == 0 {
            continue;
        }
        match cert {
            Some((issuer, _)) => {
                let sum = by_issuer.entry(issuer).or_insert(0);
                *sum = sum.saturating_add(w);
            }
            None => any_issuer = any_issuer.saturating_add(w),
        }
    }
    names
        .iter()
        .zip(walks)
        .map(|(cert, &own)| match cert {
            Some((issuer, subject)) => {
                let incoming = by_issuer
                    .get(subject)
                    .copied()
                    .unwrap_or(0)
                    .saturating_add(any_issuer);
                if issuer == subject {
                    incoming.saturating_sub(own)
                } else {
                    incoming
                }
            }
            None => level.saturating_sub(own),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// webpki's depth, as the classifier passes it.
    const DEPTH: usize = 6;

    /// A fake certificate with just the fields [`cert_names`] reads.
    fn cert(issuer: &[u8], subject: &[u8]) -> CertificateDer<'static> {
        fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
            let mut out = vec![tag, u8::try_from(content.len()).unwrap_or(0)];
            out.extend_from_slice(content);
            out
        }
        let tbs = [
            tlv(0x02, &[1]),
            tlv(0x30, &[]),
            tlv(0x30, issuer),
            tlv(0x30, &[]),
            tlv(0x30, subject),
        ]
        .concat();
        CertificateDer::from(tlv(0x30, &tlv(0x30, &tbs)))
    }

    #[test]
    fn ordinary_chains_need_few_reads() {
        let leaf = cert(b"int", b"leaf");
        let chain = [cert(b"root", b"int"), cert(b"root", b"root")];
        // Leaf step, intermediate step, root step: 3 steps of 2 reads.
        assert_eq!(check(leaf.as_ref(), &chain, DEPTH), Ok(6));
        assert_eq!(check(leaf.as_ref(), &[], DEPTH), Ok(0));
        // Unrelated certificates are read at each of those steps.
        let mut padded = chain.to_vec();
        padded.extend((0..100u8).map(|i| cert(&[i], &[i, i])));
        assert_eq!(check(leaf.as_ref(), &padded, DEPTH), Ok(3 * 102));
    }

    #[test]
    fn same_name_certificates_multiply_walks() {
        let leaf = cert(b"evil", b"leaf");
        // k self-issued "evil" certificates: k, k(k-1), k(k-1)^2 ... walks.
        let evil = |k: usize| vec![cert(b"evil", b"evil"); k];
        let walks = |k: u64| 1 + (0..6).map(|d| k * (k - 1).pow(d)).sum::<u64>();
        assert_eq!(check(leaf.as_ref(), &evil(3), DEPTH), Ok(walks(3) * 3));
        assert_eq!(check(leaf.as_ref(), &evil(4), DEPTH), Ok(walks(4) * 4));
        assert!(check(leaf.as_ref(), &evil(8), DEPTH).is_err());
        // Unreadable certificates match every name.
        let junk = vec![CertificateDer::from(vec![0x30, 0x00]); 8];
        assert!(check(leaf.as_ref(), &junk, DEPTH).is_err());
        let junk = vec![CertificateDer::from(vec![0x30, 0x00]); 2];
        assert_eq!(check(leaf.as_ref(), &junk, DEPTH), Ok(2 * (1 + 6 * 2)));
    }
}
