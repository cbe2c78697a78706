//! The layer against real outcomes: identities parsed from certificates that
//! `mtls-testpki` generates, fed through `tower::ServiceExt::oneshot`.
//!
//! End-to-end tests over real TLS handshakes live in the axum crate and the
//! workspace `tests/` package; these pin the layer's own decisions. Logging
//! has a test binary of its own (`tests/logging/`).

mod authorize;
mod fixtures;
mod forwarding;
mod harness;
mod matrix;
mod metrics;
mod vendor_names;
