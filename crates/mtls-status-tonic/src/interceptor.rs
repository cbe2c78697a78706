//! [`ClientAuthInterceptor`]: one service's client-certificate policy as a
//! tonic interceptor.

use std::sync::Arc;

use mtls_status::VerifyMode;
use mtls_status::forward::strip_identity_headers;
use mtls_status_tower::{Authorize, ClientAuthMetrics};
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::check::{Config, Target};

/// Enforces a [`VerifyMode`] and an optional [`Authorize`] policy on one
/// gRPC service, as a tonic [`Interceptor`].
///
/// | outcome of the connection | answer |
/// |---|---|
/// | no certificate, mode `On` | `UNAUTHENTICATED`, `x-mtls-status: 496`, `x-mtls-reason: certificate_required` |
/// | invalid certificate (per the mode's matrix) | `UNAUTHENTICATED`, `495`, the reason's stable name (`expired`, `unknown_issuer`, ...) |
/// | verified, refused by the policy | `PERMISSION_DENIED`, `403`, `not_authorized` |
/// | passed the mode without a verified certificate, and a policy is set | `UNAUTHENTICATED`, `496` or `495` as under `On` |
/// | no outcome in the request (TLS glue missing) | `INTERNAL`, `500`, `missing_outcome`, logged at ERROR |
/// | otherwise | the request reaches the service |
///
/// A request that reaches the service never carries identity metadata the
/// client sent (`x-ssl-client-*`, `x-forwarded-client-cert`, their `_`
/// spellings; see
/// [`is_identity_header`](mtls_status::forward::is_identity_header)): the
/// check removes it in every mode, `Off` included, so a handler ported from
/// behind nginx (`grpc_set_header X-SSL-Client-Verify ...`) cannot be
/// fooled. Read the identity with
/// [`ClientAuthRequestExt`](crate::ClientAuthRequestExt) instead. A service
/// without any check gets the metadata as sent: give it a check in mode
/// `Off` if its handler reads such metadata.
///
/// The message says what is wrong and how to fix it
/// ([`InvalidReason::detail`](mtls_status::InvalidReason::detail)). Each
/// rejection is logged at INFO with nginx's text and the fields `reason`,
/// `status`, `grpc_status`, `subject`, `mode` and `peer`, and counted by
/// reason into the [`metrics`](Self::metrics), if set.
///
/// Attach it to a generated server (`GreeterServer::with_interceptor(svc,
/// interceptor)`) for a mode per service, or to every service with
/// `Server::builder().layer(tonic::service::InterceptorLayer::new(interceptor))`.
/// [`GrpcClientAuthLayer`](crate::GrpcClientAuthLayer) does the same as a
/// tower layer and also logs the RPC's path.
///
/// ```
/// use std::sync::Arc;
///
/// use mtls_status::{ClientAuthOutcome, ClientIdentity, VerifyMode};
/// use mtls_status_tonic::{ClientAuthInterceptor, REASON_METADATA};
/// use tonic::service::Interceptor;
///
/// let mut interceptor = ClientAuthInterceptor::new(VerifyMode::On)
///     .authorize(|client: &ClientIdentity| client.subject_dn().contains("OU=ops"));
///
/// // The TLS glue put the connection's outcome in the extensions: no certificate.
/// let mut request = tonic::Request::new(());
/// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
/// let status = interceptor.call(request).unwrap_err();
/// assert_eq!(status.code(), tonic::Code::Unauthenticated);
/// assert_eq!(status.metadata().get(REASON_METADATA).unwrap(), "certificate_required");
///
/// // A request without any outcome is never let through.
/// let status = interceptor.call(tonic::Request::new(())).unwrap_err();
/// assert_eq!(status.code(), tonic::Code::Internal);
///
/// // `Off`: everything passes.
/// let mut health = ClientAuthInterceptor::new(VerifyMode::Off);
/// let mut request = tonic::Request::new(());
/// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
/// assert!(health.call(request).is_ok());
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ClientAuthInterceptor {
    config: Arc<Config>,
}

impl ClientAuthInterceptor {
    /// An interceptor enforcing `mode` (nginx's `ssl_verify_client`), with
    /// no authorization policy. `Default` is [`VerifyMode::On`].
    pub fn new(mode: VerifyMode) -> Self {
        Self {
            config: Arc::new(Config::new(mode)),
        }
    }

    /// Authorizes verified clients with `policy`: a closure
    /// `|client: &ClientIdentity| -> bool` (or `-> Result<(), String>`), or
    /// an [`AllowList`](mtls_status_tower::AllowList). A verified client the
    /// policy refuses gets `PERMISSION_DENIED`; a request without a verified
    /// certificate gets `UNAUTHENTICATED` (see the table above). Replaces any
    /// previous policy.
    pub fn authorize(mut self, policy: impl Authorize) -> Self {
        Arc::make_mut(&mut self.config).policy = Some(Arc::new(policy));
        self
    }

    /// The RFC 2253 names of the CAs the server accepts, listed in the
    /// message of "certificate required" and "untrusted issuer" answers so
    /// the client knows what to present (e.g. from
    /// `TrustStore::accepted_ca_names`). Default: none listed.
    pub fn accepted_cas<I, S>(mut self, cas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Arc::make_mut(&mut self.config).accepted_cas = cas.into_iter().map(Into::into).collect();
        self
    }

    /// Counts requests by outcome, passes, and rejections by reason
    /// (`certificate_required`, the invalid reason's name such as `expired`,
    /// `not_authorized`, `missing_outcome`) into `metrics`, as
    /// [`VerifyClientLayer::metrics`](mtls_status_tower::VerifyClientLayer::metrics)
    /// does for HTTP; the same handle can be given to both. Default: not
    /// counted.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use mtls_status::{ClientAuthOutcome, VerifyMode};
    /// use mtls_status_tonic::{ClientAuthInterceptor, ClientAuthMetrics};
    /// use tonic::service::Interceptor;
    ///
    /// let metrics = ClientAuthMetrics::new();
    /// let mut interceptor = ClientAuthInterceptor::new(VerifyMode::On).metrics(metrics.clone());
    ///
    /// let mut request = tonic::Request::new(());
    /// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
    /// assert!(interceptor.call(request).is_err());
    ///
    /// let snapshot = metrics.snapshot();
    /// assert_eq!((snapshot.requests, snapshot.none, snapshot.passed), (1, 1, 0));
    /// assert_eq!(snapshot.rejections("certificate_required"), 1);
    /// ```
    pub fn metrics(mut self, metrics: ClientAuthMetrics) -> Self {
        Arc::make_mut(&mut self.config).metrics = Some(metrics);
        self
    }

    /// The mode this interceptor enforces.
    pub fn mode(&self) -> VerifyMode {
        self.config.mode
    }

    pub(crate) fn from_config(config: Arc<Config>) -> Self {
        Self { config }
    }
}

impl Interceptor for ClientAuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        self.config
            .check(request.extensions_mut(), Target { rpc: None })?;
        strip_identity_metadata(request.metadata_mut());
        Ok(request)
    }
}

/// Removes the identity metadata a client may have sent (`x-ssl-client-*`,
/// `x-forwarded-client-cert`, ...): no proxy sits between the TLS and the
/// check, so any copy is the client's.
fn strip_identity_metadata(metadata: &mut MetadataMap) {
    // Moves, no copies: a `MetadataMap` is a `HeaderMap` inside.
    let mut headers = std::mem::take(metadata).into_headers();
    strip_identity_headers(&mut headers);
    *metadata = MetadataMap::from_headers(headers);
}
