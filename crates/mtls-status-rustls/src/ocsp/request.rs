//! What to ask: the certificate's CertID and the OCSPRequest carrying it,
//! encoded by x509-ocsp, sent as nginx sends it.

use base64::Engine;
use der::asn1::{AnyRef, Null, OctetString};
use der::{Decode, Encode};
use mtls_status::der::Certificate as ParsedCert;
use sha1::{Digest, Sha1};
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::ext::Nonce;
use x509_ocsp::{CertId, OcspRequest, Request, TbsRequest};

/// id-sha1 (1.3.14.3.2.26), the CertID hash nginx and OpenSSL use.
pub(super) const SHA1: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256, accepted in answers.
pub(super) const SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// The longest GET URL sent; longer requests are POSTed (RFC 5019 2.1.1).
pub(super) const MAX_GET_URL: usize = 255;

/// The CertID of `cert` issued by `issuer`, hashed with SHA-1.
pub(super) fn cert_id(cert: &ParsedCert<'_>, issuer: &ParsedCert<'_>) -> Result<CertId, String> {
    let key = issuer
        .public_key()
        .ok_or("the issuer's public key cannot be read")?
        .1;
    let serial = AnyRef::new(der::Tag::Integer, cert.serial)
        .and_then(|int| int.to_der())
        .and_then(|tlv| SerialNumber::from_der(&tlv))
        .map_err(|error| format!("the serial number cannot be encoded: {error}"))?;
    let octets = |bytes: &[u8]| OctetString::new(bytes).map_err(|error| error.to_string());
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: SHA1,
            parameters: Some(Null.into()),
        },
        issuer_name_hash: octets(&Sha1::digest(issuer.subject_der))?,
        issuer_key_hash: octets(&Sha1::digest(key))?,
        serial_number: serial,
    })
}

/// The DER OCSPRequest for one CertID, with a nonce extension if given.
pub(super) fn encode(cert_id: &CertId, nonce: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let request_extensions = match nonce {
        None => None,
        Some(nonce) => {
            let value = Nonce::new(nonce.to_vec())
                .and_then(|nonce| nonce.to_der())
                .and_then(OctetString::new)
                .map_err(|error| error.to_string())?;
            Some(vec![Extension {
                extn_id: x509_ocsp_nonce_oid(),
                critical: false,
                extn_value: value,
            }])
        }
    };
    OcspRequest {
        tbs_request: TbsRequest {
            request_list: vec![Request {
                req_cert: cert_id.clone(),
                single_request_extensions: None,
            }],
            request_extensions,
            ..TbsRequest::default()
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(|error| format!("the OCSP request cannot be encoded: {error}"))
}

fn x509_ocsp_nonce_oid() -> der::asn1::ObjectIdentifier {
    <Nonce as der::oid::AssociatedOid>::OID
}

/// The GET path nginx requests: the responder's path, `/`, then the
/// base64 request with `+`, `/` and `=` percent-encoded.
pub(super) fn get_path(base_path: &str, request: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(request);
    let mut path = String::with_capacity(base_path.len() + b64.len() * 3 / 2 + 1);
    path.push_str(base_path);
    if !path.ends_with('/') {
        path.push('/');
    }
    for c in b64.chars() {
        match c {
            '+' => path.push_str("%2B"),
            '/' => path.push_str("%2F"),
            '=' => path.push_str("%3D"),
            c => path.push(c),
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_path_escapes_base64() {
        assert_eq!(get_path("/", &[0xfb, 0xff]), "/%2B%2F8%3D");
        assert_eq!(get_path("/ocsp", &[0x00]), "/ocsp/AA%3D%3D");
    }
}
