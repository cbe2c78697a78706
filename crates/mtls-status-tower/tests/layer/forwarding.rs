//! Identity headers: spoofed copies never reach the inner service; nginx and
//! XFCC values do when asked for.

use http::{HeaderMap, HeaderValue};
use mtls_status::forward::xfcc_element;
use mtls_status::{ClientAuthOutcome, ForwardHeaders, VerifyMode};
use mtls_status_tower::VerifyClientLayer;

use crate::fixtures::{Fixtures, fixtures};
use crate::harness::send;

const SPOOFED: &[(&str, &str)] = &[
    ("x-ssl-client-verify", "SPOOFED"),
    ("X-SSL-Client-S-DN", "CN=admin"),
    ("x-ssl-client-fingerprint", "00"),
    ("x-forwarded-client-cert", "Hash=00;Subject=\"CN=admin\""),
    ("ssl-client-subject-dn", "CN=admin"),
    ("x-forwarded-tls-client-cert", "MIIB"),
    // Underscore spellings: CGI, PHP, WSGI, Rack and many proxies read
    // `X_SSL_CLIENT_VERIFY` as `X-SSL-Client-Verify` (both become
    // `HTTP_X_SSL_CLIENT_VERIFY`), so a backend behind a forwarding route
    // would take them for the real header.
    ("x_ssl_client_verify", "SUCCESS"),
    ("X_SSL_Client_S_DN", "CN=admin"),
    ("x-ssl_client-fingerprint", "00"),
    ("x_forwarded_client_cert", "Hash=00"),
    ("ssl_client_verify", "SUCCESS"),
    ("x-request-id", "kept"),
];

/// The handler sees exactly the headers forwarding derives from the outcome,
/// plus the unrelated `x-request-id`: nothing the client sent under an
/// identity header name survives.
fn assert_only_derived(
    seen: &HeaderMap,
    forward: &ForwardHeaders,
    outcome: &ClientAuthOutcome,
    context: &str,
) {
    let mut expected = HeaderMap::new();
    forward.apply(&mut expected, outcome);
    expected.insert("x-request-id", HeaderValue::from_static("kept"));
    assert_eq!(seen, &expected, "{context}");
    for (name, value) in SPOOFED.iter().filter(|(name, _)| *name != "x-request-id") {
        for seen in seen.get_all(*name) {
            assert_ne!(
                seen.as_bytes(),
                value.as_bytes(),
                "{context}: spoofed {name} reached the handler"
            );
        }
    }
}

#[tokio::test]
async fn spoofed_identity_headers_never_reach_the_handler() {
    let f = fixtures();
    let outcomes = [
        &f.none,
        &f.bob,
        &f.alice,
        &f.unknown_issuer,
        &f.self_signed,
        &f.expired,
        &f.revoked,
    ];
    let forwards = [
        ("none", ForwardHeaders::none()),
        ("nginx", ForwardHeaders::nginx().with_cert()),
        ("xfcc", ForwardHeaders::xfcc()),
    ];
    let mut passed = 0;
    for mode in VerifyMode::ALL {
        for (forward_name, forward) in &forwards {
            let layer = VerifyClientLayer::new().mode(mode).forward(forward.clone());
            for outcome in outcomes {
                let reply = send(&layer, Some(outcome), SPOOFED).await;
                let Some(seen) = &reply.seen else { continue };
                passed += 1;
                let context = format!(
                    "mode {mode}, forward {forward_name}, outcome {}",
                    outcome.label()
                );
                assert_only_derived(&seen.headers, forward, outcome, &context);
                if *forward_name == "none" {
                    assert!(
                        seen.headers.get("x-ssl-client-verify").is_none(),
                        "{context}"
                    );
                    assert!(
                        seen.headers.get("x-forwarded-client-cert").is_none(),
                        "{context}"
                    );
                    assert!(seen.headers.get("x-ssl-client-s-dn").is_none(), "{context}");
                }
            }
        }
    }
    // Off lets every outcome through, so the Off rows alone are 3 x 6.
    assert!(passed >= 18, "{passed}");
}

#[tokio::test]
async fn spoofed_success_never_reaches_the_handler_of_an_unverified_client() {
    let f = fixtures();
    let spoof = [
        ("x-ssl-client-verify", "SUCCESS"),
        ("x-ssl-client-s-dn", "CN=admin"),
    ];
    for mode in VerifyMode::ALL {
        for forward in [
            ForwardHeaders::none(),
            ForwardHeaders::nginx(),
            ForwardHeaders::xfcc(),
        ] {
            let layer = VerifyClientLayer::new().mode(mode).forward(forward);
            for outcome in [&f.none, &f.unknown_issuer, &f.expired] {
                let reply = send(&layer, Some(outcome), &spoof).await;
                if let Some(seen) = &reply.seen {
                    assert_ne!(
                        seen.headers
                            .get("x-ssl-client-verify")
                            .map(HeaderValue::as_bytes),
                        Some(&b"SUCCESS"[..]),
                        "mode {mode}, outcome {}",
                        outcome.label()
                    );
                    assert!(
                        seen.headers
                            .get("x-ssl-client-s-dn")
                            .is_none_or(|dn| dn != "CN=admin")
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn off_and_no_forwarding_still_strips() {
    let f = fixtures();
    let layer = VerifyClientLayer::new().mode(VerifyMode::Off);
    let reply = send(&layer, Some(&f.none), SPOOFED).await;
    let seen = reply.seen.as_ref().expect("passed");
    assert_eq!(seen.headers.len(), 1, "{:?}", seen.headers);
    assert_eq!(reply.seen_header("x-request-id"), Some("kept"));
}

#[tokio::test]
async fn nginx_forwarding_for_each_outcome() {
    let f = fixtures();
    let layer = VerifyClientLayer::new()
        .mode(VerifyMode::OptionalNoCa)
        .forward(ForwardHeaders::nginx());

    let reply = send(&layer, Some(&f.alice), SPOOFED).await;
    let alice = Fixtures::id(&f.alice);
    assert_eq!(reply.seen_header("x-ssl-client-verify"), Some("SUCCESS"));
    assert_eq!(
        reply.seen_header("x-ssl-client-s-dn"),
        Some(alice.subject_dn())
    );
    assert_eq!(
        reply.seen_header("x-ssl-client-i-dn"),
        Some(alice.issuer_dn())
    );
    assert_eq!(
        reply.seen_header("x-ssl-client-serial"),
        Some(alice.serial())
    );
    assert_eq!(
        reply.seen_header("x-ssl-client-fingerprint"),
        Some(alice.fingerprint_sha1())
    );
    assert_eq!(
        reply.seen_header("x-ssl-client-cert"),
        None,
        "cert only with with_cert()"
    );

    let reply = send(&layer, Some(&f.none), SPOOFED).await;
    assert_eq!(reply.seen_header("x-ssl-client-verify"), Some("NONE"));
    assert_eq!(reply.seen_header("x-ssl-client-s-dn"), None);

    // optional_no_ca: the handler learns the certificate is not trusted.
    let reply = send(&layer, Some(&f.unknown_issuer), SPOOFED).await;
    assert_eq!(
        reply.seen_header("x-ssl-client-verify"),
        Some("FAILED:unable to get local issuer certificate")
    );
    assert_eq!(
        reply.seen_header("x-ssl-client-s-dn"),
        Some(Fixtures::id(&f.unknown_issuer).subject_dn())
    );
}

#[tokio::test]
async fn nginx_forwarding_with_cert() {
    let f = fixtures();
    let layer = VerifyClientLayer::new().forward(ForwardHeaders::nginx().with_cert());
    let reply = send(&layer, Some(&f.alice), &[]).await;
    let escaped = Fixtures::id(&f.alice).escaped_pem();
    assert_eq!(
        reply.seen_header("x-ssl-client-cert"),
        Some(escaped.as_str())
    );
    assert!(
        escaped.starts_with("-----BEGIN%20CERTIFICATE-----"),
        "{escaped}"
    );
}

#[tokio::test]
async fn xfcc_forwarding() {
    let f = fixtures();
    let layer = VerifyClientLayer::new()
        .mode(VerifyMode::Optional)
        .forward(ForwardHeaders::xfcc().xfcc_by("spiffe://prod.example.org/ns/web/sa/server"));
    let reply = send(&layer, Some(&f.alice), SPOOFED).await;
    let alice = Fixtures::id(&f.alice);
    let want = xfcc_element(
        alice,
        Some("spiffe://prod.example.org/ns/web/sa/server"),
        false,
    );
    assert_eq!(
        reply.seen_header("x-forwarded-client-cert"),
        Some(want.as_str())
    );
    let fingerprint = alice.fingerprint_sha256().to_string();
    assert!(want.contains(&format!("Hash={fingerprint}")), "{want}");
    assert!(
        want.contains("URI=spiffe://prod.example.org/ns/web/sa/alice"),
        "{want}"
    );
    assert!(want.contains("DNS=alice.example.org"), "{want}");

    // No verified client: no XFCC at all, and the spoofed one is gone.
    let reply = send(&layer, Some(&f.none), SPOOFED).await;
    assert_eq!(reply.seen_header("x-forwarded-client-cert"), None);
}

#[tokio::test]
async fn rejected_requests_never_reach_the_handler() {
    let f = fixtures();
    let layer = VerifyClientLayer::new().forward(ForwardHeaders::nginx());
    for outcome in [&f.none, &f.expired, &f.unknown_issuer] {
        let reply = send(&layer, Some(outcome), SPOOFED).await;
        assert!(!reply.passed(), "{}", outcome.label());
        assert_ne!(reply.body, "handler");
    }
}
