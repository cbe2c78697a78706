//! [`VerifiedClient`]: a handler argument that exists only for clients with a
//! verified certificate.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use mtls_status::{ClientAuthOutcome, ClientIdentity, InvalidReason, Tolerated};

use crate::client_auth::{answers_of, outcome_of};
use crate::rejection::ClientCertRejection;

/// Extractor for a client whose certificate chain verified against the trust
/// store: derefs to its [`ClientIdentity`] (subject DN, SANs, SPIFFE ID,
/// serial, fingerprints, ... formatted as nginx's `$ssl_client_*`).
///
/// | connection's outcome | `VerifiedClient` | `Option<VerifiedClient>` |
/// |---|---|---|
/// | `Verified` | the client | `Some(client)` |
/// | `None` (no certificate) | rejects 496 | `None` |
/// | `Invalid` (any reason, untrusted issuer included) | rejects 495 | rejects 495 |
/// | `Invalid`, tolerated by the route's `VerifyClientLayer` | the client, [`tolerated`](VerifiedClient::tolerated) says why | `Some(client)` |
/// | no verdict in the request (configuration error) | rejects 500 | rejects 500 |
///
/// The rejection, [`ClientCertRejection`], is the answer
/// `VerifyClientLayer` gives for the same outcome (explicit 495 / 496 with
/// an `application/problem+json` body by default; see
/// [`ClientCertAnswers`](crate::ClientCertAnswers) for nginx's style).
/// `Option<VerifiedClient>` is nginx's `ssl_verify_client optional`: no
/// certificate is fine, a bad one is not. For `optional_no_ca` semantics
/// (see an untrusted certificate in the handler), use
/// [`ClientAuth`](crate::ClientAuth).
///
/// With a `VerifyClientLayer` that has an authorization policy on the route,
/// a handler that runs with a `VerifiedClient` has a client that the policy
/// allowed: the layer answers 403 before the handler for the others.
///
/// ```
/// use std::sync::Arc;
///
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use mtls_status::ClientAuthOutcome;
/// use mtls_status_axum::VerifiedClient;
/// use tower::ServiceExt;
///
/// async fn admin(client: VerifiedClient) -> String {
///     format!("hello {}", client.subject_dn())
/// }
///
/// async fn whoami(client: Option<VerifiedClient>) -> String {
///     client.map_or_else(|| "anonymous".to_owned(), |c| c.subject_dn().to_owned())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let app = Router::new().route("/admin", get(admin)).route("/whoami", get(whoami));
///
/// // A connection without a client certificate (the listener's
/// // make-service inserts the verdict; here by hand).
/// let request = |path| {
///     let mut request = Request::get(path).body(Body::empty()).unwrap();
///     request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
///     request
/// };
/// let response = app.clone().oneshot(request("/admin")).await?;
/// assert_eq!(response.status().as_u16(), 496);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
///
/// let response = app.oneshot(request("/whoami")).await?;
/// assert_eq!(response.status().as_u16(), 200);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct VerifiedClient {
    /// `ClientAuthOutcome::Verified`, or `Invalid` with `tolerated` set.
    outcome: Arc<ClientAuthOutcome>,
    /// The failure the route's `VerifyClientLayer` tolerated.
    tolerated: Option<Tolerated>,
}

impl VerifiedClient {
    /// The verified client of `outcome`, or `Err(outcome)` if the outcome is
    /// not `Verified`. For code that gets the verdict other than through
    /// axum's extraction.
    ///
    /// # Errors
    ///
    /// `outcome` itself when it is `None` or `Invalid`.
    pub fn from_outcome(outcome: Arc<ClientAuthOutcome>) -> Result<Self, Arc<ClientAuthOutcome>> {
        if outcome.is_verified() {
            Ok(Self {
                outcome,
                tolerated: None,
            })
        } else {
            Err(outcome)
        }
    }

    /// The client of a request: verified, or invalid with a failure the
    /// route tolerated (a [`Tolerated`] in the extensions, which only
    /// `VerifyClientLayer` puts there, never the client).
    fn from_parts(
        outcome: Arc<ClientAuthOutcome>,
        parts: &Parts,
    ) -> Result<Self, Arc<ClientAuthOutcome>> {
        match Tolerated::from_extensions(&parts.extensions) {
            Some(tolerated) if outcome.presented_identity().is_some() => Ok(Self {
                outcome,
                tolerated: Some(tolerated.clone()),
            }),
            _ => Self::from_outcome(outcome),
        }
    }

    /// The client's identity, from its verified certificate chain (or the
    /// presented one, when the route [tolerated](Self::tolerated) its
    /// failure).
    pub fn identity(&self) -> &ClientIdentity {
        match self.outcome.presented_identity() {
            Some(identity) => identity,
            // `from_outcome` / `from_parts` admit only outcomes with one.
            None => unreachable!("VerifiedClient holds an outcome with an identity"),
        }
    }

    /// The failure the route's `VerifyClientLayer`
    /// [tolerates](mtls_status_tower::VerifyClientLayer::tolerate) and let
    /// through (e.g. `expired`, within the grace period), with its context;
    /// `None` for a verified chain.
    pub fn tolerated(&self) -> Option<&InvalidReason> {
        self.tolerated.as_ref().map(Tolerated::reason)
    }

    /// The connection's verdict: `Verified`, or `Invalid` when
    /// [`tolerated`](Self::tolerated).
    pub fn outcome(&self) -> &Arc<ClientAuthOutcome> {
        &self.outcome
    }
}

impl Deref for VerifiedClient {
    type Target = ClientIdentity;

    fn deref(&self) -> &ClientIdentity {
        self.identity()
    }
}

impl AsRef<ClientIdentity> for VerifiedClient {
    fn as_ref(&self) -> &ClientIdentity {
        self.identity()
    }
}

impl<S> FromRequestParts<S> for VerifiedClient
where
    S: Send + Sync,
{
    type Rejection = ClientCertRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let outcome = outcome_of(parts)?;
        Self::from_parts(outcome, parts)
            .map_err(|outcome| ClientCertRejection::unverified(&outcome, answers_of(parts)))
    }
}

/// `Option<VerifiedClient>`: `None` when the client sent no certificate;
/// still rejects (495) a certificate that failed verification, and (500) a
/// request without a verdict.
impl<S> OptionalFromRequestParts<S> for VerifiedClient
where
    S: Send + Sync,
{
    type Rejection = ClientCertRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        let outcome = outcome_of(parts)?;
        if outcome.is_none() {
            return Ok(None);
        }
        Self::from_parts(outcome, parts)
            .map(Some)
            .map_err(|outcome| ClientCertRejection::unverified(&outcome, answers_of(parts)))
    }
}
