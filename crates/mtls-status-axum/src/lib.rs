#![doc = include_str!("../README.md")]

mod answers;
mod client_auth;
mod listener;
mod make_service;
mod rejection;
mod serve;
mod verified_client;

pub use answers::ClientCertAnswers;
pub use client_auth::ClientAuth;
pub use listener::ClientAuthListener;
pub use make_service::{AddClientAuth, ClientAuthMakeService, ClientAuthRouterExt};
pub use rejection::{ClientCertRejection, MissingClientAuth};
pub use serve::{DEFAULT_HEADER_READ_TIMEOUT, Serve, serve};
pub use verified_client::VerifiedClient;
