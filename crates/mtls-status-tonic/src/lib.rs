#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod check;
mod connect_info;
mod ext;
mod incoming;
mod interceptor;
mod io;
mod layer;
mod proxy;
mod status;

pub use check::ClientAuthCheck;
pub use connect_info::{MtlsConnectInfo, peer_ip};
pub use ext::ClientAuthRequestExt;
pub use incoming::{MtlsIncoming, incoming};
pub use interceptor::ClientAuthInterceptor;
pub use io::TlsIo;
pub use layer::{GrpcClientAuth, GrpcClientAuthLayer, ResponseFuture};
pub use proxy::GrpcAnswers;
pub use status::{
    REASON_METADATA, STATUS_METADATA, bad_proxy_header, certificate_invalid, certificate_required,
    for_judgement, not_authorized,
};

// Declared in core, where the HTTP integrations find them too; re-exported
// so a policy can be written, and requests counted, with this crate's
// imports alone.
pub use mtls_status::{
    AllowList, Authorize, AuthorizeOutput, ClientAuthMetrics, ClientAuthPolicy, Judgement,
    MetricsSnapshot, SpiffeAuthorizer,
};
