//! End-entity (leaf) certificates.

use std::fmt;
use std::net::IpAddr;

use rcgen::{
    CertificateParams, DistinguishedName, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

use crate::ca::{Revocable, SerialChoice, Subject, issue};
use crate::{Ca, KeyAlgorithm, Name, clock, der, util};

/// The DER tag of a UTCTime, for [`LeafBuilder::raw_validity`].
pub const UTC_TIME: u8 = 0x17;
/// The DER tag of a GeneralizedTime, for [`LeafBuilder::raw_validity`].
pub const GENERALIZED_TIME: u8 = 0x18;

/// Boxed parameter tweak run just before signing.
type Customizer<'a> = Box<dyn FnOnce(&mut CertificateParams) + 'a>;

/// An issued end-entity certificate with its private key and issuer chain.
///
/// ```
/// use mtls_testpki::{Ca, KeyAlgorithm, days_ago};
///
/// let root = Ca::root("Example Root").build();
/// let web = root
///     .leaf("web")
///     .uri("spiffe://example.org/ns/prod/sa/web")
///     .email("web@example.org")
///     .serial([0x00, 0x80, 0x01]) // leading 00 dropped, re-added as the sign pad
///     .key(KeyAlgorithm::Ed25519)
///     .build();
/// assert_eq!(web.serial(), &[0x00, 0x80, 0x01]);
/// assert_eq!(web.serial_hex(), "8001");
/// assert_eq!(web.chain(), vec![web.cert_der()]);
/// assert_eq!(web.chain_with_root(), vec![web.cert_der(), root.cert_der()]);
/// assert!(web.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
///
/// let old = root.leaf("old").expired().build();
/// assert!(old.not_after() < days_ago(0));
/// ```
#[derive(Clone)]
pub struct Leaf {
    common_name: String,
    cert: CertificateDer<'static>,
    key_pkcs8: Vec<u8>,
    key_algorithm: KeyAlgorithm,
    /// Issuing CA certificates up to, not including, the root; nearest first.
    intermediates: Vec<CertificateDer<'static>>,
    /// The root at the top of the issuer chain; `None` when self-signed.
    root: Option<CertificateDer<'static>>,
    serial: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl Leaf {
    /// Starts a self-signed end-entity certificate (not a CA), clientAuth by default.
    pub fn self_signed(common_name: impl Into<String>) -> LeafBuilder<'static> {
        LeafBuilder::new(None, common_name.into())
    }

    /// The common name given to the builder (the subject may differ if it was set with
    /// `subject` / `subject_name`).
    pub fn common_name(&self) -> &str {
        &self.common_name
    }

    /// The certificate (DER).
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    /// The certificate (PEM, `CERTIFICATE`).
    pub fn cert_pem(&self) -> String {
        util::pem("CERTIFICATE", &self.cert)
    }

    /// The private key (PKCS#8 v1 DER; readable by rustls, rcgen and OpenSSL).
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }

    /// The private key (PKCS#8 v1 PEM, `PRIVATE KEY`).
    pub fn key_pem(&self) -> String {
        util::pem("PRIVATE KEY", &self.key_pkcs8)
    }

    /// The key type.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// What a client sends: this certificate, then the intermediates up to but
    /// excluding the root (nearest first). Just `[leaf]` when issued by a root or
    /// self-signed.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        let mut chain = vec![self.cert.clone()];
        chain.extend(self.intermediates.iter().cloned());
        chain
    }

    /// [`chain`](Leaf::chain) followed by the root (unchanged when self-signed).
    pub fn chain_with_root(&self) -> Vec<CertificateDer<'static>> {
        let mut chain = self.chain();
        chain.extend(self.root.iter().cloned());
        chain
    }

    /// [`chain`](Leaf::chain) as concatenated PEM, leaf first (a typical
    /// `--cert` / `ssl_certificate` file).
    pub fn chain_pem(&self) -> String {
        self.chain()
            .iter()
            .map(|cert| util::pem("CERTIFICATE", cert))
            .collect()
    }

    /// The intermediates between this certificate and the root, nearest first.
    pub fn intermediates(&self) -> Vec<CertificateDer<'static>> {
        self.intermediates.clone()
    }

    /// The root CA certificate above this one, `None` if self-signed.
    pub fn root_der(&self) -> Option<CertificateDer<'static>> {
        self.root.clone()
    }

    /// Whether the certificate is self-signed.
    pub fn is_self_signed(&self) -> bool {
        self.root.is_none()
    }

    /// The serial number: the content octets of the DER `INTEGER` (with the `00` pad
    /// byte when the first magnitude byte has its high bit set), as found in the
    /// certificate.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The serial as nginx `$ssl_client_serial` prints it (uppercase hex, no pad byte,
    /// `-` if negative).
    pub fn serial_hex(&self) -> String {
        util::serial_hex(&self.serial)
    }

    /// The subject `Name` exactly as encoded (outer `SEQUENCE` included).
    pub fn subject_der(&self) -> Vec<u8> {
        der::cert_subject(&self.cert)
    }

    /// The issuer `Name` exactly as encoded (outer `SEQUENCE` included).
    pub fn issuer_der(&self) -> Vec<u8> {
        der::cert_issuer(&self.cert)
    }

    /// Start of validity (whole seconds, as encoded).
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// End of validity (whole seconds, as encoded).
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leaf")
            .field("common_name", &self.common_name)
            .field("serial", &self.serial_hex())
            .field("key_algorithm", &self.key_algorithm)
            .field("chain_len", &(1 + self.intermediates.len()))
            .field("self_signed", &self.is_self_signed())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

impl Revocable for Leaf {
    fn revocation_serial(&self) -> &[u8] {
        &self.serial
    }
}

/// A self-signed end-entity certificate (not a CA) with the clientAuth EKU:
/// shorthand for `Leaf::self_signed(common_name).build()`.
///
/// ```
/// let leaf = mtls_testpki::self_signed_client("loner");
/// assert!(leaf.is_self_signed());
/// assert_eq!(leaf.issuer_der(), leaf.subject_der());
/// ```
pub fn self_signed_client(common_name: impl Into<String>) -> Leaf {
    Leaf::self_signed(common_name).build()
}

/// Builder for a [`Leaf`], from [`Ca::leaf`] or [`Leaf::self_signed`]. Finish with
/// [`build`](LeafBuilder::build).
///
/// Defaults: subject `CN=<common name>`, EKU clientAuth, key usage digitalSignature,
/// `BasicConstraints` cA = false, subject/authority key identifiers, no SAN, valid from
/// 1 day ago to 365 days ahead, ECDSA P-256 key, fresh random 16-byte serial.
#[must_use = "call .build() to make the certificate"]
pub struct LeafBuilder<'a> {
    issuer: Option<&'a Ca>,
    common_name: String,
    subject: Subject,
    sans: Vec<SanType>,
    extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
    key_usages: Vec<KeyUsagePurpose>,
    is_ca: IsCa,
    key: KeyAlgorithm,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: SerialChoice,
    raw_validity: Option<Vec<u8>>,
    customizers: Vec<Customizer<'a>>,
}

impl fmt::Debug for LeafBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafBuilder")
            .field("issuer", &self.issuer.map(Ca::common_name))
            .field("common_name", &self.common_name)
            .field("subject", &self.subject)
            .field("sans", &self.sans)
            .field("extended_key_usages", &self.extended_key_usages)
            .field("key_usages", &self.key_usages)
            .field("is_ca", &self.is_ca)
            .field("key", &self.key)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("serial", &self.serial)
            .field("customizers", &self.customizers.len())
            .finish()
    }
}

impl<'a> LeafBuilder<'a> {
    pub(crate) fn new(issuer: Option<&'a Ca>, common_name: String) -> Self {
        Self {
            issuer,
            common_name,
            subject: Subject::CommonName,
            sans: Vec::new(),
            extended_key_usages: vec![ExtendedKeyUsagePurpose::ClientAuth],
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            is_ca: IsCa::ExplicitNoCa,
            key: KeyAlgorithm::default(),
            not_before: clock::days_ago(1),
            not_after: clock::days_from_now(365),
            serial: SerialChoice::Fresh,
            raw_validity: None,
            customizers: Vec::new(),
        }
    }

    /// EKU clientAuth only (the default).
    pub fn client_auth(self) -> Self {
        self.extended_key_usages(vec![ExtendedKeyUsagePurpose::ClientAuth])
    }

    /// EKU serverAuth only: a client certificate with the wrong purpose.
    pub fn server_auth_only(self) -> Self {
        self.extended_key_usages(vec![ExtendedKeyUsagePurpose::ServerAuth])
    }

    /// EKU serverAuth and clientAuth.
    pub fn client_and_server_auth(self) -> Self {
        self.extended_key_usages(vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ])
    }

    /// No extended key usage extension at all.
    pub fn no_eku(self) -> Self {
        self.extended_key_usages(Vec::new())
    }

    /// EKU anyExtendedKeyUsage (2.5.29.37.0) only.
    pub fn eku_any(self) -> Self {
        self.extended_key_usages(vec![ExtendedKeyUsagePurpose::Any])
    }

    /// Sets the extended key usages exactly (empty: no extension).
    pub fn extended_key_usages(mut self, usages: Vec<ExtendedKeyUsagePurpose>) -> Self {
        self.extended_key_usages = usages;
        self
    }

    /// Sets the key usages exactly (default digitalSignature; empty: no extension).
    pub fn key_usages(mut self, usages: Vec<KeyUsagePurpose>) -> Self {
        self.key_usages = usages;
        self
    }

    /// Makes it a TLS server certificate: EKU serverAuth only, plus one SAN per name
    /// (names that parse as IP addresses become IP SANs, the rest DNS SANs).
    ///
    /// ```
    /// let root = mtls_testpki::Ca::root("Root").build();
    /// let server = root.leaf("localhost").server(["localhost", "127.0.0.1", "::1"]).build();
    /// assert_eq!(server.chain().len(), 1);
    /// ```
    pub fn server<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for name in names {
            let name = name.as_ref();
            self = match name.parse::<IpAddr>() {
                Ok(ip) => self.ip(ip),
                Err(_) => self.dns(name),
            };
        }
        self.server_auth_only()
    }

    /// Adds a DNS SAN.
    ///
    /// # Panics
    ///
    /// If `name` is not ASCII (IA5String).
    pub fn dns(mut self, name: impl AsRef<str>) -> Self {
        let name = ia5(name.as_ref());
        self.sans.push(SanType::DnsName(name));
        self
    }

    /// Adds a URI SAN, e.g. a SPIFFE ID `spiffe://example.org/ns/prod/sa/web`.
    ///
    /// # Panics
    ///
    /// If `uri` is not ASCII (IA5String).
    pub fn uri(mut self, uri: impl AsRef<str>) -> Self {
        let uri = ia5(uri.as_ref());
        self.sans.push(SanType::URI(uri));
        self
    }

    /// Adds an email (rfc822Name) SAN.
    ///
    /// # Panics
    ///
    /// If `email` is not ASCII (IA5String).
    pub fn email(mut self, email: impl AsRef<str>) -> Self {
        let email = ia5(email.as_ref());
        self.sans.push(SanType::Rfc822Name(email));
        self
    }

    /// Adds an IP address SAN.
    pub fn ip(mut self, ip: impl Into<IpAddr>) -> Self {
        self.sans.push(SanType::IpAddress(ip.into()));
        self
    }

    /// Adds an otherName SAN with a `UTF8String` value (e.g. a Microsoft UPN,
    /// OID 1.3.6.1.4.1.311.20.2.3).
    pub fn other_name(mut self, oid: &[u64], value: impl Into<String>) -> Self {
        let value = rcgen::OtherNameValue::Utf8String(value.into());
        self.sans.push(SanType::OtherName((oid.to_vec(), value)));
        self
    }

    /// The key type (default ECDSA P-256). `Rsa2048` reuses the embedded test key.
    pub fn key(mut self, algorithm: KeyAlgorithm) -> Self {
        self.key = algorithm;
        self
    }

    /// Validity period (default 1 day ago to 365 days ahead). Sub-second parts are
    /// dropped.
    pub fn valid_between(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// An expired certificate: valid from a year ago (365 days) until yesterday.
    pub fn expired(self) -> Self {
        self.valid_between(clock::days_ago(365), clock::days_ago(1))
    }

    /// A certificate that is not valid yet: from next year (365 days ahead) for a year.
    pub fn not_yet_valid(self) -> Self {
        self.valid_between(clock::days_from_now(365), clock::days_from_now(730))
    }

    /// Exact serial magnitude bytes (big-endian). Leading `00` bytes are dropped and a
    /// `00` pad is added when the first byte has its high bit set, as DER requires for
    /// a positive `INTEGER`; so `[0x80, 1]` and `[0x00, 0x80, 1]` both encode as
    /// `00 80 01`, and [`Leaf::serial`] returns that.
    pub fn serial(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.serial = SerialChoice::Magnitude(bytes.into());
        self
    }

    /// Writes these bytes verbatim as the serial `INTEGER` content, which may be
    /// negative (`[0x80]`), non-minimal (`[0x00, 0x01]`), zero or empty: for
    /// malformed-input tests. The certificate is re-signed by the issuer.
    pub fn raw_serial(mut self, content: impl Into<Vec<u8>>) -> Self {
        self.serial = SerialChoice::Raw(content.into());
        self
    }

    /// Writes notBefore and notAfter verbatim, each as `(tag, text)`: tag
    /// [`UTC_TIME`] or [`GENERALIZED_TIME`], text such as `"300101000000+0100"`
    /// (rcgen writes only RFC 5280's `Z` form): for time-encoding tests. The
    /// certificate is re-signed by the issuer; [`Leaf::not_before`] and
    /// [`Leaf::not_after`] keep the builder's times.
    pub fn raw_validity(mut self, not_before: (u8, &str), not_after: (u8, &str)) -> Self {
        let times = [not_before, not_after]
            .iter()
            .flat_map(|(tag, text)| der::tlv(*tag, text.as_bytes()))
            .collect::<Vec<u8>>();
        self.raw_validity = Some(der::tlv(der::TAG_SEQUENCE, &times));
        self
    }

    /// Sets the subject with an rcgen distinguished name (instead of
    /// `CN=<common name>`). An empty one gives an empty subject (the SAN extension, if
    /// any, is then marked critical).
    pub fn subject(mut self, dn: DistinguishedName) -> Self {
        self.subject = Subject::Rcgen(dn);
        self
    }

    /// Sets the subject with a [`Name`]: multi-valued RDNs, repeated attribute types,
    /// arbitrary OIDs and string types, written exactly.
    pub fn subject_name(mut self, name: Name) -> Self {
        self.subject = Subject::Raw(name);
        self
    }

    /// Sets `BasicConstraints` (default `ExplicitNoCa`: present with cA = false;
    /// `IsCa::NoCa` omits the extension).
    pub fn is_ca(mut self, is_ca: IsCa) -> Self {
        self.is_ca = is_ca;
        self
    }

    /// Adds an authorityInfoAccess extension naming `url` as the OCSP
    /// responder (e.g. `http://127.0.0.1:8888`), for OCSP tests.
    pub fn ocsp_url(self, url: impl AsRef<str>) -> Self {
        let extension = der::aia_ocsp_extension(url.as_ref());
        self.customize(move |params| params.custom_extensions.push(extension))
    }

    /// Runs `f` on the rcgen parameters just before signing, for anything else
    /// (custom extensions, CRL distribution points, ...).
    pub fn customize(mut self, f: impl FnOnce(&mut CertificateParams) + 'a) -> Self {
        self.customizers.push(Box::new(f));
        self
    }

    /// Generates the key and signs the certificate.
    ///
    /// # Panics
    ///
    /// If rcgen refuses the parameters or signing fails.
    pub fn build(self) -> Leaf {
        let mut params = CertificateParams::default();
        params.distinguished_name = self.subject.rcgen_dn(&self.common_name);
        params.subject_alt_names = self.sans;
        params.extended_key_usages = self.extended_key_usages;
        params.key_usages = self.key_usages;
        params.is_ca = self.is_ca;
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        params.serial_number = Some(self.serial.rcgen_serial());
        params.use_authority_key_identifier_extension = self.issuer.is_some();
        for customize in self.customizers {
            customize(&mut params);
        }

        let key = self.key.generate();
        let mut cert = issue(
            &params,
            &key,
            self.issuer,
            self.subject.override_der(),
            self.serial.raw(),
        );
        if let Some(validity) = self.raw_validity {
            let patch = der::CertPatch {
                validity: Some(validity),
                ..der::CertPatch::default()
            };
            let signer = self.issuer.map_or(&key, Ca::key_pair);
            cert = CertificateDer::from(der::patch_cert(&cert, &patch, signer));
        }
        let (intermediates, root) = match self.issuer {
            None => (Vec::new(), None),
            Some(ca) if ca.is_root() => (Vec::new(), Some(ca.cert_der())),
            Some(ca) => {
                let mut intermediates = vec![ca.cert_der()];
                let ancestors = ca.ancestors();
                intermediates.extend(ancestors[..ancestors.len() - 1].iter().cloned());
                (intermediates, Some(ca.root_der()))
            }
        };
        Leaf {
            common_name: self.common_name,
            serial: der::cert_serial(&cert),
            cert,
            key_pkcs8: der::pkcs8_v1(key.serialized_der()),
            key_algorithm: self.key,
            intermediates,
            root,
            not_before: params.not_before.replace_nanosecond(0).expect("valid"),
            not_after: params.not_after.replace_nanosecond(0).expect("valid"),
        }
    }
}

fn ia5(s: &str) -> rcgen::string::Ia5String {
    rcgen::string::Ia5String::try_from(s)
        .unwrap_or_else(|_| panic!("mtls-testpki: {s:?} is not an IA5String (ASCII only)"))
}
