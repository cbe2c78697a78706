//! The SPIFFE bundle format (SPIFFE Trust Domain and Bundle specification,
//! section 4): a JWK Set whose `x509-svid` keys carry a trust domain's X.509
//! authorities, as SPIRE serves it (`spire-server bundle show -format
//! spiffe`, federation bundle endpoints).
//!
//! ```json
//! {
//!     "keys": [
//!         { "use": "x509-svid", "kty": "EC", "crv": "P-256", "x": "…", "y": "…",
//!           "x5c": ["MIIB…"] },
//!         { "use": "jwt-svid", "kty": "EC", "kid": "…", "crv": "P-256", "x": "…", "y": "…" }
//!     ],
//!     "spiffe_sequence": 1,
//!     "spiffe_refresh_hint": 300
//! }
//! ```
//!
//! Parsing needs feature `spiffe-bundle` (serde_json, base64); the types
//! build without it, and a trust store given JSON without the feature says
//! so.

use std::fmt;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

/// The largest SPIFFE bundle document read (1 MiB): a bundle of
/// [`SPIFFE_BUNDLE_MAX_KEYS`] RSA-4096 authorities fits several times.
pub const SPIFFE_BUNDLE_MAX_BYTES: usize = 1024 * 1024;

/// The most JWKs (of any use) a SPIFFE bundle may hold.
pub const SPIFFE_BUNDLE_MAX_KEYS: usize = 256;

/// A parsed SPIFFE bundle: the X.509 authorities of its `x509-svid` keys,
/// its refresh hint and sequence number. `jwt-svid` keys (and keys of any
/// other `use`) are counted, not kept: this crate verifies X509-SVIDs.
///
/// Read from a file by a [`TrustStore`](crate::TrustStore) (files and
/// bytes are told apart from PEM by content, so a
/// [`ReloadableTrustStore`](crate::ReloadableTrustStore) over a SPIFFE bundle
/// file reloads like one over PEM); the bundles a store was loaded from are
/// [`TrustStore::spiffe_bundles`](crate::TrustStore::spiffe_bundles).
#[cfg_attr(
    feature = "spiffe-bundle",
    doc = r##"
```
use mtls_status_rustls::SpiffeBundle;

let json = br#"{"keys": [{"use": "jwt-svid", "kty": "EC", "kid": "k1"}],
                 "spiffe_sequence": 7, "spiffe_refresh_hint": 300}"#;
let bundle = SpiffeBundle::parse(json)?;
assert_eq!(bundle.sequence_number(), Some(7));
assert_eq!(bundle.refresh_hint(), Some(std::time::Duration::from_secs(300)));
assert!(bundle.x509_authorities().is_empty());
assert_eq!(bundle.jwt_key_count(), 1);

let error = SpiffeBundle::parse(br#"{"keys": [{"use": "x509-svid", "kty": "EC"}]}"#)
    .unwrap_err();
assert_eq!(error.to_string(), "x509-svid key #1 has no x5c: it must carry its CA certificate");
# Ok::<(), mtls_status_rustls::SpiffeBundleError>(())
```
"##
)]
#[derive(Clone, PartialEq, Eq)]
pub struct SpiffeBundle {
    x509_authorities: Vec<CertificateDer<'static>>,
    refresh_hint: Option<Duration>,
    sequence_number: Option<u64>,
    jwt_keys: usize,
    ignored_keys: usize,
}

impl SpiffeBundle {
    /// The CA certificates of the `x509-svid` keys, in document order.
    pub fn x509_authorities(&self) -> &[CertificateDer<'static>] {
        &self.x509_authorities
    }

    /// `spiffe_refresh_hint`: how often the bundle's publisher suggests
    /// fetching it again.
    pub fn refresh_hint(&self) -> Option<Duration> {
        self.refresh_hint
    }

    /// `spiffe_sequence`: increases whenever the publisher changes the
    /// bundle.
    pub fn sequence_number(&self) -> Option<u64> {
        self.sequence_number
    }

    /// How many `jwt-svid` keys the document held (not kept).
    pub fn jwt_key_count(&self) -> usize {
        self.jwt_keys
    }

    /// How many keys had no `use` or one this crate does not know (ignored,
    /// as go-spiffe ignores them).
    pub fn ignored_key_count(&self) -> usize {
        self.ignored_keys
    }

    /// A trust store advertising and trusting the bundle's X.509
    /// authorities.
    ///
    /// # Errors
    ///
    /// [`TrustStoreError::NoCertificates`](crate::TrustStoreError::NoCertificates)
    /// when the bundle has no `x509-svid` key; otherwise as
    /// [`TrustStoreBuilder::build`](crate::TrustStoreBuilder::build).
    pub fn trust_store(&self) -> Result<crate::TrustStore, crate::TrustStoreError> {
        crate::TrustStore::builder()
            .ca_spiffe_bundle(self.clone())
            .build()
    }
}

impl fmt::Debug for SpiffeBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpiffeBundle")
            .field("x509_authorities", &self.x509_authorities.len())
            .field("refresh_hint", &self.refresh_hint)
            .field("sequence_number", &self.sequence_number)
            .field("jwt_keys", &self.jwt_keys)
            .field("ignored_keys", &self.ignored_keys)
            .finish()
    }
}

/// Why a SPIFFE bundle document was refused. Keys are numbered from 1 in
/// document order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpiffeBundleError {
    /// Built without feature `spiffe-bundle`.
    #[error(
        "this is SPIFFE bundle JSON, which needs feature spiffe-bundle of mtls-status-rustls; \
         enable it, or give the trust domain's CA certificates as PEM"
    )]
    Unsupported,
    /// Larger than [`SPIFFE_BUNDLE_MAX_BYTES`].
    #[error("the document is {size} bytes, more than the {max} a SPIFFE bundle may have here")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not JSON, or JSON of the wrong shape (a wrong type, a missing brace,
    /// a duplicate member, more than [`SPIFFE_BUNDLE_MAX_KEYS`] keys).
    #[error("not a SPIFFE bundle (a JWK Set): {0}")]
    Json(String),
    /// No `keys` member, which the specification requires.
    #[error("no \"keys\" member: a SPIFFE bundle is a JWK Set with a \"keys\" array")]
    NoKeys,
    /// An `x509-svid` key without `x5c`.
    #[error("x509-svid key #{index} has no x5c: it must carry its CA certificate")]
    MissingX5c {
        /// 1-based key number.
        index: usize,
    },
    /// An `x509-svid` key whose `x5c` holds other than one certificate.
    #[error(
        "x509-svid key #{index} has {count} certificates in x5c; the SPIFFE bundle format allows exactly one"
    )]
    X5cCount {
        /// 1-based key number.
        index: usize,
        /// How many it holds.
        count: usize,
    },
    /// An `x5c` entry that is not standard base64.
    #[error("x509-svid key #{index}: x5c is not base64 (RFC 7517 4.7, not base64url): {error}")]
    Base64 {
        /// 1-based key number.
        index: usize,
        /// What the decoder found.
        error: String,
    },
    /// An `x5c` certificate that cannot be used as an X.509 authority.
    #[error("x509-svid key #{index}: {reason}")]
    BadAuthority {
        /// 1-based key number.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A bundle used as a trust store without any `x509-svid` key.
    #[error(
        "it has no x509-svid key, so no CA for X509-SVIDs (jwt-svid keys verify JWT-SVIDs only)"
    )]
    NoX509Authorities,
    /// A negative `spiffe_refresh_hint`.
    #[error("spiffe_refresh_hint is {0}; it must be a number of seconds, 0 or more")]
    NegativeRefreshHint(i64),
}

/// Whether `bytes` look like JSON (first non-blank byte `{`) rather than
/// PEM or DER.
pub(crate) fn looks_like_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

#[cfg(feature = "spiffe-bundle")]
mod parse {
    use std::fmt;
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use mtls_status::der::{Certificate, Reader, tag};
    use rustls_pki_types::CertificateDer;
    use serde::Deserialize;
    use serde::de::{self, SeqAccess, Visitor};

    use super::{SPIFFE_BUNDLE_MAX_BYTES, SPIFFE_BUNDLE_MAX_KEYS, SpiffeBundle, SpiffeBundleError};

    #[derive(Deserialize)]
    struct Document {
        keys: Option<Keys>,
        spiffe_sequence: Option<u64>,
        spiffe_refresh_hint: Option<i64>,
    }

    /// The `keys` array, refused beyond [`SPIFFE_BUNDLE_MAX_KEYS`] while
    /// it is read.
    struct Keys(Vec<Jwk>);

    #[derive(Deserialize)]
    struct Jwk {
        #[serde(rename = "use")]
        use_: Option<String>,
        kty: Option<String>,
        x5c: Option<Vec<String>>,
        x: Option<String>,
        y: Option<String>,
        n: Option<String>,
        e: Option<String>,
    }

    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Bounded;
            impl<'de> Visitor<'de> for Bounded {
                type Value = Keys;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    write!(f, "an array of at most {SPIFFE_BUNDLE_MAX_KEYS} JWKs")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = seq.next_element()? {
                        if keys.len() == SPIFFE_BUNDLE_MAX_KEYS {
                            return Err(de::Error::custom(format!(
                                "more than {SPIFFE_BUNDLE_MAX_KEYS} keys"
                            )));
                        }
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_seq(Bounded)
        }
    }

    impl SpiffeBundle {
        /// Parses a SPIFFE bundle document (feature `spiffe-bundle`).
        ///
        /// Follows the specification as go-spiffe's `spiffebundle.Parse`
        /// does: `keys` must be present; an `x509-svid` key carries exactly
        /// one certificate in `x5c` (standard base64 DER); `jwt-svid` keys
        /// and keys of unknown use are ignored. Stricter: the certificate
        /// must be a CA (basicConstraints cA TRUE), the key's `x`/`y` or
        /// `n`/`e`, when given, must be the certificate's public key, and
        /// the document is bounded ([`SPIFFE_BUNDLE_MAX_BYTES`],
        /// [`SPIFFE_BUNDLE_MAX_KEYS`]).
        ///
        /// # Errors
        ///
        /// [`SpiffeBundleError`], naming the key at fault.
        pub fn parse(json: &[u8]) -> Result<Self, SpiffeBundleError> {
            if json.len() > SPIFFE_BUNDLE_MAX_BYTES {
                return Err(SpiffeBundleError::TooLarge {
                    size: json.len(),
                    max: SPIFFE_BUNDLE_MAX_BYTES,
                });
            }
            if !super::looks_like_json(json) {
                return Err(SpiffeBundleError::Json(
                    "expected a JSON object ({\"keys\": [...]})".to_owned(),
                ));
            }
            let document: Document = serde_json::from_slice(json)
                .map_err(|error| SpiffeBundleError::Json(error.to_string()))?;
            let refresh_hint = match document.spiffe_refresh_hint {
                Some(seconds) => Some(Duration::from_secs(
                    u64::try_from(seconds)
                        .map_err(|_| SpiffeBundleError::NegativeRefreshHint(seconds))?,
                )),
                None => None,
            };
            let keys = document.keys.ok_or(SpiffeBundleError::NoKeys)?.0;
            let mut bundle = SpiffeBundle {
                x509_authorities: Vec::new(),
                refresh_hint,
                sequence_number: document.spiffe_sequence,
                jwt_keys: 0,
                ignored_keys: 0,
            };
            for (i, key) in keys.into_iter().enumerate() {
                match key.use_.as_deref() {
                    Some("x509-svid") => {
                        let der = authority(i + 1, &key)?;
                        if !bundle.x509_authorities.contains(&der) {
                            bundle.x509_authorities.push(der);
                        }
                    }
                    Some("jwt-svid") => bundle.jwt_keys += 1,
                    _ => bundle.ignored_keys += 1,
                }
            }
            Ok(bundle)
        }
    }

    /// The CA certificate of x509-svid key number `index`.
    fn authority(index: usize, key: &Jwk) -> Result<CertificateDer<'static>, SpiffeBundleError> {
        let x5c = key
            .x5c
            .as_deref()
            .ok_or(SpiffeBundleError::MissingX5c { index })?;
        let [encoded] = x5c else {
            return Err(SpiffeBundleError::X5cCount {
                index,
                count: x5c.len(),
            });
        };
        let der = STANDARD
            .decode(encoded)
            .map_err(|error| SpiffeBundleError::Base64 {
                index,
                error: error.to_string(),
            })?;
        let bad = |reason: String| SpiffeBundleError::BadAuthority { index, reason };
        let parsed = Certificate::parse(&der)
            .map_err(|error| bad(format!("x5c is not an X.509 certificate: {error}")))?;
        if parsed.basic_constraints().map(|(ca, _)| ca) != Some(true) {
            return Err(bad(format!(
                "its certificate {} is not a CA (no basicConstraints cA TRUE); a SPIFFE bundle \
                 holds the trust domain's signing authorities, not SVIDs",
                crate::names::subject_dn(&CertificateDer::from(der.as_slice()))
            )));
        }
        if let Some(problem) = key_mismatch(key, &parsed) {
            return Err(bad(problem));
        }
        Ok(CertificateDer::from(der))
    }

    /// Why the JWK's own key parameters are not the certificate's key, if
    /// they are given and differ.
    fn key_mismatch(key: &Jwk, cert: &Certificate<'_>) -> Option<String> {
        let (_, bits) = cert.public_key()?;
        let decode = |name: &str, value: &str| {
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|error| format!("its {name} is not base64url: {error}"))
        };
        let differs = |kty: &str| {
            format!(
                "its {kty} key parameters are not the public key of its x5c certificate; \
                 the key and the certificate must match"
            )
        };
        match (key.kty.as_deref(), &key.x, &key.y, &key.n, &key.e) {
            (Some("EC"), Some(x), Some(y), _, _) => {
                let (x, y) = match (decode("x", x), decode("y", y)) {
                    (Ok(x), Ok(y)) => (x, y),
                    (Err(e), _) | (_, Err(e)) => return Some(e),
                };
                let point = [&[0x04][..], &x, &y].concat();
                (point != bits).then(|| differs("EC"))
            }
            (Some("RSA"), _, _, Some(n), Some(e)) => {
                let (n, e) = match (decode("n", n), decode("e", e)) {
                    (Ok(n), Ok(e)) => (n, e),
                    (Err(err), _) | (_, Err(err)) => return Some(err),
                };
                let mut rsa = Reader::new(bits);
                let mut fields = Reader::new(rsa.expect(tag::SEQUENCE).ok()?.value);
                let modulus = fields.expect(tag::INTEGER).ok()?.value;
                let exponent = fields.expect(tag::INTEGER).ok()?.value;
                let strip =
                    |v: &[u8]| -> Vec<u8> { v.iter().copied().skip_while(|&b| b == 0).collect() };
                (strip(modulus) != strip(&n) || strip(exponent) != strip(&e))
                    .then(|| differs("RSA"))
            }
            _ => None,
        }
    }
}

#[cfg(all(test, feature = "spiffe-bundle"))]
mod tests {
    use super::*;

    #[test]
    fn hostile_documents_are_errors() {
        let cases: [(&[u8], &str); 12] = [
            (b"", "not a SPIFFE bundle"),
            (b"{", "EOF while parsing"),
            (b"{\"keys\": [", "EOF while parsing"),
            (b"[]", "expected a JSON object"),
            (b"{}", "no \"keys\" member"),
            (b"{\"keys\": {}}", "expected an array of at most 256 JWKs"),
            (b"{\"keys\": [], \"spiffe_sequence\": -1}", "invalid value"),
            (
                b"{\"keys\": [], \"spiffe_sequence\": \"1\"}",
                "invalid type: string",
            ),
            (
                b"{\"keys\": [], \"spiffe_refresh_hint\": -5}",
                "spiffe_refresh_hint is -5",
            ),
            (b"{\"keys\": [], \"keys\": []}", "duplicate field `keys`"),
            (
                b"{\"keys\": [{\"use\": \"x509-svid\", \"x5c\": \"MIIB\"}]}",
                "invalid type: string",
            ),
            (
                b"{\"keys\": [{\"use\": \"x509-svid\", \"x5c\": [\"!!not base64\"]}]}",
                "x5c is not base64",
            ),
        ];
        for (json, expected) in cases {
            let error = SpiffeBundle::parse(json).expect_err("refused");
            assert!(
                error.to_string().contains(expected),
                "{}: {error}",
                String::from_utf8_lossy(json)
            );
        }
        // Deep nesting is neither a stack overflow nor accepted as keys;
        // in an unknown member it is skipped.
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let deep = format!("{{\"keys\": {}}}", nested(100_000));
        assert!(SpiffeBundle::parse(deep.as_bytes()).is_err());
        let skipped = format!("{{\"keys\": [], \"x\": {}}}", nested(100_000));
        assert!(SpiffeBundle::parse(skipped.as_bytes()).is_ok());
    }

    #[test]
    fn size_and_key_count_are_capped() {
        let huge = vec![b' '; SPIFFE_BUNDLE_MAX_BYTES + 1];
        assert_eq!(
            SpiffeBundle::parse(&huge),
            Err(SpiffeBundleError::TooLarge {
                size: SPIFFE_BUNDLE_MAX_BYTES + 1,
                max: SPIFFE_BUNDLE_MAX_BYTES
            })
        );
        let keys = |n: usize| format!("{{\"keys\": [{}]}}", vec!["{}"; n].join(","));
        let full = SpiffeBundle::parse(keys(SPIFFE_BUNDLE_MAX_KEYS).as_bytes()).expect("at cap");
        assert_eq!(full.ignored_key_count(), SPIFFE_BUNDLE_MAX_KEYS);
        let error =
            SpiffeBundle::parse(keys(SPIFFE_BUNDLE_MAX_KEYS + 1).as_bytes()).expect_err("over cap");
        assert!(error.to_string().contains("more than 256 keys"), "{error}");
    }

    #[test]
    fn json_is_told_apart_from_pem_and_der() {
        assert!(looks_like_json(b"\n  {\"keys\": []}"));
        assert!(!looks_like_json(b"-----BEGIN CERTIFICATE-----"));
        assert!(!looks_like_json(&[0x30, 0x82]));
        assert!(!looks_like_json(b"   "));
    }
}
