//! CRL refresh (feature `crl-refresh`): fetch CRLs over HTTP from
//! configured URLs and/or the cRLDistributionPoints of the trust store's CAs
//! and of client chains seen, verify them against their issuer in the trust
//! store, and merge them into the [`ReloadableTrustStore`] before their
//! nextUpdate, keeping the last good CRL on any failure.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mtls_status::der::{Certificate as ParsedCert, Crl as ParsedCrl, KeyUsage};
use mtls_status::metrics::CrlRefreshResult;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::{CertificateDer, UnixTime};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::Classifier;
use crate::fetch::{self, HttpUrl, Limits};
use crate::reload::ReloadableTrustStore;
use crate::reload_report;
use crate::trust_store::{self, CrlInfo, FetchedCrl};

/// Default timeout of one CRL fetch (connecting included): 10 seconds.
pub const DEFAULT_CRL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on one CRL's size: 16 MiB.
pub const DEFAULT_MAX_CRL_BYTES: usize = 16 * 1024 * 1024;
/// Default shortest time between two fetches of one URL after a success: 1 minute.
pub const DEFAULT_CRL_MIN_INTERVAL: Duration = Duration::from_secs(60);
/// Default longest time between two fetches of one URL: 1 hour, so a
/// revocation published before nextUpdate is picked up within it.
pub const DEFAULT_CRL_MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Default first retry after a failed fetch: 30 seconds (then doubling, up
/// to the max interval, jittered).
pub const DEFAULT_CRL_RETRY: Duration = Duration::from_secs(30);
/// Default fraction of the time left until nextUpdate waited before the
/// next fetch: one half.
pub const DEFAULT_CRL_REFRESH_FRACTION: f64 = 0.5;
/// Default cap on the number of CRL URLs followed: 64.
pub const DEFAULT_MAX_CRL_SOURCES: usize = 64;

/// Why a [`CrlRefresherBuilder`] cannot build.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CrlRefreshConfigError {
    /// A configured URL is not a plain `http://` URL.
    #[error("CRL URL: {0}")]
    BadUrl(String),
    /// Neither a URL nor distribution points were configured.
    #[error("nothing to refresh: configure a CRL URL or take them from the distribution points")]
    NoSources,
    /// An interval or fraction is out of range.
    #[error("CRL refresh settings: {0}")]
    BadSettings(String),
}

/// What the refresher knows about one CRL URL.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrlSourceStatus {
    /// The URL.
    pub url: String,
    /// How the last fetch ended (`None` before the first).
    pub last_result: Option<CrlRefreshResult>,
    /// Why the last fetch failed or was refused.
    pub last_error: Option<String>,
    /// When a fetch last succeeded.
    pub last_success: Option<UnixTime>,
    /// Consecutive failed or refused fetches.
    pub consecutive_failures: u32,
    /// The RFC 2253 issuer of the last good CRL from this URL.
    pub issuer: Option<String>,
    /// thisUpdate of the last good CRL from this URL.
    pub this_update: Option<UnixTime>,
    /// nextUpdate of the last good CRL from this URL.
    pub next_update: Option<UnixTime>,
    /// When the URL is fetched next.
    pub next_refresh: UnixTime,
}

/// Builds a [`CrlRefresher`]; see there.
#[derive(Clone)]
#[must_use]
pub struct CrlRefresherBuilder {
    store: ReloadableTrustStore,
    provider: Arc<CryptoProvider>,
    urls: Vec<String>,
    from_distribution_points: bool,
    timeout: Duration,
    max_bytes: usize,
    min_interval: Duration,
    max_interval: Duration,
    retry: Duration,
    fraction: f64,
    max_sources: usize,
}

impl CrlRefresherBuilder {
    /// Fetches the CRL at `url` (`http://` only, as nginx's and OpenSSL's
    /// CRL fetching). Repeatable.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.urls.push(url.into());
        self
    }

    /// Also fetches the `http://` cRLDistributionPoints of the trust
    /// store's certificates (re-read after every reload) and of the chains
    /// passed to [`CrlRefresher::observe`].
    pub fn from_distribution_points(mut self) -> Self {
        self.from_distribution_points = true;
        self
    }

    /// Timeout of one fetch, connecting included
    /// ([`DEFAULT_CRL_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest CRL accepted, in bytes ([`DEFAULT_MAX_CRL_BYTES`]); a
    /// larger answer is refused and the CRL in force stays.
    pub fn max_crl_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Shortest wait between two fetches of a URL after a success
    /// ([`DEFAULT_CRL_MIN_INTERVAL`]).
    pub fn min_interval(mut self, interval: Duration) -> Self {
        self.min_interval = interval;
        self
    }

    /// Longest wait between two fetches of a URL
    /// ([`DEFAULT_CRL_MAX_INTERVAL`]).
    pub fn max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// First retry after a failure ([`DEFAULT_CRL_RETRY`]); each further
    /// failure doubles it, up to the max interval, with ±25 % jitter.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry = interval;
        self
    }

    /// After a success, wait this fraction of the time left until the
    /// CRL's nextUpdate (within the min and max intervals, ±10 % jitter)
    /// ([`DEFAULT_CRL_REFRESH_FRACTION`]).
    pub fn refresh_fraction(mut self, fraction: f64) -> Self {
        self.fraction = fraction;
        self
    }

    /// At most this many URLs are followed ([`DEFAULT_MAX_CRL_SOURCES`]);
    /// further distribution points are ignored (logged once).
    pub fn max_sources(mut self, sources: usize) -> Self {
        self.max_sources = sources;
        self
    }

    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`CrlRefreshConfigError`]: a URL that is not `http://`, nothing to
    /// refresh, a zero timeout or interval, min above max, a fraction
    /// outside (0, 1].
    pub fn build(self) -> Result<CrlRefresher, CrlRefreshConfigError> {
        let bad = |what: &str| Err(CrlRefreshConfigError::BadSettings(what.to_owned()));
        if self.urls.is_empty() && !self.from_distribution_points {
            return Err(CrlRefreshConfigError::NoSources);
        }
        if self.timeout.is_zero() || self.min_interval.is_zero() || self.retry.is_zero() {
            return bad("the timeout, the min interval and the retry interval must be positive");
        }
        if self.min_interval > self.max_interval {
            return bad("the min interval is longer than the max interval");
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return bad("the refresh fraction must be in (0, 1]");
        }
        if self.max_sources == 0 || self.max_bytes == 0 {
            return bad("max sources and max CRL bytes must be positive");
        }
        let mut sources = BTreeMap::new();
        for url in &self.urls {
            let parsed = HttpUrl::parse(url).map_err(CrlRefreshConfigError::BadUrl)?;
            sources.insert(parsed.to_string(), Source::new(parsed));
        }
        let inner = Inner {
            store: self.store,
            provider: self.provider,
            from_distribution_points: self.from_distribution_points,
            limits: Limits {
                connect_timeout: self.timeout,
                total_timeout: self.timeout,
                max_body: self.max_bytes,
            },
            min_interval: self.min_interval,
            max_interval: self.max_interval,
            retry: self.retry,
            fraction: self.fraction,
            max_sources: self.max_sources,
            sources: Mutex::new(Sources {
                by_url: sources,
                full_logged: false,
            }),
            wake: Notify::new(),
        };
        let refresher = CrlRefresher {
            inner: Arc::new(inner),
        };
        refresher.sync_distribution_points();
        Ok(refresher)
    }
}

impl fmt::Debug for CrlRefresherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlRefresherBuilder")
            .field("urls", &self.urls)
            .field("from_distribution_points", &self.from_distribution_points)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .field("min_interval", &self.min_interval)
            .field("max_interval", &self.max_interval)
            .field("retry", &self.retry)
            .field("fraction", &self.fraction)
            .finish_non_exhaustive()
    }
}

/// Keeps the CRLs of a [`ReloadableTrustStore`] fresh: fetches them over
/// HTTP from configured URLs and/or the cRLDistributionPoints of the trust
/// store's CAs and of client chains seen ([`observe`](Self::observe)),
/// verifies each against its issuer in the trust store with the
/// classifier's crypto provider, and merges it into the store (replacing
/// the CRL fetched before from the same URL and older CRLs of the same
/// issuer, keeping the CAs and other file CRLs; see
/// [`ReloadableTrustStore`] for how reloads and refreshes combine).
///
/// A CRL is refused, and the last good one stays in force, when the fetch
/// fails (server down, timeout, not 200, larger than
/// [`max_crl_bytes`](CrlRefresherBuilder::max_crl_bytes)), the answer is
/// not one CRL (PEM or DER), its signature does not verify with a
/// trust-store CA named as its issuer (with cRLSign if that CA has a
/// keyUsage), or it is older (cRLNumber, else thisUpdate) than the CRL of
/// that issuer in force. The CRL in force is served again: nothing is
/// installed (cached verdicts stay).
///
/// Schedule per URL: after a success, a fraction of the time left until
/// nextUpdate, within the min and max intervals; after a failure, a
/// jittered exponential retry. Every fetch is logged with `tracing` (age,
/// nextUpdate, next refresh, or why it failed and which CRL stays) and
/// counted as `mtls_crl_refresh_total{result}` with the
/// `mtls_crl_next_refresh_timestamp_seconds` and
/// `mtls_crl_last_refresh_success_timestamp_seconds` gauges (feature
/// `metrics`; names in [`mtls_status::metrics`]).
///
/// Cloning shares the same refresher. [`spawn`](Self::spawn) runs it on
/// the tokio runtime; [`refresh_all`](Self::refresh_all) fetches every
/// URL once now (e.g. before serving).
///
/// ```no_run
/// # async fn demo(classifier: mtls_status_rustls::Classifier) -> Result<(), Box<dyn std::error::Error>> {
/// use mtls_status_rustls::CrlRefresher;
///
/// let refresher = CrlRefresher::builder(&classifier)
///     .url("http://crl.example/clients-ca.crl")
///     .from_distribution_points()
///     .build()?;
/// refresher.refresh_all().await; // bounded by the timeout per URL
/// let _task = refresher.spawn(); // refreshes until dropped
/// # Ok(()) }
/// ```
///
/// The `crl_refresh` tests show it against a real HTTP server.
#[derive(Clone)]
pub struct CrlRefresher {
    inner: Arc<Inner>,
}

struct Inner {
    store: ReloadableTrustStore,
    provider: Arc<CryptoProvider>,
    from_distribution_points: bool,
    limits: Limits,
    min_interval: Duration,
    max_interval: Duration,
    retry: Duration,
    fraction: f64,
    max_sources: usize,
    sources: Mutex<Sources>,
    wake: Notify,
}

struct Sources {
    by_url: BTreeMap<String, Source>,
    full_logged: bool,
}

struct Source {
    url: HttpUrl,
    next_at: Instant,
    status: CrlSourceStatus,
    /// The issuer DER of the last good CRL from this URL.
    issuer: Option<Vec<u8>>,
}

impl Source {
    fn new(url: HttpUrl) -> Self {
        Self {
            status: CrlSourceStatus {
                url: url.to_string(),
                last_result: None,
                last_error: None,
                last_success: None,
                consecutive_failures: 0,
                issuer: None,
                this_update: None,
                next_update: None,
                next_refresh: UnixTime::now(),
            },
            url,
            next_at: Instant::now(),
            issuer: None,
        }
    }
}

/// The result of one fetch before it is recorded.
struct Fetched {
    result: CrlRefreshResult,
    error: Option<String>,
    crl: Option<CrlInfo>,
}

impl CrlRefresher {
    /// Starts a refresher for the trust store and crypto provider of
    /// `classifier`.
    pub fn builder(classifier: &Classifier) -> CrlRefresherBuilder {
        CrlRefresherBuilder {
            store: classifier.trust_store().clone(),
            provider: Arc::clone(classifier.provider()),
            urls: Vec::new(),
            from_distribution_points: false,
            timeout: DEFAULT_CRL_TIMEOUT,
            max_bytes: DEFAULT_MAX_CRL_BYTES,
            min_interval: DEFAULT_CRL_MIN_INTERVAL,
            max_interval: DEFAULT_CRL_MAX_INTERVAL,
            retry: DEFAULT_CRL_RETRY,
            fraction: DEFAULT_CRL_REFRESH_FRACTION,
            max_sources: DEFAULT_MAX_CRL_SOURCES,
        }
    }

    /// With [`from_distribution_points`](CrlRefresherBuilder::from_distribution_points):
    /// follows the `http://` distribution points of `chain` (a client's
    /// certificates) too, fetched by the running task soon. Returns how
    /// many URLs were new. Cheap when nothing is new.
    pub fn observe(&self, chain: &[CertificateDer<'_>]) -> usize {
        if !self.inner.from_distribution_points {
            return 0;
        }
        let added = self.add_distribution_points(chain.iter());
        if added > 0 {
            self.inner.wake.notify_one();
        }
        added
    }

    /// What is known about every URL followed, in URL order.
    pub fn sources(&self) -> Vec<CrlSourceStatus> {
        self.lock()
            .by_url
            .values()
            .map(|s| s.status.clone())
            .collect()
    }

    /// Fetches every URL once now, one after the other (each bounded by the
    /// timeout), whatever their schedule; returns their status afterwards.
    pub async fn refresh_all(&self) -> Vec<CrlSourceStatus> {
        self.sync_distribution_points();
        let urls: Vec<String> = self.lock().by_url.keys().cloned().collect();
        for url in urls {
            self.refresh_one(&url).await;
        }
        self.sources()
    }

    /// Runs the refresher on the current tokio runtime until the returned
    /// handle is dropped (or [`CrlRefreshTask::abort`]ed). URLs never
    /// fetched are fetched at once.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn(&self) -> CrlRefreshTask {
        let refresher = self.clone();
        CrlRefreshTask(tokio::spawn(async move { refresher.run().await }))
    }

    async fn run(self) {
        loop {
            self.sync_distribution_points();
            let now = Instant::now();
            let due: Vec<String> = self
                .lock()
                .by_url
                .iter()
                .filter(|(_, s)| s.next_at <= now)
                .map(|(url, _)| url.clone())
                .collect();
            for url in due {
                self.refresh_one(&url).await;
            }
            let next = self
                .lock()
                .by_url
                .values()
                .map(|s| s.next_at)
                .min()
                .unwrap_or_else(|| Instant::now() + self.inner.max_interval);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = self.inner.wake.notified() => {}
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sources> {
        self.inner
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the distribution points of the trust store's certificates.
    fn sync_distribution_points(&self) {
        if self.inner.from_distribution_points {
            let store = self.inner.store.current();
            self.add_distribution_points(store.certificates().iter());
        }
    }

    fn add_distribution_points<'c>(
        &self,
        certs: impl Iterator<Item = &'c CertificateDer<'c>>,
    ) -> usize {
        let mut found = Vec::new();
        for cert in certs {
            let Ok(parsed) = ParsedCert::parse(cert.as_ref()) else {
                continue;
            };
            for url in parsed.crl_distribution_points() {
                match HttpUrl::parse(url) {
                    Ok(url) => found.push(url),
                    Err(error) => tracing::debug!(%error, "CRL distribution point not followed"),
                }
            }
        }
        let mut sources = self.lock();
        let mut added = 0;
        for url in found {
            let key = url.to_string();
            if sources.by_url.contains_key(&key) {
                continue;
            }
            if sources.by_url.len() >= self.inner.max_sources {
                if !sources.full_logged {
                    sources.full_logged = true;
                    tracing::warn!(
                        url = key,
                        max_sources = self.inner.max_sources,
                        "CRL distribution point not followed: already following the most CRL URLs allowed"
                    );
                }
                continue;
            }
            tracing::info!(url = key, "following CRL distribution point");
            sources.by_url.insert(key, Source::new(url));
            added += 1;
        }
        added
    }

    async fn refresh_one(&self, key: &str) {
        let Some((url, issuer)) = self
            .lock()
            .by_url
            .get(key)
            .map(|s| (s.url.clone(), s.issuer.clone()))
        else {
            return;
        };
        let fetched = match fetch::get(&url, self.inner.limits).await {
            Err(error) => Fetched {
                result: CrlRefreshResult::Failed,
                error: Some(error.0),
                crl: None,
            },
            Ok(body) => self.accept(key, &body),
        };
        self.record(key, issuer.as_deref(), fetched);
    }

    /// Checks and installs a fetched body.
    fn accept(&self, key: &str, body: &[u8]) -> Fetched {
        let refused = |error: String| Fetched {
            result: CrlRefreshResult::Refused,
            error: Some(error),
            crl: None,
        };
        let ders = match trust_store::crl_ders(body) {
            Ok(ders) => ders,
            Err(error) => return refused(format!("not valid PEM: {error}")),
        };
        let [der] = ders.as_slice() else {
            return refused(format!(
                "expected one CRL (DER or PEM \"X509 CRL\"), got {}",
                ders.len()
            ));
        };
        let info = match trust_store::parse_crl(key, 1, der) {
            Ok((_, info)) => info,
            Err(error) => return refused(error.to_string()),
        };
        let Some(parsed) = ParsedCrl::parse(der.as_ref()) else {
            return refused("malformed CRL structure".to_owned());
        };
        let store = self.inner.store.current();
        if let Err(error) = self.verify_issuer(&store, &parsed, &info) {
            return refused(error);
        }
        let in_force = store
            .crl_info()
            .iter()
            .filter(|have| have.issuer == info.issuer)
            .max_by(|a, b| a.recency(b));
        match in_force.map(|have| info.recency(have)) {
            Some(std::cmp::Ordering::Less) => {
                let have = in_force.map(describe).unwrap_or_default();
                return refused(format!(
                    "older than the CRL in force for {} ({have}; fetched: {})",
                    info.issuer_dn,
                    describe(&info)
                ));
            }
            Some(std::cmp::Ordering::Equal) if store.crl_ders().contains(der) => {
                return Fetched {
                    result: CrlRefreshResult::Unchanged,
                    error: None,
                    crl: Some(info),
                };
            }
            _ => {}
        }
        match self.inner.store.install_fetched_crl(FetchedCrl {
            source: key.to_owned(),
            der: der.clone(),
        }) {
            Ok(_) => Fetched {
                result: CrlRefreshResult::Updated,
                error: None,
                crl: Some(info),
            },
            Err(error) => refused(error.to_string()),
        }
    }

    /// The CRL must be signed by a trust-store CA named as its issuer.
    fn verify_issuer(
        &self,
        store: &crate::TrustStore,
        crl: &ParsedCrl<'_>,
        info: &CrlInfo,
    ) -> Result<(), String> {
        let algs = &self.inner.provider.signature_verification_algorithms;
        let mut named = 0;
        for candidate in store.certificates() {
            let Ok(ca) = ParsedCert::parse(candidate.as_ref()) else {
                continue;
            };
            if ca.subject != crl.issuer {
                continue;
            }
            named += 1;
            if ca.key_usage().allows(KeyUsage::CRL_SIGN)
                && crate::signed::verify_raw(
                    candidate,
                    crl.signature_algorithm,
                    crl.tbs,
                    crl.signature,
                    algs,
                )
            {
                return Ok(());
            }
        }
        Err(if named == 0 {
            format!(
                "its issuer {} is not a CA of the trust store",
                info.issuer_dn
            )
        } else {
            format!(
                "its signature does not verify with the key of the trust store's {} \
                 (or that CA may not sign CRLs)",
                info.issuer_dn
            )
        })
    }

    /// Updates the URL's status and schedule, then reports.
    fn record(&self, key: &str, previous_issuer: Option<&[u8]>, fetched: Fetched) {
        let now = unix_now();
        let store = self.inner.store.current();
        let mut sources = self.lock();
        let Some(source) = sources.by_url.get_mut(key) else {
            return;
        };
        let delay = if fetched.result.is_success() {
            source.status.consecutive_failures = 0;
            let next_update = fetched.crl.as_ref().and_then(|c| c.next_update);
            let wait = match next_update {
                Some(next) if next > now => Duration::from_secs(next - now)
                    .mul_f64(self.inner.fraction)
                    .clamp(self.inner.min_interval, self.inner.max_interval),
                // Served past its nextUpdate: look again soon.
                Some(_) => self.inner.min_interval,
                None => self.inner.max_interval,
            };
            self.jitter(wait, 0.1)
        } else {
            source.status.consecutive_failures =
                source.status.consecutive_failures.saturating_add(1);
            let doublings = source.status.consecutive_failures.saturating_sub(1).min(20);
            let wait = self
                .inner
                .retry
                .saturating_mul(1 << doublings)
                .min(self.inner.max_interval.max(self.inner.retry));
            self.jitter(wait, 0.25)
        };
        source.next_at = Instant::now() + delay;
        let next_refresh = now.saturating_add(delay.as_secs());
        let status = &mut source.status;
        status.last_result = Some(fetched.result);
        status.last_error.clone_from(&fetched.error);
        status.next_refresh = UnixTime::since_unix_epoch(Duration::from_secs(next_refresh));
        if let Some(crl) = &fetched.crl {
            source.issuer = Some(crl.issuer.clone());
            status.last_success = Some(UnixTime::since_unix_epoch(Duration::from_secs(now)));
            status.issuer = Some(crl.issuer_dn.clone());
            status.this_update = Some(unix(crl.this_update));
            status.next_update = crl.next_update.map(unix);
        }
        let status = status.clone();
        drop(sources);
        match (&fetched.crl, &fetched.error) {
            (Some(crl), _) => reload_report::crl_refreshed(
                &status.url,
                fetched.result,
                &crl.issuer_dn,
                crl.this_update,
                crl.next_update,
                next_refresh,
                now,
            ),
            (None, error) => {
                // The CRL in force for the issuer this URL served before.
                let kept = previous_issuer.and_then(|issuer| {
                    store
                        .crl_info()
                        .iter()
                        .filter(|have| have.issuer == issuer)
                        .max_by(|a, b| a.recency(b))
                        .cloned()
                });
                reload_report::crl_refresh_failed(
                    &status.url,
                    fetched.result,
                    error.as_deref().unwrap_or_default(),
                    kept.as_ref()
                        .map(|k| (k.issuer_dn.as_str(), k.this_update, k.next_update)),
                    status.consecutive_failures,
                    next_refresh,
                    now,
                );
            }
        }
    }

    /// `wait` moved by up to ±`spread` of itself, at random (the provider's
    /// random source; unjittered if it fails).
    fn jitter(&self, wait: Duration, spread: f64) -> Duration {
        let mut bytes = [0u8; 2];
        if self.inner.provider.secure_random.fill(&mut bytes).is_err() {
            return wait;
        }
        let unit = f64::from(u16::from_be_bytes(bytes)) / f64::from(u16::MAX); // [0, 1]
        wait.mul_f64(1.0 + spread * (2.0 * unit - 1.0))
    }
}

impl fmt::Debug for CrlRefresher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlRefresher")
            .field("sources", &self.sources())
            .field(
                "from_distribution_points",
                &self.inner.from_distribution_points,
            )
            .finish_non_exhaustive()
    }
}

/// The running refresher of [`CrlRefresher::spawn`]; dropping it stops the
/// refreshes (the CRLs fetched stay in the trust store).
#[derive(Debug)]
#[must_use = "dropping the task stops the refreshes"]
pub struct CrlRefreshTask(tokio::task::JoinHandle<()>);

impl CrlRefreshTask {
    /// Stops the refreshes now.
    pub fn abort(&self) {
        self.0.abort();
    }
}

impl Drop for CrlRefreshTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn describe(crl: &CrlInfo) -> String {
    let number = crl.number.as_deref().map_or_else(
        || "no cRLNumber".to_owned(),
        |n| format!("cRLNumber {}", mtls_status::identity::format_serial(n)),
    );
    format!("{number}, thisUpdate {}", crl.this_update)
}

fn unix(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
