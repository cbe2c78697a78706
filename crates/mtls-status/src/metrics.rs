//! Metrics of client authentication.
//!
//! With the crate feature `metrics`, every request judged by
//! [`ClientAuthPolicy::check`](crate::ClientAuthPolicy::check) (the one
//! per-request point of the tower layer, the axum extractors and the tonic
//! checks), or counted by [`ClientAuthMetrics::record`], is recorded through
//! the [`metrics`](https://docs.rs/metrics) facade into whatever recorder the
//! application installed (metrics-exporter-prometheus, ...). Without a
//! recorder the calls cost next to nothing.
//!
//! Names follow Prometheus conventions (`mtls_` prefix, `_total` counters,
//! `_timestamp_seconds` gauges in Unix seconds):
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `mtls_client_auth_requests_total` | counter | `outcome`, `verdict`, `reason` | Requests judged. `outcome`: `none` (no client certificate), `invalid` (failed verification), `verified`, or `missing` (no `ClientAuthOutcome`: the TLS glue is missing). `verdict`: `passed` or `rejected`. `reason`: empty for a pass, else `certificate_required` (496), an [`InvalidReason`](crate::InvalidReason) name such as `expired` or `unknown_issuer` (495), `not_authorized` (403), `missing_outcome` (500) |
//! | `mtls_client_auth_tolerated_total` | counter | `reason` | Requests that passed although their certificate failed verification, because the route [tolerates](crate::ClientAuthPolicy::tolerate) that reason (`expired`, `not_yet_valid`) within a grace period ([`Judgement::Tolerated`]). Also counted in `mtls_client_auth_requests_total` as `outcome="invalid"`, `verdict="passed"` |
//! | `mtls_client_cert_soonest_not_after_timestamp_seconds` | gauge | none | The earliest `notAfter` among the verified client certificates seen since the process started, in Unix seconds |
//! | `mtls_client_auth_denied_total` | counter | `authorizer` | 403s of verified clients refused by a route's authorization policy ([`Judgement::NotAuthorized`]), by the policy's [`Authorize::name`](crate::Authorize::name): `allow_list`, `spiffe`, `any_of`, `all_of`, `custom` (closures), or a name given with [`Authorize::named`](crate::Authorize::named). Also counted in `mtls_client_auth_requests_total` under `reason="not_authorized"` |
//! | `mtls_handshake_failures_total` | counter | `cause` | Connections that did not become a classified TLS connection, by [`HandshakeFailure`] label: `timeout` (handshake or ClientHello timeout), `evicted` (dropped at the handshake cap for a newer client), `tls_error` (the TLS handshake failed), `plain_http` (plain HTTP sent to the TLS port, answered 497), `closed` (the client closed the connection mid-handshake), `io_error` (another I/O error). Recorded by mtls-status-rustls (feature `metrics`) |
//! | `mtls_trust_store_earliest_not_after_timestamp_seconds` | gauge | none | The earliest `notAfter` among the CA certificates (trust anchors and intermediates, advertised or trusted-only) of the trust store in force, in Unix seconds; NaN for a store without CA certificates. Set when a store is installed |
//! | `mtls_trust_store_ca_certificates` | gauge | `role` | CA certificates in the trust store in force: `role="anchor"` (self-issued, trusted) and `role="intermediate"` (usable in chains only) |
//! | `mtls_crl_next_update_timestamp_seconds` | gauge | `issuer` | Each loaded CRL's `nextUpdate`, in Unix seconds, labelled by the CRL issuer's RFC 2253 name (several CRLs of one issuer: the earliest). A CRL without `nextUpdate` has no series; an issuer whose CRLs are no longer loaded reads NaN |
//! | `mtls_crl_revoked_certificates` | gauge | `issuer` | Revoked-certificate entries in the loaded CRLs, by issuer as above (summed over an issuer's CRLs; NaN once no longer loaded). `sum()` is the number of CRL entries loaded |
//! | `mtls_reloads_total` | counter | `material`, `result` | Reload attempts (file watcher, SIGHUP or a `reload()` call) by [`ReloadMaterial`] label (`trust_store`, `server_certificate`, `workload_api`: a SPIFFE Workload API update or stream failure) and [`ReloadResult`] label: `success` (read and in force) or `refused` (bad file, key not matching its certificate, Workload API stream down or update unusable: the old material stays). Recorded by mtls-status-rustls (feature `metrics`) |
//! | `mtls_last_reload_success_timestamp_seconds` | gauge | `material` | When the last successful reload of that material happened, in Unix seconds |
//! | `mtls_crl_refresh_total` | counter | `result` | CRL fetches of a `CrlRefresher` (mtls-status-rustls feature `crl-refresh`) by [`CrlRefreshResult`] label: `updated` (a newer CRL is in force), `unchanged` (the CRL in force was served again), `failed` (fetch error: down, timeout, not 200, too large) or `refused` (not a CRL, bad signature, unknown issuer, older than the one in force); on `failed` and `refused` the last good CRL stays |
//! | `mtls_crl_next_refresh_timestamp_seconds` | gauge | `url` | When the refresher fetches that CRL URL next (a retry after a failure), in Unix seconds |
//! | `mtls_crl_last_refresh_success_timestamp_seconds` | gauge | `url` | When a fetch of that CRL URL last succeeded (`updated` or `unchanged`), in Unix seconds; `time() -` it is the age of the last good fetch |
//!
//! The trust-store gauges are process-wide: with several stores in one
//! process they show the one installed last. mtls-status-rustls sets them
//! (feature `metrics`) whenever a `ReloadableTrustStore` is created or a new
//! store is installed; other TLS glue calls [`record_trust_store`].
//!
//! `deploy/prometheus/mtls-alerts.yml` in the repository holds example alert
//! rules on these names.
//!
//! The [`ClientAuthMetrics`] handle additionally keeps an in-process
//! snapshot for tests and status pages:
//!
//! ```
//! use mtls_status::{ClientAuthMetrics, ClientAuthOutcome, ClientAuthPolicy, LogContext, VerifyMode};
//!
//! let metrics = ClientAuthMetrics::new();
//! let policy = ClientAuthPolicy::new(VerifyMode::On).metrics(metrics.clone());
//!
//! // What every integration does once per request.
//! let judgement = policy.check(Some(&ClientAuthOutcome::None), |_| LogContext::new("example"));
//! assert_eq!(judgement.reason(), Some("certificate_required"));
//!
//! let snapshot = metrics.snapshot();
//! assert_eq!(snapshot.requests, 1);
//! assert_eq!(snapshot.none, 1);
//! assert_eq!(snapshot.rejections("certificate_required"), 1);
//! ```

// Without the feature, the links to the recording functions have no target.
#![cfg_attr(not(feature = "metrics"), allow(rustdoc::broken_intra_doc_links))]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::judgement::Judgement;
use crate::outcome::ClientAuthOutcome;

mod reload;
pub use reload::{CrlRefreshResult, ReloadMaterial, ReloadResult};
#[cfg(feature = "metrics")]
pub use reload::{record_crl_refresh, record_reload};

/// Request counters for a [`ClientAuthPolicy`](crate::ClientAuthPolicy):
/// `VerifyClientLayer` of mtls-status-tower, the gRPC checks of
/// mtls-status-tonic, or your own middleware.
///
/// A cheap handle (one `Arc`): clone it into as many layers as you like and
/// read it with [`snapshot`](Self::snapshot). Passing requests cost a few
/// relaxed atomic increments; rejections also take a short lock to count the
/// reason.
///
/// [`ClientAuthPolicy::check`](crate::ClientAuthPolicy::check) records into
/// it, once per request; middleware of your own that judges with
/// [`ClientAuthPolicy::judge`](crate::ClientAuthPolicy::judge) calls
/// [`record`](Self::record).
///
/// What is counted, per request that reaches the layer:
/// - the connection's outcome (`none`, `invalid`, `verified`), or a missing
///   outcome;
/// - whether the request passed or was rejected, and under which reason:
///   `certificate_required` (496), the stable name of an
///   [`InvalidReason`](crate::InvalidReason) such as `expired` (495),
///   `not_authorized` (403) or `missing_outcome` (500);
/// - the soonest `notAfter` among verified client certificates seen, so a
///   dashboard can warn before clients start failing with `expired`.
#[derive(Clone, Debug, Default)]
pub struct ClientAuthMetrics {
    inner: Arc<Counters>,
}

#[derive(Debug)]
struct Counters {
    none: AtomicU64,
    invalid: AtomicU64,
    verified: AtomicU64,
    missing_outcome: AtomicU64,
    passed: AtomicU64,
    rejections: Mutex<BTreeMap<&'static str, u64>>,
    tolerated: Mutex<BTreeMap<&'static str, u64>>,
    /// Unix seconds; `i64::MAX` until a verified certificate was seen.
    soonest_not_after: AtomicI64,
    /// Unix seconds; `i64::MIN` until a verified certificate was seen.
    latest_not_after: AtomicI64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            none: AtomicU64::new(0),
            invalid: AtomicU64::new(0),
            verified: AtomicU64::new(0),
            missing_outcome: AtomicU64::new(0),
            passed: AtomicU64::new(0),
            rejections: Mutex::new(BTreeMap::new()),
            tolerated: Mutex::new(BTreeMap::new()),
            soonest_not_after: AtomicI64::new(i64::MAX),
            latest_not_after: AtomicI64::new(i64::MIN),
        }
    }
}

impl ClientAuthMetrics {
    /// Fresh counters, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// A consistent-enough copy of every counter (each counter is read
    /// atomically; counters are not read all at one instant).
    pub fn snapshot(&self) -> MetricsSnapshot {
        let c = &*self.inner;
        let none = c.none.load(Ordering::Relaxed);
        let invalid = c.invalid.load(Ordering::Relaxed);
        let verified = c.verified.load(Ordering::Relaxed);
        let missing_outcome = c.missing_outcome.load(Ordering::Relaxed);
        let rejections = c
            .rejections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let tolerated = c
            .tolerated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let soonest = c.soonest_not_after.load(Ordering::Relaxed);
        let latest = c.latest_not_after.load(Ordering::Relaxed);
        MetricsSnapshot {
            tolerated,
            requests: none + invalid + verified + missing_outcome,
            none,
            invalid,
            verified,
            missing_outcome,
            passed: c.passed.load(Ordering::Relaxed),
            rejected: rejections.values().sum(),
            rejections,
            soonest_client_not_after: (soonest != i64::MAX).then_some(soonest),
            latest_client_not_after: (latest != i64::MIN).then_some(latest),
        }
    }

    /// Counts one request: the connection's `outcome` (`none`, `invalid`
    /// or `verified`; `None` for a request without one), and its
    /// `judgement`, a pass or a rejection under
    /// [`Judgement::reason`]. A verified certificate's `notAfter` also
    /// feeds [`MetricsSnapshot::soonest_client_not_after`] and
    /// [`MetricsSnapshot::latest_client_not_after`].
    ///
    /// ```
    /// use mtls_status::{ClientAuthMetrics, ClientAuthOutcome, Judgement};
    ///
    /// let metrics = ClientAuthMetrics::new();
    /// metrics.record(Some(&ClientAuthOutcome::None), &Judgement::CertificateRequired);
    /// metrics.record(Some(&ClientAuthOutcome::None), &Judgement::Pass);
    /// // A request without the TLS glue in front (counted and rejected).
    /// metrics.record(None, &Judgement::MissingOutcome);
    ///
    /// let snapshot = metrics.snapshot();
    /// assert_eq!((snapshot.requests, snapshot.none, snapshot.missing_outcome), (3, 2, 1));
    /// assert_eq!((snapshot.passed, snapshot.rejected), (1, 2));
    /// assert_eq!(snapshot.rejections("certificate_required"), 1);
    /// assert_eq!(snapshot.rejections("missing_outcome"), 1);
    /// ```
    pub fn record(&self, outcome: Option<&ClientAuthOutcome>, judgement: &Judgement) {
        #[cfg(feature = "metrics")]
        facade::record(outcome, judgement);
        self.count(outcome, judgement);
    }

    /// [`record`](Self::record) without the facade (which
    /// [`ClientAuthPolicy::check`](crate::ClientAuthPolicy::check) records
    /// itself, with or without a handle).
    pub(crate) fn count(&self, outcome: Option<&ClientAuthOutcome>, judgement: &Judgement) {
        let c = &*self.inner;
        let counter = match outcome {
            None => &c.missing_outcome,
            Some(ClientAuthOutcome::None) => &c.none,
            Some(ClientAuthOutcome::Invalid(_)) => &c.invalid,
            Some(ClientAuthOutcome::Verified(identity)) => {
                let not_after = i64::try_from(identity.not_after().as_secs()).unwrap_or(i64::MAX);
                c.soonest_not_after.fetch_min(not_after, Ordering::Relaxed);
                c.latest_not_after.fetch_max(not_after, Ordering::Relaxed);
                &c.verified
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(reason) = judgement.tolerated() {
            let mut tolerated = c.tolerated.lock().unwrap_or_else(PoisonError::into_inner);
            *tolerated.entry(reason.name()).or_insert(0) += 1;
        }
        match judgement.reason() {
            None => {
                c.passed.fetch_add(1, Ordering::Relaxed);
            }
            Some(reason) => {
                let mut rejections = c.rejections.lock().unwrap_or_else(PoisonError::into_inner);
                *rejections.entry(reason).or_insert(0) += 1;
            }
        }
    }
}

/// Why a connection did not become a classified TLS connection: the
/// `cause` label of `mtls_handshake_failures_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeFailure {
    /// The client did not complete the handshake (or its ClientHello) in
    /// time.
    Timeout,
    /// Dropped at the handshake cap to make room for a newer client.
    Evicted,
    /// The TLS handshake failed (no common parameters, a bad
    /// CertificateVerify, garbage instead of TLS records, ...).
    TlsError,
    /// The client sent plain HTTP to the TLS port (answered 497).
    PlainHttp,
    /// The client closed the connection before the handshake completed.
    Closed,
    /// Another I/O error during the handshake.
    IoError,
}

impl HandshakeFailure {
    /// The label value: `timeout`, `evicted`, `tls_error`, `plain_http`,
    /// `closed` or `io_error`.
    ///
    /// ```
    /// assert_eq!(mtls_status::metrics::HandshakeFailure::PlainHttp.label(), "plain_http");
    /// ```
    pub const fn label(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Evicted => "evicted",
            Self::TlsError => "tls_error",
            Self::PlainHttp => "plain_http",
            Self::Closed => "closed",
            Self::IoError => "io_error",
        }
    }
}

/// Counts one handshake failure into `mtls_handshake_failures_total`.
/// mtls-status-rustls calls it (feature `metrics`); other TLS glue may.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn record_handshake_failure(cause: HandshakeFailure) {
    metrics::counter!(facade::HANDSHAKE_FAILURES, "cause" => cause.label()).increment(1);
}

/// What a trust store holds, for its gauges ([`record_trust_store`]).
///
/// ```
/// use mtls_status::metrics::TrustStoreGauges;
///
/// let gauges = TrustStoreGauges::new(Some(1_900_000_000), 1, 2)
///     .crl("CN=Issuing CA", Some(1_800_000_000), 3);
/// assert_eq!(gauges.crls().len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStoreGauges {
    earliest_not_after: Option<u64>,
    anchors: usize,
    intermediates: usize,
    crls: Vec<CrlGauges>,
}

/// One CRL of a [`TrustStoreGauges`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrlGauges {
    /// The issuer's RFC 2253 name.
    pub issuer: String,
    /// nextUpdate, Unix seconds.
    pub next_update: Option<u64>,
    /// Revoked-certificate entries.
    pub revoked: usize,
}

impl TrustStoreGauges {
    /// A store whose CA certificates' earliest `notAfter` (Unix seconds) is
    /// `earliest_not_after` (`None`: no CA), with `anchors` trust anchors
    /// and `intermediates` intermediates, and no CRL yet.
    pub fn new(earliest_not_after: Option<u64>, anchors: usize, intermediates: usize) -> Self {
        Self {
            earliest_not_after,
            anchors,
            intermediates,
            crls: Vec::new(),
        }
    }

    /// With one more CRL.
    #[must_use]
    pub fn crl(
        mut self,
        issuer: impl Into<String>,
        next_update: Option<u64>,
        revoked: usize,
    ) -> Self {
        self.crls.push(CrlGauges {
            issuer: issuer.into(),
            next_update,
            revoked,
        });
        self
    }

    /// The CRLs, in the order added.
    pub fn crls(&self) -> &[CrlGauges] {
        &self.crls
    }
}

/// Sets the trust-store gauges of the module docs' table from `gauges`,
/// the store now in force. CRL issuers of an earlier call that `gauges` no
/// longer has read NaN.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn record_trust_store(gauges: &TrustStoreGauges) {
    facade::record_trust_store(gauges);
}

/// The `metrics` facade calls: the names of the module docs' table.
#[cfg(feature = "metrics")]
pub(crate) mod facade {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::{Mutex, PoisonError};

    use crate::judgement::Judgement;
    use crate::outcome::ClientAuthOutcome;

    /// `mtls_client_auth_requests_total`.
    pub(crate) const REQUESTS: &str = "mtls_client_auth_requests_total";
    /// `mtls_client_cert_soonest_not_after_timestamp_seconds`.
    pub(crate) const SOONEST_CLIENT_NOT_AFTER: &str =
        "mtls_client_cert_soonest_not_after_timestamp_seconds";

    /// `mtls_client_auth_denied_total`.
    pub(crate) const DENIED: &str = "mtls_client_auth_denied_total";
    /// `mtls_client_auth_tolerated_total`.
    pub(crate) const TOLERATED: &str = "mtls_client_auth_tolerated_total";
    /// `mtls_handshake_failures_total`.
    pub(crate) const HANDSHAKE_FAILURES: &str = "mtls_handshake_failures_total";
    /// `mtls_trust_store_earliest_not_after_timestamp_seconds`.
    pub(crate) const TRUST_STORE_EARLIEST_NOT_AFTER: &str =
        "mtls_trust_store_earliest_not_after_timestamp_seconds";
    /// `mtls_trust_store_ca_certificates`.
    pub(crate) const TRUST_STORE_CAS: &str = "mtls_trust_store_ca_certificates";
    /// `mtls_crl_next_update_timestamp_seconds`.
    pub(crate) const CRL_NEXT_UPDATE: &str = "mtls_crl_next_update_timestamp_seconds";
    /// `mtls_crl_revoked_certificates`.
    pub(crate) const CRL_REVOKED: &str = "mtls_crl_revoked_certificates";

    /// Process-wide, like the global recorder the gauge goes to.
    static SOONEST: AtomicI64 = AtomicI64::new(i64::MAX);

    /// The CRL issuers the last [`record_trust_store`] labelled.
    static CRL_ISSUERS: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

    /// Unix seconds fit an f64's 53-bit mantissa exactly.
    #[allow(clippy::cast_precision_loss)]
    fn seconds(value: u64) -> f64 {
        value as f64
    }

    pub(crate) fn record_trust_store(gauges: &super::TrustStoreGauges) {
        metrics::gauge!(TRUST_STORE_EARLIEST_NOT_AFTER)
            .set(gauges.earliest_not_after.map_or(f64::NAN, seconds));
        #[allow(clippy::cast_precision_loss)]
        {
            metrics::gauge!(TRUST_STORE_CAS, "role" => "anchor").set(gauges.anchors as f64);
            metrics::gauge!(TRUST_STORE_CAS, "role" => "intermediate")
                .set(gauges.intermediates as f64);
        }
        // By issuer: the earliest nextUpdate, the sum of entries.
        let mut by_issuer: BTreeMap<&str, (Option<u64>, usize)> = BTreeMap::new();
        for crl in &gauges.crls {
            let entry = by_issuer.entry(&crl.issuer).or_insert((None, 0));
            entry.0 = match (entry.0, crl.next_update) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            entry.1 = entry.1.saturating_add(crl.revoked);
        }
        let mut previous = CRL_ISSUERS.lock().unwrap_or_else(PoisonError::into_inner);
        for issuer in previous.iter() {
            if !by_issuer.contains_key(issuer.as_str()) {
                let label = [("issuer", issuer.clone())];
                metrics::gauge!(CRL_NEXT_UPDATE, &label).set(f64::NAN);
                metrics::gauge!(CRL_REVOKED, &label).set(f64::NAN);
            }
        }
        previous.clear();
        for (issuer, (next_update, revoked)) in by_issuer {
            let label = [("issuer", issuer.to_owned())];
            if let Some(next_update) = next_update {
                metrics::gauge!(CRL_NEXT_UPDATE, &label).set(seconds(next_update));
            }
            #[allow(clippy::cast_precision_loss)]
            metrics::gauge!(CRL_REVOKED, &label).set(revoked as f64);
            previous.insert(issuer.to_owned());
        }
    }

    /// Records one judged request.
    pub(crate) fn record(outcome: Option<&ClientAuthOutcome>, judgement: &Judgement) {
        let outcome_label = match outcome {
            None => "missing",
            Some(outcome) => outcome.label(),
        };
        let (verdict, reason) = match judgement.reason() {
            None => ("passed", ""),
            Some(reason) => ("rejected", reason),
        };
        metrics::counter!(REQUESTS, "outcome" => outcome_label, "verdict" => verdict, "reason" => reason)
            .increment(1);
        if let Judgement::NotAuthorized { authorizer, .. } = judgement {
            metrics::counter!(DENIED, "authorizer" => *authorizer).increment(1);
        }
        if let Some(reason) = judgement.tolerated() {
            metrics::counter!(TOLERATED, "reason" => reason.name()).increment(1);
        }
        if let Some(ClientAuthOutcome::Verified(identity)) = outcome {
            let not_after = i64::try_from(identity.not_after().as_secs()).unwrap_or(i64::MAX);
            let soonest = SOONEST
                .fetch_min(not_after, Ordering::Relaxed)
                .min(not_after);
            // Unix seconds fit an f64's 53-bit mantissa exactly.
            #[allow(clippy::cast_precision_loss)]
            metrics::gauge!(SOONEST_CLIENT_NOT_AFTER).set(soonest as f64);
        }
    }
}

/// A copy of [`ClientAuthMetrics`]' counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Requests that reached the layer.
    pub requests: u64,
    /// Requests on connections whose client sent no certificate.
    pub none: u64,
    /// Requests on connections whose client certificate failed verification.
    pub invalid: u64,
    /// Requests on connections whose client certificate verified.
    pub verified: u64,
    /// Requests without a `ClientAuthOutcome` (the TLS glue is missing:
    /// a configuration error, answered 500).
    pub missing_outcome: u64,
    /// Requests that reached the inner service.
    pub passed: u64,
    /// Requests answered by the layer (sum of [`rejections`](Self::rejections)).
    pub rejected: u64,
    /// Rejections by reason: `certificate_required`, an
    /// [`InvalidReason`](crate::InvalidReason) name (`expired`,
    /// `unknown_issuer`, ...), `not_authorized`, `missing_outcome`.
    pub rejections: BTreeMap<&'static str, u64>,
    /// Passes of failed certificates a route tolerated, by reason
    /// (`expired`, `not_yet_valid`); also in [`passed`](Self::passed).
    pub tolerated: BTreeMap<&'static str, u64>,
    /// The earliest `notAfter` (Unix seconds) of the verified client
    /// certificates seen.
    pub soonest_client_not_after: Option<i64>,
    /// The latest `notAfter` (Unix seconds) of the verified client
    /// certificates seen.
    pub latest_client_not_after: Option<i64>,
}

impl MetricsSnapshot {
    /// Rejections under `reason` (0 if none).
    pub fn rejections(&self, reason: &str) -> u64 {
        self.rejections.get(reason).copied().unwrap_or(0)
    }

    /// Tolerated passes under `reason` (0 if none).
    pub fn tolerated(&self, reason: &str) -> u64 {
        self.tolerated.get(reason).copied().unwrap_or(0)
    }

    /// Whole days from now until the soonest-expiring verified client
    /// certificate seen expires (negative once it has expired), like nginx's
    /// `$ssl_client_v_remain`; `None` before any verified client was seen.
    pub fn min_client_days_to_expiry(&self) -> Option<i64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.soonest_client_not_after
            .map(|not_after| not_after.saturating_sub(now).div_euclid(86_400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_counted_by_reason_and_summed() {
        let metrics = ClientAuthMetrics::new();
        let clone = metrics.clone();
        let none = Some(&ClientAuthOutcome::None);
        metrics.record(none, &Judgement::CertificateRequired);
        clone.record(none, &Judgement::Pass);
        clone.record(None, &Judgement::MissingOutcome);
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.requests, 3);
        assert_eq!(snapshot.none, 2);
        assert_eq!(snapshot.missing_outcome, 1);
        assert_eq!(snapshot.passed, 1);
        assert_eq!(snapshot.rejected, 2);
        assert_eq!(snapshot.rejections("certificate_required"), 1);
        assert_eq!(snapshot.rejections("missing_outcome"), 1);
        assert_eq!(snapshot.rejections("expired"), 0);
        assert_eq!(snapshot.min_client_days_to_expiry(), None);
    }
}
