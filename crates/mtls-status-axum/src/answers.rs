//! [`ClientCertAnswers`]: how the extractors word their rejections.

/// How [`VerifiedClient`](crate::VerifiedClient) (and the 500 of
/// [`ClientAuth`](crate::ClientAuth)) answer: the core
/// [`AnswerOptions`](mtls_status::AnswerOptions), the same type
/// `VerifyClientLayer`, the tonic check and the listener's 497 take.
///
/// The extractors look for one in the request extensions; without it they
/// answer like a default `VerifyClientLayer`: explicit 495 / 496 with an
/// `application/problem+json` body and no CA names. Add one to a router
/// with axum's `Extension` layer to match a layer configured otherwise:
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use mtls_status::AnswerStyle;
/// use mtls_status_axum::{ClientCertAnswers, VerifiedClient};
///
/// let app: Router = Router::new()
///     .route("/me", get(|client: VerifiedClient| async move { client.subject_dn().to_owned() }))
///     // nginx's 400 pages instead of 495 / 496:
///     .layer(Extension(ClientCertAnswers::new(AnswerStyle::Nginx)));
/// ```
pub type ClientCertAnswers = mtls_status::AnswerOptions;
