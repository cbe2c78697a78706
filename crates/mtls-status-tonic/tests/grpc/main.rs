//! gRPC over real TLS: a tonic server on `mtls_status_tonic::incoming`, real
//! tonic clients over rustls (ring) presenting test-PKI certificates; plus
//! the policy decisions on their own. The log lines have a test binary of
//! their own (`tests/grpc_logging/`).

#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
#[path = "../support/greeter.rs"]
mod greeter;

mod harness;

mod behind_proxy;
mod metrics;
mod missing_glue;
mod outcomes;
mod per_service;
mod policy;
mod spiffe;
mod streaming;
