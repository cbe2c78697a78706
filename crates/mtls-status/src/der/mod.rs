//! The one DER reader: X.509 certificates and CRLs read in place, validity
//! times read with OpenSSL's rules, OIDs printed as OpenSSL prints them.
//!
//! Identity ([`crate::identity`]), the classifier in `mtls-status-rustls` and
//! the lints (`mtls_status::lint`, feature `lint`) all read certificates through this module, so
//! `$ssl_client_v_start`, the classifier's validity check and `mtls lint`
//! cannot read one certificate two ways. It is written by hand because the
//! field crates either parse into owned trees (x509-cert) or refuse what
//! OpenSSL accepts (times with zone offsets or before 1970); nothing here
//! allocates except the OID printer.
//!
//! Everything reads untrusted input: every length is checked, nothing is
//! indexed unchecked, and malformed input is an error, never a panic.

mod cert;
mod crl;
mod oid;
mod reader;
pub(crate) mod time;

pub use crate::identity::names::short_name;
pub use cert::{
    Certificate, CertificateError, Extension, KeyUsage, issuer_and_subject, oid as ext_oid,
    split_spki,
};
pub use crl::{Crl, compare_crl_numbers};
pub use oid::{dotted, is_valid_oid};
pub use reader::{DerError, Reader, Tlv, single, tag};
pub use time::Time;

pub(crate) use reader::push_length;
