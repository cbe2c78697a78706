//! Rejections are logged with nginx's text and stable fields.

use mtls_status::{ClientIdentity, VerifyMode};
use mtls_status_tower::VerifyClientLayer;
use mtls_testpki::capture::Capture;
use tracing::Level;

use crate::fixtures::{Fixtures, fixtures};
use crate::harness::send;

#[tokio::test(flavor = "current_thread")]
async fn rejections_are_logged_like_nginx() {
    let f = fixtures();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let layer = VerifyClientLayer::new();

    send(&layer, Some(&f.none), &[]).await;
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:?}");
    let (level, fields) = &events[0];
    assert_eq!(*level, Level::INFO);
    assert!(
        fields.contains("message=client sent no required SSL certificate"),
        "{fields}"
    );
    assert!(fields.contains("reason=certificate_required"), "{fields}");
    assert!(fields.contains("status=496"), "{fields}");

    send(&layer, Some(&f.expired), &[]).await;
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:?}");
    let (level, fields) = &events[0];
    assert_eq!(*level, Level::INFO);
    assert!(
        fields
            .contains("message=client SSL certificate verify error: (10:certificate has expired)"),
        "{fields}"
    );
    assert!(fields.contains("reason=expired"), "{fields}");
    assert!(fields.contains("status=495"), "{fields}");
    let subject = Fixtures::id(&f.expired).subject_dn();
    assert!(fields.contains(&format!("subject={subject}")), "{fields}");

    let admin = VerifyClientLayer::new().authorize(|_: &ClientIdentity| false);
    send(&admin, Some(&f.bob), &[]).await;
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:?}");
    let (level, fields) = &events[0];
    assert_eq!(*level, Level::INFO);
    assert!(fields.contains("reason=not_authorized"), "{fields}");
    assert!(fields.contains("status=403"), "{fields}");
    let subject = Fixtures::id(&f.bob).subject_dn();
    assert!(fields.contains(&format!("subject={subject}")), "{fields}");

    // Passing requests log nothing.
    send(&layer, Some(&f.alice), &[]).await;
    send(
        &VerifyClientLayer::new().mode(VerifyMode::Optional),
        Some(&f.none),
        &[],
    )
    .await;
    assert!(capture.take().is_empty());

    // A tolerated failure passes, logged at WARN with nginx's text.
    let mtls_status::ClientAuthOutcome::Invalid(expired) = &*f.expired else {
        unreachable!("the fixture is invalid")
    };
    let valid_at = mtls_testpki::unix_now();
    let tolerated = std::sync::Arc::new(mtls_status::ClientAuthOutcome::Invalid(
        expired.clone().with_valid_at(valid_at),
    ));
    let rotating = VerifyClientLayer::new().tolerate(mtls_status::Tolerance::expired(
        std::time::Duration::from_secs(3600),
    ));
    send(&rotating, Some(&tolerated), &[]).await;
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:?}");
    let (level, fields) = &events[0];
    assert_eq!(*level, Level::WARN);
    assert!(
        fields.contains(
            "message=client SSL certificate verify error: (10:certificate has expired); \
             tolerated by the route's grace period"
        ),
        "{fields}"
    );
    assert!(fields.contains("reason=expired"), "{fields}");
    assert!(fields.contains("tolerated=true"), "{fields}");

    // A missing outcome is a configuration error: ERROR.
    send(&layer, None, &[]).await;
    let events = capture.take();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, Level::ERROR);
    assert!(
        events[0].1.contains("reason=missing_outcome"),
        "{}",
        events[0].1
    );
}
