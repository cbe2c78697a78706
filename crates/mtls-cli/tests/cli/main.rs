//! Tests that drive the real `mtls` binary on PKIs written to temporary
//! directories by mtls-testpki; `serve` is tried with real TLS clients
//! (rustls with ring, and curl / openssl when they are installed).

mod check;
mod check_modes;
mod common;
mod lint;
mod metrics;
mod pki;
mod probe;
mod serve;
mod serve_connections;
mod serve_crl_url;
mod serve_proxy;
mod serve_reload_hints;
mod serve_watch;
mod spiffe;
mod vocabulary;
