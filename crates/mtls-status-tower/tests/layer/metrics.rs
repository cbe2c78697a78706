//! Counters by outcome and by reason, shared by layer clones.

use mtls_status::{ClientIdentity, VerifyMode};
use mtls_status_tower::{ClientAuthMetrics, VerifyClientLayer};

use crate::fixtures::fixtures;
use crate::harness::send;

#[tokio::test]
async fn counted_per_outcome_and_reason_across_clones() {
    let f = fixtures();
    let metrics = ClientAuthMetrics::new();
    let strict = VerifyClientLayer::new().metrics(metrics.clone());
    let admin = strict
        .clone()
        .authorize(|client: &ClientIdentity| client.subject_dn().contains("alice"));
    let optional = VerifyClientLayer::new()
        .mode(VerifyMode::Optional)
        .metrics(metrics.clone());

    send(&strict, Some(&f.none), &[]).await;
    send(&strict.clone(), Some(&f.none), &[]).await;
    send(&strict, Some(&f.expired), &[]).await;
    send(&strict, Some(&f.unknown_issuer), &[]).await;
    send(&strict, Some(&f.revoked), &[]).await;
    send(&strict, Some(&f.alice), &[]).await;
    send(&admin, Some(&f.bob), &[]).await;
    send(&admin, Some(&f.alice), &[]).await;
    send(&optional, Some(&f.none), &[]).await;
    send(&optional, None, &[]).await;

    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.requests, 10);
    assert_eq!(snapshot.none, 3);
    assert_eq!(snapshot.invalid, 3);
    assert_eq!(snapshot.verified, 3);
    assert_eq!(snapshot.missing_outcome, 1);
    assert_eq!(snapshot.passed, 3);
    assert_eq!(snapshot.rejected, 7);
    assert_eq!(snapshot.rejections("certificate_required"), 2);
    assert_eq!(snapshot.rejections("expired"), 1);
    assert_eq!(snapshot.rejections("unknown_issuer"), 1);
    assert_eq!(snapshot.rejections("revoked"), 1);
    assert_eq!(snapshot.rejections("not_authorized"), 1);
    assert_eq!(snapshot.rejections("missing_outcome"), 1);
    assert_eq!(snapshot.rejections.values().sum::<u64>(), snapshot.rejected);
}

#[tokio::test]
async fn client_expiry_is_tracked() {
    let f = fixtures();
    let metrics = ClientAuthMetrics::new();
    let layer = VerifyClientLayer::new().metrics(metrics.clone());
    assert_eq!(metrics.snapshot().min_client_days_to_expiry(), None);
    send(&layer, Some(&f.alice), &[]).await;
    send(&layer, Some(&f.bob), &[]).await;
    let snapshot = metrics.snapshot();
    // Test leaves are valid for 365 days from now.
    let days = snapshot
        .min_client_days_to_expiry()
        .expect("a verified client was seen");
    assert!((363..=365).contains(&days), "{days}");
    assert!(snapshot.soonest_client_not_after <= snapshot.latest_client_not_after);
}
