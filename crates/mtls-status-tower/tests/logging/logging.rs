//! Rejections are logged with nginx's text and stable fields.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};

use mtls_status::{ClientIdentity, VerifyMode};
use mtls_status_tower::VerifyClientLayer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::fixtures::{Fixtures, fixtures};
use crate::harness::send;

/// Records every event as its level and `name=value` fields.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0
            .lock()
            .expect("not poisoned")
            .push((*event.metadata().level(), fields.0));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn take(&self) -> Vec<(Level, String)> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

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
