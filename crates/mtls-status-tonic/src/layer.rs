//! [`GrpcClientAuthLayer`]: the same check as the interceptor, as a tower
//! layer for tonic.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use mtls_status::VerifyMode;
use tonic::server::NamedService;
use tower_layer::Layer;
use tower_service::Service;

use crate::check::ClientAuthCheck;

/// A [`ClientAuthCheck`] as a tower layer for tonic: answers exactly as the
/// check's table says, removes client-sent identity metadata
/// (`x-ssl-client-*`, ...) in every mode, and logs the RPC's path too.
/// Built by [`ClientAuthCheck::layer`]; it has no settings of its own.
///
/// - For **every** service: `Server::builder().layer(ClientAuthCheck::new(VerifyMode::On).layer())`.
/// - For **one** service (a mode per service):
///   `.add_service(check.layer().layer(GreeterServer::new(greeter)))`;
///   the wrapped service keeps its gRPC name.
///
/// Rejections are built as trailers-only gRPC responses in the inner
/// service's body type, which must implement `Default` (tonic's `Body`
/// does).
///
/// ```
/// use std::convert::Infallible;
/// use std::sync::Arc;
///
/// use mtls_status::{ClientAuthOutcome, VerifyMode};
/// use mtls_status_tonic::GrpcClientAuthLayer;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let service = GrpcClientAuthLayer::new(VerifyMode::On).layer(service_fn(
///     |_request: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty())) },
/// ));
/// let mut request = http::Request::post("/greeter.v1.Greeter/SayHello").body(())?;
/// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
/// let response = service.oneshot(request).await?;
/// // A trailers-only gRPC answer: HTTP 200, grpc-status 16 (UNAUTHENTICATED).
/// assert_eq!(response.headers()["grpc-status"], "16");
/// assert_eq!(response.headers()["x-mtls-reason"], "certificate_required");
/// assert_eq!(response.headers()["x-mtls-status"], "496");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct GrpcClientAuthLayer {
    check: Arc<ClientAuthCheck>,
}

impl GrpcClientAuthLayer {
    /// `ClientAuthCheck::new(mode).layer()`: `mode` (nginx's
    /// `ssl_verify_client`), no authorization policy. `Default` is
    /// [`VerifyMode::On`].
    pub fn new(mode: VerifyMode) -> Self {
        ClientAuthCheck::new(mode).layer()
    }

    /// The mode this layer enforces.
    pub fn mode(&self) -> VerifyMode {
        self.check.mode()
    }

    pub(crate) fn from_check(check: Arc<ClientAuthCheck>) -> Self {
        Self { check }
    }
}

impl<S> Layer<S> for GrpcClientAuthLayer {
    type Service = GrpcClientAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcClientAuth {
            inner,
            check: Arc::clone(&self.check),
        }
    }
}

/// A service wrapped by [`GrpcClientAuthLayer`].
#[derive(Clone, Debug)]
pub struct GrpcClientAuth<S> {
    inner: S,
    check: Arc<ClientAuthCheck>,
}

impl<S> GrpcClientAuth<S> {
    mtls_status::define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GrpcClientAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let rpc = Some(parts.uri.path());
        match self
            .check
            .check(&mut parts.extensions, &mut parts.headers, rpc)
        {
            Ok(()) => ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body))),
            Err(status) => ResponseFuture::answer(status.into_http()),
        }
    }
}

/// Keeps the wrapped service's gRPC name, so it can be given to
/// `Server::add_service`.
impl<S: NamedService> NamedService for GrpcClientAuth<S> {
    const NAME: &'static str = S::NAME;
}

/// Response future of [`GrpcClientAuth`]: the inner service's future, or the
/// layer's own answer (a gRPC status), ready at once. The same type as the
/// HTTP layer's.
pub use mtls_status::ResponseFuture;
