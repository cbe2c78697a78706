//! Client-certificate header names of other servers and clouds (RFC 9440
//! `Client-Cert`, AWS ALB, IIS/ARR, ...) are stripped by the glue on every
//! route, with or without `VerifyClientLayer` (#16 item 5).

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use mtls_status::{ForwardHeaders, VerifyMode};
use mtls_status_tower::VerifyClientLayer;

use crate::support::{Proto, Session, serve_router};

const VENDOR_HEADERS: &[(&str, &str)] = &[
    ("Client-Cert", ":MIIBspoofed=:"),
    ("Client-Cert-Chain", ":MIIBspoofed=:"),
    ("X-Client-Cert", "MIIBspoofed"),
    ("X-Client-Verify", "SUCCESS"),
    ("X-Amzn-Mtls-Clientcert", "MIIBspoofed"),
    ("X-ARR-ClientCert", "MIIBspoofed"),
    ("x-request-id", "kept"),
];

/// Every header name the handler received, lowercase, in order.
async fn names(headers: HeaderMap) -> String {
    let names: Vec<&str> = headers.keys().map(|name| name.as_str()).collect();
    serde_json::json!(names).to_string()
}

#[tokio::test]
async fn vendor_client_cert_headers_are_stripped_on_every_route() {
    let router = Router::new().route("/plain", get(names)).route(
        "/layered",
        get(names).layer(
            VerifyClientLayer::new()
                .mode(VerifyMode::Optional)
                .forward(ForwardHeaders::nginx()),
        ),
    );
    let server = serve_router(router).await;
    let clients = [None, Some(server.pki.valid_from_root.clone())];
    for proto in [Proto::Http1, Proto::Http2] {
        for client in &clients {
            let mut session = Session::open(&server, client.as_ref(), proto).await;
            for path in ["/plain", "/layered"] {
                let reply = session.get_with(path, VENDOR_HEADERS).await;
                assert_eq!(reply.status, 200, "{path}: {reply:?}");
                let seen = reply.json();
                let seen: Vec<&str> = seen
                    .as_array()
                    .expect("array of names")
                    .iter()
                    .filter_map(|name| name.as_str())
                    .collect();
                assert!(seen.contains(&"x-request-id"), "{path}: {seen:?}");
                for (name, _) in VENDOR_HEADERS.iter().filter(|(n, _)| *n != "x-request-id") {
                    assert!(
                        !seen.contains(&name.to_ascii_lowercase().as_str()),
                        "{proto:?} {path}: {name} reached the handler: {seen:?}"
                    );
                }
            }
        }
    }
}
