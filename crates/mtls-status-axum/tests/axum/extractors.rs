//! The extractors on routes without a layer (they answer themselves), with
//! `OptionalNoCa`, and without the glue.

use crate::support::{ADMIN, fetch, serve, serve_without_glue};

#[tokio::test]
async fn verified_client_rejects_like_the_layer() {
    let server = serve().await;
    let none = fetch(&server, None, "/verified").await;
    assert_eq!(none.status.as_u16(), 496, "{none:?}");
    assert_eq!(none.reason(), "certificate_required");
    assert_eq!(none.headers["connection"], "close");

    let expired = server.pki.expired.clone();
    let invalid = fetch(&server, Some(&expired), "/verified").await;
    assert_eq!(invalid.status.as_u16(), 495, "{invalid:?}");
    assert_eq!(invalid.reason(), "expired");
    // Byte for byte what the layer answers on /admin.
    let by_layer = fetch(&server, Some(&expired), "/admin").await;
    assert_eq!(invalid.body, by_layer.body);

    let valid = server.pki.valid_from_root.clone();
    let ok = fetch(&server, Some(&valid), "/verified").await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert_eq!(ok.json()["subject"], ADMIN);
    assert_eq!(ok.json()["verified"], true);
}

#[tokio::test]
async fn optional_verified_client_none_is_none_invalid_still_495() {
    let server = serve().await;
    let none = fetch(&server, None, "/maybe").await;
    assert_eq!(none.status, 200, "{none:?}");
    assert!(none.json()["subject"].is_null());

    let valid = server.pki.valid_via_intermediate.clone();
    let some = fetch(&server, Some(&valid), "/maybe").await;
    assert_eq!(some.status, 200, "{some:?}");
    assert_eq!(some.json()["subject"], "CN=client-intermediate");

    for (client, reason) in [
        (server.pki.expired.clone(), "expired"),
        (server.pki.unknown_ca.clone(), "unknown_leaf_issuer"),
        (server.pki.self_signed.clone(), "self_signed"),
    ] {
        let reply = fetch(&server, Some(&client), "/maybe").await;
        assert_eq!(
            reply.status.as_u16(),
            495,
            "{}: {reply:?}",
            client.common_name()
        );
        assert_eq!(reply.reason(), reason, "{}", client.common_name());
    }
}

#[tokio::test]
async fn client_auth_never_rejects_a_client() {
    let server = serve().await;
    let none = fetch(&server, None, "/outcome").await;
    assert_eq!(none.status, 200, "{none:?}");
    assert_eq!(none.json()["label"], "none");
    assert_eq!(none.json()["ssl_client_verify"], "NONE");

    let expired = server.pki.expired.clone();
    let invalid = fetch(&server, Some(&expired), "/outcome").await;
    assert_eq!(invalid.status, 200, "{invalid:?}");
    assert_eq!(invalid.json()["label"], "invalid");
    assert_eq!(invalid.json()["reason"], "expired");
    assert_eq!(
        invalid.json()["ssl_client_verify"],
        "FAILED:certificate has expired"
    );
    assert_eq!(invalid.json()["presented"], "CN=client-expired");

    let valid = server.pki.valid_from_root.clone();
    let verified = fetch(&server, Some(&valid), "/outcome").await;
    assert_eq!(verified.json()["label"], "verified");
    assert_eq!(verified.json()["ssl_client_verify"], "SUCCESS");
}

#[tokio::test]
async fn optional_no_ca_lets_the_handler_see_an_untrusted_certificate() {
    let server = serve().await;
    let unknown = server.pki.unknown_ca.clone();
    let reply = fetch(&server, Some(&unknown), "/no-ca").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.json()["label"], "invalid");
    assert_eq!(reply.json()["reason"], "unknown_leaf_issuer");
    assert_eq!(reply.json()["presented"], "CN=client-unknown-ca");

    // Any other failure is still 495.
    let expired = server.pki.expired.clone();
    let reply = fetch(&server, Some(&expired), "/no-ca").await;
    assert_eq!(reply.status.as_u16(), 495, "{reply:?}");
}

#[tokio::test]
async fn client_cert_answers_switch_extractors_to_nginx_style() {
    let server = serve().await;
    let none = fetch(&server, None, "/verified-nginx").await;
    assert_eq!(none.status, 400, "{none:?}");
    assert!(none.body.contains("No required SSL certificate was sent"));
    // Same bytes as the layer in nginx style.
    assert_eq!(none.body, fetch(&server, None, "/nginx").await.body);
}

#[tokio::test]
async fn connect_info_carries_the_client_address() {
    let server = serve().await;
    let reply = fetch(&server, None, "/peer").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "127.0.0.1");
}

#[tokio::test]
async fn without_the_glue_layer_and_extractors_answer_500_never_pass() {
    let server = serve_without_glue().await;
    let valid = server.pki.valid_from_root.clone();
    for path in ["/admin", "/health", "/verified", "/maybe", "/outcome"] {
        let reply = fetch(&server, Some(&valid), path).await;
        assert_eq!(reply.status, 500, "{path}: {reply:?}");
        assert_eq!(reply.reason(), "missing_outcome", "{path}");
    }
    // nginx style: nginx's 500 page.
    let reply = fetch(&server, Some(&valid), "/verified-nginx").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(
        reply.body.contains("500 Internal Server Error"),
        "{reply:?}"
    );
}
