#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod allow_list;
mod authorize;
pub mod metrics;
pub mod verify_client;

pub use allow_list::{AllowList, InvalidFingerprint};
pub use authorize::{Authorize, AuthorizeOutput, NOT_ALLOWED_BY_POLICY};
pub use metrics::{ClientAuthMetrics, MetricsSnapshot};
pub use verify_client::{ResponseFuture, VerifyClient, VerifyClientLayer};
