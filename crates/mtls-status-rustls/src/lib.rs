//! rustls adapter for [`mtls_status`]: nginx-grade client-certificate
//! semantics for services built on rustls (axum, hyper, tonic).
//!
//! - [`Classifier::verifier`] gives a **deferred** rustls
//!   `ClientCertVerifier`: the handshake completes whatever chain the client
//!   sends (its CertificateVerify signature is still checked), so the
//!   verdict can be answered at the HTTP or gRPC layer instead of as a
//!   cryptic TLS alert.
//! - [`Classifier::classify`] turns `peer_certificates()` into a
//!   [`ClientAuthOutcome`](mtls_status::ClientAuthOutcome): `None` (nginx
//!   496), `Invalid` with the reason nginx would give (495), or `Verified`.
//! - [`TrustStore`] / [`ReloadableTrustStore`]: CA bundle, trusted-only
//!   certificates and CRLs, reloaded atomically (a bad file keeps the old
//!   store in force).
//! - [`server_config`]: a rustls `ServerConfig` with the verifier and ALPN
//!   `h2`, `http/1.1`.
//! - [`MtlsAcceptor`] / [`MtlsListener`] (feature `tokio`, on by default):
//!   the tokio side. Handshakes run
//!   concurrently under a timeout and a cap, plain HTTP on the TLS port is
//!   answered 497, and every connection (resumed ones included) is
//!   classified against the trust store in force; the resulting
//!   [`MtlsStream`] carries its `Arc<ClientAuthOutcome>` and closes itself
//!   after an idle timeout (5 minutes without a byte in either direction),
//!   whatever HTTP server serves it.
//!   `examples/tokio_rustls_server.rs` shows a plain tokio-rustls server.
//!
//! Library code never picks a crypto provider: pass yours
//! (`Arc<rustls::crypto::CryptoProvider>`).
//!
//! # Features
//!
//! - `tokio` (default): the acceptor, listener, [`MtlsStream`], idle timeout
//!   and plain-HTTP answer, on tokio and tokio-rustls. Without it
//!   (`default-features = false`) the classifier, the deferred verifier, the
//!   trust store and [`server_config`] build without tokio, for any I/O
//!   stack that drives a rustls `ServerConnection` itself.
//! - `ocsp`: [`OcspChecker`], OCSP for client certificates as nginx's
//!   `ssl_ocsp` (whole chain or leaf, responder from the certificate or an
//!   override, cached answers, fail closed or open), run after each
//!   handshake by [`MtlsAcceptor::ocsp`]. Encoding by RustCrypto's
//!   `x509-ocsp`; `http://` responders only.
//! - `crl-refresh`: [`CrlRefresher`], CRLs fetched over `http://` from
//!   configured URLs or the certificates' cRLDistributionPoints, verified
//!   against their issuer, refreshed before nextUpdate and merged into the
//!   [`ReloadableTrustStore`]; the last good CRL stays on any failure.
//! - `metrics`: records through the [`metrics`](https://docs.rs/metrics)
//!   facade (and turns on `mtls-status/metrics`): handshake failures by
//!   cause (`mtls_handshake_failures_total`, from [`MtlsAcceptor`] and the
//!   listener's eviction) and the trust-store gauges (earliest CA
//!   `notAfter`, CA count, each CRL's `nextUpdate` and entries), set
//!   whenever a [`ReloadableTrustStore`] is created or installs a store.
//!   Names and labels: the table of [`mtls_status::metrics`].
//! - `spiffe-bundle`: [`SpiffeBundle::parse`], the SPIFFE bundle format (JWK
//!   Set with `x509-svid` keys, as SPIRE serves it), and trust stores whose
//!   CA files or bytes are such JSON (told from PEM by content, reloaded
//!   like PEM), for [`ClassifierBuilder::trust_domain`]. serde_json and
//!   base64.
//! - `workload-api`: [`WorkloadApiSource`], the SPIFFE Workload API (a
//!   SPIRE agent's socket) as the source of the per-trust-domain bundles
//!   and of the server's own X509-SVID, streamed and rotated without
//!   restart, the last good material kept while the agent is away. The
//!   `spiffe` crate's client (tonic); tokio.

#![cfg_attr(docsrs, feature(doc_cfg))]
// Without `tokio` the links above to the tokio side have no target.
#![cfg_attr(
    any(
        not(feature = "tokio"),
        not(feature = "ocsp"),
        not(feature = "spiffe-bundle"),
        not(feature = "crl-refresh"),
        not(feature = "workload-api")
    ),
    allow(rustdoc::broken_intra_doc_links)
)]

// The tokio side: acceptor, listener, streams.
#[cfg(feature = "tokio")]
mod acceptor;
#[cfg(feature = "crl-refresh")]
mod crl_refresh;
#[cfg(feature = "tokio")]
mod eviction;
#[cfg(feature = "fetch")]
mod fetch;
#[cfg(feature = "tokio")]
mod hot_swap;
#[cfg(feature = "tokio")]
mod idle;
#[cfg(feature = "tokio")]
mod listener;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "ocsp")]
mod ocsp;
#[cfg(feature = "tokio")]
mod plain_http;
#[cfg(feature = "tokio")]
mod stream;

mod cache;
mod chain;
mod classifier;
mod config;
mod crl_signatures;
mod error_map;
mod names;
mod policy;
mod reload;
mod reload_report;
mod reloadables;
mod rfc5280;
mod search_bound;
mod server_cert;
#[cfg(all(unix, feature = "sighup"))]
mod sighup;
#[cfg(any(feature = "ocsp", feature = "crl-refresh"))]
mod signed;
mod spiffe_bundle;
mod svid;
mod times;
mod trust_store;
mod verifier;
mod verify;
#[cfg(feature = "watch")]
mod watch;
#[cfg(feature = "workload-api")]
mod workload_api;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use acceptor::{AcceptError, Accepted, DEFAULT_HANDSHAKE_TIMEOUT, MtlsAcceptor};
#[cfg(feature = "crl-refresh")]
#[cfg_attr(docsrs, doc(cfg(feature = "crl-refresh")))]
pub use crl_refresh::{
    CrlRefreshConfigError, CrlRefreshTask, CrlRefresher, CrlRefresherBuilder, CrlSourceStatus,
    DEFAULT_CRL_MAX_INTERVAL, DEFAULT_CRL_MIN_INTERVAL, DEFAULT_CRL_REFRESH_FRACTION,
    DEFAULT_CRL_RETRY, DEFAULT_CRL_TIMEOUT, DEFAULT_MAX_CRL_BYTES, DEFAULT_MAX_CRL_SOURCES,
};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use idle::DEFAULT_IDLE_TIMEOUT;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use listener::{
    DEFAULT_BACKLOG, DEFAULT_CLIENT_HELLO_TIMEOUT, DEFAULT_MAX_CONCURRENT_HANDSHAKES,
    DEFAULT_READY_QUEUE, MtlsListener, MtlsListenerBuilder,
};
#[cfg(feature = "ocsp")]
#[cfg_attr(docsrs, doc(cfg(feature = "ocsp")))]
pub use ocsp::{
    DEFAULT_OCSP_CACHE_BYTES, DEFAULT_OCSP_CLOCK_SKEW, DEFAULT_OCSP_MAX_CACHE_LIFETIME,
    DEFAULT_OCSP_TIMEOUT, OcspAnswer, OcspChecker, OcspCheckerBuilder, OcspConfigError, OcspError,
    OcspErrorKind, OcspFailPolicy, OcspMode, OcspStatus,
};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use plain_http::{PlainHttpStream, plain_http_response};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use stream::MtlsStream;

pub use cache::CacheStats;
pub use classifier::{Classifier, ClassifierBuilder, ClassifierError, DEFAULT_CACHE_CAPACITY};
pub use config::{DEFAULT_ALPN, server_config, server_config_with_alpn};
pub use error_map::reason_kind;
pub use policy::{CrlScope, EkuPolicy, InvalidOidError, RootHints};
pub use reload::{ReloadableTrustStore, TrustStoreFiles};
pub use reloadables::{ReloadSummary, Reloadables};
pub use server_cert::{ServerCertError, ServerCertFiles, ServerCertificate};
#[cfg(all(unix, feature = "sighup"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "sighup"))))]
pub use sighup::SighupReloader;
pub use spiffe_bundle::{
    SPIFFE_BUNDLE_MAX_BYTES, SPIFFE_BUNDLE_MAX_KEYS, SpiffeBundle, SpiffeBundleError,
};
pub use trust_store::{
    DEFAULT_MAX_FILE_SIZE, SkippedCertificate, TrustStore, TrustStoreBuilder, TrustStoreError,
};
pub use verify::MAX_SUPPORTED_DEPTH;
#[cfg(feature = "watch")]
#[cfg_attr(docsrs, doc(cfg(feature = "watch")))]
pub use watch::{
    DEFAULT_POLL_INTERVAL, DEFAULT_WATCH_DEBOUNCE, FileWatcher, WatchError, WatchOptions,
};
#[cfg(feature = "workload-api")]
#[cfg_attr(docsrs, doc(cfg(feature = "workload-api")))]
pub use workload_api::{
    DEFAULT_WORKLOAD_API_CONNECT_TIMEOUT, DEFAULT_WORKLOAD_API_MAX_BACKOFF,
    DEFAULT_WORKLOAD_API_MIN_BACKOFF, DEFAULT_WORKLOAD_API_START_TIMEOUT, WorkloadApiSource,
    WorkloadApiSourceBuilder, WorkloadApiSourceError, WorkloadApiStatus,
};
