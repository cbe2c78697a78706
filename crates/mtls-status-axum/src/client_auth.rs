//! [`ClientAuth`]: the connection's verdict, whatever it is.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use mtls_status::ClientAuthOutcome;

use crate::answers::ClientCertAnswers;
use crate::rejection::MissingClientAuth;

/// Extractor for the connection's client-certificate verdict:
/// `None`, `Invalid(reason)` or `Verified(identity)`.
///
/// It never rejects a client: use it where the handler decides, e.g. a route
/// in [`VerifyMode::OptionalNoCa`](mtls_status::VerifyMode::OptionalNoCa)
/// that looks at a certificate from an unknown CA, or a status page. The only
/// rejection is [`MissingClientAuth`] (500), when the request carries no
/// verdict because the router is served without the TLS glue.
///
/// Derefs to [`ClientAuthOutcome`].
///
/// ```
/// use std::sync::Arc;
///
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use mtls_status::ClientAuthOutcome;
/// use mtls_status_axum::ClientAuth;
/// use tower::ServiceExt;
///
/// async fn verify(auth: ClientAuth) -> String {
///     // nginx's $ssl_client_verify: NONE, FAILED:<reason> or SUCCESS
///     auth.ssl_client_verify().into_owned()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Router::new().route("/verify", get(verify));
///
/// // The listener's make-service inserts the connection's verdict; here by hand.
/// let mut request = Request::get("/verify").body(Body::empty())?;
/// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
/// let response = app.clone().oneshot(request).await?;
/// assert_eq!(response.status().as_u16(), 200);
///
/// // Without the glue: a configuration error, 500.
/// let response = app.oneshot(Request::get("/verify").body(Body::empty())?).await?;
/// assert_eq!(response.status().as_u16(), 500);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ClientAuth(pub Arc<ClientAuthOutcome>);

impl ClientAuth {
    /// The verdict.
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        &self.0
    }

    /// The verdict, owned.
    pub fn into_inner(self) -> Arc<ClientAuthOutcome> {
        self.0
    }
}

impl Deref for ClientAuth {
    type Target = ClientAuthOutcome;

    fn deref(&self) -> &ClientAuthOutcome {
        &self.0
    }
}

impl<S> FromRequestParts<S> for ClientAuth
where
    S: Send + Sync,
{
    type Rejection = MissingClientAuth;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        outcome_of(parts).map(Self)
    }
}

/// The request's verdict, or the 500 for its absence.
pub(crate) fn outcome_of(parts: &Parts) -> Result<Arc<ClientAuthOutcome>, MissingClientAuth> {
    match ClientAuthOutcome::from_extensions(&parts.extensions) {
        Some(outcome) => Ok(Arc::clone(outcome)),
        None => Err(MissingClientAuth::new(
            answers_of(parts)
                .map(ClientCertAnswers::style)
                .unwrap_or_default(),
        )),
    }
}

/// The [`ClientCertAnswers`] configured for the request, if any.
pub(crate) fn answers_of(parts: &Parts) -> Option<&ClientCertAnswers> {
    parts.extensions.get::<ClientCertAnswers>()
}
