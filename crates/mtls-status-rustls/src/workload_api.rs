//! The SPIFFE Workload API as a source of trust bundles and of the
//! server's own X509-SVID (feature `workload-api`).
//!
//! The gRPC client is the `spiffe` crate's [`WorkloadApiClient`]
//! (`FetchX509SVID`, a stream that the agent, SPIRE's for instance, pushes
//! a new message on whenever an SVID or a bundle changes). This module
//! turns each message into the crate's own reloadable material and keeps
//! the last good material whenever the stream breaks or sends something
//! unusable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use spiffe::transport::Endpoint;
use spiffe::{WorkloadApiClient, WorkloadApiError, X509Context};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_stream::{Stream, StreamExt as _};

use crate::classifier::{Classifier, ClassifierBuilder};
use crate::policy::RootHints;
use crate::reload::ReloadableTrustStore;
use crate::reload_report;
use crate::server_cert::ServerCertificate;
use crate::trust_store::TrustStore;

/// How long [`WorkloadApiSourceBuilder::start`] waits by default for the
/// first usable X509-SVID: 30 seconds.
pub const DEFAULT_WORKLOAD_API_START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one connection attempt (connect and the stream's first
/// response headers) may take by default: 10 seconds.
pub const DEFAULT_WORKLOAD_API_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The first reconnection delay after a failure by default: 200 ms,
/// doubled after each further failure up to
/// [`DEFAULT_WORKLOAD_API_MAX_BACKOFF`].
pub const DEFAULT_WORKLOAD_API_MIN_BACKOFF: Duration = Duration::from_millis(200);

/// The longest reconnection delay by default: 30 seconds.
pub const DEFAULT_WORKLOAD_API_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The environment variable naming the Workload API endpoint when
/// [`WorkloadApiSourceBuilder::endpoint`] is not called (SPIFFE Workload
/// Endpoint specification).
const ENDPOINT_ENV: &str = "SPIFFE_ENDPOINT_SOCKET";

/// Trust bundles and the server's own X509-SVID, streamed from the SPIFFE
/// Workload API (a SPIRE agent's socket, for instance) and rotated without
/// restart.
///
/// - Each trust domain's bundle feeds a [`ReloadableTrustStore`] for
///   [`ClassifierBuilder::trust_domain`]: the bundle of the server's own
///   trust domain and every federated bundle the agent sends, plus the
///   trust domains declared with
///   [`trust_domain`](WorkloadApiSourceBuilder::trust_domain) (empty until
///   a bundle for them arrives). A federated bundle the agent stops sending
///   is emptied, so its SVIDs are refused from then on, as go-spiffe's
///   `X509Source` does.
/// - The SVID and its key feed a [`ServerCertificate`]: give it to
///   [`MtlsAcceptor::new`](crate::MtlsAcceptor::new) and new handshakes
///   present the current SVID.
/// - Every update and every failure is reported like any other reload:
///   `tracing` events and `mtls_reloads_total{material="workload_api"}`
///   (feature `metrics`; the installed SVID and bundles are also counted as
///   `server_certificate` and `trust_store`). An update that cannot be
///   used in full (a key the provider cannot load or that does not match
///   the SVID, a bundle webpki refuses, a message that does not parse) is
///   refused whole, with a warning, and the last good material stays.
/// - When the stream breaks or the agent goes away, the last good SVID and
///   bundles stay in force, a warning is logged, and the source reconnects
///   with exponential backoff (200 ms doubling up to 30 s by default).
///
/// The source follows the stream in a tokio task; dropping the source stops
/// it (the [`ServerCertificate`] and the stores keep their last material).
///
/// The crypto provider is the caller's, as everywhere in this crate.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use mtls_status_rustls::{WorkloadApiSource, WorkloadApiSourceError};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # runtime.block_on(async {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// // No agent listens there: start gives up after the start timeout,
/// // saying why.
/// let started = WorkloadApiSource::builder(provider)
///     .endpoint("unix:/nonexistent/spire-agent/api.sock")
///     .start_timeout(Duration::from_millis(300))
///     .start()
///     .await;
/// match started {
///     Err(WorkloadApiSourceError::StartTimeout { last_error, .. }) => {
///         assert!(last_error.is_some());
///     }
///     other => panic!("expected a start timeout, got {other:?}"),
/// }
/// # });
/// # Ok(()) }
/// ```
///
/// A server whose identity and client trust both come from the agent:
///
/// ```no_run
/// use std::sync::Arc;
/// use mtls_status::VerifyMode;
/// use mtls_status_rustls::{MtlsAcceptor, WorkloadApiSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let source = WorkloadApiSource::builder(Arc::clone(&provider))
///     .endpoint("unix:/run/spire/agent/api.sock") // default: $SPIFFE_ENDPOINT_SOCKET
///     .trust_domain("partner.example") // federated, may arrive later
///     .start()
///     .await?;
/// let classifier = source.classifier_builder(provider).build()?;
/// let acceptor = MtlsAcceptor::new(classifier, VerifyMode::On, source.server_certificate().clone())?;
/// // ... accept connections with `acceptor`; keep `source` alive.
/// # let _ = acceptor;
/// # Ok(()) }
/// ```
pub struct WorkloadApiSource {
    server_cert: ServerCertificate,
    trust_domains: BTreeMap<String, ReloadableTrustStore>,
    status: Arc<Mutex<WorkloadApiStatus>>,
    task: JoinHandle<()>,
}

/// Configures and starts a [`WorkloadApiSource`].
#[derive(Clone, Debug)]
#[must_use]
pub struct WorkloadApiSourceBuilder {
    provider: Arc<CryptoProvider>,
    endpoint: Option<String>,
    trust_domains: BTreeSet<String>,
    svid: SvidChoice,
    start_timeout: Duration,
    connect_timeout: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
}

/// Which of the workload's SVIDs the server presents.
#[derive(Clone, Debug)]
enum SvidChoice {
    /// The first one (the Workload API's default SVID).
    Default,
    /// The one with this hint.
    Hint(String),
    /// The one with this SPIFFE ID.
    SpiffeId(String),
}

/// Why [`WorkloadApiSourceBuilder::start`] did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadApiSourceError {
    /// The endpoint is missing (no `SPIFFE_ENDPOINT_SOCKET`) or is not a
    /// `unix:` / `tcp:` address.
    #[error("SPIFFE Workload API endpoint: {0}")]
    Endpoint(String),
    /// No usable X509-SVID arrived within the start timeout.
    #[error(
        "no usable X509-SVID from the SPIFFE Workload API at {endpoint} within {waited:?}{}",
        last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
    )]
    StartTimeout {
        /// The endpoint tried.
        endpoint: String,
        /// The start timeout.
        waited: Duration,
        /// What went wrong last, if anything did (connection refused, a
        /// refused update, ...); `None` when the agent simply sent nothing.
        last_error: Option<String>,
    },
}

/// What a [`WorkloadApiSource`] has done so far, for health checks and
/// status pages (see [`WorkloadApiSource::status`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkloadApiStatus {
    /// Whether a stream is open now.
    pub connected: bool,
    /// Streams opened (the first included).
    pub connections: u64,
    /// Updates applied (the first included), also those that changed
    /// nothing.
    pub updates: u64,
    /// Failures: connection attempts and streams that failed, updates
    /// refused in whole or in part.
    pub failures: u64,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// The SPIFFE ID of the SVID in force.
    pub spiffe_id: String,
}

impl WorkloadApiSource {
    /// A builder loading keys with `provider`.
    pub fn builder(provider: Arc<CryptoProvider>) -> WorkloadApiSourceBuilder {
        WorkloadApiSourceBuilder {
            provider,
            endpoint: None,
            trust_domains: BTreeSet::new(),
            svid: SvidChoice::Default,
            start_timeout: DEFAULT_WORKLOAD_API_START_TIMEOUT,
            connect_timeout: DEFAULT_WORKLOAD_API_CONNECT_TIMEOUT,
            min_backoff: DEFAULT_WORKLOAD_API_MIN_BACKOFF,
            max_backoff: DEFAULT_WORKLOAD_API_MAX_BACKOFF,
        }
    }

    /// The server certificate: the current SVID and its key.
    pub fn server_certificate(&self) -> &ServerCertificate {
        &self.server_cert
    }

    /// The store fed by the bundle of `trust_domain` (`example.org`), if
    /// the source follows it.
    pub fn trust_domain(&self, trust_domain: &str) -> Option<&ReloadableTrustStore> {
        self.trust_domains.get(trust_domain)
    }

    /// Every trust domain followed, with its store, in name order.
    pub fn trust_domains(&self) -> impl Iterator<Item = (&str, &ReloadableTrustStore)> {
        self.trust_domains
            .iter()
            .map(|(name, store)| (name.as_str(), store))
    }

    /// Adds every followed trust domain to `builder`
    /// ([`ClassifierBuilder::trust_domain`]).
    pub fn add_trust_domains(&self, builder: ClassifierBuilder) -> ClassifierBuilder {
        self.trust_domains
            .iter()
            .fold(builder, |builder, (name, store)| {
                builder.trust_domain(name.clone(), store.clone())
            })
    }

    /// A classifier builder that verifies client SVIDs against the bundles
    /// of this source only (an empty base store, no CA names advertised:
    /// SPIFFE clients choose their SVID themselves). Adjust it as any
    /// [`ClassifierBuilder`] (depth, CRLs, ...).
    pub fn classifier_builder(&self, provider: Arc<CryptoProvider>) -> ClassifierBuilder {
        let base = ReloadableTrustStore::new(TrustStore::empty());
        self.add_trust_domains(Classifier::builder(base, provider).root_hints(RootHints::None))
    }

    /// What the source has done so far.
    pub fn status(&self) -> WorkloadApiStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for WorkloadApiSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl fmt::Debug for WorkloadApiSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkloadApiSource")
            .field("trust_domains", &self.trust_domains.keys())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl WorkloadApiSourceBuilder {
    /// The Workload API endpoint: `unix:/path/to/socket` (or
    /// `unix:///path`), or `tcp:127.0.0.1:8081`. Default: the
    /// `SPIFFE_ENDPOINT_SOCKET` environment variable.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Also follows `trust_domain` (`partner.example` or
    /// `spiffe://partner.example`) even if the first update has no bundle
    /// for it: its store starts empty and fills when the agent sends one.
    /// Bundles of trust domains neither declared nor in the first update
    /// cannot join the classifier later and are ignored (with a warning).
    pub fn trust_domain(mut self, trust_domain: impl AsRef<str>) -> Self {
        let name = trust_domain.as_ref();
        let name = name.strip_prefix("spiffe://").unwrap_or(name);
        self.trust_domains.insert(name.to_ascii_lowercase());
        self
    }

    /// Presents the SVID whose hint is `hint` (the Workload API's
    /// operator-chosen label) instead of the first (default) SVID.
    pub fn svid_hint(mut self, hint: impl Into<String>) -> Self {
        self.svid = SvidChoice::Hint(hint.into());
        self
    }

    /// Presents the SVID whose SPIFFE ID is `id` instead of the first
    /// (default) SVID.
    pub fn svid_spiffe_id(mut self, id: impl Into<String>) -> Self {
        self.svid = SvidChoice::SpiffeId(id.into());
        self
    }

    /// How long [`start`](Self::start) waits for the first usable update.
    /// Default [`DEFAULT_WORKLOAD_API_START_TIMEOUT`].
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// How long one connection attempt may take. Default
    /// [`DEFAULT_WORKLOAD_API_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The reconnection delays: `min` after the first failure, doubled
    /// after each further one up to `max`, back to `min` once an update
    /// arrives. Defaults [`DEFAULT_WORKLOAD_API_MIN_BACKOFF`] and
    /// [`DEFAULT_WORKLOAD_API_MAX_BACKOFF`]; `max` is raised to `min` if
    /// smaller, and `min` to 1 ms.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min.max(Duration::from_millis(1));
        self.max_backoff = max.max(self.min_backoff);
        self
    }

    /// Connects, waits for the first usable update (an SVID whose key
    /// loads with the provider, bundles that parse) and starts following
    /// the stream in a tokio task. Connection failures and unusable
    /// updates before that are retried with the backoff until the start
    /// timeout, and reported as later ones are.
    ///
    /// # Errors
    ///
    /// [`WorkloadApiSourceError::Endpoint`] at once for a missing or
    /// malformed endpoint; [`WorkloadApiSourceError::StartTimeout`] when no
    /// usable update arrived in time.
    pub async fn start(self) -> Result<WorkloadApiSource, WorkloadApiSourceError> {
        let endpoint_text = match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => std::env::var(ENDPOINT_ENV).map_err(|_| {
                WorkloadApiSourceError::Endpoint(format!(
                    "no endpoint given and {ENDPOINT_ENV} is not set"
                ))
            })?,
        };
        let endpoint = Endpoint::parse(&endpoint_text).map_err(|error| {
            WorkloadApiSourceError::Endpoint(format!("{endpoint_text}: {error}"))
        })?;
        let status = Arc::new(Mutex::new(WorkloadApiStatus::default()));
        let mut follower = Follower {
            endpoint,
            endpoint_text,
            provider: Arc::clone(&self.provider),
            svid: self.svid.clone(),
            connect_timeout: self.connect_timeout,
            backoff: Backoff::new(self.min_backoff, self.max_backoff),
            server_cert: None,
            stores: BTreeMap::new(),
            ignored: BTreeSet::new(),
            status: Arc::clone(&status),
        };
        let deadline = Instant::now() + self.start_timeout;
        let timed_out = |status: &Mutex<WorkloadApiStatus>, endpoint: &str| {
            WorkloadApiSourceError::StartTimeout {
                endpoint: endpoint.to_owned(),
                waited: self.start_timeout,
                last_error: status
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .last_error
                    .clone(),
            }
        };
        loop {
            let connected =
                tokio::time::timeout_at(deadline, follower.connect(self.connect_timeout)).await;
            let Ok(connected) = connected else {
                return Err(timed_out(&status, &follower.endpoint_text));
            };
            if let Some(mut stream) = connected {
                loop {
                    let Ok(item) = tokio::time::timeout_at(deadline, stream.next()).await else {
                        return Err(timed_out(&status, &follower.endpoint_text));
                    };
                    let Some(item) = item else {
                        follower.failed(&"the stream ended before a usable update");
                        break;
                    };
                    match item {
                        Ok(context) => match follower.first(&context, &self.trust_domains) {
                            Ok(server_cert) => {
                                return Ok(follower.spawn(server_cert, stream));
                            }
                            Err(error) => follower.refused(&error),
                        },
                        Err(error) => follower.stream_error(&error),
                    }
                }
            }
            let delay = follower.backoff.next();
            if tokio::time::timeout_at(deadline, tokio::time::sleep(delay))
                .await
                .is_err()
            {
                return Err(timed_out(&status, &follower.endpoint_text));
            }
        }
    }
}

/// Exponential backoff between `min` and `max`.
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay before the next attempt; the one after is twice as long.
    fn next(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(self.max);
        delay
    }

    /// The delay the next failure will wait, without counting it.
    fn peek(&self) -> Duration {
        self.next
    }

    fn reset(&mut self) {
        self.next = self.min;
    }
}

type ContextStream =
    std::pin::Pin<Box<dyn Stream<Item = Result<X509Context, WorkloadApiError>> + Send>>;

/// A trust domain's store and the bundle (DER) it was last built from.
struct Followed {
    store: ReloadableTrustStore,
    bundle: Vec<CertificateDer<'static>>,
}

/// The state of the task following the stream.
struct Follower {
    endpoint: Endpoint,
    endpoint_text: String,
    provider: Arc<CryptoProvider>,
    svid: SvidChoice,
    connect_timeout: Duration,
    backoff: Backoff,
    /// `None` until the first usable update.
    server_cert: Option<ServerCertificate>,
    stores: BTreeMap<String, Followed>,
    /// Trust domains whose bundles are ignored (warned once each).
    ignored: BTreeSet<String>,
    status: Arc<Mutex<WorkloadApiStatus>>,
}

/// An SVID and bundles taken apart, ready to install.
struct Material {
    spiffe_id: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    bundles: BTreeMap<String, Vec<CertificateDer<'static>>>,
}

impl Follower {
    fn with_status<T>(&self, f: impl FnOnce(&mut WorkloadApiStatus) -> T) -> T {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Connects and opens the stream within `timeout`; a failure is
    /// reported and gives `None`.
    async fn connect(&mut self, timeout: Duration) -> Option<ContextStream> {
        let endpoint = self.endpoint.clone();
        let open = async move {
            let client = WorkloadApiClient::connect(endpoint).await?;
            let stream = client.stream_x509_contexts().await?;
            Ok::<ContextStream, WorkloadApiError>(Box::pin(stream))
        };
        match tokio::time::timeout(timeout, open).await {
            Ok(Ok(stream)) => {
                tracing::info!(
                    endpoint = %self.endpoint_text,
                    "workload API stream open"
                );
                self.with_status(|status| {
                    status.connected = true;
                    status.connections = status.connections.saturating_add(1);
                });
                Some(stream)
            }
            Ok(Err(error)) => {
                self.failed(&error);
                None
            }
            Err(_) => {
                self.failed(&format_args!("no answer within {timeout:?}"));
                None
            }
        }
    }

    /// The connection or stream failed: warn, count, note.
    fn failed(&mut self, error: &dyn fmt::Display) {
        reload_report::workload_api_failed(&self.endpoint_text, error, self.backoff.peek());
        let message = error.to_string();
        self.with_status(|status| {
            status.connected = false;
            status.failures = status.failures.saturating_add(1);
            status.last_error = Some(message);
        });
    }

    /// An update was unusable (in whole or in part).
    fn refused(&mut self, error: &dyn fmt::Display) {
        reload_report::workload_api_refused(&self.endpoint_text, error);
        let message = error.to_string();
        self.with_status(|status| {
            status.failures = status.failures.saturating_add(1);
            status.last_error = Some(message);
        });
    }

    /// An error item of the stream: a message that did not parse is a
    /// refused update, anything else (a gRPC status, the transport) a
    /// failure of the stream.
    fn stream_error(&mut self, error: &WorkloadApiError) {
        match error {
            WorkloadApiError::X509Svid(_)
            | WorkloadApiError::X509Bundle(_)
            | WorkloadApiError::SpiffeId(_)
            | WorkloadApiError::MissingRequiredField { .. }
            | WorkloadApiError::InvalidResponseField { .. } => self.refused(error),
            _ => self.failed(error),
        }
    }

    /// Takes an update apart (the chosen SVID, every bundle).
    fn material(&self, context: &X509Context) -> Result<Material, String> {
        let svid = match &self.svid {
            SvidChoice::Default => context.default_svid(),
            SvidChoice::Hint(hint) => context
                .svids()
                .iter()
                .find(|svid| svid.hint() == Some(hint.as_str())),
            SvidChoice::SpiffeId(id) => context
                .svids()
                .iter()
                .find(|svid| svid.spiffe_id().to_string() == *id),
        };
        let Some(svid) = svid else {
            return Err(match &self.svid {
                SvidChoice::Default => "the update holds no X509-SVID".to_owned(),
                SvidChoice::Hint(hint) => {
                    format!("the update holds no X509-SVID with hint {hint:?}")
                }
                SvidChoice::SpiffeId(id) => format!("the update holds no X509-SVID for {id}"),
            });
        };
        let chain = svid
            .cert_chain()
            .iter()
            .map(|cert| CertificateDer::from(cert.as_bytes().to_vec()))
            .collect();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            svid.private_key().as_bytes().to_vec(),
        ));
        let bundles = context
            .bundle_set()
            .iter()
            .map(|(trust_domain, bundle)| {
                let ders = bundle
                    .authorities()
                    .iter()
                    .map(|cert| CertificateDer::from(cert.as_bytes().to_vec()))
                    .collect();
                (trust_domain.as_str().to_owned(), ders)
            })
            .collect();
        Ok(Material {
            spiffe_id: svid.spiffe_id().to_string(),
            chain,
            key,
            bundles,
        })
    }

    /// The first usable update: creates the server certificate and the
    /// stores, all or nothing.
    fn first(
        &mut self,
        context: &X509Context,
        declared: &BTreeSet<String>,
    ) -> Result<ServerCertificate, String> {
        let material = self.material(context)?;
        let server_cert =
            ServerCertificate::new(Arc::clone(&self.provider), material.chain, material.key)
                .map_err(|error| format!("X509-SVID {}: {error}", material.spiffe_id))?;
        let mut stores = BTreeMap::new();
        for (name, bundle) in &material.bundles {
            let store =
                trust_store(bundle).map_err(|error| format!("bundle of {name}: {error}"))?;
            stores.insert(name.clone(), (store, bundle.clone()));
        }
        let mut changed = Vec::new();
        for name in declared.iter().chain(material.bundles.keys()) {
            if self.stores.contains_key(name) {
                continue;
            }
            let (store, bundle) = stores
                .remove(name)
                .unwrap_or_else(|| (TrustStore::empty(), Vec::new()));
            if !bundle.is_empty() {
                changed.push(format!("bundle {name}"));
            }
            self.stores.insert(
                name.clone(),
                Followed {
                    store: ReloadableTrustStore::new(store),
                    bundle,
                },
            );
        }
        changed.push("svid".to_owned());
        self.server_cert = Some(server_cert.clone());
        self.applied(&material.spiffe_id, &changed);
        Ok(server_cert)
    }

    /// A later update, all or nothing: the bundles that changed are built
    /// first, then the SVID is installed if it changed, then the bundles.
    /// Anything unusable refuses the whole update and the material in force
    /// stays.
    fn apply(&mut self, context: &X509Context) {
        match self.install(context) {
            Ok((spiffe_id, changed)) => self.applied(&spiffe_id, &changed),
            Err(error) => self.refused(&error),
        }
    }

    /// [`apply`](Self::apply) without the reporting of the whole update:
    /// what changed, or why nothing was installed.
    fn install(&mut self, context: &X509Context) -> Result<(String, Vec<String>), String> {
        let material = self.material(context)?;
        let mut changed = Vec::new();
        let mut new_stores = Vec::new();
        for (name, followed) in &self.stores {
            match material.bundles.get(name) {
                Some(bundle) if *bundle == followed.bundle => {}
                Some(bundle) => match trust_store(bundle) {
                    Ok(store) => {
                        new_stores.push((name.clone(), store, bundle.clone()));
                        changed.push(format!("bundle {name}"));
                    }
                    Err(error) => {
                        reload_report::trust_store_refused(
                            &error,
                            &format!("Workload API bundle of {name}"),
                            followed.store.generation(),
                        );
                        return Err(format!("bundle of {name}: {error}"));
                    }
                },
                None if followed.bundle.is_empty() => {}
                None => {
                    tracing::warn!(
                        trust_domain = %name,
                        "the Workload API no longer sends this trust domain's bundle; \
                         its SVIDs are refused from now on"
                    );
                    new_stores.push((name.clone(), TrustStore::empty(), Vec::new()));
                    changed.push(format!("bundle {name} removed"));
                }
            }
        }
        if let Some(server_cert) = &self.server_cert
            && server_cert.current().cert != material.chain
        {
            server_cert
                .replace(material.chain, material.key)
                .map_err(|error| format!("X509-SVID {}: {error}", material.spiffe_id))?;
            changed.push("svid".to_owned());
        }
        for (name, store, bundle) in new_stores {
            if let Some(followed) = self.stores.get_mut(&name) {
                followed.store.replace(store);
                followed.bundle = bundle;
            }
        }
        for name in material.bundles.keys() {
            if !self.stores.contains_key(name) && self.ignored.insert(name.clone()) {
                tracing::warn!(
                    trust_domain = %name,
                    "Workload API bundle ignored: the trust domain was not followed at start \
                     (declare it with WorkloadApiSourceBuilder::trust_domain)"
                );
            }
        }
        Ok((material.spiffe_id, changed))
    }

    fn applied(&mut self, spiffe_id: &str, changed: &[String]) {
        reload_report::workload_api_applied(&self.endpoint_text, spiffe_id, changed);
        self.backoff.reset();
        self.with_status(|status| {
            status.updates = status.updates.saturating_add(1);
            spiffe_id.clone_into(&mut status.spiffe_id);
        });
    }

    /// Starts following `stream` after the first update.
    fn spawn(self, server_cert: ServerCertificate, stream: ContextStream) -> WorkloadApiSource {
        let trust_domains = self
            .stores
            .iter()
            .map(|(name, followed)| (name.clone(), followed.store.clone()))
            .collect();
        let status = Arc::clone(&self.status);
        let task = tokio::spawn(self.follow(stream));
        WorkloadApiSource {
            server_cert,
            trust_domains,
            status,
            task,
        }
    }

    /// Follows the stream, reconnecting whenever it ends.
    async fn follow(mut self, mut stream: ContextStream) {
        loop {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(context) => self.apply(&context),
                    Err(error) => self.stream_error(&error),
                }
            }
            if self.with_status(|status| status.connected) {
                self.failed(&"the stream ended");
            }
            // Let the connection go before waiting to reconnect.
            drop(stream);
            stream = loop {
                tokio::time::sleep(self.backoff.next()).await;
                if let Some(stream) = self.connect(self.connect_timeout).await {
                    break stream;
                }
            };
        }
    }
}

/// A trust store of a bundle's authorities.
fn trust_store(
    bundle: &[CertificateDer<'static>],
) -> Result<TrustStore, crate::trust_store::TrustStoreError> {
    TrustStore::builder().ca_der(bundle.iter().cloned()).build()
}
