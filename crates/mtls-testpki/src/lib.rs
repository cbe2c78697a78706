//! Scenario PKIs for the mtls-status tests (unpublished, test-only).
//!
//! Builds certificate authorities, client and server certificates and CRLs with
//! [rcgen], with defaults that verify under rustls-webpki and OpenSSL, and knobs for
//! every failure mode that client-certificate tests need (expired, not yet valid,
//! wrong purpose, unknown issuer, self-signed, revoked, deep chains, odd serials and
//! names).
//!
//! * [`Ca::root`] / [`Ca::intermediate`] → [`CaBuilder`] → [`Ca`]
//! * [`Ca::leaf`] / [`Leaf::self_signed`] → [`LeafBuilder`] → [`Leaf`]
//! * [`Ca::crl`] → [`CrlBuilder`] → [`Crl`]
//! * [`Pki::generate`]: the standard scenario in one call, [`Pki::write_to_dir`] for
//!   file-based tests (CLI, nginx).
//! * With feature `tls`: `tls::TlsClient`, the loopback rustls client of the
//!   integration tests, and `capture::Capture`, the tracing subscriber of the
//!   logging tests.
//! * [`ocsp::OpensslOcsp`]: a real `openssl ocsp` responder on 127.0.0.1.
//! * [`spiffe_bundle_json`]: a SPIFFE bundle (JWK Set) of CAs, shaped as SPIRE writes it.
//! * [`Name`]: subjects rcgen cannot express (multi-valued RDNs, repeated attributes,
//!   any string type).
//!
//! ```
//! use mtls_testpki::{Ca, KeyAlgorithm, Pki, unix_now};
//!
//! // The ready-made scenario...
//! let pki = Pki::generate();
//! assert_eq!(pki.root.common_name(), "mtls-status Test Root CA");
//! assert_eq!(pki.valid_via_intermediate.chain().len(), 2); // leaf + intermediate
//!
//! // ...or a custom one.
//! let root = Ca::root("Custom Root").key(KeyAlgorithm::EcdsaP384).build();
//! let client = root
//!     .leaf("web")
//!     .uri("spiffe://example.org/ns/prod/sa/web")
//!     .serial([0x01, 0x02])
//!     .build();
//! assert_eq!(client.serial(), &[0x01, 0x02]);
//! let crl = root.crl().revoke(&client).build();
//! assert!(!crl.der().is_empty());
//! assert!(client.not_after() > mtls_testpki::now());
//! # let _ = unix_now();
//! ```
//!
//! # Conventions
//!
//! * DER accessors return owned `'static` values (`CertificateDer<'static>`,
//!   `PrivateKeyDer<'static>`, `CertificateRevocationListDer<'static>`); PEM accessors
//!   return `String`s with LF line endings. Keys are PKCS#8.
//! * Times are [`time::OffsetDateTime`] in UTC; [`unix_time`] converts to the
//!   `UnixTime` that webpki and rustls take.
//! * Every build panics with an `mtls-testpki:` message if rcgen refuses the parameters
//!   (e.g. a CRL whose `nextUpdate` is not after `thisUpdate`). That is deliberate:
//!   this crate is for tests only.
//! * rcgen's default backend, ring, cannot generate RSA keys: every
//!   [`KeyAlgorithm::Rsa2048`] certificate uses the same embedded test key,
//!   [`RSA_2048_TEST_KEY_PEM`].
//! * Default serials are fresh, random-looking, positive 16-byte values, unique within
//!   the process, so revoking one certificate never revokes another.
//! * `rcgen`, `time` and `rustls_pki_types` are re-exported so callers can name the
//!   types used in this API without extra dependencies.

mod ca;
#[cfg(feature = "tls")]
pub mod capture;
mod clock;
mod crl;
mod der;
mod key;
mod leaf;
pub mod name;
pub mod ocsp;
pub mod openssl;
mod pki;
mod spiffe;
#[cfg(feature = "tls")]
pub mod tls;
mod util;

pub use ca::{Ca, CaBuilder, Revocable};
pub use clock::{days_ago, days_from_now, from_unix_time, now, unix_now, unix_time};
pub use crl::{Crl, CrlBuilder};
pub use key::{KeyAlgorithm, RSA_2048_TEST_KEY_PEM};
pub use leaf::{GENERALIZED_TIME, Leaf, LeafBuilder, UTC_TIME, self_signed_client};
pub use name::{AttributeValue, Name};
pub use pki::{PemPair, Pki, PkiFiles, bundle_pem};
pub use spiffe::{SpiffePki, SpiffePkiFiles, spiffe_bundle_json};

pub use rcgen;
pub use rustls_pki_types;
pub use time;

#[cfg(test)]
mod tests;
