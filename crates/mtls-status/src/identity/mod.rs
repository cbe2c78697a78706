//! The identity of a client certificate, with every nginx `$ssl_client_*`
//! variable formatted byte-for-byte as nginx (with OpenSSL 3.0) prints it.
//!
//! [`ClientIdentity`] is built once per connection from the presented chain
//! and precomputes the strings, so reading them per request costs nothing:
//!
//! | nginx variable | accessor |
//! |---|---|
//! | `$ssl_client_s_dn` / `$ssl_client_i_dn` | [`ClientIdentity::subject_dn`] / [`ClientIdentity::issuer_dn`] |
//! | `$ssl_client_s_dn_legacy` / `$ssl_client_i_dn_legacy` | [`ClientIdentity::subject_dn_legacy`] / [`ClientIdentity::issuer_dn_legacy`] |
//! | `$ssl_client_serial` | [`ClientIdentity::serial`] |
//! | `$ssl_client_fingerprint` | [`ClientIdentity::fingerprint_sha1`] |
//! | `$ssl_client_v_start` / `$ssl_client_v_end` | [`ClientIdentity::v_start`] / [`ClientIdentity::v_end`] |
//! | `$ssl_client_v_remain` | [`ClientIdentity::v_remain`] |
//! | `$ssl_client_raw_cert` | [`ClientIdentity::raw_pem`] |
//! | `$ssl_client_escaped_cert` | [`ClientIdentity::escaped_pem`] |
//! | `$ssl_client_cert` | [`ClientIdentity::legacy_cert`] |
//!
//! The formatters are also available on their own ([`rfc2253`], [`oneline`],
//! [`format_serial`], [`format_time`]) for other certificates' fields.
//!
//! Parsing never panics: anything that is not a DER certificate is an
//! [`IdentityError`].
//!
//! ```
//! use mtls_status::identity::ClientIdentity;
//! use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
//!
//! let mut params = CertificateParams::new(vec!["client.example".to_string()]).unwrap();
//! params.distinguished_name = DistinguishedName::new(); // drop rcgen's default CN
//! params.distinguished_name.push(DnType::OrganizationName, "Example, Inc.");
//! params.distinguished_name.push(DnType::CommonName, "alice");
//! let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
//!
//! let id = ClientIdentity::from_der(cert.der().clone()).unwrap();
//! assert_eq!(id.subject_dn(), r"CN=alice,O=Example\, Inc.");
//! assert_eq!(id.subject_dn_legacy(), "/O=Example, Inc./CN=alice");
//! assert_eq!(id.common_name(), Some("alice"));
//! assert_eq!(id.dns_names(), ["client.example"]);
//! ```

mod cert;
mod client;
mod dn;
mod error;
pub(crate) mod format;
pub(crate) mod names;
mod objects;
mod san;
mod spiffe;
mod time;

pub use client::ClientIdentity;
#[cfg(feature = "lint")]
pub(crate) use dn::format_name;
pub use dn::{oneline, rfc2253};
pub use error::IdentityError;
pub use format::format_serial;
pub use spiffe::{SpiffeId, SpiffeIdError};
pub use time::format_time;
