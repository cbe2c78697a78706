//! Counters by outcome and by rejection reason, shared by every clone of a
//! layer (and by several layers, if they are given the same handle).
//!
//! ```
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use mtls_status::ClientAuthOutcome;
//! use mtls_status_tower::{ClientAuthMetrics, VerifyClientLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let metrics = ClientAuthMetrics::new();
//! let service = ServiceBuilder::new()
//!     .layer(VerifyClientLayer::new().metrics(metrics.clone()))
//!     .service(service_fn(|_req: Request<String>| async {
//!         Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
//!     }));
//!
//! let mut request = Request::new(String::new());
//! request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status().as_u16(), 496);
//!
//! let snapshot = metrics.snapshot();
//! assert_eq!(snapshot.requests, 1);
//! assert_eq!(snapshot.none, 1);
//! assert_eq!(snapshot.rejections("certificate_required"), 1);
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use mtls_status::ClientAuthOutcome;

/// The `reason` a request without a `ClientAuthOutcome` is counted (and
/// answered) under: the layer runs without the TLS glue in front of it.
pub const MISSING_OUTCOME: &str = "missing_outcome";
/// The `reason` of a 496 (no certificate where one is required).
pub const CERTIFICATE_REQUIRED: &str = "certificate_required";
/// The `reason` of a 403 (a certificate the route's policy does not allow).
pub const NOT_AUTHORIZED: &str = "not_authorized";

/// Request counters for [`VerifyClientLayer`](crate::VerifyClientLayer),
/// the gRPC checks of `mtls-status-tonic`, or your own middleware.
///
/// A cheap handle (one `Arc`): clone it into as many layers as you like and
/// read it with [`snapshot`](Self::snapshot). Passing requests cost a few
/// relaxed atomic increments; rejections also take a short lock to count the
/// reason.
///
/// The layers record into it themselves; middleware of your own records
/// with [`record_outcome`](Self::record_outcome) (or
/// [`record_missing_outcome`](Self::record_missing_outcome)) once per
/// request, then [`record_pass`](Self::record_pass) or
/// [`record_rejection`](Self::record_rejection).
///
/// What is counted, per request that reaches the layer:
/// - the connection's outcome (`none`, `invalid`, `verified`), or a missing
///   outcome;
/// - whether the request passed or was rejected, and under which reason:
///   `certificate_required` (496), the stable name of an
///   [`InvalidReason`](mtls_status::InvalidReason) such as `expired` (495),
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

    /// Counts one request on a connection with `outcome` (`none`,
    /// `invalid` or `verified`; a verified certificate's `notAfter` also
    /// feeds [`MetricsSnapshot::soonest_client_not_after`] and
    /// [`MetricsSnapshot::latest_client_not_after`]).
    ///
    /// Call it once per request that has an outcome, before deciding; then
    /// [`record_pass`](Self::record_pass) or
    /// [`record_rejection`](Self::record_rejection) once. A request without
    /// an outcome is counted with
    /// [`record_missing_outcome`](Self::record_missing_outcome) instead.
    ///
    /// ```
    /// use mtls_status::ClientAuthOutcome;
    /// use mtls_status_tower::ClientAuthMetrics;
    /// use mtls_status_tower::metrics::CERTIFICATE_REQUIRED;
    ///
    /// let metrics = ClientAuthMetrics::new();
    /// // A request on a connection without a client certificate, rejected...
    /// metrics.record_outcome(&ClientAuthOutcome::None);
    /// metrics.record_rejection(CERTIFICATE_REQUIRED);
    /// // ...one that passed...
    /// metrics.record_outcome(&ClientAuthOutcome::None);
    /// metrics.record_pass();
    /// // ...and one without the TLS glue in front (counted and rejected).
    /// metrics.record_missing_outcome();
    ///
    /// let snapshot = metrics.snapshot();
    /// assert_eq!((snapshot.requests, snapshot.none, snapshot.missing_outcome), (3, 2, 1));
    /// assert_eq!((snapshot.passed, snapshot.rejected), (1, 2));
    /// assert_eq!(snapshot.rejections(CERTIFICATE_REQUIRED), 1);
    /// assert_eq!(snapshot.rejections("missing_outcome"), 1);
    /// ```
    pub fn record_outcome(&self, outcome: &ClientAuthOutcome) {
        let c = &*self.inner;
        let counter = match outcome {
            ClientAuthOutcome::None => &c.none,
            ClientAuthOutcome::Invalid(_) => &c.invalid,
            ClientAuthOutcome::Verified(identity) => {
                let not_after = i64::try_from(identity.not_after().as_secs()).unwrap_or(i64::MAX);
                c.soonest_not_after.fetch_min(not_after, Ordering::Relaxed);
                c.latest_not_after.fetch_max(not_after, Ordering::Relaxed);
                &c.verified
            }
            // A future outcome kind is counted with the failures.
            _ => &c.invalid,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request that carries no `ClientAuthOutcome` (the TLS glue
    /// is missing) **and** its rejection under [`MISSING_OUTCOME`]: do not
    /// also call [`record_outcome`](Self::record_outcome) or
    /// [`record_rejection`](Self::record_rejection) for it. See
    /// [`record_outcome`](Self::record_outcome) for an example.
    pub fn record_missing_outcome(&self) {
        self.inner.missing_outcome.fetch_add(1, Ordering::Relaxed);
        self.record_rejection(MISSING_OUTCOME);
    }

    /// Counts one request that reached the inner service. See
    /// [`record_outcome`](Self::record_outcome) for an example.
    pub fn record_pass(&self) {
        self.inner.passed.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request answered without reaching the inner service,
    /// under `reason`: [`CERTIFICATE_REQUIRED`], the
    /// [`InvalidReason::name`](mtls_status::InvalidReason::name) of an
    /// invalid certificate (`expired`, ...), [`NOT_AUTHORIZED`], or a name
    /// of your own (keep the set small: each name is a counter). See
    /// [`record_outcome`](Self::record_outcome) for an example.
    pub fn record_rejection(&self, reason: &'static str) {
        let mut rejections = self
            .inner
            .rejections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *rejections.entry(reason).or_insert(0) += 1;
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
    /// [`InvalidReason`](mtls_status::InvalidReason) name (`expired`,
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
        metrics.record_outcome(&ClientAuthOutcome::None);
        metrics.record_rejection(CERTIFICATE_REQUIRED);
        clone.record_outcome(&ClientAuthOutcome::None);
        clone.record_pass();
        clone.record_missing_outcome();
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.requests, 3);
        assert_eq!(snapshot.none, 2);
        assert_eq!(snapshot.missing_outcome, 1);
        assert_eq!(snapshot.passed, 1);
        assert_eq!(snapshot.rejected, 2);
        assert_eq!(snapshot.rejections(CERTIFICATE_REQUIRED), 1);
        assert_eq!(snapshot.rejections(MISSING_OUTCOME), 1);
        assert_eq!(snapshot.rejections("expired"), 0);
        assert_eq!(snapshot.min_client_days_to_expiry(), None);
    }
}
