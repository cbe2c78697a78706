//! RFC 9440 `Client-Cert` / `Client-Cert-Chain` and XFCC `Chain=` over
//! real handshakes: what a route forwards for a client that presented an
//! intermediate is read back, by the trusted-proxy readers a backend behind
//! us would use, as exactly the chain the client sent (#13 item 2).

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use mtls_status::proxy::{ProxyHeaderFormat, TrustedProxy, parse_trusted_peer};
use mtls_status::{ForwardHeaders, VerifyMode};
use mtls_status_tower::VerifyClientLayer;
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};

use crate::support::{Proto, Server, Session, serve_router};

async fn seen(headers: HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    json!({
        "client-cert": header("client-cert"),
        "client-cert-chain": header("client-cert-chain"),
        "x-forwarded-client-cert": header("x-forwarded-client-cert"),
    })
    .to_string()
}

async fn server() -> Server {
    let route = |mode| {
        get(seen).route_layer(
            VerifyClientLayer::new()
                .mode(mode)
                .forward(ForwardHeaders::rfc9440().with_xfcc().with_chain()),
        )
    };
    let router = Router::new()
        .route("/on", route(VerifyMode::On))
        .route("/optional", route(VerifyMode::Optional));
    serve_router(router).await
}

/// `seen`'s headers as the next hop's reader of `format` reads them.
fn read_back(seen: &Value, format: ProxyHeaderFormat) -> Option<Vec<CertificateDer<'static>>> {
    let mut headers = HeaderMap::new();
    for name in [
        "client-cert",
        "client-cert-chain",
        "x-forwarded-client-cert",
    ] {
        if let Some(value) = seen[name].as_str() {
            headers.insert(name, value.parse().expect("header value"));
        }
    }
    let reader = TrustedProxy::builder(format)
        .trusted_peer(parse_trusted_peer("127.0.0.1").expect("peer"))
        .build()
        .expect("reader");
    reader
        .read(&headers)
        .unwrap_or_else(|e| panic!("{format}: {e}: {seen}"))
        .map(|claim| claim.chain().to_vec())
}

#[tokio::test]
async fn rfc9440_and_xfcc_chain_carry_the_presented_chain() {
    let server = server().await;
    for leaf in [
        &server.pki.valid_via_intermediate,
        &server.pki.valid_from_root,
    ] {
        let mut session = Session::open(&server, Some(leaf), Proto::Http1).await;
        let reply = session.get("/on").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let seen = reply.json();
        let presented = leaf.chain();
        assert_eq!(
            seen["client-cert-chain"].is_string(),
            presented.len() > 1,
            "{seen}"
        );
        for format in [ProxyHeaderFormat::Rfc9440, ProxyHeaderFormat::Xfcc] {
            assert_eq!(
                read_back(&seen, format).as_deref(),
                Some(&presented[..]),
                "{format}: {seen}"
            );
        }
    }
}

#[tokio::test]
async fn a_clients_own_rfc9440_and_xfcc_headers_never_pass() {
    let server = server().await;
    let headers = [
        ("client-cert", ":MIIBAAAA:"),
        ("client-cert-chain", ":MIIBAAAA:"),
        ("x-forwarded-client-cert", "Hash=00;Chain=\"x\""),
    ];
    // No certificate on an optional route: the handler runs, sees nothing.
    let mut session = Session::open(&server, None, Proto::Http2).await;
    let reply = session.get_with("/optional", &headers).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json(),
        json!({"client-cert": null, "client-cert-chain": null, "x-forwarded-client-cert": null})
    );
    // A verified client's spoofed copies are replaced by its real chain.
    let valid = &server.pki.valid_from_root;
    let mut session = Session::open(&server, Some(valid), Proto::Http1).await;
    let seen = session.get_with("/optional", &headers).await.json();
    assert_eq!(
        read_back(&seen, ProxyHeaderFormat::Rfc9440),
        Some(valid.chain())
    );
    assert!(seen["client-cert-chain"].is_null(), "{seen}");
}
