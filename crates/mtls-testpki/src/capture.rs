//! The tracing-capture subscriber of the logging tests (feature `tls`).
//!
//! Capture only in a test binary where every test captures: tracing caches
//! each callsite's interest globally, so a callsite first hit on a thread
//! without the capture can be cached as disabled and its events lost.
//!
//! ```
//! use mtls_testpki::capture::Capture;
//!
//! let capture = Capture::default();
//! tracing::subscriber::with_default(capture.clone(), || {
//!     tracing::info!(reason = "expired", status = 495, "client SSL certificate verify error");
//! });
//! let events = capture.take();
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].0, tracing::Level::INFO);
//! assert_eq!(
//!     events[0].1,
//!     "message=client SSL certificate verify error reason=expired status=495 "
//! );
//! ```

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Records every event as its level and its fields, `name=value ` each
/// (`Debug` for values that are not strings).
#[derive(Clone, Debug, Default)]
pub struct Capture(Arc<Mutex<Vec<(Level, String)>>>);

impl Capture {
    /// The events recorded since the last call, oldest first.
    pub fn take(&self) -> Vec<(Level, String)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

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
            .unwrap_or_else(PoisonError::into_inner)
            .push((*event.metadata().level(), fields.0));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
