//! The classifier: presented chain + trust store in force → verdict.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use mtls_status::identity::SpiffeId;
use mtls_status::{
    ClientAuthOutcome, ClientIdentity, InvalidCertificate, InvalidReason, ReasonKind, VerifyMode,
};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::cache::{CacheStats, VerdictCache};
use crate::policy::{CrlScope, EkuPolicy, RootHints, advertised};
use crate::reload::ReloadableTrustStore;
use crate::verifier::DeferredVerifier;
use crate::verify::{self, Settings};

/// Decides what a connection's client certificate amounts to:
/// [`ClientAuthOutcome::None`], [`Invalid`](ClientAuthOutcome::Invalid)
/// with an nginx-grade reason, or [`Verified`](ClientAuthOutcome::Verified).
///
/// A classifier pairs a [`ReloadableTrustStore`] with a verification policy
/// (depth, CRL handling, extended key usage) and a verdict cache. It also
/// makes the [deferred verifier](Self::verifier) for the TLS server: the
/// handshake completes whatever the client sends (its CertificateVerify
/// signature is still checked), then the application classifies
/// `peer_certificates()` against the trust store in force **now**, on
/// every connection, resumed ones included.
///
/// Cloning is cheap and shares the cache.
///
/// # Verdicts
///
/// Path validation is rustls-webpki's (`EndEntityCert::verify_for_usage`)
/// against the store's self-issued trust anchors, with the client's
/// certificates and the CA bundle's other certificates as intermediates.
/// Its errors are mapped with [`reason_kind`](crate::reason_kind) and
/// refined the way nginx (OpenSSL) reports them:
///
/// - an unknown issuer becomes 18 ([`SelfSigned`](ReasonKind::SelfSigned),
///   a lone self-signed certificate), 19
///   ([`SelfSignedInChain`](ReasonKind::SelfSignedInChain)), 21
///   ([`UnknownLeafIssuer`](ReasonKind::UnknownLeafIssuer), a lone
///   certificate whose issuer is unknown), 2
///   ([`UnknownBundleIssuer`](ReasonKind::UnknownBundleIssuer), the chain
///   reached a CA of the store whose own issuer is missing: a bundle
///   without its root) or 20 ([`UnknownIssuer`](ReasonKind::UnknownIssuer)),
///   judged on the chain OpenSSL would build by names;
/// - a certificate outside its validity wins over an unknown issuer (an
///   expired certificate from an unknown CA is
///   [`Expired`](ReasonKind::Expired), as in nginx); trust anchors'
///   validity is checked too, as OpenSSL does;
/// - key usages are checked as OpenSSL does, where rustls-webpki does not
///   (RFC 5280 6.1.4 (n), 6.3.3 (f)): a CA of the path, trust anchor
///   included, whose keyUsage lacks keyCertSign is
///   [`InvalidCa`](ReasonKind::InvalidCa), and a CRL from a trust anchor
///   whose keyUsage lacks cRLSign is [`BadCrl`](ReasonKind::BadCrl);
/// - trust anchors are checked as OpenSSL checks them, where rustls-webpki
///   does not: one that is no CA (basicConstraints cA FALSE, or neither
///   basicConstraints nor keyUsage) issues nothing
///   ([`InvalidCa`](ReasonKind::InvalidCa)), its pathLenConstraint applies
///   ([`PathLengthExceeded`](ReasonKind::PathLengthExceeded)), and a
///   self-signed client certificate is trusted only if it is byte for byte
///   a trusted certificate (one with the same name and key but other
///   contents is [`SelfSigned`](ReasonKind::SelfSigned));
/// - the context names the offending certificate (index in the presented
///   chain and RFC 2253 subject, or the server's CA certificate), the time,
///   the validity window and the depth limit.
///
/// Differences from nginx, on purpose or imposed by rustls:
///
/// - a chain deeper than the limit is
///   [`ChainTooLong`](ReasonKind::ChainTooLong) (22), not nginx's
///   misleading 20, so `optional_no_ca` does not let it through;
/// - the extended key usage is checked before the issuer: a serverAuth-only
///   certificate from an unknown CA is
///   [`InvalidPurpose`](ReasonKind::InvalidPurpose) (nginx: 21);
/// - a lone CA certificate from an unknown CA is
///   [`SelfSigned`](ReasonKind::SelfSigned); if it is itself trusted it is
///   [`CaUsedAsLeaf`](ReasonKind::CaUsedAsLeaf);
/// - a client certificate rustls-webpki cannot parse (bad DER, an unknown
///   critical extension) fails the handshake with `bad_certificate`: its
///   key cannot check the CertificateVerify signature;
/// - a chain whose certificates share names so much that path building
///   could take long (many same-named certificates with different keys,
///   padded with unrelated ones) is [`TooComplex`](ReasonKind::TooComplex)
///   before any search, which bounds the work a client can cause per
///   handshake;
/// - a CRL whose thisUpdate is in the future is
///   [`CrlNotYetValid`](ReasonKind::CrlNotYetValid) unless CRL times are
///   [ignored](ClassifierBuilder::ignore_crl_expiry);
/// - every connection is classified against the store in force, resumed
///   ones included (nginx reuses the session's old verdict).
///
/// ```no_run
/// use std::sync::Arc;
/// use mtls_status::VerifyMode;
/// use mtls_status_rustls::{Classifier, ReloadableTrustStore, TrustStoreFiles, server_config};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let provider: Arc<rustls::crypto::CryptoProvider> = unimplemented!();
/// # let (cert_chain, key) = unimplemented!();
///
/// let store = ReloadableTrustStore::from_files(TrustStoreFiles::new().ca_file("clients-ca.pem"))?;
/// let classifier = Classifier::builder(store, provider.clone()).max_depth(2).build()?;
/// let config = server_config(provider, cert_chain, key, classifier.verifier(VerifyMode::On))?;
/// // ... after each handshake (tokio-rustls: `tls.get_ref().1`):
/// # let conn: &rustls::ServerConnection = unimplemented!();
/// let outcome = classifier.classify(conn.peer_certificates());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Classifier {
    inner: Arc<Inner>,
}

struct Inner {
    store: ReloadableTrustStore,
    provider: Arc<CryptoProvider>,
    settings: Settings,
    root_hints: RootHints,
    cache: VerdictCache,
    none: Arc<ClientAuthOutcome>,
    /// Per-trust-domain bundles (SPIFFE): a chain is verified only by the
    /// classifier of its SPIFFE ID's trust domain. Empty: `store` for all.
    trust_domains: BTreeMap<String, Classifier>,
}

impl Classifier {
    /// Starts a classifier over `store`, verifying signatures with
    /// `provider`'s algorithms. Defaults follow nginx: depth 1, CRLs (if
    /// any) for the whole chain, unknown revocation status denied, expired
    /// CRLs enforced, extended key usage clientAuth when present.
    pub fn builder(
        store: ReloadableTrustStore,
        provider: Arc<CryptoProvider>,
    ) -> ClassifierBuilder {
        ClassifierBuilder {
            store,
            provider,
            settings: Settings {
                max_depth: 1,
                crl_scope: CrlScope::Chain,
                allow_unknown_revocation: false,
                enforce_crl_expiry: true,
                eku: EkuPolicy::client_auth(),
                x509_svid: false,
            },
            root_hints: RootHints::TrustStore,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            trust_domains: Vec::new(),
        }
    }

    /// Classifies the chain a client presented (leaf first, as
    /// `ServerConnection::peer_certificates()` returns it) at the current
    /// system time. `None` or an empty chain is
    /// [`ClientAuthOutcome::None`].
    pub fn classify(
        &self,
        peer_certificates: Option<&[CertificateDer<'_>]>,
    ) -> Arc<ClientAuthOutcome> {
        self.classify_at(peer_certificates, UnixTime::now())
    }

    /// Like [`classify`](Self::classify), at time `now`.
    ///
    /// A chain classified before against the same trust-store generation is
    /// answered from the cache, as long as `now` is in the interval where
    /// that verdict cannot change (no certificate or CRL of the chain or the
    /// store starts or stops being valid in between).
    pub fn classify_at(
        &self,
        peer_certificates: Option<&[CertificateDer<'_>]>,
        now: UnixTime,
    ) -> Arc<ClientAuthOutcome> {
        let chain = match peer_certificates {
            Some(chain) if !chain.is_empty() => chain,
            _ => return Arc::clone(&self.inner.none),
        };
        if !self.inner.trust_domains.is_empty() {
            return self.classify_by_trust_domain(chain, now);
        }
        self.classify_here(chain, now)
    }

    /// The SPIFFE ID's trust domain picks the bundle; a leaf without a
    /// SPIFFE ID is classified here, where the X509-SVID rules refuse it.
    fn classify_by_trust_domain(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Arc<ClientAuthOutcome> {
        let leaf = ClientIdentity::from_der(chain[0].clone().into_owned()).ok();
        let Some((leaf, id)) = leaf.and_then(|leaf| {
            let id = leaf.spiffe_id()?.clone();
            Some((leaf, id))
        }) else {
            return self.classify_here(chain, now);
        };
        let Some(classifier) = self.inner.trust_domains.get(id.trust_domain()) else {
            let known: Vec<&str> = self
                .inner
                .trust_domains
                .keys()
                .map(String::as_str)
                .collect();
            let reason = InvalidReason::new(ReasonKind::SvidUnknownTrustDomain)
                .with_certificate(0, leaf.subject_dn())
                .with_message(format!(
                    "its SPIFFE ID {id} is in trust domain {}, which has no bundle here \
                     (trust domains: {})",
                    id.trust_domain(),
                    known.join(", ")
                ));
            return Arc::new(ClientAuthOutcome::Invalid(InvalidCertificate::new(
                reason.with_time(now),
                Some(leaf),
            )));
        };
        let outcome = classifier.classify_here(chain, now);
        match &*outcome {
            // Say which bundle refused it: a CA of another trust domain
            // never vouches for this ID.
            ClientAuthOutcome::Invalid(invalid) if invalid.reason().is_untrusted_issuer() => {
                Arc::new(ClientAuthOutcome::Invalid(InvalidCertificate::new(
                    invalid.reason().clone().with_message(format!(
                        "its SPIFFE ID {id} was checked against the bundle of trust domain {} \
                         only, and its chain does not lead to one of that bundle's CAs",
                        id.trust_domain()
                    )),
                    invalid.presented().cloned(),
                )))
            }
            _ => outcome,
        }
    }

    /// Classifies against this classifier's own store.
    fn classify_here(&self, chain: &[CertificateDer<'_>], now: UnixTime) -> Arc<ClientAuthOutcome> {
        let inner = &*self.inner;
        let t = now.as_secs();
        if let Some(hit) = inner.cache.get(inner.store.generation(), chain, t) {
            return restamp(hit, now);
        }
        let store = inner.store.current();
        let verdict = verify::classify(
            &inner.settings,
            &inner.provider.signature_verification_algorithms,
            &store,
            chain,
            now,
        );
        let outcome = Arc::new(verdict.outcome);
        if let Some(window) = verdict.window {
            inner
                .cache
                .insert(store.generation(), chain, Arc::clone(&outcome), window);
        }
        if let Some(reason) = outcome.reason() {
            tracing::debug!(
                reason = reason.name(),
                generation = store.generation(),
                "client certificate classified: {}",
                reason.nginx_log_line()
            );
        }
        outcome
    }

    /// The trust store this classifier checks against.
    pub fn trust_store(&self) -> &ReloadableTrustStore {
        &self.inner.store
    }

    /// The crypto provider signatures are checked with (OCSP answers too).
    #[cfg_attr(not(feature = "ocsp"), allow(dead_code))]
    pub(crate) fn provider(&self) -> &Arc<CryptoProvider> {
        &self.inner.provider
    }

    /// The deferred [`ClientCertVerifier`] to put in the rustls
    /// `ServerConfig` (see [`server_config`](crate::server_config)).
    ///
    /// - [`VerifyMode::Off`]: no CertificateRequest is sent, so every
    ///   connection classifies as [`ClientAuthOutcome::None`].
    /// - any other mode: a certificate is requested but never required,
    ///   and no chain is rejected in the handshake; the modes differ only
    ///   in what the HTTP/gRPC layer does with the verdict. The client's
    ///   CertificateVerify signature is always checked, so a chain
    ///   presented without its private key fails the handshake.
    ///
    /// The CA names advertised in the CertificateRequest are those of the
    /// [`RootHints`] policy, **snapshotted now**: rustls borrows them from
    /// the verifier for every handshake. Classification always uses the
    /// store in force; to advertise the new names after a reload, build the
    /// acceptor with [`MtlsAcceptor::from_config_fn`](crate::MtlsAcceptor::from_config_fn),
    /// which rebuilds verifier and `ServerConfig` when the store changes.
    pub fn verifier(&self, mode: VerifyMode) -> Arc<dyn ClientCertVerifier> {
        let hints = match &self.inner.root_hints {
            RootHints::TrustStore => advertised(self.inner.store.current().root_hint_subjects()),
            RootHints::None => Vec::new(),
            RootHints::Custom(names) => advertised(names),
        };
        Arc::new(DeferredVerifier::new(
            mode.requests_certificate(),
            hints,
            Arc::clone(&self.inner.provider),
        ))
    }

    /// Hit and miss counters of the verdict cache.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// The most intermediates accepted between the leaf and a trust anchor.
    pub fn max_depth(&self) -> usize {
        self.inner.settings.max_depth
    }
}

/// The classifier of a trusted front proxy's forwarded chains
/// (`mtls_status::proxy`): the same verdict as for a handshake here.
impl mtls_status::proxy::ClassifyChain for Classifier {
    fn classify_chain(&self, chain: &[CertificateDer<'_>]) -> Arc<ClientAuthOutcome> {
        self.classify(Some(chain))
    }
}

/// A cached `Invalid` verdict about time carries the time it was computed
/// at; give it the time of this classification instead.
fn restamp(hit: Arc<ClientAuthOutcome>, now: UnixTime) -> Arc<ClientAuthOutcome> {
    let ClientAuthOutcome::Invalid(invalid) = &*hit else {
        return hit;
    };
    let reason = invalid.reason();
    let time_bound = matches!(
        reason.kind(),
        ReasonKind::Expired
            | ReasonKind::NotYetValid
            | ReasonKind::CrlExpired
            | ReasonKind::CrlNotYetValid
    );
    if !time_bound || reason.context().time.map(|t| t.as_secs()) == Some(now.as_secs()) {
        return hit;
    }
    let restamped =
        InvalidCertificate::new(reason.clone().with_time(now), invalid.presented().cloned());
    // Whether time is the only failure does not depend on `now`.
    Arc::new(ClientAuthOutcome::Invalid(match invalid.valid_at() {
        Some(instant) => restamped.with_valid_at(instant),
        None => restamped,
    }))
}

impl fmt::Debug for Classifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Classifier")
            .field("store", &self.inner.store)
            .field("settings", &self.inner.settings)
            .field("root_hints", &self.inner.root_hints)
            .field("cache", &self.inner.cache.stats())
            .finish_non_exhaustive()
    }
}

/// The default verdict cache capacity (chains).
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// Builds a [`Classifier`]. Defaults are strict and follow nginx; each
/// relaxation is a named method.
///
/// ```
/// use std::sync::Arc;
/// use mtls_status_rustls::{Classifier, ClassifierError, CrlScope, EkuPolicy, ReloadableTrustStore, TrustStore};
///
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let store = ReloadableTrustStore::new(TrustStore::empty());
/// let classifier = Classifier::builder(store.clone(), provider.clone())
///     .max_depth(2)
///     .crl_scope(CrlScope::Leaf)
///     .allow_unknown_revocation_status()
///     .required_eku(EkuPolicy::any())
///     .cache_capacity(0)
///     .build()?;
/// assert_eq!(classifier.max_depth(), 2);
/// assert!(classifier.classify(None).is_none());
///
/// // nginx accepts any ssl_verify_depth; so does the builder (chains of
/// // more than MAX_SUPPORTED_DEPTH intermediates are still refused).
/// let deep = Classifier::builder(store, provider).max_depth(100).build()?;
/// assert_eq!(deep.max_depth(), 100);
/// # Ok::<(), ClassifierError>(())
/// ```
#[must_use]
pub struct ClassifierBuilder {
    store: ReloadableTrustStore,
    provider: Arc<CryptoProvider>,
    settings: Settings,
    root_hints: RootHints,
    cache_capacity: usize,
    trust_domains: Vec<(String, ReloadableTrustStore)>,
}

impl ClassifierBuilder {
    /// The most intermediate CAs between the client certificate and a trust
    /// anchor, as nginx's `ssl_verify_depth` with OpenSSL 1.1+: 0 = the
    /// leaf is issued by a trust anchor, 1 (the default) = one
    /// intermediate. Intermediates may come from the client or the CA
    /// bundle. A longer chain is [`ReasonKind::ChainTooLong`] (nginx would
    /// report a misleading 20). Any depth is accepted, as by nginx, but no
    /// chain with more than [`MAX_SUPPORTED_DEPTH`](crate::MAX_SUPPORTED_DEPTH) intermediates is ever
    /// followed (rustls-webpki's limit): such a chain is `chain_too_long`
    /// whatever the depth.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.settings.max_depth = depth;
        self
    }

    /// Which certificates need a CRL from their issuer when the trust store
    /// has CRLs. Default [`CrlScope::Chain`], as nginx.
    pub fn crl_scope(mut self, scope: CrlScope) -> Self {
        self.settings.crl_scope = scope;
        self
    }

    /// Accept a certificate whose issuer has no CRL in the store. By
    /// default, once the store has a CRL, such a certificate is
    /// [`ReasonKind::UnknownRevocationStatus`], as nginx ("unable to get
    /// certificate CRL").
    pub fn allow_unknown_revocation_status(mut self) -> Self {
        self.settings.allow_unknown_revocation = true;
        self
    }

    /// Reject chains checked against a CRL past its nextUpdate
    /// ([`ReasonKind::CrlExpired`]) or before its thisUpdate
    /// ([`ReasonKind::CrlNotYetValid`]). The default, as nginx.
    pub fn enforce_crl_expiry(mut self) -> Self {
        self.settings.enforce_crl_expiry = true;
        self
    }

    /// Use CRLs whatever their thisUpdate and nextUpdate (rustls's
    /// `WebPkiClientVerifier` default). Note that an expired CRL is then
    /// silently trusted.
    pub fn ignore_crl_expiry(mut self) -> Self {
        self.settings.enforce_crl_expiry = false;
        self
    }

    /// The extended key usage the chain must allow. Default
    /// [`EkuPolicy::client_auth`].
    pub fn required_eku(mut self, policy: EkuPolicy) -> Self {
        self.settings.eku = policy;
        self
    }

    /// Requires every client certificate to be an X509-SVID (SPIFFE):
    /// exactly one URI SAN, a valid SPIFFE ID; not a CA; keyUsage with
    /// digitalSignature and without keyCertSign or cRLSign. Each broken
    /// rule is its own 495 reason (`svid_multiple_uri_sans`, `svid_is_ca`,
    /// ...; see [`ReasonKind`]), checked before the path, as go-spiffe's
    /// `x509svid.Verify` does. Off by default: a plain client certificate
    /// needs no URI SAN.
    pub fn require_x509_svid(mut self) -> Self {
        self.settings.x509_svid = true;
        self
    }

    /// Verifies the SVIDs of `trust_domain` (`example.org`) against
    /// `bundle` only: a chain is checked against the bundle of its SPIFFE
    /// ID's trust domain, so a CA of trust domain A never vouches for an
    /// ID in B. Call once per trust domain (federation); implies
    /// [`require_x509_svid`](Self::require_x509_svid). An SVID of a trust
    /// domain without a bundle is [`ReasonKind::SvidUnknownTrustDomain`];
    /// one whose chain misses its bundle is an untrusted issuer (20, 21,
    /// ...) whose detail names the trust domain. The builder's own store
    /// is then only used for the CA names advertised (see
    /// [`root_hints`](Self::root_hints)) and for leaves without a SPIFFE
    /// ID (which the X509-SVID rules refuse). Each trust domain has a
    /// verdict cache of [`cache_capacity`](Self::cache_capacity) of its own.
    pub fn trust_domain(
        mut self,
        trust_domain: impl Into<String>,
        bundle: ReloadableTrustStore,
    ) -> Self {
        self.trust_domains.push((trust_domain.into(), bundle));
        self.settings.x509_svid = true;
        self
    }

    /// The CA names the deferred verifier advertises. Default
    /// [`RootHints::TrustStore`].
    pub fn root_hints(mut self, hints: RootHints) -> Self {
        self.root_hints = hints;
        self
    }

    /// How many verdicts to cache (default [`DEFAULT_CACHE_CAPACITY`]);
    /// 0 disables the cache. Chains over 16 KiB are never cached, and what
    /// the cached verdicts keep alive (each chain, and the identity and
    /// reason read from it) stays within `capacity × 16 KiB`: verdicts
    /// about bulky certificates take the room of several.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Builds the classifier.
    ///
    /// # Errors
    ///
    /// [`ClassifierError::InvalidTrustDomain`] if a
    /// [`trust_domain`](Self::trust_domain) name is not a SPIFFE trust
    /// domain name.
    pub fn build(self) -> Result<Classifier, ClassifierError> {
        let mut trust_domains = BTreeMap::new();
        for (name, bundle) in self.trust_domains {
            let id: SpiffeId = format!("spiffe://{name}").parse().map_err(|error| {
                ClassifierError::InvalidTrustDomain {
                    name: name.clone(),
                    error,
                }
            })?;
            if !id.path().is_empty() {
                return Err(ClassifierError::InvalidTrustDomain {
                    name,
                    error: mtls_status::identity::SpiffeIdError::BadTrustDomainChar,
                });
            }
            let classifier = Classifier {
                inner: Arc::new(Inner {
                    store: bundle,
                    provider: Arc::clone(&self.provider),
                    settings: self.settings.clone(),
                    root_hints: RootHints::TrustStore,
                    cache: VerdictCache::new(self.cache_capacity),
                    none: Arc::new(ClientAuthOutcome::None),
                    trust_domains: BTreeMap::new(),
                }),
            };
            if trust_domains
                .insert(id.trust_domain().to_owned(), classifier)
                .is_some()
            {
                return Err(ClassifierError::DuplicateTrustDomain { name });
            }
        }
        Ok(Classifier {
            inner: Arc::new(Inner {
                store: self.store,
                provider: self.provider,
                settings: self.settings,
                root_hints: self.root_hints,
                cache: VerdictCache::new(self.cache_capacity),
                none: Arc::new(ClientAuthOutcome::None),
                trust_domains,
            }),
        })
    }
}

impl fmt::Debug for ClassifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClassifierBuilder")
            .field("settings", &self.settings)
            .field("root_hints", &self.root_hints)
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}

/// Why a [`Classifier`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClassifierError {
    /// A [`trust_domain`](ClassifierBuilder::trust_domain) name that is
    /// not a SPIFFE trust domain name.
    #[error(
        "trust domain {name:?} is not a SPIFFE trust domain name ({error}): use e.g. example.org"
    )]
    InvalidTrustDomain {
        /// The name given.
        name: String,
        /// Why it is not one.
        error: mtls_status::identity::SpiffeIdError,
    },
    /// The same trust domain was given two bundles.
    #[error("trust domain {name:?} has two bundles: give each trust domain one")]
    DuplicateTrustDomain {
        /// The name given twice.
        name: String,
    },
}
