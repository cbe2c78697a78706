//! Signatures over signed X.509 structures (certificates, CRLs, OCSP
//! answers), checked with the algorithms of the caller's crypto provider.

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::CertificateDer;

/// Whether `signature` over `message` verifies with `signer`'s public key
/// under the algorithm whose AlgorithmIdentifier content (as read from a
/// certificate or CRL) is `algorithm_id`, with `algs` (the provider's).
pub(crate) fn verify_raw(
    signer: &CertificateDer<'_>,
    algorithm_id: &[u8],
    message: &[u8],
    signature: &[u8],
    algs: &WebPkiSupportedAlgorithms,
) -> bool {
    let Ok(signer) = webpki::EndEntityCert::try_from(signer) else {
        return false;
    };
    algs.all
        .iter()
        .filter(|alg| alg.signature_alg_id().as_ref() == algorithm_id)
        .any(|alg| signer.verify_signature(*alg, message, signature).is_ok())
}
