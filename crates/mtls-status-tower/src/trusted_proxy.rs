//! [`TrustedProxyLayer`]: the glue for a service behind a TLS-terminating
//! front proxy. It takes the place of [`AddClientAuthLayer`](crate::AddClientAuthLayer)
//! on a listener the proxy connects to: each request
//!
//! 1. loses every identity header (as with `AddClientAuthLayer`), after
//!    the forwarded certificate was read, **only** if the request's TCP
//!    peer is one of the [`TrustedProxy`]'s networks;
//! 2. gets the outcome in its extensions, `Arc<ClientAuthOutcome>`, exactly
//!    where a TLS handshake's outcome goes: [`VerifyClientLayer`](crate::VerifyClientLayer),
//!    the axum extractors and handlers read it unchanged. The forwarded
//!    chain is classified with the [`ClassifyChain`] given (the service's
//!    mtls-status-rustls `Classifier`), unless the proxy's verdict is
//!    trusted ([`TrustedProxyBuilder::trust_proxy_verdict`](mtls_status::proxy::TrustedProxyBuilder::trust_proxy_verdict)).
//! 3. with the XFCC format, also gets the trusted Envoy's own
//!    `x-forwarded-client-cert` as an [`UpstreamXfcc`](mtls_status::forward::UpstreamXfcc)
//!    extension, which `VerifyClientLayer` forwards in
//!    [`XfccMode::AppendForward`](mtls_status::forward::XfccMode::AppendForward)
//!    and [`XfccMode::ForwardOnly`](mtls_status::forward::XfccMode::ForwardOnly).
//!
//! A header that cannot be read is answered here, and the inner service is
//! not called: 400 ([`Answer::bad_proxy_header`], [`HttpAnswers`], the
//! default), or for gRPC services `INVALID_ARGUMENT` with mtls-status-tonic's
//! `GrpcAnswers` ([`TrustedProxyLayer::answer_with`]).
//!
//! The peer address comes from the request's extensions, read by the
//! function given to [`TrustedProxyLayer::peer_addr_from`] (e.g. axum's
//! `ConnectInfo<SocketAddr>`: mtls-status-axum's `connect_info_peer`), or
//! is fixed per connection with [`TrustedProxyLayer::peer_addr`]. Without
//! either, no peer is known and nothing forwarded counts.
//!
//! ```
//! use std::convert::Infallible;
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//!
//! use http::{Request, Response};
//! use mtls_status::ClientAuthOutcome;
//! use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy};
//! use mtls_status_tower::{TrustedProxyLayer, VerifyClientLayer};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let proxy = TrustedProxy::builder(ProxyHeaderFormat::Nginx)
//!     .trusted_peer("10.0.0.0/8".parse()?)
//!     .build()?;
//! // A real service passes its mtls_status_rustls::Classifier.
//! let classifier = |_: &[rustls_pki_types::CertificateDer<'_>]| Arc::new(ClientAuthOutcome::None);
//! // One connection from a client that is not the proxy.
//! let peer: SocketAddr = "192.0.2.1:50000".parse()?;
//! let service = ServiceBuilder::new()
//!     .layer(TrustedProxyLayer::new(proxy, classifier).peer_addr(peer.ip()))
//!     .layer(VerifyClientLayer::new())
//!     .service(service_fn(|_: Request<()>| async {
//!         Ok::<_, Infallible>(Response::new(bytes::Bytes::new()))
//!     }));
//! let request = Request::builder().header("x-ssl-client-verify", "SUCCESS").body(())?;
//! assert_eq!(service.oneshot(request).await?.status().as_u16(), 496);
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Extensions, Request, Response};
use mtls_status::proxy::{ClassifyChain, ProxyHeaderError, TrustedProxy};
use mtls_status::{Answer, AnswerStyle, ResponseFuture};
use tower_layer::Layer;
use tower_service::Service;

use crate::answer_response;

/// Reads a request's TCP peer address from its extensions.
pub type PeerAddrFn = fn(&Extensions) -> Option<IpAddr>;

/// How [`TrustedProxyLayer`] answers a request whose forwarded certificate
/// header cannot be read, in responses with bodies of type `B`.
pub trait BadProxyHeaderAnswer<B>: Clone {
    /// The response to a request with this unreadable header.
    fn answer(&self, error: &ProxyHeaderError) -> Response<B>;
}

/// HTTP answers: 400 in the [`AnswerStyle`] given
/// ([`Answer::bad_proxy_header`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpAnswers(pub AnswerStyle);

impl<B: From<Bytes>> BadProxyHeaderAnswer<B> for HttpAnswers {
    fn answer(&self, error: &ProxyHeaderError) -> Response<B> {
        answer_response(Answer::bad_proxy_header(self.0, error))
    }
}

/// Puts the outcome of what a trusted front proxy forwarded into each
/// request; see the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct TrustedProxyLayer<A = HttpAnswers> {
    proxy: TrustedProxy,
    classifier: Arc<dyn ClassifyChain>,
    peer: Peer,
    answers: A,
}

#[derive(Clone, Copy, Debug)]
enum Peer {
    Unknown,
    Fixed(IpAddr),
    FromExtensions(PeerAddrFn),
}

impl TrustedProxyLayer {
    /// Reads what `proxy`'s peers forward, classifying chains with
    /// `classifier`. Set where the peer address comes from with
    /// [`peer_addr_from`](Self::peer_addr_from) or
    /// [`peer_addr`](Self::peer_addr).
    pub fn new(proxy: TrustedProxy, classifier: impl ClassifyChain + 'static) -> Self {
        Self::with_classifier(proxy, Arc::new(classifier))
    }

    /// Like [`new`](Self::new), with a shared classifier.
    pub fn with_classifier(proxy: TrustedProxy, classifier: Arc<dyn ClassifyChain>) -> Self {
        Self {
            proxy,
            classifier,
            peer: Peer::Unknown,
            answers: HttpAnswers::default(),
        }
    }

    /// The style of the 400 answer to an unreadable header (default
    /// [`AnswerStyle::Explicit`]).
    pub fn answer_style(mut self, style: AnswerStyle) -> Self {
        self.answers = HttpAnswers(style);
        self
    }
}

impl<A> TrustedProxyLayer<A> {
    /// Answers unreadable headers with `answers` instead (for gRPC:
    /// mtls-status-tonic's `GrpcAnswers`).
    pub fn answer_with<B>(self, answers: B) -> TrustedProxyLayer<B> {
        TrustedProxyLayer {
            proxy: self.proxy,
            classifier: self.classifier,
            peer: self.peer,
            answers,
        }
    }

    /// Every request of this connection comes from `peer` (build the layer
    /// per connection, as `AddClientAuthLayer`).
    pub fn peer_addr(mut self, peer: IpAddr) -> Self {
        self.peer = Peer::Fixed(peer);
        self
    }

    /// Reads each request's peer address from its extensions with `read`.
    pub fn peer_addr_from(mut self, read: PeerAddrFn) -> Self {
        self.peer = Peer::FromExtensions(read);
        self
    }

    /// The trusted-proxy configuration.
    pub fn proxy(&self) -> &TrustedProxy {
        &self.proxy
    }
}

impl<A: fmt::Debug> fmt::Debug for TrustedProxyLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedProxyLayer")
            .field("proxy", &self.proxy)
            .field("peer", &self.peer)
            .field("answers", &self.answers)
            .finish_non_exhaustive()
    }
}

impl<S, A: Clone> Layer<S> for TrustedProxyLayer<A> {
    type Service = TrustedProxyService<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        TrustedProxyService {
            inner,
            layer: self.clone(),
        }
    }
}

/// A service wrapped by [`TrustedProxyLayer`]; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct TrustedProxyService<S, A = HttpAnswers> {
    inner: S,
    layer: TrustedProxyLayer<A>,
}

impl<S, A> TrustedProxyService<S, A> {
    mtls_status::define_inner_service_accessors!();
}

impl<S, A, ReqBody, ResBody> Service<Request<ReqBody>> for TrustedProxyService<S, A>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    A: BadProxyHeaderAnswer<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let peer = match layer.peer {
            Peer::Unknown => None,
            Peer::Fixed(peer) => Some(peer),
            Peer::FromExtensions(read) => read(request.extensions()),
        };
        // Envoy's XFCC from a trusted peer, for `XfccMode::AppendForward` /
        // `ForwardOnly`; read before `outcome` strips it.
        let upstream = layer.proxy.upstream_xfcc(peer, request.headers());
        match layer
            .proxy
            .outcome(peer, request.headers_mut(), &*layer.classifier)
        {
            Ok(outcome) => {
                request.extensions_mut().insert(outcome);
                if let Some(upstream) = upstream {
                    request.extensions_mut().insert(upstream);
                }
                ResponseFuture::inner(self.inner.call(request))
            }
            Err(error) => {
                tracing::warn!(
                    reason = error.name(),
                    peer = ?peer,
                    "unreadable client-certificate header from a trusted proxy: {error}"
                );
                ResponseFuture::answer(layer.answers.answer(&error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::{Ready, ready};
    use std::net::SocketAddr;

    use mtls_status::ClientAuthOutcome;
    use mtls_status::proxy::ProxyHeaderFormat;
    use rustls_pki_types::CertificateDer;

    use super::*;

    /// Answers 200 with what its function reads from the request.
    #[derive(Clone)]
    struct Echo(fn(&Request<()>) -> Bytes);

    impl Service<Request<()>> for Echo {
        type Response = Response<Bytes>;
        type Error = Infallible;
        type Future = Ready<Result<Response<Bytes>, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<()>) -> Self::Future {
            ready(Ok(Response::new((self.0)(&request))))
        }
    }

    /// The outcome label the request carries.
    fn label(request: &Request<()>) -> Bytes {
        Bytes::from(
            ClientAuthOutcome::from_extensions(request.extensions())
                .map_or("missing", |o| o.label()),
        )
    }

    /// The `x-forwarded-client-cert` the request carries.
    fn xfcc(request: &Request<()>) -> Bytes {
        request
            .headers()
            .get("x-forwarded-client-cert")
            .map_or(Bytes::new(), |v| Bytes::copy_from_slice(v.as_bytes()))
    }

    fn from_socket_addr(extensions: &Extensions) -> Option<IpAddr> {
        extensions.get::<SocketAddr>().map(SocketAddr::ip)
    }

    /// A request from `peer` carrying `name: value`.
    fn request(peer: &str, name: &str, value: &str) -> Request<()> {
        let mut request = Request::builder()
            .header(name, value)
            .body(())
            .expect("request");
        request
            .extensions_mut()
            .insert(peer.parse::<SocketAddr>().expect("addr"));
        request
    }

    async fn call(layer: &TrustedProxyLayer, peer: &str, cert: &str) -> (u16, Bytes) {
        let request = request(peer, "x-ssl-client-cert", cert);
        let response = layer
            .layer(Echo(label))
            .call(request)
            .await
            .expect("infallible");
        (response.status().as_u16(), response.into_body())
    }

    #[tokio::test]
    async fn outcome_from_trusted_peers_and_400_for_bad_headers() {
        let leaf = mtls_testpki::self_signed_client("c");
        let escaped = mtls_status::ClientIdentity::from_der(leaf.cert_der())
            .expect("identity")
            .escaped_pem();
        let proxy = TrustedProxy::builder(ProxyHeaderFormat::Nginx)
            .trusted_peer("10.0.0.0/8".parse().expect("cidr"))
            .build()
            .expect("proxy");
        let invalid = |_: &[CertificateDer<'_>]| {
            Arc::new(ClientAuthOutcome::Invalid(
                mtls_status::InvalidCertificate::new(
                    mtls_status::ReasonKind::UnknownIssuer.into(),
                    None,
                ),
            ))
        };
        let layer = TrustedProxyLayer::new(proxy, invalid).peer_addr_from(from_socket_addr);
        assert_eq!(
            call(&layer, "10.0.0.1:1", &escaped).await,
            (200, Bytes::from("invalid"))
        );
        assert_eq!(
            call(&layer, "192.0.2.1:1", &escaped).await,
            (200, Bytes::from("none"))
        );
        let (status, body) = call(&layer, "10.0.0.1:1", "%Z").await;
        assert_eq!(status, 400);
        assert!(
            std::str::from_utf8(&body)
                .expect("utf-8")
                .contains("proxy_header_malformed")
        );
        // From an untrusted peer the same bad header is only stripped.
        assert_eq!(
            call(&layer, "192.0.2.1:1", "%Z").await,
            (200, Bytes::from("none"))
        );
    }

    /// Behind a trusted Envoy: `AppendForward` appends our element to the
    /// Envoy's XFCC, `ForwardOnly` passes it unchanged; the same header
    /// from an untrusted peer is never forwarded.
    #[tokio::test]
    async fn xfcc_modes_behind_a_trusted_envoy() {
        use mtls_status::forward::{XfccMode, xfcc_element, xfcc_element_with};
        use mtls_status::{ClientIdentity, ForwardHeaders, VerifyMode};

        let pki = mtls_testpki::Pki::generate();
        let identity =
            ClientIdentity::from_chain(pki.valid_via_intermediate.chain()).expect("identity");
        let envoys = xfcc_element_with(&identity, Some("spiffe://front/envoy"), false, true);
        let ours = xfcc_element(&identity, Some("spiffe://back/service"), false);
        let proxy = TrustedProxy::builder(ProxyHeaderFormat::Xfcc)
            .trusted_peer("10.0.0.0/8".parse().expect("cidr"))
            .build()
            .expect("proxy");
        let verifying = |chain: &[CertificateDer<'_>]| {
            let chain = chain.iter().map(|c| c.clone().into_owned()).collect();
            Arc::new(ClientAuthOutcome::Verified(
                ClientIdentity::from_chain(chain).expect("identity"),
            ))
        };
        let call = async |mode: XfccMode, peer: &str| {
            let verify = crate::VerifyClientLayer::new()
                .mode(VerifyMode::Optional)
                .forward(
                    ForwardHeaders::xfcc()
                        .xfcc_mode(mode)
                        .xfcc_by("spiffe://back/service"),
                );
            let layer =
                TrustedProxyLayer::new(proxy.clone(), verifying).peer_addr_from(from_socket_addr);
            let request = request(peer, "x-forwarded-client-cert", &envoys);
            let response = layer
                .layer(verify.layer(Echo(xfcc)))
                .call(request)
                .await
                .expect("infallible");
            assert_eq!(response.status(), 200);
            String::from_utf8(response.into_body().to_vec()).expect("utf-8")
        };
        assert_eq!(
            call(XfccMode::AppendForward, "10.0.0.1:1").await,
            format!("{envoys},{ours}")
        );
        assert_eq!(call(XfccMode::ForwardOnly, "10.0.0.1:1").await, envoys);
        assert_eq!(call(XfccMode::SanitizeSet, "10.0.0.1:1").await, ours);
        assert_eq!(call(XfccMode::Sanitize, "10.0.0.1:1").await, "");
        // Untrusted: no identity, and the Envoy's header is not forwarded.
        for mode in [XfccMode::AppendForward, XfccMode::ForwardOnly] {
            assert_eq!(call(mode, "192.0.2.1:1").await, "", "{mode:?}");
        }
    }
}
