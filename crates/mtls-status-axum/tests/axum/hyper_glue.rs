//! `AddClientAuthLayer` (mtls-status-tower's hyper glue, re-exported here)
//! on a hand-written hyper accept loop, without axum's make-service: every
//! request carries its connection's outcome, and no identity header the
//! client sent reaches the handler.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use mtls_status::forward::is_identity_header;
use mtls_status_axum::{AddClientAuthLayer, ClientAuthOutcome, VerifyClientLayer, VerifyMode};
use mtls_testpki::Pki;
use mtls_testpki::tls::{self, TlsClient};
use tower::{ServiceBuilder, service_fn};

use crate::support::listener;

/// What the handler saw: `$ssl_client_verify` of the outcome in the
/// extensions (or `no outcome`), then the identity headers that reached it.
async fn seen(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let verify = ClientAuthOutcome::from_extensions(request.extensions()).map_or_else(
        || "no outcome".to_owned(),
        |o| o.ssl_client_verify().into_owned(),
    );
    let spoofed: Vec<&str> = request
        .headers()
        .keys()
        .filter(|name| is_identity_header(name))
        .map(|name| name.as_str())
        .collect();
    let body = format!("{verify}|{}", spoofed.join(","));
    Ok(Response::new(Full::new(Bytes::from(body))))
}

const SPOOFING_GET: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
    X-SSL-Client-Verify: SUCCESS\r\nX-SSL-Client-S-DN: CN=admin\r\n\
    x-forwarded-client-cert: Hash=abc\r\nClient-Cert: :AAAA:\r\n\r\n";

/// Serves `pki`'s listener with hyper, each connection's service wrapped in
/// `AddClientAuthLayer` (and, with `mode`, a `VerifyClientLayer`).
async fn start(
    pki: &Pki,
    mode: Option<VerifyMode>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let mut listener = listener(pki).await;
    let addr = listener.local_addr();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _peer) = listener.accept_tls().await;
            let service = ServiceBuilder::new()
                .layer(AddClientAuthLayer::new(Arc::clone(stream.outcome())))
                .option_layer(mode.map(|mode| VerifyClientLayer::new().mode(mode)))
                .service(service_fn(seen));
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
                    .await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn every_request_carries_its_connections_outcome_and_no_spoofed_header() {
    let pki = Pki::generate();
    let (addr, task) = start(&pki, None).await;
    for (client, verify) in [
        (Some(&pki.valid_via_intermediate), "SUCCESS"),
        (None, "NONE"),
        (Some(&pki.expired), "FAILED:certificate has expired"),
    ] {
        let tls = TlsClient::builder(&pki).present_opt(client).build();
        let mut io = tls.connect(addr).await.expect("handshake");
        let response = tls::request(&mut io, SPOOFING_GET.as_bytes())
            .await
            .expect("response");
        let response = String::from_utf8_lossy(&response);
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        // The outcome is there, and none of the four spoofed headers.
        assert_eq!(tls::body(&response), format!("{verify}|"), "{response}");
    }
    task.abort();
}

#[tokio::test]
async fn with_verify_client_layer_the_route_is_enforced() {
    let pki = Pki::generate();
    let (addr, task) = start(&pki, Some(VerifyMode::On)).await;
    let anonymous = TlsClient::builder(&pki).build();
    let mut io = anonymous.connect(addr).await.expect("handshake");
    let response = tls::request(&mut io, SPOOFING_GET.as_bytes())
        .await
        .expect("response");
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 496 SSL Certificate Required\r\n"),
        "{response}"
    );

    let alice = TlsClient::builder(&pki)
        .present(&pki.valid_from_root)
        .build();
    let mut io = alice.connect(addr).await.expect("handshake");
    let response = tls::get(&mut io).await.expect("response");
    assert_eq!(tls::body(&response), "SUCCESS|", "{response}");
    task.abort();
}
