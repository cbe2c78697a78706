//! A real nginx (and HAProxy) terminating mTLS in front of an axum service
//! that reads the forwarded certificate with `TrustedProxyLayer`: the
//! service sees the same outcome and identity as when it terminates TLS
//! itself, and the same headers from an untrusted address count for
//! nothing.

mod haproxy;
mod nginx;
mod process;
mod support;
