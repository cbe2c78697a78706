//! Certificate authorities: roots and intermediates that issue leaves and CRLs.

use std::fmt;
use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::OffsetDateTime;

use crate::der::{self, CertPatch};
use crate::key::clone_key;
use crate::{CrlBuilder, KeyAlgorithm, LeafBuilder, Name, clock, util};

/// Boxed parameter tweak run just before signing.
type Customizer<'a> = Box<dyn FnOnce(&mut CertificateParams) + 'a>;

/// How a builder sets the subject.
#[derive(Clone, Debug)]
pub(crate) enum Subject {
    /// `CN=<common name>`.
    CommonName,
    /// An rcgen distinguished name.
    Rcgen(DistinguishedName),
    /// A [`Name`], spliced into the certificate after rcgen signed it.
    Raw(Name),
}

impl Subject {
    /// The distinguished name handed to rcgen.
    pub(crate) fn rcgen_dn(&self, common_name: &str) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        match self {
            Self::Rcgen(dn) => return dn.clone(),
            // An empty raw name stays empty for rcgen too, so that it marks the SAN
            // extension critical as RFC 5280 requires.
            Self::Raw(name) if name.is_empty() => return dn,
            Self::CommonName | Self::Raw(_) => dn.push(DnType::CommonName, common_name),
        }
        dn
    }

    /// The DER `Name` to splice into the certificate, if any.
    pub(crate) fn override_der(&self) -> Option<Vec<u8>> {
        match self {
            Self::Raw(name) => Some(name.to_der()),
            _ => None,
        }
    }
}

/// Serial settings shared by the builders.
#[derive(Clone, Debug, Default)]
pub(crate) enum SerialChoice {
    /// A fresh unique positive serial.
    #[default]
    Fresh,
    /// rcgen semantics: magnitude bytes.
    Magnitude(Vec<u8>),
    /// INTEGER content octets written verbatim.
    Raw(Vec<u8>),
}

impl SerialChoice {
    pub(crate) fn rcgen_serial(&self) -> SerialNumber {
        match self {
            Self::Fresh | Self::Raw(_) => SerialNumber::from_slice(&util::fresh_serial()),
            Self::Magnitude(bytes) => SerialNumber::from_slice(bytes),
        }
    }

    pub(crate) fn raw(&self) -> Option<Vec<u8>> {
        match self {
            Self::Raw(bytes) => Some(bytes.clone()),
            _ => None,
        }
    }
}

/// Signs `params` for `subject_key`, by `issuer` or self-signed, then splices in the
/// raw subject / issuer / serial if requested (re-signing with the issuer's key).
pub(crate) fn issue(
    params: &CertificateParams,
    subject_key: &KeyPair,
    issuer: Option<&Ca>,
    subject_override: Option<Vec<u8>>,
    raw_serial: Option<Vec<u8>>,
) -> CertificateDer<'static> {
    let (cert, patch, signer) = match issuer {
        None => {
            let cert = params
                .self_signed(subject_key)
                .expect("mtls-testpki: self-signing a certificate failed");
            let patch = CertPatch {
                serial: raw_serial,
                issuer: subject_override.clone(),
                subject: subject_override,
                validity: None,
            };
            (cert, patch, subject_key)
        }
        Some(ca) => {
            let cert = params
                .signed_by(subject_key, &ca.issuer())
                .expect("mtls-testpki: signing a certificate failed");
            let patch = CertPatch {
                serial: raw_serial,
                issuer: ca.subject_override.clone(),
                subject: subject_override,
                validity: None,
            };
            (cert, patch, &ca.key)
        }
    };
    CertificateDer::from(der::patch_cert(cert.der(), &patch, signer))
}

/// Something whose serial number can be listed in a CRL: a [`Leaf`](crate::Leaf) or a
/// [`Ca`] (to revoke an intermediate).
pub trait Revocable {
    /// The certificate's serial number, as the content octets of its DER `INTEGER`.
    fn revocation_serial(&self) -> &[u8];
}

/// A certificate authority (root or intermediate) with its private key, able to issue
/// intermediates, leaves and CRLs.
///
/// By default a CA certificate has `BasicConstraints` CA (critical, no path length
/// limit), key usages `keyCertSign`, `cRLSign` and `digitalSignature`, a subject key
/// identifier, an authority key identifier (intermediates), subject `CN=<common name>`,
/// validity from 30 days ago to 10 years ahead, an ECDSA P-256 key and a fresh random
/// serial.
///
/// All constructors panic (with an `mtls-testpki:` message) if rcgen refuses the
/// parameters; this is a test-only crate.
///
/// ```
/// use mtls_testpki::Ca;
///
/// let root = Ca::root("Example Root").build();
/// let intermediate = root.intermediate("Example Intermediate").path_len(0).build();
/// let alice = intermediate.leaf("alice").build(); // clientAuth by default
///
/// assert!(root.is_root());
/// assert_eq!(intermediate.ancestors(), vec![root.cert_der()]);
/// assert_eq!(alice.chain(), vec![alice.cert_der(), intermediate.cert_der()]);
/// assert_eq!(alice.root_der(), Some(root.cert_der()));
/// assert!(root.cert_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
/// ```
pub struct Ca {
    common_name: String,
    /// Parameters the certificate was made from (rcgen's issuer view of this CA).
    params: CertificateParams,
    key: KeyPair,
    key_algorithm: KeyAlgorithm,
    cert: CertificateDer<'static>,
    /// The raw subject `Name`, when it was set with [`CaBuilder::subject_name`].
    subject_override: Option<Vec<u8>>,
    /// Issuing CA certificates, nearest first, root last. Empty for a root.
    ancestors: Vec<CertificateDer<'static>>,
    serial: Vec<u8>,
}

impl Ca {
    /// Starts a self-signed root CA named `CN=<common_name>`.
    pub fn root(common_name: impl Into<String>) -> CaBuilder<'static> {
        CaBuilder::new(None, common_name.into())
    }

    /// Starts an intermediate CA named `CN=<common_name>`, signed by this CA.
    pub fn intermediate(&self, common_name: impl Into<String>) -> CaBuilder<'_> {
        CaBuilder::new(Some(self), common_name.into())
    }

    /// Starts an end-entity certificate named `CN=<common_name>`, signed by this CA.
    pub fn leaf(&self, common_name: impl Into<String>) -> LeafBuilder<'_> {
        LeafBuilder::new(Some(self), common_name.into())
    }

    /// Starts a CRL signed by this CA (empty unless entries are added).
    pub fn crl(&self) -> CrlBuilder<'_> {
        CrlBuilder::new(self)
    }

    /// Makes `n` chained intermediates below this CA: the first is signed by `self`,
    /// each next one by the previous. Issue leaves from the last one. Named
    /// `<this CA's CN> / Intermediate 1` .. `n`.
    ///
    /// ```
    /// use mtls_testpki::Ca;
    ///
    /// let root = Ca::root("Deep Root").build();
    /// let chain = root.chain_of_intermediates(3);
    /// let leaf = chain.last().unwrap().leaf("deep").build();
    /// assert_eq!(leaf.chain().len(), 4); // leaf + 3 intermediates
    /// assert_eq!(leaf.chain_with_root().len(), 5);
    /// ```
    pub fn chain_of_intermediates(&self, n: usize) -> Vec<Ca> {
        let mut chain: Vec<Ca> = Vec::with_capacity(n);
        for i in 1..=n {
            let name = format!("{} / Intermediate {i}", self.common_name);
            let next = chain.last().unwrap_or(self).intermediate(name).build();
            chain.push(next);
        }
        chain
    }

    /// The rcgen issuer view of this CA (distinguished name, key identifier, key).
    pub(crate) fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// rcgen issuer view with no key usages, so rcgen signs CRLs even for a CA built
    /// without `cRLSign` (for negative tests).
    pub(crate) fn crl_issuer_params(&self) -> CertificateParams {
        let mut params = self.params.clone();
        params.key_usages.clear();
        params
    }

    pub(crate) fn key(&self) -> &KeyPair {
        &self.key
    }

    pub(crate) fn subject_override(&self) -> Option<&[u8]> {
        self.subject_override.as_deref()
    }

    /// The common name given to the builder (the subject may differ if it was set with
    /// `subject` / `subject_name`).
    pub fn common_name(&self) -> &str {
        &self.common_name
    }

    /// The CA certificate (DER).
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    /// The CA certificate (PEM, `CERTIFICATE`).
    pub fn cert_pem(&self) -> String {
        util::pem("CERTIFICATE", &self.cert)
    }

    /// The CA's private key (PKCS#8 DER).
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der::pkcs8_v1(
            self.key.serialized_der(),
        )))
    }

    /// The CA's private key (PKCS#8 PEM, `PRIVATE KEY`).
    pub fn key_pem(&self) -> String {
        util::pem("PRIVATE KEY", &der::pkcs8_v1(self.key.serialized_der()))
    }

    /// The rcgen key pair, for advanced uses.
    pub fn key_pair(&self) -> &KeyPair {
        &self.key
    }

    /// The rcgen parameters the certificate was generated from, for advanced uses.
    pub fn params(&self) -> &CertificateParams {
        &self.params
    }

    /// The key type.
    pub fn key_algorithm(&self) -> KeyAlgorithm {
        self.key_algorithm
    }

    /// The subject `Name` exactly as encoded in the certificate, outer `SEQUENCE`
    /// included: what a `CertificateRequest` lists as an acceptable CA (rustls
    /// `DistinguishedName`), and what leaves issued by this CA carry as issuer.
    pub fn subject_der(&self) -> Vec<u8> {
        der::cert_subject(&self.cert)
    }

    /// The subject `Name` without its outer `SEQUENCE` header, the form webpki keeps in
    /// `TrustAnchor::subject`.
    pub fn subject_der_inner(&self) -> Vec<u8> {
        der::content(&self.subject_der()).to_vec()
    }

    /// The serial number: the content octets of the DER `INTEGER` (with the `00` pad
    /// byte when the first magnitude byte has its high bit set).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The serial as nginx `$ssl_client_serial` prints it (uppercase hex, no pad byte).
    pub fn serial_hex(&self) -> String {
        util::serial_hex(&self.serial)
    }

    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.params.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.params.not_after
    }

    /// Whether this CA is self-signed (made with [`Ca::root`]).
    pub fn is_root(&self) -> bool {
        self.ancestors.is_empty()
    }

    /// The certificates of the CAs above this one, nearest first, root last. Empty for
    /// a root.
    pub fn ancestors(&self) -> Vec<CertificateDer<'static>> {
        self.ancestors.clone()
    }

    /// The root at the top of this CA's hierarchy (this CA itself for a root).
    pub fn root_der(&self) -> CertificateDer<'static> {
        self.ancestors.last().unwrap_or(&self.cert).clone()
    }
}

impl Clone for Ca {
    fn clone(&self) -> Self {
        Self {
            common_name: self.common_name.clone(),
            params: self.params.clone(),
            key: clone_key(&self.key),
            key_algorithm: self.key_algorithm,
            cert: self.cert.clone(),
            subject_override: self.subject_override.clone(),
            ancestors: self.ancestors.clone(),
            serial: self.serial.clone(),
        }
    }
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("common_name", &self.common_name)
            .field("serial", &self.serial_hex())
            .field("key_algorithm", &self.key_algorithm)
            .field("is_root", &self.is_root())
            .field("depth_below_root", &self.ancestors.len())
            .finish_non_exhaustive()
    }
}

impl Revocable for Ca {
    fn revocation_serial(&self) -> &[u8] {
        &self.serial
    }
}

/// Builder for a [`Ca`], from [`Ca::root`] or [`Ca::intermediate`]. Finish with
/// [`build`](CaBuilder::build).
#[must_use = "call .build() to make the CA"]
pub struct CaBuilder<'a> {
    parent: Option<&'a Ca>,
    common_name: String,
    subject: Subject,
    key: KeyAlgorithm,
    is_ca: IsCa,
    key_usages: Vec<KeyUsagePurpose>,
    extended_key_usages: Vec<ExtendedKeyUsagePurpose>,
    name_constraints: Option<NameConstraints>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: SerialChoice,
    customizers: Vec<Customizer<'a>>,
}

impl fmt::Debug for CaBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBuilder")
            .field("parent", &self.parent.map(Ca::common_name))
            .field("common_name", &self.common_name)
            .field("subject", &self.subject)
            .field("key", &self.key)
            .field("is_ca", &self.is_ca)
            .field("key_usages", &self.key_usages)
            .field("extended_key_usages", &self.extended_key_usages)
            .field("name_constraints", &self.name_constraints)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("serial", &self.serial)
            .field("customizers", &self.customizers.len())
            .finish()
    }
}

impl<'a> CaBuilder<'a> {
    fn new(parent: Option<&'a Ca>, common_name: String) -> Self {
        Self {
            parent,
            common_name,
            subject: Subject::CommonName,
            key: KeyAlgorithm::default(),
            is_ca: IsCa::Ca(BasicConstraints::Unconstrained),
            key_usages: vec![
                KeyUsagePurpose::KeyCertSign,
                KeyUsagePurpose::CrlSign,
                KeyUsagePurpose::DigitalSignature,
            ],
            extended_key_usages: Vec::new(),
            name_constraints: None,
            not_before: clock::days_ago(30),
            not_after: clock::days_from_now(3650),
            serial: SerialChoice::Fresh,
            customizers: Vec::new(),
        }
    }

    /// The CA's key type (default ECDSA P-256). It also decides the signature algorithm
    /// of everything this CA signs.
    pub fn key(mut self, algorithm: KeyAlgorithm) -> Self {
        self.key = algorithm;
        self
    }

    /// `BasicConstraints` pathLenConstraint: at most `n` intermediates may follow.
    pub fn path_len(mut self, n: u8) -> Self {
        self.is_ca = IsCa::Ca(BasicConstraints::Constrained(n));
        self
    }

    /// Makes the certificate *not* a CA (`BasicConstraints` cA = false) while it can
    /// still sign: for "issuer is not a CA" tests.
    pub fn not_a_ca(mut self) -> Self {
        self.is_ca = IsCa::ExplicitNoCa;
        self
    }

    /// Replaces the key usages (default `keyCertSign`, `cRLSign`, `digitalSignature`).
    /// An empty list omits the extension. Without `CrlSign`, CRLs from this CA are
    /// still produced but should fail validation.
    pub fn key_usages(mut self, usages: Vec<KeyUsagePurpose>) -> Self {
        self.key_usages = usages;
        self
    }

    /// Adds an extended key usage extension to the CA certificate (none by default).
    pub fn extended_key_usages(mut self, usages: Vec<ExtendedKeyUsagePurpose>) -> Self {
        self.extended_key_usages = usages;
        self
    }

    fn constraints(&mut self) -> &mut NameConstraints {
        self.name_constraints
            .get_or_insert_with(|| NameConstraints {
                permitted_subtrees: Vec::new(),
                excluded_subtrees: Vec::new(),
            })
    }

    /// Adds a permitted DNS name constraint subtree (e.g. `"example.org"`).
    pub fn permitted_dns(mut self, name: impl Into<String>) -> Self {
        let subtree = GeneralSubtree::DnsName(name.into());
        self.constraints().permitted_subtrees.push(subtree);
        self
    }

    /// Adds an excluded DNS name constraint subtree.
    pub fn excluded_dns(mut self, name: impl Into<String>) -> Self {
        let subtree = GeneralSubtree::DnsName(name.into());
        self.constraints().excluded_subtrees.push(subtree);
        self
    }

    /// Adds a permitted email (rfc822Name) constraint subtree (e.g. `"example.org"`).
    pub fn permitted_email(mut self, constraint: impl Into<String>) -> Self {
        let subtree = GeneralSubtree::Rfc822Name(constraint.into());
        self.constraints().permitted_subtrees.push(subtree);
        self
    }

    /// Adds a permitted IP range constraint (address and prefix length).
    pub fn permitted_ip(mut self, addr: IpAddr, prefix: u8) -> Self {
        let subtree = GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(addr, prefix));
        self.constraints().permitted_subtrees.push(subtree);
        self
    }

    /// Adds an excluded IP range constraint (address and prefix length).
    pub fn excluded_ip(mut self, addr: IpAddr, prefix: u8) -> Self {
        let subtree = GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(addr, prefix));
        self.constraints().excluded_subtrees.push(subtree);
        self
    }

    /// Sets the whole name constraints extension (rcgen supports DNS, email, directory
    /// name and IP subtrees; not URI).
    pub fn name_constraints(mut self, constraints: NameConstraints) -> Self {
        self.name_constraints = Some(constraints);
        self
    }

    /// Validity period (default 30 days ago to 10 years ahead). Sub-second parts are
    /// dropped.
    pub fn valid_between(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// An expired CA: valid from 2 years ago until yesterday.
    pub fn expired(self) -> Self {
        self.valid_between(clock::days_ago(730), clock::days_ago(1))
    }

    /// A CA that is not valid yet: from next year (365 days ahead) for 10 years.
    pub fn not_yet_valid(self) -> Self {
        self.valid_between(clock::days_from_now(365), clock::days_from_now(4015))
    }

    /// Exact serial magnitude bytes (big-endian). Leading `00` bytes are dropped and a
    /// `00` pad is added when the first byte has its high bit set, as DER requires for
    /// a positive `INTEGER`; [`Ca::serial`] shows the encoded result.
    pub fn serial(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.serial = SerialChoice::Magnitude(bytes.into());
        self
    }

    /// Writes these bytes verbatim as the serial `INTEGER` content (may be negative,
    /// non-minimal or empty), for malformed-input tests. The certificate is re-signed.
    pub fn raw_serial(mut self, content: impl Into<Vec<u8>>) -> Self {
        self.serial = SerialChoice::Raw(content.into());
        self
    }

    /// Sets the subject with an rcgen distinguished name (instead of
    /// `CN=<common name>`).
    pub fn subject(mut self, dn: DistinguishedName) -> Self {
        self.subject = Subject::Rcgen(dn);
        self
    }

    /// Sets the subject with a [`Name`] (multi-valued RDNs, repeated attributes, any
    /// string type). Certificates and CRLs this CA issues carry it as issuer.
    pub fn subject_name(mut self, name: Name) -> Self {
        self.subject = Subject::Raw(name);
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
    pub fn build(self) -> Ca {
        let mut params = CertificateParams::default();
        params.distinguished_name = self.subject.rcgen_dn(&self.common_name);
        params.is_ca = self.is_ca;
        params.key_usages = self.key_usages;
        params.extended_key_usages = self.extended_key_usages;
        params.name_constraints = self.name_constraints;
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        params.serial_number = Some(self.serial.rcgen_serial());
        params.use_authority_key_identifier_extension = self.parent.is_some();
        for customize in self.customizers {
            customize(&mut params);
        }

        let key = self.key.generate();
        let subject_override = self.subject.override_der();
        let cert = issue(
            &params,
            &key,
            self.parent,
            subject_override.clone(),
            self.serial.raw(),
        );
        let ancestors = match self.parent {
            None => Vec::new(),
            Some(parent) => {
                let mut ancestors = vec![parent.cert_der()];
                ancestors.extend(parent.ancestors.iter().cloned());
                ancestors
            }
        };
        let serial = der::cert_serial(&cert);
        // rcgen drops sub-second precision when encoding; keep the stored times equal to
        // the encoded ones.
        params.not_before = params.not_before.replace_nanosecond(0).expect("valid");
        params.not_after = params.not_after.replace_nanosecond(0).expect("valid");
        Ca {
            common_name: self.common_name,
            params,
            key,
            key_algorithm: self.key,
            cert,
            subject_override,
            ancestors,
            serial,
        }
    }
}
