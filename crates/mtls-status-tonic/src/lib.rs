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

pub use connect_info::MtlsConnectInfo;
pub use ext::ClientAuthRequestExt;
pub use incoming::{MtlsIncoming, incoming};
pub use interceptor::ClientAuthInterceptor;
pub use io::TlsIo;
pub use layer::{GrpcClientAuth, GrpcClientAuthLayer, ResponseFuture};
pub use status::{
    REASON_METADATA, STATUS_METADATA, certificate_invalid, certificate_required, not_authorized,
};

// Re-exported so a policy can be written, and requests counted, against this
// crate alone.
pub use mtls_status_tower::{
    AllowList, Authorize, AuthorizeOutput, ClientAuthMetrics, MetricsSnapshot,
};
