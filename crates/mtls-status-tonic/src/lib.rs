#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod check;
mod connect_info;
mod ext;
mod incoming;
mod interceptor;
mod io;
mod layer;
mod status;

pub use check::ClientAuthCheck;
pub use connect_info::MtlsConnectInfo;
pub use ext::ClientAuthRequestExt;
pub use incoming::{MtlsIncoming, incoming};
pub use interceptor::ClientAuthInterceptor;
pub use io::TlsIo;
pub use layer::{GrpcClientAuth, GrpcClientAuthLayer, ResponseFuture};
pub use status::{
    REASON_METADATA, STATUS_METADATA, certificate_invalid, certificate_required, for_judgement,
    not_authorized,
};

// Declared in core, where the HTTP integrations find them too; re-exported
// so a policy can be written, and requests counted, with this crate's
// imports alone.
pub use mtls_status::{
    AllowList, Authorize, AuthorizeOutput, ClientAuthMetrics, ClientAuthPolicy, Judgement,
    MetricsSnapshot, SpiffeAuthorizer,
};
