//! Authorization: allow-lists, closures, and requests without a verified
//! certificate on a route with a policy.

use std::borrow::Cow;

use mtls_status::{AnswerStyle, ClientIdentity, VerifyMode};
use mtls_status_tower::{AllowList, Authorize, VerifyClientLayer};

use crate::fixtures::{Fixtures, fixtures};
use crate::harness::send;

/// alice passes and bob gets 403 under `policy`.
async fn allows_alice_not_bob(policy: impl Authorize, what: &str) {
    let f = fixtures();
    let layer = VerifyClientLayer::new().authorize(policy);
    let reply = send(&layer, Some(&f.alice), &[]).await;
    assert!(
        reply.passed(),
        "{what}: alice should pass, got {}",
        reply.status
    );

    let reply = send(&layer, Some(&f.bob), &[]).await;
    assert_eq!(reply.status.as_u16(), 403, "{what}");
    assert!(!reply.passed(), "{what}");
    assert_eq!(reply.headers["connection"], "close");
    assert!(reply.reason_phrase.is_none(), "403 has a canonical phrase");
    let body = reply.json();
    assert_eq!(body["reason"], "not_authorized", "{what}");
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.contains(Fixtures::id(&f.bob).subject_dn()),
        "{what}: {detail}"
    );
}

#[tokio::test]
async fn allow_list_by_subject_dn() {
    let alice = Fixtures::id(&fixtures().alice).subject_dn().to_owned();
    allows_alice_not_bob(AllowList::new().subject_dn(alice), "subject_dn").await;
}

#[tokio::test]
async fn allow_list_by_dns_is_case_insensitive() {
    allows_alice_not_bob(AllowList::new().dns("Alice.Example.ORG."), "dns").await;
}

#[tokio::test]
async fn allow_list_by_uri() {
    let list = AllowList::new().uri("spiffe://prod.example.org/ns/web/sa/alice");
    allows_alice_not_bob(list, "uri").await;
}

#[tokio::test]
async fn allow_list_by_email_domain_case_insensitive() {
    allows_alice_not_bob(AllowList::new().email("Alice@example.ORG"), "email").await;
    // The local part is compared exactly.
    let f = fixtures();
    let layer = VerifyClientLayer::new().authorize(AllowList::new().email("alice@example.org"));
    assert_eq!(send(&layer, Some(&f.alice), &[]).await.status.as_u16(), 403);
}

#[tokio::test]
async fn allow_list_by_spiffe_id_and_trust_domain() {
    let list = AllowList::new().spiffe_id("spiffe://prod.example.org/ns/web/sa/alice");
    allows_alice_not_bob(list, "spiffe_id").await;
    allows_alice_not_bob(
        AllowList::new().spiffe_trust_domain("prod.example.org"),
        "trust domain",
    )
    .await;
    allows_alice_not_bob(
        AllowList::new().spiffe_trust_domain("spiffe://PROD.example.org"),
        "trust domain with scheme",
    )
    .await;
    // A prefix of the trust domain is not the trust domain.
    let f = fixtures();
    let layer =
        VerifyClientLayer::new().authorize(AllowList::new().spiffe_trust_domain("prod.example"));
    assert_eq!(send(&layer, Some(&f.alice), &[]).await.status.as_u16(), 403);
}

#[tokio::test]
async fn allow_list_by_fingerprint_any_case_with_colons() {
    let fingerprint = Fixtures::id(&fixtures().alice)
        .fingerprint_sha256()
        .to_string();
    assert_eq!(fingerprint.len(), 64, "{fingerprint}");
    let colons: Vec<String> = fingerprint
        .to_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect();
    let colons = colons.join(":");
    allows_alice_not_bob(
        AllowList::new().fingerprint_sha256(&fingerprint),
        "fingerprint",
    )
    .await;
    allows_alice_not_bob(
        AllowList::new().fingerprint_sha256(colons),
        "fingerprint with colons",
    )
    .await;
}

#[tokio::test]
async fn any_entry_matching_allows_and_empty_list_allows_nobody() {
    let f = fixtures();
    let either = AllowList::new()
        .dns("nobody.example")
        .uri("spiffe://dev.example.net/ns/batch/sa/bob");
    let layer = VerifyClientLayer::new().authorize(either);
    assert!(send(&layer, Some(&f.bob), &[]).await.passed());
    assert_eq!(send(&layer, Some(&f.alice), &[]).await.status.as_u16(), 403);

    let layer = VerifyClientLayer::new().authorize(AllowList::new());
    assert_eq!(send(&layer, Some(&f.alice), &[]).await.status.as_u16(), 403);
}

#[tokio::test]
async fn closures_bool_and_result() {
    allows_alice_not_bob(
        |client: &ClientIdentity| {
            client
                .dns_names()
                .iter()
                .any(|name| name.ends_with(".example.org"))
        },
        "bool closure",
    )
    .await;

    let f = fixtures();
    let layer = VerifyClientLayer::new().authorize(|client: &ClientIdentity| {
        if client.subject_dn().contains("alice") {
            Ok(())
        } else {
            Err(Cow::Borrowed("only alice may deploy"))
        }
    });
    assert!(send(&layer, Some(&f.alice), &[]).await.passed());
    let reply = send(&layer, Some(&f.bob), &[]).await;
    assert_eq!(reply.status.as_u16(), 403);
    let detail = reply.json()["detail"].as_str().expect("detail").to_owned();
    assert!(detail.contains("only alice may deploy"), "{detail}");
}

#[tokio::test]
async fn policy_without_a_verified_certificate_is_403() {
    let f = fixtures();
    let allow_all = |_: &ClientIdentity| true;
    // Requests that pass the mode without a verified certificate.
    let cases = [
        (VerifyMode::Optional, &f.none),
        (VerifyMode::OptionalNoCa, &f.none),
        (VerifyMode::OptionalNoCa, &f.unknown_issuer),
        (VerifyMode::OptionalNoCa, &f.self_signed),
        (VerifyMode::Off, &f.none),
        (VerifyMode::Off, &f.expired),
    ];
    for (mode, outcome) in cases {
        let layer = VerifyClientLayer::new().mode(mode).authorize(allow_all);
        let reply = send(&layer, Some(outcome), &[]).await;
        assert_eq!(
            reply.status.as_u16(),
            403,
            "mode {mode}, outcome {}",
            outcome.label()
        );
        assert!(!reply.passed());
        assert_eq!(reply.json()["reason"], "not_authorized");
        // The unverified certificate's subject is not echoed as if it were valid.
        if let Some(presented) = outcome.presented_identity() {
            let detail = reply.json()["detail"].as_str().expect("detail").to_owned();
            assert!(!detail.contains(presented.subject_dn()), "{detail}");
        }
        // Verified clients pass the same layer.
        assert!(
            send(&layer, Some(&f.alice), &[]).await.passed(),
            "mode {mode}"
        );
    }
}

#[tokio::test]
async fn the_mode_answers_before_the_policy() {
    let f = fixtures();
    let layer = VerifyClientLayer::new().authorize(|_: &ClientIdentity| false);
    assert_eq!(send(&layer, Some(&f.none), &[]).await.status.as_u16(), 496);
    assert_eq!(
        send(&layer, Some(&f.revoked), &[]).await.status.as_u16(),
        495
    );
    assert_eq!(send(&layer, Some(&f.alice), &[]).await.status.as_u16(), 403);
}

#[tokio::test]
async fn nginx_style_403_is_nginx_page() {
    let f = fixtures();
    let layer = VerifyClientLayer::new()
        .style(AnswerStyle::Nginx)
        .authorize(AllowList::new().dns("nobody.example"));
    let reply = send(&layer, Some(&f.alice), &[]).await;
    assert_eq!(reply.status.as_u16(), 403);
    assert_eq!(reply.headers["content-type"], "text/html");
    let page = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(
        page.contains("<center><h1>403 Forbidden</h1></center>"),
        "{page}"
    );
    assert!(
        !page.contains("alice"),
        "nginx pages never name the client: {page}"
    );
}
