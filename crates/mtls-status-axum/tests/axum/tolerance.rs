//! A route that tolerates `expired` for a grace period, over real
//! handshakes: a client whose certificate expired within the grace reaches
//! the handler, which sees the tolerated reason; after the grace, from an
//! unknown CA, or for another reason, 495 as always (#13 item 3).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use mtls_status::{ClientAuthMetrics, Tolerance, VerifyMode};
use mtls_status_axum::VerifiedClient;
use mtls_status_tower::VerifyClientLayer;
use mtls_testpki::days_ago;
use serde_json::json;

use crate::support::{Server, fetch, serve_router};

async fn who(client: VerifiedClient) -> String {
    json!({
        "subject": client.subject_dn(),
        "tolerated": client.tolerated().map(|r| r.name()),
        "outcome": client.outcome().label(),
    })
    .to_string()
}

const DAY: u64 = 86_400;

async fn server(metrics: &ClientAuthMetrics) -> Server {
    let router = Router::new()
        .route(
            "/rotating",
            get(who).route_layer(
                VerifyClientLayer::new()
                    .mode(VerifyMode::On)
                    .tolerate(Tolerance::expired(Duration::from_secs(2 * DAY)))
                    .metrics(metrics.clone()),
            ),
        )
        .route(
            "/strict",
            get(who).route_layer(VerifyClientLayer::new().mode(VerifyMode::On)),
        );
    serve_router(router).await
}

#[tokio::test]
async fn expired_within_grace_reaches_the_handler_with_the_reason() {
    let metrics = ClientAuthMetrics::new();
    let server = server(&metrics).await;
    let pki = &server.pki;

    // Expired yesterday, grace two days: the handler runs and knows why.
    let reply = fetch(&server, Some(&pki.expired), "/rotating").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(
        reply.json(),
        json!({"subject": "CN=client-expired", "tolerated": "expired", "outcome": "invalid"})
    );
    // A valid client: nothing tolerated.
    let reply = fetch(&server, Some(&pki.valid_from_root), "/rotating").await;
    assert_eq!(reply.json()["tolerated"], json!(null), "{reply:?}");

    let late = pki
        .root
        .leaf("client-late")
        .valid_between(days_ago(365), days_ago(3))
        .build();
    let stranger = pki.unknown_root.leaf("stranger").expired().build();
    for (leaf, path, reason) in [
        (&late, "/rotating", "expired"),
        (&stranger, "/rotating", "expired"),
        (&pki.not_yet_valid, "/rotating", "not_yet_valid"),
        (&pki.expired, "/strict", "expired"),
    ] {
        let reply = fetch(&server, Some(leaf), path).await;
        assert_eq!(
            (reply.status.as_u16(), reply.reason()),
            (495, reason.to_owned()),
            "{} on {path}: {reply:?}",
            leaf.common_name()
        );
    }
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot.tolerated("expired"), 1);
    assert_eq!((snapshot.passed, snapshot.rejected), (2, 3));
}
