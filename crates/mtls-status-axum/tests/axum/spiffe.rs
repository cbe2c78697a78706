//! SPIFFE over real TLS. Authorizers per route: exact ID, one of a set,
//! member of a trust domain, path prefix, and one combined with an
//! allow-list; a refusal is 403 `not_authorized` saying which rule the ID
//! missed. Strict X509-SVIDs (`require_x509_svid`): each broken rule is a
//! 495 with its own reason. Per-trust-domain bundles (federation): a CA of
//! one trust domain never vouches for an ID of another.

use axum::Router;
use axum::routing::get;
use mtls_status::identity::SpiffeId;
use mtls_status_axum::tls::{ReloadableTrustStore, TrustStore};
use mtls_status_axum::{AllowList, Authorize, SpiffeAuthorizer, VerifiedClient, VerifyClientLayer};
use mtls_testpki::rcgen::{BasicConstraints, IsCa, KeyUsagePurpose};
use mtls_testpki::{Ca, Leaf, Pki};

use crate::support::{ADMIN, Server, fetch, listener_classifying, serve_on, serve_router};

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

/// `/svid` behind a plain layer, on a classifier that requires X509-SVIDs.
async fn strict_server() -> Server {
    let pki = Pki::generate();
    let listener =
        listener_classifying(&pki, |classifier| classifier.require_x509_svid(), |a| a).await;
    serve_on(
        pki,
        listener,
        Router::new().route("/svid", route(|_: &mtls_status::ClientIdentity| true)),
    )
}

/// `/svid` answers 495 with `reason`, and a detail containing `why`.
async fn invalid_svid(server: &Server, client: &Leaf, reason: &str, why: &str) {
    let reply = fetch(server, Some(client), "/svid").await;
    assert_eq!(reply.status.as_u16(), 495, "{reply:?}");
    assert_eq!(reply.reason(), reason);
    let detail = reply.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains(why), "{detail}");
    assert!(
        detail.contains(&format!("CN={}", client.common_name())),
        "names the certificate: {detail}"
    );
}

#[tokio::test]
async fn strict_x509_svid_valid_passes_and_each_broken_rule_is_its_own_495() {
    let server = strict_server().await;
    passes(&server, &svid(&server, "api", &[API]), "/svid", API).await;

    let two = svid(&server, "two-uris", &["spiffe://evil.example/x", API]);
    invalid_svid(
        &server,
        &two,
        "svid_multiple_uri_sans",
        "has 2 URI SANs (spiffe://evil.example/x, spiffe://prod.example.org/ns/web/sa/api)",
    )
    .await;

    let ca = server
        .pki
        .root
        .leaf("svid-ca")
        .uri(API)
        .is_ca(IsCa::Ca(BasicConstraints::Unconstrained))
        .key_usages(vec![KeyUsagePurpose::DigitalSignature])
        .build();
    invalid_svid(&server, &ca, "svid_is_ca", "cA TRUE").await;

    let signer = server
        .pki
        .root
        .leaf("svid-signer")
        .uri(API)
        .key_usages(vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ])
        .build();
    invalid_svid(&server, &signer, "svid_key_usage", "keyCertSign").await;

    let no_uri = server.pki.valid_via_intermediate.clone();
    invalid_svid(&server, &no_uri, "svid_no_uri_san", "no URI SAN").await;

    let bad_id = svid(&server, "bad-id", &["spiffe://Prod.Example.org/x"]);
    invalid_svid(
        &server,
        &bad_id,
        "svid_invalid_spiffe_id",
        "not a valid SPIFFE ID",
    )
    .await;
}

/// A bundle of `cas` (PEM), reloadable.
fn bundle(pem: String) -> ReloadableTrustStore {
    ReloadableTrustStore::new(TrustStore::builder().ca_pem(pem).build().expect("bundle"))
}

/// `/svid` on a server federating `prod.example.org` (the PKI's root and
/// intermediate) and `partner.example.net` (`partner`).
async fn federated_server(partner: &Ca) -> Server {
    let pki = Pki::generate();
    let prod = bundle(pki.ca_bundle_pem());
    let partner = bundle(partner.cert_pem());
    let listener = listener_classifying(
        &pki,
        |classifier| {
            classifier
                .trust_domain("prod.example.org", prod)
                .trust_domain("partner.example.net", partner)
        },
        |a| a,
    )
    .await;
    serve_on(
        pki,
        listener,
        Router::new().route("/svid", route(|_: &mtls_status::ClientIdentity| true)),
    )
}

#[tokio::test]
async fn federation_each_trust_domain_is_verified_by_its_own_bundle_only() {
    const PARTNER: &str = "spiffe://partner.example.net/billing";
    let partner_ca = Ca::root("Partner SPIFFE CA").build();
    let server = federated_server(&partner_ca).await;

    // Federation: an SVID of each trust domain, from its own CA.
    passes(&server, &svid(&server, "api", &[API]), "/svid", API).await;
    let billing = partner_ca.leaf("billing").uri(PARTNER).build();
    passes(&server, &billing, "/svid", PARTNER).await;

    // An ID of prod minted by the partner's CA, and the other way round.
    let forged = partner_ca.leaf("forged").uri(API).build();
    let reply = fetch(&server, Some(&forged), "/svid").await;
    assert_eq!(reply.status.as_u16(), 495, "{reply:?}");
    assert_eq!(reply.reason(), "unknown_leaf_issuer");
    let detail = reply.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        detail.contains("checked against the bundle of trust domain prod.example.org only"),
        "{detail}"
    );
    let reverse = svid(&server, "reverse", &[PARTNER]);
    let reply = fetch(&server, Some(&reverse), "/svid").await;
    assert_eq!(reply.status.as_u16(), 495, "{reply:?}");
    assert!(
        reply.body.contains("trust domain partner.example.net only"),
        "{reply:?}"
    );

    // A trust domain without a bundle, from a CA the server knows.
    let stranger = svid(&server, "stranger", &["spiffe://other.example.com/x"]);
    invalid_svid(
        &server,
        &stranger,
        "svid_unknown_trust_domain",
        "trust domain other.example.com, which has no bundle here (trust domains: \
         partner.example.net, prod.example.org)",
    )
    .await;
    // The X509-SVID rules hold too.
    let two = svid(&server, "two-uris", &[PARTNER, API]);
    invalid_svid(&server, &two, "svid_multiple_uri_sans", "2 URI SANs").await;
}

#[tokio::test]
async fn one_store_for_every_trust_domain_lets_any_ca_vouch_for_any_id() {
    // What per-trust-domain bundles prevent: with both CAs in one store,
    // the partner's CA mints a prod ID that verifies.
    let partner_ca = Ca::root("Partner SPIFFE CA").build();
    let pki = Pki::generate();
    let both = format!("{}{}", pki.ca_bundle_pem(), partner_ca.cert_pem());
    let listener = listener_classifying(
        &pki,
        |classifier| classifier.trust_domain("prod.example.org", bundle(both.clone())),
        |a| a,
    )
    .await;
    let server = serve_on(
        pki,
        listener,
        Router::new().route("/svid", route(|_: &mtls_status::ClientIdentity| true)),
    );
    let forged = partner_ca.leaf("forged").uri(API).build();
    passes(&server, &forged, "/svid", API).await;
}
