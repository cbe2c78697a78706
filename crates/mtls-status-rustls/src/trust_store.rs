//! An immutable snapshot of what client certificates are checked against:
//! trust anchors, CA-bundle intermediates, advertised CA names and CRLs.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::DistinguishedName;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, TrustAnchor};
use webpki::{BorrowedCertRevocationList, CertRevocationList};

use crate::names;
use crate::spiffe_bundle::{self, SpiffeBundle, SpiffeBundleError};
use crate::times::Validity;
use mtls_status::der::{Certificate as ParsedCert, Crl as ParsedCrl, KeyUsage};

use crate::crl_signatures::CrlSignatures;

/// Trust anchors, CA-bundle intermediates, advertised CA names and CRLs, as
/// one immutable snapshot with a generation number.
///
/// Built with [`TrustStore::builder`] from PEM files or bytes, the way nginx
/// reads its directives:
///
/// | builder | nginx | trusted | advertised in CertificateRequest |
/// |---|---|---|---|
/// | [`ca_file`](TrustStoreBuilder::ca_file) / [`ca_pem`](TrustStoreBuilder::ca_pem) | `ssl_client_certificate` | yes | yes |
/// | [`trusted_file`](TrustStoreBuilder::trusted_file) / [`trusted_pem`](TrustStoreBuilder::trusted_pem) | `ssl_trusted_certificate` | yes | no |
/// | [`crl_file`](TrustStoreBuilder::crl_file) / [`crl_pem`](TrustStoreBuilder::crl_pem) | `ssl_crl` | | |
///
/// Self-issued certificates (subject = issuer) become **trust anchors**;
/// every other certificate in the files is an **intermediate** that chains
/// may use but that is not trusted on its own. As with nginx (OpenSSL
/// without `X509_V_FLAG_PARTIAL_CHAIN`), a chain must reach a self-issued
/// root: a bundle that holds only an intermediate CA accepts nothing, and
/// its clients get [`UnknownIssuer`](mtls_status::ReasonKind::UnknownIssuer)
/// (OpenSSL would say 2, "unable to get issuer certificate").
///
/// Share it through a [`ReloadableTrustStore`](crate::ReloadableTrustStore)
/// to swap it atomically at run time.
///
/// ```
/// use mtls_status_rustls::TrustStore;
///
/// let store = TrustStore::builder().ca_pem(b"not a PEM file").build();
/// let err = store.unwrap_err();
/// assert!(err.to_string().contains("CA bundle (PEM bytes #1)"), "{err}");
/// assert!(err.to_string().contains("no certificates"), "{err}");
/// ```
#[derive(Clone)]
pub struct TrustStore {
    inner: Arc<Inner>,
    generation: u64,
}

struct Inner {
    certificates: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
    anchor_info: Vec<CaInfo>,
    intermediates: Vec<CertificateDer<'static>>,
    intermediate_info: Vec<CaInfo>,
    hints: Vec<DistinguishedName>,
    accepted_names: Vec<String>,
    crls: Vec<Arc<CertRevocationList<'static>>>,
    crl_ders: Vec<CertificateRevocationListDer<'static>>,
    crl_info: Vec<CrlInfo>,
    /// Signatures of `crls` verified so far (for this store only: see the
    /// module).
    crl_signatures: CrlSignatures,
    breakpoints: Vec<u64>,
    spiffe_bundles: Vec<SpiffeBundle>,
    skipped: Vec<SkippedCertificate>,
}

/// What the classifier needs to know about a CA certificate.
#[derive(Clone, Debug)]
pub(crate) struct CaInfo {
    pub(crate) subject_dn: String,
    pub(crate) validity: Validity,
    pub(crate) key_usage: KeyUsage,
    /// basicConstraints cA, when the extension is present.
    pub(crate) basic_constraints_ca: Option<bool>,
    /// basicConstraints pathLenConstraint, when present.
    pub(crate) path_len: Option<u64>,
    /// Whether a Netscape certificate type extension names a CA type.
    pub(crate) ns_cert_type_ca: bool,
}

/// What the classifier needs to know about a CRL.
#[derive(Clone, Debug)]
pub(crate) struct CrlInfo {
    pub(crate) issuer: Vec<u8>,
    pub(crate) issuer_dn: String,
    pub(crate) this_update: u64,
    pub(crate) next_update: Option<u64>,
    /// How many revoked-certificate entries it lists (a gauge of feature
    /// `metrics`).
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) revoked: usize,
    /// The cRLNumber (INTEGER content), when present.
    pub(crate) number: Option<Vec<u8>>,
}

impl CrlInfo {
    /// How `self` compares in recency to `other` (same issuer): by
    /// cRLNumber when both have one, else by thisUpdate.
    pub(crate) fn recency(&self, other: &CrlInfo) -> std::cmp::Ordering {
        match (&self.number, &other.number) {
            (Some(a), Some(b)) => mtls_status::der::compare_crl_numbers(a, b),
            _ => self.this_update.cmp(&other.this_update),
        }
    }
}

/// A CRL fetched from `source` (a URL) by the CRL refresher, merged into
/// every store a [`ReloadableTrustStore`](crate::ReloadableTrustStore)
/// installs.
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "crl-refresh"), allow(dead_code))]
pub(crate) struct FetchedCrl {
    pub(crate) source: String,
    pub(crate) der: CertificateRevocationListDer<'static>,
}

impl TrustStore {
    /// Starts building a trust store.
    pub fn builder() -> TrustStoreBuilder {
        TrustStoreBuilder::default()
    }

    /// A store that trusts nothing and advertises nothing, for
    /// `optional_no_ca` setups without any CA: every presented chain is
    /// classified as an untrusted issuer.
    ///
    /// ```
    /// let store = mtls_status_rustls::TrustStore::empty();
    /// assert_eq!(store.anchor_count(), 0);
    /// assert!(store.root_hint_subjects().is_empty());
    /// ```
    pub fn empty() -> Self {
        Self {
            inner: Arc::new(Inner {
                certificates: Vec::new(),
                anchors: Vec::new(),
                anchor_info: Vec::new(),
                intermediates: Vec::new(),
                intermediate_info: Vec::new(),
                hints: Vec::new(),
                accepted_names: Vec::new(),
                crls: Vec::new(),
                crl_ders: Vec::new(),
                crl_info: Vec::new(),
                crl_signatures: CrlSignatures::default(),
                breakpoints: Vec::new(),
                spiffe_bundles: Vec::new(),
                skipped: Vec::new(),
            }),
            generation: 1,
        }
    }

    /// The generation of this snapshot: 1 when built, then one more for each
    /// successful [`reload`](crate::ReloadableTrustStore::reload) or
    /// [`replace`](crate::ReloadableTrustStore::replace). Cached verdicts are
    /// keyed by it.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// DER subjects of the CA bundle's certificates (de-duplicated, in file
    /// order), which the deferred verifier advertises in its
    /// CertificateRequest by default. Trusted-only certificates are not
    /// included.
    pub fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.inner.hints
    }

    /// RFC 2253 subjects of the CA bundle's certificates (de-duplicated),
    /// for telling a rejected client which CAs are accepted.
    pub fn accepted_ca_names(&self) -> &[String] {
        &self.inner.accepted_names
    }

    /// Every certificate loaded (CA bundle, then trusted-only), in file
    /// order.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.inner.certificates
    }

    /// How many self-issued certificates act as trust anchors.
    pub fn anchor_count(&self) -> usize {
        self.inner.anchors.len()
    }

    /// How many CA-bundle certificates are usable as intermediates only.
    pub fn intermediate_count(&self) -> usize {
        self.inner.intermediates.len()
    }

    /// How many CRLs are loaded. With at least one, every chain is checked
    /// for revocation.
    pub fn crl_count(&self) -> usize {
        self.inner.crls.len()
    }

    /// The SPIFFE bundles (JSON) among the CA sources, in order, with
    /// their [refresh hints](SpiffeBundle::refresh_hint) and
    /// [sequence numbers](SpiffeBundle::sequence_number); empty for a store
    /// of PEM only.
    pub fn spiffe_bundles(&self) -> &[SpiffeBundle] {
        &self.inner.spiffe_bundles
    }

    /// The certificates of the sources that could not be used and were
    /// left out (see
    /// [`TrustStoreBuilder::refuse_unusable_certificates`]), in file order.
    pub fn skipped_certificates(&self) -> &[SkippedCertificate] {
        &self.inner.skipped
    }

    pub(crate) fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.inner.anchors
    }

    pub(crate) fn anchor_info(&self) -> &[CaInfo] {
        &self.inner.anchor_info
    }

    pub(crate) fn intermediates(&self) -> &[CertificateDer<'static>] {
        &self.inner.intermediates
    }

    pub(crate) fn intermediate_info(&self) -> &[CaInfo] {
        &self.inner.intermediate_info
    }

    /// The CRLs as loaded (DER), in file order, for lints and tools.
    pub fn crl_ders(&self) -> &[CertificateRevocationListDer<'static>] {
        &self.inner.crl_ders
    }

    pub(crate) fn crls(&self) -> &[Arc<CertRevocationList<'static>>] {
        &self.inner.crls
    }

    pub(crate) fn crl_signatures(&self) -> &CrlSignatures {
        &self.inner.crl_signatures
    }

    pub(crate) fn crl_info(&self) -> &[CrlInfo] {
        &self.inner.crl_info
    }

    /// This store with `fetched` CRLs merged in. Per issuer the most recent
    /// CRL wins ([`CrlInfo::recency`]): a fetched CRL replaces this store's
    /// CRLs of its issuer unless one of them is more recent, in which case
    /// the fetched one is left out. CAs and the CRLs of other issuers stay.
    pub(crate) fn with_fetched_crls(
        &self,
        fetched: &[FetchedCrl],
    ) -> Result<TrustStore, TrustStoreError> {
        if fetched.is_empty() {
            return Ok(self.clone());
        }
        let inner = &*self.inner;
        let mut loaded = Loaded {
            certificates: inner.certificates.clone(),
            anchors: inner.anchors.clone(),
            anchor_info: inner.anchor_info.clone(),
            intermediates: inner.intermediates.clone(),
            intermediate_info: inner.intermediate_info.clone(),
            hints: inner.hints.clone(),
            hint_subjects: Vec::new(),
            accepted_names: inner.accepted_names.clone(),
            crls: inner.crls.clone(),
            crl_ders: inner.crl_ders.clone(),
            crl_info: inner.crl_info.clone(),
            spiffe_bundles: inner.spiffe_bundles.clone(),
            skipped: inner.skipped.clone(),
            policy: LoadPolicy::default(),
        };
        for crl in fetched {
            let (list, info) = parse_crl(&crl.source, 1, &crl.der)?;
            if loaded.crl_info.iter().any(|have| {
                have.issuer == info.issuer && have.recency(&info) == std::cmp::Ordering::Greater
            }) {
                continue;
            }
            let old = std::mem::take(&mut loaded.crls)
                .into_iter()
                .zip(std::mem::take(&mut loaded.crl_ders))
                .zip(std::mem::take(&mut loaded.crl_info));
            for ((have_list, have_der), have) in old {
                if have.issuer != info.issuer {
                    loaded.crls.push(have_list);
                    loaded.crl_ders.push(have_der);
                    loaded.crl_info.push(have);
                }
            }
            loaded.crls.push(Arc::new(list));
            loaded.crl_ders.push(crl.der.clone());
            loaded.crl_info.push(info);
        }
        Ok(loaded.finish().with_generation(self.generation))
    }

    /// Sorted, de-duplicated times (seconds) at which some verdict against
    /// this store may change: validity bounds of its CA certificates and
    /// update times of its CRLs.
    pub(crate) fn breakpoints(&self) -> &[u64] {
        &self.inner.breakpoints
    }
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("generation", &self.generation)
            .field("anchors", &self.inner.anchors.len())
            .field("intermediates", &self.inner.intermediates.len())
            .field("crls", &self.inner.crls.len())
            .field("accepted_ca_names", &self.inner.accepted_names)
            .finish()
    }
}

/// Where some PEM (or DER, for CRLs) comes from.
#[derive(Clone)]
enum Source {
    File(PathBuf),
    Bytes {
        name: String,
        bytes: Vec<u8>,
    },
    Spiffe {
        name: String,
        bundle: SpiffeBundle,
    },
    Der {
        name: String,
        certs: Vec<CertificateDer<'static>>,
    },
}

impl Source {
    fn name(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Bytes { name, .. } | Self::Spiffe { name, .. } | Self::Der { name, .. } => {
                name.clone()
            }
        }
    }

    /// The bytes of the source; a file larger than `limit` is refused
    /// without reading more than `limit + 1` bytes of it.
    fn read(&self, limit: u64) -> Result<std::borrow::Cow<'_, [u8]>, TrustStoreError> {
        use std::io::Read as _;
        match self {
            Self::File(path) => {
                let io = |source| TrustStoreError::Io {
                    path: path.clone(),
                    source,
                };
                let mut bytes = Vec::new();
                std::fs::File::open(path)
                    .map_err(io)?
                    .take(limit.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map_err(io)?;
                if bytes.len() as u64 > limit {
                    return Err(TrustStoreError::FileTooLarge {
                        path: path.clone(),
                        limit,
                    });
                }
                Ok(std::borrow::Cow::Owned(bytes))
            }
            Self::Bytes { bytes, .. } => Ok(std::borrow::Cow::Borrowed(bytes)),
            Self::Spiffe { .. } | Self::Der { .. } => Ok(std::borrow::Cow::Borrowed(&[])),
        }
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// The largest file a trust store reads by default: 256 MiB. Real CRLs
/// get large (a CRL of a million entries is about 47 MB of PEM) and nginx
/// has no limit; this one only bounds what a wrong path (a disk image, a
/// log) can make the process allocate. See
/// [`TrustStoreBuilder::max_file_size`].
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// How sources are read: the file size limit, and whether an unusable
/// certificate fails the whole store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LoadPolicy {
    pub(crate) max_file_size: u64,
    pub(crate) refuse_unusable: bool,
}

impl Default for LoadPolicy {
    fn default() -> Self {
        Self {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            refuse_unusable: false,
        }
    }
}

/// Builds a [`TrustStore`]. Nothing is read until [`build`](Self::build).
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct TrustStoreBuilder {
    ca: Vec<Source>,
    trusted: Vec<Source>,
    crls: Vec<Source>,
    policy: LoadPolicy,
}

impl TrustStoreBuilder {
    /// Adds a PEM CA bundle whose subjects are advertised, like nginx's
    /// `ssl_client_certificate`. Bytes that start with `{` are read as a
    /// SPIFFE bundle (JWK Set, feature `spiffe-bundle`), whose `x509-svid`
    /// certificates become the CA bundle.
    pub fn ca_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let name = format!("CA bundle (PEM bytes #{})", self.ca.len() + 1);
        self.ca.push(Source::Bytes {
            name,
            bytes: pem.as_ref().to_vec(),
        });
        self
    }

    /// Adds a PEM CA bundle file whose subjects are advertised, like
    /// nginx's `ssl_client_certificate`. A file that starts with `{` is read
    /// as a SPIFFE bundle (JWK Set, feature `spiffe-bundle`), on every
    /// reload too: the format is told by content.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca.push(Source::File(path.into()));
        self
    }

    /// Adds DER CA certificates (advertised), as [`ca_pem`](Self::ca_pem)
    /// adds PEM ones: for certificates that arrive decoded, such as the
    /// bundles of the SPIFFE Workload API.
    pub fn ca_der(mut self, certs: impl IntoIterator<Item = CertificateDer<'static>>) -> Self {
        let name = format!("CA certificates (DER #{})", self.ca.len() + 1);
        self.ca.push(Source::Der {
            name,
            certs: certs.into_iter().collect(),
        });
        self
    }

    /// Adds the X.509 authorities of a parsed SPIFFE bundle as a CA
    /// bundle (advertised); [`TrustStore::spiffe_bundles`] keeps its
    /// refresh hint and sequence number.
    pub fn ca_spiffe_bundle(mut self, bundle: SpiffeBundle) -> Self {
        let name = format!("SPIFFE bundle #{}", self.ca.len() + 1);
        self.ca.push(Source::Spiffe { name, bundle });
        self
    }

    /// Adds PEM certificates that are trusted but not advertised, like
    /// nginx's `ssl_trusted_certificate`.
    pub fn trusted_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        let name = format!(
            "trusted certificates (PEM bytes #{})",
            self.trusted.len() + 1
        );
        self.trusted.push(Source::Bytes {
            name,
            bytes: pem.as_ref().to_vec(),
        });
        self
    }

    /// Adds a PEM file of certificates that are trusted but not advertised,
    /// like nginx's `ssl_trusted_certificate`.
    pub fn trusted_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.trusted.push(Source::File(path.into()));
        self
    }

    /// Adds CRLs, PEM (any number of `X509 CRL` blocks) or one DER CRL,
    /// like nginx's `ssl_crl`. With at least one CRL, chains are checked
    /// for revocation (see
    /// [`ClassifierBuilder::crl_scope`](crate::ClassifierBuilder::crl_scope)).
    pub fn crl_pem(mut self, pem_or_der: impl AsRef<[u8]>) -> Self {
        let name = format!("CRL (bytes #{})", self.crls.len() + 1);
        self.crls.push(Source::Bytes {
            name,
            bytes: pem_or_der.as_ref().to_vec(),
        });
        self
    }

    /// Adds a CRL file, PEM or DER, like nginx's `ssl_crl`.
    pub fn crl_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.crls.push(Source::File(path.into()));
        self
    }

    /// Refuses files larger than `bytes` ([`DEFAULT_MAX_FILE_SIZE`] by
    /// default) with [`TrustStoreError::FileTooLarge`].
    pub fn max_file_size(mut self, bytes: u64) -> Self {
        self.policy.max_file_size = bytes;
        self
    }

    /// Fails the whole store when one certificate of a source cannot be
    /// used. By default such a certificate is left out, as nginx leaves
    /// out what OpenSSL cannot use, and the rest of the bundle loads; each
    /// one left out is logged as an error and listed by
    /// [`TrustStore::skipped_certificates`]. A source none of whose
    /// certificates can be used fails in either case.
    ///
    /// ```
    /// use mtls_status_rustls::{TrustStore, TrustStoreError};
    ///
    /// // A CERTIFICATE block that holds no certificate, then a real CA.
    /// let junk = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    /// # let ca = mtls_testpki::Ca::root("Example Root CA").build().cert_pem();
    /// let bundle = format!("{junk}{ca}");
    ///
    /// let store = TrustStore::builder().ca_pem(&bundle).build()?;
    /// assert_eq!(store.anchor_count(), 1);
    /// assert_eq!(store.skipped_certificates()[0].index(), 1);
    ///
    /// let strict = TrustStore::builder().ca_pem(&bundle).refuse_unusable_certificates().build();
    /// assert!(matches!(strict, Err(TrustStoreError::BadCertificate { index: 1, .. })));
    /// # Ok::<(), TrustStoreError>(())
    /// ```
    pub fn refuse_unusable_certificates(mut self) -> Self {
        self.policy.refuse_unusable = true;
        self
    }

    pub(crate) fn with_policy(mut self, policy: LoadPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Reads and parses everything. Certificates that cannot be used are
    /// left out and logged (see
    /// [`refuse_unusable_certificates`](Self::refuse_unusable_certificates)).
    ///
    /// # Errors
    ///
    /// - [`TrustStoreError::NoCaConfigured`]: neither CA bundle nor trusted
    ///   certificates were given (use [`TrustStore::empty`] on purpose).
    /// - [`TrustStoreError::Io`]: a file cannot be read.
    /// - [`TrustStoreError::FileTooLarge`]: a file is larger than
    ///   [`max_file_size`](Self::max_file_size).
    /// - [`TrustStoreError::Pem`]: a file is not valid PEM.
    /// - [`TrustStoreError::NoCertificates`] / [`TrustStoreError::NoCrls`]:
    ///   a source holds nothing of the expected kind.
    /// - [`TrustStoreError::BadCertificate`]: no certificate of a source can
    ///   be used, or one cannot and unusable certificates are refused.
    /// - [`TrustStoreError::BadCrl`]: a CRL does not parse.
    ///
    /// Every error names the file (or bytes) and the item.
    pub fn build(self) -> Result<TrustStore, TrustStoreError> {
        if self.ca.is_empty() && self.trusted.is_empty() {
            return Err(TrustStoreError::NoCaConfigured);
        }
        let mut loaded = Loaded {
            policy: self.policy,
            ..Loaded::default()
        };
        for source in &self.ca {
            loaded.add_certificates(source, true)?;
        }
        for source in &self.trusted {
            loaded.add_certificates(source, false)?;
        }
        for source in &self.crls {
            loaded.add_crls(source)?;
        }
        for skipped in &loaded.skipped {
            tracing::error!(
                source = %skipped.source_name,
                index = skipped.index,
                reason = %skipped.reason,
                "CA certificate cannot be used and is left out of the trust store; \
                 clients it issued are rejected"
            );
        }
        Ok(loaded.finish())
    }
}

#[derive(Default)]
struct Loaded {
    certificates: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
    anchor_info: Vec<CaInfo>,
    intermediates: Vec<CertificateDer<'static>>,
    intermediate_info: Vec<CaInfo>,
    hints: Vec<DistinguishedName>,
    hint_subjects: Vec<Vec<u8>>,
    accepted_names: Vec<String>,
    crls: Vec<Arc<CertRevocationList<'static>>>,
    crl_ders: Vec<CertificateRevocationListDer<'static>>,
    crl_info: Vec<CrlInfo>,
    spiffe_bundles: Vec<SpiffeBundle>,
    skipped: Vec<SkippedCertificate>,
    policy: LoadPolicy,
}

impl Loaded {
    fn add_certificates(
        &mut self,
        source: &Source,
        advertise: bool,
    ) -> Result<(), TrustStoreError> {
        if let Source::Spiffe { bundle, .. } = source {
            return self.add_spiffe_bundle(source, bundle.clone(), advertise);
        }
        let ders: Vec<CertificateDer<'static>> = match source {
            Source::Der { certs, .. } => certs.clone(),
            _ => {
                let bytes = source.read(self.policy.max_file_size)?;
                if spiffe_bundle::looks_like_json(&bytes) {
                    let bundle = parse_spiffe_bundle(source, &bytes)?;
                    return self.add_spiffe_bundle(source, bundle, advertise);
                }
                CertificateDer::pem_slice_iter(&bytes)
                    .collect::<Result<_, _>>()
                    .map_err(|error| TrustStoreError::Pem {
                        source_name: source.name(),
                        error,
                    })?
            }
        };
        let count = ders.len();
        let mut usable = 0;
        let mut first_error = None;
        for (index, der) in ders.into_iter().enumerate() {
            let reason = match self.add_certificate(der, advertise) {
                Ok(()) => {
                    usable += 1;
                    continue;
                }
                Err(reason) => reason,
            };
            let skipped = SkippedCertificate {
                source_name: source.name(),
                index: index + 1,
                reason,
            };
            if self.policy.refuse_unusable {
                return Err(skipped.into_error());
            }
            first_error.get_or_insert_with(|| skipped.clone());
            self.skipped.push(skipped);
        }
        if count == 0 {
            return Err(TrustStoreError::NoCertificates {
                source_name: source.name(),
            });
        }
        match first_error {
            // Nothing usable: a wrong file, not one bad CA among good ones.
            Some(first) if usable == 0 => Err(first.into_error()),
            _ => Ok(()),
        }
    }

    /// The `x509-svid` authorities of `bundle`, read from `source`.
    fn add_spiffe_bundle(
        &mut self,
        source: &Source,
        bundle: SpiffeBundle,
        advertise: bool,
    ) -> Result<(), TrustStoreError> {
        if bundle.x509_authorities().is_empty() {
            return Err(TrustStoreError::SpiffeBundle {
                source_name: source.name(),
                error: SpiffeBundleError::NoX509Authorities,
            });
        }
        for (index, der) in bundle.x509_authorities().iter().enumerate() {
            // A bundle is one document: every authority must be usable.
            self.add_certificate(der.clone(), advertise)
                .map_err(|reason| TrustStoreError::BadCertificate {
                    source_name: source.name(),
                    index: index + 1,
                    reason,
                })?;
        }
        self.spiffe_bundles.push(bundle);
        Ok(())
    }

    /// Adds one certificate, or says why it cannot be used.
    fn add_certificate(
        &mut self,
        der: CertificateDer<'static>,
        advertise: bool,
    ) -> Result<(), String> {
        // webpki must accept it (that is what verification will use) and
        // so must the field reader (validity and names for context). Both
        // are asked before anything is recorded, so a certificate left out
        // leaves no trace (not even an advertised name).
        webpki::EndEntityCert::try_from(&der).map_err(|e| format!("{e:?}"))?;
        let parsed = ParsedCert::parse(der.as_ref())
            .map_err(|e| format!("malformed X.509 structure: {e}"))?;
        let anchor = if parsed.is_self_issued() {
            Some(
                webpki::anchor_from_trusted_cert(&der)
                    .map_err(|e| format!("{e:?}"))?
                    .to_owned(),
            )
        } else {
            None
        };
        let basic_constraints = parsed.basic_constraints();
        let subject_dn = names::subject_dn(&der);
        let info = CaInfo {
            subject_dn: subject_dn.clone(),
            validity: Validity::of(&parsed),
            key_usage: parsed.key_usage(),
            basic_constraints_ca: basic_constraints.map(|(ca, _)| ca),
            path_len: basic_constraints.and_then(|(_, len)| len),
            ns_cert_type_ca: parsed.ns_cert_type_ca(),
        };
        if advertise
            && !self
                .hint_subjects
                .iter()
                .any(|s| s.as_slice() == parsed.subject)
        {
            self.hint_subjects.push(parsed.subject.to_vec());
            self.hints
                .push(DistinguishedName::in_sequence(parsed.subject));
            self.accepted_names.push(subject_dn);
        }
        if let Some(anchor) = anchor {
            self.anchors.push(anchor);
            self.anchor_info.push(info);
        } else {
            self.intermediates.push(der.clone());
            self.intermediate_info.push(info);
        }
        self.certificates.push(der);
        Ok(())
    }

    fn add_crls(&mut self, source: &Source) -> Result<(), TrustStoreError> {
        let bytes = source.read(self.policy.max_file_size)?;
        let ders = crl_ders(&bytes).map_err(|error| TrustStoreError::Pem {
            source_name: source.name(),
            error,
        })?;
        if ders.is_empty() {
            return Err(TrustStoreError::NoCrls {
                source_name: source.name(),
            });
        }
        for (index, der) in ders.into_iter().enumerate() {
            let (crl, info) = parse_crl(&source.name(), index + 1, &der)?;
            self.crl_info.push(info);
            self.crls.push(Arc::new(crl));
            self.crl_ders.push(der);
        }
        Ok(())
    }

    fn finish(self) -> TrustStore {
        let mut breakpoints: Vec<u64> = self
            .anchor_info
            .iter()
            .chain(&self.intermediate_info)
            .flat_map(|info| {
                [info.validity.not_before(), info.validity.not_after()].map(|t| t.as_secs())
            })
            .chain(
                self.crl_info
                    .iter()
                    .flat_map(|crl| std::iter::once(crl.this_update).chain(crl.next_update)),
            )
            .collect();
        breakpoints.sort_unstable();
        breakpoints.dedup();
        TrustStore {
            inner: Arc::new(Inner {
                certificates: self.certificates,
                anchors: self.anchors,
                anchor_info: self.anchor_info,
                intermediates: self.intermediates,
                intermediate_info: self.intermediate_info,
                hints: self.hints,
                accepted_names: self.accepted_names,
                crls: self.crls,
                crl_signatures: CrlSignatures::new(&self.crl_ders),
                crl_ders: self.crl_ders,
                crl_info: self.crl_info,
                breakpoints,
                spiffe_bundles: self.spiffe_bundles,
                skipped: self.skipped,
            }),
            generation: 1,
        }
    }
}

/// `bytes` (JSON) of `source` as a SPIFFE bundle.
fn parse_spiffe_bundle(source: &Source, bytes: &[u8]) -> Result<SpiffeBundle, TrustStoreError> {
    #[cfg(feature = "spiffe-bundle")]
    let parsed = SpiffeBundle::parse(bytes);
    #[cfg(not(feature = "spiffe-bundle"))]
    let parsed = {
        let _ = bytes;
        Err(SpiffeBundleError::Unsupported)
    };
    parsed.map_err(|error| TrustStoreError::SpiffeBundle {
        source_name: source.name(),
        error,
    })
}

/// Parses CRL #`index` of `source_name` as the classifier will use it.
pub(crate) fn parse_crl(
    source_name: &str,
    index: usize,
    der: &CertificateRevocationListDer<'_>,
) -> Result<(CertRevocationList<'static>, CrlInfo), TrustStoreError> {
    let bad = |reason: String| TrustStoreError::BadCrl {
        source_name: source_name.to_owned(),
        index,
        reason,
    };
    // OwnedCertRevocationList::from_der, with the entries counted.
    let borrowed =
        BorrowedCertRevocationList::from_der(der.as_ref()).map_err(|e| bad(format!("{e:?}")))?;
    let revoked = borrowed.into_iter().count();
    let crl = borrowed.to_owned().map_err(|e| bad(format!("{e:?}")))?;
    let parsed =
        ParsedCrl::parse(der.as_ref()).ok_or_else(|| bad("malformed CRL structure".to_owned()))?;
    if parsed.crl_number_critical() {
        // rustls-webpki would use it; OpenSSL (nginx) fails every
        // chain that needs it (36, unhandled critical CRL extension).
        return Err(bad(
            "its cRLNumber extension is marked critical, which RFC 5280 5.2.3 forbids \
             (OpenSSL cannot use such a CRL either); have the CA reissue it"
                .to_owned(),
        ));
    }
    let info = CrlInfo {
        issuer: parsed.issuer.to_vec(),
        issuer_dn: names::name_dn(parsed.issuer),
        this_update: parsed.this_update.unix_time().as_secs(),
        next_update: parsed.next_update.map(|t| t.unix_time().as_secs()),
        revoked,
        number: parsed.crl_number().map(<[u8]>::to_vec),
    };
    Ok((CertRevocationList::Owned(crl), info))
}

/// Reads CRLs: PEM (any number of `X509 CRL` blocks) or one DER CRL.
pub(crate) fn crl_ders(
    bytes: &[u8],
) -> Result<Vec<CertificateRevocationListDer<'static>>, pem::Error> {
    if looks_like_pem(bytes) {
        CertificateRevocationListDer::pem_slice_iter(bytes).collect()
    } else if bytes.is_empty() {
        Ok(Vec::new())
    } else {
        Ok(vec![CertificateRevocationListDer::from(bytes.to_vec())])
    }
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// A certificate left out of a [`TrustStore`] because it cannot be used
/// (see [`TrustStoreBuilder::refuse_unusable_certificates`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedCertificate {
    source_name: String,
    index: usize,
    reason: String,
}

impl SkippedCertificate {
    /// The file (or in-memory source) that holds it.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Its 1-based position in the source.
    pub fn index(&self) -> usize {
        self.index
    }

    /// What is wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    fn into_error(self) -> TrustStoreError {
        TrustStoreError::BadCertificate {
            source_name: self.source_name,
            index: self.index,
            reason: self.reason,
        }
    }
}

impl fmt::Display for SkippedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: certificate #{} cannot be used and was left out: {}",
            self.source_name, self.index, self.reason
        )
    }
}

/// Why a trust store could not be built or reloaded. Each variant names the
/// file (or in-memory source) at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustStoreError {
    /// No CA bundle and no trusted certificates were configured.
    #[error(
        "no CA certificates configured: add a CA bundle (ca_file/ca_pem) or trusted certificates (trusted_file/trusted_pem)"
    )]
    NoCaConfigured,
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A source is not valid PEM.
    #[error("{source_name}: not valid PEM: {error}")]
    Pem {
        /// The file or in-memory source.
        source_name: String,
        /// What the PEM reader found.
        error: pem::Error,
    },
    /// A certificate source holds no `CERTIFICATE` block.
    #[error(
        "{source_name}: contains no certificates (expected PEM blocks \"-----BEGIN CERTIFICATE-----\")"
    )]
    NoCertificates {
        /// The file or in-memory source.
        source_name: String,
    },
    /// A file is larger than the limit
    /// ([`TrustStoreBuilder::max_file_size`]).
    #[error(
        "{}: larger than {limit} bytes, the most a trust store reads (see TrustStoreBuilder::max_file_size)",
        path.display()
    )]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A certificate does not parse.
    #[error("{source_name}: certificate #{index} cannot be parsed: {reason}")]
    BadCertificate {
        /// The file or in-memory source.
        source_name: String,
        /// 1-based position of the certificate in the source.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A CRL source holds no CRL.
    #[error(
        "{source_name}: contains no CRL (expected DER or PEM blocks \"-----BEGIN X509 CRL-----\")"
    )]
    NoCrls {
        /// The file or in-memory source.
        source_name: String,
    },
    /// A CRL does not parse or uses an unsupported feature.
    #[error("{source_name}: CRL #{index} cannot be used: {reason}")]
    BadCrl {
        /// The file or in-memory source.
        source_name: String,
        /// 1-based position of the CRL in the source.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A CA source is SPIFFE bundle JSON that cannot be used.
    #[error("{source_name}: SPIFFE bundle refused: {error}")]
    SpiffeBundle {
        /// The file or in-memory source.
        source_name: String,
        /// What is wrong with it.
        error: SpiffeBundleError,
    },
    /// [`reload`](crate::ReloadableTrustStore::reload) was called on a store
    /// that was not built from files.
    #[error(
        "this trust store was not loaded from files, so it cannot be reloaded: use ReloadableTrustStore::from_files, or replace()"
    )]
    NotFileBacked,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const BIT_STRING: u8 = 0x03;
    const OCTET_STRING: u8 = 0x04;
    const OID: u8 = 0x06;
    const BOOLEAN: u8 = 0x01;
    const UTC_TIME: u8 = 0x17;
    const CRL_EXTENSIONS: u8 = 0xA0;
    const OID_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];

    /// DER TLV with a short or one-byte long form length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match u8::try_from(content.len()) {
            Ok(len) if len < 0x80 => out.push(len),
            Ok(len) => out.extend([0x81, len]),
            Err(_) => panic!("test TLVs stay short"),
        }
        out.extend_from_slice(content);
        out
    }

    /// A CRL (unsigned: only its structure matters here) whose cRLNumber
    /// extension carries `critical`, with `revoked` entries.
    fn crl_with_number(critical: Option<bool>, revoked: usize) -> Vec<u8> {
        let alg = tlv(
            SEQUENCE,
            &tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
        );
        let cn = [tlv(OID, &[0x55, 0x04, 0x03]), tlv(0x0c, b"CA")].concat();
        let issuer = tlv(SEQUENCE, &tlv(0x31, &tlv(SEQUENCE, &cn)));
        let mut number = tlv(OID, OID_CRL_NUMBER);
        if let Some(c) = critical {
            number.extend(tlv(BOOLEAN, &[if c { 0xff } else { 0x00 }]));
        }
        number.extend(tlv(OCTET_STRING, &tlv(INTEGER, &[0x05])));
        let aki = [
            tlv(OID, &[0x55, 0x1d, 0x23]),
            tlv(OCTET_STRING, &[0x30, 0x00]),
        ]
        .concat();
        let exts = tlv(
            CRL_EXTENSIONS,
            &tlv(
                SEQUENCE,
                &[tlv(SEQUENCE, &aki), tlv(SEQUENCE, &number)].concat(),
            ),
        );
        let entry = [tlv(INTEGER, &[0x01]), tlv(UTC_TIME, b"231114221320Z")].concat();
        let revoked = tlv(SEQUENCE, &vec![tlv(SEQUENCE, &entry); revoked].concat());
        let mut tbs = [tlv(INTEGER, &[0x01]), alg.clone(), issuer].concat();
        tbs.extend(tlv(UTC_TIME, b"231114221320Z"));
        tbs.extend(tlv(UTC_TIME, b"241114221320Z"));
        tbs.extend(revoked);
        tbs.extend(exts);
        let list = [tlv(SEQUENCE, &tbs), alg, tlv(BIT_STRING, &[0x00, 0x01])].concat();
        tlv(SEQUENCE, &list)
    }

    fn store_with_crl(crl: Vec<u8>) -> Result<TrustStore, TrustStoreError> {
        let ca = mtls_testpki::Ca::root("CA").build();
        TrustStore::builder()
            .ca_pem(ca.cert_pem())
            .crl_pem(crl)
            .build()
    }

    #[test]
    fn crl_with_critical_crl_number_is_refused() {
        let err = store_with_crl(crl_with_number(Some(true), 1)).expect_err("refused");
        assert!(
            matches!(err, TrustStoreError::BadCrl { index: 1, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("cRLNumber extension is marked critical"),
            "{err}"
        );
        // The same CRL with a non-critical (or default) cRLNumber loads.
        for critical in [Some(false), None] {
            let store = store_with_crl(crl_with_number(critical, 1)).expect("loads");
            assert_eq!(store.crl_count(), 1);
        }
    }
}
