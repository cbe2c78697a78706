//! `mtls serve --metrics-listen ADDR`: the metrics of mtls-status (the
//! table of `mtls_status::metrics`) in Prometheus text format at
//! `http://ADDR/metrics`, rendered by metrics-exporter-prometheus.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use crate::error::CliError;

/// How often the recorder's upkeep runs (histogram maintenance).
const UPKEEP: Duration = Duration::from_secs(5);

/// How long a scraper has to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs the Prometheus recorder as the global `metrics` recorder and
/// serves it on `addr` (port 0: a free port). Call it before the trust
/// store is loaded, so the trust-store gauges reach the recorder. Returns
/// the address bound.
pub(crate) async fn serve(addr: &str) -> Result<SocketAddr, CliError> {
    let listener = TcpListener::bind(addr).await.map_err(|error| {
        CliError::Io(format!("cannot listen on --metrics-listen {addr}: {error}"))
    })?;
    let local = listener
        .local_addr()
        .map_err(|error| CliError::Io(format!("--metrics-listen {addr}: {error}")))?;
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| CliError::Io(format!("cannot install the metrics recorder: {error}")))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    tokio::spawn(accept_loop(listener, handle));
    tracing::info!(addr = %local, "serving metrics at http://{local}/metrics");
    Ok(local)
}

async fn accept_loop(listener: TcpListener, handle: PrometheusHandle) {
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(connection) => connection,
            Err(error) => {
                tracing::debug!(%error, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(answer(&request, &handle)) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(tcp), service);
            // One scrape a connection is the norm; bound a stuck one anyway.
            let _ = tokio::time::timeout(Duration::from_secs(60), served).await;
        });
    }
}

fn answer(request: &Request<Incoming>, handle: &PrometheusHandle) -> Response<Full<Bytes>> {
    let (status, body, content_type) =
        if request.method() == Method::GET && request.uri().path() == "/metrics" {
            (
                StatusCode::OK,
                handle.render(),
                "text/plain; version=0.0.4; charset=utf-8",
            )
        } else {
            (
                StatusCode::NOT_FOUND,
                "only GET /metrics is served here\n".to_owned(),
                "text/plain; charset=utf-8",
            )
        };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}
