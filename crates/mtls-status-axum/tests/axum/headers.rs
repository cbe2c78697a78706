//! Identity headers: a client can never choose its own.

use crate::support::{ADMIN, Proto, Session, serve};

const SPOOF: [(&str, &str); 2] = [
    ("X-SSL-Client-Verify", "SUCCESS"),
    ("X-SSL-Client-S-DN", "CN=admin"),
];

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

    // A route that forwards nothing (mode Off): both stripped.
    let health = anonymous.get_with("/health", &SPOOF).await;
    assert_eq!(health.status, 200, "{health:?}");
    let seen = &health.json()["headers"];
    assert!(seen["x-ssl-client-verify"].is_null(), "{seen}");
    assert!(seen["x-ssl-client-s-dn"].is_null(), "{seen}");

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
