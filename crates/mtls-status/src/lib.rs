#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod forward;
pub mod identity;
pub mod lint;

mod answer;

mod mode;
mod outcome;
mod reason;

pub use answer::{Answer, AnswerStyle, ParseAnswerStyleError};
pub use forward::ForwardHeaders;
pub use identity::ClientIdentity;
pub use mode::{Decision, ParseVerifyModeError, VerifyMode};
pub use outcome::{
    ClientAuthOutcome, HTTP_REQUEST_SENT_TO_HTTPS_PORT, InvalidCertificate, SSL_CERTIFICATE_ERROR,
    SSL_CERTIFICATE_REQUIRED,
};
pub use reason::{InvalidReason, ReasonContext, ReasonKind};

// The workspace README's Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;
