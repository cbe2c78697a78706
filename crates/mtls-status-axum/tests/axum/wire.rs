//! What goes over the wire: status lines with reason phrases, HTTP/2 via
//! ALPN, plain HTTP to the TLS port.

use http::Version;

use crate::support::{ADMIN, Proto, Session, raw_tcp, raw_tls, serve};

const GET_ADMIN: &str = "GET /admin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn status_lines_carry_nginx_reason_phrases() {
    let server = serve().await;

    let expired = server.pki.expired.clone();
    let response = raw_tls(&server, Some(&expired), GET_ADMIN).await;
    assert!(
        response.starts_with("HTTP/1.1 495 SSL Certificate Error\r\n"),
        "{response}"
    );

    let response = raw_tls(&server, None, GET_ADMIN).await;
    assert!(
        response.starts_with("HTTP/1.1 496 SSL Certificate Required\r\n"),
        "{response}"
    );

    // The extractor's own rejection too.
    let request = "GET /verified HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    let response = raw_tls(&server, Some(&expired), request).await;
    assert!(
        response.starts_with("HTTP/1.1 495 SSL Certificate Error\r\n"),
        "{response}"
    );
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("\r\nconnection: close\r\n"), "{response}");
    assert!(lower.contains("\r\ncache-control: no-store\r\n"), "{response}");
}

#[tokio::test]
async fn http2_via_alpn_per_route() {
    let server = serve().await;

    let valid = server.pki.valid_from_root.clone();
    let mut session = Session::open(&server, Some(&valid), Proto::Http2).await;
    let admin = session.get("/admin").await;
    assert_eq!(admin.version, Version::HTTP_2);
    assert_eq!(admin.status, 200, "{admin:?}");
    assert_eq!(admin.json()["subject"], ADMIN);

    // One HTTP/2 connection without a certificate: streams answered per route.
    let mut session = Session::open(&server, None, Proto::Http2).await;
    let admin = session.get("/admin").await;
    assert_eq!(admin.version, Version::HTTP_2);
    assert_eq!(admin.status.as_u16(), 496, "{admin:?}");
    assert_eq!(admin.reason(), "certificate_required");
    // `Connection` is not allowed in HTTP/2.
    assert!(admin.headers.get("connection").is_none(), "{admin:?}");
    let health = session.get("/health").await;
    assert_eq!(health.status, 200, "{health:?}");
    let maybe = session.get("/maybe").await;
    assert_eq!(maybe.status, 200, "{maybe:?}");
    assert!(maybe.json()["subject"].is_null());

    let expired = server.pki.expired.clone();
    let mut session = Session::open(&server, Some(&expired), Proto::Http2).await;
    let admin = session.get("/admin").await;
    assert_eq!(admin.status.as_u16(), 495, "{admin:?}");
    assert_eq!(admin.reason(), "expired");
}

#[tokio::test]
async fn plain_http_to_the_tls_port_is_497() {
    let server = serve().await;
    let response = raw_tcp(&server, GET_ADMIN).await;
    assert!(
        response.starts_with("HTTP/1.1 497 HTTP Request Sent to HTTPS Port\r\n"),
        "{response}"
    );
    assert!(response.ends_with("The plain HTTP request was sent to HTTPS port\n"));

    // The listener keeps serving TLS clients afterwards.
    let valid = server.pki.valid_from_root.clone();
    let mut session = Session::open(&server, Some(&valid), Proto::Http1).await;
    assert_eq!(session.get("/admin").await.status, 200);
}
