//! [`VerifyClientLayer`]: one route's client-certificate policy.

use std::sync::Arc;

use mtls_status::{
    AnswerOptions, AnswerStyle, Authorize, ClientAuthMetrics, ClientAuthPolicy, ForwardHeaders,
    Tolerance, VerifyMode,
};
use tower_layer::Layer;

use super::VerifyClient;

/// Applies a route's client-certificate policy: [`VerifyMode`], optional
/// authorization, answer style and identity-header forwarding.
///
/// Each instance is configured on its own, so different routes can carry
/// different layers (axum: `route_layer` per route). Cloning is cheap (one
/// `Arc`). The defaults are nginx's once client verification is configured,
/// plus this crate's stricter habits:
///
/// | setting | default | change with |
/// |---|---|---|
/// | mode | [`VerifyMode::On`]: no certificate 496, invalid 495 | [`mode`](Self::mode) |
/// | authorization | none: every verified client passes | [`authorize`](Self::authorize) |
/// | answers | [`AnswerStyle::Explicit`]: 495/496 + problem+json | [`style`](Self::style) |
/// | accepted CAs in 495/496 details | none listed | [`accepted_cas`](Self::accepted_cas) |
/// | identity headers | incoming ones stripped, none set | [`forward`](Self::forward) |
/// | tolerated failures | none: every failure is 495 | [`tolerate`](Self::tolerate) |
/// | counters | none | [`metrics`](Self::metrics) |
///
/// Incoming identity headers (`X-SSL-Client-*`, `x-forwarded-client-cert`,
/// ..., every value of each, `_` spellings included: see
/// [`is_identity_header`](mtls_status::forward::is_identity_header)) are
/// stripped from every request that reaches the inner service, whatever the
/// mode and forwarding: a client can never choose its identity. This covers
/// the request head; trailers arrive with the body, after the inner service
/// has started, and are passed on as sent: never take an identity from a
/// trailer.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct VerifyClientLayer {
    pub(crate) config: Arc<Config>,
}

/// What a layer and its services share.
#[derive(Clone, Debug, Default)]
pub(crate) struct Config {
    pub(crate) policy: ClientAuthPolicy,
    pub(crate) answers: AnswerOptions,
    pub(crate) forward: ForwardHeaders,
}

impl VerifyClientLayer {
    /// A layer with the defaults above: mode `On`, no authorization,
    /// explicit answers, no forwarding, no counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer enforcing `policy` (mode, authorization, counters), e.g. one
    /// shared with a gRPC check, answering with `answers`.
    pub fn with_policy(policy: ClientAuthPolicy, answers: AnswerOptions) -> Self {
        Self {
            config: Arc::new(Config {
                policy,
                answers,
                ..Config::default()
            }),
        }
    }

    fn update(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(Arc::make_mut(&mut self.config));
        self
    }

    /// How strictly the route requires a certificate (nginx's
    /// `ssl_verify_client`). Default [`VerifyMode::On`].
    ///
    /// | outcome | `On` | `Optional` | `OptionalNoCa` | `Off` |
    /// |---|---|---|---|---|
    /// | no certificate | 496 | pass | pass | pass |
    /// | untrusted issuer | 495 | 495 | pass | pass |
    /// | other failure (expired, revoked, ...) | 495 | 495 | 495 | pass |
    /// | verified | pass | pass | pass | pass |
    ///
    /// The mode of a route can only be as strict as the listener allows: with
    /// `Off` at the TLS level no certificate is requested, so every outcome
    /// is "no certificate".
    pub fn mode(self, mode: VerifyMode) -> Self {
        self.update(|config| config.policy = config.policy.clone().with_mode(mode))
    }

    /// How rejections are answered. Default [`AnswerStyle::Explicit`]
    /// (495 / 496 with reason phrases and an `application/problem+json`
    /// body); [`AnswerStyle::Nginx`] answers `400 Bad Request` with nginx's
    /// exact HTML pages. 403 stays 403 in both.
    pub fn style(self, style: AnswerStyle) -> Self {
        self.update(|config| config.answers = config.answers.clone().with_style(style))
    }

    /// Which identity headers the inner service receives:
    /// [`ForwardHeaders::nginx`] (`X-SSL-Client-Verify`, `-S-DN`, ...),
    /// [`ForwardHeaders::xfcc`] (Envoy's `x-forwarded-client-cert`), or the
    /// default [`ForwardHeaders::none`]. Incoming copies are stripped in
    /// every case.
    pub fn forward(self, forward: ForwardHeaders) -> Self {
        self.update(|config| config.forward = forward)
    }

    /// The RFC 2253 names of the CAs the server accepts, listed in the
    /// `detail` of explicit 496 answers and of 495 answers for an untrusted
    /// issuer, so the client knows what to present. Default: none listed.
    /// See [`AnswerOptions::accepted_cas`].
    pub fn accepted_cas<I, S>(self, cas: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.update(|config| config.answers = config.answers.clone().accepted_cas(cas))
    }

    /// Lets a failure through for a grace period while it is the chain's
    /// only one (HAProxy `crt-ignore-err`, Envoy
    /// `allow_expired_certificate`), e.g.
    /// `Tolerance::expired(Duration::from_secs(7 * 86_400))` during a
    /// rotation: see [`ClientAuthPolicy::tolerate`]. The handler runs with
    /// the outcome still `Invalid` and a
    /// [`Tolerated`](mtls_status::Tolerated) in the request's extensions
    /// (mtls-status-axum's `VerifiedClient` accepts it and says so in
    /// `tolerated()`); the pass is logged at WARN and counted in
    /// `mtls_client_auth_tolerated_total`.
    pub fn tolerate(self, tolerance: Tolerance) -> Self {
        self.update(|config| config.policy = config.policy.clone().tolerate(tolerance))
    }

    /// Authorizes verified clients with `policy`: a closure
    /// `|client: &ClientIdentity| -> bool` (or `-> Result<(), String>`), or an
    /// [`AllowList`](mtls_status::AllowList). A verified client the policy refuses
    /// gets 403.
    ///
    /// The policy applies after the mode: requests the mode rejects get 495
    /// or 496 first. A request that passes the mode **without** a verified
    /// certificate (no certificate under `Optional`, an untrusted one under
    /// `OptionalNoCa`, anything under `Off`) also gets 403: a policy about
    /// the client's identity cannot be satisfied without one. (The gRPC
    /// checks of `mtls-status-tonic` refuse the same requests with
    /// `UNAUTHENTICATED` and the 496 / 495 reason, as gRPC reserves
    /// `PERMISSION_DENIED` for identified callers.) Replaces any previous
    /// policy.
    pub fn authorize(self, policy: impl Authorize) -> Self {
        self.update(|config| config.policy = config.policy.clone().authorize(policy))
    }

    /// Counts requests by outcome and rejections by reason into `metrics`
    /// (shared by every clone; read with
    /// [`ClientAuthMetrics::snapshot`]). Default: not counted.
    pub fn metrics(self, metrics: ClientAuthMetrics) -> Self {
        self.update(|config| config.policy = config.policy.clone().metrics(metrics))
    }
}

impl<S> Layer<S> for VerifyClientLayer {
    type Service = VerifyClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        VerifyClient {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}
