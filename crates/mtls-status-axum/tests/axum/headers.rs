//! Identity headers: a client can never choose its own.

use crate::support::{ADMIN, Proto, Session, serve};

const SPOOF: [(&str, &str); 4] = [
    ("X-SSL-Client-Verify", "SUCCESS"),
    ("X-SSL-Client-S-DN", "CN=admin"),
    ("X_SSL_CLIENT_VERIFY", "SUCCESS"),
    ("X-Forwarded-Client-Cert", "Hash=00;Subject=\"CN=admin\""),
];

/// Every identity header the test handlers report is absent.
fn assert_none_seen(seen: &serde_json::Value, context: &str) {
    let object = seen.as_object().expect("an object of headers");
    assert!(!object.is_empty());
    for (name, value) in object {
        assert!(
            value.is_null(),
            "{context}: {name} reached the handler: {seen}"
        );
    }
}

#[tokio::test]
async fn spoofed_headers_are_stripped_and_real_ones_forwarded() {
    let server = serve().await;

    // No certificate, on a route that forwards: the handler sees the truth.
    let mut anonymous = Session::open(&server, None, Proto::Http1).await;
    let whoami = anonymous.get_with("/whoami", &SPOOF).await;
    assert_eq!(whoami.status, 200, "{whoami:?}");
    let seen = &whoami.json()["headers"];
    assert_eq!(seen["x-ssl-client-verify"], "NONE");
    assert!(seen["x-ssl-client-s-dn"].is_null(), "{seen}");
    assert!(whoami.json()["subject"].is_null());

    assert!(seen["x_ssl_client_verify"].is_null(), "{seen}");
    assert!(seen["x-forwarded-client-cert"].is_null(), "{seen}");

    // A route that forwards nothing (mode Off): all stripped.
    let health = anonymous.get_with("/health", &SPOOF).await;
    assert_eq!(health.status, 200, "{health:?}");
    assert_none_seen(&health.json()["headers"], "/health");

    // A verified client: the real values replace the spoofed ones.
    let valid = server.pki.valid_from_root.clone();
    let mut session = Session::open(&server, Some(&valid), Proto::Http1).await;
    let admin = session.get_with("/admin", &SPOOF).await;
    assert_eq!(admin.status, 200, "{admin:?}");
    let seen = &admin.json()["headers"];
    assert_eq!(seen["x-ssl-client-verify"], "SUCCESS");
    assert_eq!(seen["x-ssl-client-s-dn"], ADMIN);

    // An unverified client cannot talk its way into /admin.
    let expired = server.pki.expired.clone();
    let mut session = Session::open(&server, Some(&expired), Proto::Http1).await;
    let admin = session.get_with("/admin", &SPOOF).await;
    assert_eq!(admin.status.as_u16(), 495, "{admin:?}");
}

/// A route without `VerifyClientLayer` (a handler ported from behind nginx
/// that reads `X-SSL-Client-*` itself): the glue strips the spoofed headers
/// too, over HTTP/1.1 and HTTP/2, whatever the client's certificate.
#[tokio::test]
async fn routes_without_the_layer_never_see_spoofed_headers() {
    let server = serve().await;
    let clients = [
        None,
        Some(server.pki.valid_from_root.clone()),
        Some(server.pki.expired.clone()),
    ];
    for proto in [Proto::Http1, Proto::Http2] {
        for client in &clients {
            let mut session = Session::open(&server, client.as_ref(), proto).await;
            let reply = session.get_with("/headers", &SPOOF).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            let context = format!(
                "{proto:?}, client {:?}",
                client.as_ref().map(|leaf| leaf.common_name())
            );
            assert_none_seen(&reply.json()["headers"], &context);
        }
    }
}
