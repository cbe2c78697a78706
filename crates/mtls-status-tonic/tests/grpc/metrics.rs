//! `.metrics(..)` on the interceptor and the layer counts each gRPC request
//! by outcome, and each rejection by the reason it was answered with, as
//! `VerifyClientLayer` does for HTTP.

use std::convert::Infallible;
use std::sync::Arc;

use mtls_status::{ClientAuthOutcome, ClientIdentity, VerifyMode};
use mtls_status_tonic::{ClientAuthCheck, ClientAuthMetrics, MetricsSnapshot};
use tonic::Code;
use tonic::service::Interceptor;
use tower::{Layer, ServiceExt, service_fn};

use crate::harness::{Glue, say_hello, start_counted};

/// `(requests, none, invalid, verified, passed, rejected)`.
fn totals(snapshot: &MetricsSnapshot) -> (u64, u64, u64, u64, u64, u64) {
    (
        snapshot.requests,
        snapshot.none,
        snapshot.invalid,
        snapshot.verified,
        snapshot.passed,
        snapshot.rejected,
    )
}

#[tokio::test]
async fn requests_are_counted_by_outcome_and_rejections_by_reason() {
    for glue in Glue::PER_SERVICE {
        let metrics = ClientAuthMetrics::new();
        let server = start_counted(glue, Some(metrics.clone())).await;
        assert_eq!(totals(&metrics.snapshot()), (0, 0, 0, 0, 0, 0), "{glue:?}");

        let status = say_hello(&server, None).await.expect_err("no certificate");
        assert_eq!(status.code(), Code::Unauthenticated, "{glue:?}: {status:?}");
        let snapshot = metrics.snapshot();
        assert_eq!(totals(&snapshot), (1, 1, 0, 0, 0, 1), "{glue:?}");
        assert_eq!(snapshot.rejections("certificate_required"), 1, "{glue:?}");
        assert_eq!(snapshot.soonest_client_not_after, None, "{glue:?}");

        say_hello(&server, Some(&server.pki.valid_from_root))
            .await
            .unwrap_or_else(|status| panic!("{glue:?}: {status:?}"));
        let snapshot = metrics.snapshot();
        assert_eq!(totals(&snapshot), (2, 1, 0, 1, 1, 1), "{glue:?}");
        assert!(
            snapshot.soonest_client_not_after.is_some(),
            "{glue:?}: a verified client's notAfter is tracked"
        );

        let status = say_hello(&server, Some(&server.pki.expired))
            .await
            .expect_err("expired");
        assert_eq!(status.code(), Code::Unauthenticated, "{glue:?}: {status:?}");
        let snapshot = metrics.snapshot();
        assert_eq!(totals(&snapshot), (3, 1, 1, 1, 1, 2), "{glue:?}");
        assert_eq!(snapshot.rejections("expired"), 1, "{glue:?}");

        let status = say_hello(&server, Some(&server.pki.valid_via_intermediate))
            .await
            .expect_err("not in the allow-list");
        assert_eq!(
            status.code(),
            Code::PermissionDenied,
            "{glue:?}: {status:?}"
        );
        let snapshot = metrics.snapshot();
        assert_eq!(totals(&snapshot), (4, 1, 1, 2, 1, 3), "{glue:?}");
        assert_eq!(snapshot.rejections("not_authorized"), 1, "{glue:?}");
        assert_eq!(snapshot.missing_outcome, 0, "{glue:?}");
        assert_eq!(
            snapshot.rejections.keys().copied().collect::<Vec<_>>(),
            ["certificate_required", "expired", "not_authorized"],
            "{glue:?}: nothing else counted"
        );
    }
}

/// The checks without the TLS glue: counted as `missing_outcome`, a
/// rejection. A policy on a request without a verified certificate: counted
/// under the reason it is answered with (`certificate_required`), not
/// `not_authorized`.
#[tokio::test]
async fn missing_outcome_and_policy_without_identity_are_counted_as_answered() {
    let metrics = ClientAuthMetrics::new();
    let check = ClientAuthCheck::new(VerifyMode::Optional)
        .authorize(|_: &ClientIdentity| true)
        .metrics(metrics.clone());
    let mut interceptor = check.interceptor();
    let service = check
        .layer()
        .layer(service_fn(|_request: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
        }));

    let status = interceptor
        .call(tonic::Request::new(()))
        .expect_err("no outcome");
    assert_eq!(status.code(), Code::Internal);
    let response = service
        .clone()
        .oneshot(http::Request::new(()))
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(response.headers()["x-mtls-reason"], "missing_outcome");
    let snapshot = metrics.snapshot();
    assert_eq!(totals(&snapshot), (2, 0, 0, 0, 0, 2));
    assert_eq!(snapshot.missing_outcome, 2);
    assert_eq!(snapshot.rejections("missing_outcome"), 2);

    let mut request = http::Request::new(());
    request
        .extensions_mut()
        .insert(Arc::new(ClientAuthOutcome::None));
    let response = service
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(response.headers()["x-mtls-reason"], "certificate_required");
    let snapshot = metrics.snapshot();
    assert_eq!(totals(&snapshot), (3, 1, 0, 0, 0, 3));
    assert_eq!(snapshot.rejections("certificate_required"), 1);
    assert_eq!(snapshot.rejections("not_authorized"), 0);

    // The same handle, shared with a second check: one set of counters.
    let mut off = ClientAuthCheck::new(VerifyMode::Off)
        .metrics(metrics.clone())
        .interceptor();
    let mut request = tonic::Request::new(());
    request
        .extensions_mut()
        .insert(Arc::new(ClientAuthOutcome::None));
    assert!(off.call(request).is_ok());
    assert_eq!(totals(&metrics.snapshot()), (4, 2, 0, 0, 1, 3));
}
