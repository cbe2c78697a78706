#![doc = include_str!("../README.md")]

mod answers;
mod client_auth;
mod listener;
mod make_service;
mod proxy;
mod rejection;
mod serve;
mod verified_client;

pub use answers::ClientCertAnswers;
pub use client_auth::ClientAuth;
pub use listener::ClientAuthListener;
pub use make_service::{AddClientAuth, ClientAuthMakeService, ClientAuthRouterExt};
pub use proxy::connect_info_peer;
pub use rejection::{ClientCertRejection, MissingClientAuth};
pub use serve::{DEFAULT_HEADER_READ_TIMEOUT, Serve, serve};
pub use verified_client::VerifiedClient;

// What an axum user needs besides this crate's glue, so that a server
// imports this crate and core: the per-route layer, the glue for servers
// that drive hyper themselves, and the TLS side (`tls`: listener, acceptor,
// classifier, trust store).
pub use mtls_status::{
    AllowList, AnswerStyle, Authorize, ClientAuthMetrics, ClientAuthOutcome, ClientAuthPolicy,
    ClientIdentity, ForwardHeaders, SpiffeAuthorizer, VerifyMode,
};
pub use mtls_status_rustls as tls;
pub use mtls_status_tower::{AddClientAuthLayer, TrustedProxyLayer, VerifyClientLayer};
