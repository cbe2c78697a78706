//! [`ClientIdentity`]: a parsed client certificate with nginx's variables.

use std::fmt;
use std::net::IpAddr;

use rustls_pki_types::{CertificateDer, UnixTime};
use sha1::Digest as _;

use super::cert::ParsedCert;
use super::format::{self, hex_lower};
use super::{IdentityError, SpiffeId};

/// The identity of a client certificate: the chain as presented, and the
/// leaf's fields formatted exactly as nginx's `$ssl_client_*` variables.
///
/// Built once per connection ([`from_chain`](Self::from_chain)); the strings
/// are computed then, except the PEM forms, which are computed on demand.
///
/// ```
/// use mtls_status::identity::ClientIdentity;
/// use rcgen::{CertificateParams, DnType, KeyPair, SanType, SerialNumber};
///
/// let mut params = CertificateParams::new(vec![]).unwrap();
/// params.distinguished_name.push(DnType::CommonName, "J\u{fc}rgen");
/// params.serial_number = Some(SerialNumber::from_slice(&[0x00, 0xAB]));
/// params.not_before = rcgen::date_time_ymd(2026, 12, 2);
/// params.not_after = rcgen::date_time_ymd(2027, 12, 2);
/// params.subject_alt_names = vec![SanType::URI("spiffe://example.org/api".try_into().unwrap())];
/// let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
///
/// let id = ClientIdentity::from_chain(vec![cert.der().clone()]).unwrap();
/// assert_eq!(id.subject_dn(), r"CN=J\C3\BCrgen");
/// assert_eq!(id.subject_dn_legacy(), r"/CN=J\xC3\xBCrgen");
/// assert_eq!(id.serial(), "AB");
/// assert_eq!(id.v_start(), "Dec  2 00:00:00 2026 GMT");
/// assert_eq!(id.fingerprint_sha1().len(), 40);
/// assert_eq!(id.spiffe_id().map(|s| s.trust_domain()), Some("example.org"));
/// assert!(id.raw_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// Never empty: the leaf first.
    chain: Vec<CertificateDer<'static>>,
    subject_dn: String,
    issuer_dn: String,
    subject_dn_legacy: String,
    issuer_dn_legacy: String,
    common_name: Option<String>,
    serial: String,
    serial_bytes: Vec<u8>,
    fingerprint_sha1: String,
    fingerprint_sha256: String,
    not_before: UnixTime,
    not_after: UnixTime,
    /// Seconds since the epoch, unclamped, for `v_remain`.
    not_after_secs: i64,
    v_start: String,
    v_end: String,
    dns_names: Vec<String>,
    uris: Vec<String>,
    emails: Vec<String>,
    ip_addresses: Vec<IpAddr>,
    user_principal_names: Vec<String>,
    directory_names: Vec<String>,
    spiffe_id: Option<SpiffeId>,
    is_ca: bool,
    /// Forwarding header values, built on first use and then shared by
    /// every request on the connection.
    headers: crate::forward::HeaderCache,
}

impl ClientIdentity {
    /// Builds the identity of `chain[0]`; the rest of the chain (the
    /// intermediates as the client presented them) is kept but not parsed.
    ///
    /// # Errors
    ///
    /// [`IdentityError::EmptyChain`] for an empty chain,
    /// [`IdentityError::MalformedCertificate`] if the leaf is not a DER X.509
    /// certificate (or has validity times OpenSSL could not read). Never
    /// panics, whatever the bytes.
    pub fn from_chain(chain: Vec<CertificateDer<'static>>) -> Result<Self, IdentityError> {
        let leaf = chain.first().ok_or(IdentityError::EmptyChain)?;
        let der: &[u8] = leaf.as_ref();
        let parsed = ParsedCert::parse(der).map_err(IdentityError::MalformedCertificate)?;

        // The X509-SVID specification: exactly one URI SAN, the SPIFFE ID.
        // With two, neither is the certificate's ID (go-spiffe refuses it).
        let spiffe_id = match parsed.sans.uris.as_slice() {
            [uri] => uri.parse::<SpiffeId>().ok(),
            _ => None,
        };
        let fingerprint_sha1 = hex_lower(&sha1::Sha1::digest(der));
        let fingerprint_sha256 = hex_lower(&sha2::Sha256::digest(der));
        let identity = Self {
            subject_dn: parsed.subject.rfc2253(),
            issuer_dn: parsed.issuer.rfc2253(),
            subject_dn_legacy: parsed.subject.oneline(),
            issuer_dn_legacy: parsed.issuer.oneline(),
            common_name: parsed.subject.common_name(),
            serial: format::format_serial(parsed.serial),
            serial_bytes: parsed.serial.to_vec(),
            fingerprint_sha1,
            fingerprint_sha256,
            not_before: parsed.not_before.unix_time(),
            not_after: parsed.not_after.unix_time(),
            not_after_secs: parsed.not_after.unix,
            v_start: parsed.not_before.printed,
            v_end: parsed.not_after.printed,
            dns_names: parsed.sans.dns_names,
            uris: parsed.sans.uris,
            emails: parsed.sans.emails,
            ip_addresses: parsed.sans.ip_addresses,
            user_principal_names: parsed.sans.user_principal_names,
            directory_names: parsed.sans.directory_names,
            spiffe_id,
            is_ca: parsed.is_ca,
            headers: crate::forward::HeaderCache::default(),
            chain,
        };
        Ok(identity)
    }

    /// The identity of a single certificate (a chain of one).
    ///
    /// # Errors
    ///
    /// As [`from_chain`](Self::from_chain).
    pub fn from_der(leaf: CertificateDer<'static>) -> Result<Self, IdentityError> {
        Self::from_chain(vec![leaf])
    }

    /// The chain as presented: the leaf first, then the intermediates.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The leaf (client) certificate.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        // `from_chain` refuses an empty chain, so index 0 exists.
        &self.chain[0]
    }

    /// `$ssl_client_s_dn`: the subject in OpenSSL's RFC 2253 form, e.g.
    /// `emailAddress=jj@example.com,CN=J\C3\BCrgen,O=Example\, Inc.,C=US`.
    /// See [`rfc2253`](super::rfc2253) for the rules.
    pub fn subject_dn(&self) -> &str {
        &self.subject_dn
    }

    /// `$ssl_client_i_dn`: the issuer in OpenSSL's RFC 2253 form.
    pub fn issuer_dn(&self) -> &str {
        &self.issuer_dn
    }

    /// `$ssl_client_s_dn_legacy`: the subject as `X509_NAME_oneline` prints
    /// it, e.g. `/C=US/O=Example, Inc./CN=J\xC3\xBCrgen`. See
    /// [`oneline`](super::oneline).
    pub fn subject_dn_legacy(&self) -> &str {
        &self.subject_dn_legacy
    }

    /// `$ssl_client_i_dn_legacy`: the issuer as `X509_NAME_oneline` prints it.
    pub fn issuer_dn_legacy(&self) -> &str {
        &self.issuer_dn_legacy
    }

    /// The last `CN` of the subject (in DER order, so the most specific one),
    /// decoded to text. `None` if there is none or its value is not a
    /// character string that decodes cleanly. A convenience: nginx has no
    /// such variable.
    pub fn common_name(&self) -> Option<&str> {
        self.common_name.as_deref()
    }

    /// `$ssl_client_serial`: uppercase hex of the serial's magnitude, e.g.
    /// `0A1B2C3D4E5F60718293A4B5C6D7E8F901`. See
    /// [`format_serial`](super::format_serial).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The serial number's DER content octets as encoded in the certificate:
    /// big-endian two's complement, including a leading `00` sign pad when the
    /// top bit of the first significant octet is set (the form CRLs and
    /// rustls-webpki compare).
    pub fn serial_bytes(&self) -> &[u8] {
        &self.serial_bytes
    }

    /// `$ssl_client_fingerprint`: SHA-1 of the leaf's DER, 40 lowercase hex
    /// digits.
    pub fn fingerprint_sha1(&self) -> &str {
        &self.fingerprint_sha1
    }

    /// SHA-256 of the leaf's DER, 64 lowercase hex digits.
    pub fn fingerprint_sha256(&self) -> &str {
        &self.fingerprint_sha256
    }

    /// notBefore (clamped to the Unix epoch for earlier dates).
    pub fn not_before(&self) -> UnixTime {
        self.not_before
    }

    /// notAfter (clamped to the Unix epoch for earlier dates).
    pub fn not_after(&self) -> UnixTime {
        self.not_after
    }

    /// `$ssl_client_v_start`: notBefore as `ASN1_TIME_print` prints it, e.g.
    /// `Dec  2 23:16:33 2026 GMT`.
    pub fn v_start(&self) -> String {
        self.v_start.clone()
    }

    /// `$ssl_client_v_end`: notAfter as `ASN1_TIME_print` prints it.
    pub fn v_end(&self) -> String {
        self.v_end.clone()
    }

    /// `$ssl_client_v_remain`: whole days from `now` until notAfter, rounded
    /// down; `0` when less than one day remains or the certificate expired.
    ///
    /// ```
    /// # use mtls_status::identity::ClientIdentity;
    /// # use rcgen::{CertificateParams, KeyPair};
    /// use rustls_pki_types::UnixTime;
    /// use std::time::Duration;
    ///
    /// # let mut params = CertificateParams::new(vec![]).unwrap();
    /// params.not_after = rcgen::date_time_ymd(2030, 1, 11);
    /// # let cert = params.self_signed(&KeyPair::generate().unwrap()).unwrap();
    /// let id = ClientIdentity::from_der(cert.der().clone()).unwrap();
    /// let end = id.not_after().as_secs();
    /// let at = |secs: u64| UnixTime::since_unix_epoch(Duration::from_secs(secs));
    /// assert_eq!(id.v_remain(at(end - 10 * 86_400 - 43_200)), 10); // 10.5 days
    /// assert_eq!(id.v_remain(at(end - 5 * 3600)), 0);
    /// assert_eq!(id.v_remain(at(end + 1)), 0);
    /// ```
    pub fn v_remain(&self, now: UnixTime) -> u64 {
        let remaining = i128::from(self.not_after_secs) - i128::from(now.as_secs());
        if remaining < 86_400 {
            0
        } else {
            u64::try_from(remaining / 86_400).unwrap_or(u64::MAX)
        }
    }

    /// `$ssl_client_raw_cert`: the leaf in PEM, base64 in 64-column lines,
    /// ending in LF.
    pub fn raw_pem(&self) -> String {
        format::pem(self.leaf())
    }

    /// `$ssl_client_escaped_cert`: [`raw_pem`](Self::raw_pem) percent-encoded
    /// (only `A-Z a-z 0-9 - . _ ~` kept; LF is `%0A`, space `%20`, `+` `%2B`,
    /// `/` `%2F`, `=` `%3D`).
    pub fn escaped_pem(&self) -> String {
        format::escape_uri_component(&self.raw_pem())
    }

    /// `$ssl_client_cert` (deprecated in nginx): [`raw_pem`](Self::raw_pem)
    /// without its final LF, with a TAB after every other LF.
    pub fn legacy_cert(&self) -> String {
        format::tab_folded(&self.raw_pem())
    }

    /// DNS names of the subjectAltName extension, in order.
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// URIs of the subjectAltName extension, in order.
    pub fn uris(&self) -> &[String] {
        &self.uris
    }

    /// Email addresses (rfc822Name) of the subjectAltName extension, in order.
    pub fn emails(&self) -> &[String] {
        &self.emails
    }

    /// IP addresses of the subjectAltName extension, in order.
    pub fn ip_addresses(&self) -> &[IpAddr] {
        &self.ip_addresses
    }

    /// User Principal Names of the subjectAltName extension (otherName
    /// 1.3.6.1.4.1.311.20.2.3, a UTF8String; the login of Active Directory
    /// and smart-card certificates, `openssl x509 -ext subjectAltName`
    /// prints `othername: UPN::alice@corp.example`), in order.
    pub fn user_principal_names(&self) -> &[String] {
        &self.user_principal_names
    }

    /// Directory names (directoryName) of the subjectAltName extension, in
    /// RFC 2253 form as [`subject_dn`](Self::subject_dn), in order.
    pub fn directory_names(&self) -> &[String] {
        &self.directory_names
    }

    /// The SPIFFE ID: the certificate's URI SAN when it has exactly one
    /// and it is a valid [`SpiffeId`] (X509-SVID specification, section
    /// 2). `None` for a certificate with two URI SANs, even if one of them
    /// is a valid SPIFFE ID: such a certificate is no X509-SVID, and which
    /// of its names is meant cannot be told.
    pub fn spiffe_id(&self) -> Option<&SpiffeId> {
        self.spiffe_id.as_ref()
    }

    /// Whether the leaf's basicConstraints extension says `cA: TRUE` (a CA
    /// certificate presented as a client certificate is worth a warning).
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }
}

impl ClientIdentity {
    pub(crate) fn header_cache(&self) -> &crate::forward::HeaderCache {
        &self.headers
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("subject_dn", &self.subject_dn)
            .field("issuer_dn", &self.issuer_dn)
            .field("serial", &self.serial)
            .field("fingerprint_sha256", &self.fingerprint_sha256)
            .field("v_start", &self.v_start)
            .field("v_end", &self.v_end)
            .field("dns_names", &self.dns_names)
            .field("uris", &self.uris)
            .field("emails", &self.emails)
            .field("ip_addresses", &self.ip_addresses)
            .field("is_ca", &self.is_ca)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}
