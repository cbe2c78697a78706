//! SPIFFE authorizers per gRPC service over real TLS: a refused SPIFFE ID
//! is `PERMISSION_DENIED` (403) saying which rule it missed; Ping, on the
//! same server without a check, serves everyone.

use mtls_status::VerifyMode;
use mtls_status::identity::SpiffeId;
use mtls_status_tonic::{AllowList, Authorize, ClientAuthCheck, SpiffeAuthorizer};
use mtls_testpki::Leaf;
use tonic::Code;

use crate::harness::{TestServer, mtls_metadata, ping, say_hello, start_greeter};

fn id(s: &str) -> SpiffeId {
    s.parse().expect("valid SPIFFE ID")
}

fn svid(server: &TestServer, name: &str, uris: &[&str]) -> Leaf {
    uris.iter()
        .fold(server.pki.root.leaf(name), |leaf, uri| leaf.uri(uri))
        .build()
}

async fn permission_denied(server: &TestServer, client: &Leaf, why: &str) {
    let status = say_hello(server, Some(client))
        .await
        .expect_err("refused by the SPIFFE authorizer");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert_eq!(
        mtls_metadata(&status),
        (Some("403"), Some("not_authorized"))
    );
    assert!(status.message().contains(why), "{}", status.message());
    // Ping has no check: the same client is served.
    ping(server, Some(client))
        .await
        .expect("Ping serves everyone");
}

#[tokio::test]
async fn each_authorizer_on_the_greeter() {
    let exact = start_greeter(ClientAuthCheck::new(VerifyMode::On).authorize(
        SpiffeAuthorizer::id(id("spiffe://prod.example.org/ns/web/sa/api")),
    ))
    .await;
    let api = svid(&exact, "api", &["spiffe://prod.example.org/ns/web/sa/api"]);
    let other = svid(
        &exact,
        "other",
        &["spiffe://prod.example.org/ns/web/sa/other"],
    );
    say_hello(&exact, Some(&api))
        .await
        .expect("exact ID passes");
    permission_denied(
        &exact,
        &other,
        "is not spiffe://prod.example.org/ns/web/sa/api",
    )
    .await;

    let set = start_greeter(ClientAuthCheck::new(VerifyMode::On).authorize(
        SpiffeAuthorizer::one_of([id("spiffe://td/a"), id("spiffe://td/b")]),
    ))
    .await;
    say_hello(&set, Some(&svid(&set, "b", &["spiffe://td/b"])))
        .await
        .expect("one of the set passes");
    permission_denied(
        &set,
        &svid(&set, "c", &["spiffe://td/c"]),
        "is not one of the 2",
    )
    .await;

    let member = start_greeter(
        ClientAuthCheck::new(VerifyMode::On)
            .authorize(SpiffeAuthorizer::member_of("prod.example.org").expect("trust domain")),
    )
    .await;
    say_hello(
        &member,
        Some(&svid(&member, "w", &["spiffe://prod.example.org/w"])),
    )
    .await
    .expect("member of the trust domain passes");
    permission_denied(
        &member,
        &svid(&member, "dev", &["spiffe://dev.example.org/w"]),
        "is not in trust domain prod.example.org",
    )
    .await;
    // Two URI SANs, the allowed one second: no SPIFFE ID at all.
    permission_denied(
        &member,
        &svid(
            &member,
            "two",
            &["spiffe://evil.example/x", "spiffe://prod.example.org/w"],
        ),
        "has no SPIFFE ID",
    )
    .await;

    let prefix = start_greeter(ClientAuthCheck::new(VerifyMode::On).authorize(
        SpiffeAuthorizer::path_prefix(id("spiffe://prod.example.org/ns/web")),
    ))
    .await;
    say_hello(
        &prefix,
        Some(&svid(
            &prefix,
            "api",
            &["spiffe://prod.example.org/ns/web/sa/api"],
        )),
    )
    .await
    .expect("below the prefix passes");
    permission_denied(
        &prefix,
        &svid(&prefix, "hooks", &["spiffe://prod.example.org/ns/webhooks"]),
        "or below it",
    )
    .await;
}

#[tokio::test]
async fn combined_with_the_allow_list() {
    let server = start_greeter(
        ClientAuthCheck::new(VerifyMode::On).authorize(
            AllowList::new()
                .subject_dn("CN=client-intermediate")
                .or(SpiffeAuthorizer::member_of("prod.example.org").expect("trust domain")),
        ),
    )
    .await;
    say_hello(&server, Some(&server.pki.valid_via_intermediate))
        .await
        .expect("allowed by the allow-list");
    say_hello(
        &server,
        Some(&svid(&server, "w", &["spiffe://prod.example.org/w"])),
    )
    .await
    .expect("allowed by the SPIFFE authorizer");
    permission_denied(
        &server,
        &server.pki.valid_from_root,
        "not in this resource's allow-list; and SPIFFE ID spiffe://example.org/ns/prod/sa/web is not in trust domain prod.example.org",
    )
    .await;
}
