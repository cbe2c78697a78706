//! One listener, one kind of connection, different policies per route:
//! `/health` (mode Off) and `/admin` (mode On + allow-list), which nginx can
//! only express with two `server` blocks.

use mtls_status::Answer;
use mtls_status::AnswerStyle;

use crate::support::{ADMIN, Proto, Session, fetch, serve};

#[tokio::test]
async fn no_certificate_health_200_admin_496_on_one_connection() {
    let server = serve().await;
    // Keep-alive: both requests ride the same TLS connection.
    let mut session = Session::open(&server, None, Proto::Http1).await;
    let health = session.get("/health").await;
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.json()["status"], "ok");

    let admin = session.get("/admin").await;
    assert_eq!(admin.status.as_u16(), 496, "{admin:?}");
    assert_eq!(admin.content_type(), "application/problem+json");
    assert_eq!(admin.headers["connection"], "close");
    let problem = admin.json();
    assert_eq!(problem["status"], 496);
    assert_eq!(problem["title"], "SSL Certificate Required");
    assert_eq!(problem["reason"], "certificate_required");
}

#[tokio::test]
async fn valid_certificate_passes_both_routes() {
    let server = serve().await;
    let client = server.pki.valid_from_root.clone();
    let mut session = Session::open(&server, Some(&client), Proto::Http1).await;
    let health = session.get("/health").await;
    assert_eq!(health.status, 200, "{health:?}");
    let admin = session.get("/admin").await;
    assert_eq!(admin.status, 200, "{admin:?}");
    assert_eq!(admin.json()["subject"], ADMIN);
}

#[tokio::test]
async fn expired_certificate_is_495_expired_on_admin_only() {
    let server = serve().await;
    let client = server.pki.expired.clone();
    let admin = fetch(&server, Some(&client), "/admin").await;
    assert_eq!(admin.status.as_u16(), 495, "{admin:?}");
    assert_eq!(admin.content_type(), "application/problem+json");
    let problem = admin.json();
    assert_eq!(problem["title"], "SSL Certificate Error");
    assert_eq!(problem["reason"], "expired");
    assert_eq!(
        problem["ssl_client_verify"],
        "FAILED:certificate has expired"
    );
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("CN=client-expired"), "{detail}");

    // Mode Off: the same client is served.
    let health = fetch(&server, Some(&client), "/health").await;
    assert_eq!(health.status, 200, "{health:?}");
}

#[tokio::test]
async fn unknown_ca_is_495_unknown_leaf_issuer() {
    let server = serve().await;
    let client = server.pki.unknown_ca.clone();
    let admin = fetch(&server, Some(&client), "/admin").await;
    assert_eq!(admin.status.as_u16(), 495, "{admin:?}");
    assert_eq!(admin.reason(), "unknown_leaf_issuer");
    let health = fetch(&server, Some(&client), "/health").await;
    assert_eq!(health.status, 200, "{health:?}");
}

#[tokio::test]
async fn wrong_purpose_is_495_invalid_purpose() {
    let server = serve().await;
    let client = server.pki.server_auth_only.clone();
    let admin = fetch(&server, Some(&client), "/admin").await;
    assert_eq!(admin.status.as_u16(), 495, "{admin:?}");
    assert_eq!(admin.reason(), "invalid_purpose");
}

#[tokio::test]
async fn valid_but_not_in_allow_list_is_403() {
    let server = serve().await;
    // Verifies (via the intermediate), but is not CN=client-valid.
    let client = server.pki.valid_via_intermediate.clone();
    let admin = fetch(&server, Some(&client), "/admin").await;
    assert_eq!(admin.status, 403, "{admin:?}");
    assert_eq!(admin.reason(), "not_authorized");
    let detail = admin.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("CN=client-intermediate"), "{detail}");

    // The same client is verified where no policy applies.
    let whoami = fetch(&server, Some(&client), "/whoami").await;
    assert_eq!(whoami.status, 200, "{whoami:?}");
    assert_eq!(whoami.json()["subject"], "CN=client-intermediate");
}

#[tokio::test]
async fn nginx_style_route_answers_400_with_nginx_bodies() {
    let server = serve().await;
    let none = fetch(&server, None, "/nginx").await;
    assert_eq!(none.status, 400, "{none:?}");
    assert_eq!(none.content_type(), "text/html");
    let expected = Answer::certificate_required(AnswerStyle::Nginx, &[]);
    assert_eq!(none.body.as_bytes(), &expected.body()[..]);
    assert!(none.body.contains("No required SSL certificate was sent"));

    let expired = server.pki.expired.clone();
    let invalid = fetch(&server, Some(&expired), "/nginx").await;
    assert_eq!(invalid.status, 400, "{invalid:?}");
    assert_eq!(
        invalid.body,
        "<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n<body>\r\n\
         <center><h1>400 Bad Request</h1></center>\r\n<center>The SSL certificate error</center>\r\n\
         <hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
}

/// `route_layer` checks matched routes only: an unknown path is a plain 404.
/// `Router::layer` checks every request, the fallback included, like nginx's
/// server-wide `ssl_verify_client on` (496 before any `location` matters).
#[tokio::test]
async fn route_layer_skips_the_fallback_router_layer_covers_it() {
    use axum::Router;
    use axum::routing::get;
    use mtls_status_tower::VerifyClientLayer;

    use crate::support::serve_router;

    let per_route = serve_router(Router::new().route(
        "/admin",
        get(|| async { "admin" }).route_layer(VerifyClientLayer::new()),
    ))
    .await;
    let mut session = Session::open(&per_route, None, Proto::Http2).await;
    assert_eq!(session.get("/admin").await.status.as_u16(), 496);
    assert_eq!(session.get("/unknown").await.status.as_u16(), 404);

    let everywhere = serve_router(
        Router::new()
            .route("/admin", get(|| async { "admin" }))
            .layer(VerifyClientLayer::new()),
    )
    .await;
    let mut session = Session::open(&everywhere, None, Proto::Http2).await;
    assert_eq!(session.get("/admin").await.status.as_u16(), 496);
    assert_eq!(session.get("/unknown").await.status.as_u16(), 496);
    let valid = everywhere.pki.valid_from_root.clone();
    let mut session = Session::open(&everywhere, Some(&valid), Proto::Http2).await;
    assert_eq!(session.get("/admin").await.status, 200);
    assert_eq!(session.get("/unknown").await.status.as_u16(), 404);
}
