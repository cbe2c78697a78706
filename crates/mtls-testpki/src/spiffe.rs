//! SPIFFE bundles (JWK Sets) shaped exactly as SPIRE writes them
//! (`spire-server bundle show -format spiffe`, federation bundle endpoints).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::Ca;

/// A SPIFFE bundle of `authorities` (one `x509-svid` key each: `kty`, `crv`,
/// `x`, `y` of the CA's EC key, or `n`, `e` of an RSA key, and `x5c` with its
/// certificate), one `jwt-svid` key (`kid`, an EC P-256 key, no `x5c`), then
/// `spiffe_sequence` and `spiffe_refresh_hint` (seconds), indented as SPIRE's
/// CLI prints it.
///
/// ```
/// let ca = mtls_testpki::Ca::root("example.org CA").build();
/// let json = mtls_testpki::spiffe_bundle_json(&[&ca], 3, 300);
/// assert!(json.contains("\"use\": \"x509-svid\""));
/// assert!(json.contains("\"use\": \"jwt-svid\""));
/// assert!(json.contains("\"spiffe_sequence\": 3"));
/// assert!(json.contains("\"spiffe_refresh_hint\": 300"));
/// ```
pub fn spiffe_bundle_json(authorities: &[&Ca], sequence: u64, refresh_hint_secs: u64) -> String {
    let mut keys: Vec<String> = authorities.iter().map(|ca| x509_svid_key(ca)).collect();
    let jwt = Ca::root("jwt-svid signing key").build();
    let (x, y) = ec_point(jwt.key_pair().public_key_raw());
    keys.push(format!(
        "        {{\n            \"use\": \"jwt-svid\",\n            \"kty\": \"EC\",\n            \
         \"kid\": \"C6vs25welZOx6WksNYfbMfiw9l96pMnD\",\n            \"crv\": \"P-256\",\n            \
         \"x\": \"{x}\",\n            \"y\": \"{y}\"\n        }}"
    ));
    format!(
        "{{\n    \"keys\": [\n{}\n    ],\n    \"spiffe_sequence\": {sequence},\n    \
         \"spiffe_refresh_hint\": {refresh_hint_secs}\n}}\n",
        keys.join(",\n")
    )
}

/// One `x509-svid` JWK for `ca`.
fn x509_svid_key(ca: &Ca) -> String {
    let raw = ca.key_pair().public_key_raw();
    let mut key = String::from("        {\n            \"use\": \"x509-svid\",\n");
    match ca.key_algorithm() {
        crate::KeyAlgorithm::EcdsaP256 | crate::KeyAlgorithm::EcdsaP384 => {
            let crv = if raw.len() == 65 { "P-256" } else { "P-384" };
            let (x, y) = ec_point(raw);
            let _ = write!(
                key,
                "            \"kty\": \"EC\",\n            \"crv\": \"{crv}\",\n            \
                 \"x\": \"{x}\",\n            \"y\": \"{y}\",\n"
            );
        }
        crate::KeyAlgorithm::Rsa2048 => {
            let (n, e) = rsa_key(raw);
            let _ = write!(
                key,
                "            \"kty\": \"RSA\",\n            \"n\": \"{n}\",\n            \
                 \"e\": \"{e}\",\n"
            );
        }
        // SPIRE has no Ed25519 CAs; the OKP form of RFC 8037.
        crate::KeyAlgorithm::Ed25519 => {
            let _ = write!(
                key,
                "            \"kty\": \"OKP\",\n            \"crv\": \"Ed25519\",\n            \
                 \"x\": \"{}\",\n",
                URL_SAFE_NO_PAD.encode(raw)
            );
        }
    }
    let _ = write!(
        key,
        "            \"x5c\": [\n                \"{}\"\n            ]\n        }}",
        STANDARD.encode(ca.cert_der())
    );
    key
}

/// `x`, `y` (base64url) of an uncompressed EC point `04 || x || y`.
fn ec_point(raw: &[u8]) -> (String, String) {
    let coordinates = raw.get(1..).unwrap_or_default();
    let (x, y) = coordinates.split_at(coordinates.len() / 2);
    (URL_SAFE_NO_PAD.encode(x), URL_SAFE_NO_PAD.encode(y))
}

/// `n`, `e` (base64url, no leading zeros) of a DER RSAPublicKey.
fn rsa_key(der: &[u8]) -> (String, String) {
    let (_, body, _, _) = crate::der::split(der);
    let (_, n, _, rest) = crate::der::split(body);
    let (_, e, _, _) = crate::der::split(rest);
    let strip = |v: &[u8]| -> Vec<u8> { v.iter().copied().skip_while(|&b| b == 0).collect() };
    (
        URL_SAFE_NO_PAD.encode(strip(n)),
        URL_SAFE_NO_PAD.encode(strip(e)),
    )
}
