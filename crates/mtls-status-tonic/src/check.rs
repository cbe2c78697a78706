//! [`ClientAuthCheck`]: one service's client-certificate settings, built
//! once and used as a tower layer ([`layer`](ClientAuthCheck::layer)) or a
//! tonic interceptor ([`interceptor`](ClientAuthCheck::interceptor)).

use std::sync::Arc;

use http::{Extensions, HeaderMap};
use mtls_status::forward::strip_identity_headers;
use mtls_status::{
    AnswerOptions, Authorize, ClientAuthMetrics, ClientAuthPolicy, LogContext, VerifyMode,
};
use tonic::Status;
use tonic::transport::server::TcpConnectInfo;

use crate::connect_info::MtlsConnectInfo;
use crate::ext::outcome_in;
use crate::interceptor::ClientAuthInterceptor;
use crate::layer::GrpcClientAuthLayer;
use crate::status;

/// Named in the error for a request without an outcome.
const GLUE: &str = "serve with Server::serve_with_incoming(mtls_status_tonic::incoming(listener)) \
                    or insert the connection's outcome into each request";

/// Builds one gRPC service's client-certificate check: a [`VerifyMode`]
/// (nginx's `ssl_verify_client`), an optional [`Authorize`] policy, the
/// accepted CA names listed in answers, and counters. Two outputs with the
/// same settings: [`layer`](Self::layer) (a tower layer, which also logs the
/// RPC's path) and [`interceptor`](Self::interceptor) (a tonic
/// interceptor).
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
/// The table is [`status::for_judgement`](crate::for_judgement) applied to
/// the core [`Judgement`](mtls_status::Judgement).
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
/// `status`, `grpc_status`, `subject`, `mode` and `peer`, and counted into
/// the [`metrics`](Self::metrics), if set.
///
/// ```
/// use std::sync::Arc;
///
/// use mtls_status::{ClientAuthOutcome, ClientIdentity, VerifyMode};
/// use mtls_status_tonic::{ClientAuthCheck, REASON_METADATA};
/// use tonic::service::Interceptor;
///
/// let check = ClientAuthCheck::new(VerifyMode::On)
///     .authorize(|client: &ClientIdentity| client.subject_dn().contains("OU=ops"));
/// let mut interceptor = check.interceptor();
/// let _layer = check.layer(); // the same settings, as a tower layer
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
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ClientAuthCheck {
    policy: ClientAuthPolicy,
    answers: AnswerOptions,
}

impl ClientAuthCheck {
    /// A check enforcing `mode`, with no authorization policy, no CA names
    /// and no counters. `Default` is [`VerifyMode::On`].
    pub fn new(mode: VerifyMode) -> Self {
        Self::with_policy(ClientAuthPolicy::new(mode), AnswerOptions::default())
    }

    /// A check enforcing `policy` (e.g. one shared with an HTTP
    /// `VerifyClientLayer`), listing the CA names of `answers` (its style
    /// is for HTTP; gRPC answers are statuses).
    pub fn with_policy(policy: ClientAuthPolicy, answers: AnswerOptions) -> Self {
        Self { policy, answers }
    }

    /// Authorizes verified clients with `policy`: a closure
    /// `|client: &ClientIdentity| -> bool` (or `-> Result<(), String>`), or
    /// an [`AllowList`](mtls_status::AllowList). A verified client the
    /// policy refuses gets `PERMISSION_DENIED`; a request without a verified
    /// certificate gets `UNAUTHENTICATED` (see the table above). Replaces any
    /// previous policy.
    pub fn authorize(self, policy: impl Authorize) -> Self {
        Self {
            policy: self.policy.authorize(policy),
            ..self
        }
    }

    /// The RFC 2253 names of the CAs the server accepts, listed in the
    /// message of "certificate required" and "untrusted issuer" answers so
    /// the client knows what to present (e.g. from
    /// `TrustStore::accepted_ca_names`). Default: none listed.
    pub fn accepted_cas<I, S>(self, cas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            answers: self.answers.accepted_cas(cas),
            ..self
        }
    }

    /// Counts requests by outcome, passes, and rejections by reason
    /// (`certificate_required`, the invalid reason's name such as `expired`,
    /// `not_authorized`, `missing_outcome`) into `metrics`, as
    /// `VerifyClientLayer::metrics` of mtls-status-tower does for HTTP; the
    /// same handle can be given to both. Default: not counted.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use mtls_status::{ClientAuthMetrics, ClientAuthOutcome, VerifyMode};
    /// use mtls_status_tonic::ClientAuthCheck;
    /// use tonic::service::Interceptor;
    ///
    /// let metrics = ClientAuthMetrics::new();
    /// let mut interceptor = ClientAuthCheck::new(VerifyMode::On).metrics(metrics.clone()).interceptor();
    ///
    /// let mut request = tonic::Request::new(());
    /// request.extensions_mut().insert(Arc::new(ClientAuthOutcome::None));
    /// assert!(interceptor.call(request).is_err());
    ///
    /// let snapshot = metrics.snapshot();
    /// assert_eq!((snapshot.requests, snapshot.none, snapshot.passed), (1, 1, 0));
    /// assert_eq!(snapshot.rejections("certificate_required"), 1);
    /// ```
    pub fn metrics(self, metrics: ClientAuthMetrics) -> Self {
        Self {
            policy: self.policy.metrics(metrics),
            ..self
        }
    }

    /// The mode this check enforces.
    pub fn mode(&self) -> VerifyMode {
        self.policy.mode()
    }

    /// The check as a tower layer, for `Server::builder().layer(..)` (every
    /// service) or `.add_service(check.layer().layer(svc))` (one service).
    pub fn layer(&self) -> GrpcClientAuthLayer {
        GrpcClientAuthLayer::from_check(Arc::new(self.clone()))
    }

    /// The check as a tonic interceptor, for
    /// `GreeterServer::with_interceptor(svc, check.interceptor())`.
    pub fn interceptor(&self) -> ClientAuthInterceptor {
        ClientAuthInterceptor::from_check(Arc::new(self.clone()))
    }

    /// `Ok` to let the request through (its identity metadata stripped), or
    /// the status to answer. On the way through, puts the outcome into
    /// `extensions` as `Arc<ClientAuthOutcome>` (and tonic's
    /// `TcpConnectInfo`) if only [`MtlsConnectInfo`] was there.
    pub(crate) fn check(
        &self,
        extensions: &mut Extensions,
        headers: &mut HeaderMap,
        rpc: Option<&str>,
    ) -> Result<(), Status> {
        adopt_connect_info(extensions);
        let outcome = outcome_in(extensions);
        let peer = extensions
            .get::<MtlsConnectInfo>()
            .and_then(MtlsConnectInfo::remote_addr);
        let mut answer = None;
        let judgement = self.policy.check(outcome.map(Arc::as_ref), |judgement| {
            answer = status::for_judgement(judgement, &self.answers);
            let context = LogContext::new(GLUE).rpc(rpc).peer(peer);
            match &answer {
                Some(status) => context.grpc_status(status::code_name(status.code())),
                None => context,
            }
        });
        match answer {
            Some(status) => Err(status),
            None => {
                // No proxy between the TLS and us: any copy is the client's.
                strip_identity_headers(headers);
                if let Some(tolerated) = judgement.tolerated_extension() {
                    // The service learns why an invalid certificate passed.
                    extensions.insert(tolerated);
                }
                Ok(())
            }
        }
    }
}

/// Inserts the outcome of tonic's [`MtlsConnectInfo`] as
/// `Arc<ClientAuthOutcome>` and `TcpConnectInfo`, for later layers, handlers
/// and tonic's `Request::remote_addr()`, unless they are there already.
fn adopt_connect_info(extensions: &mut Extensions) {
    let Some(info) = extensions.get::<MtlsConnectInfo>() else {
        return;
    };
    let (outcome, tcp) = (Arc::clone(info.outcome()), info.tcp_connect_info());
    if extensions
        .get::<Arc<mtls_status::ClientAuthOutcome>>()
        .is_none()
    {
        extensions.insert(outcome);
    }
    if extensions.get::<TcpConnectInfo>().is_none() {
        extensions.insert(tcp);
    }
}
