//! What goes over the wire: status lines with reason phrases, HTTP/2 via
//! ALPN, plain HTTP to the TLS port.

use http::Version;
use mtls_status::{Answer, AnswerStyle};

use crate::support::{
    ADMIN, Proto, Session, assert_closed, connect, raw_tcp, raw_tls, read_one_response, send, serve,
};

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
    assert!(
        lower.contains("\r\ncache-control: no-store\r\n"),
        "{response}"
    );
}

/// nginx closes the connection after a 495 / 496 (`keepalive` off for
/// these answers); so must we: a rejection over an HTTP/1.1 keep-alive
/// connection is the last response on it, whichever part answered (layer
/// or extractor). A 200 keeps the connection open, as the control.
#[tokio::test]
async fn rejections_close_a_keep_alive_http1_connection() {
    const HEALTH: &str = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let server = serve().await;
    let cases = [
        (None, "/admin", "HTTP/1.1 496 SSL Certificate Required\r\n"),
        (
            Some(server.pki.expired.clone()),
            "/admin",
            "HTTP/1.1 495 SSL Certificate Error\r\n",
        ),
        (
            Some(server.pki.expired.clone()),
            "/verified",
            "HTTP/1.1 495 SSL Certificate Error\r\n",
        ),
        (
            None,
            "/verified",
            "HTTP/1.1 496 SSL Certificate Required\r\n",
        ),
        (
            Some(server.pki.valid_via_intermediate.clone()),
            "/admin",
            "HTTP/1.1 403 Forbidden\r\n",
        ),
    ];
    for (client, path, status_line) in cases {
        let mut tls = connect(server.addr, &server.pki, client.as_ref(), &[b"http/1.1"]).await;
        // Keep-alive works: two requests on one connection.
        for _ in 0..2 {
            send(&mut tls, HEALTH).await;
            let reply = read_one_response(&mut tls).await;
            assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        }
        // A keep-alive request (no `Connection: close`) that is rejected ...
        send(
            &mut tls,
            &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        )
        .await;
        let reply = read_one_response(&mut tls).await;
        assert!(reply.starts_with(status_line), "{path}: {reply}");
        assert!(
            reply
                .to_ascii_lowercase()
                .contains("\r\nconnection: close\r\n"),
            "{reply}"
        );
        // ... is the last one answered on the connection.
        assert_closed(&mut tls, HEALTH).await;
    }
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
    // The whole answer is mtls-status's explicit 497.
    let expected = Answer::plain_http(AnswerStyle::Explicit).to_http1_bytes();
    assert_eq!(response.as_bytes(), &expected[..], "{response}");
    assert!(response.contains(r#""reason":"plain_http""#), "{response}");

    // The listener keeps serving TLS clients afterwards.
    let valid = server.pki.valid_from_root.clone();
    let mut session = Session::open(&server, Some(&valid), Proto::Http1).await;
    assert_eq!(session.get("/admin").await.status, 200);
}

#[tokio::test]
async fn a_stalled_handshake_does_not_hold_up_other_clients() {
    let server = serve().await;
    // Connects and never sends a ClientHello: axum::serve awaits accept()
    // serially, so a listener that handshook inside accept() would block
    // here until the handshake timeout.
    let stalled = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let valid = server.pki.valid_from_root.clone();
    let mut session = Session::open(&server, Some(&valid), Proto::Http1).await;
    assert_eq!(session.get("/admin").await.status, 200);
    drop(stalled);
}

#[tokio::test]
async fn listener_wrapped_in_tap_io_still_carries_verdicts() {
    use axum::serve::{Listener, ListenerExt};
    use mtls_status_axum::{ClientAuthListener, ClientAuthRouterExt};

    use crate::support::{Server, app, listener};

    let pki = mtls_testpki::Pki::generate();
    let tapped = ClientAuthListener::new(listener(&pki).await).tap_io(|stream| {
        let _ = stream.get_ref().0.set_nodelay(true);
    });
    let addr = tapped.local_addr().expect("local address");
    let task = tokio::spawn(async move {
        let served = axum::serve(tapped, app().into_make_service_with_client_auth()).await;
        panic!("axum::serve returned: {served:?}");
    });
    let server = Server { addr, pki, task };
    let valid = server.pki.valid_from_root.clone();
    let mut session = Session::open(&server, Some(&valid), Proto::Http1).await;
    let admin = session.get("/admin").await;
    assert_eq!(admin.status, 200, "{admin:?}");
    assert_eq!(admin.json()["subject"], ADMIN);
    let mut session = Session::open(&server, None, Proto::Http1).await;
    assert_eq!(session.get("/admin").await.status.as_u16(), 496);
}
