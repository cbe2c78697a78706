//! Checking an OCSP answer: decoded by x509-ocsp, signed by the issuer or
//! a delegated OCSP signer it issued, about our CertID, current, and with
//! our nonce when one was sent.

use der::{Decode, Encode};
use mtls_status::der::{Certificate as ParsedCert, ext_oid, single, tag};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::CertificateDer;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspResponse, OcspResponseStatus,
    ResponderId,
};

use super::request::{SHA1, SHA256};
use super::{ErrorKind, OcspError, OcspStatus};
use crate::signed::verify_raw;

/// A checked answer about one certificate.
#[derive(Clone, Debug)]
pub(super) struct Checked {
    pub(super) status: OcspStatus,
    pub(super) produced_at: u64,
    pub(super) this_update: u64,
    pub(super) next_update: Option<u64>,
    /// The subject of the certificate that signed the answer.
    pub(super) signer: String,
}

fn secs(time: &OcspGeneralizedTime) -> u64 {
    time.0.to_unix_duration().as_secs()
}

fn fail(kind: ErrorKind, message: impl Into<String>) -> OcspError {
    OcspError::new(kind, message)
}

/// Checks the DER OCSPResponse `der` for `cert_id`, whose issuer is
/// `issuer`, at `now` (Unix seconds).
pub(super) fn check(
    der: &[u8],
    cert_id: &CertId,
    issuer: &CertificateDer<'_>,
    nonce: Option<&[u8]>,
    algs: &WebPkiSupportedAlgorithms,
    now: u64,
    skew: u64,
) -> Result<Checked, OcspError> {
    let malformed = |error: der::Error| {
        fail(
            ErrorKind::Malformed,
            format!("the responder's answer is not a DER OCSPResponse: {error}"),
        )
    };
    let response = OcspResponse::from_der(der).map_err(malformed)?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(fail(
            ErrorKind::ResponderError,
            format!(
                "the responder answered {:?} instead of a status",
                response.response_status
            ),
        ));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| fail(ErrorKind::Malformed, "a successful answer without a body"))?;
    if bytes.response_type != <BasicOcspResponse as der::oid::AssociatedOid>::OID {
        return Err(fail(
            ErrorKind::Malformed,
            format!("unsupported response type {}", bytes.response_type),
        ));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(malformed)?;

    let issuer_parsed = ParsedCert::parse(issuer.as_ref()).map_err(|e| {
        fail(
            ErrorKind::Malformed,
            format!("the issuer cannot be read: {e}"),
        )
    })?;
    let signer = signer(&basic, issuer, &issuer_parsed, algs, now)?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| fail(ErrorKind::Malformed, e.to_string()))?;
    if !verify_signed(
        &signer.0,
        &basic.signature_algorithm,
        &tbs,
        basic.signature.as_bytes(),
        algs,
    ) {
        return Err(fail(
            ErrorKind::BadSignature,
            format!(
                "the answer's signature does not verify with the key of \"{}\"",
                signer.1
            ),
        ));
    }

    if let Some(sent) = nonce {
        match basic.nonce() {
            Some(got) if got.0.as_bytes() == sent => {}
            Some(_) => return Err(fail(ErrorKind::Nonce, "the answer carries another nonce")),
            None => return Err(fail(ErrorKind::Nonce, "the answer carries no nonce")),
        }
    }

    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|single| same_cert_id(&single.cert_id, cert_id, &issuer_parsed))
        .ok_or_else(|| {
            fail(
                ErrorKind::CertIdMismatch,
                "the answer is not about this certificate (no matching CertID)",
            )
        })?;
    let this_update = secs(&single.this_update);
    let next_update = single.next_update.as_ref().map(secs);
    if this_update > now.saturating_add(skew) {
        return Err(fail(
            ErrorKind::NotYetValid,
            format!(
                "the answer's thisUpdate is {}s in the future",
                this_update - now
            ),
        ));
    }
    if let Some(next) = next_update
        && next.saturating_add(skew) < now
    {
        return Err(fail(
            ErrorKind::Expired,
            format!("the answer expired {}s ago (nextUpdate passed)", now - next),
        ));
    }
    let status = match single.cert_status {
        CertStatus::Good(_) => OcspStatus::Good,
        CertStatus::Revoked(info) => OcspStatus::Revoked {
            revoked_at: secs(&info.revocation_time),
            reason: info.revocation_reason.map(|r| format!("{r:?}")),
        },
        CertStatus::Unknown(_) => OcspStatus::Unknown,
    };
    Ok(Checked {
        status,
        produced_at: secs(&basic.tbs_response_data.produced_at),
        this_update,
        next_update,
        signer: signer.1,
    })
}

/// The certificate that signed the answer, and its subject: the issuer
/// itself, or a certificate of the answer that the issuer signed for
/// OCSP signing (RFC 6960 4.2.2.2).
fn signer(
    basic: &BasicOcspResponse,
    issuer: &CertificateDer<'_>,
    issuer_parsed: &ParsedCert<'_>,
    algs: &WebPkiSupportedAlgorithms,
    now: u64,
) -> Result<(CertificateDer<'static>, String), OcspError> {
    let responder = &basic.tbs_response_data.responder_id;
    if responder_is(responder, issuer_parsed) {
        return Ok((
            issuer.clone().into_owned(),
            crate::names::subject_dn(issuer),
        ));
    }
    for cert in basic.certs.iter().flatten() {
        let Ok(der) = cert.to_der() else { continue };
        let Ok(parsed) = ParsedCert::parse(&der) else {
            continue;
        };
        if !responder_is(responder, &parsed) {
            continue;
        }
        let subject = crate::names::subject_dn(&CertificateDer::from(der.as_slice()));
        let unauthorized = |why: &str| {
            fail(
                ErrorKind::UnauthorizedSigner,
                format!("the answer is signed by \"{subject}\", {why}"),
            )
        };
        if parsed.issuer != issuer_parsed.subject
            || !verify_raw(
                issuer,
                parsed.signature_algorithm,
                parsed.tbs,
                parsed.signature,
                algs,
            )
        {
            return Err(unauthorized("which the certificate's issuer did not issue"));
        }
        let eku = parsed.extended_key_usage().unwrap_or_default();
        if !eku.contains(&ext_oid::KP_OCSP_SIGNING) {
            return Err(unauthorized(
                "which lacks the OCSPSigning extended key usage",
            ));
        }
        if !parsed.valid_at(i64::try_from(now).unwrap_or(i64::MAX)) {
            return Err(unauthorized("which is outside its validity period"));
        }
        return Ok((CertificateDer::from(der), subject));
    }
    Err(fail(
        ErrorKind::UnauthorizedSigner,
        "the answer is signed neither by the certificate's issuer nor by a delegated \
         OCSP signer the issuer certified",
    ))
}

fn responder_is(responder: &ResponderId, cert: &ParsedCert<'_>) -> bool {
    match responder {
        ResponderId::ByName(name) => name.to_der().is_ok_and(|der| der == cert.subject_der),
        ResponderId::ByKey(hash) => cert
            .public_key()
            .is_some_and(|(_, key)| Sha1::digest(key).as_slice() == hash.as_bytes()),
    }
}

fn same_cert_id(theirs: &CertId, ours: &CertId, issuer: &ParsedCert<'_>) -> bool {
    if theirs.serial_number != ours.serial_number {
        return false;
    }
    let oid = theirs.hash_algorithm.oid;
    if oid == SHA1 {
        return theirs.issuer_name_hash == ours.issuer_name_hash
            && theirs.issuer_key_hash == ours.issuer_key_hash;
    }
    // A responder may answer with SHA-256 CertIDs.
    if oid == SHA256 {
        let Some((_, key)) = issuer.public_key() else {
            return false;
        };
        return theirs.issuer_name_hash.as_bytes() == Sha256::digest(issuer.subject_der).as_slice()
            && theirs.issuer_key_hash.as_bytes() == Sha256::digest(key).as_slice();
    }
    false
}

/// Whether `signature` over `message` verifies with `signer`'s key under
/// `algorithm`, with the classifier's provider's algorithms.
fn verify_signed(
    signer: &CertificateDer<'_>,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: Option<&[u8]>,
    algs: &WebPkiSupportedAlgorithms,
) -> bool {
    let (Ok(id), Some(signature)) = (algorithm.to_der(), signature) else {
        return false;
    };
    match single(&id, tag::SEQUENCE) {
        Ok(id) => verify_raw(signer, id.value, message, signature, algs),
        Err(_) => false,
    }
}
