//! [`AddClientAuthLayer`]: the glue between a classified TLS connection and
//! its requests, for servers that drive hyper (or any tower stack)
//! themselves.
//!
//! Per connection, wrap the service in `AddClientAuthLayer::new(outcome)`,
//! where `outcome` is the connection's `Arc<ClientAuthOutcome>` (e.g.
//! `MtlsStream::outcome` of mtls-status-rustls). Each request then
//!
//! 1. loses every identity header the client sent (`X-SSL-Client-*`,
//!    `x-forwarded-client-cert`, RFC 9440's `Client-Cert`, ..., see
//!    [`is_identity_header`](mtls_status::forward::is_identity_header)):
//!    the TLS connection ends here, so no proxy in front can have set them.
//!    This is the one place where HTTP requests are stripped on entry, on
//!    every route, with or without a [`VerifyClientLayer`](crate::VerifyClientLayer);
//! 2. gets the outcome in its extensions, where the layer, the axum
//!    extractors and handlers read it
//!    ([`ClientAuthOutcome::from_extensions`]).
//!
//! mtls-status-axum's make-service uses this layer for every connection.
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//!
//! use http::{Request, Response};
//! use mtls_status::ClientAuthOutcome;
//! use mtls_status_tower::{AddClientAuthLayer, VerifyClientLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // One connection, without a client certificate.
//! let outcome = Arc::new(ClientAuthOutcome::None);
//! let service = ServiceBuilder::new()
//!     .layer(AddClientAuthLayer::new(outcome))
//!     .layer(VerifyClientLayer::new())
//!     .service(service_fn(|_: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(bytes::Bytes::new()))
//!     }));
//! let request = Request::builder().header("x-ssl-client-verify", "SUCCESS").body(())?;
//! assert_eq!(service.oneshot(request).await?.status().as_u16(), 496);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use mtls_status::ClientAuthOutcome;
use mtls_status::forward::strip_identity_headers;
use tower_layer::Layer;
use tower_service::Service;

/// Puts one connection's outcome into each of its requests and strips the
/// identity headers a client sent; see the [module docs](self).
#[derive(Clone, Debug)]
#[must_use]
pub struct AddClientAuthLayer {
    outcome: Arc<ClientAuthOutcome>,
}

impl AddClientAuthLayer {
    /// The glue for a connection whose client certificate came to
    /// `outcome`.
    pub fn new(outcome: Arc<ClientAuthOutcome>) -> Self {
        Self { outcome }
    }

    /// The connection's outcome.
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        &self.outcome
    }
}

impl<S> Layer<S> for AddClientAuthLayer {
    type Service = AddClientAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AddClientAuth {
            inner,
            outcome: Arc::clone(&self.outcome),
        }
    }
}

/// A service wrapped by [`AddClientAuthLayer`]; see the [module
/// docs](self).
#[derive(Clone, Debug)]
pub struct AddClientAuth<S> {
    inner: S,
    outcome: Arc<ClientAuthOutcome>,
}

impl<S> AddClientAuth<S> {
    /// `inner`, called with `outcome` in each request's extensions.
    pub fn new(inner: S, outcome: Arc<ClientAuthOutcome>) -> Self {
        AddClientAuthLayer::new(outcome).layer(inner)
    }

    /// The connection's outcome.
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        &self.outcome
    }

    mtls_status::define_inner_service_accessors!();
}

impl<S, B> Service<Request<B>> for AddClientAuth<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        strip_identity_headers(request.headers_mut());
        request.extensions_mut().insert(Arc::clone(&self.outcome));
        self.inner.call(request)
    }
}
