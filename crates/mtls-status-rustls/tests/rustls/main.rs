//! Integration tests of the rustls adapter, one binary: real handshakes on
//! 127.0.0.1 between a rustls client (ring) and the deferred verifier,
//! classifier, trust store, acceptor and listener.

mod common;
mod tls_harness;

mod acceptor;
mod classify;
mod concurrency;
mod handshake;
mod hostile_chains;
mod idle;
mod key_usage;
mod odd_times;
mod reload_hints;
mod resumption;
mod rotation;
mod slot_exhaustion;
#[cfg(feature = "spiffe-bundle")]
mod spiffe_bundle;
mod tolerance;
mod trust_store;
