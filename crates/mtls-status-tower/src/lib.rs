#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod add_client_auth;
pub mod trusted_proxy;
pub mod verify_client;

pub use add_client_auth::{AddClientAuth, AddClientAuthLayer};
pub use trusted_proxy::{
    BadProxyHeaderAnswer, HttpAnswers, PeerAddrFn, TrustedProxyLayer, TrustedProxyService,
};
pub use verify_client::{ResponseFuture, VerifyClient, VerifyClientLayer, answer_response};

// Declared in core, where every integration finds them; re-exported so that
// a tower user needs one import line.
pub use mtls_status::{
    AllowList, Authorize, AuthorizeOutput, ClientAuthMetrics, ClientAuthPolicy, InvalidFingerprint,
    Judgement, MetricsSnapshot, NOT_ALLOWED_BY_POLICY, SpiffeAuthorizer, Tolerance, Tolerated,
};
