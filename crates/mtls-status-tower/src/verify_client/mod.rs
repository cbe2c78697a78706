//! Enforce nginx's `ssl_verify_client` per route, authorize verified clients,
//! answer 495 / 496 / 403, and forward identity headers.
//!
//! [`VerifyClientLayer`] reads the connection's verdict,
//! `Arc<ClientAuthOutcome>`, from the request extensions (the TLS glue puts
//! it there: the `mtls-status-axum` listener, or your own accept loop) and
//! decides:
//!
//! 1. **Mode** ([`VerifyMode`](mtls_status::VerifyMode), default `On`): no
//!    certificate → 496, invalid → 495, per nginx's matrix.
//! 2. **Authorization** (optional, [`authorize`](VerifyClientLayer::authorize)):
//!    a verified client the policy refuses → 403; a request that passed the
//!    mode without a verified certificate → 403 too.
//! 3. **Headers**: incoming identity headers are always stripped, then
//!    nginx-style or XFCC headers are set if
//!    [`forward`](VerifyClientLayer::forward) asks for them.
//! 4. The inner service runs, with the `Arc<ClientAuthOutcome>` still in the
//!    request extensions for extractors.
//!
//! A request **without** an outcome is a configuration error (the layer is
//! used without the TLS glue): it is answered 500 and logged at ERROR, never
//! passed through.
//!
//! Rejections carry `Connection: close`, `Cache-Control: no-store` and, for
//! 495/496, hyper's `ReasonPhrase` extension so that hyper writes
//! `HTTP/1.1 495 SSL Certificate Error`. Each one is logged at INFO with
//! nginx's text (`client sent no required SSL certificate`, `client SSL
//! certificate verify error: (10:certificate has expired)`) and the fields
//! `reason` (stable name), `status`, `subject` and `mode`.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use mtls_status::{AnswerStyle, ClientAuthOutcome, VerifyMode};
//! use mtls_status_tower::VerifyClientLayer;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let handler = service_fn(|request: Request<Full<Bytes>>| async move {
//!     // A spoofed identity header never gets here.
//!     assert!(request.headers().get("x-ssl-client-verify").is_none());
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
//! });
//! let service = ServiceBuilder::new()
//!     .layer(VerifyClientLayer::new().mode(VerifyMode::On))
//!     .service(handler);
//!
//! // The TLS glue inserts the connection's outcome; here: no certificate.
//! let mut request = Request::new(Full::default());
//! request.headers_mut().insert("x-ssl-client-verify", "SUCCESS".parse()?);
//! request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
//!
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status().as_u16(), 496);
//! assert_eq!(response.headers()["content-type"], "application/problem+json");
//! assert_eq!(response.headers()["connection"], "close");
//!
//! // The same route in nginx's style answers 400 with nginx's page.
//! let nginx = ServiceBuilder::new()
//!     .layer(VerifyClientLayer::new().style(AnswerStyle::Nginx))
//!     .service(service.into_inner());
//! let mut request = Request::new(Full::default());
//! request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
//! let response = nginx.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::BAD_REQUEST);
//! # Ok(())
//! # }
//! ```
//!
//! # Plugging in
//!
//! - **axum**: `Router::new().route("/admin", get(admin)).route_layer(VerifyClientLayer::new())`;
//!   each route can have its own layer. `route_layer` checks matched routes
//!   only (an unknown path is a plain 404, routes added afterwards are not
//!   covered); `Router::layer` checks every request, the fallback included,
//!   as nginx's server-wide `ssl_verify_client on` does. `axum::body::Body`
//!   implements `From<Bytes>`, as the answer requires.
//! - **HTTP/2**: the verdict belongs to the connection, so every stream on
//!   it gets the same outcome, each judged by its own route's layer. A
//!   rejection ends the stream, not the connection (`Connection: close` is
//!   an HTTP/1.1 header; hyper drops it from HTTP/2 responses); over
//!   HTTP/1.1 hyper closes the connection after it, as nginx does.
//! - **hyper**: per connection, wrap your service in
//!   [`AddClientAuthLayer`](crate::AddClientAuthLayer)`::new(stream.outcome().clone())`
//!   (puts the connection's outcome into each request and strips identity
//!   headers) and this layer, e.g. with `ServiceBuilder`, and bridge it with
//!   `hyper_util::service::TowerToHyperService`. Bodies such as
//!   `http_body_util::Full<Bytes>` implement `From<Bytes>`.

mod layer;
mod response;
mod service;

pub use layer::VerifyClientLayer;
pub use mtls_status::ResponseFuture;
pub use response::answer_response;
pub use service::VerifyClient;
