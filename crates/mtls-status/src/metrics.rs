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
//! | `mtls_client_cert_soonest_not_after_timestamp_seconds` | gauge | none | The earliest `notAfter` among the verified client certificates seen since the process started, in Unix seconds |
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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::judgement::Judgement;
use crate::outcome::ClientAuthOutcome;

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
        let soonest = c.soonest_not_after.load(Ordering::Relaxed);
        let latest = c.latest_not_after.load(Ordering::Relaxed);
        MetricsSnapshot {
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

/// The `metrics` facade calls: the names of the module docs' table.
#[cfg(feature = "metrics")]
pub(crate) mod facade {
    use std::sync::atomic::{AtomicI64, Ordering};

    use crate::judgement::Judgement;
    use crate::outcome::ClientAuthOutcome;

    /// `mtls_client_auth_requests_total`.
    pub(crate) const REQUESTS: &str = "mtls_client_auth_requests_total";
    /// `mtls_client_cert_soonest_not_after_timestamp_seconds`.
    pub(crate) const SOONEST_CLIENT_NOT_AFTER: &str =
        "mtls_client_cert_soonest_not_after_timestamp_seconds";

    /// Process-wide, like the global recorder the gauge goes to.
    static SOONEST: AtomicI64 = AtomicI64::new(i64::MAX);

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
