//! The gRPC checks log like nginx. A test binary of its own: a scoped
//! `tracing` subscriber races with events that other test threads emit at
//! the same callsites (tracing caches each callsite's interest globally, and
//! a callsite first hit on a thread without the capture can be cached as
//! disabled), so events are only captured reliably when every test in the
//! process captures.

mod logging;
