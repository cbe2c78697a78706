//! Getting each connection's verdict into its requests:
//! [`ClientAuthMakeService`] and [`AddClientAuth`].

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::{IncomingStream, Listener};
use http::Request;
use mtls_status::ClientAuthOutcome;
use mtls_status_rustls::MtlsStream;
use tower_service::Service;

/// Turns a [`Router`] into the make-service that `axum::serve` needs to
/// carry client-certificate verdicts from a [`ClientAuthListener`] to
/// requests.
///
/// [`ClientAuthListener`]: crate::ClientAuthListener
pub trait ClientAuthRouterExt {
    /// A make-service that, for each connection, removes from every request
    /// the identity headers a client may have sent (`X-SSL-Client-*`,
    /// `x-forwarded-client-cert`, ...: a client can never choose its
    /// identity, on any route) and inserts into it:
    ///
    /// - the connection's `Arc<ClientAuthOutcome>`, which
    ///   `mtls_status_tower::VerifyClientLayer` and this crate's extractors
    ///   read;
    /// - `ConnectInfo<SocketAddr>` with the client's address, as axum's
    ///   `into_make_service_with_connect_info::<SocketAddr>()` would.
    ///
    /// Use it with `axum::serve` and a
    /// [`ClientAuthListener`](crate::ClientAuthListener); see the
    /// [crate docs](crate) for a complete server.
    fn into_make_service_with_client_auth(self) -> ClientAuthMakeService<Self>
    where
        Self: Sized;
}

impl ClientAuthRouterExt for Router {
    fn into_make_service_with_client_auth(self) -> ClientAuthMakeService<Self> {
        ClientAuthMakeService::new(self)
    }
}

/// The make-service `axum::serve` calls once per connection: it reads the
/// connection's verdict from the [`MtlsStream`] and wraps (a clone of) the
/// service in [`AddClientAuth`].
///
/// Built by [`ClientAuthRouterExt::into_make_service_with_client_auth`] for a
/// [`Router`], or by [`new`](Self::new) for any other `Clone` service (e.g. a
/// router wrapped in extra `tower` layers).
///
/// It serves any [`Listener`] whose connections are
/// [`MtlsStream`]s: [`ClientAuthListener`](crate::ClientAuthListener), and
/// that wrapped in [`ListenerExt::tap_io`](axum::serve::ListenerExt::tap_io).
#[derive(Clone, Debug)]
pub struct ClientAuthMakeService<S> {
    service: S,
}

impl<S> ClientAuthMakeService<S> {
    /// Wraps `service`, which is cloned for every connection.
    pub fn new(service: S) -> Self {
        Self { service }
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.service
    }
}

impl<'a, L, IO, S> Service<IncomingStream<'a, L>> for ClientAuthMakeService<S>
where
    L: Listener<Io = MtlsStream<IO>>,
    L::Addr: Clone + Send + Sync + 'static,
    S: Clone,
{
    type Response = AddClientAuth<S, L::Addr>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'a, L>) -> Self::Future {
        ready(Ok(AddClientAuth::new(
            self.service.clone(),
            Arc::clone(stream.io().outcome()),
            stream.remote_addr().clone(),
        )))
    }
}

/// One connection's service: mtls-status-tower's
/// [`AddClientAuth`](mtls_status_tower::AddClientAuth) (removes the identity
/// headers a client may have sent, see
/// [`is_identity_header`](mtls_status::forward::is_identity_header), and
/// inserts the connection's `Arc<ClientAuthOutcome>`) plus axum's
/// `ConnectInfo<A>` (the client's address), then the inner service.
///
/// The stripping makes every route safe for handlers that read
/// nginx-style identity headers, including routes without
/// `VerifyClientLayer`: the TLS connection ends here, so any such header
/// was written by the client. To give the handler real ones, use
/// `VerifyClientLayer::forward`.
///
/// Made by [`ClientAuthMakeService`]; build one yourself with
/// [`new`](Self::new) when you drive hyper's connection loop yourself.
#[derive(Clone, Debug)]
pub struct AddClientAuth<S, A> {
    inner: mtls_status_tower::AddClientAuth<S>,
    remote_addr: A,
}

impl<S, A> AddClientAuth<S, A> {
    /// `inner`, called with `outcome` and `ConnectInfo(remote_addr)` in each
    /// request's extensions.
    pub fn new(inner: S, outcome: Arc<ClientAuthOutcome>, remote_addr: A) -> Self {
        Self {
            inner: mtls_status_tower::AddClientAuth::new(inner, outcome),
            remote_addr,
        }
    }

    /// The connection's verdict.
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        self.inner.outcome()
    }

    /// The client's address.
    pub fn remote_addr(&self) -> &A {
        &self.remote_addr
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner.into_inner()
    }
}

impl<S, A, B> Service<Request<B>> for AddClientAuth<S, A>
where
    S: Service<Request<B>>,
    A: Clone + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request
            .extensions_mut()
            .insert(ConnectInfo(self.remote_addr.clone()));
        self.inner.call(request)
    }
}
