#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod ca_names;
pub mod der;
pub mod forward;
pub mod identity;
#[cfg(feature = "lint")]
#[cfg_attr(docsrs, doc(cfg(feature = "lint")))]
pub mod lint;

mod allow_list;
mod answer;
mod authorize;
mod future;
pub mod judgement;
pub mod metrics;
mod mode;
mod outcome;
pub mod proxy;
mod reason;
mod service_accessors;
mod spiffe_authorizer;

pub use allow_list::{AllowList, InvalidFingerprint};
pub use answer::{Answer, AnswerOptions, AnswerStyle, ParseAnswerStyleError};
pub use authorize::{
    AllOf, AnyOf, Authorize, AuthorizeOutput, CUSTOM_AUTHORIZER, NOT_ALLOWED_BY_POLICY, Named,
};
pub use forward::ForwardHeaders;
pub use future::ResponseFuture;
pub use identity::ClientIdentity;
pub use judgement::{ClientAuthPolicy, Judgement, LogContext, Tolerance, Tolerated};
pub use metrics::{ClientAuthMetrics, MetricsSnapshot};
pub use mode::{Decision, ParseVerifyModeError, VerifyMode};
pub use outcome::{
    ClientAuthOutcome, HTTP_REQUEST_SENT_TO_HTTPS_PORT, InvalidCertificate, SSL_CERTIFICATE_ERROR,
    SSL_CERTIFICATE_REQUIRED,
};
pub use reason::{InvalidReason, ReasonContext, ReasonKind};
pub use spiffe_authorizer::SpiffeAuthorizer;

// The workspace README's Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;
