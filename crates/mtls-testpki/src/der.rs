//! A few DER helpers: just enough to encode names and to splice fields of the
//! certificates and CRLs that rcgen produced (and re-sign them).
//!
//! These only ever parse DER that this crate (or rcgen) wrote, so malformed input
//! is a bug and panics.

use rcgen::{KeyPair, SigningKey};

pub(crate) const TAG_INTEGER: u8 = 0x02;
pub(crate) const TAG_BIT_STRING: u8 = 0x03;
pub(crate) const TAG_OID: u8 = 0x06;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
pub(crate) const TAG_SET: u8 = 0x31;
const TAG_CONTEXT_0_CONSTRUCTED: u8 = 0xa0;

/// Encodes a definite length in DER form.
fn encode_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = &bytes[skip..];
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// Encodes a complete TLV with a single-byte tag.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    encode_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// Encodes an OBJECT IDENTIFIER TLV from its arcs.
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    assert!(
        arcs.len() >= 2,
        "mtls-testpki: an OID needs at least two arcs"
    );
    let mut content = Vec::new();
    let mut push_base128 = |mut value: u64| {
        let mut tmp = vec![(value & 0x7f) as u8];
        value >>= 7;
        while value > 0 {
            tmp.push(0x80 | (value & 0x7f) as u8);
            value >>= 7;
        }
        tmp.reverse();
        content.extend_from_slice(&tmp);
    };
    push_base128(arcs[0] * 40 + arcs[1]);
    for arc in &arcs[2..] {
        push_base128(*arc);
    }
    tlv(TAG_OID, &content)
}

/// Splits the first TLV off `input`: returns (tag, content, whole TLV, rest).
pub(crate) fn split(input: &[u8]) -> (u8, &[u8], &[u8], &[u8]) {
    assert!(input.len() >= 2, "mtls-testpki: truncated DER");
    let tag = input[0];
    assert!(
        tag & 0x1f != 0x1f,
        "mtls-testpki: multi-byte DER tags are not supported"
    );
    let (len, header) = match input[1] {
        short @ 0..=0x7f => (usize::from(short), 2),
        long => {
            let n = usize::from(long & 0x7f);
            assert!((1..=4).contains(&n), "mtls-testpki: unsupported DER length");
            let len = input[2..2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        }
    };
    assert!(input.len() >= header + len, "mtls-testpki: truncated DER");
    (
        tag,
        &input[header..header + len],
        &input[..header + len],
        &input[header + len..],
    )
}

/// The complete child TLVs of a constructed value's content.
pub(crate) fn children(mut content: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (_, _, whole, rest) = split(content);
        out.push(whole);
        content = rest;
    }
    out
}

/// The content of `der`'s outermost TLV.
pub(crate) fn content(der: &[u8]) -> &[u8] {
    split(der).1
}

/// Index of each field of an X.509 `TBSCertificate` (version 3, as rcgen writes it).
const TBS_SERIAL: usize = 1;
const TBS_ISSUER: usize = 3;
const TBS_VALIDITY: usize = 4;
const TBS_SUBJECT: usize = 5;

/// Returns the `TBSCertificate` children of a DER certificate.
fn tbs_fields(cert: &[u8]) -> Vec<&[u8]> {
    let outer = children(content(cert));
    let fields = children(content(outer[0]));
    assert_eq!(
        fields[0][0], TAG_CONTEXT_0_CONSTRUCTED,
        "mtls-testpki: expected an X.509 v3 certificate"
    );
    fields
}

/// The content octets of the certificate's serial number INTEGER.
pub(crate) fn cert_serial(cert: &[u8]) -> Vec<u8> {
    content(tbs_fields(cert)[TBS_SERIAL]).to_vec()
}

/// The certificate's subject `Name` (complete SEQUENCE TLV).
pub(crate) fn cert_subject(cert: &[u8]) -> Vec<u8> {
    tbs_fields(cert)[TBS_SUBJECT].to_vec()
}

/// The certificate's issuer `Name` (complete SEQUENCE TLV).
pub(crate) fn cert_issuer(cert: &[u8]) -> Vec<u8> {
    tbs_fields(cert)[TBS_ISSUER].to_vec()
}

/// Field replacements applied to a signed certificate, which is then re-signed.
#[derive(Debug, Default, Clone)]
pub(crate) struct CertPatch {
    /// Replacement serial INTEGER content octets, written verbatim.
    pub(crate) serial: Option<Vec<u8>>,
    /// Replacement issuer `Name` TLV.
    pub(crate) issuer: Option<Vec<u8>>,
    /// Replacement subject `Name` TLV.
    pub(crate) subject: Option<Vec<u8>>,
    /// Replacement `Validity` TLV.
    pub(crate) validity: Option<Vec<u8>>,
}

impl CertPatch {
    pub(crate) fn is_empty(&self) -> bool {
        self.serial.is_none()
            && self.issuer.is_none()
            && self.subject.is_none()
            && self.validity.is_none()
    }
}

/// Re-assembles a signed structure (`SEQUENCE { tbs, algorithm, BIT STRING }`) around new
/// to-be-signed fields, signing them with `signer`.
fn resign(original: &[u8], new_tbs_fields: &[Vec<u8>], signer: &KeyPair) -> Vec<u8> {
    let outer = children(content(original));
    let algorithm = outer[1];
    let tbs = tlv(TAG_SEQUENCE, &new_tbs_fields.concat());
    let signature = signer
        .sign(&tbs)
        .expect("mtls-testpki: signing a patched structure failed");
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0); // no unused bits
    bits.extend_from_slice(&signature);
    let bit_string = tlv(TAG_BIT_STRING, &bits);
    tlv(
        TAG_SEQUENCE,
        &[tbs, algorithm.to_vec(), bit_string].concat(),
    )
}

/// Applies `patch` to `cert` and re-signs it with `signer` (the issuer's key).
pub(crate) fn patch_cert(cert: &[u8], patch: &CertPatch, signer: &KeyPair) -> Vec<u8> {
    if patch.is_empty() {
        return cert.to_vec();
    }
    let mut fields: Vec<Vec<u8>> = tbs_fields(cert).into_iter().map(<[u8]>::to_vec).collect();
    if let Some(serial) = &patch.serial {
        fields[TBS_SERIAL] = tlv(TAG_INTEGER, serial);
    }
    if let Some(issuer) = &patch.issuer {
        fields[TBS_ISSUER] = issuer.clone();
    }
    if let Some(subject) = &patch.subject {
        fields[TBS_SUBJECT] = subject.clone();
    }
    if let Some(validity) = &patch.validity {
        fields[TBS_VALIDITY] = validity.clone();
    }
    resign(cert, &fields, signer)
}

/// Replaces the issuer `Name` of a DER CRL (v2, as rcgen writes it) and re-signs it.
pub(crate) fn patch_crl_issuer(crl: &[u8], issuer: &[u8], signer: &KeyPair) -> Vec<u8> {
    const TBS_CRL_ISSUER: usize = 2;
    let outer = children(content(crl));
    let mut fields: Vec<Vec<u8>> = children(content(outer[0]))
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(
        fields[0].first(),
        Some(&TAG_INTEGER),
        "mtls-testpki: expected a v2 CRL"
    );
    fields[TBS_CRL_ISSUER] = issuer.to_vec();
    resign(crl, &fields, signer)
}

/// Rewrites a PKCS#8 v2 (`OneAsymmetricKey` with a public key, as ring emits for
/// Ed25519) as PKCS#8 v1 (`PrivateKeyInfo`), which every consumer reads: OpenSSL 3.0
/// refuses ring's v2 Ed25519 encoding. Other keys are returned unchanged.
pub(crate) fn pkcs8_v1(pkcs8: &[u8]) -> Vec<u8> {
    let fields = children(content(pkcs8));
    if fields.len() < 3 || fields[0] != [TAG_INTEGER, 1, 1] {
        return pkcs8.to_vec();
    }
    let mut out = vec![tlv(TAG_INTEGER, &[0])];
    out.extend(fields[1..3].iter().map(|f| f.to_vec()));
    // Keep `attributes [0]`; drop `publicKey [1]`.
    out.extend(
        fields[3..]
            .iter()
            .filter(|f| f[0] == TAG_CONTEXT_0_CONSTRUCTED)
            .map(|f| f.to_vec()),
    );
    tlv(TAG_SEQUENCE, &out.concat())
}

/// An authorityInfoAccess extension (1.3.6.1.5.5.7.1.1) naming `url` as the
/// OCSP responder (accessMethod id-ad-ocsp, accessLocation a URI).
pub(crate) fn aia_ocsp_extension(url: &str) -> rcgen::CustomExtension {
    const TAG_URI: u8 = 0x86;
    let description = tlv(
        TAG_SEQUENCE,
        &[
            oid(&[1, 3, 6, 1, 5, 5, 7, 48, 1]),
            tlv(TAG_URI, url.as_bytes()),
        ]
        .concat(),
    );
    rcgen::CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        tlv(TAG_SEQUENCE, &description),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lengths_and_oids() {
        assert_eq!(tlv(0x04, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(split(&long).1.len(), 300);
        // 2.5.4.3 (commonName)
        assert_eq!(oid(&[2, 5, 4, 3]), vec![0x06, 0x03, 0x55, 0x04, 0x03]);
        // 1.2.840.113549.1.9.1 (emailAddress)
        assert_eq!(
            oid(&[1, 2, 840, 113_549, 1, 9, 1]),
            vec![
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01
            ]
        );
    }
}
