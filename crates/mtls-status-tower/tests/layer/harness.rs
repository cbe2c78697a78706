//! Sending one request through a layer to a recording handler.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mtls_status::ClientAuthOutcome;
use mtls_status_tower::VerifyClientLayer;
use tower::{ServiceBuilder, ServiceExt, service_fn};

/// What the inner service saw, returned in its response's extensions.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) headers: HeaderMap,
    pub(crate) outcome: Option<Arc<ClientAuthOutcome>>,
}

/// The layer's (or the handler's) answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) reason_phrase: Option<Vec<u8>>,
    pub(crate) body: Bytes,
    /// `Some` if the request reached the handler.
    pub(crate) seen: Option<Seen>,
}

impl Reply {
    pub(crate) fn passed(&self) -> bool {
        self.seen.is_some()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("problem+json body")
    }

    pub(crate) fn seen_header(&self, name: &str) -> Option<&str> {
        let seen = self.seen.as_ref().expect("request reached the handler");
        seen.headers
            .get(name)
            .map(|value| value.to_str().expect("ASCII header"))
    }
}

/// Sends a request carrying `outcome` (none if `None`) and `headers` through
/// `layer` to a handler that records what it saw.
pub(crate) async fn send(
    layer: &VerifyClientLayer,
    outcome: Option<&Arc<ClientAuthOutcome>>,
    headers: &[(&str, &str)],
) -> Reply {
    let service = ServiceBuilder::new()
        .layer(layer.clone())
        .service(service_fn(|request: Request<Full<Bytes>>| async move {
            let seen = Seen {
                headers: request.headers().clone(),
                outcome: request
                    .extensions()
                    .get::<Arc<ClientAuthOutcome>>()
                    .cloned(),
            };
            let mut response = Response::new(Full::new(Bytes::from_static(b"handler")));
            response.extensions_mut().insert(seen);
            Ok::<_, Infallible>(response)
        }));
    let mut request = Request::new(Full::default());
    for (name, value) in headers {
        request.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    if let Some(outcome) = outcome {
        request.extensions_mut().insert(Arc::clone(outcome));
    }
    let response = match service.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("Full never fails").to_bytes();
    Reply {
        status: parts.status,
        reason_phrase: parts
            .extensions
            .get::<hyper::ext::ReasonPhrase>()
            .map(|phrase| phrase.as_bytes().to_vec()),
        seen: parts.extensions.get::<Seen>().cloned(),
        headers: parts.headers,
        body,
    }
}
