//! CRL signatures checked once per trust store instead of once per chain.
//!
//! rustls-webpki verifies a CRL's signature every time it consults the CRL
//! (rustls/webpki#81), hashing the whole CRL: about 30 ms per classification
//! with a CRL of a million entries, so the cost of a handshake grew with the
//! CRL. A store's CRLs never change while it lives, so a signature that
//! verified over webpki's copy of a CRL's signed bytes is remembered by that
//! copy's address and length, with the signature, the key and the
//! algorithm. This is sound because the store owns the
//! `OwnedCertRevocationList` holding those bytes for as long as it owns this
//! memo: no other bytes can be at that address meanwhile. A message is
//! remembered only once its content was found equal to the tbsCertList of
//! one of the store's CRLs, so certificates (which come from clients and
//! whose buffers are reused) are never remembered.

use std::ops::Range;
use std::sync::{Mutex, PoisonError};

use mtls_status::der::Crl as ParsedCrl;
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateRevocationListDer, InvalidSignature,
    SignatureVerificationAlgorithm,
};

/// At most this many verifications are remembered (a few per CRL and key);
/// beyond, the memo starts over.
const MAX_REMEMBERED: usize = 256;

/// The store's CRLs' signed bytes, and the verifications remembered.
#[derive(Debug, Default)]
pub(crate) struct CrlSignatures {
    /// Per CRL (as in the store's `crl_ders`): where tbsCertList and the
    /// signature are in its DER.
    signed: Vec<(Range<usize>, Range<usize>)>,
    remembered: Mutex<Vec<Remembered>>,
}

#[derive(Debug)]
struct Remembered {
    address: usize,
    len: usize,
    signature: Vec<u8>,
    public_key: Vec<u8>,
    algorithm: (AlgorithmIdentifier, AlgorithmIdentifier),
}

impl CrlSignatures {
    pub(crate) fn new(crl_ders: &[CertificateRevocationListDer<'_>]) -> Self {
        let signed = crl_ders
            .iter()
            .map(|der| {
                let der = der.as_ref();
                ParsedCrl::parse(der).map_or((0..0, 0..0), |crl| {
                    (range_in(der, crl.tbs), range_in(der, crl.signature))
                })
            })
            .collect();
        Self {
            signed,
            remembered: Mutex::default(),
        }
    }

    /// `algs`, each remembering the CRL signatures it verified (against
    /// `crl_ders`, the store's CRLs, in order).
    pub(crate) fn wrap<'a>(
        &'a self,
        crl_ders: &'a [CertificateRevocationListDer<'a>],
        algs: &[&'a dyn SignatureVerificationAlgorithm],
    ) -> Vec<Remembering<'a>> {
        algs.iter()
            .map(|&inner| Remembering {
                inner,
                memo: self,
                crl_ders,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Remembered>> {
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The offsets of `part`, a subslice of `whole`.
fn range_in(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

/// A signature algorithm that remembers the CRL signatures it verified.
#[derive(Debug)]
pub(crate) struct Remembering<'a> {
    inner: &'a dyn SignatureVerificationAlgorithm,
    memo: &'a CrlSignatures,
    crl_ders: &'a [CertificateRevocationListDer<'a>],
}

impl Remembering<'_> {
    fn algorithm(&self) -> (AlgorithmIdentifier, AlgorithmIdentifier) {
        (
            self.inner.public_key_alg_id(),
            self.inner.signature_alg_id(),
        )
    }

    /// Whether `message` with `signature` is one of the store's CRLs.
    fn is_crl(&self, message: &[u8], signature: &[u8]) -> bool {
        self.memo
            .signed
            .iter()
            .zip(self.crl_ders)
            .any(|((tbs, sig), der)| {
                let der = der.as_ref();
                tbs.len() == message.len()
                    && der.get(sig.clone()) == Some(signature)
                    && der.get(tbs.clone()) == Some(message)
            })
    }
}

impl SignatureVerificationAlgorithm for Remembering<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        // A store without CRLs has nothing to remember: no lock per signature.
        if self.memo.signed.is_empty() {
            return self.inner.verify_signature(public_key, message, signature);
        }
        let address = message.as_ptr() as usize;
        let algorithm = self.algorithm();
        let known = self.memo.lock().iter().any(|r| {
            r.address == address
                && r.len == message.len()
                && r.signature == signature
                && r.public_key == public_key
                && r.algorithm == algorithm
        });
        if known {
            return Ok(());
        }
        self.inner
            .verify_signature(public_key, message, signature)?;
        if self.is_crl(message, signature) {
            let mut remembered = self.memo.lock();
            if remembered.len() >= MAX_REMEMBERED {
                remembered.clear();
            }
            remembered.push(Remembered {
                address,
                len: message.len(),
                signature: signature.to_vec(),
                public_key: public_key.to_vec(),
                algorithm,
            });
        }
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips_status(&self) -> rustls_pki_types::FipsStatus {
        self.inner.fips_status()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Accepts every signature, counting the calls.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);

    impl SignatureVerificationAlgorithm for Counting {
        fn verify_signature(&self, _: &[u8], _: &[u8], _: &[u8]) -> Result<(), InvalidSignature> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }

        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            rustls_pki_types::alg_id::ECDSA_P256
        }

        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            rustls_pki_types::alg_id::ECDSA_SHA256
        }
    }

    #[test]
    fn remembers_crls_by_address_and_nothing_else() {
        let root = mtls_testpki::Ca::root("CRL signer").build();
        let der = root.crl().revoke_serial([7]).build().der();
        let ders = [der.clone()];
        let memo = CrlSignatures::new(&ders);
        let counting = Counting::default();
        let wrapped = memo.wrap(&ders, &[&counting]);
        let alg = &wrapped[0];
        let parsed = ParsedCrl::parse(der.as_ref()).unwrap();
        // webpki's own copy of the signed bytes, as OwnedCertRevocationList
        // keeps it.
        let copy = parsed.tbs.to_vec();
        let calls = || counting.0.load(Ordering::Relaxed);

        alg.verify_signature(b"key", &copy, parsed.signature)
            .unwrap();
        alg.verify_signature(b"key", &copy, parsed.signature)
            .unwrap();
        assert_eq!(calls(), 1, "the second check is remembered");
        // Another key, another signature, another buffer: checked again.
        alg.verify_signature(b"other key", &copy, parsed.signature)
            .unwrap();
        assert_eq!(calls(), 2);
        let mut other_signature = parsed.signature.to_vec();
        other_signature[0] ^= 1;
        alg.verify_signature(b"key", &copy, &other_signature)
            .unwrap();
        assert_eq!(calls(), 3);
        let elsewhere = parsed.tbs.to_vec();
        alg.verify_signature(b"key", &elsewhere, parsed.signature)
            .unwrap();
        assert_eq!(calls(), 4);
        // A message that is no CRL of the store is never remembered.
        let certificate = root.cert_der();
        let tbs = mtls_status::der::Certificate::parse(certificate.as_ref())
            .unwrap()
            .tbs;
        alg.verify_signature(b"key", tbs, parsed.signature).unwrap();
        alg.verify_signature(b"key", tbs, parsed.signature).unwrap();
        assert_eq!(calls(), 6);
        assert_eq!(memo.lock().len(), 3, "copy with two keys, elsewhere");
    }
}
