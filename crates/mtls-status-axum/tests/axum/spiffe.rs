//! SPIFFE authorizers per route, over real TLS: exact ID, one of a set,
//! member of a trust domain, path prefix, and one combined with an
//! allow-list. A refusal is 403 `not_authorized` saying which rule the ID
//! missed.

use axum::Router;
use axum::routing::get;
use mtls_status::identity::SpiffeId;
use mtls_status_axum::{AllowList, Authorize, SpiffeAuthorizer, VerifiedClient, VerifyClientLayer};
use mtls_testpki::Leaf;

use crate::support::{ADMIN, Server, fetch, serve_router};

const API: &str = "spiffe://prod.example.org/ns/web/sa/api";
const WORKER: &str = "spiffe://prod.example.org/ns/batch/sa/worker";
const DEV_API: &str = "spiffe://dev.example.org/ns/web/sa/api";
const WEBHOOKS: &str = "spiffe://prod.example.org/ns/webhooks";

fn id(s: &str) -> SpiffeId {
    s.parse().expect("valid SPIFFE ID")
}

fn route(policy: impl Authorize) -> axum::routing::MethodRouter {
    get(|client: VerifiedClient| async move {
        client
            .spiffe_id()
            .map_or_else(String::new, ToString::to_string)
    })
    .route_layer(VerifyClientLayer::new().authorize(policy))
}

async fn server() -> Server {
    let prod = SpiffeAuthorizer::member_of("prod.example.org").expect("trust domain");
    serve_router(
        Router::new()
            .route("/exact", route(SpiffeAuthorizer::id(id(API))))
            .route(
                "/set",
                route(SpiffeAuthorizer::one_of([id(API), id(WORKER)])),
            )
            .route("/td", route(prod.clone()))
            .route(
                "/prefix",
                route(SpiffeAuthorizer::path_prefix(id(
                    "spiffe://prod.example.org/ns/web",
                ))),
            )
            .route(
                "/combined",
                route(AllowList::new().subject_dn(ADMIN).or(prod)),
            ),
    )
    .await
}

fn svid(server: &Server, name: &str, uris: &[&str]) -> Leaf {
    uris.iter()
        .fold(server.pki.root.leaf(name), |leaf, uri| leaf.uri(uri))
        .build()
}

/// `path` answers 200 with the client's SPIFFE ID.
async fn passes(server: &Server, client: &Leaf, path: &str, expected: &str) {
    let reply = fetch(server, Some(client), path).await;
    assert_eq!(reply.status, 200, "{path}: {reply:?}");
    assert_eq!(reply.body, expected, "{path}");
}

/// `path` answers 403 `not_authorized` whose detail contains `why`.
async fn refused(server: &Server, client: &Leaf, path: &str, why: &str) {
    let reply = fetch(server, Some(client), path).await;
    assert_eq!(reply.status, 403, "{path}: {reply:?}");
    assert_eq!(reply.reason(), "not_authorized", "{path}");
    let detail = reply.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains(why), "{path}: {detail}");
}

#[tokio::test]
async fn each_authorizer_allows_its_ids_and_refuses_the_others_with_403() {
    let server = server().await;
    let api = svid(&server, "api", &[API]);
    let worker = svid(&server, "worker", &[WORKER]);
    let dev = svid(&server, "dev-api", &[DEV_API]);
    let webhooks = svid(&server, "webhooks", &[WEBHOOKS]);

    passes(&server, &api, "/exact", API).await;
    refused(
        &server,
        &worker,
        "/exact",
        &format!("SPIFFE ID {WORKER} is not {API}"),
    )
    .await;
    // Same path, other trust domain: not the ID.
    refused(&server, &dev, "/exact", DEV_API).await;

    passes(&server, &api, "/set", API).await;
    passes(&server, &worker, "/set", WORKER).await;
    refused(&server, &webhooks, "/set", "is not one of the 2 SPIFFE IDs").await;

    passes(&server, &worker, "/td", WORKER).await;
    refused(
        &server,
        &dev,
        "/td",
        &format!("SPIFFE ID {DEV_API} is not in trust domain prod.example.org"),
    )
    .await;

    passes(&server, &api, "/prefix", API).await;
    // `/ns/webhooks` starts with the characters of `/ns/web`, not its segment.
    refused(
        &server,
        &webhooks,
        "/prefix",
        "is not spiffe://prod.example.org/ns/web or below it",
    )
    .await;
    refused(&server, &worker, "/prefix", WORKER).await;
}

#[tokio::test]
async fn two_uri_sans_are_no_spiffe_id_even_with_the_allowed_one_second() {
    let server = server().await;
    let smuggled = svid(&server, "two-uris", &["spiffe://evil.example/x", API]);
    for path in ["/exact", "/set", "/td", "/prefix"] {
        refused(&server, &smuggled, path, "has no SPIFFE ID").await;
    }
    let reversed = svid(
        &server,
        "two-uris-reversed",
        &[API, "spiffe://evil.example/x"],
    );
    refused(&server, &reversed, "/exact", "has no SPIFFE ID").await;
    // A certificate without any URI SAN neither.
    refused(
        &server,
        &server.pki.valid_via_intermediate.clone(),
        "/td",
        "has no SPIFFE ID",
    )
    .await;
}

#[tokio::test]
async fn combined_with_an_allow_list_either_allows_and_the_403_names_both() {
    let server = server().await;
    // In the allow-list by subject, its SPIFFE ID is in another trust domain.
    let admin = server.pki.valid_from_root.clone();
    passes(
        &server,
        &admin,
        "/combined",
        "spiffe://example.org/ns/prod/sa/web",
    )
    .await;
    let worker = svid(&server, "worker", &[WORKER]);
    passes(&server, &worker, "/combined", WORKER).await;
    let dev = svid(&server, "dev-api", &[DEV_API]);
    refused(
        &server,
        &dev,
        "/combined",
        "not in this resource's allow-list; and SPIFFE ID spiffe://dev.example.org/ns/web/sa/api is not in trust domain prod.example.org",
    )
    .await;
}
