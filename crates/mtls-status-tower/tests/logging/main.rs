//! Rejections are logged like nginx. A test binary of its own: a scoped
//! `tracing` subscriber races with events that other test threads emit at
//! the same callsites (tracing caches each callsite's interest globally), so
//! capturing events is only reliable with no other test running in the
//! process.

// The shared fixtures serve several test binaries; this one uses a part.
#[allow(dead_code)]
#[path = "../layer/fixtures.rs"]
mod fixtures;
#[allow(dead_code)]
#[path = "../layer/harness.rs"]
mod harness;
mod logging;
