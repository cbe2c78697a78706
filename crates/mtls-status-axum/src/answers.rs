//! [`ClientCertAnswers`]: how the extractors word their rejections.

use std::sync::Arc;

use mtls_status::AnswerStyle;

/// How [`VerifiedClient`](crate::VerifiedClient) (and the 500 of
/// [`ClientAuth`](crate::ClientAuth)) answer: the [`AnswerStyle`] and the
/// accepted CA names listed in 495 / 496 details, as
/// `VerifyClientLayer::style` and `::accepted_cas` set them for the layer.
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct ClientCertAnswers {
    style: AnswerStyle,
    accepted_cas: Arc<[String]>,
}

impl ClientCertAnswers {
    /// Answers in `style`, listing no CA names.
    pub fn new(style: AnswerStyle) -> Self {
        Self {
            style,
            accepted_cas: Arc::new([]),
        }
    }

    /// Lists these RFC 2253 CA names in explicit 496 answers and in 495
    /// answers for an untrusted issuer (e.g.
    /// `TrustStore::accepted_ca_names`), so that the client knows what to
    /// present.
    pub fn accepted_cas<I, S>(mut self, cas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.accepted_cas = cas.into_iter().map(Into::into).collect();
        self
    }

    /// The answer style.
    pub fn style(&self) -> AnswerStyle {
        self.style
    }

    /// The CA names listed in details.
    pub fn accepted_ca_names(&self) -> &[String] {
        &self.accepted_cas
    }
}
