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
//! | invalid, the route [tolerates](ClientAuthPolicy::tolerate) its only failure | yes | allows or none | [`Tolerated`](Judgement::Tolerated) | handler | handler |
//! | no outcome in the request | — | any | [`MissingOutcome`](Judgement::MissingOutcome) | 500 | `INTERNAL` |
//! | otherwise | yes | allows or none | [`Pass`](Judgement::Pass) | handler | handler |

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use rustls_pki_types::UnixTime;

use crate::authorize::Authorize;
use crate::metrics::ClientAuthMetrics;
use crate::mode::{Decision, VerifyMode};
use crate::outcome::{
    ClientAuthOutcome, InvalidCertificate, SSL_CERTIFICATE_ERROR, SSL_CERTIFICATE_REQUIRED,
};
use crate::reason::{InvalidReason, ReasonKind};

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
    tolerances: Vec<Tolerance>,
}

/// A certificate failure a route accepts for a while, as HAProxy's
/// `crt-ignore-err` or Envoy's `allow_expired_certificate`, but narrower:
/// one time-bound reason, for a grace period, and only when it is the
/// chain's **only** failure (the classifier checked that the chain verifies
/// at the instant its validity ended, or began: see
/// [`InvalidCertificate::valid_at`]). An expired certificate from an
/// unknown CA, a revoked one, or one the classifier could not check this
/// way is never tolerated.
///
/// ```
/// use std::time::Duration;
/// use mtls_status::judgement::Tolerance;
///
/// let rotation = Tolerance::expired(Duration::from_secs(7 * 86_400));
/// assert_eq!(rotation.kind().name(), "expired");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tolerance {
    kind: ReasonKind,
    grace: Duration,
}

impl Tolerance {
    /// Accept a certificate that expired less than `grace` ago (a client
    /// late with its rotation).
    pub const fn expired(grace: Duration) -> Self {
        Self {
            kind: ReasonKind::Expired,
            grace,
        }
    }

    /// Accept a certificate that becomes valid within `grace` (a client's
    /// new certificate, or clock skew).
    pub const fn not_yet_valid(grace: Duration) -> Self {
        Self {
            kind: ReasonKind::NotYetValid,
            grace,
        }
    }

    /// The reason tolerated: [`ReasonKind::Expired`] or
    /// [`ReasonKind::NotYetValid`].
    pub const fn kind(&self) -> ReasonKind {
        self.kind
    }

    /// The grace period.
    pub const fn grace(&self) -> Duration {
        self.grace
    }

    /// Whether `invalid`, judged at `now`, is tolerated: its reason is this
    /// kind, it is the only failure ([`InvalidCertificate::valid_at`]), and
    /// the certificate expired less than the grace ago (becomes valid
    /// within it).
    pub fn tolerates(&self, invalid: &InvalidCertificate, now: UnixTime) -> bool {
        let Some(valid_at) = invalid.valid_at() else {
            return false;
        };
        if invalid.reason().kind() != self.kind {
            return false;
        }
        let (now, valid_at) = (now.as_secs(), valid_at.as_secs());
        let grace = self.grace.as_secs();
        match self.kind {
            // `valid_at` is the last valid second: expired for
            // `now - valid_at - 1` seconds, less than the grace.
            ReasonKind::Expired => now.saturating_sub(valid_at) <= grace,
            _ => valid_at.saturating_sub(now) <= grace,
        }
    }
}

/// A tolerated failure, put into the request's extensions by the layer
/// that judged it (mtls-status-tower's `VerifyClientLayer`) for the
/// handler: the outcome in the extensions stays `Invalid`, and this says
/// why the route let it through anyway (mtls-status-axum's
/// `VerifiedClient::tolerated` reads it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tolerated {
    reason: InvalidReason,
}

impl Tolerated {
    /// The tolerated reason (`expired`, `not_yet_valid`), with its context
    /// (the certificate, its validity, the time it was checked at).
    pub fn reason(&self) -> &InvalidReason {
        &self.reason
    }

    /// The tolerated failure in `extensions`, if the route tolerated one.
    pub fn from_extensions(extensions: &http::Extensions) -> Option<&Self> {
        extensions.get::<Self>()
    }
}

impl ClientAuthPolicy {
    /// A policy enforcing `mode`, authorizing every verified client, not
    /// counting. `Default` is [`VerifyMode::On`].
    pub fn new(mode: VerifyMode) -> Self {
        Self {
            mode,
            authorize: None,
            metrics: None,
            tolerances: Vec::new(),
        }
    }

    /// Lets `tolerance`'s failure through on this route while it is the
    /// chain's only one and within the grace period: the request is judged
    /// [`Judgement::Tolerated`] (authorized like a verified client, logged,
    /// counted in `mtls_client_auth_tolerated_total`) instead of 495.
    /// Replaces an earlier tolerance of the same kind.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mtls_status::judgement::Tolerance;
    /// use mtls_status::{ClientAuthOutcome, ClientAuthPolicy, InvalidCertificate, ReasonKind, VerifyMode};
    /// use rustls_pki_types::UnixTime;
    ///
    /// let at = |secs| UnixTime::since_unix_epoch(Duration::from_secs(secs));
    /// # let pki = mtls_testpki::Pki::generate();
    /// # let presented = mtls_status::ClientIdentity::from_chain(pki.expired.chain()).ok();
    /// // Expired at 1_000_000 s and otherwise valid, as the classifier finds it.
    /// let expired = ClientAuthOutcome::Invalid(
    ///     InvalidCertificate::new(ReasonKind::Expired.into(), presented).with_valid_at(at(999_999)),
    /// );
    /// let policy = ClientAuthPolicy::new(VerifyMode::On).tolerate(Tolerance::expired(Duration::from_secs(3600)));
    /// let within = policy.judge_at(&expired, at(1_000_000 + 3599));
    /// assert!(within.is_pass());
    /// assert_eq!(within.tolerated().map(|r| r.name()), Some("expired"));
    /// assert_eq!(policy.judge_at(&expired, at(1_000_000 + 3600)).status().map(|s| s.as_u16()), Some(495));
    /// ```
    pub fn tolerate(mut self, tolerance: Tolerance) -> Self {
        self.tolerances.retain(|t| t.kind != tolerance.kind);
        self.tolerances.push(tolerance);
        self
    }

    /// The tolerances, in the order given.
    pub fn tolerances(&self) -> &[Tolerance] {
        &self.tolerances
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

    /// The judgement on a request on a connection with `outcome`, now: see
    /// [`judge_at`](Self::judge_at). No log, no count.
    pub fn judge(&self, outcome: &ClientAuthOutcome) -> Judgement {
        self.judge_at(outcome, UnixTime::now())
    }

    /// The judgement on a request on a connection with `outcome` at `now`:
    /// the mode's matrix first ([`VerifyMode::decide`]); a failure the
    /// route [tolerates](Self::tolerate) at `now` goes on as
    /// [`Judgement::Tolerated`]; then, for requests the mode lets through,
    /// the authorization policy. Pure: no log, no count, no clock.
    pub fn judge_at(&self, outcome: &ClientAuthOutcome, now: UnixTime) -> Judgement {
        match self.mode.decide(outcome) {
            Decision::Pass => {}
            Decision::CertificateRequired => return Judgement::CertificateRequired,
            // `CertificateInvalid`, and anything `decide` may add: never a
            // pass, unless tolerated.
            _ => {
                return match self.tolerated(outcome, now) {
                    Some((invalid, identity)) => {
                        self.authorized(identity, || Judgement::Tolerated {
                            reason: invalid.reason().clone(),
                            subject: identity.subject_dn().to_owned(),
                        })
                    }
                    None => Judgement::invalid(outcome),
                };
            }
        }
        match outcome.identity() {
            Some(identity) => self.authorized(identity, || Judgement::Pass),
            None if self.authorize.is_none() => Judgement::Pass,
            None => Judgement::IdentityRequired {
                reason: outcome.reason().cloned(),
            },
        }
    }

    /// The invalid certificate of `outcome` and its presented identity, if
    /// a tolerance of this route accepts it at `now`.
    fn tolerated<'o>(
        &self,
        outcome: &'o ClientAuthOutcome,
        now: UnixTime,
    ) -> Option<(&'o InvalidCertificate, &'o crate::ClientIdentity)> {
        let ClientAuthOutcome::Invalid(invalid) = outcome else {
            return None;
        };
        let identity = invalid.presented()?;
        self.tolerances
            .iter()
            .any(|t| t.tolerates(invalid, now))
            .then_some((invalid, identity))
    }

    /// `pass()` if the authorization policy (if any) allows `identity`,
    /// else [`Judgement::NotAuthorized`].
    fn authorized(
        &self,
        identity: &crate::ClientIdentity,
        pass: impl FnOnce() -> Judgement,
    ) -> Judgement {
        let Some(policy) = &self.authorize else {
            return pass();
        };
        match policy.authorize(identity) {
            Ok(()) => pass(),
            Err(why) => Judgement::NotAuthorized {
                subject: identity.subject_dn().to_owned(),
                why,
                authorizer: policy.name(),
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
            Some(outcome) => self.judge_at(outcome, UnixTime::now()),
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
            .field("tolerances", &self.tolerances)
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
    /// The certificate failed verification for a reason the route
    /// [tolerates](ClientAuthPolicy::tolerate), its only failure, within
    /// the grace period: the request reaches the handler (a pass), logged
    /// and counted as tolerated.
    Tolerated {
        /// The tolerated reason.
        reason: InvalidReason,
        /// The presented certificate's RFC 2253 subject.
        subject: String,
    },
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

    /// Whether the request reaches the handler ([`Pass`](Self::Pass) or
    /// [`Tolerated`](Self::Tolerated)).
    pub const fn is_pass(&self) -> bool {
        matches!(self, Self::Pass | Self::Tolerated { .. })
    }

    /// The failure the route tolerated, for a [`Tolerated`](Self::Tolerated)
    /// pass.
    pub fn tolerated(&self) -> Option<&InvalidReason> {
        match self {
            Self::Tolerated { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// What the layer puts into the request's extensions for the handler,
    /// for a [`Tolerated`](Self::Tolerated) pass.
    pub fn tolerated_extension(&self) -> Option<Tolerated> {
        self.tolerated().map(|reason| Tolerated {
            reason: reason.clone(),
        })
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
            Self::Pass | Self::Tolerated { .. } => None,
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
            Self::Pass | Self::Tolerated { .. } => None,
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
    /// a pass logs nothing, a [tolerated](Self::Tolerated) one logs nginx's
    /// text at WARN with `tolerated = true`. Fields: `reason`, `status`, `subject`, and
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
            Self::Tolerated { reason, subject } => tracing::warn!(
                reason = reason.name(),
                tolerated = true,
                subject,
                mode,
                rpc,
                peer,
                "{}; tolerated by the route's grace period",
                reason.nginx_log_line()
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

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    /// An invalid outcome of `kind` with a presented identity, the only
    /// failure when `valid_at` is set.
    fn failing(kind: ReasonKind, valid_at: Option<u64>) -> ClientAuthOutcome {
        let pki = mtls_testpki::Pki::generate();
        let presented = crate::ClientIdentity::from_chain(pki.valid_from_root.chain()).ok();
        let invalid = InvalidCertificate::new(kind.into(), presented);
        ClientAuthOutcome::Invalid(match valid_at {
            Some(t) => invalid.with_valid_at(at(t)),
            None => invalid,
        })
    }

    const HOUR: Duration = Duration::from_secs(3600);
    /// The last valid second of a certificate whose notAfter is 1_000_000.
    const LAST_VALID: u64 = 999_999;

    #[test]
    fn tolerance_within_grace_only_for_the_only_failure() {
        let policy = ClientAuthPolicy::new(VerifyMode::On).tolerate(Tolerance::expired(HOUR));
        let expired = failing(ReasonKind::Expired, Some(LAST_VALID));
        // Expired 0 s and 3599 s ago: tolerated; 3600 s ago: not.
        for now in [1_000_000, 1_003_599] {
            let judgement = policy.judge_at(&expired, at(now));
            assert!(judgement.is_pass(), "{now}: {judgement:?}");
            assert_eq!(judgement.reason(), None);
            assert_eq!(judgement.status(), None);
            assert_eq!(
                judgement.tolerated().map(InvalidReason::name),
                Some("expired")
            );
            assert_eq!(
                judgement.tolerated_extension().map(|t| t.reason().kind()),
                Some(ReasonKind::Expired)
            );
        }
        let late = policy.judge_at(&expired, at(1_003_600));
        assert_eq!(late.reason(), Some("expired"));
        assert_eq!(late.status(), Some(SSL_CERTIFICATE_ERROR));
        assert_eq!(late.tolerated_extension(), None);
        // Not known to be the only failure (e.g. an unknown CA too).
        let unproven = failing(ReasonKind::Expired, None);
        assert_eq!(
            policy.judge_at(&unproven, at(1_000_001)).reason(),
            Some("expired")
        );
        // Another reason, even if marked.
        let revoked = failing(ReasonKind::Revoked, Some(LAST_VALID));
        assert_eq!(
            policy.judge_at(&revoked, at(1_000_001)).reason(),
            Some("revoked")
        );
        let early = failing(ReasonKind::NotYetValid, Some(1_000_000));
        assert_eq!(
            policy.judge_at(&early, at(999_000)).reason(),
            Some("not_yet_valid")
        );
        // Without a tolerance: 495 as always.
        let strict = ClientAuthPolicy::new(VerifyMode::On);
        assert_eq!(
            strict.judge_at(&expired, at(1_000_001)).reason(),
            Some("expired")
        );
    }

    #[test]
    fn not_yet_valid_tolerance_and_replacement() {
        let early = failing(ReasonKind::NotYetValid, Some(1_000_000));
        let policy = ClientAuthPolicy::new(VerifyMode::Optional)
            .tolerate(Tolerance::not_yet_valid(Duration::from_secs(10)))
            .tolerate(Tolerance::not_yet_valid(HOUR));
        assert_eq!(policy.tolerances(), [Tolerance::not_yet_valid(HOUR)]);
        assert!(policy.judge_at(&early, at(1_000_000 - 3600)).is_pass());
        assert_eq!(
            policy.judge_at(&early, at(1_000_000 - 3601)).reason(),
            Some("not_yet_valid")
        );
    }

    #[test]
    fn a_tolerated_client_is_authorized_like_a_verified_one() {
        let expired = failing(ReasonKind::Expired, Some(LAST_VALID));
        let now = at(1_000_010);
        let nobody = ClientAuthPolicy::new(VerifyMode::On)
            .tolerate(Tolerance::expired(HOUR))
            .authorize(|_: &crate::ClientIdentity| false);
        assert_eq!(
            nobody.judge_at(&expired, now).reason(),
            Some(NOT_AUTHORIZED)
        );
        let named = ClientAuthPolicy::new(VerifyMode::On)
            .tolerate(Tolerance::expired(HOUR))
            .authorize(|c: &crate::ClientIdentity| c.subject_dn() == "CN=client-valid");
        assert!(named.judge_at(&expired, now).tolerated().is_some());
    }

    #[test]
    fn check_counts_tolerated_passes() {
        let metrics = ClientAuthMetrics::new();
        let policy = ClientAuthPolicy::new(VerifyMode::On)
            .tolerate(Tolerance::expired(Duration::from_secs(u64::MAX / 4)))
            .metrics(metrics.clone());
        let expired = failing(ReasonKind::Expired, Some(LAST_VALID));
        assert!(
            policy
                .check(Some(&expired), |_| LogContext::new("test"))
                .is_pass()
        );
        let snapshot = metrics.snapshot();
        assert_eq!(
            (snapshot.invalid, snapshot.passed, snapshot.rejected),
            (1, 1, 0)
        );
        assert_eq!(snapshot.tolerated("expired"), 1);
    }
}
