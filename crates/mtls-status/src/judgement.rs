//! The judgement of one request: a route's [`ClientAuthPolicy`] (mode and
//! authorization) applied to the connection's [`ClientAuthOutcome`].
//!
//! Data flows one way: the TLS glue classifies the connection (an outcome),
//! the policy judges each request ([`ClientAuthPolicy::judge`], pure), and
//! each integration maps the [`Judgement`] to its answer: an HTTP response
//! ([`Answer::for_judgement`](crate::Answer::for_judgement)) in
//! mtls-status-tower and mtls-status-axum, a gRPC `Status` in
//! mtls-status-tonic. [`ClientAuthPolicy::check`] is the one place that also
//! logs the judgement (with nginx's text) and counts it into the
//! [`ClientAuthMetrics`]; every integration calls it once per request.
//!
//! | outcome | mode passes? | policy | judgement | HTTP | gRPC |
//! |---|---|---|---|---|---|
//! | none, mode `On` | no | any | [`CertificateRequired`](Judgement::CertificateRequired) | 496 | `UNAUTHENTICATED` |
//! | invalid (per the mode's matrix) | no | any | [`CertificateInvalid`](Judgement::CertificateInvalid) | 495 | `UNAUTHENTICATED` |
//! | verified | yes | refuses | [`NotAuthorized`](Judgement::NotAuthorized) | 403 | `PERMISSION_DENIED` |
//! | none or invalid | yes | set | [`IdentityRequired`](Judgement::IdentityRequired) | 403 | `UNAUTHENTICATED` (496 / 495) |
//! | no outcome in the request | — | any | [`MissingOutcome`](Judgement::MissingOutcome) | 500 | `INTERNAL` |
//! | otherwise | yes | allows or none | [`Pass`](Judgement::Pass) | handler | handler |

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;

use crate::authorize::Authorize;
use crate::metrics::ClientAuthMetrics;
use crate::mode::{Decision, VerifyMode};
use crate::outcome::{ClientAuthOutcome, SSL_CERTIFICATE_ERROR, SSL_CERTIFICATE_REQUIRED};
use crate::reason::InvalidReason;

/// The reason name of a 496: no certificate where one is required.
pub const CERTIFICATE_REQUIRED: &str = "certificate_required";
/// The reason name of a 403: the route's policy does not allow the client.
pub const NOT_AUTHORIZED: &str = "not_authorized";
/// The reason name of a request without an outcome (the TLS glue is
/// missing: a server configuration error).
pub const MISSING_OUTCOME: &str = "missing_outcome";

/// The 403 explanation when a policy is configured but the request has no
/// verified certificate.
pub(crate) const NO_VERIFIED_CERTIFICATE: &str = "this resource's authorization policy requires a verified client certificate, and none was presented";

/// What a route requires of a client certificate: a [`VerifyMode`]
/// (nginx's `ssl_verify_client`), an optional [`Authorize`] policy for
/// verified clients, and optional [`ClientAuthMetrics`] to count into.
///
/// [`judge`](Self::judge) is pure; [`check`](Self::check) judges, logs and
/// counts, and is what the tower, axum and tonic integrations call. Cloning
/// is cheap (the policy and the counters are shared).
///
/// ```
/// use mtls_status::{ClientAuthOutcome, ClientAuthPolicy, ClientIdentity, Judgement, VerifyMode};
///
/// let policy = ClientAuthPolicy::new(VerifyMode::On);
/// assert_eq!(policy.judge(&ClientAuthOutcome::None), Judgement::CertificateRequired);
/// assert_eq!(policy.judge(&ClientAuthOutcome::None).status().map(|s| s.as_u16()), Some(496));
///
/// let optional = ClientAuthPolicy::new(VerifyMode::Optional);
/// assert!(optional.judge(&ClientAuthOutcome::None).is_pass());
/// // With an authorization policy, a client must prove who it is.
/// let admin = optional.authorize(|client: &ClientIdentity| client.subject_dn() == "CN=admin");
/// assert_eq!(admin.judge(&ClientAuthOutcome::None), Judgement::IdentityRequired { reason: None });
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct ClientAuthPolicy {
    mode: VerifyMode,
    authorize: Option<Arc<dyn Authorize>>,
    metrics: Option<ClientAuthMetrics>,
}

impl ClientAuthPolicy {
    /// A policy enforcing `mode`, authorizing every verified client, not
    /// counting. `Default` is [`VerifyMode::On`].
    pub fn new(mode: VerifyMode) -> Self {
        Self {
            mode,
            authorize: None,
            metrics: None,
        }
    }

    /// The same policy with `mode` instead.
    pub fn with_mode(mut self, mode: VerifyMode) -> Self {
        self.mode = mode;
        self
    }

    /// Authorizes verified clients with `policy` (a closure
    /// `|client: &ClientIdentity| -> bool` or `-> Result<(), String>`, an
    /// [`AllowList`](crate::AllowList), or your own [`Authorize`]).
    /// Replaces any previous policy.
    pub fn authorize(mut self, policy: impl Authorize) -> Self {
        self.authorize = Some(Arc::new(policy));
        self
    }

    /// Counts every [`check`](Self::check) into `metrics` (shared by every
    /// clone; the same handle can serve several policies).
    pub fn metrics(mut self, metrics: ClientAuthMetrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The mode.
    pub fn mode(&self) -> VerifyMode {
        self.mode
    }

    /// Whether an authorization policy is set.
    pub fn has_authorization(&self) -> bool {
        self.authorize.is_some()
    }

    /// The counters, if any.
    pub fn metrics_handle(&self) -> Option<&ClientAuthMetrics> {
        self.metrics.as_ref()
    }

    /// The judgement on a request on a connection with `outcome`: the
    /// mode's matrix first ([`VerifyMode::decide`]), then, for requests the
    /// mode lets through, the authorization policy. Pure: no log, no count.
    pub fn judge(&self, outcome: &ClientAuthOutcome) -> Judgement {
        match self.mode.decide(outcome) {
            Decision::Pass => {}
            Decision::CertificateRequired => return Judgement::CertificateRequired,
            // `CertificateInvalid`, and anything `decide` may add: never a pass.
            _ => return Judgement::invalid(outcome),
        }
        let Some(policy) = &self.authorize else {
            return Judgement::Pass;
        };
        match outcome.identity() {
            Some(identity) => match policy.authorize(identity) {
                Ok(()) => Judgement::Pass,
                Err(why) => Judgement::NotAuthorized {
                    subject: identity.subject_dn().to_owned(),
                    why,
                    authorizer: policy.name(),
                },
            },
            None => Judgement::IdentityRequired {
                reason: outcome.reason().cloned(),
            },
        }
    }

    /// [`judge`](Self::judge)s the request (a
    /// [`MissingOutcome`](Judgement::MissingOutcome) when `outcome` is
    /// `None`), logs a rejection with nginx's text ([`Judgement::log`], with
    /// the fields `context` gives for the judgement) and counts the request
    /// into the metrics, if set. The one per-request pipeline of every
    /// integration.
    pub fn check<'a>(
        &self,
        outcome: Option<&ClientAuthOutcome>,
        context: impl FnOnce(&Judgement) -> LogContext<'a>,
    ) -> Judgement {
        let judgement = match outcome {
            Some(outcome) => self.judge(outcome),
            None => Judgement::MissingOutcome,
        };
        judgement.log(&context(&judgement).mode(self.mode));
        #[cfg(feature = "metrics")]
        crate::metrics::facade::record(outcome, &judgement);
        if let Some(metrics) = &self.metrics {
            metrics.count(outcome, &judgement);
        }
        judgement
    }
}

impl fmt::Debug for ClientAuthPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuthPolicy")
            .field("mode", &self.mode)
            .field("authorize", &self.authorize.as_ref().map(|_| ".."))
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// What a route does with one request. See the [module docs](self) for how
/// each integration answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Judgement {
    /// The request reaches the handler.
    Pass,
    /// No certificate, but the mode requires one (nginx's 496).
    CertificateRequired,
    /// The certificate failed verification (nginx's 495).
    CertificateInvalid {
        /// Why it failed.
        reason: InvalidReason,
        /// The presented certificate's RFC 2253 subject, if it parsed.
        subject: Option<String>,
    },
    /// A verified client that the authorization policy refuses (403).
    NotAuthorized {
        /// The client's RFC 2253 subject.
        subject: String,
        /// The policy's explanation (see [`Authorize`]).
        why: Cow<'static, str>,
        /// The refusing policy's [`Authorize::name`] (`allow_list`,
        /// `spiffe`, `custom`, ...), the `authorizer` label of
        /// `mtls_client_auth_denied_total`.
        authorizer: &'static str,
    },
    /// The route has an authorization policy and the request passed the
    /// mode without a verified certificate (no certificate under
    /// `Optional`, an untrusted one under `OptionalNoCa`, anything under
    /// `Off`). HTTP answers 403; gRPC `UNAUTHENTICATED` with the reason the
    /// mode `On` would give, as gRPC keeps `PERMISSION_DENIED` for
    /// identified callers.
    IdentityRequired {
        /// Why the certificate failed verification; `None` when there was
        /// none.
        reason: Option<InvalidReason>,
    },
    /// The request carries no outcome: the TLS glue that classifies
    /// connections is not in front of the check. A server configuration
    /// error, answered 500, never passed.
    MissingOutcome,
}

impl Judgement {
    fn invalid(outcome: &ClientAuthOutcome) -> Self {
        Self::CertificateInvalid {
            // A 495 without a reason cannot come from `VerifyMode::decide`;
            // judged generically rather than panic.
            reason: outcome
                .reason()
                .cloned()
                .unwrap_or_else(|| InvalidReason::new(crate::ReasonKind::Other)),
            subject: outcome
                .presented_identity()
                .map(|identity| identity.subject_dn().to_owned()),
        }
    }

    /// Whether the request reaches the handler.
    pub const fn is_pass(&self) -> bool {
        matches!(self, Self::Pass)
    }

    /// The stable reason name of a rejection, as logs and metrics record
    /// it: `certificate_required`, an [`InvalidReason::name`] (`expired`,
    /// `unknown_issuer`, ...), `not_authorized` or `missing_outcome`; `None`
    /// for [`Pass`](Self::Pass). [`IdentityRequired`](Self::IdentityRequired)
    /// is named for why the client has no verified identity
    /// (`certificate_required` or the invalid reason), as mode `On` would
    /// name it.
    ///
    /// ```
    /// use mtls_status::{Judgement, ReasonKind};
    ///
    /// let expired = Judgement::CertificateInvalid { reason: ReasonKind::Expired.into(), subject: None };
    /// assert_eq!(expired.reason(), Some("expired"));
    /// assert_eq!(Judgement::Pass.reason(), None);
    /// ```
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Pass => None,
            Self::CertificateRequired => Some(CERTIFICATE_REQUIRED),
            Self::CertificateInvalid { reason, .. } => Some(reason.name()),
            Self::NotAuthorized { .. } => Some(NOT_AUTHORIZED),
            Self::IdentityRequired { reason } => Some(
                reason
                    .as_ref()
                    .map_or(CERTIFICATE_REQUIRED, InvalidReason::name),
            ),
            Self::MissingOutcome => Some(MISSING_OUTCOME),
        }
    }

    /// The HTTP status of the rejection in nginx's terms (496, 495, 403,
    /// 500); `None` for [`Pass`](Self::Pass).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Pass => None,
            Self::CertificateRequired => Some(SSL_CERTIFICATE_REQUIRED),
            Self::CertificateInvalid { .. } => Some(SSL_CERTIFICATE_ERROR),
            Self::NotAuthorized { .. } | Self::IdentityRequired { .. } => {
                Some(StatusCode::FORBIDDEN)
            }
            Self::MissingOutcome => Some(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// Logs a rejection with nginx's text (`client sent no required SSL
    /// certificate`, `client SSL certificate verify error: (10:certificate
    /// has expired)`) at INFO, a missing outcome at ERROR with what to fix;
    /// a pass logs nothing. Fields: `reason`, `status`, `subject`, and
    /// those of `context` that are set (`mode`, `grpc_status`, `rpc`,
    /// `peer`). The one place where judgements are logged.
    pub fn log(&self, context: &LogContext<'_>) {
        let status = self.status().map(|status| status.as_u16());
        let LogContext {
            mode,
            grpc_status,
            rpc,
            peer,
            glue,
        } = *context;
        let mode = mode.map(tracing::field::display);
        let peer = peer.map(tracing::field::display);
        match self {
            Self::Pass => {}
            Self::CertificateRequired => tracing::info!(
                reason = CERTIFICATE_REQUIRED,
                status,
                grpc_status,
                mode,
                rpc,
                peer,
                "client sent no required SSL certificate"
            ),
            Self::CertificateInvalid { reason, subject } => tracing::info!(
                reason = reason.name(),
                status,
                grpc_status,
                subject,
                mode,
                rpc,
                peer,
                "{}",
                reason.nginx_log_line()
            ),
            Self::NotAuthorized {
                subject,
                why,
                authorizer,
            } => tracing::info!(
                reason = NOT_AUTHORIZED,
                status,
                grpc_status,
                subject,
                why = %why,
                authorizer,
                mode,
                rpc,
                peer,
                "client SSL certificate not authorized: {why}"
            ),
            Self::IdentityRequired { reason } => tracing::info!(
                reason = self.reason(),
                status,
                grpc_status,
                outcome = if reason.is_some() { "invalid" } else { "none" },
                mode,
                rpc,
                peer,
                "client sent no verified SSL certificate, required by the authorization policy"
            ),
            Self::MissingOutcome => tracing::error!(
                reason = MISSING_OUTCOME,
                status,
                grpc_status,
                mode,
                rpc,
                "request has no client-certificate outcome in its extensions: the mtls-status \
                 check runs without the TLS glue in front of it ({glue}); answering {}",
                status.unwrap_or(500)
            ),
        }
    }
}

/// What an integration adds to the log line of a [`Judgement`]: the
/// answer it gives in its own protocol and where the request was going.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct LogContext<'a> {
    /// The route's mode.
    pub mode: Option<VerifyMode>,
    /// The gRPC status name of the answer (`UNAUTHENTICATED`, ...).
    pub grpc_status: Option<&'static str>,
    /// The RPC's path.
    pub rpc: Option<&'a str>,
    /// The client's address.
    pub peer: Option<SocketAddr>,
    /// What installs the TLS glue, named in the error for a missing
    /// outcome.
    pub glue: &'static str,
}

impl<'a> LogContext<'a> {
    /// A context naming `glue` (what to install when the outcome is
    /// missing), without gRPC fields.
    pub const fn new(glue: &'static str) -> Self {
        Self {
            mode: None,
            grpc_status: None,
            rpc: None,
            peer: None,
            glue,
        }
    }

    /// With the route's mode.
    pub const fn mode(mut self, mode: VerifyMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// With the gRPC status name of the answer.
    pub const fn grpc_status(mut self, grpc_status: &'static str) -> Self {
        self.grpc_status = Some(grpc_status);
        self
    }

    /// With the RPC's path.
    pub const fn rpc(mut self, rpc: Option<&'a str>) -> Self {
        self.rpc = rpc;
        self
    }

    /// With the client's address.
    pub const fn peer(mut self, peer: Option<SocketAddr>) -> Self {
        self.peer = peer;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::InvalidCertificate;
    use crate::reason::ReasonKind;

    fn invalid(kind: ReasonKind) -> ClientAuthOutcome {
        ClientAuthOutcome::Invalid(InvalidCertificate::new(kind.into(), None))
    }

    #[test]
    fn mode_matrix_then_policy() {
        let untrusted = invalid(ReasonKind::UnknownIssuer);
        let expired = invalid(ReasonKind::Expired);
        let on = ClientAuthPolicy::new(VerifyMode::On);
        assert_eq!(
            on.judge(&ClientAuthOutcome::None),
            Judgement::CertificateRequired
        );
        assert_eq!(on.judge(&expired).reason(), Some("expired"));
        let no_ca = ClientAuthPolicy::new(VerifyMode::OptionalNoCa);
        assert!(no_ca.judge(&untrusted).is_pass());
        assert_eq!(
            no_ca.judge(&expired).status().map(|s| s.as_u16()),
            Some(495)
        );
        let guarded = no_ca.authorize(|_: &crate::ClientIdentity| true);
        assert_eq!(
            guarded.judge(&untrusted),
            Judgement::IdentityRequired {
                reason: Some(ReasonKind::UnknownIssuer.into())
            }
        );
        assert_eq!(
            guarded.judge(&untrusted).status(),
            Some(StatusCode::FORBIDDEN)
        );
        let off = ClientAuthPolicy::new(VerifyMode::Off);
        assert!(off.judge(&expired).is_pass());
    }

    #[test]
    fn check_counts_missing_outcome() {
        let metrics = ClientAuthMetrics::new();
        let policy = ClientAuthPolicy::new(VerifyMode::Off).metrics(metrics.clone());
        let judgement = policy.check(None, |_| LogContext::new("test glue"));
        assert_eq!(judgement, Judgement::MissingOutcome);
        assert_eq!(judgement.status(), Some(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(
            policy
                .check(Some(&ClientAuthOutcome::None), |_| LogContext::new("test"))
                .is_pass()
        );
        let snapshot = metrics.snapshot();
        assert_eq!(
            (snapshot.requests, snapshot.passed, snapshot.rejected),
            (2, 1, 1)
        );
        assert_eq!(snapshot.rejections(MISSING_OUTCOME), 1);
    }
}
