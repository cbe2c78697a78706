//! `mtls serve --trusted-proxy CIDR --proxy-header FORMAT`: a second,
//! plain-HTTP listener for a TLS-terminating front proxy (nginx, HAProxy,
//! Envoy, ...), answering exactly as the TLS listener does, from the
//! certificate the proxy forwards (mtls_status::proxy).

use std::net::SocketAddr;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy, parse_trusted_peer};
use mtls_status_rustls::{Classifier, ReloadableTrustStore};
use mtls_status_tower::{TrustedProxyLayer, VerifyClientLayer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tower_layer::Layer;

use crate::error::CliError;

/// The trusted-proxy flags of `mtls serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ProxyArgs {
    /// Accept client certificates forwarded by a TLS-terminating proxy at
    /// this address or CIDR (repeatable), on --proxy-listen. Headers from
    /// any other peer are removed and never count.
    #[arg(long = "trusted-proxy", value_name = "CIDR", value_parser = parse_cidr)]
    trusted_proxy: Vec<ipnet::IpNet>,

    /// How the proxy forwards the certificate: nginx, ingress-nginx,
    /// haproxy, xfcc, rfc9440 or alb. The chain is verified again here.
    #[arg(
        long = "proxy-header",
        value_name = "FORMAT",
        default_value = "nginx",
        requires = "trusted_proxy"
    )]
    proxy_header: ProxyHeaderFormat,

    /// The plain-HTTP address the proxy connects to (with --trusted-proxy);
    /// port 0 picks a free port (logged: "listening for the trusted proxy
    /// on http://...").
    #[arg(
        long = "proxy-listen",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8080",
        requires = "trusted_proxy"
    )]
    proxy_listen: String,
}

fn parse_cidr(value: &str) -> Result<ipnet::IpNet, String> {
    parse_trusted_peer(value).map_err(|error| error.to_string())
}

impl ProxyArgs {
    /// With --trusted-proxy: binds --proxy-listen and serves it, with the
    /// TLS listener's `classifier` and policy `layer`, until the returned
    /// task is aborted.
    pub(crate) async fn spawn(
        &self,
        classifier: &Classifier,
        store: &ReloadableTrustStore,
        layer: &VerifyClientLayer,
    ) -> Result<Option<JoinHandle<()>>, CliError> {
        if self.trusted_proxy.is_empty() {
            return Ok(None);
        }
        let proxy = self
            .trusted_proxy
            .iter()
            .fold(TrustedProxy::builder(self.proxy_header), |b, net| {
                b.trusted_peer(*net)
            })
            .build()
            .map_err(|error| CliError::Usage(format!("--trusted-proxy: {error}")))?;
        let listener = TcpListener::bind(self.proxy_listen.as_str())
            .await
            .map_err(|error| {
                CliError::Io(format!(
                    "cannot listen on --proxy-listen {}: {error}",
                    self.proxy_listen
                ))
            })?;
        let addr = listener
            .local_addr()
            .map_err(|error| CliError::Io(format!("--proxy-listen: {error}")))?;
        tracing::info!(
            %addr,
            proxy_header = %self.proxy_header,
            trusted = ?self.trusted_proxy,
            "listening for the trusted proxy on http://{addr}"
        );
        let proxy = TrustedProxyLayer::new(proxy, classifier.clone());
        let (store, layer) = (store.clone(), layer.clone());
        Ok(Some(tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let layer = layer
                    .clone()
                    .accepted_cas(store.current().accepted_ca_names().iter().cloned());
                let service = proxy
                    .clone()
                    .peer_addr(peer.ip())
                    .layer(layer.layer(tower::service_fn(crate::serve::echo)));
                tokio::spawn(connection(stream, peer, service));
            }
        })))
    }
}

/// Serves HTTP/1.1 or HTTP/2 (prior knowledge) from the proxy.
async fn connection<S>(stream: tokio::net::TcpStream, peer: SocketAddr, service: S)
where
    S: tower::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<http_body_util::Full<bytes::Bytes>>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let service = hyper::service::service_fn(move |request| service.clone().oneshot(request));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(crate::serve::HEADER_READ_TIMEOUT);
    let served = tokio::time::timeout(
        crate::serve::CONNECTION_LIFETIME,
        builder.serve_connection(TokioIo::new(stream), service),
    )
    .await;
    match served {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%peer, %error, "proxy connection ended with an error"),
        Err(_) => tracing::debug!(
            %peer,
            "proxy connection closed after {:?}",
            crate::serve::CONNECTION_LIFETIME
        ),
    }
}
