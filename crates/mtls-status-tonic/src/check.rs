//! The per-service check shared by the interceptor and the layer: find the
//! connection's outcome, apply the mode, authorize, log.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use http::Extensions;
use mtls_status::{ClientAuthOutcome, Decision, VerifyMode};
use mtls_status_tower::metrics::{CERTIFICATE_REQUIRED, MISSING_OUTCOME, NOT_AUTHORIZED};
use mtls_status_tower::{Authorize, ClientAuthMetrics};
use tonic::Status;
use tonic::transport::server::TcpConnectInfo;

use crate::connect_info::MtlsConnectInfo;
use crate::status;

/// One service's client-certificate settings.
#[derive(Clone, Default)]
pub(crate) struct Config {
    pub(crate) mode: VerifyMode,
    pub(crate) accepted_cas: Vec<String>,
    pub(crate) policy: Option<Arc<dyn Authorize>>,
    pub(crate) metrics: Option<ClientAuthMetrics>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("mode", &self.mode)
            .field("accepted_cas", &self.accepted_cas)
            .field("policy", &self.policy.as_ref().map(|_| ".."))
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// Where a request is going, for the logs: the gRPC path when known.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    pub(crate) rpc: Option<&'a str>,
}

impl Config {
    pub(crate) fn new(mode: VerifyMode) -> Self {
        Self {
            mode,
            ..Self::default()
        }
    }

    /// `Ok` to let the request through, or the status to answer. On the way
    /// through, puts the outcome into `extensions` as
    /// `Arc<ClientAuthOutcome>` (and tonic's `TcpConnectInfo`) if only
    /// [`MtlsConnectInfo`] was there. Counts the request into the metrics,
    /// if any, as `VerifyClientLayer` does: its outcome, then a pass or the
    /// rejection's reason.
    pub(crate) fn check(
        &self,
        extensions: &mut Extensions,
        target: Target<'_>,
    ) -> Result<(), Status> {
        let Some((outcome, peer)) = find_outcome(extensions) else {
            return Err(self.missing_outcome(target));
        };
        if let Some(metrics) = &self.metrics {
            metrics.record_outcome(&outcome);
        }
        let decision = self.mode.decide(&outcome);
        if !decision.is_pass() {
            return Err(self.reject(decision, &outcome, peer, target));
        }
        if let Some(policy) = &self.policy {
            self.authorize(policy.as_ref(), &outcome, peer, target)?;
        }
        if let Some(metrics) = &self.metrics {
            metrics.record_pass();
        }
        Ok(())
    }

    fn count_rejection(&self, reason: &'static str) {
        if let Some(metrics) = &self.metrics {
            metrics.record_rejection(reason);
        }
    }

    /// `UNAUTHENTICATED` for a 495 / 496 decision, logged with nginx's text
    /// and counted by reason.
    fn reject(
        &self,
        decision: Decision,
        outcome: &ClientAuthOutcome,
        peer: Option<SocketAddr>,
        target: Target<'_>,
    ) -> Status {
        match (decision, outcome.reason()) {
            (Decision::CertificateInvalid, Some(reason)) => {
                tracing::info!(
                    reason = reason.name(),
                    status = 495,
                    grpc_status = "UNAUTHENTICATED",
                    subject = outcome.presented_identity().map(|identity| identity.subject_dn()),
                    mode = %self.mode,
                    rpc = target.rpc,
                    peer = peer.map(tracing::field::display),
                    "{}",
                    reason.nginx_log_line()
                );
                self.count_rejection(reason.name());
                status::certificate_invalid(reason, &self.accepted_cas)
            }
            // 496, and anything `decide` may add: never let it through.
            _ => {
                tracing::info!(
                    reason = CERTIFICATE_REQUIRED,
                    status = 496,
                    grpc_status = "UNAUTHENTICATED",
                    mode = %self.mode,
                    rpc = target.rpc,
                    peer = peer.map(tracing::field::display),
                    "client sent no required SSL certificate"
                );
                self.count_rejection(CERTIFICATE_REQUIRED);
                status::certificate_required(&self.accepted_cas)
            }
        }
    }

    /// The policy's verdict on a request that passed the mode.
    ///
    /// A request without a verified identity (no certificate under
    /// `Optional`, an untrusted one under `OptionalNoCa`, anything under
    /// `Off`) cannot satisfy a policy about who the client is: gRPC says
    /// `UNAUTHENTICATED` for callers without valid credentials (not
    /// `PERMISSION_DENIED`), with the reason as if the mode were `On`.
    fn authorize(
        &self,
        policy: &dyn Authorize,
        outcome: &ClientAuthOutcome,
        peer: Option<SocketAddr>,
        target: Target<'_>,
    ) -> Result<(), Status> {
        let Some(identity) = outcome.identity() else {
            return Err(self.reject(VerifyMode::On.decide(outcome), outcome, peer, target));
        };
        policy.authorize(identity).map_err(|why| {
            let subject = identity.subject_dn();
            tracing::info!(
                reason = NOT_AUTHORIZED,
                status = 403,
                grpc_status = "PERMISSION_DENIED",
                subject,
                why = %why,
                mode = %self.mode,
                rpc = target.rpc,
                peer = peer.map(tracing::field::display),
                "client SSL certificate not authorized: {why}"
            );
            self.count_rejection(NOT_AUTHORIZED);
            status::not_authorized(Some(subject), &why)
        })
    }

    /// `INTERNAL`: no outcome, so the check runs without the TLS glue in
    /// front of it. Never passed through: the service would be open to
    /// anyone.
    fn missing_outcome(&self, target: Target<'_>) -> Status {
        tracing::error!(
            reason = MISSING_OUTCOME,
            status = 500,
            grpc_status = "INTERNAL",
            mode = %self.mode,
            rpc = target.rpc,
            "request has no client-certificate outcome (MtlsConnectInfo or \
             Arc<ClientAuthOutcome>) in its extensions: the mtls-status check runs without the \
             TLS glue in front of it; serve with \
             Server::serve_with_incoming(mtls_status_tonic::incoming(listener)) or insert the \
             connection's outcome into each request; answering INTERNAL"
        );
        if let Some(metrics) = &self.metrics {
            metrics.record_missing_outcome();
        }
        status::missing_outcome()
    }
}

/// The connection's outcome and the client's address: the outcome is
/// `Arc<ClientAuthOutcome>` if a layer already put it there, else the one in
/// tonic's [`MtlsConnectInfo`], which is then also inserted as
/// `Arc<ClientAuthOutcome>` and `TcpConnectInfo` for later layers, handlers
/// and tonic's `Request::remote_addr()`.
fn find_outcome(
    extensions: &mut Extensions,
) -> Option<(Arc<ClientAuthOutcome>, Option<SocketAddr>)> {
    let (from_info, peer, tcp) = match extensions.get::<MtlsConnectInfo>() {
        Some(info) => (
            Some(Arc::clone(info.outcome())),
            info.remote_addr(),
            Some(info.tcp_connect_info()),
        ),
        None => (None, None, None),
    };
    if let Some(outcome) = extensions.get::<Arc<ClientAuthOutcome>>() {
        return Some((Arc::clone(outcome), peer));
    }
    let outcome = from_info?;
    extensions.insert(Arc::clone(&outcome));
    if let Some(tcp) = tcp
        && extensions.get::<TcpConnectInfo>().is_none()
    {
        extensions.insert(tcp);
    }
    Some((outcome, peer))
}
