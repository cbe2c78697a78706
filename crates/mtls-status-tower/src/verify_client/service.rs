//! [`VerifyClient`]: the service that enforces a [`VerifyClientLayer`]'s
//! policy on each request.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use mtls_status::forward::strip_identity_headers;
use mtls_status::{Answer, ClientAuthOutcome, Decision};
use tower_service::Service;

use super::ResponseFuture;
use super::layer::{Config, VerifyClientLayer};
use super::response::{answer_response, missing_outcome_response};
use crate::metrics::{CERTIFICATE_REQUIRED, MISSING_OUTCOME, NOT_AUTHORIZED};

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

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
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
        let Some(outcome) = request.extensions().get::<Arc<ClientAuthOutcome>>() else {
            return ResponseFuture::answer(config.missing_outcome());
        };
        if let Some(answer) = config.check(outcome) {
            return ResponseFuture::answer(answer_response(answer));
        }
        if config.forwards {
            let outcome = Arc::clone(outcome);
            config.forward.apply(request.headers_mut(), &outcome);
        } else {
            // What `ForwardHeaders::none().apply` does, without needing the
            // outcome (borrowed from the same request) at the same time.
            strip_identity_headers(request.headers_mut());
        }
        if let Some(metrics) = &config.metrics {
            metrics.record_pass();
        }
        ResponseFuture::inner(self.inner.call(request))
    }
}

impl Config {
    /// The answer for a request on a connection with `outcome`, or `None`
    /// to let it through. Logs and counts rejections.
    fn check(&self, outcome: &ClientAuthOutcome) -> Option<Answer> {
        if let Some(metrics) = &self.metrics {
            metrics.record_outcome(outcome);
        }
        let decision = self.mode.decide(outcome);
        if !decision.is_pass() {
            return Some(self.reject(decision, outcome));
        }
        let policy = self.policy.as_ref()?;
        let denied = match outcome.identity() {
            Some(identity) => match policy.0.authorize(identity) {
                Ok(()) => return None,
                Err(why) => {
                    let subject = identity.subject_dn();
                    tracing::info!(
                        reason = NOT_AUTHORIZED,
                        status = 403,
                        subject,
                        why = %why,
                        mode = %self.mode,
                        "client SSL certificate not authorized: {why}"
                    );
                    Answer::forbidden(self.style, Some(subject), &why)
                }
            },
            None => {
                tracing::info!(
                    reason = NOT_AUTHORIZED,
                    status = 403,
                    outcome = outcome.label(),
                    mode = %self.mode,
                    "client sent no verified SSL certificate, required by the authorization policy"
                );
                Answer::forbidden(self.style, None, NO_VERIFIED_CERTIFICATE)
            }
        };
        if let Some(metrics) = &self.metrics {
            metrics.record_rejection(NOT_AUTHORIZED);
        }
        Some(denied)
    }

    /// 495 or 496, logged with nginx's text and counted by reason.
    fn reject(&self, decision: Decision, outcome: &ClientAuthOutcome) -> Answer {
        let answer = Answer::for_decision(self.style, decision, outcome, &self.accepted_cas);
        // `for_decision` returns `None` only for `Pass`, which `check` does
        // not send here; fall back to a 496 rather than let anything through.
        let answer =
            answer.unwrap_or_else(|| Answer::certificate_required(self.style, &self.accepted_cas));
        let status = answer.status().as_u16();
        let reason_name = match outcome.reason() {
            Some(reason) => {
                tracing::info!(
                    reason = reason.name(),
                    status,
                    subject = outcome.presented_identity().map(|identity| identity.subject_dn()),
                    mode = %self.mode,
                    "{}",
                    reason.nginx_log_line()
                );
                reason.name()
            }
            None => {
                tracing::info!(
                    reason = CERTIFICATE_REQUIRED,
                    status,
                    mode = %self.mode,
                    "client sent no required SSL certificate"
                );
                CERTIFICATE_REQUIRED
            }
        };
        if let Some(metrics) = &self.metrics {
            metrics.record_rejection(reason_name);
        }
        answer
    }

    /// 500: the request carries no outcome, so the layer runs without the
    /// TLS glue in front of it. Never passed through: the route would be
    /// open to anyone.
    fn missing_outcome<B: From<Bytes>>(&self) -> Response<B> {
        tracing::error!(
            reason = MISSING_OUTCOME,
            status = 500,
            "request has no Arc<ClientAuthOutcome> in its extensions: VerifyClientLayer runs \
             without the mtls-status TLS glue in front of it (the mtls-status-axum listener, or \
             your accept loop inserting the connection's outcome into each request); answering 500"
        );
        if let Some(metrics) = &self.metrics {
            metrics.record_missing_outcome();
        }
        missing_outcome_response(self.style)
    }
}

/// The 403 explanation when a policy is configured but the request has no
/// verified certificate.
const NO_VERIFIED_CERTIFICATE: &str = "this resource's authorization policy requires a verified client certificate, and none was presented";

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
