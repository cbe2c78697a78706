//! OCSP for client certificates, as nginx's `ssl_ocsp`: after the
//! handshake, a verified chain's certificates are looked up at their
//! responders; a revoked, unknown or unobtainable status turns the
//! `Verified` outcome into `Invalid` (495).

mod cache;
mod passed;
mod request;
mod response;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mtls_status::der::Certificate as ParsedCert;
use mtls_status::{ClientAuthOutcome, InvalidCertificate, InvalidReason, ReasonKind};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::Classifier;
use crate::fetch::{self, HttpUrl, Limits};
use crate::verify::MAX_SUPPORTED_DEPTH;
use cache::{Cache, Key, Lookup};
use passed::Passed;
use sha2::{Digest, Sha256};

/// The default [`OcspCheckerBuilder::timeout`]: 5 seconds for a whole
/// exchange with the responder.
pub const DEFAULT_OCSP_TIMEOUT: Duration = Duration::from_secs(5);
/// The default [`OcspCheckerBuilder::max_cache_lifetime`]: an answer is
/// reused for at most 1 hour, less if its nextUpdate comes sooner.
pub const DEFAULT_OCSP_MAX_CACHE_LIFETIME: Duration = Duration::from_secs(3600);
/// The default [`OcspCheckerBuilder::max_cache_bytes`]: 1 MiB of answers
/// (several thousand certificates).
pub const DEFAULT_OCSP_CACHE_BYTES: usize = 1024 * 1024;
/// The default [`OcspCheckerBuilder::clock_skew`]: 5 minutes, what nginx
/// passes to `OCSP_check_validity`.
pub const DEFAULT_OCSP_CLOCK_SKEW: Duration = Duration::from_secs(300);
/// The largest answer accepted from a responder.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Which certificates of a verified chain are looked up (nginx
/// `ssl_ocsp on | leaf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OcspMode {
    /// Every certificate of the chain except the root (`ssl_ocsp on`).
    Chain,
    /// The client certificate only (`ssl_ocsp leaf`).
    Leaf,
}

/// What happens when a status cannot be obtained (no responder URL,
/// responder down, slow, failing, or an answer that does not check out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OcspFailPolicy {
    /// The connection is `Invalid` with
    /// [`ReasonKind::OcspRequestFailed`], as nginx does. The default.
    Closed,
    /// The connection keeps its `Verified` outcome; the reason is logged
    /// (`tracing::error!`).
    Open,
}

/// A certificate's status, as its responder reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OcspStatus {
    /// Not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// The revocation time (Unix seconds).
        revoked_at: u64,
        /// The CRL reason code, when the responder gave one.
        reason: Option<String>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

impl fmt::Display for OcspStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Good => f.write_str("good"),
            Self::Revoked { revoked_at, reason } => {
                let at = mtls_status::identity::format_time(unix(*revoked_at));
                match reason {
                    Some(reason) => write!(f, "revoked at {at} ({reason})"),
                    None => write!(f, "revoked at {at}"),
                }
            }
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

fn unix(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

/// A responder's checked answer about one certificate.
#[derive(Clone, Debug)]
pub struct OcspAnswer {
    status: OcspStatus,
    subject: String,
    serial: String,
    responder: String,
    signer: String,
    produced_at: u64,
    this_update: u64,
    next_update: Option<u64>,
    /// Unix seconds until which it is cached: its nextUpdate, at most the
    /// configured lifetime.
    cache_until: u64,
}

impl OcspAnswer {
    /// The certificate's status.
    pub fn status(&self) -> &OcspStatus {
        &self.status
    }

    /// The certificate's subject (RFC 2253).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The certificate's serial number (hex, as `$ssl_client_serial`).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The responder URL asked.
    pub fn responder(&self) -> &str {
        &self.responder
    }

    /// The subject of the certificate that signed the answer: the issuer,
    /// or a delegated OCSP signer.
    pub fn signer(&self) -> &str {
        &self.signer
    }

    /// producedAt.
    pub fn produced_at(&self) -> UnixTime {
        unix(self.produced_at)
    }

    /// thisUpdate.
    pub fn this_update(&self) -> UnixTime {
        unix(self.this_update)
    }

    /// nextUpdate, when the responder gave one.
    pub fn next_update(&self) -> Option<UnixTime> {
        self.next_update.map(unix)
    }

    fn heap_size(&self) -> usize {
        self.subject.len()
            + self.serial.len()
            + self.responder.len()
            + self.signer.len()
            + match &self.status {
                OcspStatus::Revoked {
                    reason: Some(reason),
                    ..
                } => reason.len(),
                _ => 0,
            }
    }

    #[cfg(test)]
    fn for_tests(status: OcspStatus) -> Self {
        Self {
            status,
            subject: "CN=test".into(),
            serial: "01".into(),
            responder: "http://127.0.0.1/".into(),
            signer: "CN=ca".into(),
            produced_at: 0,
            this_update: 0,
            next_update: None,
            cache_until: u64::MAX,
        }
    }
}

impl fmt::Display for OcspAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (serial {}, responder {}, signed by \"{}\", thisUpdate {}",
            self.subject,
            self.status,
            self.serial,
            self.responder,
            self.signer,
            mtls_status::identity::format_time(self.this_update()),
        )?;
        if let Some(next) = self.next_update() {
            write!(
                f,
                ", nextUpdate {}",
                mtls_status::identity::format_time(next)
            )?;
        }
        f.write_str(")")
    }
}

/// What went wrong in a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OcspErrorKind {
    /// The certificate names no OCSP responder and none is configured.
    NoResponder,
    /// The certificate's issuer is not in the chain or the trust store.
    IssuerNotFound,
    /// The responder could not be reached, was too slow, or did not answer
    /// HTTP 200.
    Http,
    /// The answer is not a well-formed OCSP response.
    Malformed,
    /// The responder answered with an error status (tryLater, ...).
    ResponderError,
    /// The answer's signature does not verify.
    BadSignature,
    /// The answer is signed by a certificate not authorized to answer for
    /// the issuer.
    UnauthorizedSigner,
    /// The answer is about another certificate.
    CertIdMismatch,
    /// thisUpdate is in the future.
    NotYetValid,
    /// nextUpdate has passed.
    Expired,
    /// The answer's nonce is missing or not ours.
    Nonce,
}

/// Why a certificate's status could not be obtained.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct OcspError {
    kind: OcspErrorKind,
    message: String,
}

pub(crate) use OcspErrorKind as ErrorKind;

impl OcspError {
    fn new(kind: OcspErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> OcspErrorKind {
        self.kind
    }

    fn about(mut self, subject: &str, responder: Option<&str>) -> Self {
        self.message = match responder {
            Some(url) => format!("\"{subject}\" at {url}: {}", self.message),
            None => format!("\"{subject}\": {}", self.message),
        };
        self
    }
}

/// Why an [`OcspChecker`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspConfigError {
    /// The responder URL is not `http://host[:port][/path]`.
    #[error("OCSP responder URL: {0}")]
    ResponderUrl(String),
}

/// Looks client certificates up at their OCSP responders after the
/// handshake, as nginx's `ssl_ocsp`; give it to
/// [`MtlsAcceptor::ocsp`](crate::MtlsAcceptor::ocsp).
///
/// - Only `Verified` chains are looked up (as nginx: a failed chain is
///   never queried); [`OcspMode::Chain`] looks up every certificate but the
///   root, [`OcspMode::Leaf`] the client certificate only.
/// - The responder is the certificate's authorityInfoAccess OCSP URL, or
///   the [`responder`](OcspCheckerBuilder::responder) override; `http://`
///   only. The request is nginx's: HTTP/1.0 GET of the base64 request
///   (POST when that URL would pass 255 bytes), CertID with SHA-1.
/// - The answer must be signed by the issuer or by a certificate the issuer
///   issued with the OCSPSigning extended key usage, name the certificate's
///   CertID, have a thisUpdate not in the future and a nextUpdate not passed
///   (5 minutes of [clock skew](OcspCheckerBuilder::clock_skew), as nginx), and echo the nonce when
///   [`nonce`](OcspCheckerBuilder::nonce) is on. Signatures are checked with
///   the classifier's crypto provider.
/// - Answers are cached by certificate (issuer hashes and serial) until
///   their nextUpdate, at most [`max_cache_lifetime`](OcspCheckerBuilder::max_cache_lifetime),
///   within [`max_cache_bytes`](OcspCheckerBuilder::max_cache_bytes). A
///   cached answer never waits on the network; concurrent lookups of one
///   certificate share one request. Failures are not cached.
///
/// Outcomes: revoked is [`ReasonKind::OcspRevoked`]
/// (`FAILED:certificate revoked`), unknown [`ReasonKind::OcspUnknown`]
/// (`FAILED:certificate status unknown`), and a status that cannot be
/// obtained [`ReasonKind::OcspRequestFailed`]
/// (`FAILED:certificate status request failed`) unless the policy is
/// [`OcspFailPolicy::Open`].
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mtls_status_rustls::{Classifier, OcspChecker, OcspFailPolicy, OcspMode, ReloadableTrustStore, TrustStore};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let store = ReloadableTrustStore::new(TrustStore::empty());
/// let classifier = Classifier::builder(store, provider).build()?;
/// let checker = OcspChecker::builder(&classifier)
///     .mode(OcspMode::Leaf)
///     .responder("http://127.0.0.1:8888/")
///     .fail_policy(OcspFailPolicy::Open)
///     .timeout(Duration::from_secs(2))
///     .build()?;
/// assert_eq!(checker.mode(), OcspMode::Leaf);
/// assert!(OcspChecker::builder(&classifier).responder("https://ocsp.example/").build().is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OcspChecker {
    inner: Arc<Inner>,
}

struct Inner {
    classifier: Classifier,
    mode: OcspMode,
    responder: Option<HttpUrl>,
    fail: OcspFailPolicy,
    limits: Limits,
    max_lifetime: Duration,
    skew: Duration,
    nonce: bool,
    cache: Cache,
    passed: Passed,
}

/// Builds an [`OcspChecker`]; defaults as nginx's `ssl_ocsp on`: whole
/// chain, responder from each certificate, fail closed, no nonce.
#[derive(Debug)]
#[must_use]
pub struct OcspCheckerBuilder {
    classifier: Classifier,
    mode: OcspMode,
    responder: Option<String>,
    fail: OcspFailPolicy,
    timeout: Duration,
    max_lifetime: Duration,
    max_bytes: usize,
    skew: Duration,
    nonce: bool,
}

impl OcspCheckerBuilder {
    /// Which certificates to look up. Default [`OcspMode::Chain`].
    pub fn mode(mut self, mode: OcspMode) -> Self {
        self.mode = mode;
        self
    }

    /// Ask this responder for every certificate instead of the one each
    /// certificate names (nginx `ssl_ocsp_responder`). `http://` only.
    pub fn responder(mut self, url: impl Into<String>) -> Self {
        self.responder = Some(url.into());
        self
    }

    /// What to do when a status cannot be obtained. Default
    /// [`OcspFailPolicy::Closed`], as nginx.
    pub fn fail_policy(mut self, policy: OcspFailPolicy) -> Self {
        self.fail = policy;
        self
    }

    /// How long one exchange with a responder may take, connecting
    /// included. Default [`DEFAULT_OCSP_TIMEOUT`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The longest an answer is reused, even if its nextUpdate is later
    /// (or absent). Default [`DEFAULT_OCSP_MAX_CACHE_LIFETIME`];
    /// [`Duration::ZERO`] disables the cache (a lookup per handshake, as
    /// nginx without `ssl_ocsp_cache`).
    pub fn max_cache_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// The most bytes of cached answers (nginx `ssl_ocsp_cache
    /// shared:NAME:SIZE`). Default [`DEFAULT_OCSP_CACHE_BYTES`].
    pub fn max_cache_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// How far an answer's thisUpdate may be ahead of our clock and its
    /// nextUpdate behind it. Default [`DEFAULT_OCSP_CLOCK_SKEW`].
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// Send a random nonce with each request and require the answer to
    /// echo it (nginx sends none; responders that pre-sign answers cannot
    /// echo one).
    pub fn nonce(mut self) -> Self {
        self.nonce = true;
        self
    }

    /// Builds the checker.
    ///
    /// # Errors
    ///
    /// 1. [`OcspConfigError::ResponderUrl`] if the
    ///    [`responder`](Self::responder) is not an `http://` URL.
    pub fn build(self) -> Result<OcspChecker, OcspConfigError> {
        let responder = self
            .responder
            .map(|url| HttpUrl::parse(&url).map_err(OcspConfigError::ResponderUrl))
            .transpose()?;
        Ok(OcspChecker {
            inner: Arc::new(Inner {
                classifier: self.classifier,
                mode: self.mode,
                responder,
                fail: self.fail,
                limits: Limits {
                    connect_timeout: self.timeout,
                    total_timeout: self.timeout,
                    max_body: MAX_RESPONSE_BYTES,
                },
                max_lifetime: self.max_lifetime,
                skew: self.skew,
                nonce: self.nonce,
                cache: Cache::new(self.max_bytes),
                passed: Passed::default(),
            }),
        })
    }
}

/// One certificate to look up: its issuer, confirmed, and what the cache
/// knows the certificate by.
struct Target {
    index: usize,
    cert: CertificateDer<'static>,
    issuer: CertificateDer<'static>,
    cert_id: x509_ocsp::CertId,
    key: Key,
    /// SHA-256 of `cert`, kept with its answer: a cached answer for these
    /// very bytes confirms the issuer without checking the signature again.
    digest: [u8; 32],
    /// That answer, when it confirmed the issuer.
    cached: Option<Arc<OcspAnswer>>,
}

impl OcspChecker {
    /// Starts a checker that finds issuers in the chains `classifier`
    /// verified and in its trust store, and checks signatures with its
    /// crypto provider.
    pub fn builder(classifier: &Classifier) -> OcspCheckerBuilder {
        OcspCheckerBuilder {
            classifier: classifier.clone(),
            mode: OcspMode::Chain,
            responder: None,
            fail: OcspFailPolicy::Closed,
            timeout: DEFAULT_OCSP_TIMEOUT,
            max_lifetime: DEFAULT_OCSP_MAX_CACHE_LIFETIME,
            max_bytes: DEFAULT_OCSP_CACHE_BYTES,
            skew: DEFAULT_OCSP_CLOCK_SKEW,
            nonce: false,
        }
    }

    /// Which certificates are looked up.
    pub fn mode(&self) -> OcspMode {
        self.inner.mode
    }

    /// The policy for a status that cannot be obtained.
    pub fn fail_policy(&self) -> OcspFailPolicy {
        self.inner.fail
    }

    /// Answers in the cache, and the bytes they take.
    pub fn cache_usage(&self) -> (usize, usize) {
        (self.inner.cache.len(), self.inner.cache.bytes())
    }

    /// The outcome after OCSP: `outcome` itself unless it is `Verified`
    /// and a certificate's status is revoked, unknown, or (fail closed)
    /// cannot be obtained; then `Invalid` with the OCSP reason, naming the
    /// certificate and what the responder said.
    pub async fn check(&self, outcome: Arc<ClientAuthOutcome>) -> Arc<ClientAuthOutcome> {
        self.check_at(outcome, UnixTime::now()).await
    }

    /// Like [`check`](Self::check), judging answers and the cache at time
    /// `now` (`mtls check --at`).
    pub async fn check_at(
        &self,
        outcome: Arc<ClientAuthOutcome>,
        now: UnixTime,
    ) -> Arc<ClientAuthOutcome> {
        let ClientAuthOutcome::Verified(identity) = &*outcome else {
            return outcome;
        };
        let generation = self.inner.classifier.trust_store().current().generation();
        let now_secs = now.as_secs();
        if self.inner.passed.holds(&outcome, generation, now_secs) {
            return outcome;
        }
        match self.first_problem(identity.chain(), now_secs).await {
            Ok(until) => {
                if let Some(until) = until {
                    self.inner.passed.remember(&outcome, generation, until);
                }
                outcome
            }
            Err(reason) => Arc::new(ClientAuthOutcome::Invalid(InvalidCertificate::new(
                reason.with_time(now),
                Some(identity.clone()),
            ))),
        }
    }

    /// Looks up the certificates of `chain` (leaf first, as verified) that
    /// the [mode](OcspMode) covers, in order, stopping at the first that is
    /// not good or cannot be looked up; cached answers are used. For
    /// `mtls check --ocsp` and diagnostics.
    ///
    /// # Errors
    ///
    /// The first lookup that failed, after the answers before it.
    pub async fn lookup(
        &self,
        chain: &[CertificateDer<'_>],
    ) -> (Vec<Arc<OcspAnswer>>, Option<OcspError>) {
        self.lookup_at(chain, UnixTime::now()).await
    }

    /// Like [`lookup`](Self::lookup), judging answers (their thisUpdate and
    /// nextUpdate) and the cache at time `now`.
    ///
    /// # Errors
    ///
    /// The first lookup that failed, after the answers before it.
    pub async fn lookup_at(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> (Vec<Arc<OcspAnswer>>, Option<OcspError>) {
        let now = now.as_secs();
        let mut answers = Vec::new();
        let targets = match self.targets(chain, now) {
            Ok(targets) => targets,
            Err(error) => return (answers, Some(error)),
        };
        for target in targets {
            match self.lookup_one(&target, now).await {
                Ok(answer) => {
                    let good = answer.status == OcspStatus::Good;
                    answers.push(answer);
                    if !good {
                        break;
                    }
                }
                Err(error) => return (answers, Some(error)),
            }
        }
        (answers, None)
    }

    /// `Ok` when no certificate's status is a problem, with the time until
    /// which that holds when every answer was good (not when one was
    /// skipped by the fail-open policy); `Err` with the first problem.
    async fn first_problem(
        &self,
        chain: &[CertificateDer<'static>],
        now: u64,
    ) -> Result<Option<u64>, InvalidReason> {
        let targets = match self.targets(chain, now) {
            Ok(targets) => targets,
            Err(error) => return self.failed(error).map_or(Ok(None), Err),
        };
        let mut until = Some(u64::MAX);
        for target in targets {
            let reason = match self.lookup_one(&target, now).await {
                Ok(answer) => match &answer.status {
                    OcspStatus::Good => {
                        until = until.map(|t| t.min(answer.cache_until));
                        continue;
                    }
                    OcspStatus::Revoked { .. } => InvalidReason::new(ReasonKind::OcspRevoked)
                        .with_message(format!("{} says {}", answer.responder, answer.status)),
                    OcspStatus::Unknown => InvalidReason::new(ReasonKind::OcspUnknown)
                        .with_message(format!(
                            "{} does not know serial {}",
                            answer.responder, answer.serial
                        )),
                },
                Err(error) => match self.failed(error) {
                    Some(reason) => reason,
                    None => {
                        until = None;
                        continue;
                    }
                },
            };
            let subject = crate::names::subject_dn(&target.cert);
            let reason = reason.with_certificate(target.index, subject);
            tracing::info!(reason = reason.name(), "{}", reason.nginx_log_line());
            return Err(reason);
        }
        Ok(until)
    }

    /// A failed lookup under the fail policy: the reason (closed), or
    /// nothing after logging it (open).
    fn failed(&self, error: OcspError) -> Option<InvalidReason> {
        match self.inner.fail {
            OcspFailPolicy::Closed => {
                tracing::error!(kind = ?error.kind, "OCSP status request failed: {error}");
                Some(InvalidReason::new(ReasonKind::OcspRequestFailed).with_message(error.message))
            }
            OcspFailPolicy::Open => {
                tracing::error!(
                    kind = ?error.kind,
                    "OCSP status request failed, client accepted (fail open): {error}"
                );
                None
            }
        }
    }

    /// The certificates to look up, each with its issuer: found by name
    /// among the rest of the chain and the trust store, and confirmed by
    /// its signature, or by an answer cached for the same certificate
    /// (which was confirmed so before it was asked for).
    fn targets(&self, chain: &[CertificateDer<'_>], now: u64) -> Result<Vec<Target>, OcspError> {
        let store = self.inner.classifier.trust_store().current();
        let algs = &self
            .inner
            .classifier
            .provider()
            .signature_verification_algorithms;
        let mut targets = Vec::new();
        let Some(mut current) = chain.first().map(|c| c.clone().into_owned()) else {
            return Ok(targets);
        };
        for index in 0..=MAX_SUPPORTED_DEPTH + 1 {
            let malformed = |error: String| {
                OcspError::new(
                    ErrorKind::Malformed,
                    format!("certificate #{index}: {error}"),
                )
                .about(&crate::names::subject_dn(&current), None)
            };
            let parsed = ParsedCert::parse(current.as_ref())
                .map_err(|error| malformed(error.to_string()))?;
            if parsed.is_self_issued() {
                break;
            }
            let digest: [u8; 32] = Sha256::digest(current.as_ref()).into();
            let named: Vec<(&CertificateDer<'_>, ParsedCert<'_>)> = chain
                .iter()
                .skip(1)
                .chain(store.certificates())
                .filter_map(|candidate| {
                    let issuer = ParsedCert::parse(candidate.as_ref()).ok()?;
                    (issuer.subject == parsed.issuer).then_some((candidate, issuer))
                })
                .collect();
            let cert_id = |i: usize| request::cert_id(&parsed, &named[i].1);
            let mut cached = None;
            let confirmed = (0..named.len()).find_map(|i| {
                let id = cert_id(i).ok()?;
                cached = self.inner.cache.confirmed(&Key::of(&id), &digest, now);
                cached.is_some().then_some((i, id))
            });
            let found = match confirmed {
                Some(found) => Some(found),
                None => named
                    .iter()
                    .position(|(candidate, _)| {
                        crate::signed::verify_raw(
                            candidate,
                            parsed.signature_algorithm,
                            parsed.tbs,
                            parsed.signature,
                            algs,
                        )
                    })
                    .map(|i| cert_id(i).map(|id| (i, id)).map_err(malformed))
                    .transpose()?,
            };
            let Some((i, cert_id)) = found else {
                return Err(OcspError::new(
                    ErrorKind::IssuerNotFound,
                    "its issuer is neither in the chain nor in the trust store",
                )
                .about(&crate::names::subject_dn(&current), None));
            };
            let issuer = named[i].0.clone().into_owned();
            targets.push(Target {
                index,
                key: Key::of(&cert_id),
                cert_id,
                digest,
                cached,
                cert: current,
                issuer: issuer.clone(),
            });
            if self.inner.mode == OcspMode::Leaf {
                break;
            }
            current = issuer;
        }
        Ok(targets)
    }

    async fn lookup_one(&self, target: &Target, now: u64) -> Result<Arc<OcspAnswer>, OcspError> {
        if let Some(answer) = &target.cached {
            return Ok(Arc::clone(answer));
        }
        let flight = match self.inner.cache.lookup(&target.key, now) {
            Lookup::Cached(answer) => return Ok(answer),
            Lookup::Wait(flight) => flight,
        };
        let result = flight
            .get_or_init(|| async {
                let result = self.fetch(target, now).await;
                let expires = result.as_ref().map_or(now, |answer| answer.cache_until);
                self.inner
                    .cache
                    .land(&target.key, &flight, &result, expires, now, target.digest);
                result
            })
            .await;
        result.clone()
    }

    async fn fetch(&self, target: &Target, now: u64) -> Result<Arc<OcspAnswer>, OcspError> {
        let subject = &crate::names::subject_dn(&target.cert);
        let cert_id = &target.cert_id;
        let cert = ParsedCert::parse(target.cert.as_ref()).map_err(|error| {
            OcspError::new(ErrorKind::Malformed, error.to_string()).about(subject, None)
        })?;
        let url = match &self.inner.responder {
            Some(url) => url.clone(),
            None => {
                let urls = cert.ocsp_urls();
                let Some(url) = urls.first() else {
                    return Err(OcspError::new(
                        ErrorKind::NoResponder,
                        "the certificate names no OCSP responder (authorityInfoAccess) and \
                         none is configured",
                    )
                    .about(subject, None));
                };
                HttpUrl::parse(url).map_err(|error| {
                    OcspError::new(ErrorKind::NoResponder, error).about(subject, None)
                })?
            }
        };
        let responder = url.to_string();
        let about = |error: OcspError| error.about(subject, Some(&responder));
        let nonce = self.inner.nonce.then(|| self.random_nonce()).transpose()?;
        let der = request::encode(cert_id, nonce.as_deref())
            .map_err(|error| about(OcspError::new(ErrorKind::Malformed, error)))?;
        let get = url.with_path(request::get_path(url.path(), &der));
        let body = if get.to_string().len() <= request::MAX_GET_URL {
            fetch::get(&get, self.inner.limits).await
        } else {
            fetch::post(&url, "application/ocsp-request", &der, self.inner.limits).await
        }
        .map_err(|error| about(OcspError::new(ErrorKind::Http, error.0)))?;
        let algs = &self
            .inner
            .classifier
            .provider()
            .signature_verification_algorithms;
        let skew = self.inner.skew.as_secs();
        let checked = response::check(
            &body,
            cert_id,
            &target.issuer,
            nonce.as_deref(),
            algs,
            now,
            skew,
        )
        .map_err(about)?;
        Ok(Arc::new(OcspAnswer {
            status: checked.status,
            subject: subject.to_owned(),
            serial: mtls_status::identity::format_serial(cert.serial),
            responder,
            signer: checked.signer,
            produced_at: checked.produced_at,
            this_update: checked.this_update,
            next_update: checked.next_update,
            cache_until: {
                let cap = now.saturating_add(self.inner.max_lifetime.as_secs());
                checked.next_update.map_or(cap, |next| next.min(cap))
            },
        }))
    }

    fn random_nonce(&self) -> Result<Vec<u8>, OcspError> {
        let mut nonce = vec![0u8; 16];
        self.inner
            .classifier
            .provider()
            .secure_random
            .fill(&mut nonce)
            .map_err(|_| {
                OcspError::new(ErrorKind::Nonce, "the crypto provider gave no random bytes")
            })?;
        Ok(nonce)
    }
}

impl fmt::Debug for OcspChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspChecker")
            .field("mode", &self.inner.mode)
            .field(
                "responder",
                &self.inner.responder.as_ref().map(ToString::to_string),
            )
            .field("fail", &self.inner.fail)
            .field("limits", &self.inner.limits)
            .field("max_lifetime", &self.inner.max_lifetime)
            .field("nonce", &self.inner.nonce)
            .finish_non_exhaustive()
    }
}
