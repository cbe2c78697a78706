//! DESIGN.md §2's mode × outcome matrix, in both answer styles, and the
//! answers' wire details.

use std::sync::Arc;

use mtls_status::{AnswerStyle, ClientAuthOutcome, VerifyMode};
use mtls_status_tower::VerifyClientLayer;

use crate::fixtures::fixtures;
use crate::harness::send;

const NGINX_400_REQUIRED: &str = "<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>No required SSL certificate was sent</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const NGINX_400_INVALID: &str = "<html>\r\n<head><title>400 The SSL certificate error</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The SSL certificate error</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// What DESIGN.md §2 says, written out rather than computed with
/// `VerifyMode::decide`: 200 (pass), 495 or 496.
fn expected(mode: VerifyMode, outcome: &ClientAuthOutcome, untrusted_issuer: bool) -> u16 {
    match (mode, outcome) {
        (VerifyMode::Off, _) | (_, ClientAuthOutcome::Verified(_)) => 200,
        (VerifyMode::On, ClientAuthOutcome::None) => 496,
        (_, ClientAuthOutcome::None) => 200,
        (VerifyMode::OptionalNoCa, _) if untrusted_issuer => 200,
        _ => 495,
    }
}

fn all_outcomes() -> Vec<(&'static str, Arc<ClientAuthOutcome>, bool)> {
    let f = fixtures();
    let mut outcomes = vec![
        ("none", f.none.clone(), false),
        ("verified", f.alice.clone(), false),
    ];
    outcomes.extend(
        f.invalids()
            .into_iter()
            .map(|(name, outcome, untrusted)| (name, outcome.clone(), untrusted)),
    );
    outcomes
}

#[tokio::test]
async fn explicit_matrix() {
    let mut checked = 0;
    for mode in VerifyMode::ALL {
        let layer = VerifyClientLayer::new().mode(mode);
        for (name, outcome, untrusted) in all_outcomes() {
            let want = expected(mode, &outcome, untrusted);
            let reply = send(&layer, Some(&outcome), &[]).await;
            assert_eq!(reply.status.as_u16(), want, "mode {mode}, outcome {name}");
            assert_eq!(reply.passed(), want == 200, "mode {mode}, outcome {name}");
            match want {
                200 => {
                    assert_eq!(reply.body, "handler");
                    assert!(reply.reason_phrase.is_none());
                }
                status => {
                    let body = reply.json();
                    assert_eq!(body["status"], status, "mode {mode}, outcome {name}");
                    let reason = if status == 496 {
                        "certificate_required"
                    } else {
                        name
                    };
                    assert_eq!(body["reason"], reason, "mode {mode}, outcome {name}");
                    assert_eq!(reply.headers["content-type"], "application/problem+json");
                    assert_eq!(reply.headers["connection"], "close");
                    let phrase: &[u8] = if status == 496 {
                        b"SSL Certificate Required"
                    } else {
                        b"SSL Certificate Error"
                    };
                    assert_eq!(
                        reply.reason_phrase.as_deref(),
                        Some(phrase),
                        "mode {mode}, outcome {name}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 4 * 8);
}

#[tokio::test]
async fn nginx_matrix_answers_400_with_nginx_pages() {
    for mode in VerifyMode::ALL {
        let layer = VerifyClientLayer::new()
            .mode(mode)
            .style(AnswerStyle::Nginx);
        for (name, outcome, untrusted) in all_outcomes() {
            let want = expected(mode, &outcome, untrusted);
            let reply = send(&layer, Some(&outcome), &[]).await;
            assert_eq!(reply.passed(), want == 200, "mode {mode}, outcome {name}");
            if want == 200 {
                assert_eq!(reply.status.as_u16(), 200);
                continue;
            }
            assert_eq!(reply.status.as_u16(), 400, "mode {mode}, outcome {name}");
            let page = if want == 496 {
                NGINX_400_REQUIRED
            } else {
                NGINX_400_INVALID
            };
            assert_eq!(reply.body, page, "mode {mode}, outcome {name}");
            assert_eq!(reply.headers["content-type"], "text/html");
            assert_eq!(
                reply.headers["content-length"],
                page.len().to_string().as_str()
            );
            assert_eq!(reply.headers["connection"], "close");
            // 400 has a canonical phrase: no extension.
            assert!(reply.reason_phrase.is_none());
        }
    }
}

#[tokio::test]
async fn default_mode_is_on() {
    let f = fixtures();
    let layer = VerifyClientLayer::new();
    assert_eq!(send(&layer, Some(&f.none), &[]).await.status.as_u16(), 496);
    assert_eq!(
        send(&layer, Some(&f.unknown_issuer), &[])
            .await
            .status
            .as_u16(),
        495
    );
    assert!(send(&layer, Some(&f.alice), &[]).await.passed());
}

#[tokio::test]
async fn explicit_answers_name_the_problem_and_the_accepted_cas() {
    let f = fixtures();
    let cas = vec!["CN=mtls-status Test Root CA".to_owned()];
    let layer = VerifyClientLayer::new().accepted_cas(cas);

    let reply = send(&layer, Some(&f.none), &[]).await;
    let detail = reply.json()["detail"].as_str().expect("detail").to_owned();
    assert!(
        detail.contains("\"CN=mtls-status Test Root CA\""),
        "{detail}"
    );

    let reply = send(&layer, Some(&f.unknown_issuer), &[]).await;
    let body = reply.json();
    assert_eq!(
        body["ssl_client_verify"],
        "FAILED:unable to get local issuer certificate"
    );
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("Accepted CAs: \"CN=mtls-status Test Root CA\""),
        "{detail}"
    );
    let subject = crate::fixtures::Fixtures::id(&f.unknown_issuer).subject_dn();
    assert!(detail.contains(subject), "{detail}");
    assert_eq!(
        reply.headers["content-length"],
        reply.body.len().to_string().as_str()
    );
    assert_eq!(reply.headers["cache-control"], "no-store");

    let reply = send(&layer, Some(&f.expired), &[]).await;
    assert_eq!(
        reply.json()["ssl_client_verify"],
        "FAILED:certificate has expired"
    );
}

#[tokio::test]
async fn missing_outcome_is_500_and_never_passed() {
    for mode in VerifyMode::ALL {
        for style in [AnswerStyle::Explicit, AnswerStyle::Nginx] {
            let layer = VerifyClientLayer::new().mode(mode).style(style);
            let reply = send(&layer, None, &[("x-ssl-client-verify", "SUCCESS")]).await;
            assert_eq!(reply.status.as_u16(), 500, "mode {mode}, style {style:?}");
            assert!(!reply.passed(), "mode {mode}, style {style:?}");
            assert_eq!(reply.headers["cache-control"], "no-store");
            if style == AnswerStyle::Explicit {
                let body = reply.json();
                assert_eq!(body["status"], 500);
                assert_eq!(body["reason"], "missing_outcome");
                assert!(
                    body["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("configuration error"))
                );
            } else {
                assert!(String::from_utf8_lossy(&reply.body).contains("500 Internal Server Error"));
            }
        }
    }
}

#[tokio::test]
async fn handler_sees_the_same_outcome_arc() {
    let f = fixtures();
    let cases = [
        (VerifyMode::On, &f.alice),
        (VerifyMode::Optional, &f.none),
        // optional_no_ca lets an untrusted issuer through: the handler sees Invalid.
        (VerifyMode::OptionalNoCa, &f.unknown_issuer),
        (VerifyMode::Off, &f.expired),
    ];
    for (mode, outcome) in cases {
        let reply = send(&VerifyClientLayer::new().mode(mode), Some(outcome), &[]).await;
        let seen = reply.seen.expect("passed");
        let seen_outcome = seen.outcome.expect("outcome in extensions");
        assert!(Arc::ptr_eq(&seen_outcome, outcome), "mode {mode}");
    }
}

#[test]
fn layer_is_clone_debug_and_per_route() {
    let on = VerifyClientLayer::new();
    let off = on.clone().mode(VerifyMode::Off);
    // Configuring a clone leaves the original alone.
    assert!(format!("{on:?}").contains("mode: On"), "{on:?}");
    assert!(format!("{off:?}").contains("mode: Off"), "{off:?}");
}
