//! [`VerifyClient`]: the service that enforces a [`VerifyClientLayer`]'s
//! policy on each request.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use mtls_status::forward::UpstreamXfcc;
use mtls_status::{Answer, ClientAuthOutcome, LogContext};
use tower_service::Service;

use super::ResponseFuture;
use super::layer::{Config, VerifyClientLayer};
use super::response::answer_response;

/// Named in the error for a request without an outcome.
const GLUE: &str = "serve with the mtls-status-axum listener and make-service, or wrap the \
                    service in mtls_status_tower::AddClientAuthLayer with the connection's outcome";

/// Middleware that enforces a route's client-certificate policy; built by
/// [`VerifyClientLayer`].
///
/// For each request it reads the connection's `Arc<ClientAuthOutcome>` from
/// the request extensions and either answers (495, 496, 403; 500 if there is
/// no outcome) or calls the inner service with identity headers stripped
/// (and set, if forwarding is on). The outcome stays in the extensions for
/// the handler.
///
/// Response bodies: the layer builds its answers in the inner service's body
/// type, so `ResBody` must implement `From<Bytes>`. `axum::body::Body`,
/// `http_body_util::Full<Bytes>` and `Bytes` do; for other bodies, map the
/// inner service's responses first (e.g. to `Full<Bytes>` or a boxed body).
#[derive(Clone, Debug)]
pub struct VerifyClient<S> {
    pub(crate) inner: S,
    pub(crate) config: Arc<Config>,
}

impl<S> VerifyClient<S> {
    /// The layer with default settings (mode `On`); same as
    /// [`VerifyClientLayer::new`].
    pub fn layer() -> VerifyClientLayer {
        VerifyClientLayer::new()
    }

    mtls_status::define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for VerifyClient<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let config = &*self.config;
        let outcome = ClientAuthOutcome::from_extensions(request.extensions()).cloned();
        let judgement = config
            .policy
            .check(outcome.as_deref(), |_| LogContext::new(GLUE));
        if let Some(answer) = Answer::for_judgement(&judgement, &config.answers) {
            return ResponseFuture::answer(answer_response(answer));
        }
        if let Some(tolerated) = judgement.tolerated_extension() {
            // The handler learns why an invalid certificate passed.
            request.extensions_mut().insert(tolerated);
        }
        if let Some(outcome) = &outcome {
            // Strips incoming identity headers (again, after the glue), then
            // sets those the route forwards, if any.
            // A trusted proxy's XFCC, for the modes that keep it.
            let upstream = config
                .forward
                .uses_upstream_xfcc()
                .then(|| request.extensions().get::<UpstreamXfcc>().cloned())
                .flatten();
            config
                .forward
                .apply_with_upstream(request.headers_mut(), outcome, upstream.as_ref());
        }
        ResponseFuture::inner(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::future::{Ready, ready};
    use std::task::Waker;

    use tower_layer::Layer;

    use super::*;

    /// Ready only after `ready_after` polls; counts calls.
    #[derive(Clone)]
    struct Gate {
        polls: usize,
        ready_after: usize,
        calls: usize,
    }

    impl Service<Request<()>> for Gate {
        type Response = Response<Bytes>;
        type Error = Infallible;
        type Future = Ready<Result<Response<Bytes>, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            self.polls += 1;
            if self.polls > self.ready_after {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }

        fn call(&mut self, _: Request<()>) -> Self::Future {
            self.calls += 1;
            ready(Ok(Response::new(Bytes::new())))
        }
    }

    #[test]
    fn poll_ready_is_forwarded_and_answers_skip_the_inner_service() {
        let mut service = VerifyClientLayer::new().layer(Gate {
            polls: 0,
            ready_after: 1,
            calls: 0,
        });
        let mut cx = Context::from_waker(Waker::noop());
        assert!(service.poll_ready(&mut cx).is_pending());
        assert!(service.poll_ready(&mut cx).is_ready());
        assert_eq!(service.get_ref().polls, 2);

        let mut rejected = Request::new(());
        rejected
            .extensions_mut()
            .insert(Arc::new(ClientAuthOutcome::None));
        let mut future = std::pin::pin!(service.call(rejected));
        assert!(format!("{future:?}").contains("Answer"));
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(response)) => assert_eq!(response.status().as_u16(), 496),
            other => panic!("expected a ready 496, got {other:?}"),
        }
        assert_eq!(service.get_ref().calls, 0);

        let unlabelled = service.call(Request::new(()));
        assert!(
            format!("{unlabelled:?}").contains("Answer"),
            "no outcome: answered 500"
        );
        assert_eq!(service.get_mut().calls, 0);
        assert_eq!(service.into_inner().calls, 0);
    }
}
