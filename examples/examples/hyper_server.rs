//! mtls-status with hyper and tower, without axum: `MtlsListener` accepts
//! (handshakes run concurrently in the background), hyper-util's auto
//! builder serves HTTP/1.1 and HTTP/2 on each connection,
//! `AddClientAuthLayer` puts the connection's verdict into every request
//! (and strips identity headers the client sent), and `VerifyClientLayer`
//! enforces nginx's `ssl_verify_client on` and forwards
//! the identity as nginx's `X-SSL-Client-*` headers.
//!
//! ```text
//! cargo run --example hyper_server
//! ```
//!
//! The server calls itself once with a valid client certificate and once
//! without, prints both answers and exits.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use mtls_examples::{BoxError, https_get};
use mtls_status::{ForwardHeaders, VerifyMode};
use mtls_status_rustls::{
    Classifier, MtlsAcceptor, MtlsListener, MtlsStream, ReloadableTrustStore, ServerCertificate,
    TrustStore,
};
use mtls_status_tower::{AddClientAuthLayer, VerifyClientLayer};
use mtls_testpki::Pki;
use tokio::net::TcpStream;
use tower::{ServiceBuilder, service_fn};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let pki = Pki::generate();
    let addr = start_server(&pki).await?;
    println!("hyper server on https://{addr}\n");

    for (name, client) in [
        (
            "valid client certificate",
            Some(&pki.valid_via_intermediate),
        ),
        ("no client certificate", None),
    ] {
        let reply = https_get(addr, &pki.root, client, "/").await?;
        println!(
            "== {name}\nHTTP/1.1 {}\n{}\n",
            reply.status_line(),
            reply.body.trim_end()
        );
    }
    Ok(())
}

async fn start_server(pki: &Pki) -> Result<SocketAddr, BoxError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = TrustStore::builder().ca_pem(pki.ca_bundle_pem()).build()?;
    let classifier =
        Classifier::builder(ReloadableTrustStore::new(store), Arc::clone(&provider)).build()?;
    let server_cert = ServerCertificate::new(provider, pki.server.chain(), pki.server.key_der())?;
    let acceptor = MtlsAcceptor::new(classifier, VerifyMode::On, server_cert)?;
    let mut listener = MtlsListener::builder(acceptor).bind("127.0.0.1:0").await?;
    let addr = listener.local_addr();

    tokio::spawn(async move {
        loop {
            // A finished, classified TLS connection; plain HTTP was answered
            // 497 and failed handshakes were logged by the listener.
            let (stream, peer) = listener.accept_tls().await;
            tokio::spawn(async move {
                if let Err(error) = serve_connection(stream).await {
                    eprintln!("{peer}: {error}");
                }
            });
        }
    });
    Ok(addr)
}

/// Serves one connection: every request gets the connection's verdict in
/// its extensions, then passes `VerifyClientLayer`.
async fn serve_connection(stream: MtlsStream<TcpStream>) -> Result<(), BoxError> {
    let service = ServiceBuilder::new()
        .layer(AddClientAuthLayer::new(Arc::clone(stream.outcome())))
        .layer(
            VerifyClientLayer::new()
                .mode(VerifyMode::On)
                .forward(ForwardHeaders::nginx()),
        )
        .service(service_fn(hello));

    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Bound how long a client may take to send its request head.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .await
}

/// The application: only reached by verified clients, and it trusts the
/// forwarded headers because the layer strips any the client sent.
async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let body = format!(
        "hello {}\nX-SSL-Client-Verify: {}\nX-SSL-Client-I-DN: {}\n",
        header("x-ssl-client-s-dn"),
        header("x-ssl-client-verify"),
        header("x-ssl-client-i-dn"),
    );
    Ok(Response::new(Full::new(Bytes::from(body))))
}
