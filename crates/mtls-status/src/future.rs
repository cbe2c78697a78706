//! [`ResponseFuture`]: the inner service's future, or a ready answer; the
//! future of every mtls-status middleware (the tower layer, the tonic
//! layer), declared once here where each finds it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of mtls-status middleware (mtls-status-tower's
    /// `VerifyClient`, mtls-status-tonic's `GrpcClientAuth`): either the
    /// inner service's future, or the middleware's own answer (495, 496,
    /// 403, 500, or a gRPC status), ready at once. Does not box.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
        },
        Answer {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    /// A future that runs the inner service's `future`.
    pub fn inner(future: F) -> Self {
        Self {
            kind: Kind::Inner { future },
        }
    }

    /// A future that is ready at once with the layer's own `response`.
    pub fn answer(response: Response<B>) -> Self {
        Self {
            kind: Kind::Answer {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    /// # Panics
    ///
    /// If polled again after it returned `Poll::Ready`, like most futures.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Answer { response } => {
                // The Future contract; not reachable from any request input.
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                Poll::Ready(Ok(response))
            }
        }
    }
}

impl<F, B> fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            Kind::Inner { .. } => "Inner",
            Kind::Answer { .. } => "Answer",
        };
        f.debug_struct("ResponseFuture")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}
