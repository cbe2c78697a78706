//! gRPC over real TLS: a tonic server on `mtls_status_tonic::incoming`, real
//! tonic clients over rustls (ring) presenting test-PKI certificates; plus
//! the log lines and the policy decisions on their own.

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
#[path = "../support/greeter.rs"]
mod greeter;

mod harness;

mod logging;
mod missing_glue;
mod outcomes;
mod per_service;
mod policy;
mod streaming;
